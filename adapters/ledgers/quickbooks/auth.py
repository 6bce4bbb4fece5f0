"""QuickBooks Online's OAuth 2.0: the connect flow, the token grant, refresh with rotation, re-consent.

`authorization_url` and `exchange_code` serve the connect flow; afterwards `RealmTokens` hands out the
realm's tokens from the `TokenStore`, refreshed when they expire within five minutes (or when QuickBooks
refused one with a 401), and saves the rotated refresh token before the new access token is used.
`invalid_grant` raises `ReconsentRequired`, unless another process rotated the token first, in which case
its newer tokens are used.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.ledger import PermanentLedgerError, RetryableLedgerError
from adapters.ledgers.http import error_for_status
from adapters.ledgers.oauth import OAuthTokens, ReconsentRequired, TokenStore
from adapters.ledgers.quickbooks import LEDGER
from adapters.ledgers.quickbooks.transport import THROTTLE_BACKOFF_SECONDS

TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
REFRESH_MARGIN_SECONDS = 300

_HARD_EXPIRY_PREFIX = "x_refresh_token_hard"  # the 5-year cap's field; its exact name is unconfirmed (Part E 6)


def authorization_url(client_id: str, redirect_uri: str, state: str, *, scopes: Iterable[str] = (ACCOUNTING_SCOPE,),
                      authorize_url: str = AUTHORIZE_URL) -> str:
    """Where to send the person connecting QuickBooks; Intuit redirects back with `code`, `state`, `realmId`."""
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": " ".join(scopes),
                       "redirect_uri": redirect_uri, "state": state})
    return f"{authorize_url}?{query}"


def exchange_code(code: str, realm_id: str, *, client_id: str, client_secret: str, redirect_uri: str,
                  token_store: TokenStore, token_url: str = TOKEN_URL, timeout: float = 30.0) -> OAuthTokens:
    """Trades the redirect's `code` for tokens and saves them for `realm_id`."""
    tokens = token_grant(token_url, client_id, client_secret,
                         {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                         tenant=realm_id, timeout=timeout)
    token_store.save(LEDGER, tokens)
    return tokens


def token_grant(token_url: str, client_id: str, client_secret: str, form: dict[str, str], *, tenant: str,
                timeout: float, previous_refresh_token: str | None = None) -> OAuthTokens:
    """One POST to Intuit's token endpoint (Basic client auth): the tokens it grants, or the port's error."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
    try:
        response = httpx.post(token_url, data=form, headers=headers, timeout=timeout)
    except httpx.TimeoutException as error:
        raise RetryableLedgerError(f"QuickBooks token endpoint timed out after {timeout}s") from error
    except httpx.HTTPError as error:
        raise RetryableLedgerError(f"QuickBooks token endpoint unreachable: {error}") from error
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    if status == 429 or status >= 500:
        said = "throttled the refresh" if status == 429 else f"answered HTTP {status}"
        raise error_for_status(status, f"QuickBooks token endpoint {said}", response.headers,
                               default_retry_after=THROTTLE_BACKOFF_SECONDS)
    if body.get("error") == "invalid_grant":
        why = body.get("error_description") or "the token or code is expired, revoked or already used"
        raise ReconsentRequired(LEDGER, tenant, f"invalid_grant: {why}")
    if status != 200 or "access_token" not in body:
        said = body.get("error") or response.text[:200]
        raise PermanentLedgerError(f"QuickBooks token endpoint answered HTTP {status}: {said}")
    return _granted(body, tenant, previous_refresh_token)


def _granted(body: dict[str, Any], tenant: str, previous_refresh_token: str | None) -> OAuthTokens:
    """The tokens of a 200 answer; the refresh token's expiry is the sooner of its own and the hard cap."""
    now = datetime.now(UTC)
    refresh_expires_at = None
    if body.get("x_refresh_token_expires_in") is not None:
        refresh_expires_at = now + timedelta(seconds=int(body["x_refresh_token_expires_in"]))
    extra = {key: value for key, value in body.items() if key.startswith(_HARD_EXPIRY_PREFIX)}
    for value in extra.values():
        try:
            hard = now + timedelta(seconds=int(value))
        except (TypeError, ValueError):
            continue
        refresh_expires_at = hard if refresh_expires_at is None else min(refresh_expires_at, hard)
    refresh_token = body.get("refresh_token") or previous_refresh_token
    if not refresh_token:
        raise PermanentLedgerError("QuickBooks token endpoint returned no refresh token")
    return OAuthTokens(access_token=body["access_token"], refresh_token=refresh_token,
                       expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
                       refresh_expires_at=refresh_expires_at, tenant=tenant, extra=extra)


class RealmTokens:
    """One realm's tokens, shared by every thread of the adapter; refreshes happen one at a time."""

    def __init__(self, realm_id: str, client_id: str, client_secret: str, token_store: TokenStore, *,
                 token_url: str = TOKEN_URL, timeout: float = 30.0) -> None:
        self.realm_id = realm_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = token_store
        self._token_url = token_url
        self._timeout = timeout
        self._refresh_lock = threading.Lock()

    def _load(self) -> OAuthTokens:
        tokens = self._store.load(LEDGER, self.realm_id)
        if tokens is None:
            raise ReconsentRequired(LEDGER, self.realm_id, "no tokens stored")
        return tokens

    def current(self, rejected: str | None = None) -> OAuthTokens:
        """Current tokens, refreshed when they expire within five minutes or `rejected` was refused."""
        tokens = self._load()
        if rejected is None and not tokens.expires_within(REFRESH_MARGIN_SECONDS):
            return tokens
        with self._refresh_lock:
            tokens = self._load()  # another thread may have refreshed while we waited
            if tokens.access_token != rejected and not tokens.expires_within(REFRESH_MARGIN_SECONDS):
                return tokens
            try:
                fresh = token_grant(self._token_url, self._client_id, self._client_secret,
                                    {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
                                    tenant=self.realm_id, timeout=self._timeout,
                                    previous_refresh_token=tokens.refresh_token)
            except ReconsentRequired:
                stored = self._load()
                if stored.refresh_token != tokens.refresh_token:
                    return stored  # another process rotated it first; its tokens are the current ones
                raise
            # Saved before use: QuickBooks has already retired the refresh token we sent.
            self._store.save(LEDGER, fresh)
            return fresh
