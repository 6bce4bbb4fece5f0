"""A local Sage Intacct REST API (v1) for tests: one HTTP server on 127.0.0.1 that behaves like the real
API on the wire (LEDGER_APIS.md Part C, checklist D3), so `IntacctLedger` runs against it
unmodified.

What it reproduces:

* OAuth 2.0 at `/ia/api/v1/oauth2/token` (JSON or form bodies): client credentials (with `username`),
  authorization code (`issue_code`), refresh token (rotated on every use: the old one dies). Access tokens
  are JWTs with `expires_in`; `invalid_grant` / `invalid_client` OAuth errors; 401 on an unknown,
  expired or revoked access token (gateway error form).
* Objects under `/objects/<app>/<object>`: list = references only with `ia::meta` paging; GET = the full
  object; POST = 201 with `{key, id, href}`; PATCH = partial update (state read-only); DELETE = 204;
  PATCH on a payment = 405. AR customer, invoice, payment, payment-detail, advance, adjustment; company-
  config attachment; Order Entry `document::Sales Quote`; cash-management `bank-txn`.
* Server-side arithmetic: `totalTxnAmountDue`, `paymentInformation` and `state` (posted ->
  partiallyPaid -> paid) as payment details apply; over-application is a 422; the invoice `reverse`
  workflow makes the invoice `reversed` plus a `reversal` record, and refuses invoices with payments.
* Amounts as decimal strings both ways (a JSON number for an amount is a 400 unless
  `faults.strict_decimal_strings` is off); dates as YYYY-MM-DD; audit times ISO UTC with `Z`.
* The query service `POST /services/core/query`: filters (all documented operators), `filterExpression`
  with and/or/parentheses, `filterParameters.caseSensitiveComparison`, `orderBy`, `start`/`size` (<= 4000)
  paging, flat dotted-key rows and `ia::meta` with totalCount/start/pageSize/next/previous.
* `ia::error` bodies (nested under `ia::result` by default, top level with `faults.error_at_top_level`),
  409 on a duplicate id, 422 on business rules, 404, 405, 429 `GW-0010` with `Retry-After` (fault, or
  more requests in flight than `faults.concurrency_limit`).
* The idempotency header (name configurable, since the real one is unconfirmed): `replay` returns the
  first response without writing again, `conflict` answers 409, `ignore` pretends the header does not
  exist. `writes` counts the writes actually applied per idempotency key.
* Webhook deliveries (`send_webhook`): a Platform Services trigger POST with `Authorization: Bearer <JWT>`
  signed by an emulator key (RS256; HS256 with `webhook_secret`) and `X-Trusted-Context`, retried on
  408/429/5xx at compressed delays with one delivery idempotency key.

* The browser leg of the authorization-code flow: `GET /ia/api/v1/oauth2/authorize` consents at once and
  redirects to `redirect_uri` with a code and the state (`issue_code` skips the browser).

Fault switches (`faults`, an `IntacctFaults`): the kit's vocabulary (429 storms and the periodic plan,
500s, lost write answers, slow responses, stale access tokens), each in Intacct's wire form (a 429 `GW-0010`
with `Retry-After`, a 500 `GW-0001`), plus what only Intacct does: the concurrency cap, refused refreshes,
`ia::error` at the top level, the idempotency-key semantics, strict decimal strings.
Assumptions where the real API is unconfirmed are written here from LEDGER_APIS.md Part E #16-23, not
taken from the adapter: this emulator imports nothing of it, so a wrong path or header there is caught.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import functools
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from tests.emulators.kit import Faults, ServedEmulator, count_answers

PREFIX = "/ia/api/v1"
CENT = Decimal("0.01")

CUSTOMER = "accounts-receivable/customer"
INVOICE = "accounts-receivable/invoice"
PAYMENT = "accounts-receivable/payment"
PAYMENT_DETAIL = "accounts-receivable/payment-detail"
ADVANCE = "accounts-receivable/advance"
ADJUSTMENT = "accounts-receivable/adjustment"
ATTACHMENT = "company-config/attachment"
QUOTE = "order-entry/document::Sales Quote"
BANK_TXN = "cash-management/bank-txn"
OBJECTS = (CUSTOMER, INVOICE, PAYMENT, PAYMENT_DETAIL, ADVANCE, ADJUSTMENT, ATTACHMENT, QUOTE, BANK_TXN)
ENTITY_OBJECTS = {"Customer": CUSTOMER, "Invoice": INVOICE, "Payment": PAYMENT, "CreditNote": ADJUSTMENT,
                  "Estimate": QUOTE, "BankLine": BANK_TXN}

PAYMENT_METHODS = {"printedCheck", "creditCard", "eft", "cash", "onlineChargeCard", "onlineAchDebit"}
OPEN_STATES = {"posted", "partiallyPaid", "selected"}
WEBHOOK_RETRY_STATUSES = {0, 408, 429, 500, 502, 503, 504}
MAX_QUERY_SIZE = 4000
REVERSE_INVOICE = "/workflows/accounts-receivable/invoice/reverse"
QUERY = "/services/core/query"


@dataclass
class IntacctFaults(Faults):
    """The kit's faults (429 GW-0010, 500 GW-0001, lost write answers, slow calls, stale tokens) and the
    switches only Intacct has."""

    retry_after: float | None = 7.0  # seconds in Retry-After on every 429 (None: no header)
    concurrency_limit: int | None = 2  # more requests in flight than this answer 429 (None: no cap)
    reject_refresh: bool = False  # refresh_token grants answer invalid_grant
    error_at_top_level: bool = False  # ia::error at the top level instead of under ia::result
    idempotency: str = "replay"  # "replay" | "conflict" | "ignore": how a reused idempotency key is met
    strict_decimal_strings: bool = True  # a JSON number for an amount is a 400


@dataclass
class RecordedRequest:
    method: str
    path: str  # below the base URL, e.g. "/services/core/query"
    headers: dict[str, str]  # lower-case names
    body: Any
    params: dict[str, str]
    status: int = 0


@dataclass
class WebhookDelivery:
    url: str
    body: bytes
    headers: dict[str, str]
    statuses: list[int] = field(default_factory=list)


class WireError(Exception):
    def __init__(self, status: int, code: str, message: str, *, error_id: str = "", target: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_id = error_id
        self.target = target
        self.headers = dict(headers or {})


def _invalid(message: str, target: str | None = None) -> WireError:
    return WireError(400, "invalidRequest", message, error_id="REST-1064", target=target)


def _rule(message: str, target: str | None = None) -> WireError:
    return WireError(422, "businessRuleViolation", message, error_id="REST-1104", target=target)


def _server_error() -> WireError:
    return WireError(500, "GW-0001", "Internal error, please try again later", error_id="GW-0001")


@functools.lru_cache(maxsize=1)
def _rsa_key() -> rsa.RSAPrivateKey:
    # One key per test session: generating RSA keys is the slowest thing this emulator would do.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pick(record: Any, path: str) -> Any:
    if isinstance(record, Mapping) and path in record:
        return record[path]
    value = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for name, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(name), dict):
            _merge(target[name], value)
        else:
            target[name] = copy.deepcopy(value)


def _fmt(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _coerce(value: Any) -> Any:
    """How the query service compares a value: decimal strings and numbers numerically, the rest as text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    text = str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Decimal(text)
    return text


