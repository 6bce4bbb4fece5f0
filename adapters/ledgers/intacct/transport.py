"""The HTTP client of Sage Intacct's REST API (v1), through httpx, and the one map of its failures.

There is no official Python SDK for the REST API; this is a plain client of the wire format described
in /work/shared/LEDGER_APIS.md Part C.

* Objects live at `/objects/<app>/<object>`: `GET /{key}` = the full object, `POST` = 201 with
  `{key, id, href}`, `PATCH` = partial update. Field data in bulk comes from the query service
  `POST /services/core/query` (flat rows keyed by dotted paths, paged with `start`/`size` and
  `ia::meta.next`). Every response is `{"ia::result": ..., "ia::meta": ...}`, parsed with
  `parse_float=Decimal`.
* Every call carries the bearer token, the entity header when the connection is scoped to an entity, and
  takes one slot of the rate limiter: Intacct bills transactions instead of capping them per minute;
  concurrency is what it refuses (2 on base tiers).
* Errors: `ia::error` sits at the top level or under `ia::result` (both parsed). 409 (a duplicate id or a
  reused idempotency key) -> `Conflict`, which creates answer with a lookup; everything else maps as on every
  ledger (`adapters.ledgers.http.error_for_status`): 429 (gateway GW-0010) -> `RateLimited` with the
  Retry-After delay, 5xx, 408 and timeouts -> `RetryableLedgerError`, 404 -> `NotFound`, the rest ->
  `PermanentLedgerError` with the ledger's own message. 401 -> renew the token and retry once. Temporal
  owns every other retry.

Assumptions (Part E) and the knob for each:

* #16 idempotency header: its name is `idempotency_header` ("Idempotency-Key" by default) and every
  write carries it. Because neither the name nor the replay semantics are confirmed, creates are also
  replay-safe without it: each created record carries a marker derived from the idempotency key
  (`mapping.idempotency_marker`), `create` queries for the marker before posting (`lookup_before_create`,
  on by default: one query per write buys safety from duplicate invoices and payments), and a 409 on a
  create is answered by the same lookup.
* #18 retry-after header names: `Retry-After` first, then any header ending in `-retry-after`
  (`adapters.http.retry_after_seconds`).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from adapters.ledger import LedgerError, NotFound, PermanentLedgerError, RetryableLedgerError
from adapters.ledgers.http import error_for_status
from adapters.ledgers.intacct.mapping import idempotency_marker, keys, text
from adapters.ledgers.intacct.webhooks import LEDGER
from adapters.ledgers.oauth import ReconsentRequired
from adapters.ledgers.rate_limit import RateLimiter

DEFAULT_BASE_URL = "https://api.intacct.com/ia/api/v1"
ENTITY_HEADER = "X-IA-API-Param-Entity"
QUERY_PATH = "/services/core/query"
MAX_PAGE_SIZE = 4000


class Conflict(PermanentLedgerError):
    """409: a duplicate business id or an idempotency key already used. Creates answer it with a lookup."""


class AccessTokens(Protocol):
    """Where the transport gets its bearer token (`auth.IntacctAuth`)."""

    def access_token(self, rejected: str | None = None) -> str: ...


# --- the one map of a failure ----------------------------------------------------------------------


def decode_json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def ia_error(payload: Any) -> dict[str, Any] | None:
    """The `ia::error` object, wherever the response put it (top level, under `ia::result`, gateway
    `error`, or the OAuth `{"error": "...", "error_description": "..."}` form)."""
    if not isinstance(payload, Mapping):
        return None
    result = payload.get("ia::result")
    candidates = [payload.get("ia::error"), result.get("ia::error") if isinstance(result, Mapping) else None,
                  payload.get("error")]
    for candidate in candidates:
        if isinstance(candidate, Mapping):
            return dict(candidate)
        if isinstance(candidate, str):
            return {"code": candidate, "message": payload.get("error_description") or candidate}
    return None


def error_text(status: int, error: Mapping[str, Any] | None, fallback: str) -> str:
    """The ledger's own words for a failed answer: its message, each detail (and its target), its codes."""
    if not error:
        return f"Intacct answered HTTP {status}: {fallback.strip()[:300] or 'no body'}"
    messages = [text(error.get("message")).strip()]
    for detail in error.get("details") or []:
        if isinstance(detail, Mapping):
            said = text(detail.get("message")).strip()
            target = text(detail.get("target")).strip()
            if said and said not in messages:
                messages.append(f"{said} ({target})" if target and target not in said else said)
    codes = "/".join(c for c in (text(error.get("code")), text(error.get("errorId"))) if c)
    return f"Intacct {status} {codes}: {'; '.join(m for m in messages if m) or 'no message'}"


def error_for(response: httpx.Response) -> LedgerError:
    """The one mapping from an Intacct error response to the port's typed errors."""
    status = response.status_code
    words = error_text(status, ia_error(decode_json(response)), response.text)
    if status == 409:
        return Conflict(words)
    return error_for_status(status, words, response.headers)


def send(http: httpx.Client, method: str, url: str, what: str, **request: Any) -> httpx.Response:
    """One HTTP exchange; a timeout or a dropped connection is a `RetryableLedgerError` naming `what`."""
    try:
        return http.request(method, url, **request)
    except httpx.TimeoutException as error:
        raise RetryableLedgerError(f"Intacct {what} timed out: {error}") from error
    except httpx.TransportError as error:
        raise RetryableLedgerError(f"Intacct {what} failed: {error}") from error


# --- the client ------------------------------------------------------------------------------------


