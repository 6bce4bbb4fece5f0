"""A local Xero for tests: identity, the Accounting API 2.0 and webhooks, as they behave on the wire.

`XeroEmulator` serves one FastAPI app (`kit.ServedApp`: 127.0.0.1, a free port) that answers
like the real services described in shared/LEDGER_APIS.md Part B and checklist D2:

* identity: `/identity/connect/authorize` (consents at once and redirects with a code), `/connect/token`
  (authorization_code with Basic auth or PKCE, refresh_token with the client in the form body as
  xero-python sends it, client_credentials), refresh tokens that rotate on every use with a grace period
  for the previous one, `/connect/revocation`, `/connections`;
* accounting under `/api.xro/2.0`: Bearer token and `xero-tenant-id` required (401 / 403 problem bodies
  otherwise), plural envelopes, `/Date(ms+0000)/` dates with their `*String` companions, money as JSON
  numbers with two decimals, PUT creates and POST creates or updates (partial merge), Xero's status rules
  (payments only on AUTHORISED invoices, PAID computed, VOIDED only without payments or credits, DELETED
  only from DRAFT/SUBMITTED), `summarizeErrors`, 400 `ValidationException` bodies with `Elements`, the
  `where` / `order` / `page` / `pageSize` query language, `If-Modified-Since`, `Idempotency-Key` replay,
  per-tenant minute / day / concurrency limits and the per-app minute limit with the `X-*Limit-Remaining`
  headers, 429 with `Retry-After` and `X-Rate-Limit-Problem`;
* webhooks: `send_webhook(url)` posts the changes since the last delivery in the B7 payload, signed with
  `x-xero-signature`; `intent_to_receive(url)` runs Xero's check (a signed and a badly signed empty batch).

Faults are `kit.Faults` switches in Xero's wire form (a 429 with Retry-After and X-Rate-Limit-Problem, a 500
UnknownErrorException body, a lost answer as that same 500 after the write was applied), plus Xero's own in
`XeroFaults`. The emulator imports nothing from the adapter: its paths, headers and limits are written here.

Assumptions where the real behaviour is not confirmed (LEDGER_APIS.md Part E) are constructor arguments or
`XeroFaults` switches: the idempotency window (`idempotency_ttl_seconds`, 6 minutes), the page-size cap
(`max_page_size`, 1000), the 429 problem names, the refresh-token grace (`refresh_grace_seconds`). Validation
messages other than those quoted in LEDGER_APIS.md (over-payment, duplicate contact name, void with
payments) are worded by us; adapters must carry the message, never match on it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from tests.emulators.kit import Faults, ServedEmulator, count_answers

log = logging.getLogger("tests.emulators.xero")

API_PREFIX = "/api.xro/2.0"  # LEDGER_APIS.md B2: https://api.xero.com/api.xro/2.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")
UNIT4 = Decimal("0.0001")
DEFAULT_TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
DEFAULT_CLIENT_ID = "duecourse-test-client"
DEFAULT_CLIENT_SECRET = "duecourse-test-secret"
DEFAULT_WEBHOOK_KEY = "duecourse-test-webhook-key"
DEFAULT_SCOPE = ("openid profile email offline_access accounting.transactions accounting.contacts "
                 "accounting.settings.read accounting.reports.read")
TAX_RATES = {"NONE": Decimal("0"), "OUTPUT2": Decimal("0.15"), "INPUT2": Decimal("0.15"), "EXEMPTOUTPUT": Decimal("0")}


# --- the wire format ------------------------------------------------------------------------------------

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")


def ms_date(value: date) -> str:
    """A date as Xero sends it: milliseconds since the epoch at 00:00 UTC."""
    days = (value - date(1970, 1, 1)).days
    return f"/Date({days * 86_400_000}+0000)/"


def ms_datetime(value: datetime) -> str:
    return f"/Date({(value - EPOCH) // timedelta(milliseconds=1)}+0000)/"


def parse_wire_date(value: Any) -> date:
    """A request date: Xero accepts ISO ("2024-06-01", "2024-06-01T00:00:00") and MS ("/Date(ms)/")."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    match = _MS_DATE.match(value.strip())
    if match:
        return (EPOCH + timedelta(milliseconds=int(match.group(1)))).date()
    return datetime.fromisoformat(value.strip()[:19]).date() if "T" in value else date.fromisoformat(value.strip())


def parse_http_time(value: str) -> datetime:
    """`If-Modified-Since` as xero-python sends it (ISO, offset optional: UTC) or as an HTTP date."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = parsedate_to_datetime(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def encode(value: Any) -> str:
    """JSON as Xero writes it: Decimals verbatim (`300.00`), dates in MS form, no nulls in objects."""
    if isinstance(value, dict):
        items = [f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items() if v is not None]
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return json.dumps(ms_datetime(value))
    if isinstance(value, date):
        return json.dumps(ms_date(value))
    if isinstance(value, int | float | str):
        return json.dumps(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _iso_local(value: date) -> str:
    return f"{value.isoformat()}T00:00:00"


# --- the `where` language -------------------------------------------------------------------------------


class QueryError(ValueError):
    pass


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>==|!=|>=|<=|&&|\|\||[<>().,!])'
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryError(f"unexpected character at position {position} of the where clause: {text[position:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class Where:
    """Xero's .NET-LINQ-like filter: ==, !=, <, >, <=, >=, AND/OR/&&/||, NOT/!, parentheses, "strings",
    numbers, true/false/null, DateTime(y,m,d[,h,m,s]), Guid("…"), dotted paths and the string methods
    Contains / StartsWith / EndsWith / ToLower / ToUpper."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tokens = _tokens(text)
        self._at = 0
        self.tree = self._or()
        if self._at != len(self._tokens):
            raise QueryError(f"unexpected {self._tokens[self._at][1]!r} in the where clause")

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise QueryError("the where clause ends too early")
        if value is not None and token[1].upper() != value.upper():
            raise QueryError(f"expected {value!r}, found {token[1]!r}")
        self._at += 1
        return token

    def _is(self, *values: str) -> bool:
        token = self._peek()
        return token is not None and token[0] in ("op", "name") and token[1].upper() in values

    def _or(self) -> Any:
        node = self._and()
        while self._is("OR", "||"):
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._not()
        while self._is("AND", "&&"):
            self._take()
            node = ("and", node, self._not())
        return node

    def _not(self) -> Any:
        if self._is("NOT", "!"):
            self._take()
            return ("not", self._not())
        return self._comparison()

    def _comparison(self) -> Any:
        left = self._operand()
        token = self._peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", ">", "<=", ">="):
            self._take()
            return ("cmp", token[1], left, self._operand())
        return ("truthy", left)

    def _operand(self) -> Any:
        kind, value = self._take()
        if kind == "op" and value == "(":
            inner = self._or()
            self._take(")")
            return ("group", inner)
        if kind == "string":
            return ("lit", json.loads(value))
        if kind == "number":
            return ("lit", Decimal(value))
        if kind != "name":
            raise QueryError(f"unexpected {value!r} in the where clause")
        upper = value.upper()
        if upper in ("TRUE", "FALSE"):
            return ("lit", upper == "TRUE")
        if upper == "NULL":
            return ("lit", None)
        if upper == "DATETIME" and self._is("("):
            args = self._args()
            try:
                numbers = [int(a) for a in args]
                if len(numbers) not in (3, 6):
                    raise ValueError("DateTime takes (y, m, d) or (y, m, d, h, m, s)")
                day = date(numbers[0], numbers[1], numbers[2])
                if len(numbers) == 3:
                    return ("lit", day)
                return ("lit", datetime(day.year, day.month, day.day, numbers[3], numbers[4], numbers[5], tzinfo=UTC))
            except (TypeError, ValueError) as error:
                raise QueryError(f"DateTime{tuple(args)} is not a date: {error}") from None
        if upper == "GUID" and self._is("("):
            args = self._args()
            return ("lit", str(args[0]).lower())
        node: Any = ("path", [value])
        while self._is("."):
            self._take()
            _, name = self._take()
            if self._is("("):
                node = ("call", node, name.upper(), self._args())
            elif node[0] == "path":
                node = ("path", [*node[1], name])
            else:
                raise QueryError(f"cannot read {name!r} of a method result")
        return node

    def _args(self) -> list[Any]:
        self._take("(")
        args: list[Any] = []
        while not self._is(")"):
            kind, value = self._take()
            if kind == "string":
                args.append(json.loads(value))
            elif kind == "number":
                args.append(Decimal(value))
            else:
                raise QueryError(f"unexpected argument {value!r}")
            if self._is(","):
                self._take()
        self._take(")")
        return args

    def matches(self, record: dict[str, Any]) -> bool:
        return bool(self._eval(self.tree, record))

    def _eval(self, node: Any, record: dict[str, Any]) -> Any:
        kind = node[0]
        if kind == "or":
            return self._eval(node[1], record) or self._eval(node[2], record)
        if kind == "and":
            return self._eval(node[1], record) and self._eval(node[2], record)
        if kind == "not":
            return not self._eval(node[1], record)
        if kind == "group":
            return self._eval(node[1], record)
        if kind == "truthy":
            return bool(self._eval(node[1], record))
        if kind == "lit":
            return node[1]
        if kind == "path":
            return lookup(record, node[1])
        if kind == "call":
            target = self._eval(node[1], record)
            args = node[3]
            if target is None:
                return None if node[2] in ("TOLOWER", "TOUPPER") else False
            text = str(target)
            if node[2] == "CONTAINS":
                return str(args[0]) in text
            if node[2] == "STARTSWITH":
                return text.startswith(str(args[0]))
            if node[2] == "ENDSWITH":
                return text.endswith(str(args[0]))
            if node[2] == "TOLOWER":
                return text.lower()
            if node[2] == "TOUPPER":
                return text.upper()
            raise QueryError(f"unknown method {node[2]}")
        if kind == "cmp":
            return compare(node[1], self._eval(node[2], record), self._eval(node[3], record))
        raise QueryError(f"cannot evaluate {kind}")


def lookup(record: Any, path: list[str]) -> Any:
    value = record
    for name in path:
        if not isinstance(value, dict):
            return None
        found = next((k for k in value if k.lower() == name.lower()), None)
        value = value.get(found) if found is not None else None
    return value


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, datetime) and not isinstance(right, datetime) and isinstance(right, date):
        return left.date(), right
    if isinstance(right, datetime) and not isinstance(left, datetime) and isinstance(left, date):
        return left, right.date()
    if isinstance(left, int | Decimal) and isinstance(right, int | Decimal) and not isinstance(left, bool):
        return Decimal(left), Decimal(right)
    if isinstance(left, str) and isinstance(right, str) and _GUID.match(left) and _GUID.match(right):
        return left.lower(), right.lower()
    return left, right


