"""A local QuickBooks Online that behaves like the real one on the wire, for the adapter's tests.

One FastAPI app, served by `tests.emulators.kit.ServedApp` on 127.0.0.1 (a free port), plays all of Intuit's hosts:

* OAuth 2.0 (`/.well-known/openid_configuration`, `/connect/oauth2`, `/oauth2/v1/tokens/bearer`,
  `/oauth2/v1/tokens/revoke`): Basic client auth, authorization codes, refresh tokens that rotate on every
  refresh (the old one then answers 400 `invalid_grant`), access tokens that expire (401 with the gateway's
  lower-case `fault` body). No `id_token`, so intuit-oauth's `AuthClient` works against it unmodified.
* The Accounting API v3 under `/v3/company/{realmId}/…`: Customer, Invoice, Payment, Estimate, CreditMemo,
  Deposit, Attachable, Term, Item, Account, CompanyInfo. Create / full and sparse update / `operation=void`
  / `operation=delete` all by POST, SyncToken checked (5010), server-side figures (TotalAmt, Balance,
  UnappliedAmt, RemainingCredit, customer Balance, LinkedTxn on both sides), `/invoice/{id}/send` (an outbox
  tests read), `/invoice/{id}/pdf`, the query language with STARTPOSITION / MAXRESULTS paging (GET `?query=`
  and POST application/text), `/cdc` with deleted stubs, `/reports/AgedReceivables`, and `requestid` replay:
  the first answer to a requestid is answered again, and the write is not repeated. python-quickbooks runs
  against it unmodified (its base URL pointed here). Not emulated: `/batch`, `/upload` (file attachments),
  AgedReceivableDetail.
* Limits and faults: 500 calls a minute and 10 at once per realm, then 429 with the real Fault 3001 body
  (JSON, or XML as community threads report); `faults` (the kit's vocabulary, `QuickBooksFaults`) for a 429
  storm, 500s with Fault 10000, lost responses (written, then a 500), slow answers and stale access tokens,
  plus what only QuickBooks does: 503 HTML gateway pages and stale SyncTokens (5010). `faults.answered`
  tallies the status of every API answer.
* Webhooks: `send_webhook` POSTs the changes not yet announced, classic or CloudEvents, signed with
  `intuit-signature` = base64(HMAC-SHA256(verifier token, body)), retrying on a compressed copy of Intuit's
  schedule.

It imports nothing from the adapter (`adapters.ledgers.quickbooks`): its paths and headers are written here
from LEDGER_APIS.md Part A, so a wrong path in the adapter fails a test. An adapter connected to it is built
in tests/adapters/ledgers/quickbooks/connected.py.

Where Intuit's documentation is silent (LEDGER_APIS.md Part E) the emulator makes an assumption, and every
one of them is a field of `Assumptions`, so a test can flip it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from adapters.ledgers.oauth import OAuthTokens
from tests.emulators.kit import Faults, ServedEmulator, count_answers

# QuickBooks stamps times in the company's zone; Pacific, as in Intuit's samples.
COMPANY_ZONE = timezone(timedelta(hours=-7))
CENT = Decimal("0.01")
ZERO = Decimal("0")
ENTITIES = ("Customer", "Invoice", "Payment", "Estimate", "CreditMemo", "Deposit", "Attachable", "Term", "Item",
            "Account", "CompanyInfo")
ENTITY_PATHS = {name.lower(): name for name in ENTITIES}
SALES_FORMS = ("Invoice", "Estimate", "CreditMemo")
CURRENCY_NAMES = {"USD": "United States Dollar", "CAD": "Canadian Dollar", "GBP": "British Pound Sterling",
                  "EUR": "Euro", "AUD": "Australian Dollar"}
WEBHOOK_ACTIONS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided",
                   "Merge": "merged", "Emailed": "emailed"}
UNDEPOSITED_FUNDS = "4"
API_PREFIX = "/v3/company/"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
AUTHORIZE_PATH = "/connect/oauth2"
SIGNATURE_HEADER = "intuit-signature"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


@dataclass
class QuickBooksFaults(Faults):
    """The kit's faults, in QuickBooks' wire form, plus what only QuickBooks does."""

    # Intuit's 429 carries no Retry-After (LEDGER_APIS.md E2): set one to test a client that honours it.
    retry_after: float | None = None
    unavailable_next: int = 0  # the next N API calls answer 503 with the gateway's HTML page
    stale_next: int = 0  # the next N SyncToken writes find someone else saved first: 5010


@dataclass
class Assumptions:
    """What the emulator assumes where Intuit does not say (LEDGER_APIS.md Part E, QBO items)."""

    # E1: requestid. The first answer is replayed, whatever body comes with a repeat ("reject" answers a
    # 400 Fault 600 "Duplicate Request ID" instead); failed answers are not remembered; kept forever.
    requestid_mismatch: Literal["replay", "reject"] = "replay"
    requestid_replays_faults: bool = False
    requestid_ttl_seconds: float | None = None
    # E2: the throttle body (JSON or XML), its Fault type, and no Retry-After header on the 429s of the
    # emulator's own limits (set one to test it; a `faults.rate_limited` 429 sends `faults.retry_after`).
    throttle_body: Literal["json", "xml"] = "json"
    throttle_fault_type: str = "SERVICE"
    retry_after: str | None = None
    # E3: estimate TxnStatus values.
    estimate_statuses: tuple[str, ...] = ("Pending", "Accepted", "Closed", "Rejected")
    # E4: error codes for over-applying a payment, voiding/deleting a paid invoice, a query parse error.
    overapply_code: str = "6000"
    paid_invoice_code: str = "6000"
    query_parser_code: str = "4000"
    # E5: the CloudEvents content type.
    cloudevents_content_type: str = "application/json"
    # E6: the refresh token's hard-expiry field (None: not sent).
    hard_expiry_field: str | None = None
    # E7: whether entity and property names in queries are case-sensitive.
    query_names_case_sensitive: bool = True
    # Not in Part E but unconfirmed too: refresh always rotates the refresh token (QBO may return the same
    # one for a while), credits and unapplied payments age in the "Current" column of AgedReceivables.
    rotate_refresh_tokens: bool = True
    aging_includes_credits: bool = True


@dataclass
class Limits:
    per_minute: int = 500
    concurrent: int = 10
    max_results: int = 1000  # MAXRESULTS cap
    cdc_max_objects: int = 1000
    cdc_lookback: timedelta = timedelta(days=30)
    access_token_seconds: int = 3600
    refresh_token_seconds: int = 8_726_400


class _Fault(Exception):
    def __init__(self, code: str, message: str, detail: str, *, status: int = 400, kind: str = "ValidationFault",
                 element: str = "") -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code, self.message, self.detail = code, message, detail
        self.status, self.kind, self.element = status, kind, element


def _required(name: str) -> _Fault:
    return _Fault("2020", "Required param missing, need to supply the required value for the API",
                  f"Required parameter {name} is missing in the request", element=name)


def _invalid(detail: str) -> _Fault:
    return _Fault("2010", "Request has invalid or unsupported property", f"Property Name:{detail}")


def _bad_reference(kind: str, value: Any) -> _Fault:
    return _Fault("2500", "Invalid Reference Id", f"Invalid Reference Id : {kind} {value} does not exist")


def _not_found(entity: str, entity_id: Any) -> _Fault:
    return _Fault("610", "Object Not Found",
                  f"Object Not Found : Something you're trying to use has been made inactive or deleted: "
                  f"{entity} {entity_id}")


def _business(detail: str, code: str = "6000") -> _Fault:
    return _Fault(code, "A business validation error has occurred while processing your request",
                  f"Business Validation Error: {detail}")


def _stale() -> _Fault:
    return _Fault("5010", "Stale Object Error",
                  "Stale Object Error : You and another user were working on this at the same time. The other "
                  "user finished before you did, so your work was not saved.")


# --- wire format ------------------------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    """A response `time`: the company's zone, milliseconds."""
    return moment.astimezone(COMPANY_ZONE).isoformat(timespec="milliseconds")


def _meta_time(moment: datetime) -> str:
    """MetaData times: the company's zone, whole seconds."""
    return moment.astimezone(COMPANY_ZONE).isoformat(timespec="seconds")


def _number(value: Decimal) -> str:
    """Amounts look like QuickBooks' (300.0, 120.5): JSON numbers, never strings."""
    text = format(value, "f")
    if "." not in text:
        return text + ".0"
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def _dumps(value: Any) -> str:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)


def _loads(body: bytes | str) -> Any:
    return json.loads(body, parse_float=Decimal)


