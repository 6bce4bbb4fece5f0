"""Intacct OAuth (adapters/ledgers/intacct/auth.py) against the emulator's token endpoint: refresh before
expiry and rotation, the authorization-code flow, client credentials, re-consent, and a refresh token rotated
by another process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.ledgers.intacct.auth import authorization_url
from adapters.ledgers.oauth import MemoryTokenStore, OAuthTokens, ReconsentRequired
from tests.emulators.intacct import IntacctEmulator

from .connected import Connect


def stored_tokens(emulator: IntacctEmulator, expires_in: float) -> tuple[MemoryTokenStore, dict[str, Any]]:
    issued = emulator.issue_tokens()
    store = MemoryTokenStore()
    store.save("intacct", OAuthTokens(access_token=issued["access_token"], refresh_token=issued["refresh_token"],
                                      expires_at=datetime.now(UTC) + timedelta(seconds=expires_in), tenant="ACME"))
    return store, issued


def test_tokens_are_refreshed_before_expiry_and_the_rotated_refresh_token_is_saved(connect: Connect,
                                                                                  emulator: IntacctEmulator) -> None:
    store, issued = stored_tokens(emulator, expires_in=60)  # inside the 300 s margin
    port = connect(token_store=store, username=None)
    port.list_customers()
    saved = store.load("intacct", "ACME")
    assert saved is not None and emulator.token_grants == ["refresh_token"]
    assert saved.refresh_token != issued["refresh_token"]
    assert emulator.live_refresh_tokens() == {saved.refresh_token}  # the old one died on rotation
    assert saved.expires_at > datetime.now(UTC) + timedelta(seconds=3000)
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {saved.access_token}"
    port.list_customers()
    assert emulator.token_grants == ["refresh_token"]  # fresh now: no second refresh


def test_a_token_far_from_expiry_is_used_as_is(connect: Connect, emulator: IntacctEmulator) -> None:
    store, issued = stored_tokens(emulator, expires_in=3000)
    connect(token_store=store, username=None).list_customers()
    assert emulator.token_grants == []
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {issued['access_token']}"


def test_authorization_code_connects_and_a_stale_token_is_renewed_once(connect: Connect,
                                                                       emulator: IntacctEmulator) -> None:
    store = MemoryTokenStore()
    port = connect(token_store=store, username=None)
    url = authorization_url("duecourse-client", "https://duecourse.example/callback", "st4te",
                            base_url=emulator.base_url, code_challenge="abc")
    assert url.startswith(f"{emulator.base_url}/oauth2/authorize?") and "scope=offline_access" in url
    assert "code_challenge_method=S256" in url and "state=st4te" in url
    tokens = port.connect_with_code(emulator.issue_code(), "https://duecourse.example/callback")
    assert store.load("intacct", "ACME") == tokens and tokens.extra["grant"] == "authorization_code"
    emulator.faults.stale_tokens = True  # e.g. someone approved a new connection for the same user
    assert port.list_customers() == []
    assert emulator.token_grants == ["authorization_code", "refresh_token"]
    statuses = [r.status for r in emulator.requests if r.path == "/services/core/query"]
    assert statuses == [401, 200]
    renewed = store.load("intacct", "ACME")
    assert renewed is not None and renewed.extra["grant"] == "authorization_code"


def test_invalid_grant_asks_for_reconsent(connect: Connect, emulator: IntacctEmulator) -> None:
    store, _ = stored_tokens(emulator, expires_in=-10)
    emulator.faults.reject_refresh = True
    port = connect(token_store=store, username=None)
    with pytest.raises(ReconsentRequired, match="invalid_grant") as refused:
        port.list_customers()
    assert refused.value.ledger == "intacct" and refused.value.tenant == "ACME"
    assert emulator.requests == []  # no API call went out with a dead token


def test_no_stored_tokens_without_a_web_services_user_asks_for_reconsent(connect: Connect) -> None:
    with pytest.raises(ReconsentRequired, match="connect"):
        connect(username=None).list_customers()


def test_client_credentials_mint_and_store_tokens(connect: Connect, emulator: IntacctEmulator) -> None:
    store = MemoryTokenStore()
    connect(token_store=store).list_customers()
    saved = store.load("intacct", "ACME")
    assert emulator.token_grants == ["client_credentials"]
    assert saved is not None and saved.tenant == "ACME" and saved.extra["grant"] == "client_credentials"


class RacingStore(MemoryTokenStore):
    """A token store shared with another worker process that rotates the refresh token first."""

    def __init__(self, stale: OAuthTokens, fresh: OAuthTokens) -> None:
        super().__init__()
        self.loads = [stale, fresh]

    def load(self, ledger: str, tenant: str) -> OAuthTokens | None:
        return self.loads.pop(0) if self.loads else super().load(ledger, tenant)


def test_a_refresh_token_rotated_by_another_process_is_picked_up(connect: Connect, emulator: IntacctEmulator) -> None:
    first, second = emulator.issue_tokens(), emulator.issue_tokens()
    emulator.revoke_refresh_tokens()  # the other process already used `first` ...
    soon = datetime.now(UTC)
    stale = OAuthTokens(access_token=first["access_token"], refresh_token=first["refresh_token"],
                        expires_at=soon, tenant="ACME")
    fresh = OAuthTokens(access_token=second["access_token"], refresh_token="rotated-elsewhere",
                        expires_at=soon + timedelta(hours=1), tenant="ACME")  # ... and saved its result
    port = connect(token_store=RacingStore(stale, fresh), username=None)
    assert port.list_customers() == []
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {second['access_token']}"
