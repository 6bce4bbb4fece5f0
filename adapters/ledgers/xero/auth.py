"""Xero's OAuth 2.0: the consent that connects an organisation, and the tokens that keep it connected.

The authorization-code flow (with PKCE for apps that keep no secret) ends in `connect`, which stores tokens
for every organisation (tenant) the consent covers. Access tokens last 30 minutes; `XeroTokens` refreshes
them before they expire and after a 401, and saves the rotated refresh token (Xero rotates it on every
refresh) for every tenant of the grant before the new access token is used. A refused refresh token
(invalid_grant) is `ReconsentRequired`: a person must connect Xero again. Custom connections have no refresh
token and ask for a new client_credentials token instead.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import urllib3
from xero_python.exceptions import HTTPStatusException
from xero_python.identity import IdentityApi

from adapters.ledger import PermanentLedgerError, RetryableLedgerError
from adapters.ledgers.oauth import OAuthTokens, ReconsentRequired, TokenStore
from adapters.ledgers.xero.transport import LEDGER, identity_post, sdk_client

log = logging.getLogger("duecourse.xero")

IDENTITY_BASE = "https://identity.xero.com"
LOGIN_BASE = "https://login.xero.com"
CONNECTIONS_BASE = "https://api.xero.com"
# Broad scopes: every app until 2027. Apps created from 2 March 2026 must ask for granular ones; their exact
# names (reports above all) are not confirmed in the OpenAPI file yet, so both sets are here and callers choose.
BROAD_SCOPES = ("openid", "profile", "email", "offline_access", "accounting.transactions", "accounting.contacts",
                "accounting.settings.read", "accounting.reports.read")
GRANULAR_SCOPES = ("openid", "profile", "email", "offline_access", "accounting.invoices", "accounting.payments",
                   "accounting.banktransactions", "accounting.contacts", "accounting.settings.read",
                   "accounting.reports.aged.read")
ACCESS_TOKEN_SECONDS = 1800
REFRESH_TOKEN_LIFETIME = timedelta(days=60)


# --- the authorization-code flow --------------------------------------------------------------------------


def authorization_url(client_id: str, redirect_uri: str, state: str, *, scopes: tuple[str, ...] = BROAD_SCOPES,
                      login_base: str = LOGIN_BASE, code_challenge: str | None = None) -> str:
    """Where to send the person who connects Xero (step 1 of the authorization-code flow)."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": " ".join(scopes), "state": state}
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{login_base.rstrip('/')}/identity/connect/authorize?{urlencode(params)}"


def pkce_pair() -> tuple[str, str]:
    """A PKCE (verifier, S256 challenge) pair, for apps that keep no client secret."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def tokens_from_response(response: dict[str, Any], tenant: str, tenant_ids: list[str] | None = None, *,
                         now: datetime | None = None, previous: OAuthTokens | None = None) -> OAuthTokens:
    """OAuthTokens for one tenant from a /connect/token answer. Xero's tokens belong to the grant, not the
    tenant: `tenant_ids` lists every tenant the grant covers, so a refresh can save the rotated token for all."""
    moment = now or datetime.now(UTC)
    refresh = response.get("refresh_token") or (previous.refresh_token if previous else "")
    extra = dict(previous.extra) if previous else {}
    extra["scope"] = response.get("scope") or extra.get("scope", "")
    extra["tenant_ids"] = list(tenant_ids or extra.get("tenant_ids") or [tenant])
    if not response.get("refresh_token") and previous is None:
        extra["grant"] = "client_credentials"  # custom connections: no refresh token, ask again instead
    return OAuthTokens(
        access_token=str(response["access_token"]),
        refresh_token=str(refresh),
        expires_at=moment + timedelta(seconds=int(response.get("expires_in") or ACCESS_TOKEN_SECONDS)),
        refresh_expires_at=moment + REFRESH_TOKEN_LIFETIME if response.get("refresh_token")
        else (previous.refresh_expires_at if previous else None),
        tenant=tenant,
        extra=extra,
    )


def exchange_code(code: str, redirect_uri: str, client_id: str, client_secret: str | None = None, *,
                  code_verifier: str | None = None, identity_base: str = IDENTITY_BASE,
                  timeout: float = 30) -> dict[str, Any]:
    """Step 2: the code from the redirect for tokens. A web app authenticates with its secret (Basic auth); a
    PKCE app without one sends its client id; the verifier goes along whenever the flow began with a challenge."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    basic = (client_id, client_secret) if client_secret else None
    if basic is None:
        form["client_id"] = client_id
    return identity_post(f"{identity_base.rstrip('/')}/connect/token", form, timeout=timeout,
                         tenant="(new connection)", basic=basic)


