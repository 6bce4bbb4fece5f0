"""QuickBooks Online behind the ledger port, through python-quickbooks (Accounting API v3, minor version 75).

How it talks to QuickBooks
* Transport is python-quickbooks' own `QuickBooks` client (`company_id` = realm id, `minorversion`,
  `use_decimal=True` so every JSON number arrives as a `Decimal`). Its session is ours (`_WireSession`): it
  carries the bearer token from the `TokenStore`, puts a timeout on every call (the SDK sets none) and mounts
  adapters with no retries, so Temporal alone decides when to try again. It also keeps the last response,
  because the SDK keeps only the Fault code and a throttle or a gateway error is told apart by its status.
* Request bodies are plain JSON written here with amounts as JSON numbers, as QuickBooks documents them. The
  SDK's object classes would send `Decimal`s as strings (`"Amount": "300.00"`, since 0.9.11) and a body full
  of empty fields; an exact, short body is easier to check against the documentation.
* Errors are mapped once (`_translate`): 429 or Fault 3001 -> `RateLimited` (QuickBooks sends no Retry-After;
  we honour one if it ever does, else back off `throttle_backoff` seconds as Intuit advises); 5xx, timeouts
  and resets -> `RetryableLedgerError`; Fault 5010 (stale SyncToken) -> re-read and retry once, then
  `StaleVersion`; Fault 610 / 2500 / HTTP 404 -> `NotFound`; other validation faults -> `PermanentLedgerError`
  carrying QuickBooks' Message and Detail. A 401 refreshes the token and retries the call once.
* Every write carries `requestid` (QuickBooks' idempotency key, at most 50 characters, unique per realm):
  `<operation>-<idempotency key>`, hashed when longer, so one business key used for two kinds of writes
  cannot collide. A retry after 5010 uses a derived id: the failed attempt wrote nothing, and whether
  QuickBooks remembers failed requestids is undocumented.
* Client-side limits: a `RateLimiter` of 500 calls a minute and 10 at once per realm (pass one in to share
  it between adapters of the same realm).

OAuth 2.0: `authorization_url` and `exchange_code` serve the connect flow; afterwards tokens come from the
`TokenStore`, are refreshed when they expire within five minutes (or on a 401), and the rotated refresh token
is saved before the new access token is used. `invalid_grant` raises `ReconsentRequired`, unless another
process rotated the token first, in which case its newer tokens are used.

Mapping choices
* Invoice status: QuickBooks has none. Voided (zero total, "Voided" in PrivateNote) -> void; Balance 0 ->
  paid; Balance below TotalAmt -> partially paid; otherwise open. There are no draft invoices.
* Bank lines are the lines of QuickBooks Deposits, id `<deposit id>-<line id>`. The API has no bank-feed
  transactions; money that reached the bank is a Deposit, and each of its lines is either a received
  Payment moved out of Undeposited Funds (matched) or money booked straight to an account (unmatched: cash
  application's work; `unmatched_account_ids` narrows this to suspense accounts, other lines then count as
  ignored). Recording a payment for a bank line creates the Payment and relinks that deposit line to it (a
  SyncToken update); a payment smaller than the line leaves the rest as a new unmatched line. Unapplied
  Payments were the alternative; they already name a customer, which is the thing cash application infers.
* Credit notes are CreditMemos. When the draft names an invoice, the credit is applied to it with a
  zero-total Payment that links the invoice and the credit memo, QuickBooks' own way to apply credit.
* changes_since uses Change Data Capture. The cursor is the server's `time` of the last answer (ISO 8601);
  each poll reaches back `cdc_overlap` before it, since LastUpdatedTime is stamped to the second, so an
  event may be announced twice (its `event_id` is stable). CDC looks back at most 30 days: an older cursor
  is clamped, with a warning. Deposits are announced per line, as bank lines: an unmatched line as created
  (which starts cash application), others as updated. Webhooks name the Deposit only (entity "Deposit"):
  `bank_lines_of_deposit` expands one.
* aging_report reads the AgedReceivables report (home currency, columns found by their titles).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import requests
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException
from requests.adapters import HTTPAdapter

from adapters.ledger import (
    CENT,
    AgingRow,
    Allocation,
    BankLine,
    BankLineStatus,
    ChangeBatch,
    CreditNote,
    CreditNoteDraft,
    Customer,
    CustomerDraft,
    Estimate,
    EstimateStatus,
    EventOperation,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    LedgerError,
    LedgerEvent,
    Money,
    NotFound,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
    StaleVersion,
)
from adapters.ledgers.oauth import OAuthTokens, ReconsentRequired, TokenStore
from adapters.ledgers.quickbooks.webhooks import event_id, parse_time
from adapters.ledgers.rate_limit import RateLimiter

LEDGER = "quickbooks"
API_URL = "https://quickbooks.api.intuit.com"
SANDBOX_API_URL = "https://sandbox-quickbooks.api.intuit.com"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
MINOR_VERSION = 75
REFRESH_MARGIN_SECONDS = 300
REQUEST_ID_MAX = 50
PAGE_SIZE = 1000  # QuickBooks' MAXRESULTS cap
THROTTLE_BACKOFF_SECONDS = 60.0
CDC_LOOKBACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
CDC_ENTITIES = ("Customer", "Invoice", "Payment", "Estimate", "CreditMemo", "Deposit")
PAYMENT_REF_MAX = 21  # PaymentRefNum's documented length

# TxnStatus values. Only "Pending" is in Intuit's fixtures; the rest are the UI's words (LEDGER_APIS Part E 3).
ESTIMATE_STATUSES = {
    "Pending": EstimateStatus.PENDING,
    "Accepted": EstimateStatus.ACCEPTED,
    "Rejected": EstimateStatus.REJECTED,
    "Closed": EstimateStatus.CLOSED,
    "Converted": EstimateStatus.CLOSED,
}

# What `add_note` may annotate, in QuickBooks' entity names.
NOTE_ENTITIES = {
    "Customer": "Customer",
    "Invoice": "Invoice",
    "Payment": "Payment",
    "Estimate": "Estimate",
    "CreditNote": "CreditMemo",
    "BankLine": "Deposit",
}

_HARD_EXPIRY_PREFIX = "x_refresh_token_hard"  # the 5-year cap's field; its exact name is unconfirmed (Part E 6)
_COUNTRIES = {"USA": "US", "UNITED STATES": "US", "CAN": "CA", "CANADA": "CA", "GBR": "GB", "UK": "GB",
              "UNITED KINGDOM": "GB", "AUS": "AU", "AUSTRALIA": "AU"}

log = logging.getLogger(__name__)

T = TypeVar("T")


# --- OAuth 2.0 ---------------------------------------------------------------------------------------


def authorization_url(client_id: str, redirect_uri: str, state: str, *, scopes: Iterable[str] = (ACCOUNTING_SCOPE,),
                      authorize_url: str = AUTHORIZE_URL) -> str:
    """Where to send the person connecting QuickBooks; Intuit redirects back with `code`, `state`, `realmId`."""
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": " ".join(scopes),
                       "redirect_uri": redirect_uri, "state": state})
    return f"{authorize_url}?{query}"


def exchange_code(code: str, realm_id: str, *, client_id: str, client_secret: str, redirect_uri: str,
                  token_store: TokenStore, token_url: str = TOKEN_URL, timeout: float = 30.0) -> OAuthTokens:
    """Trades the redirect's `code` for tokens and saves them for `realm_id`."""
    tokens = _token_grant(token_url, client_id, client_secret,
                          {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                          tenant=realm_id, timeout=timeout)
    token_store.save(LEDGER, tokens)
    return tokens


def _token_grant(token_url: str, client_id: str, client_secret: str, form: dict[str, str], *, tenant: str,
                 timeout: float, previous_refresh_token: str | None = None) -> OAuthTokens:
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
    if status == 429:
        raise RateLimited("QuickBooks token endpoint throttled the refresh",
                          _retry_after(response.headers.get("Retry-After"), THROTTLE_BACKOFF_SECONDS))
    if status >= 500:
        raise RetryableLedgerError(f"QuickBooks token endpoint answered HTTP {status}")
    if body.get("error") == "invalid_grant":
        why = body.get("error_description") or "the token or code is expired, revoked or already used"
        raise ReconsentRequired(LEDGER, tenant, f"invalid_grant: {why}")
    if status != 200 or "access_token" not in body:
        said = body.get("error") or response.text[:200]
        raise PermanentLedgerError(f"QuickBooks token endpoint answered HTTP {status}: {said}")
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


# --- wire helpers -------------------------------------------------------------------------------------


def request_id(operation: str, idempotency_key: str, attempt: int = 0) -> str:
    """QuickBooks' `requestid` for one write: readable when it fits in 50 characters, else a hash."""
    if not idempotency_key or not idempotency_key.strip():
        raise PermanentLedgerError(f"{operation} needs an idempotency key")
    raw = f"{operation}-{idempotency_key}" + (f"-r{attempt}" if attempt else "")
    if len(raw) <= REQUEST_ID_MAX and re.fullmatch(r"[A-Za-z0-9._:-]+", raw):
        return raw
    return "h" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[: REQUEST_ID_MAX - 1]


def _wire_json(value: Any) -> str:
    """JSON with `Decimal`s as JSON numbers (never strings, never floats)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PermanentLedgerError(f"{value} is not an amount QuickBooks can hold")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("amounts go to QuickBooks as Decimal, never float")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_wire_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_wire_json(v) for v in value) + "]"
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _retry_after(header: str | None, default: float) -> float:
    if not header:
        return default
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return default


def _decimal(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PermanentLedgerError(f"QuickBooks sent {value!r} where a number belongs") from None


def _amount(value: Any) -> Decimal:
    """An amount as QuickBooks sent it, shown with cents when that loses nothing (300.0 -> 300.00)."""
    number = _decimal(value)
    cents = number.quantize(CENT)
    return cents if cents == number else number


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value, "MetaData")
    except ValueError:
        return None


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


# --- mapping QuickBooks objects to the vocabulary ------------------------------------------------------


def _lines(raw_lines: Any) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    for line in raw_lines or []:
        kind = line.get("DetailType")
        amount = _amount(line.get("Amount"))
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            quantity = _decimal(detail.get("Qty")) or Decimal("1")
            price = detail.get("UnitPrice")
            lines.append(InvoiceLine(description=line.get("Description") or "", quantity=quantity,
                                     unit_price=_amount(price) if price not in (None, "") else amount, amount=amount))
        elif kind == "GroupLineDetail":
            lines.extend(_lines((line.get("GroupLineDetail") or {}).get("Line")))
        elif kind == "DiscountLineDetail":
            lines.append(InvoiceLine(description=line.get("Description") or "Discount", unit_price=-amount,
                                     amount=-amount))
    return lines


def _is_void(txn: dict[str, Any]) -> bool:
    return ("voided" in str(txn.get("PrivateNote") or "").lower()
            and _decimal(txn.get("TotalAmt")) == 0 and _decimal(txn.get("Balance")) == 0)


def _invoice_status(invoice: dict[str, Any]) -> InvoiceStatus:
    total, balance = _decimal(invoice.get("TotalAmt")), _decimal(invoice.get("Balance"))
    if _is_void(invoice):
        return InvoiceStatus.VOID
    if balance == 0:
        return InvoiceStatus.PAID
    if balance < total:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def _currency(txn: dict[str, Any], home: str) -> str:
    return (_ref(txn.get("CurrencyRef")) or home).upper()


def _invoice(raw: dict[str, Any], home: str) -> Invoice:
    currency = _currency(raw, home)
    customer = raw.get("CustomerRef") or {}
    issued = date.fromisoformat(raw["TxnDate"])
    return Invoice(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        customer_id=str(customer.get("value", "")),
        customer_name=str(customer.get("name") or ""),
        currency=currency,
        lines=_lines(raw.get("Line")),
        total=Money(amount=_amount(raw.get("TotalAmt")), currency=currency),
        balance=Money(amount=_amount(raw.get("Balance")), currency=currency),
        issue_date=issued,
        due_date=date.fromisoformat(raw["DueDate"]) if raw.get("DueDate") else issued,
        status=_invoice_status(raw),
        email=(raw.get("BillEmail") or {}).get("Address") or None,
        updated_at=_when((raw.get("MetaData") or {}).get("LastUpdatedTime")),
    )


def _country(address: Any) -> str:
    country = str((address or {}).get("Country") or "").strip().upper()
    if len(country) == 2:
        return country
    return _COUNTRIES.get(country, "US")


def _customer(raw: dict[str, Any], home: str, terms: Mapping[str, int], default_terms: int) -> Customer:
    # QuickBooks keeps several addresses in one field, comma separated.
    field = str((raw.get("PrimaryEmailAddr") or {}).get("Address") or "")
    addresses = [a.strip() for a in field.replace(";", ",").split(",") if a.strip()]
    term = _ref(raw.get("SalesTermRef"))
    return Customer(
        id=str(raw["Id"]),
        name=str(raw.get("DisplayName") or raw.get("CompanyName") or raw["Id"]),
        email=addresses[0] if addresses else None,
        alternate_emails=addresses[1:],
        currency=_currency(raw, home),
        terms_days=terms.get(term, default_terms) if term else default_terms,
        country=_country(raw.get("BillAddr")),
    )


def _estimate(raw: dict[str, Any], home: str) -> Estimate:
    currency = _currency(raw, home)
    status = str(raw.get("TxnStatus") or "Pending")
    if status not in ESTIMATE_STATUSES:
        log.warning("QuickBooks estimate %s has TxnStatus %r; treating it as pending", raw.get("Id"), status)
    return Estimate(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        customer_id=str(_ref(raw.get("CustomerRef")) or ""),
        currency=currency,
        lines=_lines(raw.get("Line")),
        total=Money(amount=_amount(raw.get("TotalAmt")), currency=currency),
        status=ESTIMATE_STATUSES.get(status, EstimateStatus.PENDING),
        issue_date=date.fromisoformat(raw["TxnDate"]),
    )


def _linked(line: dict[str, Any], kind: str) -> list[str]:
    return [str(link["TxnId"]) for link in line.get("LinkedTxn") or [] if link.get("TxnType") == kind]


def _payment(raw: dict[str, Any], home: str) -> Payment:
    currency = _currency(raw, home)
    allocations = [
        Allocation(invoice_id=invoice_id, amount=Money(amount=_amount(line.get("Amount")), currency=currency))
        for line in raw.get("Line") or []
        for invoice_id in _linked(line, "Invoice")[:1]
    ]
    return Payment(
        id=str(raw["Id"]),
        customer_id=str(_ref(raw.get("CustomerRef")) or ""),
        date=date.fromisoformat(raw["TxnDate"]),
        amount=Money(amount=_amount(raw.get("TotalAmt")), currency=currency),
        allocations=allocations,
        unapplied=Money(amount=_amount(raw.get("UnappliedAmt")), currency=currency),
        reference=str(raw.get("PaymentRefNum") or ""),
    )


def _credit_note(raw: dict[str, Any], home: str, invoice_id: str | None) -> CreditNote:
    currency = _currency(raw, home)
    remaining = raw.get("RemainingCredit", raw.get("Balance"))
    remaining_amount = _amount(remaining)
    status = "void" if _is_void({**raw, "Balance": remaining}) else "applied" if remaining_amount == 0 else "open"
    return CreditNote(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        customer_id=str(_ref(raw.get("CustomerRef")) or ""),
        total=Money(amount=_amount(raw.get("TotalAmt")), currency=currency),
        remaining=Money(amount=remaining_amount, currency=currency),
        status=status,
        invoice_id=invoice_id,
    )


def _line_id(deposit: dict[str, Any], index: int) -> str:
    return str(deposit["Line"][index].get("Id") or index + 1)


def _bank_lines(deposit: dict[str, Any], home: str, unmatched_accounts: frozenset[str] | None,
                payers: Mapping[str, str] | None = None) -> list[BankLine]:
    currency = _currency(deposit, home)
    lines: list[BankLine] = []
    for index, line in enumerate(deposit.get("Line") or []):
        detail = line.get("DepositLineDetail") or {}
        if _linked(line, "Payment"):
            status = BankLineStatus.MATCHED
        elif unmatched_accounts is not None and _ref(detail.get("AccountRef")) not in unmatched_accounts:
            status = BankLineStatus.IGNORED
        else:
            status = BankLineStatus.UNMATCHED
        entity = detail.get("Entity") or {}
        payer = (entity.get("name") or (payers or {}).get(str(_ref(entity))) or line.get("Description")
                 or deposit.get("PrivateNote") or "")
        reference = detail.get("CheckNum") or line.get("Description") or deposit.get("PrivateNote") or ""
        lines.append(BankLine(
            id=f"{deposit['Id']}-{_line_id(deposit, index)}",
            date=date.fromisoformat(deposit["TxnDate"]),
            amount=Money(amount=_amount(line.get("Amount")), currency=currency),
            payer_name=str(payer),
            reference=str(reference),
            status=status,
        ))
    return lines


_BUCKETS = {0: "current", 1: "days_1_30", 31: "days_31_60", 61: "days_61_90", 91: "days_91_plus"}


def _aging_columns(report: dict[str, Any]) -> dict[int, str]:
    """Column index -> AgingRow field, from the column titles ("Current", "1 - 30", …, "91 and over")."""
    columns: dict[int, str] = {}
    for index, column in enumerate((report.get("Columns") or {}).get("Column") or []):
        title = str(column.get("ColTitle") or "").strip().lower()
        if column.get("ColType") != "Money" or title == "total":
            continue
        if title == "current":
            columns[index] = "current"
            continue
        match = re.match(r"(\d+)", title)
        if match is None:
            continue
        low = int(match[1])
        field = _BUCKETS.get(low) if low in _BUCKETS else ("days_91_plus" if low > 90 else None)
        if field is not None:
            columns[index] = field
    return columns


def aging_rows(report: dict[str, Any], home: str) -> list[AgingRow]:
    """The rows of an AgedReceivables report (its JSON as QuickBooks sends it), one per customer."""
    header = report.get("Header") or {}
    options = {o.get("Name"): o.get("Value") for o in header.get("Option") or []}
    if str(options.get("NoReportData", "false")).lower() == "true":
        return []
    currency = str(header.get("Currency") or home).upper()
    columns = _aging_columns(report)
    rows: dict[str, AgingRow] = {}

    def walk(raw_rows: Any) -> None:
        for row in raw_rows or []:
            if row.get("type") == "Section" or "Rows" in row:
                if row.get("group") != "GrandTotal":
                    walk((row.get("Rows") or {}).get("Row"))
                continue
            cells = row.get("ColData") or []
            if not cells or not cells[0].get("id"):
                continue
            customer_id = str(cells[0]["id"])
            name = str(cells[0].get("value") or "")
            aging = rows.setdefault(customer_id,
                                    AgingRow(customer_id=customer_id, customer_name=name, currency=currency))
            for index, field in columns.items():
                if index < len(cells):
                    setattr(aging, field, getattr(aging, field) + _amount(cells[index].get("value")))

    walk((report.get("Rows") or {}).get("Row"))
    return list(rows.values())


def _change_operation(entity: str, raw: dict[str, Any]) -> EventOperation:
    if raw.get("status") == "Deleted":
        return EventOperation.DELETE
    if entity in ("Invoice", "Payment", "CreditMemo") and _is_void(raw):
        return EventOperation.VOID
    meta = raw.get("MetaData") or {}
    if meta.get("CreateTime") and meta.get("CreateTime") == meta.get("LastUpdatedTime"):
        return EventOperation.CREATE
    return EventOperation.UPDATE


# --- the adapter -----------------------------------------------------------------------------------------


class QuickBooksLedger:
    """One QuickBooks Online company (realm) behind `adapters.ledger.LedgerPort`. Thread-safe: each worker
    thread gets its own SDK client; tokens and the rate limiter are shared."""

    ledger = LEDGER

    def __init__(
        self,
        realm_id: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        base_url: str = API_URL,
        token_url: str = TOKEN_URL,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30,
        minorversion: int = MINOR_VERSION,
        home_currency: str = "USD",
        item_id: str | None = None,
        page_size: int = PAGE_SIZE,
        throttle_backoff: float = THROTTLE_BACKOFF_SECONDS,
        cdc_overlap: timedelta = timedelta(seconds=60),
        cdc_max_objects: int = CDC_MAX_OBJECTS,
        default_terms_days: int = 30,
        unmatched_account_ids: Iterable[str] | None = None,
    ) -> None:
        self.tenant = realm_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = token_store
        self._base_url = base_url.rstrip("/")
        self._token_url = token_url
        self._limiter = rate_limiter or RateLimiter(per_minute=500, concurrent=10)
        self._timeout = float(timeout)
        self._minorversion = minorversion
        self._home = home_currency.upper()
        # None: leave ItemRef out and QuickBooks uses its default service item.
        self._item_id = item_id
        self._page = max(1, min(page_size, PAGE_SIZE))
        self._throttle_backoff = throttle_backoff
        self._cdc_overlap = cdc_overlap
        self._cdc_max = cdc_max_objects
        self._default_terms = default_terms_days
        self._unmatched_accounts = None if unmatched_account_ids is None else frozenset(unmatched_account_ids)
        self._refresh_lock = threading.Lock()
        self._terms_lock = threading.Lock()
        self._terms: dict[str, int] | None = None
        self._local = threading.local()

    # --- transport ----------------------------------------------------------------------------------

    def _client(self) -> tuple[Any, _WireSession]:
        local = self._local
        if getattr(local, "qb", None) is None:
            session = _WireSession(self._timeout)
            qb = QuickBooks(company_id=self.tenant, minorversion=self._minorversion, use_decimal=True)
            qb.api_url_v3 = f"{self._base_url}/v3"
            qb.sandbox = False
            qb.session = session
            local.qb, local.session = qb, session
        return local.qb, local.session

    def _url(self, qb: Any, path: str) -> str:
        return f"{qb.api_url}/company/{self.tenant}/{path}"

    def _load_tokens(self) -> OAuthTokens:
        tokens = self._store.load(LEDGER, self.tenant)
        if tokens is None:
            raise ReconsentRequired(LEDGER, self.tenant, "no tokens stored")
        return tokens

    def _tokens(self, rejected: str | None = None) -> OAuthTokens:
        """Current tokens, refreshed when they expire within five minutes or `rejected` was refused."""
        tokens = self._load_tokens()
        if rejected is None and not tokens.expires_within(REFRESH_MARGIN_SECONDS):
            return tokens
        with self._refresh_lock:
            tokens = self._load_tokens()  # another thread may have refreshed while we waited
            if tokens.access_token != rejected and not tokens.expires_within(REFRESH_MARGIN_SECONDS):
                return tokens
            try:
                fresh = _token_grant(self._token_url, self._client_id, self._client_secret,
                                     {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
                                     tenant=self.tenant, timeout=self._timeout,
                                     previous_refresh_token=tokens.refresh_token)
            except ReconsentRequired:
                stored = self._load_tokens()
                if stored.refresh_token != tokens.refresh_token:
                    return stored  # another process rotated it first; its tokens are the current ones
                raise
            # Saved before use: QuickBooks has already retired the refresh token we sent.
            self._store.save(LEDGER, fresh)
            return fresh

    def _call(self, what: str, request: Callable[[Any], T]) -> T:
        """One API call with the current token; every failure leaves as one of the port's errors."""
        qb, session = self._client()
        rejected: str | None = None
        for attempt in range(2):
            tokens = self._tokens(rejected)
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
                    raise self._translate(error, response, what) from error
                except QuickbooksException as error:
                    raise self._translate(error, session.last_response, what) from error
                except requests.Timeout as error:
                    raise RetryableLedgerError(f"QuickBooks {what} timed out after {self._timeout:g}s") from error
                except requests.RequestException as error:
                    raise RetryableLedgerError(f"QuickBooks {what} failed: {type(error).__name__}: {error}") from error
        raise AssertionError("unreachable")

    def _translate(self, error: QuickbooksException, response: requests.Response | None, what: str) -> LedgerError:
        status = response.status_code if response is not None else None
        try:
            code = int(error.error_code or 0)
        except (TypeError, ValueError):
            code = 0
        message = str(error.message or "").strip()
        detail = str(error.detail or "").strip()
        said = message if not detail or detail == message else f"{message}: {detail}"
        text = f"QuickBooks: {what} failed: {said[:1000]} (code {code}" + (f", HTTP {status})" if status else ")")
        if status == 429 or code == 3001:
            header = response.headers.get("Retry-After") if response is not None else None
            return RateLimited(text, retry_after_seconds=_retry_after(header, self._throttle_backoff))
        if status is not None and (status >= 500 or status == 408):
            return RetryableLedgerError(text)
        if status == 401:
            return PermanentLedgerError(f"{text}; a freshly refreshed token was refused, reconnect QuickBooks")
        if status in (None, 200) and code >= 10000:
            return RetryableLedgerError(text)
        if code == 5010:
            return StaleVersion(text)
        if code in (610, 2500) or status == 404:
            return NotFound(text)
        return PermanentLedgerError(text)

    # --- reading ----------------------------------------------------------------------------------------

    def _get(self, entity: str, entity_id: str) -> dict[str, Any]:
        if not str(entity_id).strip():
            raise NotFound(f"no {entity} id given")
        data = self._call(f"reading {entity} {entity_id}", lambda qb: qb.get_single_object(entity, pk=entity_id))
        return dict(data[entity])

    def _query(self, entity: str, where: str = "") -> list[dict[str, Any]]:
        """Every row of a query, page by page (STARTPOSITION is 1-based, MAXRESULTS at most 1000)."""
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        start = 1
        clause = f" WHERE {where}" if where else ""
        while True:
            sql = f"SELECT * FROM {entity}{clause} ORDERBY Id STARTPOSITION {start} MAXRESULTS {self._page}"

            def run(qb: Any, sql: str = sql) -> Any:
                return qb.query(sql)

            data = self._call(f"querying {entity}", run)
            page = (data.get("QueryResponse") or {}).get(entity) or []
            for row in page:
                # Rows shift when the data changes between pages; never report one twice.
                if str(row.get("Id")) not in seen:
                    seen.add(str(row.get("Id")))
                    rows.append(row)
            if len(page) < self._page:
                return rows
            start += self._page

    def _terms_days(self, refresh: bool = False) -> dict[str, int]:
        with self._terms_lock:
            if self._terms is None or refresh:
                self._terms = {str(t["Id"]): int(_decimal(t.get("DueDays"))) for t in self._query("Term")}
            return self._terms

    def _map_customer(self, raw: dict[str, Any]) -> Customer:
        terms = self._terms_days()
        term = _ref(raw.get("SalesTermRef"))
        if term and term not in terms:
            terms = self._terms_days(refresh=True)
        return _customer(raw, self._home, terms, self._default_terms)

    def get_customer(self, customer_id: str) -> Customer:
        return self._map_customer(self._get("Customer", customer_id))

    def list_customers(self) -> list[Customer]:
        return [self._map_customer(raw) for raw in self._query("Customer")]

    def get_invoice(self, invoice_id: str) -> Invoice:
        return _invoice(self._get("Invoice", invoice_id), self._home)

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        where = "Balance > '0'" + (f" AND CustomerRef = {_quoted(customer_id)}" if customer_id else "")
        invoices = [_invoice(raw, self._home) for raw in self._query("Invoice", where)]
        return sorted(invoices, key=lambda i: (i.due_date, i.id))

    def list_overdue_invoices(self, as_of: date, customer_id: str | None = None) -> list[Invoice]:
        """Open invoices due before `as_of` (QuickBooks' own definition of overdue)."""
        where = f"Balance > '0' AND DueDate < {_quoted(as_of.isoformat())}"
        if customer_id:
            where += f" AND CustomerRef = {_quoted(customer_id)}"
        invoices = [_invoice(raw, self._home) for raw in self._query("Invoice", where)]
        return sorted(invoices, key=lambda i: (i.due_date, i.id))

    def get_estimate(self, estimate_id: str) -> Estimate:
        return _estimate(self._get("Estimate", estimate_id), self._home)

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        # TxnStatus is not documented as filterable: filter here.
        estimates = [_estimate(raw, self._home) for raw in self._query("Estimate")]
        return [e for e in estimates if status is None or e.status == status]

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        if invoice_id is None:
            return [_payment(raw, self._home) for raw in self._query("Payment")]
        invoice = self._get("Invoice", invoice_id)
        ids = sorted({str(link["TxnId"]) for link in invoice.get("LinkedTxn") or []
                      if link.get("TxnType") == "Payment"})
        if not ids:
            return []
        rows = self._query("Payment", f"Id IN ({', '.join(_quoted(i) for i in ids)})")
        return [_payment(raw, self._home) for raw in rows]

    def _deposit_line(self, bank_line_id: str) -> tuple[dict[str, Any], int]:
        deposit_id, _, line_id = bank_line_id.rpartition("-")
        if not deposit_id or not line_id:
            raise NotFound(f"{bank_line_id!r} is not a QuickBooks bank line id (<deposit id>-<line id>)")
        deposit = self._get("Deposit", deposit_id)
        for index in range(len(deposit.get("Line") or [])):
            if _line_id(deposit, index) == line_id:
                return deposit, index
        raise NotFound(f"deposit {deposit_id} has no line {line_id}")

    def _payers(self, deposits: list[dict[str, Any]]) -> dict[str, str]:
        """Names of the customers deposit lines name only by id (QuickBooks often leaves the name out)."""
        wanted = sorted({str(_ref(entity)) for deposit in deposits for line in deposit.get("Line") or []
                         if (entity := (line.get("DepositLineDetail") or {}).get("Entity"))
                         and _ref(entity) and not entity.get("name")})
        if not wanted:
            return {}
        rows = self._query("Customer", f"Id IN ({', '.join(_quoted(i) for i in wanted)})")
        return {str(row["Id"]): str(row.get("DisplayName") or "") for row in rows}

    def _deposit_bank_lines(self, deposits: list[dict[str, Any]]) -> list[BankLine]:
        payers = self._payers(deposits)
        return [line for raw in deposits for line in _bank_lines(raw, self._home, self._unmatched_accounts, payers)]

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        deposit, index = self._deposit_line(bank_line_id)
        return self._deposit_bank_lines([deposit])[index]

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        lines = self._deposit_bank_lines(self._query("Deposit"))
        return [line for line in lines if status is None or line.status == status]

    def bank_lines_of_deposit(self, deposit_id: str) -> list[BankLine]:
        """The bank lines a Deposit webhook event stands for."""
        return self._deposit_bank_lines([self._get("Deposit", deposit_id)])

    def _credit_invoices(self, customer_id: str | None) -> dict[str, str]:
        """Credit memo id -> the invoice it was applied to, read from the payments that apply credit."""
        where = f"CustomerRef = {_quoted(customer_id)}" if customer_id else ""
        applied: dict[str, str] = {}
        for payment in self._query("Payment", where):
            invoices = [i for line in payment.get("Line") or [] for i in _linked(line, "Invoice")]
            credits = [c for line in payment.get("Line") or [] for c in _linked(line, "CreditMemo")]
            if len(invoices) == 1:
                for credit in credits:
                    applied.setdefault(credit, invoices[0])
        return applied

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        where = f"CustomerRef = {_quoted(customer_id)}" if customer_id else ""
        memos = self._query("CreditMemo", where)
        invoices = self._credit_invoices(customer_id) if memos else {}
        return [_credit_note(raw, self._home, invoices.get(str(raw["Id"]))) for raw in memos]

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        query = {"report_date": as_of.isoformat(), "aging_period": "30", "num_periods": "4"}
        report = self._call("reading the AgedReceivables report",
                            lambda qb: qb.get_report("AgedReceivables", qs=dict(query)))
        return aging_rows(report, self._home)

    # --- changes ------------------------------------------------------------------------------------------

    def _server_time(self) -> str:
        data = self._call("reading CompanyInfo", lambda qb: qb.get(self._url(qb, f"companyinfo/{self.tenant}")))
        return str(data["time"])

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        if cursor is None:
            return ChangeBatch(events=[], cursor=self._server_time())
        try:
            since = parse_time(cursor, "cursor")
        except ValueError as error:
            raise PermanentLedgerError(f"QuickBooks change cursor {cursor!r} is not an ISO timestamp") from error
        oldest = datetime.now(UTC) - CDC_LOOKBACK + timedelta(minutes=5)
        if since < oldest:
            log.warning("QuickBooks CDC cursor %s is older than CDC's 30 days; changes before %s are not reported",
                        cursor, oldest.isoformat())
            since = oldest
        window = max(since - self._cdc_overlap, oldest)
        changed_since = window.isoformat(timespec="seconds")
        data = self._call("reading changes (CDC)",
                          lambda qb: qb.change_data_capture(",".join(CDC_ENTITIES), changed_since))
        events: list[LedgerEvent] = []
        next_cursor = str(data.get("time") or datetime.now(UTC).isoformat())
        capped: list[datetime] = []
        for response in data.get("CDCResponse") or []:
            for block in response.get("QueryResponse") or []:
                for entity in CDC_ENTITIES:
                    rows = block.get(entity) or []
                    for raw in rows:
                        events.extend(self._events_of(entity, raw))
                    if len(rows) >= self._cdc_max:
                        stamps = [t for r in rows if (t := _when((r.get("MetaData") or {}).get("LastUpdatedTime")))]
                        if stamps:
                            capped.append(max(stamps))
        if capped:
            # CDC answered with as many objects as it sends; resume from the newest one it did send.
            next_cursor = min(capped).isoformat()
        events.sort(key=lambda e: e.occurred_at)
        return ChangeBatch(events=events, cursor=next_cursor)

    def _events_of(self, entity: str, raw: dict[str, Any]) -> list[LedgerEvent]:
        occurred = _when((raw.get("MetaData") or {}).get("LastUpdatedTime")) or datetime.now(UTC)
        operation = _change_operation(entity, raw)
        entity_id = str(raw.get("Id"))
        if entity == "Deposit" and raw.get("status") != "Deleted":
            # CDC says only that the deposit changed. A line still waiting for cash application is announced
            # as created (that starts its CashApplication; a repeat finds it already started), whether the
            # deposit is new or a line was added to it; any other line as updated.
            events = []
            for line in _bank_lines(raw, self._home, self._unmatched_accounts):
                kind = EventOperation.CREATE if line.status == BankLineStatus.UNMATCHED else EventOperation.UPDATE
                events.append(LedgerEvent(ledger=LEDGER, tenant=self.tenant,
                                          event_id=event_id(self.tenant, "BankLine", line.id, kind, occurred),
                                          entity="BankLine", entity_id=line.id, operation=kind, occurred_at=occurred))
            return events
        name = {"CreditMemo": "CreditNote"}.get(entity, entity)
        return [LedgerEvent(ledger=LEDGER, tenant=self.tenant,
                            event_id=event_id(self.tenant, entity, entity_id, operation, occurred),
                            entity=name, entity_id=entity_id, operation=operation, occurred_at=occurred)]

    # --- writing ------------------------------------------------------------------------------------------

    def _create(self, entity: str, body: dict[str, Any], rid: str, what: str) -> dict[str, Any]:
        payload = _wire_json(body)
        data = self._call(what, lambda qb: qb.create_object(entity, payload, request_id=rid))
        return dict(data[entity])

    def _update(self, what: str, operation: str, key: str, read: Callable[[], dict[str, Any]],
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

    def _sales_line(self, line: InvoiceLine) -> dict[str, Any]:
        detail: dict[str, Any] = {"Qty": line.quantity, "UnitPrice": line.unit_price}
        if self._item_id:
            detail["ItemRef"] = {"value": self._item_id}
        return {"Amount": line.amount, "Description": line.description, "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": detail}

    def _currency_ref(self, currency: str) -> dict[str, Any]:
        # A company without multicurrency knows only its home currency: name another one only when asked.
        return {} if currency.upper() == self._home else {"CurrencyRef": {"value": currency.upper()}}

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        rid = request_id("customer", idempotency_key)
        body: dict[str, Any] = {"DisplayName": draft.name.strip(), "CompanyName": draft.name.strip(),
                                **self._currency_ref(draft.currency)}
        if draft.email:
            body["PrimaryEmailAddr"] = {"Address": draft.email}
        body["SalesTermRef"] = {"value": self._term_for(draft.terms_days)}
        return self._map_customer(self._create("Customer", body, rid, f"creating customer {draft.name!r}"))

    def _term_for(self, days: int) -> str:
        """The Term with these due days; created ("Net N") when the company has none."""
        for term_id, due in self._terms_days().items():
            if due == days:
                return term_id
        created = self._create("Term", {"Name": f"Net {days}", "DueDays": days, "Type": "STANDARD"},
                               request_id("term", f"net{days}"), f"creating payment terms Net {days}")
        self._terms_days(refresh=True)
        return str(created["Id"])

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        rid = request_id("invoice", idempotency_key)
        if not draft.lines:
            raise PermanentLedgerError("an invoice needs at least one line")
        body: dict[str, Any] = {
            "CustomerRef": {"value": draft.customer_id},
            "TxnDate": draft.issue_date,
            "DueDate": draft.due_date,
            "Line": [self._sales_line(line) for line in draft.lines],
            **self._currency_ref(draft.currency),
        }
        if draft.number:
            body["DocNumber"] = draft.number
        if draft.estimate_id:
            body["LinkedTxn"] = [{"TxnId": draft.estimate_id, "TxnType": "Estimate"}]
        return _invoice(self._create("Invoice", body, rid, "creating an invoice"), self._home)

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        def change(invoice: dict[str, Any]) -> dict[str, Any] | None:
            return None if _is_void(invoice) else {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}

        def post(body: dict[str, Any], rid: str) -> dict[str, Any]:
            payload = _wire_json(body)
            data = self._call(f"voiding invoice {invoice_id}", lambda qb: qb.post(
                self._url(qb, "invoice"), payload, params={"operation": "void"}, request_id=rid))
            return dict(data["Invoice"])

        voided = self._update(f"voiding invoice {invoice_id}", "void", idempotency_key,
                              lambda: self._get("Invoice", invoice_id), change, post)
        return _invoice(voided, self._home)

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """QuickBooks mails the invoice itself (POST /invoice/{id}/send): always True."""
        rid = request_id("send", idempotency_key)
        invoice = self._get("Invoice", invoice_id)
        params: dict[str, str] = {}
        if not (invoice.get("BillEmail") or {}).get("Address"):
            customer = self.get_customer(str(_ref(invoice.get("CustomerRef"))))
            if not customer.email:
                number = invoice.get("DocNumber") or invoice_id
                raise PermanentLedgerError(f"invoice {number} has no billing email and neither has its customer")
            params["sendTo"] = customer.email
        self._call(f"emailing invoice {invoice_id}", lambda qb: qb.post(
            self._url(qb, f"invoice/{invoice_id}/send"), None, content_type="application/octet-stream",
            params=dict(params), request_id=rid))
        return True

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        """An Attachable note on the entity: visible in QuickBooks, changes none of its figures or SyncToken."""
        if entity not in NOTE_ENTITIES:
            raise PermanentLedgerError(f"cannot add a note to {entity!r}: one of {', '.join(NOTE_ENTITIES)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        target = entity_id.rpartition("-")[0] if entity == "BankLine" else entity_id
        body = {"Note": text, "AttachableRef": [{"EntityRef": {"type": NOTE_ENTITIES[entity], "value": target},
                                                  "IncludeOnSend": False}]}
        self._create("Attachable", body, request_id("note", idempotency_key), f"adding a note to {entity} {entity_id}")

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        rid = request_id("payment", idempotency_key)
        currency = request.amount.currency
        per_invoice: dict[str, Decimal] = {}
        for allocation in request.allocations:
            if allocation.amount.currency != currency:
                raise PermanentLedgerError(f"allocation to {allocation.invoice_id} is in {allocation.amount.currency}, "
                                           f"the payment in {currency}")
            so_far = per_invoice.get(allocation.invoice_id, Decimal("0"))
            per_invoice[allocation.invoice_id] = so_far + allocation.amount.amount
        marker = f"duecourse {rid}"
        if request.bank_line_id is not None:
            deposit, index = self._deposit_line(request.bank_line_id)
            line = deposit["Line"][index]
            linked = _linked(line, "Payment")
            if linked:
                earlier = self._get("Payment", linked[0])
                if marker in str(earlier.get("PrivateNote") or ""):
                    return _payment(earlier, self._home)  # this very request already ran to the end
                raise PermanentLedgerError(
                    f"bank line {request.bank_line_id} is already matched to payment {linked[0]}")
            if request.amount.amount > _decimal(line.get("Amount")):
                raise PermanentLedgerError(f"payment {request.amount} exceeds bank line {request.bank_line_id} "
                                           f"({_amount(line.get('Amount'))})")
        body: dict[str, Any] = {
            "CustomerRef": {"value": request.customer_id},
            "TotalAmt": request.amount.amount,
            "TxnDate": request.date,
            "PrivateNote": f"{marker}" + (f"; reference {request.reference}" if request.reference else ""),
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
                     for invoice_id, amount in per_invoice.items()],
            **self._currency_ref(currency),
        }
        if request.reference:
            body["PaymentRefNum"] = request.reference[:PAYMENT_REF_MAX]
        payment = self._create("Payment", body, rid, f"recording a payment of {request.amount}")
        if request.bank_line_id is not None:
            self._match_bank_line(request.bank_line_id, payment, idempotency_key)
        return _payment(payment, self._home)

    def _match_bank_line(self, bank_line_id: str, payment: dict[str, Any], idempotency_key: str) -> None:
        """Relinks the deposit line to the payment (money moves from the booked account to the payment)."""
        deposit_id, _, line_id = bank_line_id.rpartition("-")
        paid = _decimal(payment.get("TotalAmt"))

        def change(deposit: dict[str, Any]) -> dict[str, Any] | None:
            lines: list[dict[str, Any]] = []
            for index, line in enumerate(deposit.get("Line") or []):
                if _line_id(deposit, index) != line_id:
                    lines.append(line)
                    continue
                if str(payment["Id"]) in _linked(line, "Payment"):
                    return None
                if _linked(line, "Payment"):
                    raise PermanentLedgerError(f"bank line {bank_line_id} was matched to another payment meanwhile")
                lines.append({"Id": line.get("Id") or line_id, "Amount": paid,
                              "LinkedTxn": [{"TxnId": str(payment["Id"]), "TxnType": "Payment", "TxnLineId": "0"}]})
                rest = _decimal(line.get("Amount")) - paid
                if rest > 0:
                    remainder = {k: v for k, v in line.items() if k not in ("Id", "LineNum", "LinkedTxn")}
                    lines.append({**remainder, "Amount": rest,
                                  "Description": f"rest of bank line {bank_line_id} after payment {payment['Id']}"})
            return {"Id": deposit["Id"], "SyncToken": deposit["SyncToken"], "sparse": True, "Line": lines}

        def post(body: dict[str, Any], rid: str) -> dict[str, Any]:
            payload = _wire_json(body)
            data = self._call(f"matching bank line {bank_line_id}",
                              lambda qb: qb.update_object("Deposit", payload, request_id=rid))
            return dict(data["Deposit"])

        self._update(f"matching bank line {bank_line_id}", "bank", idempotency_key,
                     lambda: self._get("Deposit", deposit_id), change, post)

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        if not draft.lines:
            raise PermanentLedgerError("a credit note needs at least one line")
        body: dict[str, Any] = {
            "CustomerRef": {"value": draft.customer_id},
            "TxnDate": draft.issue_date,
            "Line": [self._sales_line(line) for line in draft.lines],
            **self._currency_ref(draft.currency),
        }
        if draft.reason:
            body["CustomerMemo"] = {"value": draft.reason}
        memo = self._create("CreditMemo", body, request_id("credit", idempotency_key), "creating a credit memo")
        if draft.invoice_id is None:
            return _credit_note(memo, self._home, None)
        memo = self._get("CreditMemo", str(memo["Id"]))
        total, remaining = _decimal(memo.get("TotalAmt")), _decimal(memo.get("RemainingCredit", memo.get("Balance")))
        if remaining == total and remaining > 0:  # not applied yet (a retry may find it already applied)
            invoice = self._get("Invoice", draft.invoice_id)
            amount = min(remaining, _decimal(invoice.get("Balance")))
            if amount > 0:
                apply = {
                    "CustomerRef": {"value": draft.customer_id},
                    "TotalAmt": Decimal("0"),
                    "TxnDate": draft.issue_date,
                    "PrivateNote": f"duecourse: credit memo {memo.get('DocNumber') or memo['Id']} applied to "
                                   f"invoice {invoice.get('DocNumber') or draft.invoice_id}",
                    "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": draft.invoice_id, "TxnType": "Invoice"}]},
                             {"Amount": amount, "LinkedTxn": [{"TxnId": str(memo["Id"]), "TxnType": "CreditMemo"}]}],
                    **self._currency_ref(draft.currency),
                }
                self._create("Payment", apply, request_id("apply", idempotency_key),
                             f"applying credit memo {memo['Id']} to invoice {draft.invoice_id}")
                memo = self._get("CreditMemo", str(memo["Id"]))
        return _credit_note(memo, self._home, draft.invoice_id)

