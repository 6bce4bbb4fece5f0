"""How the QuickBooks adapter talks to QuickBooks Online: python-quickbooks' client on our own session.

* Transport is python-quickbooks' own `QuickBooks` client (`company_id` = realm id, `minorversion`,
  `use_decimal=True` so every JSON number arrives as a `Decimal`). Its session is ours (`_WireSession`): it
  carries the bearer token, puts a timeout on every call (the SDK sets none) and mounts adapters with no
  retries, so Temporal alone decides when to try again. It also keeps the last response, because the SDK
  keeps only the Fault code and a throttle or a gateway error is told apart by its status.
* Request bodies are plain JSON (`wire_json`) with amounts as JSON numbers, as QuickBooks documents them.
  The SDK's object classes would send `Decimal`s as strings (`"Amount": "300.00"`, since 0.9.11) and a body
  full of empty fields; an exact, short body is easier to check against the documentation.
* Errors are mapped once (`error_for_fault`): Fault 3001 or a 429 -> `RateLimited` (QuickBooks sends no
  Retry-After; we honour one if it ever does, else back off `throttle_backoff` seconds as Intuit advises);
  a Fault 10000+ inside an answer -> `RetryableLedgerError`; Fault 5010 (stale SyncToken) -> `StaleVersion`
  (`Transport.update` re-reads and retries once); Fault 610 / 2500 -> `NotFound`; everything else as
  `adapters.ledgers.http.error_for_status` says (5xx, timeouts and resets retryable, 404 not found, other
  validation faults permanent, carrying QuickBooks' Message and Detail). A 401 refreshes the token and
  retries the call once.
* Every write carries `requestid` (QuickBooks' idempotency key, at most 50 characters, unique per realm):
  `<operation>-<idempotency key>`, hashed when longer, so one business key used for two kinds of writes
  cannot collide. A retry after 5010 uses a derived id: the failed attempt wrote nothing, and whether
  QuickBooks remembers failed requestids is undocumented.
* Client-side limits: a `RateLimiter` of 500 calls a minute and 10 at once per realm (pass one in to share
  it between adapters of the same realm).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import requests
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException
from requests.adapters import HTTPAdapter

from adapters.http import retry_after_seconds
from adapters.ledger import (
    LedgerError,
    NotFound,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
    StaleVersion,
)
from adapters.ledgers.http import error_for_status
from adapters.ledgers.oauth import OAuthTokens
from adapters.ledgers.rate_limit import RateLimiter

API_URL = "https://quickbooks.api.intuit.com"
SANDBOX_API_URL = "https://sandbox-quickbooks.api.intuit.com"
MINOR_VERSION = 75
REQUEST_ID_MAX = 50
PAGE_SIZE = 1000  # QuickBooks' MAXRESULTS cap
THROTTLE_BACKOFF_SECONDS = 60.0

log = logging.getLogger(__name__)

T = TypeVar("T")


class TokenSource(Protocol):
    """Where the transport gets its bearer token (`auth.RealmTokens`)."""

    def current(self, rejected: str | None = None) -> OAuthTokens: ...


def request_id(operation: str, idempotency_key: str, attempt: int = 0) -> str:
    """QuickBooks' `requestid` for one write: readable when it fits in 50 characters, else a hash."""
    if not idempotency_key or not idempotency_key.strip():
        raise PermanentLedgerError(f"{operation} needs an idempotency key")
    raw = f"{operation}-{idempotency_key}" + (f"-r{attempt}" if attempt else "")
    if len(raw) <= REQUEST_ID_MAX and re.fullmatch(r"[A-Za-z0-9._:-]+", raw):
        return raw
    return "h" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[: REQUEST_ID_MAX - 1]


