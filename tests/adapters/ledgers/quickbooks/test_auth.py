"""QuickBooks OAuth 2.0 against the emulator: refresh before expiry with rotation, a 401 refreshes once,
invalid_grant asks for re-consent, a token rotated by another process is picked up, the connect flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.ledgers.oauth import MemoryTokenStore, OAuthTokens, ReconsentRequired
from adapters.ledgers.quickbooks.auth import authorization_url, exchange_code
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from tests.adapters.ledgers.quickbooks.connected import (
    connected_ledger,
)
from tests.emulators.quickbooks import QuickBooksEmulator

# --- OAuth ------------------------------------------------------------------------------------------------


def test_tokens_expiring_within_five_minutes_are_refreshed_and_the_rotated_token_saved(
        emulator: QuickBooksEmulator) -> None:
    store = MemoryTokenStore()
    old = emulator.issue_tokens(expires_in=120)
    store.save("quickbooks", old)
    ledger = connected_ledger(emulator, store)
    ledger.list_customers()
    ledger.list_customers()
    assert emulator.token_grants == ["refresh_token"]
    saved = store.load("quickbooks", emulator.realm_id)
    assert saved is not None and saved.refresh_token != old.refresh_token and saved.access_token != old.access_token
    assert not saved.expires_within(3000) and saved.refresh_expires_at is not None
    # The old refresh token is spent: QuickBooks (and the emulator) rotated it.
    spent = httpx.post(emulator.token_url, data={"grant_type": "refresh_token", "refresh_token": old.refresh_token},
                       auth=(emulator.client_id, emulator.client_secret))
    assert spent.status_code == 400 and spent.json() == {"error": "invalid_grant"}


def test_fresh_tokens_are_not_refreshed(emulator: QuickBooksEmulator, ledger: QuickBooksLedger) -> None:
    ledger.list_customers()
    assert emulator.token_grants == []


def test_a_401_refreshes_once_and_retries(emulator: QuickBooksEmulator, ledger: QuickBooksLedger,
                                          store: MemoryTokenStore) -> None:
    before = store.load("quickbooks", emulator.realm_id)
    emulator.expire_access_tokens()  # the client still believes its token good for an hour
    assert ledger.list_customers() == []
    assert emulator.token_grants == ["refresh_token"]
    after = store.load("quickbooks", emulator.realm_id)
    assert before is not None and after is not None and after.refresh_token != before.refresh_token
    assert [method for method, path in emulator.calls if "/query" in path] == ["POST", "POST"]


def test_invalid_grant_asks_for_reconsent(emulator: QuickBooksEmulator) -> None:
    store = MemoryTokenStore()
    store.save("quickbooks", emulator.issue_tokens(expires_in=10))
    emulator.revoke_refresh_tokens()
    with pytest.raises(ReconsentRequired, match="invalid_grant"):
        connected_ledger(emulator, store).list_customers()
    with pytest.raises(ReconsentRequired, match="no tokens"):
        connected_ledger(emulator, MemoryTokenStore()).list_customers()


def test_a_refresh_token_rotated_by_another_process_is_picked_up(emulator: QuickBooksEmulator) -> None:
    class RacingStore(MemoryTokenStore):
        """Between our two reads another worker refreshes the same token and saves the result."""

        loads = 0

        def load(self, ledger: str, tenant: str) -> OAuthTokens | None:
            current = super().load(ledger, tenant)
            self.loads += 1
            if self.loads == 2 and current is not None:
                answer = httpx.post(emulator.token_url, auth=(emulator.client_id, emulator.client_secret),
                                    data={"grant_type": "refresh_token", "refresh_token": current.refresh_token})
                body = answer.json()
                self.save(ledger, current.model_copy(update={
                    "access_token": body["access_token"], "refresh_token": body["refresh_token"],
                    "expires_at": datetime.now(UTC) + timedelta(seconds=body["expires_in"])}))
            return current

    store = RacingStore()
    store.save("quickbooks", emulator.issue_tokens(expires_in=10))
    assert connected_ledger(emulator, store).list_customers() == []
    assert emulator.token_grants == ["refresh_token", "refresh_token"]  # theirs, then ours (refused)


def test_connect_flow_authorization_url_and_code_exchange(emulator: QuickBooksEmulator) -> None:
    redirect = "https://duecourse.example/connect/quickbooks/callback"
    url = authorization_url(emulator.client_id, redirect, "state-123", authorize_url=emulator.authorize_url)
    assert parse_qs(urlsplit(url).query)["scope"] == ["com.intuit.quickbooks.accounting"]
    answer = httpx.get(url)
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == ["state-123"] and back["realmId"] == [emulator.realm_id]
    store = MemoryTokenStore()
    tokens = exchange_code(back["code"][0], back["realmId"][0], client_id=emulator.client_id,
                           client_secret=emulator.client_secret, redirect_uri=redirect, token_store=store,
                           token_url=emulator.token_url)
    assert store.load("quickbooks", emulator.realm_id) == tokens
    assert connected_ledger(emulator, store).list_customers() == []
    with pytest.raises(ReconsentRequired):  # a code works once
        exchange_code(back["code"][0], emulator.realm_id, client_id=emulator.client_id,
                      client_secret=emulator.client_secret, redirect_uri=redirect, token_store=store,
                      token_url=emulator.token_url)