_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def compare(op: str, left: Any, right: Any) -> bool:
    left, right = _comparable(left, right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError:
        raise QueryError(f"cannot compare {left!r} with {right!r}") from None


def order_by(records: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """`order=DueDate ASC, InvoiceNumber DESC`: stable sorts from the last key to the first; nulls last."""
    keys = [part.split() for part in order.split(",") if part.strip()]
    result = list(records)
    for key in reversed(keys):
        name, direction = key[0], (key[1].upper() if len(key) > 1 else "ASC")
        if direction not in ("ASC", "DESC"):
            raise QueryError(f"order direction must be ASC or DESC, not {direction!r}")
        path = name.split(".")
        present = [r for r in result if lookup(r, path) is not None]
        missing = [r for r in result if lookup(r, path) is None]
        present.sort(key=lambda r: _comparable(lookup(r, path), lookup(r, path))[0], reverse=direction == "DESC")
        result = present + missing
    return result


# --- errors the handlers raise --------------------------------------------------------------------------


class Invalid(Exception):
    """A validation error on one element: becomes a 400 ValidationException (or a per-element error with
    summarizeErrors=false)."""


class HttpError(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"Type": None, "Title": title, "Status": status, "Detail": detail, "Instance": str(uuid.uuid4()),
            "Extensions": {}}


def _exception(number: int, kind: str, message: str) -> dict[str, Any]:
    return {"ErrorNumber": number, "Type": kind, "Message": message}


# --- one organisation's books ---------------------------------------------------------------------------


def _new_books() -> dict[str, Any]:
    return {
        "contacts": {}, "invoices": {}, "payments": {}, "batch_payments": {}, "quotes": {}, "credit_notes": {},
        "bank_transactions": {}, "overpayments": {}, "history": {}, "emails": [], "events": [],
        "numbers": Counter(),
    }


@dataclass
class Org:
    tenant_id: str
    name: str
    base_currency: str
    country_code: str
    currencies: set[str]
    books: dict[str, Any] = field(default_factory=_new_books)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    timezone: str = "EASTERNSTANDARDTIME"  # Xero's organisation time zones are Windows zone ids

    def __post_init__(self) -> None:
        if not self.accounts:
            self.accounts = [
                {"AccountID": str(uuid.uuid4()), "Code": "090", "Name": "Business Bank Account", "Type": "BANK",
                 "Status": "ACTIVE", "TaxType": "NONE", "EnablePaymentsToAccount": False,
                 "CurrencyCode": self.base_currency},
                {"AccountID": str(uuid.uuid4()), "Code": "091", "Name": "Business Savings Account", "Type": "BANK",
                 "Status": "ACTIVE", "TaxType": "NONE", "EnablePaymentsToAccount": False,
                 "CurrencyCode": self.base_currency},
                {"AccountID": str(uuid.uuid4()), "Code": "200", "Name": "Sales", "Type": "REVENUE",
                 "Status": "ACTIVE", "TaxType": "OUTPUT2", "EnablePaymentsToAccount": False},
                {"AccountID": str(uuid.uuid4()), "Code": "260", "Name": "Other Revenue", "Type": "REVENUE",
                 "Status": "ACTIVE", "TaxType": "OUTPUT2", "EnablePaymentsToAccount": False},
                {"AccountID": str(uuid.uuid4()), "Code": "270", "Name": "Interest Income", "Type": "REVENUE",
                 "Status": "ACTIVE", "TaxType": "NONE", "EnablePaymentsToAccount": False},
                {"AccountID": str(uuid.uuid4()), "Code": "610", "Name": "Accounts Receivable", "Type": "CURRENT",
                 "Status": "ACTIVE", "TaxType": "NONE", "EnablePaymentsToAccount": False},
            ]

    def __getattr__(self, name: str) -> Any:
        books = self.__dict__.get("books")
        if books is not None and name in books:
            return books[name]
        raise AttributeError(name)

    def account(self, element: Any) -> dict[str, Any]:
        if not isinstance(element, dict):
            raise Invalid("An account (Code or AccountID) must be specified")
        code, account_id = element.get("Code"), element.get("AccountID")
        for account in self.accounts:
            if (code and account["Code"] == code) or (account_id and account["AccountID"] == str(account_id).lower()):
                return account
        raise Invalid(f"Account code '{code or account_id}' is not a valid code for this document.")

    def account_by_code(self, code: str) -> dict[str, Any]:
        return self.account({"Code": code})

    def next_number(self, prefix: str) -> str:
        self.numbers[prefix] += 1
        return f"{prefix}-{self.numbers[prefix]:04d}"


# --- the switches a test flips ---------------------------------------------------------------------------


@dataclass
class XeroFaults(Faults):
    """The kit's faults, plus what only Xero does: which limit a 429 names, the status and body of a server
    error, and outages of the token endpoint."""

    rate_limit_problem: str = "minute"  # X-Rate-Limit-Problem on `rate_limited` 429s (seen: minute, day)
    server_error_status: int = 500  # the status `server_errors` answer with
    server_error_body: str | None = None  # raw text instead of the JSON error body (proxies, gateways)
    token_errors: int = 0  # the next N /connect/token requests answer 500


def _unknown_error() -> dict[str, Any]:
    """Xero's own 500 body."""
    return _exception(0, "UnknownErrorException", "An error occurred in Xero. Check the API Status page "
                      "http://status.developer.xero.com for current service status.")


@dataclass
class Grant:
    """What one consent gave one client: tenants, scope and the current refresh token."""

    client_id: str
    tenants: list[str]
    scope: str
    refresh_token: str
    retired: dict[str, float] = field(default_factory=dict)  # rotated-out refresh token -> when
    revoked: bool = False  # disconnected: neither its refresh token nor its access tokens work
    refreshable: bool = True  # client_credentials grants have no refresh token
    connection_ids: dict[str, str] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Call:
    method: str
    parts: list[str]
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    def q(self, name: str) -> str | None:
        return self.query.get(name.lower())

    def flag(self, name: str) -> bool:
        return (self.q(name) or "").lower() == "true"

    @property
    def unitdp4(self) -> bool:
        return self.q("unitdp") == "4"


WRITE_METHODS = ("PUT", "POST", "PATCH", "DELETE")
ENTITY_COLLECTIONS = {
    "contacts": ("contacts", "ContactID"), "invoices": ("invoices", "InvoiceID"), "payments": ("payments", "PaymentID"),
    "batchpayments": ("batch_payments", "BatchPaymentID"), "quotes": ("quotes", "QuoteID"),
    "creditnotes": ("credit_notes", "CreditNoteID"), "banktransactions": ("bank_transactions", "BankTransactionID"),
    "overpayments": ("overpayments", "OverpaymentID"),
}


def _dec(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise Invalid(f"{what} {value!r} is not a number")
    return number


def _date(value: Any, what: str) -> date:
    try:
        return parse_wire_date(value)
    except (ValueError, TypeError):
        raise Invalid(f"{what} {value!r} is not a valid date") from None


class XeroEmulator(ServedEmulator):
    """A local Xero (identity + accounting + webhooks). Use as a context manager, or `start()` / `close()`."""

    def __init__(
        self,
        tenant_id: str = DEFAULT_TENANT,
        *,
        tenant_name: str = "Demo Company (US)",
        base_currency: str = "USD",
        country_code: str = "US",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        webhook_key: str = DEFAULT_WEBHOOK_KEY,
        access_token_seconds: int = 1800,
        refresh_grace_seconds: float = 1800,
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        app_minute_limit: int = 10_000,
        idempotency_ttl_seconds: float = 360,
        max_page_size: int = 1000,
        default_page_size: int = 100,
        email_daily_cap: int = 1000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_key = webhook_key
        self.access_token_seconds = access_token_seconds
        self.refresh_grace_seconds = refresh_grace_seconds
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.concurrent_limit = concurrent_limit
        self.app_minute_limit = app_minute_limit
        self.idempotency_ttl_seconds = idempotency_ttl_seconds
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.email_daily_cap = email_daily_cap
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last_stamp = EPOCH
        self.faults = XeroFaults()
        self.orgs: dict[str, Org] = {}
        self.add_tenant(tenant_id, tenant_name, base_currency=base_currency, country_code=country_code)
        self.clients: dict[str, str] = {client_id: client_secret}
        self.grants: dict[str, Grant] = {}
        self._refresh_index: dict[str, str] = {}  # refresh token (current or retired) -> grant id
        self._access: dict[str, tuple[str, float]] = {}  # access token -> (grant id, expires at)
        self._codes: dict[str, dict[str, Any]] = {}
        # What tests assert on.
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, identity included
        self.writes: Counter[str] = Counter()  # writes actually applied, per Idempotency-Key
        self.unkeyed_writes = 0
        self.replays: Counter[str] = Counter()
        self.idempotency_mismatches = 0
        self.token_requests: list[dict[str, str]] = []
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.last_intent_seconds: float | None = None
        self._idempotency: dict[tuple[str, str], tuple[float, int, str | None, str, str]] = {}
        self._minute: dict[str, deque[float]] = {}
        self._day: dict[str, deque[float]] = {}
        self._app_minute: deque[float] = deque()
        self._in_flight: Counter[str] = Counter()
        self._sequence = 0
        self._lock = threading.RLock()
        super().__init__(self._app(), "xero-emulator")

    @property
    def base_url(self) -> str:
        return self.root_url

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def identity_base(self) -> str:
        return self.base_url

    def add_tenant(self, tenant_id: str, name: str, *, base_currency: str = "USD", country_code: str = "US") -> Org:
        org = Org(tenant_id=tenant_id, name=name, base_currency=base_currency, country_code=country_code,
                  currencies={base_currency, "USD", "NZD", "AUD", "EUR", "GBP", "CAD"})
        self.orgs[tenant_id] = org
        return org

    def now(self) -> datetime:
        """The emulator's clock, strictly increasing by at least a millisecond per call (UpdatedDateUTC)."""
        with self._lock:
            stamp = self.clock().astimezone(UTC)
            stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
            if stamp <= self._last_stamp:
                stamp = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = stamp
            return stamp

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    # --- identity ------------------------------------------------------------------------------------

    def issue_tokens(self, tenants: list[str] | None = None, scope: str = DEFAULT_SCOPE,
                     client_id: str | None = None) -> dict[str, Any]:
        """A token response as /connect/token gives after a completed consent (tests skip the browser)."""
        with self._lock:
            grant_id = uuid.uuid4().hex
            grant = Grant(client_id=client_id or self.client_id, tenants=list(tenants or [self.tenant_id]),
                          scope=scope, refresh_token=secrets.token_hex(32))
            grant.connection_ids = {t: str(uuid.uuid4()) for t in grant.tenants}
            self.grants[grant_id] = grant
            self._refresh_index[grant.refresh_token] = grant_id
            return self._token_response(grant_id, with_refresh="offline_access" in scope.split())

    def _token_response(self, grant_id: str, with_refresh: bool = True) -> dict[str, Any]:
        grant = self.grants[grant_id]
        access = "eyJ" + secrets.token_urlsafe(40)
        self._access[access] = (grant_id, time.time() + self.access_token_seconds)
        response: dict[str, Any] = {"id_token": "eyJ" + secrets.token_urlsafe(24), "access_token": access,
                                    "expires_in": self.access_token_seconds, "token_type": "Bearer",
                                    "scope": grant.scope}
        if with_refresh:
            response["refresh_token"] = grant.refresh_token
        return response

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = {token: (grant, 0.0) for token, (grant, _) in self._access.items()}

    def revoke_refresh_tokens(self) -> None:
        """As if the user disconnected the app: every refresh token now answers invalid_grant."""
        with self._lock:
            for grant in self.grants.values():
                grant.revoked = True

    def _client_from(self, request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                return client_id, secret
            except (ValueError, UnicodeDecodeError):
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def _token(self, request: Request, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(dict(form))
        if self.faults.token_errors > 0:
            self.faults.token_errors -= 1
            return 500, {"error": "server_error"}
        grant_type = form.get("grant_type")
        client_id, secret = self._client_from(request, form)
        if grant_type == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            if code is None or code["expires"] < time.time():
                return 400, {"error": "invalid_grant"}
            if code["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}
            if code.get("challenge"):
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != code["challenge"]:
                    return 400, {"error": "invalid_grant"}
            if client_id != code["client_id"]:
                return 400, {"error": "invalid_client"}
            # A PKCE (public) client may leave the secret out; a secret that is sent must be right.
            if (secret is not None or not code.get("challenge")) and self.clients.get(client_id or "") != secret:
                return 400, {"error": "invalid_client"}
            grant = Grant(client_id=code["client_id"], tenants=list(self.orgs), scope=code["scope"],
                          refresh_token=secrets.token_hex(32))
            grant.connection_ids = {t: str(uuid.uuid4()) for t in grant.tenants}
            grant_id = uuid.uuid4().hex
            self.grants[grant_id] = grant
            self._refresh_index[grant.refresh_token] = grant_id
            return 200, self._token_response(grant_id, with_refresh="offline_access" in grant.scope.split())
        if client_id not in self.clients or self.clients[client_id] != secret:
            return 400, {"error": "invalid_client"}
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            grant_id = self._refresh_index.get(token, "")
            held = self.grants.get(grant_id)
            if held is None or held.revoked or not held.refreshable or held.client_id != client_id:
                return 400, {"error": "invalid_grant"}
            if token != held.refresh_token:
                retired_at = held.retired.get(token, 0.0)
                if time.time() - retired_at > self.refresh_grace_seconds:
                    return 400, {"error": "invalid_grant"}
            # Rotation: a new refresh token every time; the one used stays valid for the grace period.
            held.retired[held.refresh_token] = time.time()
            held.refresh_token = secrets.token_hex(32)
            self._refresh_index[held.refresh_token] = grant_id
            return 200, self._token_response(grant_id)
        if grant_type == "client_credentials":
            grant = Grant(client_id=client_id or "", tenants=[self.tenant_id], scope=form.get("scope") or DEFAULT_SCOPE,
                          refresh_token=secrets.token_hex(32), refreshable=False)
            grant_id = uuid.uuid4().hex
            self.grants[grant_id] = grant
            return 200, self._token_response(grant_id, with_refresh=False)
        return 400, {"error": "unsupported_grant_type"}

    def _bearer_grant(self, request: Request) -> tuple[str, Grant]:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if self.faults.stale_tokens:
            self.faults.stale_tokens = False
            self.expire_access_tokens()
        found = self._access.get(token)
        unauthorised = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        if found is None:
            raise HttpError(401, _problem(401, "Unauthorized", "AuthenticationUnsuccessful"), unauthorised)
        grant_id, expires = found
        if expires < time.time():
            stamp = datetime.fromtimestamp(expires, UTC).strftime("%m/%d/%Y %H:%M:%S")
            raise HttpError(401, _problem(401, "Unauthorized", f"TokenExpired: token expired at {stamp}"), unauthorised)
        grant = self.grants[grant_id]
        if grant.revoked:
            raise HttpError(401, _problem(401, "Unauthorized", "AuthenticationUnsuccessful"), unauthorised)
        return grant_id, grant

    # --- rate limits -------------------------------------------------------------------------------

    def _window(self, store: dict[str, deque[float]], tenant: str, span: float) -> deque[float]:
        window = store.setdefault(tenant, deque())
        now = time.monotonic()
        while window and now - window[0] >= span:
            window.popleft()
        return window

    def _admit(self, tenant: str, fault: str | None) -> None:
        """Rate limits first (before the idempotency cache, as Xero does), then the call is counted. `fault`
        is what the kit's `Faults.admit` armed for this call."""
        now = time.monotonic()
        minute = self._window(self._minute, tenant, 60)
        day = self._window(self._day, tenant, 86_400)
        while self._app_minute and now - self._app_minute[0] >= 60:
            self._app_minute.popleft()
        problem: str | None = None
        retry: float | None = None
        if fault == "rate_limited":
            problem, retry = self.faults.rate_limit_problem, self.faults.retry_after  # None: no Retry-After at all
        elif self._in_flight[tenant] >= self.concurrent_limit:
            problem, retry = "concurrent", 1.0
        elif len(day) >= self.day_limit:
            problem, retry = "day", 86_400 - (now - day[0])
        elif len(minute) >= self.minute_limit:
            problem, retry = "minute", 60 - (now - minute[0])
        elif len(self._app_minute) >= self.app_minute_limit:
            problem, retry = "appminute", 60 - (now - self._app_minute[0])
        if problem is not None:
            headers = {"X-Rate-Limit-Problem": problem}
            if retry is not None:
                headers["Retry-After"] = str(max(1, int(retry + 0.999)))
            raise HttpError(429, _problem(429, "Too Many Requests", f"You've exceeded the per {problem} rate limit"),
                            headers)
        minute.append(now)
        day.append(now)
        self._app_minute.append(now)
        self._in_flight[tenant] += 1

    def _limit_headers(self, tenant: str | None) -> dict[str, str]:
        headers = {"Xero-Correlation-Id": str(uuid.uuid4())}
        if tenant is not None and tenant in self.orgs:
            minute = self._window(self._minute, tenant, 60)
            day = self._window(self._day, tenant, 86_400)
            headers["X-MinLimit-Remaining"] = str(max(0, self.minute_limit - len(minute)))
            headers["X-DayLimit-Remaining"] = str(max(0, self.day_limit - len(day)))
            headers["X-AppMinLimit-Remaining"] = str(max(0, self.app_minute_limit - len(self._app_minute)))
        return headers

    # --- the app -----------------------------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI(title="Xero emulator")

        @app.get("/identity/connect/authorize")
        async def authorize(request: Request) -> Response:
            params = dict(request.query_params)
            with self._lock:
                self.requests.append(("GET", "/identity/connect/authorize"))
                if params.get("client_id") not in self.clients or params.get("response_type") != "code":
                    return Response(content=encode({"error": "unauthorized_client"}), status_code=400,
                                    media_type="application/json")
                code = secrets.token_hex(16)
                self._codes[code] = {"client_id": params["client_id"], "redirect_uri": params.get("redirect_uri"),
                                     "scope": params.get("scope", ""), "expires": time.time() + 300,
                                     "challenge": params.get("code_challenge")}
            query = urlencode({"code": code, "scope": params.get("scope", ""), "state": params.get("state", "")})
            return RedirectResponse(f"{params.get('redirect_uri')}?{query}", status_code=302)

        @app.post("/connect/token")
        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            with self._lock:
                self.requests.append(("POST", "/connect/token"))
                status, body = self._token(request, form)
            return Response(content=encode(body), status_code=status, media_type="application/json",
                            headers={"Cache-Control": "no-store"})

        @app.post("/connect/revocation")
        async def revoke(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            with self._lock:
                self.requests.append(("POST", "/connect/revocation"))
                client_id, secret = self._client_from(request, form)
                if self.clients.get(client_id or "") != secret:
                    return Response(content=encode({"error": "invalid_client"}), status_code=400,
                                    media_type="application/json")
                grant = self.grants.get(self._refresh_index.get(form.get("token", ""), ""))
                if grant is not None:
                    grant.revoked = True
            return Response(status_code=200)

        @app.api_route("/connections", methods=["GET"])
        @app.api_route("/Connections", methods=["GET"])
        async def connections(request: Request) -> Response:
            with self._lock:
                self.requests.append(("GET", "/connections"))
                try:
                    _, grant = self._bearer_grant(request)
                except HttpError as error:
                    return Response(content=encode(error.body), status_code=error.status,
                                    media_type="application/json", headers=error.headers)
                stamp = grant.created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"
                listing = [{"id": grant.connection_ids[t], "authEventId": str(uuid.uuid4()), "tenantId": t,
                            "tenantType": "ORGANISATION", "tenantName": self.orgs[t].name,
                            "createdDateUtc": stamp, "updatedDateUtc": stamp} for t in grant.tenants]
            return Response(content=encode(listing), media_type="application/json")

        @app.delete("/connections/{connection_id}")
        async def disconnect(connection_id: str, request: Request) -> Response:
            with self._lock:
                self.requests.append(("DELETE", "/connections"))
                try:
                    _, grant = self._bearer_grant(request)
                except HttpError as error:
                    return Response(content=encode(error.body), status_code=error.status,
                                    media_type="application/json")
                for tenant, cid in list(grant.connection_ids.items()):
                    if cid == connection_id:
                        grant.tenants.remove(tenant)
                        del grant.connection_ids[tenant]
                        return Response(status_code=204)
            return Response(status_code=404)

        @app.api_route(API_PREFIX + "/{path:path}", methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
        async def accounting(path: str, request: Request) -> Response:
            return await self._accounting(request, path)

        count_answers(app, self.faults, API_PREFIX + "/")
        return app

    async def _accounting(self, request: Request, path: str) -> Response:
        raw = await request.body()
        method = request.method.upper()
        tenant: str | None = None
        admitted = False
        extra: dict[str, str] = {}
        try:
            with self._lock:
                self.requests.append((method, "/" + path))
                _, grant = self._bearer_grant(request)
                tenant = request.headers.get("xero-tenant-id", "").strip().lower() or None
                if tenant is None or tenant not in grant.tenants or tenant not in self.orgs:
                    detail = "AuthorizationUnsuccessful"
                    raise HttpError(403, _problem(403, "Forbidden", detail))
                fault = self.faults.admit()
                self._admit(tenant, fault)
                admitted = True
            if self.faults.slow_seconds:
                await asyncio.sleep(self.faults.slow_seconds)
            with self._lock:
                if fault == "server_error":
                    raise HttpError(self.faults.server_error_status, self.faults.server_error_body or _unknown_error())
                status, payload = self._with_idempotency(request, method, path, raw, self.orgs[tenant])
        except HttpError as error:
            status, payload, extra = error.status, error.body, error.headers
        finally:
            if admitted and tenant is not None:
                with self._lock:
                    self._in_flight[tenant] -= 1
        with self._lock:
            headers = {**self._limit_headers(tenant), **extra}
        if status == 204 or payload is None:
            return Response(status_code=status, headers=headers)
        content = payload if isinstance(payload, str) else encode(payload)
        media = "text/plain" if isinstance(payload, str) and not payload.startswith("{") else "application/json"
        return Response(content=content, status_code=status, media_type=media, headers=headers)

    def _with_idempotency(self, request: Request, method: str, path: str, raw: bytes, org: Org) -> tuple[int, Any]:
        key = request.headers.get("idempotency-key")
        writing = method in WRITE_METHODS
        digest = hashlib.sha256(raw).hexdigest()
        if writing and key:
            if len(key) > 128:
                raise HttpError(400, _exception(10, "ValidationException",
                                                "Idempotency-Key must be 128 characters or fewer"))
            cached = self._idempotency.get((org.tenant_id, key))
            if cached is not None and cached[0] > time.monotonic():
                _, status, replayed, where, body_digest = cached
                if where != f"{method} {path}".lower() or body_digest != digest:
                    # Unconfirmed in Xero's docs: we replay (the lenient choice) and count it for tests.
                    self.idempotency_mismatches += 1
                    log.warning("Idempotency-Key %s reused for a different request; replaying the first", key)
                self.replays[key] += 1
                return status, replayed
        call = Call(method=method, parts=[p for p in path.split("/") if p],
                    query={k.lower(): v for k, v in request.query_params.items()},
                    headers={k.lower(): v for k, v in request.headers.items()}, body=None)
        if raw.strip():
            try:
                call.body = json.loads(raw, parse_float=Decimal)
            except ValueError:
                raise HttpError(400, _exception(14, "PostDataInvalidException",
                                                "The request body is not valid JSON")) from None
        status, payload = self._route(org, call)
        if writing:
            if key:
                self.writes[key] += 1
                if status < 500:
                    text = payload if payload is None or isinstance(payload, str) else encode(payload)
                    self._idempotency[(org.tenant_id, key)] = (
                        time.monotonic() + self.idempotency_ttl_seconds, status, text, f"{method} {path}".lower(),
                        digest)
            else:
                self.unkeyed_writes += 1
            if status < 300 and self.faults.lose_write():
                raise HttpError(500, _unknown_error())  # applied, then the answer is lost
        return status, payload

    # --- routing -----------------------------------------------------------------------------------

    def _route(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        head = parts[0].lower() if parts else ""
        method = call.method
        if head == "organisation" and method == "GET":
            return 200, self._envelope("Organisations", [self._organisation_view(org)])
        if head == "accounts" and method == "GET":
            return 200, self._envelope("Accounts", self._filtered(call, [dict(a) for a in org.accounts])[0])
        if head == "reports" and len(parts) == 2 and parts[1].lower() == "agedreceivablesbycontact":
            return 200, self._aged_receivables(org, call)
        if head not in ENTITY_COLLECTIONS:
            raise HttpError(404, "The resource you're looking for cannot be found")
        if len(parts) >= 3 and parts[2].lower() == "history":
            return self._history(org, call, head, parts[1])
        handler = getattr(self, f"_{head}", None)
        if handler is None:
            raise HttpError(404, "The resource you're looking for cannot be found")
        result: tuple[int, Any] = handler(org, call)
        return result

    def _envelope(self, plural: str, items: list[Any], pagination: dict[str, int] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "duecourse tests",
                                "DateTimeUTC": self.now()}
        if pagination is not None:
            body["pagination"] = pagination
        body[plural] = items
        return body

    def _find(self, org: Org, collection: str, ident: str, *numbers: str) -> dict[str, Any]:
        records: dict[str, dict[str, Any]] = org.books[collection]
        found = records.get(ident.lower())
        if found is None and numbers:
            found = next((r for r in records.values() if any(r.get(n) == ident for n in numbers)), None)
        if found is None:
            raise HttpError(404, "The resource you're looking for cannot be found")
        return found

    def _filtered(self, call: Call, views: list[dict[str, Any]], *, paged: bool = True,
                  fixed_page_size: int | None = None) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        """If-Modified-Since, where and order, then a page when asked: (the records, the pagination block)."""
        pagination: dict[str, int] | None = None
        since = call.headers.get("if-modified-since")
        if since:
            try:
                moment = parse_http_time(since)
            except (ValueError, TypeError):
                raise HttpError(400, _exception(10, "ValidationException",
                                                f"If-Modified-Since {since!r} is not a date")) from None
            views = [v for v in views if v.get("UpdatedDateUTC") is None or v["UpdatedDateUTC"] > moment]
        where = call.q("where")
        if where:
            try:
                clause = Where(where)
                views = [v for v in views if clause.matches(v)]
            except QueryError as error:
                raise HttpError(400, _exception(16, "QueryParseException", str(error))) from None
        order = call.q("order")
        if order:
            try:
                views = order_by(views, order)
            except QueryError as error:
                raise HttpError(400, _exception(16, "QueryParseException", str(error))) from None
        page_text = call.q("page")
        if page_text and paged:
            try:
                page = max(1, int(page_text))
                size = fixed_page_size or int(call.q("pageSize") or self.default_page_size)
            except ValueError:
                raise HttpError(400, _exception(10, "ValidationException",
                                                "page and pageSize must be numbers")) from None
            size = max(1, min(size, self.max_page_size))
            count = len(views)
            pagination = {"page": page, "pageSize": size, "pageCount": (count + size - 1) // size,
                          "itemCount": count}
            views = views[(page - 1) * size: page * size]
        return views, pagination

    def _listing(self, call: Call, plural: str, views: list[dict[str, Any]], *, lines: bool = True,
                 paginated: bool = True) -> dict[str, Any]:
        selected, pagination = self._filtered(call, views)
        pagination = pagination if paginated else None
        if not lines or call.q("page") is None or call.flag("summaryOnly"):
            # Without `page` (and with summaryOnly) Xero leaves the line items out.
            selected = [{k: v for k, v in item.items() if k != "LineItems"} for item in selected]
        return self._envelope(plural, selected, pagination)

    def _event(self, org: Org, category: str, resource: str, ident: str, kind: str,
               data: dict[str, Any] | None = None) -> None:
        org.events.append({"category": category, "resource": resource, "id": ident, "type": kind,
                           "at": self.now(), "data": data})

    def _note_system(self, org: Org, resource: str, ident: str, changes: str, details: str) -> None:
        org.history.setdefault(f"{resource.lower()}/{ident}", []).append(
            {"Changes": changes, "DateUTC": self.now(), "User": "System Generated", "Details": details})

    # --- shared document rules ---------------------------------------------------------------------

    def _contact_for(self, org: Org, element: Any) -> str:
        if not isinstance(element, dict) or not (element.get("ContactID") or element.get("Name")):
            raise Invalid("A Contact must be specified for this type of transaction")
        contact_id = element.get("ContactID")
        if contact_id:
            contact = org.contacts.get(str(contact_id).lower())
            if contact is None:
                raise Invalid(f"The contact with ContactID {contact_id} could not be found")
            if contact["ContactStatus"] == "ARCHIVED":
                raise Invalid(f"The contact {contact['Name']} is archived")
            return str(contact["ContactID"])
        name = str(element["Name"]).strip()
        for contact in org.contacts.values():
            if contact["Name"].lower() == name.lower() and contact["ContactStatus"] == "ACTIVE":
                return str(contact["ContactID"])
        return str(self._create_contact(org, {"Name": name})["ContactID"])

    def _lines(self, org: Org, raw_lines: Any, amount_types: str, *, unitdp4: bool, require_account: bool,
               kind: str) -> tuple[list[dict[str, Any]], Decimal, Decimal, Decimal]:
        if raw_lines is None:
            raw_lines = []
        if not isinstance(raw_lines, list):
            raise Invalid("LineItems must be a list")
        lines: list[dict[str, Any]] = []
        sub_total = total_tax = Decimal("0.00")
        for position, raw in enumerate(raw_lines, start=1):
            if not isinstance(raw, dict):
                raise Invalid(f"Line item {position} is not an object")
            quantity = _dec(raw.get("Quantity", 1), "Quantity").quantize(UNIT4)
            if raw.get("UnitAmount") is None:
                if raw.get("LineAmount") is None:
                    raise Invalid(f"Line item {position}: a UnitAmount or LineAmount must be specified")
                unit = _dec(raw["LineAmount"], "LineAmount") / (quantity or Decimal(1))
            else:
                unit = _dec(raw["UnitAmount"], "UnitAmount")
            unit = unit.quantize(UNIT4 if unitdp4 else CENT, rounding=ROUND_HALF_UP)
            discount = _dec(raw["DiscountRate"], "DiscountRate") if raw.get("DiscountRate") is not None else None
            amount = money(quantity * unit * (Decimal(100) - (discount or 0)) / Decimal(100))
            code = raw.get("AccountCode")
            if require_account and not code and not raw.get("ItemCode"):
                raise Invalid(f"Account code must be specified for line item {position} of this {kind}")
            account = org.account_by_code(code) if code else None
            tax_type = "NONE" if amount_types == "NoTax" else (raw.get("TaxType") or (account or {}).get("TaxType")
                                                              or "NONE")
            if tax_type not in TAX_RATES:
                raise Invalid(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of "
                              "transaction.")
            rate = TAX_RATES[tax_type]
            if amount_types == "Exclusive":
                tax = money(amount * rate)
            elif amount_types == "Inclusive":
                tax = money(amount - amount / (1 + rate))
            else:
                tax = Decimal("0.00")
            sub_total += amount - (tax if amount_types == "Inclusive" else 0)
            total_tax += tax
            line: dict[str, Any] = {"LineItemID": str(raw.get("LineItemID") or uuid.uuid4()).lower(),
                    "Description": raw.get("Description"), "Quantity": quantity, "UnitAmount": unit,
                    "ItemCode": raw.get("ItemCode"), "AccountCode": code, "TaxType": tax_type, "TaxAmount": tax,
                    "LineAmount": amount, "DiscountRate": discount, "Tracking": []}
            lines.append(line)
        return lines, money(sub_total), money(total_tax), money(sub_total + total_tax)

    @staticmethod
    def _amount_types(value: Any, *, quote: bool = False) -> str:
        text = str(value or "Exclusive").strip().upper()
        names = {"EXCLUSIVE": "Exclusive", "INCLUSIVE": "Inclusive", "NOTAX": "NoTax"}
        if text not in names:
            raise Invalid(f"LineAmountTypes {value!r} is not one of Exclusive, Inclusive, NoTax")
        return text if quote else names[text]

    def _currency(self, org: Org, value: Any, contact_id: str | None = None) -> str:
        if value:
            code = str(value).upper()
        elif contact_id and org.contacts[contact_id].get("DefaultCurrency"):
            code = org.contacts[contact_id]["DefaultCurrency"]
        else:
            code = org.base_currency
        if code not in org.currencies:
            raise Invalid(f"The currency code {code} has not been enabled for this organisation")
        return code

    def _paid(self, org: Org, invoice_id: str, as_of: date | None = None) -> Decimal:
        return sum((p["Amount"] for p in org.payments.values()
                    if p["InvoiceID"] == invoice_id and p["Status"] == "AUTHORISED"
                    and (as_of is None or p["Date"] <= as_of)), Decimal("0.00"))

    def _credited(self, org: Org, invoice_id: str, as_of: date | None = None) -> Decimal:
        total = Decimal("0.00")
        for source in (org.credit_notes, org.overpayments):
            for document in source.values():
                for allocation in document.get("Allocations", []):
                    if allocation["InvoiceID"] == invoice_id and (as_of is None or allocation["Date"] <= as_of):
                        total += allocation["Amount"]
        return total

    def _due(self, org: Org, invoice: dict[str, Any]) -> Decimal:
        if invoice["Status"] in ("VOIDED", "DELETED"):
            return Decimal("0.00")
        ident = invoice["InvoiceID"]
        return money(invoice["Total"] - self._paid(org, ident) - self._credited(org, ident))

    def _settle(self, org: Org, invoice: dict[str, Any], on: date) -> None:
        """PAID is the system's: AmountDue reaching zero pays the invoice; a deleted payment reopens it."""
        if invoice["Status"] not in ("AUTHORISED", "PAID"):
            return
        due = self._due(org, invoice)
        if due <= 0 and invoice["Status"] == "AUTHORISED":
            invoice["Status"], invoice["FullyPaidOnDate"] = "PAID", on
        elif due > 0 and invoice["Status"] == "PAID":
            invoice["Status"], invoice["FullyPaidOnDate"] = "AUTHORISED", None
        invoice["UpdatedDateUTC"] = self.now()
        self._event(org, "INVOICE", "Invoices", invoice["InvoiceID"], "UPDATE")

    def _remaining(self, document: dict[str, Any]) -> Decimal:
        if document["Status"] not in ("AUTHORISED", "PAID"):
            return Decimal("0.00") if document["Status"] in ("VOIDED", "DELETED") else document["Total"]
        return money(document["Total"] - sum((a["Amount"] for a in document.get("Allocations", [])), Decimal("0")))

    def _write_many(self, org: Org, call: Call, plural: str, one: Callable[[dict[str, Any]], dict[str, Any]],
                    *, unwrapped_single: bool = False) -> tuple[int, Any]:
        """A PUT/POST of a plural body. summarizeErrors (default true): all or nothing, 400 with the failing
        elements; false: 200 with each element's own HasErrors/ValidationErrors."""
        body = call.body
        if unwrapped_single and isinstance(body, dict) and plural not in body:
            elements: Any = [body]
        else:
            elements = body.get(plural) if isinstance(body, dict) else None
        if not isinstance(elements, list) or not elements:
            raise HttpError(400, _exception(14, "PostDataInvalidException",
                                            f"The request body must hold a non-empty {plural} list"))
        summarize = (call.q("summarizeErrors") or "true").lower() != "false"
        if summarize:
            saved = copy.deepcopy(org.books)
            results, failures = [], []
            for element in elements:
                try:
                    results.append(one(element))
                except Invalid as error:
                    failures.append({**element, "ValidationErrors": [{"Message": str(error)}], "HasErrors": True})
            if failures:
                org.books = saved
                body_out = _exception(10, "ValidationException", "A validation exception occurred")
                body_out["Elements"] = failures
                return 400, body_out
            return 200, self._envelope(plural, results)
        results = []
        for element in elements:
            saved = copy.deepcopy(org.books)
            try:
                results.append({**one(element), "HasErrors": False})
            except Invalid as error:
                org.books = saved
                results.append({**element, "HasErrors": True, "ValidationErrors": [{"Message": str(error)}]})
        return 200, self._envelope(plural, results)

    def _write_one(self, org: Org, call: Call, plural: str, one: Callable[[dict[str, Any]], dict[str, Any]]
                   ) -> tuple[int, Any]:
        """A POST to /{Collection}/{id}: the body's first element updates the one record."""
        return self._write_many(org, call, plural, one)

    # --- contacts ----------------------------------------------------------------------------------

    def _contact_ref(self, org: Org, contact_id: str) -> dict[str, Any]:
        contact = org.contacts[contact_id]
        return {"ContactID": contact["ContactID"], "ContactStatus": contact["ContactStatus"], "Name": contact["Name"],
                "EmailAddress": contact.get("EmailAddress"), "HasValidationErrors": False}

    def _contact_view(self, org: Org, contact: dict[str, Any]) -> dict[str, Any]:
        ident = contact["ContactID"]
        today = self.today()
        receivable = [i for i in org.invoices.values() if i["ContactID"] == ident and i["Type"] == "ACCREC"]
        outstanding = sum((self._due(org, i) for i in receivable if i["Status"] == "AUTHORISED"), Decimal("0.00"))
        overdue = sum((self._due(org, i) for i in receivable if i["Status"] == "AUTHORISED" and i.get("DueDate")
                       and i["DueDate"] < today), Decimal("0.00"))
        view = {k: v for k, v in contact.items() if not k.startswith("_")}
        view.update({
            "IsCustomer": bool(receivable), "IsSupplier": any(i["ContactID"] == ident and i["Type"] == "ACCPAY"
                                                              for i in org.invoices.values()),
            "Addresses": [{"AddressType": "POBOX"}, {"AddressType": "STREET"}],
            "Phones": [{"PhoneType": t} for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
            "Balances": {"AccountsReceivable": {"Outstanding": money(outstanding), "Overdue": money(overdue)},
                         "AccountsPayable": {"Outstanding": Decimal("0.00"), "Overdue": Decimal("0.00")}},
            "HasAttachments": False, "HasValidationErrors": False,
        })
        return view

    _EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def _apply_contact_fields(self, org: Org, contact: dict[str, Any], element: dict[str, Any]) -> None:
        if "Name" in element:
            name = str(element.get("Name") or "").strip()
            if not name:
                raise Invalid("The contact name must be specified")
            for other in org.contacts.values():
                if (other["ContactID"] != contact.get("ContactID") and other["ContactStatus"] == "ACTIVE"
                        and other["Name"].lower() == name.lower()):
                    raise Invalid(f"The contact name {name} is already assigned to another contact. The contact "
                                  "name must be unique across all active contacts.")
            contact["Name"] = name
        if element.get("EmailAddress") is not None:
            email = str(element["EmailAddress"]).strip()
            if email and not self._EMAIL.match(email):
                raise Invalid("Email address must be valid.")
            contact["EmailAddress"] = email or None
        for key in ("FirstName", "LastName", "ContactNumber", "AccountNumber", "TaxNumber"):
            if element.get(key) is not None:
                contact[key] = str(element[key])
        if element.get("DefaultCurrency"):
            contact["DefaultCurrency"] = self._currency(org, element["DefaultCurrency"])
        if element.get("PaymentTerms") is not None:
            terms = element["PaymentTerms"]
            sales = terms.get("Sales") if isinstance(terms, dict) else None
            if sales is not None:
                if sales.get("Type") not in ("DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH",
                                             "OFFOLLOWINGMONTH"):
                    raise Invalid(f"Payment terms type {sales.get('Type')!r} is not valid")
                contact["PaymentTerms"] = {"Sales": {"Day": int(sales.get("Day") or 0), "Type": sales["Type"]}}
        if element.get("ContactPersons") is not None:
            contact["ContactPersons"] = [
                {k: p.get(k) for k in ("FirstName", "LastName", "EmailAddress", "IncludeInEmails")}
                for p in element["ContactPersons"] if isinstance(p, dict)]
        if element.get("ContactStatus"):
            status = str(element["ContactStatus"])
            if status not in ("ACTIVE", "ARCHIVED"):
                raise Invalid(f"ContactStatus {status} is not valid")
            contact["ContactStatus"] = status

    def _create_contact(self, org: Org, element: dict[str, Any]) -> dict[str, Any]:
        if not str(element.get("Name") or "").strip():
            raise Invalid("The contact name must be specified")
        contact: dict[str, Any] = {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE"}
        self._apply_contact_fields(org, contact, {**element, "ContactStatus": "ACTIVE"})
        contact["UpdatedDateUTC"] = self.now()
        org.contacts[contact["ContactID"]] = contact
        self._event(org, "CONTACT", "Contacts", contact["ContactID"], "CREATE")
        return contact

    def _update_contact(self, org: Org, contact: dict[str, Any], element: dict[str, Any]) -> dict[str, Any]:
        self._apply_contact_fields(org, contact, element)
        contact["UpdatedDateUTC"] = self.now()
        self._event(org, "CONTACT", "Contacts", contact["ContactID"], "UPDATE")
        return contact

    def _contacts(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                contact = self._find(org, "contacts", parts[1], "ContactNumber")
                return 200, self._envelope("Contacts", [self._contact_view(org, contact)])
            views = [self._contact_view(org, c) for c in org.contacts.values()]
            if not call.flag("includeArchived"):
                views = [v for v in views if v["ContactStatus"] != "ARCHIVED"]
            ids = {i.strip().lower() for i in (call.q("IDs") or "").split(",") if i.strip()}
            if ids:
                views = [v for v in views if v["ContactID"] in ids]
            term = (call.q("searchTerm") or "").lower()
            if term:
                views = [v for v in views if term in " ".join(str(v.get(k) or "") for k in (
                    "Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")).lower()]
            return 200, self._listing(call, "Contacts", views)

        def one(element: dict[str, Any]) -> dict[str, Any]:
            target = parts[1] if len(parts) == 2 else element.get("ContactID")
            if target:
                contact = self._find(org, "contacts", str(target))
                return self._contact_view(org, self._update_contact(org, contact, element))
            if call.method == "PUT" or not target:
                return self._contact_view(org, self._create_contact(org, element))
            raise Invalid("ContactID is required")

        return self._write_many(org, call, "Contacts", one)

    # --- invoices ----------------------------------------------------------------------------------

    def _invoice_view(self, org: Org, invoice: dict[str, Any]) -> dict[str, Any]:
        ident = invoice["InvoiceID"]
        paid, credited = self._paid(org, ident), self._credited(org, ident)
        payments = [{"PaymentID": p["PaymentID"], "Date": p["Date"], "Amount": p["Amount"],
                     "Reference": p.get("Reference"), "CurrencyRate": p["CurrencyRate"], "HasAccount": False,
                     "HasValidationErrors": False}
                    for p in org.payments.values() if p["InvoiceID"] == ident and p["Status"] == "AUTHORISED"]
        credit_notes = [{"CreditNoteID": c["CreditNoteID"], "CreditNoteNumber": c["CreditNoteNumber"],
                         "Total": c["Total"], "AppliedAmount": a["Amount"], "Date": a["Date"],
                         "HasErrors": False}
                        for c in org.credit_notes.values() for a in c.get("Allocations", []) if a["InvoiceID"] == ident]
        view: dict[str, Any] = {
            "Type": invoice["Type"], "InvoiceID": ident, "InvoiceNumber": invoice.get("InvoiceNumber"),
            "Reference": invoice.get("Reference") or "", "Payments": payments, "CreditNotes": credit_notes,
            "Prepayments": [], "Overpayments": [], "AmountDue": self._due(org, invoice), "AmountPaid": money(paid),
            "AmountCredited": money(credited), "CurrencyRate": invoice["CurrencyRate"], "IsDiscounted": False,
            "HasAttachments": False, "HasErrors": False, "Contact": self._contact_ref(org, invoice["ContactID"]),
            "DateString": _iso_local(invoice["Date"]), "Date": invoice["Date"],
            "DueDateString": _iso_local(invoice["DueDate"]) if invoice.get("DueDate") else None,
            "DueDate": invoice.get("DueDate"), "Status": invoice["Status"],
            "LineAmountTypes": invoice["LineAmountTypes"], "LineItems": invoice["LineItems"],
            "SubTotal": invoice["SubTotal"], "TotalTax": invoice["TotalTax"], "Total": invoice["Total"],
            "UpdatedDateUTC": invoice["UpdatedDateUTC"], "CurrencyCode": invoice["CurrencyCode"],
            "SentToContact": invoice.get("SentToContact", False), "FullyPaidOnDate": invoice.get("FullyPaidOnDate"),
        }
        return view

    def _set_invoice_lines(self, org: Org, invoice: dict[str, Any], raw_lines: Any, unitdp4: bool) -> None:
        lines, sub, tax, total = self._lines(org, raw_lines, invoice["LineAmountTypes"], unitdp4=unitdp4,
                                             require_account=invoice["Status"] != "DRAFT", kind="invoice")
        invoice.update(LineItems=lines, SubTotal=sub, TotalTax=tax, Total=total)

    def _create_invoice(self, org: Org, element: dict[str, Any], unitdp4: bool = False) -> dict[str, Any]:
        kind = element.get("Type")
        if kind not in ("ACCREC", "ACCPAY"):
            raise Invalid("Invoice Type must be ACCREC or ACCPAY")
        contact_id = self._contact_for(org, element.get("Contact"))
        status = str(element.get("Status") or "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            raise Invalid(f"Invoice Status {status} is not valid for a new invoice")
        issued = _date(element["Date"], "Date") if element.get("Date") else self.today()
        due = _date(element["DueDate"], "DueDate") if element.get("DueDate") else None
        terms = (org.contacts[contact_id].get("PaymentTerms") or {}).get("Sales")
        if due is None and terms and terms["Type"] == "DAYSAFTERBILLDATE":
            due = issued + timedelta(days=terms["Day"])
        if due is None and status != "DRAFT":
            raise Invalid("Due Date must be specified")
        number = element.get("InvoiceNumber")
        if number:
            if any(i.get("InvoiceNumber") == number and i["Type"] == kind and i["Status"] != "DELETED"
                   for i in org.invoices.values()):
                raise Invalid("Invoice # must be unique.")
        elif kind == "ACCREC":
            number = org.next_number("INV")
        invoice: dict[str, Any] = {
            "InvoiceID": str(uuid.uuid4()), "Type": kind, "InvoiceNumber": number,
            "Reference": element.get("Reference"), "ContactID": contact_id, "Date": issued, "DueDate": due,
            "Status": status, "LineAmountTypes": self._amount_types(element.get("LineAmountTypes")),
            "CurrencyCode": self._currency(org, element.get("CurrencyCode"), contact_id),
            "CurrencyRate": Decimal("1.000000"), "SentToContact": False,
        }
        self._set_invoice_lines(org, invoice, element.get("LineItems"), unitdp4)
        if status != "DRAFT" and not invoice["LineItems"]:
            raise Invalid("Invoices must have at least one line item")
        invoice["UpdatedDateUTC"] = self.now()
        org.invoices[invoice["InvoiceID"]] = invoice
        self._note_system(org, "Invoices", invoice["InvoiceID"], "Created",
                          f"{number or 'Bill'} to {org.contacts[contact_id]['Name']} for {invoice['Total']}.")
        self._event(org, "INVOICE", "Invoices", invoice["InvoiceID"], "CREATE")
        return invoice

    def _update_invoice(self, org: Org, invoice: dict[str, Any], element: dict[str, Any],
                        unitdp4: bool = False) -> dict[str, Any]:
        current = invoice["Status"]
        target = str(element.get("Status") or current)
        allocated = self._paid(org, invoice["InvoiceID"]) + self._credited(org, invoice["InvoiceID"]) > 0
        if current in ("PAID", "VOIDED", "DELETED"):
            raise Invalid("Invoice not of valid status for modification")
        edits = [k for k in ("LineItems", "Contact", "CurrencyCode", "LineAmountTypes", "Date") if k in element]
        if allocated and (edits or target != current):
            raise Invalid("This document cannot be edited as it has a payment or credit note allocated to it.")
        if target == "VOIDED" and current != "AUTHORISED":
            raise Invalid("Only AUTHORISED invoices can be voided; delete a DRAFT or SUBMITTED invoice instead")
        if target == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            raise Invalid("Only DRAFT or SUBMITTED invoices can be deleted; void an AUTHORISED invoice instead")
        if target not in ("DRAFT", "SUBMITTED", "AUTHORISED", "VOIDED", "DELETED"):
            raise Invalid(f"Invoice Status {target} cannot be set")
        if current == "AUTHORISED" and target in ("DRAFT", "SUBMITTED"):
            raise Invalid("An AUTHORISED invoice cannot return to DRAFT or SUBMITTED")
        if "Contact" in element:
            invoice["ContactID"] = self._contact_for(org, element["Contact"])
        for key in ("Reference", "InvoiceNumber"):
            if key in element:
                invoice[key] = element[key]
        if "Date" in element:
            invoice["Date"] = _date(element["Date"], "Date")
        if "DueDate" in element:
            invoice["DueDate"] = _date(element["DueDate"], "DueDate")
        if "CurrencyCode" in element:
            invoice["CurrencyCode"] = self._currency(org, element["CurrencyCode"], invoice["ContactID"])
        if "LineAmountTypes" in element:
            invoice["LineAmountTypes"] = self._amount_types(element["LineAmountTypes"])
        invoice["Status"] = target
        if "LineItems" in element or "LineAmountTypes" in element:
            self._set_invoice_lines(org, invoice, element.get("LineItems", invoice["LineItems"]), unitdp4)
        if target == "AUTHORISED" and (not invoice["LineItems"] or invoice.get("DueDate") is None):
            raise Invalid("An AUTHORISED invoice needs line items and a Due Date")
        invoice["UpdatedDateUTC"] = self.now()
        if target != current:
            self._note_system(org, "Invoices", invoice["InvoiceID"], target.capitalize(),
                              f"{invoice.get('InvoiceNumber')} {target.lower()}.")
        self._event(org, "INVOICE", "Invoices", invoice["InvoiceID"], "UPDATE")
        return invoice

    def _invoices(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET" and len(parts) == 2:
            invoice = self._find(org, "invoices", parts[1], "InvoiceNumber")
            return 200, self._envelope("Invoices", [self._round_units(self._invoice_view(org, invoice), call)])
        if call.method == "GET" and len(parts) == 3 and parts[2].lower() == "onlineinvoice":
            invoice = self._find(org, "invoices", parts[1])
            url = f"https://in.xero.com/{invoice['InvoiceID'][:8]}"
            return 200, self._envelope("OnlineInvoices", [{"OnlineInvoiceUrl": url}])
        if call.method == "POST" and len(parts) == 3 and parts[2].lower() == "email":
            return self._email_invoice(org, self._find(org, "invoices", parts[1]))
        if call.method == "GET" and len(parts) == 1:
            views = [self._round_units(self._invoice_view(org, i), call) for i in org.invoices.values()]
            for name, key in (("IDs", "InvoiceID"), ("InvoiceNumbers", "InvoiceNumber"), ("Statuses", "Status")):
                wanted = {v.strip() for v in (call.q(name) or "").split(",") if v.strip()}
                if wanted:
                    fold = str.lower if key == "InvoiceID" else str
                    views = [v for v in views if fold(str(v.get(key))) in {fold(w) for w in wanted}]
            contacts = {v.strip().lower() for v in (call.q("ContactIDs") or "").split(",") if v.strip()}
            if contacts:
                views = [v for v in views if v["Contact"]["ContactID"] in contacts]
            term = (call.q("searchTerm") or "").lower()
            if term:
                views = [v for v in views if term in f"{v.get('InvoiceNumber') or ''} {v.get('Reference')}".lower()]
            return 200, self._listing(call, "Invoices", views)
        if len(parts) > 2:
            raise HttpError(404, "The resource you're looking for cannot be found")

        def one(element: dict[str, Any]) -> dict[str, Any]:
            target = parts[1] if len(parts) == 2 else element.get("InvoiceID")
            if call.method == "PUT" and len(parts) == 1:
                record = self._create_invoice(org, element, call.unitdp4)
            elif target:
                invoice = self._find(org, "invoices", str(target), "InvoiceNumber")
                record = self._update_invoice(org, invoice, element, call.unitdp4)
            else:
                record = self._create_invoice(org, element, call.unitdp4)
            return self._round_units(self._invoice_view(org, record), call)

        return self._write_many(org, call, "Invoices", one)

    @staticmethod
    def _round_units(view: dict[str, Any], call: Call) -> dict[str, Any]:
        """Without unitdp=4 unit amounts come back with two decimals."""
        if call.unitdp4 or "LineItems" not in view:
            return view
        lines = [{**line, "UnitAmount": money(line["UnitAmount"])} for line in view["LineItems"]]
        return {**view, "LineItems": lines}

    def _email_invoice(self, org: Org, invoice: dict[str, Any]) -> tuple[int, Any]:
        contact = org.contacts[invoice["ContactID"]]
        try:
            if invoice["Type"] != "ACCREC":
                raise Invalid("Only sales invoices (ACCREC) can be emailed")
            if invoice["Status"] not in ("SUBMITTED", "AUTHORISED", "PAID"):
                raise Invalid("Only SUBMITTED, AUTHORISED or PAID invoices can be emailed")
            if not contact.get("EmailAddress"):
                raise Invalid(f"The contact {contact['Name']} does not have an email address")
            today = self.today()
            if sum(1 for e in org.emails if e["date"] == today) >= self.email_daily_cap:
                raise Invalid("The daily limit of invoice emails for this organisation has been reached")
        except Invalid as error:
            body = _exception(10, "ValidationException", "A validation exception occurred")
            body["Elements"] = [{"InvoiceID": invoice["InvoiceID"], "ValidationErrors": [{"Message": str(error)}]}]
            return 400, body
        org.emails.append({"invoice_id": invoice["InvoiceID"], "number": invoice["InvoiceNumber"],
                           "to": contact["EmailAddress"], "date": self.today()})
        invoice["SentToContact"] = True
        invoice["UpdatedDateUTC"] = self.now()
        self._note_system(org, "Invoices", invoice["InvoiceID"], "Sent",
                          f"This invoice has been sent to {contact['EmailAddress']}.")
        self._event(org, "INVOICE", "Invoices", invoice["InvoiceID"], "UPDATE")
        return 204, None

    # --- payments ----------------------------------------------------------------------------------

    def _payment_view(self, org: Org, payment: dict[str, Any]) -> dict[str, Any]:
        invoice = org.invoices[payment["InvoiceID"]]
        account = org.account_by_code(payment["AccountCode"])
        view: dict[str, Any] = {
            "PaymentID": payment["PaymentID"], "Date": payment["Date"], "BankAmount": payment["Amount"],
            "Amount": payment["Amount"], "Reference": payment.get("Reference") or "",
            "CurrencyRate": payment["CurrencyRate"], "PaymentType": payment["PaymentType"],
            "Status": payment["Status"], "UpdatedDateUTC": payment["UpdatedDateUTC"], "HasAccount": True,
            "IsReconciled": payment.get("IsReconciled", False),
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "Invoice": {"Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"],
                        "InvoiceNumber": invoice.get("InvoiceNumber"),
                        "Contact": {"ContactID": invoice["ContactID"],
                                    "Name": org.contacts[invoice["ContactID"]]["Name"]},
                        "CurrencyCode": invoice["CurrencyCode"], "HasErrors": False, "IsDiscounted": False},
            "HasValidationErrors": False,
        }
        if payment.get("BatchPaymentID"):
            batch = org.batch_payments[payment["BatchPaymentID"]]
            view["BatchPaymentID"] = batch["BatchPaymentID"]
            view["BatchPayment"] = {"Account": {"AccountID": account["AccountID"]},
                                    "BatchPaymentID": batch["BatchPaymentID"], "Date": batch["Date"],
                                    "Type": batch["Type"], "Status": batch["Status"],
                                    "TotalAmount": self._batch_total(org, batch),
                                    "UpdatedDateUTC": batch["UpdatedDateUTC"], "IsReconciled": False}
        return view

    def _create_payment(self, org: Org, element: dict[str, Any], *, batch: dict[str, Any] | None = None
                        ) -> dict[str, Any]:
        reference = element.get("Invoice")
        if not isinstance(reference, dict):
            if any(element.get(k) for k in ("CreditNote", "Overpayment", "Prepayment")):
                raise Invalid("The emulator only records payments of invoices")
            raise Invalid("An Invoice (InvoiceID or InvoiceNumber) must be specified for the payment")
        ident = reference.get("InvoiceID") or reference.get("InvoiceNumber") or element.get("InvoiceNumber")
        invoice = org.invoices.get(str(ident).lower()) or next(
            (i for i in org.invoices.values() if i.get("InvoiceNumber") == ident), None)
        if invoice is None:
            raise Invalid(f"Invoice {ident} could not be found")
        account = org.account(batch["Account"] if batch is not None else element.get("Account"))
        if account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
            raise Invalid("Account type is invalid for making a payment to/from")
        if element.get("Amount") is None:
            raise Invalid("Payment amount must be specified")
        amount = _dec(element["Amount"], "Amount")
        if amount <= 0:
            raise Invalid("Payment amount must be greater than zero")
        if money(amount) != amount:
            raise Invalid("Payment amount must have no more than two decimal places")
        if invoice["Status"] != "AUTHORISED":
            raise Invalid(f"Payments can only be made against AUTHORISED documents; this invoice is "
                          f"{invoice['Status']}")
        if amount > self._due(org, invoice):
            raise Invalid("Payment amount exceeds the amount outstanding on this document")
        when = batch["Date"] if batch is not None else (
            _date(element["Date"], "Date") if element.get("Date") else self.today())
        payment: dict[str, Any] = {
            "PaymentID": str(uuid.uuid4()), "InvoiceID": invoice["InvoiceID"], "AccountCode": account["Code"],
            "Date": when, "Amount": money(amount), "Reference": element.get("Reference") or (
                batch or {}).get("Reference"), "Status": "AUTHORISED",
            "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
            "CurrencyRate": Decimal("1.000000"), "IsReconciled": bool(element.get("IsReconciled", False)),
            "BatchPaymentID": batch["BatchPaymentID"] if batch is not None else None, "UpdatedDateUTC": self.now(),
        }
        org.payments[payment["PaymentID"]] = payment
        self._note_system(org, "Invoices", invoice["InvoiceID"], "Paid",
                          f"Payment received from {org.contacts[invoice['ContactID']]['Name']} on "
                          f"{when.isoformat()} for {payment['Amount']}.")
        self._settle(org, invoice, when)
        return payment

    def _delete_payment(self, org: Org, payment: dict[str, Any]) -> dict[str, Any]:
        if payment["Status"] == "DELETED":
            raise Invalid("This payment has already been deleted")
        if payment.get("IsReconciled"):
            raise Invalid("A reconciled payment cannot be deleted")
        payment["Status"] = "DELETED"
        payment["UpdatedDateUTC"] = self.now()
        invoice = org.invoices[payment["InvoiceID"]]
        self._settle(org, invoice, payment["Date"])
        return payment

    def _payments(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                return 200, self._envelope("Payments", [self._payment_view(org, self._find(org, "payments", parts[1]))])
            views = [self._payment_view(org, p) for p in org.payments.values()]
            return 200, self._listing(call, "Payments", views, lines=False)
        if len(parts) == 2:
            payment = self._find(org, "payments", parts[1])

            def delete(element: dict[str, Any]) -> dict[str, Any]:
                if element.get("Status") != "DELETED":
                    raise Invalid("Payments cannot be edited; only Status DELETED may be set")
                return self._payment_view(org, self._delete_payment(org, payment))

            body = call.body
            wrapped = body if isinstance(body, dict) and "Payments" in body else {"Payments": [body]}
            return self._write_many(org, Call(call.method, parts, call.query, call.headers, wrapped), "Payments",
                                    delete)
        return self._write_many(org, call, "Payments",
                                lambda element: self._payment_view(org, self._create_payment(org, element)),
                                unwrapped_single=call.method == "POST")

    def _batch_total(self, org: Org, batch: dict[str, Any]) -> Decimal:
        return money(sum((org.payments[p]["Amount"] for p in batch["PaymentIDs"]
                          if org.payments[p]["Status"] == "AUTHORISED"), Decimal("0")))

    def _batch_view(self, org: Org, batch: dict[str, Any]) -> dict[str, Any]:
        account = org.account_by_code(batch["AccountCode"])
        return {
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "Reference": batch.get("Reference") or "", "BatchPaymentID": batch["BatchPaymentID"],
            "DateString": _iso_local(batch["Date"]), "Date": batch["Date"], "Type": batch["Type"],
            "Status": batch["Status"], "TotalAmount": self._batch_total(org, batch),
            "UpdatedDateUTC": batch["UpdatedDateUTC"], "IsReconciled": False,
            "Payments": [{"Invoice": {"InvoiceID": org.payments[p]["InvoiceID"],
                                      "InvoiceNumber": org.invoices[org.payments[p]["InvoiceID"]].get("InvoiceNumber"),
                                      "Contact": {"ContactID": org.invoices[org.payments[p]["InvoiceID"]]["ContactID"]},
                                      "CurrencyCode": org.invoices[org.payments[p]["InvoiceID"]]["CurrencyCode"]},
                          "PaymentID": p, "Amount": org.payments[p]["Amount"]} for p in batch["PaymentIDs"]],
        }

    def _batchpayments(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                batch = self._find(org, "batch_payments", parts[1])
                return 200, self._envelope("BatchPayments", [self._batch_view(org, batch)])
            views = [self._batch_view(org, b) for b in org.batch_payments.values()]
            return 200, self._envelope("BatchPayments", self._filtered(call, views, paged=False)[0])
        if call.method != "PUT" or len(parts) != 1:
            raise HttpError(405, _exception(10, "ValidationException", "BatchPayments are created with PUT"))

        def one(element: dict[str, Any]) -> dict[str, Any]:
            org.account(element.get("Account"))
            payments = element.get("Payments")
            if not isinstance(payments, list) or not payments:
                raise Invalid("A batch payment needs at least one payment")
            batch: dict[str, Any] = {
                "BatchPaymentID": str(uuid.uuid4()), "Account": element["Account"],
                "AccountCode": org.account(element["Account"])["Code"],
                "Date": _date(element["Date"], "Date") if element.get("Date") else self.today(),
                "Reference": element.get("Reference"), "Type": "RECBATCH", "Status": "AUTHORISED", "PaymentIDs": [],
                "UpdatedDateUTC": self.now(),
            }
            org.batch_payments[batch["BatchPaymentID"]] = batch
            for payment in payments:
                if not isinstance(payment, dict):
                    raise Invalid("Each batch payment line must be an object")
                batch["PaymentIDs"].append(self._create_payment(org, payment, batch=batch)["PaymentID"])
            return self._batch_view(org, batch)

        return self._write_many(org, call, "BatchPayments", one)

    # --- quotes ------------------------------------------------------------------------------------

    QUOTE_MOVES = {"DRAFT": {"DRAFT", "SENT", "DELETED"}, "SENT": {"SENT", "DRAFT", "ACCEPTED", "DECLINED", "DELETED"},
                   "ACCEPTED": {"ACCEPTED", "SENT", "INVOICED"}, "DECLINED": {"DECLINED", "SENT"},
                   "INVOICED": {"INVOICED", "ACCEPTED"}, "DELETED": set()}

    def _quote_view(self, org: Org, quote: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in quote.items() if k != "ContactID"}
        view["Contact"] = self._contact_ref(org, quote["ContactID"])
        view["DateString"] = _iso_local(quote["Date"])
        if quote.get("ExpiryDate"):
            view["ExpiryDateString"] = _iso_local(quote["ExpiryDate"])
        return view

    def _save_quote(self, org: Org, quote: dict[str, Any] | None, element: dict[str, Any]) -> dict[str, Any]:
        if not element.get("Contact") or not element.get("Date"):
            raise Invalid("Contact and Date are required for a quote")
        creating = quote is None
        record: dict[str, Any] = quote if quote is not None else {
            "QuoteID": str(uuid.uuid4()), "QuoteNumber": element.get("QuoteNumber") or org.next_number("QU"),
            "Status": "DRAFT", "LineAmountTypes": "EXCLUSIVE", "CurrencyRate": Decimal("1.0"),
            "TotalDiscount": Decimal("0.00"), "LineItems": [], "SubTotal": Decimal("0.00"),
            "TotalTax": Decimal("0.00"), "Total": Decimal("0.00")}
        target = str(element.get("Status") or record["Status"])
        if target not in self.QUOTE_MOVES:
            raise Invalid(f"Quote Status {target} is not valid")
        if not creating and target not in self.QUOTE_MOVES[record["Status"]]:
            raise Invalid(f"A quote cannot move from {record['Status']} to {target}")
        record["ContactID"] = self._contact_for(org, element["Contact"])
        record["Date"] = _date(element["Date"], "Date")
        if element.get("ExpiryDate"):
            record["ExpiryDate"] = _date(element["ExpiryDate"], "ExpiryDate")
        for key in ("Reference", "Title", "Summary", "Terms"):
            if key in element:
                record[key] = element[key]
        record["CurrencyCode"] = self._currency(org, element.get("CurrencyCode") or record.get("CurrencyCode"),
                                                record["ContactID"])
        if "LineAmountTypes" in element:
            record["LineAmountTypes"] = self._amount_types(element["LineAmountTypes"], quote=True)
        if "LineItems" in element or creating:
            kind = {"EXCLUSIVE": "Exclusive", "INCLUSIVE": "Inclusive", "NOTAX": "NoTax"}[record["LineAmountTypes"]]
            lines, sub, tax, total = self._lines(org, element.get("LineItems"), kind, unitdp4=True,
                                                 require_account=False, kind="quote")
            record.update(LineItems=lines, SubTotal=sub, TotalTax=tax, Total=total)
        record["Status"] = target
        record["UpdatedDateUTC"] = self.now()
        org.quotes[record["QuoteID"]] = record
        return record

    def _quotes(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                return 200, self._envelope("Quotes", [self._quote_view(org, self._find(org, "quotes", parts[1],
                                                                                       "QuoteNumber"))])
            if call.q("where"):
                raise HttpError(400, _exception(16, "QueryParseException", "Quotes cannot be filtered with where"))
            views = [self._quote_view(org, q) for q in org.quotes.values()]
            if call.q("Status"):
                views = [v for v in views if v["Status"] == call.q("Status")]
            if call.q("ContactID"):
                views = [v for v in views if v["Contact"]["ContactID"] == (call.q("ContactID") or "").lower()]
            if call.q("QuoteNumber"):
                views = [v for v in views if v["QuoteNumber"] == call.q("QuoteNumber")]
            for name, key, later in (("DateFrom", "Date", True), ("DateTo", "Date", False),
                                     ("ExpiryDateFrom", "ExpiryDate", True), ("ExpiryDateTo", "ExpiryDate", False)):
                bound = call.q(name)
                if bound:
                    limit = date.fromisoformat(bound[:10])
                    views = [v for v in views if v.get(key) and (v[key] >= limit if later else v[key] <= limit)]
            selected, _ = self._filtered(call, views, fixed_page_size=100)
            return 200, self._envelope("Quotes", selected)

        def one(element: dict[str, Any]) -> dict[str, Any]:
            target = parts[1] if len(parts) == 2 else element.get("QuoteID")
            if call.method == "PUT" and len(parts) == 1:
                return self._quote_view(org, self._save_quote(org, None, element))
            existing = self._find(org, "quotes", str(target)) if target else None
            return self._quote_view(org, self._save_quote(org, existing, element))

        return self._write_many(org, call, "Quotes", one)

    # --- credit notes and overpayments -------------------------------------------------------------

    def _credit_view(self, org: Org, note: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in note.items() if k not in ("ContactID", "Allocations")}
        view.update({
            "Contact": self._contact_ref(org, note["ContactID"]), "DateString": _iso_local(note["Date"]),
            "RemainingCredit": self._remaining(note), "HasErrors": False, "HasAttachments": False,
            "Allocations": [{"AllocationID": a["AllocationID"], "Amount": a["Amount"], "Date": a["Date"],
                             "Invoice": {"InvoiceID": a["InvoiceID"],
                                         "InvoiceNumber": org.invoices[a["InvoiceID"]].get("InvoiceNumber"),
                                         "HasErrors": False}} for a in note.get("Allocations", [])],
            "Payments": [],
        })
        return view

    def _save_credit_note(self, org: Org, note: dict[str, Any] | None, element: dict[str, Any],
                          unitdp4: bool) -> dict[str, Any]:
        if note is None:
            kind = element.get("Type")
            if kind not in ("ACCRECCREDIT", "ACCPAYCREDIT"):
                raise Invalid("Credit note Type must be ACCRECCREDIT or ACCPAYCREDIT")
            status = str(element.get("Status") or "DRAFT")
            if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
                raise Invalid(f"Credit note Status {status} is not valid for a new credit note")
            contact_id = self._contact_for(org, element.get("Contact"))
            amount_types = self._amount_types(element.get("LineAmountTypes"))
            lines, sub, tax, total = self._lines(org, element.get("LineItems"), amount_types, unitdp4=unitdp4,
                                                 require_account=status != "DRAFT", kind="credit note")
            if status != "DRAFT" and not lines:
                raise Invalid("Credit notes must have at least one line item")
            note = {
                "CreditNoteID": str(uuid.uuid4()), "CreditNoteNumber": element.get("CreditNoteNumber") or (
                    org.next_number("CN") if kind == "ACCRECCREDIT" else None),
                "Type": kind, "ContactID": contact_id,
                "Date": _date(element["Date"], "Date") if element.get("Date") else self.today(),
                "Status": status, "LineAmountTypes": amount_types, "LineItems": lines, "SubTotal": sub,
                "TotalTax": tax, "Total": total, "Reference": element.get("Reference"),
                "CurrencyCode": self._currency(org, element.get("CurrencyCode"), contact_id),
                "CurrencyRate": Decimal("1.000000"), "Allocations": [], "SentToContact": False,
                "UpdatedDateUTC": self.now(),
            }
            org.credit_notes[note["CreditNoteID"]] = note
            self._event(org, "CREDITNOTE", "CreditNotes", note["CreditNoteID"], "CREATE",
                        {"Type": kind, "Status": status})
            return note
        target = str(element.get("Status") or note["Status"])
        if note["Status"] in ("VOIDED", "DELETED", "PAID"):
            raise Invalid("Credit note not of valid status for modification")
        if target == "VOIDED" and note.get("Allocations"):
            raise Invalid("This document cannot be edited as it has a payment or credit note allocated to it.")
        if target == "DELETED" and note["Status"] not in ("DRAFT", "SUBMITTED"):
            raise Invalid("Only DRAFT or SUBMITTED credit notes can be deleted")
        if "Reference" in element:
            note["Reference"] = element["Reference"]
        note["Status"] = target
        note["UpdatedDateUTC"] = self.now()
        self._event(org, "CREDITNOTE", "CreditNotes", note["CreditNoteID"], "UPDATE",
                    {"Type": note["Type"], "Status": target})
        return note

    def _allocate(self, org: Org, document: dict[str, Any], element: dict[str, Any], what: str) -> dict[str, Any]:
        if document["Status"] != "AUTHORISED":
            raise Invalid(f"The {what} must be AUTHORISED, with credit remaining, to be allocated")
        reference = element.get("Invoice")
        ident = reference.get("InvoiceID") if isinstance(reference, dict) else None
        invoice = org.invoices.get(str(ident).lower()) if ident else None
        if invoice is None:
            raise Invalid(f"Invoice {ident} could not be found")
        if invoice["ContactID"] != document["ContactID"]:
            raise Invalid(f"The invoice and the {what} must belong to the same contact")
        if invoice["CurrencyCode"] != document["CurrencyCode"]:
            raise Invalid(f"The invoice and the {what} must be in the same currency")
        if invoice["Status"] != "AUTHORISED":
            raise Invalid(f"Credit can only be allocated to AUTHORISED invoices; this one is {invoice['Status']}")
        amount = _dec(element.get("Amount"), "Amount")
        if amount <= 0:
            raise Invalid("The amount allocated must be greater than zero")
        if amount > self._remaining(document):
            raise Invalid(f"The amount allocated exceeds the remaining credit on the {what}")
        if amount > self._due(org, invoice):
            raise Invalid("The amount allocated exceeds the amount due on the invoice")
        when = _date(element["Date"], "Date") if element.get("Date") else self.today()
        allocation = {"AllocationID": str(uuid.uuid4()), "InvoiceID": invoice["InvoiceID"], "Amount": money(amount),
                      "Date": when}
        document["Allocations"].append(allocation)
        if self._remaining(document) == 0:
            document["Status"] = "PAID"
        document["UpdatedDateUTC"] = self.now()
        self._settle(org, invoice, when)
        return allocation

    def _creditnotes(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                note = self._find(org, "credit_notes", parts[1], "CreditNoteNumber")
                return 200, self._envelope("CreditNotes", [self._credit_view(org, note)])
            views = [self._credit_view(org, n) for n in org.credit_notes.values()]
            return 200, self._listing(call, "CreditNotes", views)
        if len(parts) == 3 and parts[2].lower() == "allocations" and call.method == "PUT":
            note = self._find(org, "credit_notes", parts[1])

            def allocate(element: dict[str, Any]) -> dict[str, Any]:
                allocation = self._allocate(org, note, element, "credit note")
                self._event(org, "CREDITNOTE", "CreditNotes", note["CreditNoteID"], "UPDATE",
                            {"Type": note["Type"], "Status": note["Status"]})
                return {"AllocationID": allocation["AllocationID"], "Amount": allocation["Amount"],
                        "Date": allocation["Date"],
                        "Invoice": {"InvoiceID": allocation["InvoiceID"], "HasErrors": False},
                        "CreditNote": {"CreditNoteID": note["CreditNoteID"],
                                       "CreditNoteNumber": note["CreditNoteNumber"]}}

            return self._write_many(org, call, "Allocations", allocate)
        if len(parts) > 2:
            raise HttpError(404, "The resource you're looking for cannot be found")

        def one(element: dict[str, Any]) -> dict[str, Any]:
            target = parts[1] if len(parts) == 2 else element.get("CreditNoteID")
            existing = self._find(org, "credit_notes", str(target)) if target and call.method == "POST" else None
            return self._credit_view(org, self._save_credit_note(org, existing, element, call.unitdp4))

        return self._write_many(org, call, "CreditNotes", one)

    def _overpayment_view(self, org: Org, over: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in over.items() if k not in ("ContactID", "Allocations")}
        view.update({"Contact": self._contact_ref(org, over["ContactID"]), "RemainingCredit": self._remaining(over),
                     "Allocations": [{"Amount": a["Amount"], "Date": a["Date"],
                                      "Invoice": {"InvoiceID": a["InvoiceID"]}} for a in over["Allocations"]],
                     "HasAttachments": False})
        return view

    def _overpayments(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                over = self._find(org, "overpayments", parts[1])
                return 200, self._envelope("Overpayments", [self._overpayment_view(org, over)])
            views = [self._overpayment_view(org, o) for o in org.overpayments.values()]
            return 200, self._listing(call, "Overpayments", views)
        if len(parts) == 3 and parts[2].lower() == "allocations" and call.method == "PUT":
            over = self._find(org, "overpayments", parts[1])

            def allocate(element: dict[str, Any]) -> dict[str, Any]:
                allocation = self._allocate(org, over, element, "overpayment")
                return {"Amount": allocation["Amount"], "Date": allocation["Date"],
                        "Invoice": {"InvoiceID": allocation["InvoiceID"]},
                        "Overpayment": {"OverpaymentID": over["OverpaymentID"]}}

            return self._write_many(org, call, "Allocations", allocate)
        raise HttpError(404, "The resource you're looking for cannot be found")

    # --- bank transactions -------------------------------------------------------------------------

    BANK_TYPES = ("RECEIVE", "SPEND", "RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT", "RECEIVE-PREPAYMENT",
                  "SPEND-PREPAYMENT")

    def _bank_view(self, org: Org, txn: dict[str, Any]) -> dict[str, Any]:
        account = org.account_by_code(txn["AccountCode"])
        view = {k: v for k, v in txn.items() if k not in ("ContactID", "AccountCode")}
        view.update({"Contact": self._contact_ref(org, txn["ContactID"]), "DateString": _iso_local(txn["Date"]),
                     "BankAccount": {"AccountID": account["AccountID"], "Code": account["Code"],
                                     "Name": account["Name"]},
                     "HasAttachments": False})
        return view

    def _save_bank_transaction(self, org: Org, txn: dict[str, Any] | None, element: dict[str, Any],
                               unitdp4: bool) -> dict[str, Any]:
        if txn is not None:
            if "IsReconciled" in element:
                txn["IsReconciled"] = bool(element["IsReconciled"])
            if "Reference" in element:
                txn["Reference"] = element["Reference"]
            status = element.get("Status")
            if status:
                if status not in ("AUTHORISED", "DELETED", "VOIDED"):
                    raise Invalid(f"Bank transaction Status {status} is not valid")
                if status != "AUTHORISED" and txn.get("OverpaymentID") and org.overpayments[
                        txn["OverpaymentID"]]["Allocations"]:
                    raise Invalid("This document cannot be edited as it has a payment or credit note allocated to it.")
                txn["Status"] = status
            txn["UpdatedDateUTC"] = self.now()
            return txn
        kind = element.get("Type")
        if kind not in self.BANK_TYPES:
            raise Invalid(f"Bank transaction Type {kind!r} is not valid (transfers use /BankTransfers)")
        contact_id = self._contact_for(org, element.get("Contact"))
        account = org.account(element.get("BankAccount"))
        if account["Type"] != "BANK":
            raise Invalid("BankAccount must be a bank account")
        amount_types = self._amount_types(element.get("LineAmountTypes"))
        plain = kind in ("RECEIVE", "SPEND")
        lines, sub, tax, total = self._lines(org, element.get("LineItems"), amount_types, unitdp4=unitdp4,
                                             require_account=plain, kind="bank transaction")
        if not lines:
            raise Invalid("A bank transaction must have at least one line item")
        txn = {
            "BankTransactionID": str(uuid.uuid4()), "Type": kind, "ContactID": contact_id,
            "AccountCode": account["Code"], "Date": _date(element["Date"], "Date") if element.get("Date")
            else self.today(), "Reference": element.get("Reference"),
            "IsReconciled": bool(element.get("IsReconciled", False)), "Status": "AUTHORISED",
            "LineAmountTypes": amount_types, "LineItems": lines, "SubTotal": sub, "TotalTax": tax, "Total": total,
            "CurrencyCode": self._currency(org, element.get("CurrencyCode") or account.get("CurrencyCode")),
            "CurrencyRate": Decimal("1.000000"), "UpdatedDateUTC": self.now(),
        }
        if kind == "RECEIVE-OVERPAYMENT":
            over = {"OverpaymentID": str(uuid.uuid4()), "Type": kind, "ContactID": contact_id, "Date": txn["Date"],
                    "Status": "AUTHORISED", "LineAmountTypes": amount_types, "LineItems": lines, "SubTotal": sub,
                    "TotalTax": tax, "Total": total, "CurrencyCode": txn["CurrencyCode"],
                    "CurrencyRate": Decimal("1.000000"), "Allocations": [], "Reference": txn["Reference"],
                    "UpdatedDateUTC": txn["UpdatedDateUTC"]}
            org.overpayments[over["OverpaymentID"]] = over
            txn["OverpaymentID"] = over["OverpaymentID"]
        org.bank_transactions[txn["BankTransactionID"]] = txn
        return txn

    def _banktransactions(self, org: Org, call: Call) -> tuple[int, Any]:
        parts = call.parts
        if call.method == "GET":
            if len(parts) == 2:
                txn = self._find(org, "bank_transactions", parts[1])
                return 200, self._envelope("BankTransactions", [self._bank_view(org, txn)])
            views = [self._bank_view(org, t) for t in org.bank_transactions.values()]
            return 200, self._listing(call, "BankTransactions", views)

        def one(element: dict[str, Any]) -> dict[str, Any]:
            target = parts[1] if len(parts) == 2 else element.get("BankTransactionID")
            existing = self._find(org, "bank_transactions", str(target)) if target and call.method == "POST" else None
            return self._bank_view(org, self._save_bank_transaction(org, existing, element, call.unitdp4))

        return self._write_many(org, call, "BankTransactions", one)

    # --- history (notes) ---------------------------------------------------------------------------

    def _history(self, org: Org, call: Call, head: str, ident: str) -> tuple[int, Any]:
        collection, _ = ENTITY_COLLECTIONS[head]
        record = self._find(org, collection, ident)
        key = f"{head}/{record[ENTITY_COLLECTIONS[head][1]]}"
        if call.method == "GET":
            return 200, self._envelope("HistoryRecords", list(org.history.get(key, [])))
        if call.method != "PUT":
            raise HttpError(405, _exception(10, "ValidationException", "History records are added with PUT"))

        def one(element: dict[str, Any]) -> dict[str, Any]:
            details = str(element.get("Details") or "").strip()
            if not details:
                raise Invalid("The Details of a history record must be specified")
            if len(details) > 2500:
                raise Invalid("The Details of a history record must be 2500 characters or fewer")
            entry = {"Changes": "Note", "DateUTC": self.now(), "User": "duecourse (API)", "Details": details}
            org.history.setdefault(key, []).append(entry)
            return entry

        return self._write_many(org, call, "HistoryRecords", one)

    # --- reports and settings ----------------------------------------------------------------------

    def _organisation_view(self, org: Org) -> dict[str, Any]:
        return {"OrganisationID": org.tenant_id, "Name": org.name, "LegalName": org.name, "PaysTax": True,
                "Version": "US" if org.country_code == "US" else "GLOBAL", "OrganisationType": "COMPANY",
                "BaseCurrency": org.base_currency, "CountryCode": org.country_code, "IsDemoCompany": False,
                "OrganisationStatus": "ACTIVE", "FinancialYearEndDay": 31, "FinancialYearEndMonth": 12,
                "Timezone": org.timezone, "OrganisationEntityType": "COMPANY", "ShortCode": "!dC0rs",
                "Edition": "BUSINESS", "CreatedDateUTC": datetime(2020, 1, 1, tzinfo=UTC)}

    def _aged_receivables(self, org: Org, call: Call) -> dict[str, Any]:
        """Per contact, one row per invoice open at `date` (payments and credits dated after it ignored).
        Cell values are strings; header order: Date, Number, Due Date, "", Total, Paid, Credited, Due."""
        contact_id = (call.q("contactId") or "").lower()
        if not contact_id:
            raise HttpError(400, _exception(10, "ValidationException", "contactId is required"))
        contact = org.contacts.get(contact_id)
        if contact is None:
            raise HttpError(404, "The resource you're looking for cannot be found")
        as_of = date.fromisoformat(call.q("date")[:10]) if call.q("date") else self.today()  # type: ignore[index]
        from_date = date.fromisoformat(call.q("fromDate")[:10]) if call.q("fromDate") else None  # type: ignore[index]
        rows, totals = [], [Decimal("0.00")] * 4
        for invoice in org.invoices.values():
            if (invoice["ContactID"] != contact_id or invoice["Type"] != "ACCREC"
                    or invoice["Status"] not in ("AUTHORISED", "PAID") or invoice["Date"] > as_of
                    or (from_date and invoice["Date"] < from_date)):
                continue
            paid = self._paid(org, invoice["InvoiceID"], as_of)
            credited = self._credited(org, invoice["InvoiceID"], as_of)
            due = money(invoice["Total"] - paid - credited)
            if due == 0:
                continue
            figures = [invoice["Total"], money(paid), money(credited), due]
            totals = [a + b for a, b in zip(totals, figures, strict=True)]
            link = [{"Value": invoice["InvoiceID"], "Id": "invoiceID"}]
            rows.append({"RowType": "Row", "Cells": [
                {"Value": _iso_local(invoice["Date"]), "Attributes": link},
                {"Value": invoice.get("InvoiceNumber") or "", "Attributes": link},
                {"Value": _iso_local(invoice["DueDate"]) if invoice.get("DueDate") else ""}, {"Value": ""},
                *({"Value": format(money(f), "f")} for f in figures)]})
        summary = {"RowType": "SummaryRow", "Cells": [{"Value": "Total"}, {"Value": ""}, {"Value": ""}, {"Value": ""},
                                                       *({"Value": format(money(t), "f")} for t in totals)]}
        header = {"RowType": "Header", "Cells": [{"Value": v} for v in (
            "Date", "Number", "Due Date", "", "Total", "Paid", "Credited", "Due")]}
        start = from_date or date(as_of.year, 1, 1)
        report = {"ReportID": "AgedReceivablesByContact", "ReportName": "Aged Receivables By Contact",
                  "ReportType": "AgedReceivablesByContact",
                  "ReportTitles": ["Invoices", contact["Name"],
                                   f"From {start.day} {start:%B %Y} to {as_of.day} {as_of:%B %Y}",
                                   f"Showing payments to {as_of.day} {as_of:%B %Y}"],
                  "ReportDate": f"{as_of.day} {as_of:%B %Y}", "UpdatedDateUTC": self.now(), "Fields": [],
                  "Rows": [header, {"RowType": "Section", "Title": "", "Rows": [*rows, summary]}]}
        return self._envelope("Reports", [report])

    # --- webhooks ----------------------------------------------------------------------------------

    def sign(self, body: bytes, key: str | None = None) -> str:
        digest = hmac.new((key or self.webhook_key).encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def webhook_body(self, events: list[dict[str, Any]]) -> bytes:
        with self._lock:
            first = self._sequence + 1 if events else 0
            self._sequence += len(events)
            last = self._sequence if events else 0
        payload = {"events": events, "firstEventSequence": first, "lastEventSequence": last,
                   "entropy": secrets.token_hex(10).upper()}
        return json.dumps(payload, separators=(",", ":")).encode()

    def pending_webhook_events(self) -> list[dict[str, Any]]:
        """The B7 events for every change not delivered yet (all tenants)."""
        with self._lock:
            events = []
            for org in self.orgs.values():
                for change in org.events:
                    event = {"resourceUrl": f"{self.api_base}/{change['resource']}/{change['id']}",
                             "resourceId": change["id"],
                             "eventDateUtc": change["at"].strftime("%Y-%m-%dT%H:%M:%S.")
                             + f"{change['at'].microsecond // 1000:03d}",
                             "eventType": change["type"], "eventCategory": change["category"],
                             "tenantId": org.tenant_id, "tenantType": "ORGANISATION"}
                    if change.get("data"):
                        event["data"] = change["data"]
                    events.append(event)
            return events

    def send_webhook(self, url: str, *, key: str | None = None, timeout: float = 5.0) -> int:
        """POST the pending changes, signed, as Xero does; they are dropped once answered 2xx."""
        events = self.pending_webhook_events()
        body = self.webhook_body(events)
        response = httpx.post(url, content=body, timeout=timeout,
                              headers={"Content-Type": "application/json", "x-xero-signature": self.sign(body, key)})
        self.webhook_deliveries.append({"status": response.status_code, "events": len(events), "body": body})
        if response.is_success:
            with self._lock:
                for org in self.orgs.values():
                    org.events.clear()
        return response.status_code

    def intent_to_receive(self, url: str, *, timeout: float = 5.0) -> tuple[int, int]:
        """Xero's check before it enables a webhook: an empty batch signed correctly (expects 200) and one
        signed with another key (expects 401), each answered within 5 s with an empty body."""
        statuses = []
        slowest = 0.0
        for key in (self.webhook_key, self.webhook_key + "-not"):
            body = self.webhook_body([])
            started = time.monotonic()
            response = httpx.post(url, content=body, timeout=timeout,
                                  headers={"Content-Type": "application/json",
                                           "x-xero-signature": self.sign(body, key)})
            slowest = max(slowest, time.monotonic() - started)
            statuses.append(response.status_code if not response.content else -response.status_code)
        self.last_intent_seconds = slowest
        return statuses[0], statuses[1]

    # --- what a person does in Xero's own screens (test set-up) ------------------------------------

    def _org(self, tenant: str | None) -> Org:
        return self.orgs[tenant or self.tenant_id]

    def add_contact(self, name: str, email: str | None = None, *, tenant: str | None = None,
                    **fields: Any) -> str:
        with self._lock:
            return str(self._create_contact(self._org(tenant), {"Name": name, "EmailAddress": email, **fields})[
                "ContactID"])

    def add_invoice(self, contact_id: str, lines: list[tuple[str, str, str]], *, issued: date, due: date,
                    status: str = "AUTHORISED", amount_types: str = "Exclusive", currency: str | None = None,
                    kind: str = "ACCREC", number: str | None = None, account_code: str = "200",
                    tenant: str | None = None) -> str:
        """`lines` are (description, quantity, unit amount) as strings."""
        element = {"Type": kind, "Contact": {"ContactID": contact_id}, "Date": issued.isoformat(),
                   "DueDate": due.isoformat(), "Status": status, "LineAmountTypes": amount_types,
                   "CurrencyCode": currency, "InvoiceNumber": number,
                   "LineItems": [{"Description": d, "Quantity": Decimal(q), "UnitAmount": Decimal(u),
                                  "AccountCode": account_code} for d, q, u in lines]}
        with self._lock:
            return str(self._create_invoice(self._org(tenant), element, unitdp4=True)["InvoiceID"])

    def set_invoice_status(self, invoice_id: str, status: str, *, tenant: str | None = None) -> None:
        """Someone submits or approves an invoice in Xero (DRAFT -> SUBMITTED -> AUTHORISED), by the API's
        rules (an AUTHORISED invoice never goes back to DRAFT)."""
        with self._lock:
            org = self._org(tenant)
            self._update_invoice(org, org.invoices[invoice_id], {"Status": status})

    def pay(self, invoice_id: str, amount: str, *, on: date, account_code: str = "090",
            tenant: str | None = None) -> str:
        element = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": account_code}, "Amount": Decimal(amount),
                   "Date": on.isoformat()}
        with self._lock:
            return str(self._create_payment(self._org(tenant), element)["PaymentID"])

    def add_quote(self, contact_id: str, amount: str, *, issued: date, status: str = "SENT",
                  tenant: str | None = None) -> str:
        element = {"Contact": {"ContactID": contact_id}, "Date": issued.isoformat(), "Status": status,
                   "LineItems": [{"Description": "Proposal", "Quantity": 1, "UnitAmount": Decimal(amount)}],
                   "LineAmountTypes": "NOTAX"}
        with self._lock:
            org = self._org(tenant)
            quote = self._save_quote(org, None, element)
            return str(quote["QuoteID"])

    def set_quote_status(self, quote_id: str, status: str, *, tenant: str | None = None) -> None:
        with self._lock:
            org = self._org(tenant)
            quote = org.quotes[quote_id]
            self._save_quote(org, quote, {"Contact": {"ContactID": quote["ContactID"]},
                                          "Date": quote["Date"].isoformat(), "Status": status})

    def add_bank_transaction(self, contact_id: str, amount: str, *, on: date, reference: str = "",
                             kind: str = "RECEIVE", reconciled: bool = False, currency: str | None = None,
                             tenant: str | None = None) -> str:
        element = {"Type": kind, "Contact": {"ContactID": contact_id}, "BankAccount": {"Code": "090"},
                   "Date": on.isoformat(), "Reference": reference, "IsReconciled": reconciled,
                   "LineAmountTypes": "NoTax", "CurrencyCode": currency,
                   "LineItems": [{"Description": reference or "Deposit", "Quantity": 1, "UnitAmount": Decimal(amount),
                                  "AccountCode": "260" if kind in ("RECEIVE", "SPEND") else None}]}
        with self._lock:
            return str(self._save_bank_transaction(self._org(tenant), None, element, True)["BankTransactionID"])

    def invoice(self, invoice_id: str, *, tenant: str | None = None) -> dict[str, Any]:
        with self._lock:
            org = self._org(tenant)
            return self._invoice_view(org, org.invoices[invoice_id])

    def history(self, resource: str, ident: str, *, tenant: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._org(tenant).history.get(f"{resource.lower()}/{ident}", []))

    def emails(self, *, tenant: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._org(tenant).emails)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests seen, by method and path prefix (case-insensitive), e.g. count("GET", "/Invoices")."""
        with self._lock:
            return sum(1 for m, p in self.requests if (method is None or m == method.upper())
                       and (path is None or p.lower().startswith(path.lower())))