def _clean(value: Any) -> Any:
    """python-quickbooks sends every attribute, empty ones as "": QuickBooks treats those as absent."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _amount(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _invalid(what)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _invalid(what) from None
    if not number.is_finite():
        raise _invalid(what)
    return number


def _ref_value(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def _day(value: Any, what: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _invalid(what) from None


def _int_id(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


# --- state ---------------------------------------------------------------------------------------------------


@dataclass
class _Recorded:
    status: int
    body: bytes
    media_type: str
    fingerprint: str
    at: float


@dataclass
class Change:
    entity: str
    entity_id: str
    operation: str  # Create, Update, Delete, Void, Emailed, Merge
    at: datetime


@dataclass
class _Realm:
    id: str
    home_currency: str
    entities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    tombstones: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    next_ids: dict[str, int] = field(default_factory=dict)
    doc_numbers: dict[str, int] = field(default_factory=dict)
    requestids: dict[str, _Recorded] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    announced: int = 0
    calls: deque[float] = field(default_factory=deque)
    in_flight: int = 0


@dataclass
class _AccessGrant:
    realm: str
    expires_at: datetime


@dataclass
class SentEmail:
    realm: str
    entity: str
    entity_id: str
    to: str
    at: datetime


# --- the query language -----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])
    |(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))""",
    re.X,
)


@dataclass
class _Query:
    count: bool
    entity: str
    conditions: list[tuple[str, str, Any]]
    order: list[tuple[str, bool]]  # (property, descending)
    start: int
    max_results: int | None


class _Parser:
    def __init__(self, text: str, code: str) -> None:
        self.text, self.code = text, code
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise self.error(text[position:].strip()[:1], position)
            kind = match.lastgroup or "word"
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.at = 0

    def error(self, found: str, column: int) -> _Fault:
        return _Fault(self.code, "Error parsing query",
                      f'QueryParserError: Encountered " {found!r} " at line 1, column {column + 1}.')

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.at += 1
            return token[1].upper()
        return None

    def expect_keyword(self, word: str) -> None:
        if self.keyword(word) is None:
            token = self.peek()
            raise self.error(token[1] if token else "<EOF>", token[2] if token else len(self.text))

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise self.error(token[1] if token else "<EOF>", token[2] if token else len(self.text))
        self.at += 1
        return token[1]

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.error("<EOF>", len(self.text))
        self.at += 1
        if token[0] == "string":
            return re.sub(r"\\(.)", r"\1", token[1][1:-1])
        if token[0] in ("number", "word"):
            return token[1]
        raise self.error(token[1], token[2])

    def parse(self) -> _Query:
        self.expect_keyword("SELECT")
        count = False
        if self.keyword("COUNT"):
            self.take("punct", "(")
            self.take("punct", "*")
            self.take("punct", ")")
            count = True
        else:
            # `*`, `*, Sku`, or a list of properties: rows are whole objects either way.
            while True:
                token = self.peek()
                if token and token[0] == "punct" and token[1] == "*":
                    self.at += 1
                elif token and token[0] == "word" and token[1].upper() != "FROM":
                    self.at += 1
                else:
                    raise self.error(token[1] if token else "<EOF>", token[2] if token else len(self.text))
                nxt = self.peek()
                if nxt and nxt[0] == "punct" and nxt[1] == ",":
                    self.at += 1
                    continue
                break
        self.expect_keyword("FROM")
        entity = self.take("word")
        conditions: list[tuple[str, str, Any]] = []
        if self.keyword("WHERE"):
            while True:
                prop = self.take("word")
                if self.keyword("IN"):
                    self.take("punct", "(")
                    values = [self.value()]
                    while (token := self.peek()) and token[1] == ",":
                        self.at += 1
                        values.append(self.value())
                    self.take("punct", ")")
                    conditions.append((prop, "IN", values))
                elif self.keyword("LIKE"):
                    conditions.append((prop, "LIKE", self.value()))
                else:
                    conditions.append((prop, self.take("op"), self.value()))
                if self.keyword("AND"):
                    continue
                token = self.peek()
                if token and token[0] == "word" and token[1].upper() == "OR":
                    raise self.error(token[1], token[2])
                break
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDERBY") or (self.keyword("ORDER") and self.keyword("BY")):
            while True:
                prop = self.take("word")
                descending = self.keyword("ASC", "DESC") == "DESC"
                order.append((prop, descending))
                token = self.peek()
                if token and token[1] == ",":
                    self.at += 1
                    continue
                break
        start, max_results = 1, None
        while (word := self.keyword("STARTPOSITION", "MAXRESULTS")) is not None:
            number = int(self.take("number"))
            if word == "STARTPOSITION":
                start = max(1, number)
            else:
                max_results = number
        token = self.peek()
        if token is not None:
            raise self.error(token[1], token[2])
        return _Query(count, entity, conditions, order, start, max_results)


def _property(obj: dict[str, Any], path: str, case_sensitive: bool) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        key = part if case_sensitive else next((k for k in current if k.lower() == part.lower()), part)
        current = current.get(key)
    if isinstance(current, dict) and "value" in current:
        current = current["value"]  # references compare by their value: CustomerRef = '58'
    return current


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, bool):
        return str(left).lower(), str(right).lower()
    try:
        return Decimal(str(left)), Decimal(str(right))
    except InvalidOperation:
        pass
    if "T" in str(left) and "T" in str(right):
        try:
            return datetime.fromisoformat(str(left)), datetime.fromisoformat(str(right))
        except ValueError:
            pass
    return str(left), str(right)


