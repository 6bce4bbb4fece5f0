"""Sage Intacct OAuth 2.0: the authorization URL, the code exchange, client credentials, refresh, re-consent.

* The token endpoint is `{base_url}/oauth2/token` (JSON body, client id and secret in the body), LEDGER_APIS.md
  C1. A company connects through the authorization-code flow (+ `offline_access` for a refresh token, PKCE
  when a challenge is given), or a Web Services user (`user@company`, `user@company|entity`) mints tokens
  with client credentials.
* Tokens are refreshed `refresh_margin_seconds` before `expires_in` runs out (Part E #17: only `expires_in`
  is trusted), or at once when the API refuses the current one. A rotated refresh token is saved before the
  new access token is used. `invalid_grant` -> `ReconsentRequired`, unless another process already rotated
  the refresh token, or client credentials can mint anew.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from adapters.ledger import PermanentLedgerError
from adapters.ledgers.intacct.mapping import text
from adapters.ledgers.intacct.transport import DEFAULT_BASE_URL, decode_json, error_for, ia_error, send
from adapters.ledgers.intacct.webhooks import LEDGER
from adapters.ledgers.oauth import OAuthTokens, ReconsentRequired, TokenStore

_REFUSED_GRANTS = ("invalid_grant", "invalid_client", "unauthorized_client")


def authorization_url(client_id: str, redirect_uri: str, state: str, *, base_url: str = DEFAULT_BASE_URL,
                      code_challenge: str | None = None, offline: bool = True) -> str:
    """Where to send a person to connect a company (authorization-code flow, PKCE when a challenge is
    given); `offline` asks for a refresh token."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state}
    if offline:
        params["scope"] = "offline_access"
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    return f"{base_url.rstrip('/')}/oauth2/authorize?{urllib.parse.urlencode(params)}"


@dataclass
class IntacctAuth:
    """The tokens of one company, kept in `token_store`. Thread-safe: one renewal at a time."""

    tenant: str  # the company id
    client_id: str
    client_secret: str
    token_store: TokenStore
    base_url: str
    http: httpx.Client
    timeout: float
    # Client credentials for a Web Services user: "user@company" or "user@company|entity".
    username: str | None
    refresh_margin_seconds: float
    clock: Callable[[], datetime]
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    def connect_with_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> OAuthTokens:
        """Exchange an authorization code (from `authorization_url`'s redirect) and store the tokens."""
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.client_id, "client_secret": self.client_secret}
        if code_verifier:
            body["code_verifier"] = code_verifier
        with self._lock:
            tokens = self._tokens_from(self._token_request(body), grant="authorization_code", previous=None)
            self.token_store.save(LEDGER, tokens)
            return tokens

    def connect_with_client_credentials(self, username: str | None = None) -> OAuthTokens:
        """Server-to-server: tokens for a Web Services user (`user@company`), stored."""
        if username:
            self.username = username
        with self._lock:
            return self._client_credentials()

    def access_token(self, rejected: str | None = None) -> str:
        """A usable access token: refreshed ahead of expiry, or because the API rejected `rejected`."""
        with self._lock:
            tokens = self.token_store.load(LEDGER, self.tenant)
            if tokens is None:
                if self.username:
                    return self._client_credentials().access_token
                raise ReconsentRequired(LEDGER, self.tenant, "no tokens stored; connect the company first")
            if rejected is not None and tokens.access_token != rejected:
                return tokens.access_token  # another thread or process already renewed it
            if rejected is not None or tokens.expires_within(self.refresh_margin_seconds, now=self.clock()):
                tokens = self._renew(tokens)
            return tokens.access_token

    def _client_credentials(self) -> OAuthTokens:
        if not self.username:
            raise ReconsentRequired(LEDGER, self.tenant, "no Web Services user configured for client credentials")
        body = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret, "username": self.username}
        tokens = self._tokens_from(self._token_request(body), grant="client_credentials", previous=None)
        self.token_store.save(LEDGER, tokens)
        return tokens

    def _renew(self, tokens: OAuthTokens) -> OAuthTokens:
        if not tokens.refresh_token:
            return self._client_credentials()
        body = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                "client_id": self.client_id, "client_secret": self.client_secret}
        try:
            payload = self._token_request(body)
        except ReconsentRequired:
            current = self.token_store.load(LEDGER, self.tenant)
            if (current is not None and current.refresh_token != tokens.refresh_token
                    and not current.expires_within(self.refresh_margin_seconds, now=self.clock())):
                return current  # another process rotated the refresh token first
            if self.username:
                return self._client_credentials()
            raise
        renewed = self._tokens_from(payload, grant="refresh_token", previous=tokens)
        # Saved before use: Intacct may rotate the refresh token, and the old one is then dead.
        self.token_store.save(LEDGER, renewed)
        return renewed

    def _token_request(self, body: Mapping[str, str]) -> Mapping[str, Any]:
        response = send(self.http, "POST", self.token_url, "token endpoint", content=json.dumps(body).encode(),
                        timeout=self.timeout,
                        headers={"Content-Type": "application/json", "Accept": "application/json"})
        payload = decode_json(response)
        if response.is_success:
            if not isinstance(payload, Mapping) or not payload.get("access_token"):
                raise PermanentLedgerError("Intacct token endpoint answered without an access_token")
            return payload
        problem = ia_error(payload) or {}
        code = text(problem.get("code"))
        if code in _REFUSED_GRANTS or response.status_code == 401:
            raise ReconsentRequired(LEDGER, self.tenant, f"{code or response.status_code}: "
                                                         f"{text(problem.get('message')) or response.text[:200]}")
        raise error_for(response)

    def _tokens_from(self, payload: Mapping[str, Any], *, grant: str, previous: OAuthTokens | None) -> OAuthTokens:
        try:
            lifetime = float(payload.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        refresh = text(payload.get("refresh_token")) or (previous.refresh_token if previous else "")
        extra = dict(previous.extra) if previous else {}
        # A refresh keeps the grant the connection was made with (authorization code or client credentials).
        extra["grant"] = extra.get("grant", grant) if grant == "refresh_token" else grant
        extra["token_type"] = text(payload.get("token_type")) or "Bearer"
        return OAuthTokens(access_token=text(payload["access_token"]), refresh_token=refresh,
                           expires_at=self.clock() + timedelta(seconds=lifetime), tenant=self.tenant, extra=extra)