def list_connections(access_token: str, *, connections_base: str = CONNECTIONS_BASE,
                     timeout: float = 30) -> list[dict[str, Any]]:
    """The tenants (organisations) a fresh grant may use: GET /connections."""
    client = sdk_client(lambda: access_token)
    try:
        connections = IdentityApi(client, base_url=connections_base.rstrip("/")).get_connections(
            _request_timeout=(timeout, timeout))
    except HTTPStatusException as error:
        raise PermanentLedgerError(f"Xero refused GET /connections: HTTP {error.status}") from error
    except urllib3.exceptions.HTTPError as error:
        raise RetryableLedgerError(f"Xero /connections unreachable: {error}") from error
    return [{"id": str(c.id), "tenant_id": str(c.tenant_id), "tenant_type": c.tenant_type,
             "tenant_name": c.tenant_name} for c in connections or []]


def connect(code: str, redirect_uri: str, client_id: str, client_secret: str | None, token_store: TokenStore, *,
            code_verifier: str | None = None, identity_base: str = IDENTITY_BASE,
            connections_base: str = CONNECTIONS_BASE, timeout: float = 30) -> list[str]:
    """Finish a consent: exchange the code, list the organisations it covers, store tokens for each.
    Returns the tenant ids now connected."""
    response = exchange_code(code, redirect_uri, client_id, client_secret, code_verifier=code_verifier,
                             identity_base=identity_base, timeout=timeout)
    tenants = [c["tenant_id"] for c in list_connections(response["access_token"], connections_base=connections_base,
                                                        timeout=timeout) if c["tenant_type"] == "ORGANISATION"]
    for tenant in tenants:
        token_store.save(LEDGER, tokens_from_response(response, tenant, tenants))
    return tenants


# --- the tokens of one connected organisation -------------------------------------------------------------


class XeroTokens:
    """The access token of one tenant, valid whenever it is asked for. Thread-safe: one refresh at a time."""

    def __init__(self, tenant: str, client_id: str, client_secret: str, store: TokenStore, *,
                 identity_base: str = IDENTITY_BASE, timeout: float = 30, refresh_margin_seconds: float = 300,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.tenant = tenant
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = store
        self._identity_base = identity_base.rstrip("/")
        self._timeout = timeout
        self._refresh_margin = refresh_margin_seconds
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._tokens: OAuthTokens | None = None

    def access_token(self) -> str:
        """The access token to use now: refreshed `refresh_margin_seconds` before it expires (30-minute tokens),
        the rotated refresh token saved before the new access token is used."""
        with self._lock:
            tokens = self._tokens
            if tokens is None or tokens.expires_within(self._refresh_margin, self._clock()):
                stored = self._store.load(LEDGER, self.tenant)
                if stored is None:
                    raise ReconsentRequired(LEDGER, self.tenant, "no Xero tokens are stored for this organisation")
                # Another worker may have refreshed already: its tokens are in the store.
                tokens = stored if not stored.expires_within(self._refresh_margin, self._clock()) else self._refresh(
                    stored)
                self._tokens = tokens
            return tokens.access_token

    def rejected(self, access_token: str) -> None:
        """A 401: the access token was revoked or rotated elsewhere. Take a newer one, or refresh."""
        with self._lock:
            if self._tokens is not None and self._tokens.access_token != access_token:
                return
            stored = self._store.load(LEDGER, self.tenant)
            if stored is not None and stored.access_token != access_token and not stored.expires_within(
                    self._refresh_margin, self._clock()):
                self._tokens = stored
                return
            base = stored or self._tokens
            if base is None:
                raise ReconsentRequired(LEDGER, self.tenant, "no Xero tokens are stored for this organisation")
            self._tokens = self._refresh(base)

    def _refresh(self, tokens: OAuthTokens) -> OAuthTokens:
        url = f"{self._identity_base}/connect/token"
        if tokens.extra.get("grant") == "client_credentials":
            form = {"grant_type": "client_credentials"}
            answer = identity_post(url, form, timeout=self._timeout, tenant=self.tenant,
                                   basic=(self._client_id, self._client_secret))
        else:
            # As xero-python sends it: the client in the form body, with the scope granted.
            form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                    "client_id": self._client_id, "client_secret": self._client_secret}
            if tokens.extra.get("scope"):
                form["scope"] = str(tokens.extra["scope"])
            answer = identity_post(url, form, timeout=self._timeout, tenant=self.tenant)
        fresh = tokens_from_response(answer, self.tenant, now=self._clock(), previous=tokens)
        # The refresh token rotated: persist it at once, for every tenant the grant covers, or lose the connection.
        for tenant in fresh.extra.get("tenant_ids") or [self.tenant]:
            self._store.save(LEDGER, fresh.model_copy(update={"tenant": tenant}))
        log.info("Xero access token refreshed for tenant %s", self.tenant)
        return fresh
