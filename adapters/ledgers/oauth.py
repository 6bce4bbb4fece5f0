"""OAuth 2.0 tokens for the real ledgers: kept encrypted at rest, refreshed before expiry, rotated.

QuickBooks and Xero both rotate the refresh token on every refresh: the newest one is saved every time,
before the new access token is used, or the connection is lost.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field


class OAuthTokens(BaseModel):
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime | None = None
    # QuickBooks realmId, Xero tenant id, Intacct company/entity: whatever the ledger keys its API by.
    tenant: str
    extra: dict[str, Any] = Field(default_factory=dict)

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) + timedelta(seconds=seconds) >= self.expires_at


class ReconsentRequired(Exception):
    """The refresh token is expired, revoked or already rotated: a human must connect the ledger again."""

    def __init__(self, ledger: str, tenant: str, detail: str) -> None:
        super().__init__(
            f"{ledger} connection for {tenant} needs re-consent ({detail}): run `duecourse connect {ledger}`"
        )
        self.ledger = ledger
        self.tenant = tenant


class TokenStore(Protocol):
    def load(self, ledger: str, tenant: str) -> OAuthTokens | None: ...

    def save(self, ledger: str, tokens: OAuthTokens) -> None: ...


class MemoryTokenStore:
    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], OAuthTokens] = {}
        self._lock = threading.Lock()

    def load(self, ledger: str, tenant: str) -> OAuthTokens | None:
        with self._lock:
            return self._tokens.get((ledger, tenant))

    def save(self, ledger: str, tokens: OAuthTokens) -> None:
        with self._lock:
            self._tokens[(ledger, tokens.tenant)] = tokens