class IntacctEmulator(ServedEmulator):
    """The emulator. `with IntacctEmulator() as emulator:` serves it on `emulator.base_url`."""

    def __init__(
        self,
        *,
        company_id: str = "ACME",
        client_id: str = "duecourse-client",
        client_secret: str = "duecourse-secret",
        token_lifetime: int = 3600,
        idempotency_header: str = "Idempotency-Key",
        webhook_secret: str | None = None,
        webhook_idempotency_header: str = "Idempotency-Key",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.company_id = company_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.idempotency_header = idempotency_header
        self.webhook_secret = webhook_secret
        self.webhook_idempotency_header = webhook_idempotency_header
        self.clock = clock or (lambda: datetime.now(UTC))
        self.faults = IntacctFaults()
        self.writes: Counter[str] = Counter()  # writes applied, per idempotency key
        self.unkeyed_writes: list[str] = []  # writes that came without the idempotency header
        self.requests: list[RecordedRequest] = []
        self.token_grants: list[str] = []  # grant types the token endpoint honoured, in order
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.objects: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._idempotent: dict[str, tuple[int, Any]] = {}
        self._access_tokens: dict[str, float] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._codes: dict[str, str] = {}
        self._token_secret = uuid.uuid4().hex
        self._next_key = 100
        self._counters: Counter[str] = Counter()
        self._in_flight = 0
        self._lock = threading.RLock()
        app = self._build_app()
        count_answers(app, self.faults, PREFIX + "/")
        super().__init__(app, "intacct-emulator")

    @property
    def base_url(self) -> str:
        return f"{self.root_url}{PREFIX}"

    # --- test helpers ----------------------------------------------------------------------------------

    def now_iso(self) -> str:
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _key(self) -> str:
        # One record-number sequence for every object, as Intacct's AR transactions share one.
        self._next_key += 1
        return str(self._next_key)

    def _audit(self) -> dict[str, Any]:
        now = self.now_iso()
        return {"createdDateTime": now, "modifiedDateTime": now, "createdBy": "1", "modifiedBy": "1"}

    def _touch(self, record: dict[str, Any]) -> None:
        record.setdefault("audit", {})["modifiedDateTime"] = self.now_iso()

    def seed(self, obj: str, record: Mapping[str, Any]) -> str:
        """Store a recorded-shape payload as is (the `ia::result` of a GET); returns its key."""
        with self._lock:
            stored = copy.deepcopy(dict(record))
            key = str(stored.get("key") or self._key())
            stored["key"] = key
            stored.setdefault("id", key)
            stored.setdefault("href", f"/objects/{obj}/{key}")
            if key.isdigit():
                self._next_key = max(self._next_key, int(key))
            self.objects[obj][key] = stored
            return key

    def add_customer(self, name: str, *, email: str | None = None,
                     mailing_address: Mapping[str, Any] | None = None, currency: str = "USD") -> str:
        """A customer as someone enters it in Intacct, its default contact's mailing address as given (None:
        the emulator's default, a country and nothing else); returns its key."""
        contact: dict[str, Any] = {"email1": email, "companyName": name}
        if mailing_address is not None:
            contact["mailingAddress"] = dict(mailing_address)
        with self._lock:
            record = self._create_customer({"name": name, "currency": currency, "contacts": {"default": contact}})
            self.objects[CUSTOMER][record["key"]] = record
            return str(record["key"])

    def add_invoice(self, customer_key: str, amount: str, *, state: str = "posted",
                    invoice_date: str = "2026-03-01", due_date: str = "2026-03-31") -> str:
        """An AR invoice of one line entered in Intacct's screens, saved as a draft (`state="draft"`) or posted;
        returns its key."""
        body = {"customer": {"key": customer_key}, "invoiceDate": invoice_date, "dueDate": due_date,
                "state": state, "lines": [{"glAccount": {"id": "4000"}, "txnAmount": amount, "memo": "Services"}]}
        with self._lock:
            record = self._create_invoice(body)
            self.objects[INVOICE][record["key"]] = record
            self._customer_total(customer_key)
            return str(record["key"])

    def post_invoice(self, key: str) -> None:
        """Someone posts a draft invoice in Intacct: it becomes `posted` (and is modified now)."""
        with self._lock:
            invoice = self.objects[INVOICE][key]
            if invoice.get("state") != "draft":
                raise ValueError(f"invoice {key} is {invoice.get('state')}, not a draft")
            invoice["state"] = "posted"
            self._touch(invoice)
            self._customer_total(str(pick(invoice, "customer.key")))

    def add_quote(self, customer_key: str, lines: list[tuple[str, str, str]], *, state: str = "pending",
                  document_date: str = "2026-03-01", currency: str = "USD") -> str:
        """A Sales Quote document; `lines` are (memo, quantity, price) as decimal strings."""
        with self._lock:
            customer = self._resolve(CUSTOMER, {"key": customer_key}, "customer")
            key = self._key()
            self._counters["quote"] += 1
            wire_lines = []
            total = Decimal("0")
            for position, (memo, quantity, price) in enumerate(lines, start=1):
                amount = (Decimal(quantity) * Decimal(price)).quantize(CENT)
                total += amount
                wire_lines.append({"key": self._key(), "lineNumber": position, "memo": memo, "quantity": quantity,
                                   "price": price, "txnAmount": _fmt(amount), "item": {"id": "SERVICES"}})
            self.objects[QUOTE][key] = {
                "key": key, "id": f"Sales Quote-Q{self._counters['quote']:04d}",
                "documentNumber": f"Q{self._counters['quote']:04d}", "documentDate": document_date, "state": state,
                "customer": self._ref(CUSTOMER, customer), "currency": {"txnCurrency": currency},
                "totalTxnAmount": _fmt(total), "lines": wire_lines, "audit": self._audit(),
                "href": f"/objects/{QUOTE}/{key}",
            }
            return key

    def add_bank_txn(self, amount: str, payee: str, *, posting_date: str = "2026-03-02", reference: str = "",
                     state: str = "unmatched", currency: str = "USD") -> str:
        """A bank-feed transaction; a positive amount is a deposit."""
        with self._lock:
            key = self._key()
            self.objects[BANK_TXN][key] = {
                "key": key, "id": key, "postingDate": posting_date, "amount": amount, "currency": currency,
                "transactionType": "deposit" if Decimal(amount) > 0 else "withdrawal", "payee": payee,
                "description": f"{payee} {reference}".strip(), "documentNumber": reference, "state": state,
                "financialEntity": {"id": "BOA-CHK"}, "audit": self._audit(), "href": f"/objects/{BANK_TXN}/{key}",
            }
            return key

    def issue_code(self, username: str | None = None) -> str:
        """An authorization code, as the browser leg of the authorization-code flow would return."""
        code = uuid.uuid4().hex
        self._codes[code] = username or f"admin@{self.company_id}"
        return code

    def issue_tokens(self, username: str | None = None) -> dict[str, Any]:
        """A token response, as if a person had just connected (for tests that seed a token store)."""
        with self._lock:
            return self._grant(username or f"admin@{self.company_id}")

    def revoke_access_tokens(self) -> None:
        with self._lock:
            self._access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh_tokens.clear()

    def live_refresh_tokens(self) -> set[str]:
        with self._lock:
            return set(self._refresh_tokens)

    def writes_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- OAuth -------------------------------------------------------------------------------------------

    def _grant(self, username: str) -> dict[str, Any]:
        now = time.time()
        access = jwt.encode({"iss": "intacct-emulator", "sub": username, "companyId": self.company_id,
                             "iat": int(now), "exp": int(now + self.token_lifetime), "jti": uuid.uuid4().hex},
                            self._token_secret, algorithm="HS256")
        refresh = uuid.uuid4().hex + uuid.uuid4().hex
        self._access_tokens[access] = now + self.token_lifetime
        self._refresh_tokens[refresh] = username
        return {"token_type": "Bearer", "access_token": access, "refresh_token": refresh,
                "expires_in": self.token_lifetime}

    def _token(self, content_type: str, raw: bytes) -> tuple[int, Any]:
        if "json" in content_type:
            try:
                form = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                return 400, {"error": "invalid_request", "error_description": "body is not JSON"}
        else:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        if not isinstance(form, dict):
            return 400, {"error": "invalid_request", "error_description": "body must be an object"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
        grant = form.get("grant_type")
        with self._lock:
            if grant == "client_credentials":
                username = str(form.get("username") or "")
                if not username:
                    return 400, {"error": "invalid_request", "error_description": "GW-0036 username is required"}
                company = username.partition("@")[2].partition("|")[0]
                if company != self.company_id:
                    return 400, {"error": "invalid_grant",
                                 "error_description": f"user {username} is not in company {self.company_id}"}
                self.token_grants.append(grant)
                return 200, self._grant(username)
            if grant == "authorization_code":
                username = self._codes.pop(str(form.get("code")), "")
                if not username:
                    return 400, {"error": "invalid_grant", "error_description": "authorization code is invalid"}
                self.token_grants.append(grant)
                return 200, self._grant(username)
            if grant == "refresh_token":
                token = str(form.get("refresh_token"))
                if self.faults.reject_refresh or token not in self._refresh_tokens:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "refresh token is invalid, expired or already used"}
                username = self._refresh_tokens.pop(token)  # rotation: a refresh token works once
                self.token_grants.append(grant)
                return 200, self._grant(username)
        return 400, {"error": "unsupported_grant_type", "error_description": f"grant_type {grant!r}"}

    def _authorize(self, params: Mapping[str, str]) -> Response:
        """The browser leg: the person signs in and picks the company at once; back to the app with a code."""
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return Response("unknown client or response_type", status_code=400)
        redirect = params.get("redirect_uri") or ""
        if not redirect.startswith(("http://", "https://")):
            return Response("redirect_uri is required", status_code=400)
        query = urllib.parse.urlencode({"code": self.issue_code(), "state": params.get("state", "")})
        return RedirectResponse(f"{redirect}?{query}", status_code=302)

    def _check_token(self, authorization: str | None) -> None:
        if self.faults.stale_tokens:
            self.faults.stale_tokens = False
            self._access_tokens.clear()
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise WireError(401, "GW-0034", "Authorization header is missing or malformed", error_id="GW-0034")
        expiry = self._access_tokens.get(token)
        if expiry is None or expiry < time.time():
            raise WireError(401, "tokenInvalid", "The access token is invalid or has expired", error_id="REST-2102")

    # --- the app -------------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post(PREFIX + "/oauth2/token")
        async def token(request: Request) -> Response:
            status, payload = self._token(request.headers.get("content-type", ""), await request.body())
            return Response(json.dumps(payload), status_code=status, media_type="application/json")

        @app.get(PREFIX + "/oauth2/authorize")
        async def authorize(request: Request) -> Response:
            return self._authorize(request.query_params)

        @app.api_route(PREFIX + "/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        async def api(request: Request, path: str) -> Response:
            return await self._dispatch(request, "/" + path)

        return app

    def _error_body(self, error: WireError) -> dict[str, Any]:
        detail: dict[str, Any] = {"code": error.code, "message": error.message, "supportId": uuid.uuid4().hex[:12],
                                  "errorId": error.error_id or error.code}
        if error.target:
            detail["details"] = [{"code": error.code, "message": error.message, "errorId": detail["errorId"],
                                  "target": error.target}]
        meta = {"totalCount": 1, "totalSuccess": 0, "totalError": 1}
        if error.status == 401:
            return {"error": {"code": error.code, "errorId": detail["errorId"], "message": error.message}}
        if self.faults.error_at_top_level:
            return {"ia::error": detail, "ia::meta": meta}
        return {"ia::result": {"ia::error": detail}, "ia::meta": meta}

    async def _dispatch(self, request: Request, path: str) -> Response:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        recorded = RecordedRequest(method=request.method, path=path, headers=headers, body=None,
                                   params=dict(request.query_params))
        with self._lock:
            self.requests.append(recorded)
            self._in_flight += 1
            crowded = self.faults.concurrency_limit is not None and self._in_flight > self.faults.concurrency_limit
        try:
            if self.faults.slow_seconds:
                await asyncio.sleep(self.faults.slow_seconds)
            try:
                if raw:
                    try:
                        recorded.body = json.loads(raw, parse_float=Decimal)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise _invalid("The request body is not valid JSON") from None
                status, payload, extra = self._handle(request.method, path, headers, recorded.body,
                                                      recorded.params, crowded)
            except WireError as error:
                status, payload, extra = error.status, self._error_body(error), error.headers
        finally:
            with self._lock:
                self._in_flight -= 1
        recorded.status = status
        if status == 204 or payload is None:
            return Response(status_code=status, headers=extra)
        return Response(json.dumps(payload, default=_json_default), status_code=status, headers=extra,
                        media_type="application/json")

    def _handle(self, method: str, path: str, headers: Mapping[str, str], body: Any, params: Mapping[str, str],
                crowded: bool) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            fault = self.faults.admit()
            if crowded or fault == "rate_limited":
                retry_after = self.faults.retry_after
                raise WireError(429, "GW-0010", "Rate limit exceeded: too many concurrent requests for this company",
                                error_id="GW-0010",
                                headers={} if retry_after is None else {"Retry-After": f"{retry_after:g}"})
            if fault == "server_error":
                raise _server_error()
            self._check_token(headers.get("authorization"))
            is_write = method in ("PATCH", "PUT", "DELETE") or (method == "POST" and not path.startswith("/services/"))
            key = headers.get(self.idempotency_header.lower()) if is_write else None
            if key and self.faults.idempotency != "ignore" and key in self._idempotent:
                if self.faults.idempotency == "conflict":
                    raise WireError(409, "conflict", f"The idempotency key {key!r} was already used",
                                    error_id="REST-1070")
                status, payload = self._idempotent[key]
                return status, copy.deepcopy(payload), {"Idempotent-Replayed": "true"}
            status, payload = self._route(method, path, body, params)
            if is_write and 200 <= status < 300:
                if key:
                    self.writes[key] += 1
                    if self.faults.idempotency != "ignore":
                        self._idempotent[key] = (status, copy.deepcopy(payload))
                else:
                    self.unkeyed_writes.append(f"{method} {path}")
                if self.faults.lose_write():
                    raise _server_error()  # applied, and then the answer got lost
            return status, payload, {}

    def _route(self, method: str, path: str, body: Any, params: Mapping[str, str]) -> tuple[int, Any]:
        if path == QUERY and method == "POST":
            return 200, self._query(body)
        if path == REVERSE_INVOICE and method == "POST":
            return 200, self._reverse_invoice(body)
        match = re.fullmatch(r"/objects/([^/]+)/([^/]+)(?:/([^/]+))?", path)
        if match is None:
            raise WireError(404, "notFound", f"No resource at {path}", error_id="REST-1001")
        obj = f"{match.group(1)}/{match.group(2)}"
        key = match.group(3)
        if obj not in OBJECTS:
            raise WireError(404, "notFound", f"Unknown object {obj}", error_id="REST-1001")
        if key is None:
            if method == "GET":
                return 200, self._list(obj, params)
            if method == "POST":
                if not isinstance(body, dict):
                    raise _invalid("The request body must be a JSON object")
                return 201, self._create(obj, body)
            raise WireError(405, "methodNotAllowed", f"{method} is not allowed on {obj}", error_id="REST-1005")
        record = self.objects[obj].get(key)
        if method == "PATCH" and obj == PAYMENT:
            raise WireError(405, "methodNotAllowed", "Payments cannot be updated; reverse and re-create them",
                            error_id="REST-1005")
        if record is None:
            raise WireError(404, "notFound", f"{obj} with key {key} was not found", error_id="REST-1028")
        if method == "GET":
            return 200, {"ia::result": copy.deepcopy(record), "ia::meta": {"totalCount": 1, "totalSuccess": 1,
                                                                          "totalError": 0}}
        if method == "PATCH":
            if not isinstance(body, dict):
                raise _invalid("The request body must be a JSON object")
            self._patch(obj, record, body)
            return 200, self._reference(obj, record)
        if method == "DELETE":
            self._delete(obj, record)
            return 204, None
        raise WireError(405, "methodNotAllowed", f"{method} is not allowed on {obj}/{{key}}", error_id="REST-1005")

    # --- objects -------------------------------------------------------------------------------------------

    def _reference(self, obj: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return {"ia::result": {"key": record["key"], "id": record.get("id"), "href": f"/objects/{obj}/{record['key']}"},
                "ia::meta": {"totalCount": 1, "totalSuccess": 1, "totalError": 0}}

    def _ref(self, obj: str, record: Mapping[str, Any]) -> dict[str, Any]:
        ref = {"key": record["key"], "id": record.get("id"), "href": f"/objects/{obj}/{record['key']}"}
        if "name" in record:
            ref["name"] = record["name"]
        return ref

    def _resolve(self, obj: str, ref: Any, target: str) -> dict[str, Any]:
        if not isinstance(ref, Mapping) or not (ref.get("key") or ref.get("id")):
            raise _invalid(f"{target} is required", target)
        if ref.get("key"):
            found = self.objects[obj].get(str(ref["key"]))
        else:
            found = next((r for r in self.objects[obj].values() if r.get("id") == ref["id"]), None)
        if found is None:
            raise _invalid(f"Invalid {target}: {ref.get('key') or ref.get('id')} does not exist", target)
        return found

    def _amount(self, value: Any, target: str) -> Decimal:
        if isinstance(value, bool) or value is None:
            raise _invalid(f"{target} is required", target)
        if not isinstance(value, str) and self.faults.strict_decimal_strings:
            raise _invalid(f"{target} must be a decimal string such as \"300.00\", not {value!r}", target)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise _invalid(f"{target} {value!r} is not a decimal number", target) from None
        if not amount.is_finite() or amount != amount.quantize(CENT):
            raise _invalid(f"{target} {value!r} must have at most two decimal places", target)
        return amount

    @staticmethod
    def _date(value: Any, target: str) -> date:
        if not value:
            raise _invalid(f"{target} is required", target)
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise _invalid(f"{target} {value!r} is not a date in YYYY-MM-DD format", target) from None

    def _list(self, obj: str, params: Mapping[str, str]) -> dict[str, Any]:
        start = int(params.get("start", 1))
        size = min(int(params.get("size", 100)), MAX_QUERY_SIZE)
        records = sorted(self.objects[obj].values(), key=lambda r: int(r["key"]) if str(r["key"]).isdigit() else 0)
        page = records[start - 1:start - 1 + size]
        refs = [{"key": r["key"], "id": r.get("id"), "href": f"/objects/{obj}/{r['key']}"} for r in page]
        return {"ia::result": refs, "ia::meta": self._page_meta(len(records), start, size)}

    @staticmethod
    def _page_meta(total: int, start: int, size: int) -> dict[str, Any]:
        return {"totalCount": total, "start": start, "pageSize": size,
                "next": start + size if start - 1 + size < total else None,
                "previous": max(1, start - size) if start > 1 else None}

    def _create(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        creators: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            CUSTOMER: self._create_customer, INVOICE: self._create_invoice, PAYMENT: self._create_payment,
            ADVANCE: self._create_advance, ADJUSTMENT: self._create_adjustment, ATTACHMENT: self._create_attachment,
        }
        creator = creators.get(obj)
        if creator is None:
            raise WireError(405, "methodNotAllowed", f"{obj} cannot be created through this emulator",
                            error_id="REST-1005")
        record = creator(body)
        self.objects[obj][record["key"]] = record
        if obj == INVOICE:
            self._customer_total(str(pick(record, "customer.key")))
        return self._reference(obj, record)

    def _create_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "").strip()
        if not name:
            raise _invalid("name is required", "name")
        customer_id = body.get("id")
        if customer_id and any(c.get("id") == customer_id for c in self.objects[CUSTOMER].values()):
            raise WireError(409, "duplicate", f"A customer with ID {customer_id} already exists",
                            error_id="REST-1030", target="id")
        self._counters["customer"] += 1
        key = self._key()
        contact = copy.deepcopy((body.get("contacts") or {}).get("default") or {})
        contact.setdefault("id", f"{name}(C{key})")
        contact.setdefault("mailingAddress", {"country": "United States"})
        return {
            "key": key, "id": customer_id or f"C-{1000 + self._counters['customer']}", "name": name,
            "status": body.get("status") or "active", "currency": body.get("currency") or "USD",
            "term": body.get("term") or {"id": None}, "creditLimit": body.get("creditLimit"), "isOnHold": False,
            "totalDue": "0.00", "contacts": {"default": contact}, "notes": body.get("notes"),
            "attachment": {"key": None, "id": None}, "audit": self._audit(),
            "entity": {"key": None, "id": None, "name": None}, "href": f"/objects/{CUSTOMER}/{key}",
        }

    def _customer_total(self, customer_key: str) -> None:
        customer = self.objects[CUSTOMER].get(customer_key)
        if customer is None:
            return
        due = sum((Decimal(i["totalTxnAmountDue"]) for i in self.objects[INVOICE].values()
                   if pick(i, "customer.key") == customer_key and i.get("state") in OPEN_STATES), Decimal("0"))
        customer["totalDue"] = _fmt(due)

    def _create_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = self._resolve(CUSTOMER, body.get("customer"), "customer")
        invoice_date = self._date(body.get("invoiceDate"), "invoiceDate")
        term = body.get("term") or customer.get("term") or {}
        if body.get("dueDate"):
            due_date = self._date(body["dueDate"], "dueDate")
        elif term.get("id") and re.search(r"\d+", str(term["id"])):
            due_date = invoice_date + timedelta(days=int(re.search(r"\d+", str(term["id"])).group()))  # type: ignore[union-attr]
        else:
            raise _invalid("dueDate or term is required", "dueDate")
        if due_date < invoice_date:
            raise _rule("The due date cannot be before the invoice date", "dueDate")
        lines = body.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _invalid("lines is required: an invoice needs at least one line", "lines")
        wire_lines: list[dict[str, Any]] = []
        total = Decimal("0")
        for position, line in enumerate(lines, start=1):
            if not isinstance(line, Mapping) or not isinstance(line.get("glAccount"), Mapping):
                raise _invalid(f"lines[{position}].glAccount is required", f"lines[{position}].glAccount")
            amount = self._amount(line.get("txnAmount"), f"lines[{position}].txnAmount")
            total += amount
            dimensions: dict[str, Any] = copy.deepcopy(dict(line.get("dimensions") or {}))
            dimensions.setdefault("customer", {"id": customer.get("id")})
            wire_lines.append({"key": self._key(), "lineNumber": position, "glAccount": dict(line["glAccount"]),
                               "txnAmount": _fmt(amount), "memo": line.get("memo"), "dimensions": dimensions})
        number = body.get("invoiceNumber")
        if number and any(i.get("invoiceNumber") == number for i in self.objects[INVOICE].values()):
            raise WireError(409, "duplicate", f"Invoice number {number} is already used", error_id="REST-1030",
                            target="invoiceNumber")
        self._counters["invoice"] += 1
        key = self._key()
        currency = pick(body, "currency.txnCurrency") or customer.get("currency") or "USD"
        state = "draft" if body.get("state") == "draft" else "posted"
        record = {
            "key": key, "id": key, "invoiceNumber": number or f"INV-{self._counters['invoice']:05d}", "state": state,
            "invoiceDate": invoice_date.isoformat(), "dueDate": due_date.isoformat(),
            "dueInDays": (due_date - invoice_date).days, "referenceNumber": body.get("referenceNumber"),
            "description": body.get("description"), "customer": self._ref(CUSTOMER, customer),
            "term": {"id": term.get("id")},
            "currency": {"baseCurrency": currency, "txnCurrency": currency,
                         "exchangeRate": {"date": invoice_date.isoformat(), "rate": 1, "typeId": None}},
            "totalBaseAmount": _fmt(total), "totalBaseAmountDue": _fmt(total),
            "totalTxnAmount": _fmt(total), "totalTxnAmountDue": _fmt(total),
            "paymentInformation": {"fullyPaidDate": None, "totalBaseAmountPaid": "0.00", "totalTxnAmountPaid": "0.00"},
            "lines": wire_lines, "attachment": {"key": None, "id": None}, "audit": self._audit(),
            "webURL": f"https://www.intacct.com/ia/acct/ur.phtml?.r={key}", "href": f"/objects/{INVOICE}/{key}",
        }
        return record

    def _deposit_target(self, body: Mapping[str, Any]) -> None:
        bank = pick(body, "financialEntity.entityId") or pick(body, "financialEntity.id")
        undeposited = pick(body, "undepositedGLAccount.id") or pick(body, "undepositedGLAccount.key")
        if bool(bank) == bool(undeposited):
            raise _invalid("Provide exactly one of financialEntity or undepositedGLAccount", "financialEntity")

    def _receipt(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], date]:
        customer = self._resolve(CUSTOMER, body.get("customer"), "customer")
        method = body.get("paymentMethod")
        if method not in PAYMENT_METHODS:
            raise _invalid(f"paymentMethod must be one of {', '.join(sorted(PAYMENT_METHODS))}", "paymentMethod")
        self._deposit_target(body)
        received = self._date(pick(body, "paymentSummary.receiptDate"), "paymentSummary.receiptDate")
        return customer, received

    def _create_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        customer, received = self._receipt(body)
        details = body.get("paymentDetails")
        if not isinstance(details, list) or not details:
            raise _invalid("paymentDetails is required: apply the payment to at least one invoice", "paymentDetails")
        currency = pick(body, "txnCurrency.currency") or customer.get("currency") or "USD"
        per_invoice: dict[str, Decimal] = {}
        for position, detail in enumerate(details, start=1):
            target = f"paymentDetails[{position}]"
            invoice = self._resolve(INVOICE, pick(detail, "arInvoice"), f"{target}.arInvoice")
            if pick(invoice, "customer.key") != customer["key"]:
                raise _rule(f"Invoice {invoice['invoiceNumber']} belongs to another customer", target)
            if invoice.get("state") not in OPEN_STATES:
                raise _rule(f"Invoice {invoice['invoiceNumber']} is {invoice.get('state')} and cannot be paid", target)
            if pick(invoice, "currency.txnCurrency") != currency:
                raise _rule(f"Invoice {invoice['invoiceNumber']} is in {pick(invoice, 'currency.txnCurrency')}, "
                            f"the payment in {currency}", target)
            amount = self._amount(pick(detail, "txnCurrency.paymentAmount"), f"{target}.txnCurrency.paymentAmount")
            if amount <= 0:
                raise _invalid(f"{target}.txnCurrency.paymentAmount must be positive", target)
            per_invoice[invoice["key"]] = per_invoice.get(invoice["key"], Decimal("0")) + amount
        for invoice_key, amount in per_invoice.items():
            invoice = self.objects[INVOICE][invoice_key]
            due = Decimal(invoice["totalTxnAmountDue"])
            if amount > due:
                raise _rule(f"The payment amount {_fmt(amount)} exceeds the amount due {_fmt(due)} "
                            f"on invoice {invoice['invoiceNumber']}", "paymentDetails")
        key = self._key()
        total = sum(per_invoice.values(), Decimal("0"))
        wire_details = []
        for invoice_key, amount in per_invoice.items():
            invoice = self.objects[INVOICE][invoice_key]
            due = Decimal(invoice["totalTxnAmountDue"]) - amount
            paid = Decimal(invoice["totalTxnAmount"]) - due
            invoice["totalTxnAmountDue"] = invoice["totalBaseAmountDue"] = _fmt(due)
            invoice["paymentInformation"].update(totalTxnAmountPaid=_fmt(paid), totalBaseAmountPaid=_fmt(paid),
                                                 fullyPaidDate=received.isoformat() if due == 0 else None)
            invoice["state"] = "paid" if due == 0 else "partiallyPaid"
            self._touch(invoice)
            detail_key = self._key()
            detail = {"key": detail_key, "id": detail_key,
                      "arPayment": {"key": key, "id": key, "href": f"/objects/{PAYMENT}/{key}"},
                      "arInvoice": {"key": invoice_key, "id": invoice_key, "href": f"/objects/{INVOICE}/{invoice_key}"},
                      "txnCurrency": {"paymentAmount": _fmt(amount), "currency": currency},
                      "baseCurrency": {"paymentAmount": _fmt(amount)}, "paymentDate": received.isoformat(),
                      "audit": self._audit(), "href": f"/objects/{PAYMENT_DETAIL}/{detail_key}"}
            self.objects[PAYMENT_DETAIL][detail_key] = detail
            wire_details.append(copy.deepcopy(detail))
        self._customer_total(customer["key"])
        return {
            "key": key, "id": key, "state": "complete", "recordType": "rp", "paymentMethod": body["paymentMethod"],
            "customer": self._ref(CUSTOMER, customer), "documentNumber": body.get("documentNumber"),
            "description": body.get("description"), "paymentSummary": {"receiptDate": received.isoformat()},
            "paidDate": received.isoformat(), "financialEntity": copy.deepcopy(body.get("financialEntity")),
            "undepositedGLAccount": copy.deepcopy(body.get("undepositedGLAccount")),
            "txnCurrency": {"currency": currency, "totalAmount": _fmt(total), "totalSelected": "0.00",
                            "totalPaid": _fmt(total), "totalDue": "0.00"},
            "paymentDetails": wire_details, "attachment": {"key": None, "id": None}, "audit": self._audit(),
            "href": f"/objects/{PAYMENT}/{key}",
        }

    def _create_advance(self, body: dict[str, Any]) -> dict[str, Any]:
        customer, received = self._receipt(body)
        lines = body.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _invalid("lines is required", "lines")
        total = Decimal("0")
        wire_lines = []
        for position, line in enumerate(lines, start=1):
            if not isinstance(line, Mapping) or not isinstance(line.get("glAccount"), Mapping):
                raise _invalid(f"lines[{position}].glAccount is required", f"lines[{position}].glAccount")
            amount = self._amount(line.get("txnAmount"), f"lines[{position}].txnAmount")
            if amount <= 0:
                raise _invalid(f"lines[{position}].txnAmount must be positive", f"lines[{position}].txnAmount")
            total += amount
            wire_lines.append({"key": self._key(), "glAccount": dict(line["glAccount"]), "txnAmount": _fmt(amount)})
        key = self._key()
        currency = pick(body, "txnCurrency.currency") or customer.get("currency") or "USD"
        return {
            "key": key, "id": key, "state": "complete", "recordType": "rr", "paymentMethod": body["paymentMethod"],
            "customer": self._ref(CUSTOMER, customer), "documentNumber": body.get("documentNumber"),
            "description": body.get("description"), "paymentSummary": {"receiptDate": received.isoformat()},
            "txnCurrency": {"currency": currency, "totalAmount": _fmt(total), "totalPaid": "0.00",
                            "totalDue": _fmt(total)},
            "lines": wire_lines, "audit": self._audit(), "href": f"/objects/{ADVANCE}/{key}",
        }

    def _create_adjustment(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = self._resolve(CUSTOMER, body.get("customer"), "customer")
        created = self._date(body.get("createdDate"), "createdDate")
        lines = body.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _invalid("lines is required", "lines")
        currency = pick(body, "txnCurrency.currency") or customer.get("currency") or "USD"
        total = Decimal("0")
        wire_lines = []
        for position, line in enumerate(lines, start=1):
            if not isinstance(line, Mapping) or not isinstance(line.get("glAccount"), Mapping):
                raise _invalid(f"lines[{position}].glAccount is required", f"lines[{position}].glAccount")
            amount = self._amount(pick(line, "txnCurrency.amount"), f"lines[{position}].txnCurrency.amount")
            total += amount
            wire_lines.append({"key": self._key(), "glAccount": dict(line["glAccount"]), "memo": line.get("memo"),
                               "txnCurrency": {"amount": _fmt(amount), "currency": currency},
                               "adjustmentType": "ra"})
        self._counters["adjustment"] += 1
        key = self._key()
        return {
            "key": key, "id": key, "txnType": "ra",
            "adjustmentNumber": body.get("adjustmentNumber") or f"ADJ-{self._counters['adjustment']:05d}",
            "state": "posted", "customer": self._ref(CUSTOMER, customer),
            "documentNumber": body.get("documentNumber"), "description": body.get("description"),
            "createdDate": created.isoformat(),
            "txnCurrency": {"currency": currency, "totalEntered": _fmt(total), "totalSelected": "0.00",
                            "totalPaid": "0.00", "totalDue": _fmt(total)},
            "baseCurrency": {"currency": currency, "totalAmountEntered": _fmt(total), "totalDue": _fmt(total)},
            "lines": wire_lines, "attachment": {"key": None, "id": None}, "audit": self._audit(),
            "href": f"/objects/{ADJUSTMENT}/{key}",
        }

    def _files(self, files: Any) -> list[dict[str, Any]]:
        if not isinstance(files, list):
            raise _invalid("files must be a list", "files")
        stored = []
        for position, item in enumerate(files, start=1):
            if not isinstance(item, Mapping) or not item.get("name") or not isinstance(item.get("data"), str):
                raise _invalid(f"files[{position}] needs a name and base64 data", f"files[{position}]")
            try:
                base64.b64decode(item["data"], validate=True)
            except (binascii.Error, ValueError):
                raise _invalid(f"files[{position}].data is not base64", f"files[{position}].data") from None
            stored.append({"key": self._key(), "name": item["name"], "data": item["data"]})
        return stored

    def _create_attachment(self, body: dict[str, Any]) -> dict[str, Any]:
        attachment_id = str(body.get("id") or "").strip()
        if not attachment_id:
            raise _invalid("id is required", "id")
        if any(a.get("id") == attachment_id for a in self.objects[ATTACHMENT].values()):
            raise WireError(409, "duplicate", f"An attachment with ID {attachment_id} already exists",
                            error_id="REST-1030", target="id")
        key = self._key()
        return {"key": key, "id": attachment_id, "name": body.get("name") or attachment_id,
                "description": body.get("description"), "folder": copy.deepcopy(body.get("folder")),
                "files": self._files(body.get("files") or []), "audit": self._audit(),
                "href": f"/objects/{ATTACHMENT}/{key}"}

    def _patch(self, obj: str, record: dict[str, Any], body: dict[str, Any]) -> None:
        patch = {k: v for k, v in body.items() if k not in ("key", "id", "href", "audit")}
        if obj == INVOICE:
            if "state" in patch:
                raise _invalid("state is read-only; use the invoice workflow actions", "state")
            if "lines" in patch or any(k.startswith("total") for k in patch):
                raise _invalid("lines and totals of a posted invoice cannot be patched here", "lines")
        if "attachment" in patch:
            attachment = self._resolve(ATTACHMENT, patch["attachment"], "attachment")
            patch["attachment"] = {"key": attachment["key"], "id": attachment["id"],
                                   "href": f"/objects/{ATTACHMENT}/{attachment['key']}"}
        if obj == ATTACHMENT and "files" in patch:
            record["files"] = list(record.get("files") or []) + self._files(patch.pop("files"))
        _merge(record, patch)
        self._touch(record)

    def _delete(self, obj: str, record: dict[str, Any]) -> None:
        if obj == INVOICE and Decimal(pick(record, "paymentInformation.totalTxnAmountPaid") or "0") > 0:
            raise _rule("An invoice with payments applied cannot be deleted")
        if obj == CUSTOMER and any(pick(i, "customer.key") == record["key"] for i in self.objects[INVOICE].values()):
            raise _rule("A customer with transactions cannot be deleted")
        if obj == PAYMENT and record.get("state") != "draft":
            raise _rule("Only draft payments can be deleted; reverse a posted payment")
        del self.objects[obj][record["key"]]

    def _reverse_invoice(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping) or not body.get("key"):
            raise _invalid("key is required", "key")
        invoice = self.objects[INVOICE].get(str(body["key"]))
        if invoice is None:
            raise WireError(404, "notFound", f"{INVOICE} with key {body['key']} was not found", error_id="REST-1028")
        if invoice.get("state") in ("reversed", "reversal"):
            raise _rule(f"Invoice {invoice['invoiceNumber']} is already {invoice['state']}")
        if Decimal(pick(invoice, "paymentInformation.totalTxnAmountPaid") or "0") > 0:
            raise _rule(f"Invoice {invoice['invoiceNumber']} has payments applied; reverse the payments first")
        reversed_on = self._date(body.get("reversedDate"), "reversedDate")
        if reversed_on < date.fromisoformat(invoice["invoiceDate"]):
            raise _rule("The reversal date cannot be before the invoice date", "reversedDate")
        reversal = copy.deepcopy(invoice)
        reversal_key = self._key()
        total = Decimal(invoice["totalTxnAmount"])
        reversal.update(key=reversal_key, id=reversal_key, state="reversal", invoiceDate=reversed_on.isoformat(),
                        invoiceNumber=f"{invoice['invoiceNumber']}-R", description=body.get("memo"),
                        totalTxnAmount=_fmt(-total), totalBaseAmount=_fmt(-total), totalTxnAmountDue="0.00",
                        totalBaseAmountDue="0.00", audit=self._audit(), href=f"/objects/{INVOICE}/{reversal_key}")
        for line in reversal["lines"]:
            line["key"] = self._key()
            line["txnAmount"] = _fmt(-Decimal(line["txnAmount"]))
        self.objects[INVOICE][reversal_key] = reversal
        invoice.update(state="reversed", totalTxnAmountDue="0.00", totalBaseAmountDue="0.00")
        self._touch(invoice)
        self._customer_total(str(pick(invoice, "customer.key")))
        result = {**self._reference(INVOICE, invoice)["ia::result"], "state": "reversed"}
        return {"ia::result": result, "ia::meta": {"totalCount": 1, "totalSuccess": 1, "totalError": 0}}

    # --- query service ---------------------------------------------------------------------------------------

    def _query(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _invalid("The query body must be a JSON object")
        obj = body.get("object")
        if obj not in OBJECTS:
            raise _invalid(f"Unknown object {obj!r} in query", "object")
        fields = body.get("fields")
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
            raise _invalid("fields must be a non-empty list of field names", "fields")
        start, size = body.get("start", 1), body.get("size", 100)
        if not isinstance(start, int) or start < 1:
            raise _invalid("start must be an integer of at least 1", "start")
        if not isinstance(size, int) or not 1 <= size <= MAX_QUERY_SIZE:
            raise _invalid(f"size must be an integer from 1 to {MAX_QUERY_SIZE}", "size")
        filters = body.get("filters") or []
        if not isinstance(filters, list):
            raise _invalid("filters must be a list", "filters")
        parameters = body.get("filterParameters") or {}
        case_sensitive = bool(parameters.get("caseSensitiveComparison", True))
        checks = [self._filter(f, position, case_sensitive) for position, f in enumerate(filters, start=1)]
        expression = body.get("filterExpression")
        combine = self._expression(str(expression), len(checks)) if expression else (
            lambda results: all(results))
        matched = [r for r in self.objects[obj].values() if combine([check(r) for check in checks])]
        order = body.get("orderBy") or []
        if not isinstance(order, list):
            raise _invalid("orderBy must be a list", "orderBy")
        for item in reversed(order):
            if not isinstance(item, Mapping) or len(item) != 1:
                raise _invalid("each orderBy entry names one field", "orderBy")
            (name, direction), = item.items()
            if direction not in ("asc", "desc"):
                raise _invalid(f"orderBy direction must be asc or desc, got {direction!r}", "orderBy")
            matched.sort(key=self._sort_key(str(name)), reverse=direction == "desc")
        page = matched[start - 1:start - 1 + size]
        rows = [{name: copy.deepcopy(pick(record, name)) for name in fields} for record in page]
        return {"ia::result": rows, "ia::meta": self._page_meta(len(matched), start, size)}

    def _sort_key(self, name: str) -> Callable[[Mapping[str, Any]], Any]:
        def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
            return self._compare_for_sort(pick(a, name), pick(b, name))
        return functools.cmp_to_key(compare)

    @staticmethod
    def _compare_for_sort(a: Any, b: Any) -> int:
        left, right = _coerce(a), _coerce(b)
        if left is None or right is None:
            return (left is not None) - (right is not None)
        if type(left) is not type(right):
            left, right = str(left), str(right)
        return (left > right) - (left < right)

    def _filter(self, item: Any, position: int, case_sensitive: bool) -> Callable[[Mapping[str, Any]], bool]:
        if not isinstance(item, Mapping) or len(item) != 1:
            raise _invalid(f"filter {position} must hold exactly one operator", "filters")
        (operator, operand), = item.items()
        if not isinstance(operand, Mapping) or len(operand) != 1:
            raise _invalid(f"filter {position}: {operator} takes one field and its value", "filters")
        (name, expected), = operand.items()

        def norm(value: Any) -> Any:
            value = _coerce(value)
            return value.lower() if isinstance(value, str) and not case_sensitive else value

        def ordered(op: Callable[[Any, Any], bool]) -> Callable[[Mapping[str, Any]], bool]:
            def check(record: Mapping[str, Any]) -> bool:
                left, right = norm(pick(record, name)), norm(expected)
                if left is None or right is None:
                    return False
                if type(left) is not type(right):
                    left, right = str(left), str(right)
                return op(left, right)
            return check

        def text(op: Callable[[str, str], bool]) -> Callable[[Mapping[str, Any]], bool]:
            def check(record: Mapping[str, Any]) -> bool:
                value = pick(record, name)
                if value is None:
                    return False
                left, right = str(value), str(expected)
                if not case_sensitive:
                    left, right = left.lower(), right.lower()
                return op(left, right)
            return check

        def listed(negate: bool) -> Callable[[Mapping[str, Any]], bool]:
            if not isinstance(expected, list):
                raise _invalid(f"filter {position}: {operator} takes a list", "filters")
            options = [norm(v) for v in expected]
            return lambda record: (norm(pick(record, name)) in options) != negate

        def between(negate: bool) -> Callable[[Mapping[str, Any]], bool]:
            if not isinstance(expected, list) or len(expected) != 2:
                raise _invalid(f"filter {position}: {operator} takes two values", "filters")
            low, high = norm(expected[0]), norm(expected[1])
            return lambda record: self._between(norm(pick(record, name)), low, high) != negate

        operators: dict[str, Callable[[], Callable[[Mapping[str, Any]], bool]]] = {
            "$eq": lambda: (lambda record: norm(pick(record, name)) == norm(expected)),
            "$ne": lambda: (lambda record: norm(pick(record, name)) != norm(expected)),
            "$lt": lambda: ordered(lambda a, b: a < b),
            "$lte": lambda: ordered(lambda a, b: a <= b),
            "$gt": lambda: ordered(lambda a, b: a > b),
            "$gte": lambda: ordered(lambda a, b: a >= b),
            "$in": lambda: listed(False),
            "$notIn": lambda: listed(True),
            "$between": lambda: between(False),
            "$notBetween": lambda: between(True),
            "$contains": lambda: text(lambda a, b: b in a),
            "$notContains": lambda: text(lambda a, b: b not in a),
            "$startsWith": lambda: text(lambda a, b: a.startswith(b)),
            "$notStartsWith": lambda: text(lambda a, b: not a.startswith(b)),
            "$endsWith": lambda: text(lambda a, b: a.endswith(b)),
            "$notEndsWith": lambda: text(lambda a, b: not a.endswith(b)),
            "$has": lambda: (lambda record: norm(expected) in [norm(v) for v in (pick(record, name) or [])]),
        }
        if operator not in operators:
            raise _invalid(f"filter {position}: unknown operator {operator!r}", "filters")
        return operators[operator]()

    @staticmethod
    def _between(value: Any, low: Any, high: Any) -> bool:
        if value is None or low is None or high is None:
            return False
        if not (type(value) is type(low) is type(high)):
            value, low, high = str(value), str(low), str(high)
        return bool(low <= value <= high)

    @staticmethod
    def _expression(expression: str, count: int) -> Callable[[list[bool]], bool]:
        tokens = re.findall(r"\d+|and|or|\(|\)|\S+", expression.lower())
        position = 0

        def parse_or() -> Callable[[list[bool]], bool]:
            nonlocal position
            left = parse_and()
            while position < len(tokens) and tokens[position] == "or":
                position += 1
                right = parse_and()
                left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
            return left

        def parse_and() -> Callable[[list[bool]], bool]:
            nonlocal position
            left = parse_atom()
            while position < len(tokens) and tokens[position] == "and":
                position += 1
                right = parse_atom()
                left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
            return left

        def parse_atom() -> Callable[[list[bool]], bool]:
            nonlocal position
            if position >= len(tokens):
                raise _invalid(f"filterExpression {expression!r} ends too early", "filterExpression")
            token = tokens[position]
            position += 1
            if token == "(":
                inner = parse_or()
                if position >= len(tokens) or tokens[position] != ")":
                    raise _invalid(f"filterExpression {expression!r} misses a ')'", "filterExpression")
                position += 1
                return inner
            if token.isdigit() and 1 <= int(token) <= count:
                index = int(token) - 1
                return lambda results: results[index]
            raise _invalid(f"filterExpression {expression!r}: {token!r} is not a filter number 1..{count}",
                           "filterExpression")

        combined = parse_or()
        if position != len(tokens):
            raise _invalid(f"filterExpression {expression!r} has trailing text", "filterExpression")
        return combined

    # --- webhooks -----------------------------------------------------------------------------------------------

    @property
    def webhook_public_key_pem(self) -> str:
        return _rsa_key().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    @property
    def webhook_verification_key(self) -> str:
        """What the receiver verifies with: the shared secret (HS256) or the public key (RS256)."""
        return self.webhook_secret or self.webhook_public_key_pem

    def webhook_token(self, *, lifetime: int = 300, company_id: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": "https://api.intacct.com", "aud": self.client_id, "iat": now, "exp": now + lifetime,
                  "jti": uuid.uuid4().hex, "companyId": company_id or self.company_id}
        if self.webhook_secret:
            return jwt.encode(claims, self.webhook_secret, algorithm="HS256")
        private = _rsa_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        return jwt.encode(claims, private, algorithm="RS256")

    def webhook_body(self, entity: str, key: str, operation: str) -> bytes:
        obj = ENTITY_OBJECTS.get(entity, entity)
        with self._lock:
            record = self.objects[obj].get(key) or {}
            timestamp = pick(record, "audit.modifiedDateTime") or self.now_iso()
        payload = {"object": obj, "event": operation, "key": key, "id": record.get("id", key),
                   "companyId": self.company_id, "timestamp": timestamp}
        return json.dumps(payload).encode()

    def send_webhook(self, url: str, entity: str, key: str, operation: str, *,
                     retry_delays: tuple[float, ...] = (0.01, 0.03, 0.09)) -> list[int]:
        """Deliver one trigger event to `url` as Sage would: up to 4 attempts (at +10 s, +30 s, +90 s in real
        life, compressed here) while the receiver answers 408/429/5xx, with the same delivery idempotency key.
        `entity` is ours ("Invoice") or an Intacct object name. Returns the status of each attempt (0: no
        answer)."""
        body = self.webhook_body(entity, key, operation)
        context = base64.b64encode(json.dumps({"clientId": self.client_id, "companyId": self.company_id,
                                               "entityId": None}).encode()).decode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.webhook_token()}",
                   "X-Trusted-Context": context, self.webhook_idempotency_header: uuid.uuid4().hex}
        delivery = WebhookDelivery(url=url, body=body, headers=headers)
        with httpx.Client(timeout=5) as client:
            for delay in (0.0, *retry_delays):
                if delay:
                    time.sleep(delay)
                try:
                    status = client.post(url, content=body, headers=headers).status_code
                except httpx.HTTPError:
                    status = 0
                delivery.statuses.append(status)
                if status not in WEBHOOK_RETRY_STATUSES:
                    break
        self.webhook_deliveries.append(delivery)
        return delivery.statuses