@dataclass
class IntacctTransport:
    """Calls to one company's REST API. Thread-safe: the rate limiter caps concurrent calls (Intacct answers
    429 above its tier's concurrency)."""

    base_url: str
    tokens: AccessTokens
    tenant: str
    http: httpx.Client
    owns_http: bool  # close `http` with the transport
    timeout: float
    rate_limiter: RateLimiter
    idempotency_header: str
    entity_id: str | None  # the entity of a multi-entity company the calls work in (None: top level)
    page_size: int
    lookup_before_create: bool

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {self.page_size}")
        if not self.idempotency_header.strip():
            raise ValueError("idempotency_header must name a header")
        self.base_url = self.base_url.rstrip("/")

    def close(self) -> None:
        if self.owns_http:
            self.http.close()

    def _headers(self, token: str, has_body: bool, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.entity_id:
            headers[ENTITY_HEADER] = self.entity_id
        if idempotency_key is not None:
            headers[self.idempotency_header] = idempotency_key
        return headers

    def call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
             idempotency_key: str | None = None) -> Any:
        """One API call: auth, entity scope, idempotency header, concurrency slot, error mapping. A 401
        renews the token once; a second 401 means the connection is gone."""
        url = self.base_url + urllib.parse.quote(path, safe="/:")
        content = None if body is None else json.dumps(body).encode()
        with self.rate_limiter.slot():
            token = self.tokens.access_token()
            for attempt in (1, 2):
                response = send(self.http, method, url, f"{method} {path}", content=content, params=params,
                                headers=self._headers(token, content is not None, idempotency_key),
                                timeout=self.timeout)
                if response.status_code != 401:
                    break
                if attempt == 2:
                    raise ReconsentRequired(LEDGER, self.tenant, "Intacct refused a freshly renewed token: "
                                            + error_text(401, ia_error(decode_json(response)), response.text))
                token = self.tokens.access_token(rejected=token)
        if response.is_success:
            return decode_json(response)
        raise error_for(response)

    @staticmethod
    def _result(payload: Any, what: str) -> Any:
        if not isinstance(payload, Mapping) or "ia::result" not in payload:
            raise PermanentLedgerError(f"Intacct answered {what} without ia::result")
        return payload["ia::result"]

    @staticmethod
    def _object_path(obj: str, key: str) -> str:
        return f"/objects/{obj}/{urllib.parse.quote(key, safe='')}"

    def get(self, obj: str, key: str) -> dict[str, Any]:
        """The full object `obj` with this key; NotFound for an unknown (or empty) key."""
        if not key or not key.strip():
            raise NotFound(f"no {obj} key given")
        result = self._result(self.call("GET", self._object_path(obj, key)), f"GET {obj}")
        if not isinstance(result, Mapping):
            raise PermanentLedgerError(f"Intacct answered GET {obj}/{key} with {type(result).__name__}")
        return dict(result)

    def patch(self, obj: str, key: str, body: Mapping[str, Any], idempotency_key: str) -> None:
        self.call("PATCH", self._object_path(obj, key), body=body, idempotency_key=idempotency_key)

    def query(self, obj: str, fields: Sequence[str], filters: Sequence[Mapping[str, Any]] = (), *,
              order_by: Sequence[Mapping[str, str]] = (), expression: str | None = None) -> list[dict[str, Any]]:
        """Every row of a query-service query, following `ia::meta.next` page by page."""
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            body: dict[str, Any] = {"object": obj, "fields": list(fields), "start": start, "size": self.page_size}
            if filters:
                body["filters"] = list(filters)
            if expression:
                body["filterExpression"] = expression
            if order_by:
                body["orderBy"] = list(order_by)
            payload = self.call("POST", QUERY_PATH, body=body)
            page = self._result(payload, f"query of {obj}")
            if not isinstance(page, list):
                raise PermanentLedgerError(f"Intacct answered a query of {obj} with {type(page).__name__}")
            rows.extend(dict(row) for row in page if isinstance(row, Mapping))
            meta = payload.get("ia::meta") if isinstance(payload, Mapping) else None
            following = meta.get("next") if isinstance(meta, Mapping) else None
            if not following or not page:
                return rows
            start = int(following)

    def query_in(self, obj: str, fields: Sequence[str], field: str, values: Iterable[str],
                 extra: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """The rows whose `field` is one of `values`, 100 values to a query."""
        distinct = list(dict.fromkeys(values))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(distinct), 100):
            rows += self.query(obj, fields, [{"$in": {field: distinct[start:start + 100]}}, *extra])
        return rows

    def first_key(self, obj: str, field: str, value: str) -> str | None:
        """The key of the first record whose `field` equals `value`, if any."""
        found = keys(self.query(obj, ["key"], [{"$eq": {field: value}}]))
        return found[0] if found else None

    def create(self, obj: str, body: Mapping[str, Any], idempotency_key: str, marker_field: str) -> str:
        """POST a new object once per idempotency key; returns its key. The body's `marker_field` must
        contain `idempotency_marker(idempotency_key)`."""
        marker = idempotency_marker(idempotency_key)
        if self.lookup_before_create:
            found = self._find_marked(obj, marker_field, marker)
            if found is not None:
                return found
        try:
            result = self._result(self.call("POST", f"/objects/{obj}", body=body, idempotency_key=idempotency_key),
                                  f"create {obj}")
        except Conflict:
            # Intacct says the key (or a unique field) is taken: if our earlier attempt wrote it, that is
            # the answer; otherwise the ledger's message stands.
            found = self._find_marked(obj, marker_field, marker)
            if found is not None:
                return found
            raise
        if not isinstance(result, Mapping) or not result.get("key"):
            raise PermanentLedgerError(f"Intacct created a {obj} without answering its key")
        return text(result["key"])

    def _find_marked(self, obj: str, field: str, marker: str) -> str | None:
        found = keys(self.query(obj, ["key"], [{"$contains": {field: marker}}], order_by=[{"key": "asc"}]))
        return found[0] if found else None
