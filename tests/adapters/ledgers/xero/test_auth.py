"""Xero OAuth (adapters/ledgers/xero/auth.py) against the emulator: the authorization-code flow with and without
PKCE, refresh before expiry, rotating refresh tokens saved for every tenant of the grant, re-consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from adapters.ledger import (
    PermanentLedgerError,
    RetryableLedgerError,
)
from adapters.ledgers.oauth import MemoryTokenStore, OAuthTokens, ReconsentRequired
from adapters.ledgers.xero.auth import authorization_url, connect, pkce_pair, tokens_from_response
from adapters.ledgers.xero.ledger import XeroLedger
from tests.emulators.xero import XeroEmulator

from .connected import connected_ledger, customer

# --- OAuth: refresh, rotation, re-consent ------------------------------------------------------------------


def stored(store: MemoryTokenStore, tenant: str) -> OAuthTokens:
    tokens = store.load("xero", tenant)
    assert tokens is not None
    return tokens


def test_refresh_before_expiry_rotates_and_persists(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    first = stored(store, emulator.tenant_id)
    # Four minutes left: inside the five-minute margin, so the next call refreshes first.
    store.save("xero", first.model_copy(update={"expires_at": datetime.now(UTC) + timedelta(minutes=4)}))
    ledger.list_open_invoices()
    second = stored(store, emulator.tenant_id)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    assert second.expires_at > datetime.now(UTC) + timedelta(minutes=29)
    form = emulator.token_requests[-1]
    assert form["grant_type"] == "refresh_token" and form["client_id"] == emulator.client_id
    assert form["refresh_token"] == first.refresh_token and "accounting.transactions" in form["scope"]
    refreshes = len(emulator.token_requests)
    ledger.list_open_invoices()
    assert len(emulator.token_requests) == refreshes  # a fresh token is not refreshed again
    ledger.close()


def test_rotation_grace_and_invalid_grant(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    original = stored(store, emulator.tenant_id)
    expired = original.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    store.save("xero", expired)
    ledger.list_open_invoices()
    # Another worker still holding the previous refresh token: Xero's grace period lets it refresh once more.
    other_store = MemoryTokenStore()
    other = connected_ledger(emulator, token_store=other_store)
    other_store.save("xero", expired)
    other.list_open_invoices()
    # Past the grace period the old token is refused: a person must connect Xero again.
    emulator.refresh_grace_seconds = 0
    late_store = MemoryTokenStore()
    late = connected_ledger(emulator, token_store=late_store)
    late_store.save("xero", expired)
    with pytest.raises(ReconsentRequired, match="invalid_grant"):
        late.get_invoice("4074292c-09b3-456d-84e7-add864c6c39b")
    for port in (ledger, other, late):
        port.close()


def expired_connection(emulator: XeroEmulator) -> tuple[XeroLedger, MemoryTokenStore, OAuthTokens]:
    """A connected adapter whose stored access token has just expired: its next call refreshes first."""
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    tokens = stored(store, emulator.tenant_id)
    store.save("xero", tokens.model_copy(update={"expires_at": datetime.now(UTC)}))
    return ledger, store, tokens


def test_revoked_connection_needs_reconsent(emulator: XeroEmulator) -> None:
    ledger, _, _ = expired_connection(emulator)
    emulator.revoke_refresh_tokens()
    with pytest.raises(ReconsentRequired) as refused:
        ledger.list_open_invoices()
    assert refused.value.ledger == "xero" and refused.value.tenant == emulator.tenant_id
    empty = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, MemoryTokenStore(),
                       api_base=emulator.api_base, identity_base=emulator.identity_base)
    with pytest.raises(ReconsentRequired, match="no Xero tokens"):
        empty.list_open_invoices()
    ledger.close()


def test_a_rejected_access_token_is_refreshed_once(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    emulator.faults.stale_tokens = True
    assert ledger.get_customer(contact).name == "Acme Ltd"
    assert emulator.count("GET", "/Contacts") == 2  # the 401, then the retry with the refreshed token
    assert emulator.token_requests[-1]["grant_type"] == "refresh_token"


def test_a_rotated_refresh_token_is_saved_for_every_tenant_of_the_grant(emulator: XeroEmulator) -> None:
    second = "0b5b6d1e-1111-4222-8333-944455556666"
    emulator.add_tenant(second, "Second Co")
    store = MemoryTokenStore()
    response = emulator.issue_tokens([emulator.tenant_id, second])
    for tenant in (emulator.tenant_id, second):
        store.save("xero", tokens_from_response(response, tenant, [emulator.tenant_id, second],
                                                now=datetime.now(UTC) - timedelta(hours=1)))
    ledger = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                        api_base=emulator.api_base, identity_base=emulator.identity_base)
    ledger.list_open_invoices()
    first, other = stored(store, emulator.tenant_id), stored(store, second)
    assert first.refresh_token == other.refresh_token != response["refresh_token"]
    assert other.tenant == second
    ledger.close()


def test_identity_outages_are_retryable_not_reconsent(emulator: XeroEmulator) -> None:
    ledger, store, tokens = expired_connection(emulator)
    emulator.faults.token_errors = 1
    with pytest.raises(RetryableLedgerError, match="500"):
        ledger.list_open_invoices()
    assert stored(store, emulator.tenant_id).refresh_token == tokens.refresh_token  # nothing lost
    assert ledger.list_open_invoices() == []  # Xero identity is back: the same refresh token still works
    ledger.close()


def test_a_custom_connection_asks_for_a_new_token_instead_of_refreshing(emulator: XeroEmulator) -> None:
    response = emulator.issue_tokens(scope="accounting.transactions accounting.contacts")  # no offline_access
    assert "refresh_token" not in response
    store = MemoryTokenStore()
    tokens = tokens_from_response(response, emulator.tenant_id, now=datetime.now(UTC) - timedelta(hours=1))
    assert tokens.extra["grant"] == "client_credentials"
    store.save("xero", tokens)
    ledger = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                        api_base=emulator.api_base, identity_base=emulator.identity_base)
    assert ledger.list_open_invoices() == []
    assert emulator.token_requests[-1]["grant_type"] == "client_credentials"
    assert stored(store, emulator.tenant_id).access_token != tokens.access_token
    ledger.close()


@pytest.mark.parametrize(("pkce", "secret"), [(False, True), (True, False), (True, True)])
def test_authorization_code_flow_connects_the_organisation(emulator: XeroEmulator, pkce: bool,
                                                           secret: bool) -> None:
    verifier, challenge = pkce_pair() if pkce else (None, None)
    redirect = "http://127.0.0.1:9/callback"
    url = authorization_url(emulator.client_id, redirect, "state-123", login_base=emulator.base_url,
                            code_challenge=challenge)
    consent = httpx.get(url, follow_redirects=False)
    assert consent.status_code == 302
    returned = parse_qs(urlparse(consent.headers["location"]).query)
    assert returned["state"] == ["state-123"]
    store = MemoryTokenStore()
    tenants = connect(returned["code"][0], redirect, emulator.client_id, emulator.client_secret if secret else None,
                      store, code_verifier=verifier, identity_base=emulator.identity_base,
                      connections_base=emulator.base_url)
    assert tenants == [emulator.tenant_id]
    tokens = stored(store, emulator.tenant_id)
    assert tokens.refresh_token and tokens.extra["tenant_ids"] == [emulator.tenant_id]
    ledger = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                        api_base=emulator.api_base, identity_base=emulator.identity_base)
    assert ledger.list_open_invoices() == []
    # A code is good once.
    with pytest.raises(ReconsentRequired):
        connect(returned["code"][0], redirect, emulator.client_id, emulator.client_secret, store,
                identity_base=emulator.identity_base, connections_base=emulator.base_url)
    ledger.close()


def test_a_wrong_client_secret_is_a_configuration_error(emulator: XeroEmulator) -> None:
    redirect = "http://127.0.0.1:9/callback"
    verifier, challenge = pkce_pair()
    consent = httpx.get(authorization_url(emulator.client_id, redirect, "s", login_base=emulator.base_url,
                                          code_challenge=challenge), follow_redirects=False)
    code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
    with pytest.raises(PermanentLedgerError, match="invalid_client"):
        connect(code, redirect, emulator.client_id, "not the secret", MemoryTokenStore(), code_verifier=verifier,
                identity_base=emulator.identity_base, connections_base=emulator.base_url)