def wire_json(value: Any) -> str:
    """JSON with `Decimal`s as JSON numbers (never strings, never floats)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PermanentLedgerError(f"{value} is not an amount QuickBooks can hold")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("amounts go to QuickBooks as Decimal, never float")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{wire_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(wire_json(v) for v in value) + "]"
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def quoted(value: str) -> str:
    """A string literal of QuickBooks' query language."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def error_for_fault(error: QuickbooksException, response: requests.Response | None, what: str,
                    throttle_backoff: float) -> LedgerError:
    """The port's error for a QuickBooks Fault: its own codes first, then the status as every ledger reads it."""
    status = response.status_code if response is not None else None
    headers = response.headers if response is not None else None
    try:
        code = int(error.error_code or 0)
    except (TypeError, ValueError):
        code = 0
    message = str(error.message or "").strip()
    detail = str(error.detail or "").strip()
    said = message if not detail or detail == message else f"{message}: {detail}"
    text = f"QuickBooks: {what} failed: {said[:1000]} (code {code}" + (f", HTTP {status})" if status else ")")
    if code == 3001:  # ThrottleExceeded, whatever status carried it
        delay = retry_after_seconds(headers)
        return RateLimited(text, retry_after_seconds=throttle_backoff if delay is None else delay)
    if status == 401:
        return PermanentLedgerError(f"{text}; a freshly refreshed token was refused, reconnect QuickBooks")
    if status in (None, 200):
        if code >= 10000:  # a system Fault inside an answer
            return RetryableLedgerError(text)
        status = 400  # any other Fault inside an answer is a refusal
    if status < 500 and status not in (408, 429):
        if code == 5010:
            return StaleVersion(text)
        if code in (610, 2500):
            return NotFound(text)
    return error_for_status(status, text, headers, default_retry_after=throttle_backoff)