def _matches(obj: dict[str, Any], condition: tuple[str, str, Any], case_sensitive: bool) -> bool:
    prop, op, expected = condition
    actual = _property(obj, prop, case_sensitive)
    if actual is None:
        return False
    if op == "IN":
        return any(_matches(obj, (prop, "=", value), case_sensitive) for value in expected)
    if op == "LIKE":
        pattern = "".join(".*" if c == "%" else re.escape(c) for c in str(expected))
        return re.fullmatch(pattern, str(actual), re.I | re.S) is not None
    left, right = _comparable(actual, expected)
    try:
        return {"=": left == right, "!=": left != right, "<>": left != right, "<": left < right,
                ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    try:
        return (1, Decimal(str(value)))
    except InvalidOperation:
        return (2, str(value))


# --- the emulator -------------------------------------------------------------------------------------------------


class QuickBooksEmulator(ServedEmulator):
    """QuickBooks Online on 127.0.0.1. Use as a context manager (or `start()` / `stop()`)."""

    def __init__(
        self,
        *,
        realm_id: str = "9130350000000000",
        client_id: str = "duecourse-test-client",
        client_secret: str = "duecourse-test-secret",
        verifier_token: str = "duecourse-test-verifier",
        home_currency: str = "USD",
        clock: Callable[[], datetime] | None = None,
        assumptions: Assumptions | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.realm_id = realm_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.verifier_token = verifier_token
        self.clock = clock or (lambda: datetime.now(UTC))
        self.faults = QuickBooksFaults()
        self.assumptions = assumptions or Assumptions()
        self.limits = limits or Limits()
        self.realms: dict[str, _Realm] = {}
        self.consent_realm = realm_id
        # Observations tests assert on.
        self.writes: Counter[str] = Counter()  # requestid ("" when none) -> writes it caused
        self.requestid_arrivals: Counter[str] = Counter()  # requestid -> requests that carried it
        self.calls: list[tuple[str, str]] = []  # (method, path?query) of every API call
        self.bodies: list[tuple[str, bytes]] = []  # (path?query, body) of every API POST
        self.queries: list[str] = []
        self.max_in_flight = 0  # the most API calls one realm had open at once
        self.token_grants: list[str] = []  # grant_type of every token request
        self.outbox: list[SentEmail] = []
        self.webhook_retry_delays: tuple[float, ...] = (0.0, 0.01, 0.02, 0.03)  # Intuit: 0 s, 10 s, 20 s, 30 s, …
        self._access: dict[str, _AccessGrant] = {}
        self._refresh: dict[str, str] = {}  # live refresh token -> realm
        self._codes: dict[str, tuple[str, str]] = {}  # authorization code -> (realm, redirect_uri)
        self._lock = threading.RLock()
        self.add_realm(realm_id, home_currency)
        app = self._build_app()
        count_answers(app, self.faults, API_PREFIX)
        super().__init__(app, "quickbooks-emulator")

    @property
    def base_url(self) -> str:
        """What `QuickBooksLedger(base_url=…)` takes (python-quickbooks' api_url_v3 is this + "/v3")."""
        return self.root_url

    @property
    def token_url(self) -> str:
        return f"{self.root_url}{TOKEN_PATH}"

    @property
    def authorize_url(self) -> str:
        return f"{self.root_url}{AUTHORIZE_PATH}"

    @property
    def discovery_url(self) -> str:
        return f"{self.root_url}/.well-known/openid_configuration"

    # --- tokens ----------------------------------------------------------------------------------------

    def _issue(self, realm: str) -> dict[str, Any]:
        access = "eyJ" + secrets.token_urlsafe(24)
        refresh = "AB11" + secrets.token_urlsafe(30)
        now = datetime.now(UTC)
        self._access[access] = _AccessGrant(realm, now + timedelta(seconds=self.limits.access_token_seconds))
        self._refresh[refresh] = realm
        body: dict[str, Any] = {"token_type": "bearer", "access_token": access, "refresh_token": refresh,
                                "expires_in": self.limits.access_token_seconds,
                                "x_refresh_token_expires_in": self.limits.refresh_token_seconds}
        if self.assumptions.hard_expiry_field:
            body[self.assumptions.hard_expiry_field] = 157_680_000  # five years
        return body

    def issue_tokens(self, realm_id: str | None = None, *, expires_in: float | None = None) -> OAuthTokens:
        """Tokens as a completed connect flow would leave them (for seeding a TokenStore)."""
        realm = realm_id or self.realm_id
        with self._lock:
            body = self._issue(realm)
            now = datetime.now(UTC)
            expires_at = now + timedelta(seconds=expires_in if expires_in is not None else body["expires_in"])
            self._access[body["access_token"]].expires_at = expires_at
        return OAuthTokens(access_token=body["access_token"], refresh_token=body["refresh_token"],
                           expires_at=expires_at,
                           refresh_expires_at=now + timedelta(seconds=body["x_refresh_token_expires_in"]),
                           tenant=realm)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 401 (while the client still thinks it valid)."""
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = datetime.now(UTC) - timedelta(seconds=1)

    def revoke_refresh_tokens(self) -> None:
        """The user disconnected the app: every refresh token now answers invalid_grant."""
        with self._lock:
            self._refresh.clear()

    # --- test helpers ---------------------------------------------------------------------------------

    def add_realm(self, realm_id: str, home_currency: str = "USD") -> None:
        with self._lock:
            realm = _Realm(realm_id, home_currency)
            self.realms[realm_id] = realm
            now = _meta_time(self.clock())
            meta = {"CreateTime": now, "LastUpdatedTime": now}
            base = {"SyncToken": "0", "domain": "QBO", "sparse": False, "MetaData": meta}
            realm.entities["CompanyInfo"][realm_id] = {**base, "Id": realm_id, "CompanyName": "Emulated Books",
                                                       "Country": "US", "SupportedLanguages": "en"}
            for account_id, name, kind in ((UNDEPOSITED_FUNDS, "Undeposited Funds", "Other Current Asset"),
                                           ("35", "Checking", "Bank"), ("79", "Services", "Income"),
                                           ("80", "Uncategorized Income", "Income"),
                                           ("81", "Interest Earned", "Other Income")):
                realm.entities["Account"][account_id] = {**base, "Id": account_id, "Name": name,
                                                         "AccountType": kind, "Active": True}
            realm.entities["Item"]["1"] = {**base, "Id": "1", "Name": "Services", "Type": "Service", "Active": True,
                                           "IncomeAccountRef": {"value": "79", "name": "Services"}}
            for term_id, name, days in (("1", "Due on receipt", 0), ("2", "Net 15", 15), ("3", "Net 30", 30),
                                        ("4", "Net 60", 60)):
                realm.entities["Term"][term_id] = {**base, "Id": term_id, "Name": name, "DueDays": days,
                                                   "Type": "STANDARD", "Active": True}
            for entity, objects in realm.entities.items():
                for key in objects:
                    realm.next_ids[entity] = max(realm.next_ids.get(entity, 1), _int_id(key) + 1)

    def set_company_address(self, address: dict[str, Any] | None, *, legal: dict[str, Any] | None = None,
                            country: str | None = None, realm_id: str | None = None) -> None:
        """The company's own addresses in CompanyInfo (CompanyAddr, LegalAddr) and its Country, as the person
        who set the company up entered them (None leaves a field out)."""
        with self._lock:
            info = self._realm(realm_id).entities["CompanyInfo"][realm_id or self.realm_id]
            for field, value in (("CompanyAddr", address), ("LegalAddr", legal), ("Country", country)):
                if value is None:
                    info.pop(field, None)
                else:
                    info[field] = copy.deepcopy(value)

    def _realm(self, realm_id: str | None) -> _Realm:
        return self.realms[realm_id or self.realm_id]

    def seed(self, entity: str, body: dict[str, Any], realm_id: str | None = None) -> dict[str, Any]:
        """Creates an object as a person would in QuickBooks (same rules as the API; no HTTP, no counters)."""
        with self._lock:
            realm = self._realm(realm_id)
            return copy.deepcopy(self._create(realm, entity, _clean(copy.deepcopy(body))))

    def put_raw(self, entity: str, payload: str | dict[str, Any], realm_id: str | None = None) -> dict[str, Any]:
        """Stores a recorded QuickBooks object exactly as given (JSON text keeps its numbers Decimal)."""
        obj = _loads(payload) if isinstance(payload, str) else copy.deepcopy(payload)
        obj = obj.get(entity, obj)
        with self._lock:
            realm = self._realm(realm_id)
            realm.entities[entity][str(obj["Id"])] = obj
            realm.next_ids[entity] = max(realm.next_ids.get(entity, 1), _int_id(obj["Id"]) + 1)
            return copy.deepcopy(obj)

    def entity(self, entity: str, entity_id: str, realm_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._realm(realm_id).entities[entity][entity_id])

    def touch(self, entity: str, entity_id: str, realm_id: str | None = None) -> None:
        """Someone else saves the object in QuickBooks: its SyncToken moves on."""
        with self._lock:
            realm = self._realm(realm_id)
            self._bump(realm, entity, realm.entities[entity][entity_id], "Update")

    def remove(self, entity: str, entity_id: str, realm_id: str | None = None) -> None:
        """Someone deletes the object in QuickBooks (CDC then reports a deleted stub)."""
        with self._lock:
            realm = self._realm(realm_id)
            current = realm.entities[entity][entity_id]
            self._delete(realm, entity, {"Id": entity_id, "SyncToken": current.get("SyncToken", "0")})

    def changes(self, realm_id: str | None = None) -> list[Change]:
        with self._lock:
            return list(self._realm(realm_id).changes)

    # --- webhooks --------------------------------------------------------------------------------------

    def webhook_body(self, payload_kind: Literal["classic", "cloudevents"], changes: list[Change],
                     realm_id: str | None = None) -> bytes:
        realm = realm_id or self.realm_id

        def utc(moment: datetime) -> str:
            return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        if payload_kind == "classic":
            entities = [{"name": c.entity, "id": c.entity_id, "operation": c.operation, "lastUpdated": utc(c.at)}
                        for c in changes]
            payload: Any = {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": entities}}]}
        else:
            source = "intuit." + base64.b64encode(hashlib.sha256(self.client_id.encode()).digest()).decode()
            payload = [{
                "specversion": "1.0",
                # The same change keeps its id on every retry, as a CloudEvents producer must.
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{realm}/{c.entity}/{c.entity_id}/{c.operation}/{c.at}")),
                "source": source,
                "type": f"qbo.{c.entity.lower()}.{WEBHOOK_ACTIONS.get(c.operation, 'updated')}.v1",
                "datacontenttype": "application/json",
                "time": utc(c.at),
                "intuitentityid": c.entity_id,
                "intuitaccountid": realm,
                "data": {},
            } for c in changes]
        return json.dumps(payload, separators=(",", ":")).encode()

    def signature(self, body: bytes) -> str:
        """Intuit's `intuit-signature`: base64(HMAC-SHA256(verifier token, raw body))."""
        digest = hmac.new(self.verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def send_webhook(self, url: str, payload_kind: Literal["classic", "cloudevents"] = "classic", *,
                     changes: list[Change] | None = None, realm_id: str | None = None) -> httpx.Response:
        """POSTs the changes not announced yet (or `changes`), signed; retries a failed delivery on a
        compressed copy of Intuit's schedule and returns the last answer."""
        with self._lock:
            realm = self._realm(realm_id)
            if changes is None:
                changes = realm.changes[realm.announced:]
                realm.announced = len(realm.changes)
        body = self.webhook_body(payload_kind, changes, realm.id)
        content_type = "application/json" if payload_kind == "classic" else self.assumptions.cloudevents_content_type
        headers = {SIGNATURE_HEADER: self.signature(body), "content-type": content_type}
        response: httpx.Response | None = None
        failure: Exception | None = None
        for delay in self.webhook_retry_delays:
            time.sleep(delay)
            try:
                response = httpx.post(url, content=body, headers=headers, timeout=5)
            except httpx.HTTPError as error:
                failure = error
                continue
            if response.is_success:
                break
        if response is None:
            raise RuntimeError(f"webhook to {url} failed: {failure}")
        return response

    # --- the app ---------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.get("/.well-known/openid_configuration")
        @app.get("/.well-known/openid_sandbox_configuration")
        async def discovery() -> Response:
            root = self.root_url
            doc = {"issuer": "https://oauth.platform.intuit.com/op/v1",
                   "authorization_endpoint": f"{root}/connect/oauth2",
                   "token_endpoint": f"{root}/oauth2/v1/tokens/bearer",
                   "userinfo_endpoint": f"{root}/v1/openid_connect/userinfo",
                   "revocation_endpoint": f"{root}/oauth2/v1/tokens/revoke",
                   "jwks_uri": f"{root}/op/v1/jwks"}
            return Response(json.dumps(doc), media_type="application/json")

        @app.get(AUTHORIZE_PATH)
        async def authorize(request: Request) -> Response:
            params = request.query_params
            if params.get("client_id") != self.client_id or params.get("response_type") != "code":
                return Response("unknown client or response_type", status_code=400)
            if ACCOUNTING_SCOPE not in (params.get("scope") or "").split():
                return Response(f"missing scope {ACCOUNTING_SCOPE}", status_code=400)
            redirect = params.get("redirect_uri") or ""
            code = "AB" + secrets.token_urlsafe(20)
            with self._lock:
                self._codes[code] = (self.consent_realm, redirect)
            query = urlencode({"code": code, "state": params.get("state", ""), "realmId": self.consent_realm})
            return Response(status_code=302, headers={"location": f"{redirect}?{query}"})

        @app.post(TOKEN_PATH)
        async def token(request: Request) -> Response:
            return self._token(request.headers.get("authorization"), await request.body())

        @app.post("/oauth2/v1/tokens/revoke")
        async def revoke(request: Request) -> Response:
            if not self._client_ok(request.headers.get("authorization")):
                return Response(json.dumps({"error": "invalid_client"}), 401, media_type="application/json")
            try:
                revoked = str(_loads(await request.body()).get("token", ""))
            except (ValueError, AttributeError):
                return Response(status_code=400)
            with self._lock:
                self._refresh.pop(revoked, None)
                self._access.pop(revoked, None)
            return Response(status_code=200)

        @app.api_route(API_PREFIX + "{realm_id}/{path:path}", methods=["GET", "POST"])
        async def api(request: Request, realm_id: str, path: str) -> Response:
            body = await request.body()
            method = request.method
            params = dict(request.query_params)
            query = f"?{request.url.query}" if request.url.query else ""
            with self._lock:
                self.calls.append((method, f"{API_PREFIX}{realm_id}/{path}{query}"))
                if method == "POST":
                    self.bodies.append((f"{API_PREFIX}{realm_id}/{path}{query}", body))
                if self.faults.stale_tokens:
                    self.faults.stale_tokens = False
                    self.expire_access_tokens()
                refused = self._authenticate(request.headers.get("authorization"), realm_id)
                if refused is not None:
                    return refused
                realm = self.realms[realm_id]
                refused = self._admit(realm)
                if refused is not None:
                    return refused
                realm.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, realm.in_flight)
            try:
                if self.faults.slow_seconds:
                    await asyncio.sleep(self.faults.slow_seconds)
                with self._lock:
                    return self._respond(realm, method, path, params, body)
            finally:
                with self._lock:
                    realm.in_flight -= 1

        return app

    # --- OAuth -----------------------------------------------------------------------------------------

    def _client_ok(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return bool(header) and secrets.compare_digest(str(header), f"Basic {expected}")

    def _token(self, authorization: str | None, body: bytes) -> Response:
        def answer(payload: dict[str, Any], status: int = 200) -> Response:
            return Response(json.dumps(payload), status_code=status, media_type="application/json",
                            headers={"cache-control": "no-store"})

        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        with self._lock:
            self.token_grants.append(form.get("grant_type", ""))
            if not self._client_ok(authorization):
                return answer({"error": "invalid_client"}, 401)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                issued = self._codes.pop(form.get("code", ""), None)
                if issued is None or issued[1] != form.get("redirect_uri"):
                    return answer({"error": "invalid_grant"}, 400)
                return answer(self._issue(issued[0]))
            if grant == "refresh_token":
                presented = form.get("refresh_token", "")
                realm = self._refresh.get(presented)
                if realm is None:
                    return answer({"error": "invalid_grant"}, 400)
                if not self.assumptions.rotate_refresh_tokens:
                    body_out = self._issue(realm)
                    self._refresh.pop(body_out["refresh_token"])
                    body_out["refresh_token"] = presented
                    return answer(body_out)
                del self._refresh[presented]  # rotated: the old one stops working
                return answer(self._issue(realm))
            return answer({"error": "unsupported_grant_type"}, 400)

    def _authenticate(self, header: str | None, realm_id: str) -> Response | None:
        token = header[7:].strip() if header and header.lower().startswith("bearer ") else ""
        grant = self._access.get(token)
        if grant is None:
            detail = "Token invalid"
        elif grant.expires_at <= datetime.now(UTC):
            detail = f"Token expired: {token[:12]}…"
        elif grant.realm != realm_id or realm_id not in self.realms:
            detail = "Token not valid for this company"
        else:
            return None
        body = {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                     "detail": detail, "code": "3200"}], "type": "AUTHENTICATION"},
                "time": _stamp(self.clock())}
        return Response(json.dumps(body), status_code=401, media_type="application/json",
                        headers={"www-authenticate": 'Bearer realm="Intuit", error="invalid_token"'})

    # --- limits and faults --------------------------------------------------------------------------------

    def _throttled(self, retry_after: str | None) -> Response:
        message = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
        detail = "The request limit was reached.  Try again later"
        headers = {"retry-after": retry_after} if retry_after else {}
        kind = self.assumptions.throttle_fault_type
        if self.assumptions.throttle_body == "xml":
            xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
                   f'xmlns="http://schema.intuit.com/finance/v3" time="{_stamp(self.clock())}"><Fault type="{kind}">'
                   f'<Error code="3001"><Message>{message}</Message><Detail>{detail}</Detail></Error></Fault>'
                   f"</IntuitResponse>")
            return Response(xml, status_code=429, media_type="application/xml", headers=headers)
        body = {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": "3001"}], "type": kind},
                "time": _stamp(self.clock())}
        return Response(json.dumps(body), status_code=429, media_type="application/json", headers=headers)

    def _admit(self, realm: _Realm) -> Response | None:
        fault = self.faults.admit()
        now = time.monotonic()
        while realm.calls and now - realm.calls[0] >= 60:
            realm.calls.popleft()
        if fault == "rate_limited":
            retry_after = self.faults.retry_after
            return self._throttled(None if retry_after is None else f"{retry_after:g}")
        if len(realm.calls) >= self.limits.per_minute or realm.in_flight >= self.limits.concurrent:
            return self._throttled(self.assumptions.retry_after)
        realm.calls.append(now)
        if self.faults.unavailable_next > 0:
            self.faults.unavailable_next -= 1
            page = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>503</body></html>"
            return Response(page, status_code=503, media_type="text/html")
        if fault == "server_error":
            return self._fault(_Fault("10000", "An application error has occurred while processing your request",
                                      "System Failure Error: An unexpected error occurred while accessing or saving "
                                      "your data. Please wait a few minutes and try again.",
                                      status=500, kind="SystemFault"))
        return None

    def _fault(self, fault: _Fault) -> Response:
        body = {"Fault": {"Error": [{"Message": fault.message, "Detail": fault.detail, "code": fault.code,
                                     "element": fault.element}], "type": fault.kind},
                "time": _stamp(self.clock())}
        return Response(json.dumps(body), status_code=fault.status, media_type="application/json")

    def _ok(self, payload: dict[str, Any]) -> Response:
        return Response(_dumps(payload), media_type="application/json")

    # --- dispatch ---------------------------------------------------------------------------------------

    def _respond(self, realm: _Realm, method: str, path: str, params: dict[str, str], body: bytes) -> Response:
        parts = [p for p in path.split("/") if p]
        try:
            if method == "GET" and parts[:1] == ["reports"]:
                return Response(_dumps(self._report(realm, parts, params)), media_type="application/json")
            if method == "GET" and len(parts) == 3 and parts[2] == "pdf":
                entity = self._entity_name(parts[0])
                self._existing(realm, entity, parts[1])
                return Response(b"%PDF-1.4\n% " + f"{entity} {parts[1]}".encode() + b"\n%%EOF\n",
                                media_type="application/pdf")
            if method == "GET":
                return self._ok(self._read(realm, parts, params))
            if parts == ["query"]:
                return self._ok(self._query(realm, body.decode("utf-8")))
            return self._write(realm, parts, params, body)
        except _Fault as fault:
            return self._fault(fault)

    def _entity_name(self, segment: str) -> str:
        name = ENTITY_PATHS.get(segment.lower())
        if name is None:
            raise _Fault("500", "Unsupported Operation", f"Operation {segment} is not supported.")
        return name

    def _existing(self, realm: _Realm, entity: str, entity_id: Any) -> dict[str, Any]:
        obj = realm.entities[entity].get(str(entity_id))
        if obj is None:
            raise _not_found(entity, entity_id)
        return obj

    def _read(self, realm: _Realm, parts: list[str], params: dict[str, str]) -> dict[str, Any]:
        if parts == ["query"]:
            return self._query(realm, params.get("query", ""))
        if parts == ["cdc"]:
            return self._cdc(realm, params)
        if len(parts) == 2:
            entity = self._entity_name(parts[0])
            return {entity: copy.deepcopy(self._existing(realm, entity, parts[1])), "time": _stamp(self.clock())}
        raise _Fault("500", "Unsupported Operation", f"Operation GET {'/'.join(parts)} is not supported.")

    def _write(self, realm: _Realm, parts: list[str], params: dict[str, str], body: bytes) -> Response:
        rid = params.get("requestid") or ""
        if rid:
            self.requestid_arrivals[rid] += 1
            if len(rid) > 50:
                return self._fault(_invalid("requestid (at most 50 characters)"))
            fingerprint = hashlib.sha256("/".join(parts).encode() + b"?" +
                                         urlencode(sorted((k, v) for k, v in params.items() if k != "requestid"))
                                         .encode() + b"\n" + body).hexdigest()
            recorded = realm.requestids.get(rid)
            ttl = self.assumptions.requestid_ttl_seconds
            if recorded is not None and (ttl is None or time.monotonic() - recorded.at < ttl):
                if recorded.fingerprint != fingerprint and self.assumptions.requestid_mismatch == "reject":
                    return self._fault(_Fault("600", "Duplicate Request ID", f"Request ID {rid} was already used"))
                return Response(recorded.body, status_code=recorded.status, media_type=recorded.media_type)
        try:
            payload = self._perform(realm, parts, params, body)
        except _Fault as fault:
            response = self._fault(fault)
            if rid and self.assumptions.requestid_replays_faults:
                realm.requestids[rid] = _Recorded(response.status_code, bytes(response.body), "application/json",
                                                  fingerprint, time.monotonic())
            return response
        response = self._ok(payload)
        self.writes[rid] += 1
        if rid:
            realm.requestids[rid] = _Recorded(200, bytes(response.body), "application/json", fingerprint,
                                              time.monotonic())
        if self.faults.lose_write():
            return self._fault(_Fault("10000", "An application error has occurred while processing your request",
                                      "System Failure Error: the connection was reset", status=500,
                                      kind="SystemFault"))
        return response

    def _perform(self, realm: _Realm, parts: list[str], params: dict[str, str], body: bytes) -> dict[str, Any]:
        now = _stamp(self.clock())
        if len(parts) == 3 and parts[2] == "send":
            entity = self._entity_name(parts[0])
            return {entity: copy.deepcopy(self._send(realm, entity, parts[1], params.get("sendTo"))), "time": now}
        if len(parts) != 1 or parts[0] in ("upload", "batch"):
            raise _Fault("500", "Unsupported Operation", f"Operation POST {'/'.join(parts)} is not supported.")
        entity = self._entity_name(parts[0])
        try:
            data = _loads(body or b"{}")
        except ValueError as error:
            raise _Fault("2010", "Request has invalid or unsupported property", f"Error parsing object: {error}") \
                from None
        if not isinstance(data, dict):
            raise _invalid("the body must be a JSON object")
        data = _clean(data)
        operation = params.get("operation", "").lower()
        if operation == "void" or (operation == "update" and params.get("include") == "void"):
            return {entity: copy.deepcopy(self._void(realm, entity, data)), "time": now}
        if operation == "delete":
            return {entity: self._delete(realm, entity, data), "time": now}
        if operation not in ("", "update", "create"):
            raise _Fault("500", "Unsupported Operation", f"Operation {operation} is not supported.")
        if _int_id(data.get("Id")) > 0:
            return {entity: copy.deepcopy(self._update(realm, entity, data)), "time": now}
        return {entity: copy.deepcopy(self._create(realm, entity, data)), "time": now}

    # --- bookkeeping ---------------------------------------------------------------------------------------

    def _new_id(self, realm: _Realm, entity: str) -> str:
        number = realm.next_ids.get(entity, 1)
        realm.next_ids[entity] = number + 1
        return f"{5000000000000 + number}" if entity == "Attachable" else str(number)

    def _meta(self) -> dict[str, str]:
        now = _meta_time(self.clock())
        return {"CreateTime": now, "LastUpdatedTime": now}

    def _record(self, realm: _Realm, entity: str, entity_id: str, operation: str) -> None:
        realm.changes.append(Change(entity, entity_id, operation, self.clock()))

    def _bump(self, realm: _Realm, entity: str, obj: dict[str, Any], operation: str) -> None:
        obj["SyncToken"] = str(int(obj.get("SyncToken") or 0) + 1)
        obj.setdefault("MetaData", {})["LastUpdatedTime"] = _meta_time(self.clock())
        self._record(realm, entity, str(obj["Id"]), operation)

    def _check_sync(self, realm: _Realm, entity: str, current: dict[str, Any], given: Any) -> None:
        if given is None:
            raise _required("SyncToken")
        if self.faults.stale_next > 0:
            self.faults.stale_next -= 1
            self._bump(realm, entity, current, "Update")  # someone else saved first
            raise _stale()
        if str(given) != str(current.get("SyncToken")):
            raise _stale()

    def _customer_ref(self, realm: _Realm, ref: Any) -> dict[str, str]:
        value = _ref_value(ref)
        if value is None:
            raise _required("CustomerRef")
        customer = realm.entities["Customer"].get(value)
        if customer is None:
            raise _bad_reference("Customer", value)
        return {"value": value, "name": customer["DisplayName"]}

    def _currency_ref(self, realm: _Realm, ref: Any) -> dict[str, str]:
        code = (_ref_value(ref) or realm.home_currency).upper()
        return {"value": code, "name": CURRENCY_NAMES.get(code, code)}

    def _doc_number(self, realm: _Realm, entity: str, given: Any, own_id: str | None = None) -> str:
        if given not in (None, ""):
            number = str(given)
            for other in realm.entities[entity].values():
                if str(other.get("DocNumber")) == number and str(other["Id"]) != own_id:
                    raise _Fault("6140", "Duplicate Document Number Error",
                                 "Duplicate Document Number Error : You must specify a different number. "
                                 f"This number has already been used. DocNumber={number}")
            return number
        start = {"Invoice": 1001, "Estimate": 1001, "CreditMemo": 1}.get(entity, 1)
        number_int = realm.doc_numbers.get(entity, start)
        taken = {str(o.get("DocNumber")) for o in realm.entities[entity].values()}
        prefix = "CM-" if entity == "CreditMemo" else ""
        while f"{prefix}{number_int}" in taken:
            number_int += 1
        realm.doc_numbers[entity] = number_int + 1
        return f"{prefix}{number_int}"

    def _sales_lines(self, realm: _Realm, lines: Any) -> tuple[list[dict[str, Any]], Decimal]:
        if not isinstance(lines, list) or not lines:
            raise _required("Line")
        out: list[dict[str, Any]] = []
        total = ZERO
        for line in lines:
            kind = line.get("DetailType") or next(
                (k for k in ("SalesItemLineDetail", "DiscountLineDetail", "GroupLineDetail") if k in line), None)
            if kind == "SubTotalLineDetail":
                continue  # computed by the server
            if kind not in ("SalesItemLineDetail", "DiscountLineDetail", "GroupLineDetail", "DescriptionOnly"):
                raise _Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {kind} (Line.DetailType)")
            amount = _amount(line.get("Amount"), "Line.Amount")
            entry = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
            if kind == "SalesItemLineDetail":
                if amount is None:
                    raise _required("Line.Amount")
                detail = dict(line.get("SalesItemLineDetail") or {})
                item_id = _ref_value(detail.get("ItemRef")) or "1"  # the company's default service item
                item = realm.entities["Item"].get(item_id)
                if item is None:
                    raise _bad_reference("Item", item_id)
                detail["ItemRef"] = {"value": item_id, "name": item["Name"]}
                qty = _amount(detail.get("Qty"), "Qty")
                price = _amount(detail.get("UnitPrice"), "UnitPrice")
                if qty and price and (qty * price).quantize(CENT) != amount.quantize(CENT):
                    # [?] the exact code; QuickBooks refuses an Amount that is not Qty x UnitPrice.
                    raise _business(f"Amount {amount} is not equal to UnitPrice {price} * Qty {qty}", "6070")
                detail.setdefault("TaxCodeRef", {"value": "NON"})
                entry["SalesItemLineDetail"] = detail
                total += amount
            elif kind == "DiscountLineDetail":
                total -= amount or ZERO
            elif kind == "GroupLineDetail":
                total += amount or ZERO
            entry.update({"Id": str(len(out) + 1), "LineNum": len(out) + 1, "DetailType": kind,
                          "Amount": amount if amount is not None else ZERO})
            out.append(entry)
        return out, total

    def _applied(self, realm: _Realm, txn_type: str, txn_id: str) -> Decimal:
        total = ZERO
        for payment in realm.entities["Payment"].values():
            for line in payment.get("Line") or []:
                if any(link.get("TxnType") == txn_type and str(link.get("TxnId")) == txn_id
                       for link in line.get("LinkedTxn") or []):
                    total += _amount(line.get("Amount"), "Amount") or ZERO
        return total

    def _refresh_balances(self, realm: _Realm, customer_id: str) -> None:
        customer = realm.entities["Customer"].get(customer_id)
        if customer is None:
            return
        balance = sum((_amount(i.get("Balance"), "Balance") or ZERO for i in realm.entities["Invoice"].values()
                       if _ref_value(i.get("CustomerRef")) == customer_id), ZERO)
        customer["Balance"] = customer["BalanceWithJobs"] = balance

    def _link(self, obj: dict[str, Any], txn_id: str, txn_type: str) -> None:
        links = obj.setdefault("LinkedTxn", [])
        if not any(str(link.get("TxnId")) == txn_id and link.get("TxnType") == txn_type for link in links):
            links.append({"TxnId": txn_id, "TxnType": txn_type})

    def _unlink(self, obj: dict[str, Any], txn_id: str, txn_type: str) -> None:
        obj["LinkedTxn"] = [link for link in obj.get("LinkedTxn") or []
                            if not (str(link.get("TxnId")) == txn_id and link.get("TxnType") == txn_type)]

    # --- creating -----------------------------------------------------------------------------------------

    def _create(self, realm: _Realm, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        creators: dict[str, Callable[[_Realm, dict[str, Any]], dict[str, Any]]] = {
            "Customer": self._create_customer, "Invoice": self._create_invoice, "Estimate": self._create_estimate,
            "CreditMemo": self._create_credit_memo, "Payment": self._create_payment,
            "Deposit": self._create_deposit, "Attachable": self._create_attachable, "Term": self._create_term,
        }
        creator = creators.get(entity)
        if creator is None:
            raise _Fault("500", "Unsupported Operation", f"Operation create {entity} is not supported.")
        obj = creator(realm, data)
        obj.update({"domain": "QBO", "sparse": False, "SyncToken": "0", "MetaData": self._meta()})
        realm.entities[entity][str(obj["Id"])] = obj
        self._record(realm, entity, str(obj["Id"]), "Create")
        return obj

    def _check_name(self, realm: _Realm, name: str, own_id: str | None = None) -> None:
        for other in realm.entities["Customer"].values():
            if str(other.get("DisplayName", "")).lower() == name.lower() and str(other["Id"]) != own_id:
                raise _Fault("6240", "Duplicate Name Exists Error",
                             "The name supplied already exists. : Another customer, vendor or employee is already "
                             f"using this name. Please use a different name. Id={other['Id']}")

    def _create_customer(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("DisplayName") or " ".join(
            str(data[k]) for k in ("GivenName", "FamilyName") if data.get(k)) or data.get("CompanyName")
        if not name:
            raise _required("DisplayName")
        self._check_name(realm, str(name))
        term = _ref_value(data.get("SalesTermRef"))
        if term is not None and term not in realm.entities["Term"]:
            raise _bad_reference("Term", term)
        obj = {k: v for k, v in data.items() if k not in ("Id", "Balance", "BalanceWithJobs", "MetaData")}
        obj.update({"Id": self._new_id(realm, "Customer"), "DisplayName": str(name),
                    "FullyQualifiedName": str(name), "PrintOnCheckName": str(name), "Balance": ZERO,
                    "BalanceWithJobs": ZERO, "Active": data.get("Active", True), "Job": False,
                    "BillWithParent": False, "Taxable": data.get("Taxable", False),
                    "PreferredDeliveryMethod": data.get("PreferredDeliveryMethod", "Print"),
                    "CurrencyRef": self._currency_ref(realm, data.get("CurrencyRef"))})
        return obj

    def _sales_form(self, realm: _Realm, entity: str, data: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        customer = self._customer_ref(realm, data.get("CustomerRef"))
        lines, total = self._sales_lines(realm, data.get("Line"))
        today = self.clock().astimezone(COMPANY_ZONE).date()
        issued = _day(data.get("TxnDate"), "TxnDate") or today
        read_only = ("Id", "SyncToken", "TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "RemainingCredit",
                     "MetaData", "TxnTaxDetail", "InvoiceLink", "domain", "sparse", "LinkedTxn")
        obj = {k: v for k, v in data.items() if k not in read_only}
        obj.update({
            "Id": own_id or self._new_id(realm, entity),
            "CustomerRef": customer,
            "CurrencyRef": self._currency_ref(realm, data.get("CurrencyRef")),
            "TxnDate": issued.isoformat(),
            "DocNumber": self._doc_number(realm, entity, data.get("DocNumber"), own_id),
            "Line": [*lines, {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
            "TotalAmt": total,
            "HomeTotalAmt": total,
            "TxnTaxDetail": {"TotalTax": ZERO},
            "EmailStatus": data.get("EmailStatus", "NotSet"),
            "PrintStatus": data.get("PrintStatus", "NotSet"),
            "LinkedTxn": [],
        })
        if entity == "Invoice":
            due = _day(data.get("DueDate"), "DueDate")
            if due is None:
                customer_obj = realm.entities["Customer"][customer["value"]]
                term_id = _ref_value(data.get("SalesTermRef")) or _ref_value(customer_obj.get("SalesTermRef"))
                days = int(realm.entities["Term"].get(term_id or "", {}).get("DueDays", 0))
                due = issued + timedelta(days=days)
            if due < issued:
                raise _business("The due date must be on or after the transaction date")
            obj["DueDate"] = due.isoformat()
            obj.setdefault("Deposit", ZERO)
        return obj

    def _create_invoice(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        obj = self._sales_form(realm, "Invoice", data, None)
        total = obj["TotalAmt"]
        if total < 0:
            raise _business("Transaction total cannot be negative")
        obj["Balance"] = obj["HomeBalance"] = total
        estimates = [str(link["TxnId"]) for link in data.get("LinkedTxn") or [] if link.get("TxnType") == "Estimate"]
        for estimate_id in estimates:
            estimate = realm.entities["Estimate"].get(estimate_id)
            if estimate is None:
                raise _bad_reference("Estimate", estimate_id)
        for estimate_id in estimates:
            estimate = realm.entities["Estimate"][estimate_id]
            obj["LinkedTxn"].append({"TxnId": estimate_id, "TxnType": "Estimate"})
            estimate["TxnStatus"] = "Closed"  # invoicing an estimate closes it
            self._link(estimate, obj["Id"], "Invoice")
            self._bump(realm, "Estimate", estimate, "Update")
        realm.entities["Invoice"][obj["Id"]] = obj  # visible to the balance below
        self._refresh_balances(realm, obj["CustomerRef"]["value"])
        return obj

    def _create_estimate(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        status = data.get("TxnStatus", "Pending")
        if status not in self.assumptions.estimate_statuses:
            raise _Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {status} (TxnStatus)")
        obj = self._sales_form(realm, "Estimate", data, None)
        obj["TxnStatus"] = status
        return obj

    def _create_credit_memo(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        obj = self._sales_form(realm, "CreditMemo", data, None)
        obj["RemainingCredit"] = obj["Balance"] = obj["TotalAmt"]
        return obj

    def _create_payment(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer_ref(realm, data.get("CustomerRef"))
        total = _amount(data.get("TotalAmt"), "TotalAmt")
        if total is None:
            raise _required("TotalAmt")
        if total < 0:
            raise _business("The payment amount cannot be negative")
        # Validate every line before changing anything.
        plan: list[tuple[dict[str, Any], str, str, Decimal]] = []
        invoiced = credited = ZERO
        for line in data.get("Line") or []:
            amount = _amount(line.get("Amount"), "Line.Amount")
            if amount is None:
                raise _required("Line.Amount")
            links = line.get("LinkedTxn") or []
            if len(links) != 1:
                raise _business("Each payment line must link exactly one transaction")
            kind, txn_id = links[0].get("TxnType"), str(links[0].get("TxnId"))
            if kind not in ("Invoice", "CreditMemo"):
                raise _Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {kind} (LinkedTxn.TxnType)")
            target = realm.entities[kind].get(txn_id)
            if target is None:
                raise _bad_reference(kind, txn_id)
            if _ref_value(target.get("CustomerRef")) != customer["value"]:
                raise _business(f"{kind} {target.get('DocNumber')} belongs to another customer")
            open_amount = _amount(target.get("Balance"), "Balance") or ZERO
            already = sum((a for _, k, t, a in plan if k == kind and t == txn_id), ZERO)
            if amount + already > open_amount:
                raise _business(f"The amount applied to {kind} {target.get('DocNumber')} ({amount + already}) "
                                f"exceeds its open balance ({open_amount})", self.assumptions.overapply_code)
            plan.append((line, kind, txn_id, amount))
            if kind == "Invoice":
                invoiced += amount
            else:
                credited += amount
        unapplied = total - (invoiced - credited)
        if unapplied < 0:
            raise _business(f"The payment amount {total} is less than the amount applied ({invoiced - credited})",
                            self.assumptions.overapply_code)
        payment_id = self._new_id(realm, "Payment")
        obj = {k: v for k, v in data.items() if k not in ("Id", "SyncToken", "UnappliedAmt", "MetaData", "Line")}
        obj.update({
            "Id": payment_id, "CustomerRef": customer, "TotalAmt": total, "UnappliedAmt": unapplied,
            "TxnDate": (_day(data.get("TxnDate"), "TxnDate") or self.clock().astimezone(COMPANY_ZONE).date())
            .isoformat(),
            "CurrencyRef": self._currency_ref(realm, data.get("CurrencyRef")),
            "DepositToAccountRef": data.get("DepositToAccountRef") or {"value": UNDEPOSITED_FUNDS,
                                                                       "name": "Undeposited Funds"},
            "ProcessPayment": False,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": kind}]}
                     for _, kind, txn_id, amount in plan],
            "LinkedTxn": [],
        })
        for _, kind, txn_id, amount in plan:
            target = realm.entities[kind][txn_id]
            field_name = "Balance" if kind == "Invoice" else "RemainingCredit"
            target[field_name] = (_amount(target.get(field_name), field_name) or ZERO) - amount
            target["Balance"] = target[field_name]
            if kind == "Invoice":
                target["HomeBalance"] = target["Balance"]
            self._link(target, payment_id, "Payment")
            self._bump(realm, kind, target, "Update")
        realm.entities["Payment"][payment_id] = obj
        self._refresh_balances(realm, customer["value"])
        return obj

    def _deposited(self, realm: _Realm, payment_id: str, except_deposit: str | None) -> str | None:
        for deposit in realm.entities["Deposit"].values():
            if str(deposit["Id"]) == except_deposit:
                continue
            for line in deposit.get("Line") or []:
                if any(str(link.get("TxnId")) == payment_id and link.get("TxnType") == "Payment"
                       for link in line.get("LinkedTxn") or []):
                    return str(deposit["Id"])
        return None

    def _deposit_lines(self, realm: _Realm, lines: Any, deposit_id: str,
                       previous: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Decimal]:
        if not isinstance(lines, list) or not lines:
            raise _required("Line")
        known = {str(line.get("Id")) for line in previous}
        next_line = max([_int_id(i) for i in known] + [0]) + 1
        out: list[dict[str, Any]] = []
        total = ZERO
        for line in lines:
            amount = _amount(line.get("Amount"), "Line.Amount")
            if amount is None:
                raise _required("Line.Amount")
            entry = {k: v for k, v in line.items() if k not in ("LineNum",)}
            payments = [str(link.get("TxnId")) for link in line.get("LinkedTxn") or []
                        if link.get("TxnType") == "Payment"]
            if payments:
                for payment_id in payments:
                    payment = realm.entities["Payment"].get(payment_id)
                    if payment is None:
                        raise _bad_reference("Payment", payment_id)
                    elsewhere = self._deposited(realm, payment_id, deposit_id)
                    if elsewhere is not None:
                        raise _business(f"Payment {payment_id} is already deposited (deposit {elsewhere})", "6540")
                entry.pop("DetailType", None)
            else:
                detail = dict(line.get("DepositLineDetail") or {})
                account = _ref_value(detail.get("AccountRef"))
                if account is None:
                    raise _required("DepositLineDetail.AccountRef")
                if account not in realm.entities["Account"]:
                    raise _bad_reference("Account", account)
                detail["AccountRef"] = {"value": account, "name": realm.entities["Account"][account]["Name"]}
                payer = _ref_value(detail.get("Entity"))
                if payer is not None:
                    customer = realm.entities["Customer"].get(payer)
                    if customer is None:
                        raise _bad_reference("Customer", payer)
                    detail["Entity"] = {"value": payer, "name": customer["DisplayName"], "type": "CUSTOMER"}
                entry.update({"DetailType": "DepositLineDetail", "DepositLineDetail": detail})
            line_id = str(line.get("Id")) if str(line.get("Id")) in known else None
            if line_id is None:
                line_id = str(next_line)
                next_line += 1
            entry.update({"Id": line_id, "LineNum": len(out) + 1, "Amount": amount})
            out.append(entry)
            total += amount
        return out, total

    def _relink_payments(self, realm: _Realm, deposit: dict[str, Any]) -> None:
        deposit_id = str(deposit["Id"])
        for payment in realm.entities["Payment"].values():
            self._unlink(payment, deposit_id, "Deposit")
        for line in deposit.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Payment":
                    self._link(realm.entities["Payment"][str(link["TxnId"])], deposit_id, "Deposit")

    def _create_deposit(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        account = _ref_value(data.get("DepositToAccountRef"))
        if account is None:
            raise _required("DepositToAccountRef")
        if account not in realm.entities["Account"]:
            raise _bad_reference("Account", account)
        deposit_id = self._new_id(realm, "Deposit")
        lines, total = self._deposit_lines(realm, data.get("Line"), deposit_id, [])
        obj = {k: v for k, v in data.items() if k not in ("Id", "SyncToken", "TotalAmt", "MetaData")}
        obj.update({"Id": deposit_id, "Line": lines, "TotalAmt": total,
                    "DepositToAccountRef": {"value": account, "name": realm.entities["Account"][account]["Name"]},
                    "CurrencyRef": self._currency_ref(realm, data.get("CurrencyRef")),
                    "TxnDate": (_day(data.get("TxnDate"), "TxnDate")
                                or self.clock().astimezone(COMPANY_ZONE).date()).isoformat()})
        self._relink_payments(realm, obj)
        return obj

    def _create_attachable(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("Note") and not data.get("FileName"):
            raise _required("Note")
        refs = []
        for ref in data.get("AttachableRef") or []:
            target = ref.get("EntityRef") or {}
            kind, value = target.get("type"), _ref_value(target)
            if kind not in realm.entities or value not in realm.entities[kind]:
                raise _not_found(str(kind), value)
            refs.append({**ref, "EntityRef": {"type": kind, "value": value}})
        obj = {k: v for k, v in data.items() if k not in ("Id", "SyncToken", "MetaData")}
        obj.update({"Id": self._new_id(realm, "Attachable"), "AttachableRef": refs})
        return obj

    def _create_term(self, realm: _Realm, data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("Name")
        if not name:
            raise _required("Name")
        if any(str(t.get("Name")).lower() == str(name).lower() for t in realm.entities["Term"].values()):
            raise _Fault("6240", "Duplicate Name Exists Error", f"The name supplied already exists. : {name}")
        due = data.get("DueDays", 0)
        return {**{k: v for k, v in data.items() if k not in ("Id", "SyncToken", "MetaData")},
                "Id": self._new_id(realm, "Term"), "Name": str(name), "DueDays": int(due),
                "Type": data.get("Type", "STANDARD"), "Active": True}

    # --- updating, voiding, deleting, sending -------------------------------------------------------------------

    def _update(self, realm: _Realm, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        current = self._existing(realm, entity, data["Id"])
        self._check_sync(realm, entity, current, data.get("SyncToken"))
        own_id = str(current["Id"])
        sparse = data.get("sparse") in (True, "true")
        changes = {k: v for k, v in data.items() if k not in ("Id", "SyncToken", "sparse", "domain", "MetaData")}
        if entity == "Payment" and "Line" in changes:
            raise _business("Changing the lines of a payment is not supported by this emulator")
        if sparse:
            merged = {**current, **changes}
        else:
            # A full update clears what it leaves out; the server-computed fields stay the server's.
            computed = ("Id", "SyncToken", "MetaData", "domain", "Balance", "HomeBalance", "BalanceWithJobs",
                        "RemainingCredit", "UnappliedAmt", "LinkedTxn", "TotalAmt")
            kept: dict[str, Any] = {k: current[k] for k in computed if k in current}
            merged = {**kept, **changes}
        if entity == "Customer":
            self._check_name(realm, str(merged.get("DisplayName", "")), own_id)
        if entity in SALES_FORMS and ("Line" in changes or not sparse):
            applied = self._applied(realm, entity, own_id)
            form = self._sales_form(realm, entity, merged, own_id)
            form["LinkedTxn"] = current.get("LinkedTxn", [])
            merged = {**merged, **form}
            if entity == "Invoice":
                merged["Balance"] = merged["HomeBalance"] = form["TotalAmt"] - applied
                if merged["Balance"] < 0:
                    raise _business("The new total is below what has been paid on this invoice",
                                    self.assumptions.paid_invoice_code)
            if entity == "CreditMemo":
                merged["RemainingCredit"] = merged["Balance"] = form["TotalAmt"] - applied
        if entity == "Estimate" and merged.get("TxnStatus") not in self.assumptions.estimate_statuses:
            raise _Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {merged.get('TxnStatus')}")
        if entity == "Deposit" and "Line" in changes:
            lines, total = self._deposit_lines(realm, changes["Line"], own_id, current.get("Line") or [])
            merged["Line"], merged["TotalAmt"] = lines, total
        current.clear()
        current.update(merged)
        if entity == "Deposit":
            self._relink_payments(realm, current)
        if entity == "Invoice":
            self._refresh_balances(realm, str(_ref_value(current.get("CustomerRef"))))
        self._bump(realm, entity, current, "Update")
        return current

    def _void(self, realm: _Realm, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        if entity not in ("Invoice", "Payment", "CreditMemo"):
            raise _Fault("500", "Unsupported Operation", f"Operation void {entity} is not supported.")
        current = self._existing(realm, entity, data.get("Id"))
        self._check_sync(realm, entity, current, data.get("SyncToken"))
        own_id = str(current["Id"])
        if entity in ("Invoice", "CreditMemo") and self._applied(realm, entity, own_id) > 0:
            raise _business(f"{entity} {current.get('DocNumber')} has payments applied; remove them before "
                            "voiding it", self.assumptions.paid_invoice_code)
        if entity == "Payment":
            if self._deposited(realm, own_id, None):
                raise _business("This payment is deposited and cannot be changed", "6540")
            for line in current.get("Line") or []:
                amount = _amount(line.get("Amount"), "Amount") or ZERO
                for link in line.get("LinkedTxn") or []:
                    target = realm.entities[link["TxnType"]].get(str(link["TxnId"]))
                    if target is None:
                        continue
                    field_name = "Balance" if link["TxnType"] == "Invoice" else "RemainingCredit"
                    target[field_name] = (_amount(target.get(field_name), field_name) or ZERO) + amount
                    target["Balance"] = target[field_name]
                    self._unlink(target, own_id, "Payment")
                    self._bump(realm, link["TxnType"], target, "Update")
                line["Amount"] = ZERO
            current["UnappliedAmt"] = ZERO
        for line in current.get("Line") or []:
            line["Amount"] = ZERO
        for key in ("TotalAmt", "HomeTotalAmt", "Balance", "HomeBalance", "RemainingCredit"):
            if key in current or key in ("TotalAmt", "Balance"):
                current[key] = ZERO
        note = str(current.get("PrivateNote") or "")
        current["PrivateNote"] = f"Voided - {note}" if note else "Voided"
        self._bump(realm, entity, current, "Void")
        self._refresh_balances(realm, str(_ref_value(current.get("CustomerRef"))))
        return current

    def _delete(self, realm: _Realm, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        current = self._existing(realm, entity, data.get("Id"))
        self._check_sync(realm, entity, current, data.get("SyncToken"))
        own_id = str(current["Id"])
        if entity in ("Invoice", "CreditMemo") and self._applied(realm, entity, own_id) > 0:
            raise _business(f"{entity} {current.get('DocNumber')} has payments applied and cannot be deleted",
                            self.assumptions.paid_invoice_code)
        if entity == "Payment":
            self._void(realm, entity, {"Id": own_id, "SyncToken": current["SyncToken"]})
        del realm.entities[entity][own_id]
        stamp = _meta_time(self.clock())
        realm.tombstones[entity][own_id] = {"Id": own_id, "status": "Deleted", "domain": "QBO",
                                            "MetaData": {"LastUpdatedTime": stamp}}
        self._record(realm, entity, own_id, "Delete")
        customer = _ref_value(current.get("CustomerRef"))
        if customer:
            self._refresh_balances(realm, customer)
        return {"status": "Deleted", "domain": "QBO", "Id": own_id}

    def _send(self, realm: _Realm, entity: str, entity_id: str, send_to: str | None) -> dict[str, Any]:
        if entity not in SALES_FORMS:
            raise _Fault("500", "Unsupported Operation", f"Operation send {entity} is not supported.")
        current = self._existing(realm, entity, entity_id)
        address = send_to or (current.get("BillEmail") or {}).get("Address")
        if not address:
            raise _business("An email address is required to send this transaction (BillEmail or sendTo)")
        if send_to:
            current["BillEmail"] = {"Address": send_to}
        now = self.clock()
        current["EmailStatus"] = "EmailSent"
        current["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": _meta_time(now)}
        self.outbox.append(SentEmail(realm.id, entity, str(current["Id"]), str(address), now))
        self._bump(realm, entity, current, "Emailed")
        return current

    # --- queries, CDC, reports ---------------------------------------------------------------------------------

    def _resolve(self, name: str) -> str:
        if self.assumptions.query_names_case_sensitive:
            if name in ENTITIES:
                return name
        else:
            for entity in ENTITIES:
                if entity.lower() == name.lower():
                    return entity
        raise _Fault("4001", "Invalid query", f"QueryValidationError: Invalid context declaration : {name}")

    def _query(self, realm: _Realm, sql: str) -> dict[str, Any]:
        self.queries.append(sql)
        query = _Parser(sql, self.assumptions.query_parser_code).parse()
        entity = self._resolve(query.entity)
        sensitive = self.assumptions.query_names_case_sensitive
        rows = [obj for obj in realm.entities[entity].values()
                if all(_matches(obj, condition, sensitive) for condition in query.conditions)]
        now = _stamp(self.clock())
        if query.count:
            return {"QueryResponse": {"totalCount": len(rows)}, "time": now}
        rows.sort(key=lambda obj: _sort_key(obj.get("Id")))
        for prop, descending in reversed(query.order):  # stable sorts, last key first

            def by(obj: dict[str, Any], prop: str = prop) -> tuple[int, Any]:
                return _sort_key(_property(obj, prop, sensitive))

            rows.sort(key=by, reverse=descending)
        limit = min(query.max_results if query.max_results is not None else 100, self.limits.max_results)
        page = rows[query.start - 1: query.start - 1 + limit]
        if not page:
            return {"QueryResponse": {}, "time": now}
        return {"QueryResponse": {entity: copy.deepcopy(page), "startPosition": query.start, "maxResults": len(page)},
                "time": now}

    def _cdc(self, realm: _Realm, params: dict[str, str]) -> dict[str, Any]:
        names = [n.strip() for n in (params.get("entities") or "").split(",") if n.strip()]
        if not names:
            raise _required("entities")
        raw_since = params.get("changedSince")
        if not raw_since:
            raise _required("changedSince")
        try:
            since = datetime.fromisoformat(raw_since)
        except ValueError:
            raise _invalid(f"changedSince {raw_since}") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=COMPANY_ZONE)  # [?] a time without offset read in the company's zone
        if since < self.clock() - self.limits.cdc_lookback:
            # [?] the exact fault; CDC answers at most 30 days back.
            raise _business("changedSince must be within the last 30 days")
        blocks: list[dict[str, Any]] = []
        for name in names:
            entity = self._resolve(name)

            def changed(obj: dict[str, Any]) -> datetime | None:
                stamp = (obj.get("MetaData") or {}).get("LastUpdatedTime")
                moment = datetime.fromisoformat(stamp) if stamp else None
                return moment if moment is not None and moment >= since else None

            rows = [(moment, obj) for obj in [*realm.entities[entity].values(), *realm.tombstones[entity].values()]
                    if (moment := changed(obj)) is not None]
            rows.sort(key=lambda pair: pair[0])
            chosen = [copy.deepcopy(obj) for _, obj in rows[: self.limits.cdc_max_objects]]
            blocks.append({entity: chosen, "startPosition": 1, "maxResults": len(chosen)} if chosen else {})
        return {"CDCResponse": [{"QueryResponse": blocks}], "time": _stamp(self.clock())}

    def _report(self, realm: _Realm, parts: list[str], params: dict[str, str]) -> dict[str, Any]:
        if parts != ["reports", "AgedReceivables"]:
            raise _Fault("500", "Unsupported Operation", f"Report {'/'.join(parts[1:])} is not supported.")
        as_of = _day(params.get("report_date"), "report_date") or self.clock().astimezone(COMPANY_ZONE).date()
        period = int(params.get("aging_period") or 30)
        periods = int(params.get("num_periods") or 4)
        titles = ["Current"] + [f"{k * period + 1} - {(k + 1) * period}" for k in range(periods - 1)] + \
            [f"{(periods - 1) * period + 1} and over"]
        sums: dict[str, list[Decimal]] = {}

        def add(customer_id: str, column: int, amount: Decimal) -> None:
            sums.setdefault(customer_id, [ZERO] * len(titles))[column] += amount

        for invoice in realm.entities["Invoice"].values():
            balance = _amount(invoice.get("Balance"), "Balance") or ZERO
            if balance == 0 or date.fromisoformat(invoice["TxnDate"]) > as_of:
                continue
            late = (as_of - date.fromisoformat(invoice.get("DueDate") or invoice["TxnDate"])).days
            column = 0 if late <= 0 else min(periods, (late - 1) // period + 1)
            add(str(_ref_value(invoice.get("CustomerRef"))), column, balance)
        if self.assumptions.aging_includes_credits:
            for memo in realm.entities["CreditMemo"].values():
                remaining = _amount(memo.get("RemainingCredit"), "RemainingCredit") or ZERO
                if remaining and date.fromisoformat(memo["TxnDate"]) <= as_of:
                    add(str(_ref_value(memo.get("CustomerRef"))), 0, -remaining)
            for payment in realm.entities["Payment"].values():
                unapplied = _amount(payment.get("UnappliedAmt"), "UnappliedAmt") or ZERO
                if unapplied and date.fromisoformat(payment["TxnDate"]) <= as_of:
                    add(str(_ref_value(payment.get("CustomerRef"))), 0, -unapplied)

        def cell(amount: Decimal, blank: bool) -> dict[str, str]:
            return {"value": "" if blank and amount == 0 else str(amount.quantize(CENT))}

        customers = realm.entities["Customer"]
        ordered = sorted(sums.items(), key=lambda kv: str(customers.get(kv[0], {}).get("DisplayName", kv[0])))
        rows: list[dict[str, Any]] = []
        totals = [ZERO] * len(titles)
        for customer_id, amounts in ordered:
            if not any(amounts):
                continue
            name = str(customers.get(customer_id, {}).get("DisplayName", customer_id))
            rows.append({"ColData": [{"value": name, "id": customer_id}, *(cell(a, True) for a in amounts),
                                     cell(sum(amounts, ZERO), True)]})
            totals = [t + a for t, a in zip(totals, amounts, strict=True)]
        if rows:
            rows.append({"type": "Section", "group": "GrandTotal",
                         "Summary": {"ColData": [{"value": "TOTAL"}, *(cell(t, False) for t in totals),
                                                 cell(sum(totals, ZERO), False)]}})
        return {
            "Header": {"Time": _meta_time(self.clock()), "ReportName": "AgedReceivables", "DateMacro": "today",
                       "StartPeriod": as_of.isoformat(), "EndPeriod": as_of.isoformat(),
                       "Currency": realm.home_currency,
                       "Option": [{"Name": "report_date", "Value": as_of.isoformat()},
                                  {"Name": "NoReportData", "Value": "false" if rows else "true"}]},
            "Columns": {"Column": [{"ColType": "Customer", "ColTitle": ""},
                                   *({"ColType": "Money", "ColTitle": t} for t in titles),
                                   {"ColType": "Money", "ColTitle": "Total"}]},
            "Rows": {"Row": rows},
        }