class _WireSession(requests.Session):
    """The session python-quickbooks sends through: it reads `access_token` and calls `request`."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.access_token = ""
        self.last_response: requests.Response | None = None
        no_retries = HTTPAdapter(max_retries=0)
        self.mount("https://", no_retries)
        self.mount("http://", no_retries)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(*args, **kwargs)
        self.last_response = response
        return response


class Transport:
    """One realm's API calls. Thread-safe: each thread gets its own SDK client; tokens and the rate limiter
    are shared."""

    def __init__(self, realm_id: str, tokens: TokenSource, *, base_url: str = API_URL,
                 rate_limiter: RateLimiter | None = None, timeout: float = 30, minorversion: int = MINOR_VERSION,
                 page_size: int = PAGE_SIZE, throttle_backoff: float = THROTTLE_BACKOFF_SECONDS) -> None:
        self.realm_id = realm_id
        self._tokens = tokens
        self._base_url = base_url.rstrip("/")
        self._limiter = rate_limiter or RateLimiter(per_minute=500, concurrent=10)
        self._timeout = float(timeout)
        self._minorversion = minorversion
        self._page = max(1, min(page_size, PAGE_SIZE))
        self._throttle_backoff = throttle_backoff
        self._local = threading.local()

    def _client(self) -> tuple[Any, _WireSession]:
        local = self._local
        if getattr(local, "qb", None) is None:
            session = _WireSession(self._timeout)
            qb = QuickBooks(company_id=self.realm_id, minorversion=self._minorversion, use_decimal=True)
            qb.api_url_v3 = f"{self._base_url}/v3"
            qb.sandbox = False
            qb.session = session
            local.qb, local.session = qb, session
        return local.qb, local.session

    def url(self, qb: Any, path: str) -> str:
        return f"{qb.api_url}/company/{self.realm_id}/{path}"

    def call(self, what: str, request: Callable[[Any], T]) -> T:
        """One API call with the current token; every failure leaves as one of the port's errors."""
        qb, session = self._client()
        rejected: str | None = None
        for attempt in range(2):
            tokens = self._tokens.current(rejected)
            session.access_token = tokens.access_token
            session.last_response = None
            with self._limiter.slot():
                try:
                    return request(qb)
                except AuthorizationException as error:
                    response = session.last_response
                    if response is not None and response.status_code == 401 and attempt == 0:
                        rejected = tokens.access_token
                        continue
                    raise error_for_fault(error, response, what, self._throttle_backoff) from error
                except QuickbooksException as error:
                    raise error_for_fault(error, session.last_response, what, self._throttle_backoff) from error
                except requests.Timeout as error:
                    raise error_for_status(None, f"QuickBooks {what} timed out after {self._timeout:g}s") from error
                except requests.RequestException as error:
                    raise error_for_status(None, f"QuickBooks {what} failed: {type(error).__name__}: {error}") \
                        from error
        raise AssertionError("unreachable")

    # --- reading ----------------------------------------------------------------------------------------

    def get(self, entity: str, entity_id: str) -> dict[str, Any]:
        if not str(entity_id).strip():
            raise NotFound(f"no {entity} id given")
        data = self.call(f"reading {entity} {entity_id}", lambda qb: qb.get_single_object(entity, pk=entity_id))
        return dict(data[entity])

    def query(self, entity: str, where: str = "") -> list[dict[str, Any]]:
        """Every row of a query, page by page (STARTPOSITION is 1-based, MAXRESULTS at most 1000)."""
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        start = 1
        clause = f" WHERE {where}" if where else ""
        while True:
            sql = f"SELECT * FROM {entity}{clause} ORDERBY Id STARTPOSITION {start} MAXRESULTS {self._page}"

            def run(qb: Any, sql: str = sql) -> Any:
                return qb.query(sql)

            data = self.call(f"querying {entity}", run)
            page = (data.get("QueryResponse") or {}).get(entity) or []
            for row in page:
                # Rows shift when the data changes between pages; never report one twice.
                if str(row.get("Id")) not in seen:
                    seen.add(str(row.get("Id")))
                    rows.append(row)
            if len(page) < self._page:
                return rows
            start += self._page

    def get_path(self, what: str, path: str) -> dict[str, Any]:
        """A GET of a path under the company (e.g. `companyinfo/<realm>`)."""
        return dict(self.call(what, lambda qb: qb.get(self.url(qb, path))))

    # --- writing ----------------------------------------------------------------------------------------

    def create(self, entity: str, body: dict[str, Any], rid: str, what: str) -> dict[str, Any]:
        payload = wire_json(body)
        data = self.call(what, lambda qb: qb.create_object(entity, payload, request_id=rid))
        return dict(data[entity])

    def post(self, entity: str, path: str, body: dict[str, Any] | None, rid: str, what: str, *,
             params: dict[str, str] | None = None) -> dict[str, Any]:
        """A POST to a path under the company: `operation=void` and the like, or `/invoice/{id}/send`
        (no body)."""
        payload = None if body is None else wire_json(body)
        content_type = "application/json" if body is not None else "application/octet-stream"
        data = self.call(what, lambda qb: qb.post(self.url(qb, path), payload, content_type=content_type,
                                                  params=dict(params or {}), request_id=rid))
        return dict(data.get(entity) or {})

    def update_object(self, entity: str, body: dict[str, Any], rid: str, what: str) -> dict[str, Any]:
        payload = wire_json(body)
        data = self.call(what, lambda qb: qb.update_object(entity, payload, request_id=rid))
        return dict(data[entity])

    def update(self, what: str, operation: str, key: str, read: Callable[[], dict[str, Any]],
               change: Callable[[dict[str, Any]], dict[str, Any] | None],
               post: Callable[[dict[str, Any], str], dict[str, Any]]) -> dict[str, Any]:
        """A SyncToken write: read, change, post; on a stale SyncToken (5010) re-read and try once more."""
        current = read()
        for attempt in range(2):
            body = change(current)
            if body is None:
                return current  # nothing left to do (a retry after the write already happened)
            try:
                return post(body, request_id(operation, key, attempt))
            except StaleVersion:
                if attempt:
                    raise
                log.info("QuickBooks %s hit a stale SyncToken; re-reading once", what)
                current = read()
        raise AssertionError("unreachable")
