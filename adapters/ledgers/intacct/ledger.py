"""Sage Intacct (REST API v1) behind `LedgerPort`, through httpx.

There is no official Python SDK for the REST API; this is a plain client of the wire format described
in /work/shared/LEDGER_APIS.md Part C. Everything is configurable where that document marks a fact as
unconfirmed (Part E, Intacct items 16-23).

Wire facts the adapter relies on:

* Objects live at `/objects/<app>/<object>`: list = references only, `GET /{key}` = the full object,
  `POST` = 201 with `{key, id, href}`, `PATCH` = partial update, `DELETE` = 204. Field data in bulk comes
  from the query service `POST /services/core/query` (flat rows keyed by dotted paths, paged with
  `start`/`size` and `ia::meta.next`). Every response is `{"ia::result": ..., "ia::meta": ...}`.
* `key` (a string of digits) is the system id and becomes **our** id everywhere; Intacct's `id` is kept as
  the human number (`Invoice.number`, falling back to `invoiceNumber`). AR transactions (invoices,
  payments, advances, adjustments) share one record-number sequence, so their keys never collide.
* Amounts are decimal **strings** ("300.00"); we send strings and parse responses with
  `parse_float=Decimal`, so no figure ever passes through a float. Dates are `YYYY-MM-DD`; audit times
  are ISO UTC with `Z`.
* `state` is read-only on invoices: posted -> partiallyPaid -> paid as payments apply; the `reverse`
  workflow voids (the original becomes `reversed`, a `reversal` record offsets it).
* Errors: `ia::error` sits at the top level or under `ia::result` (both parsed). 429 (gateway GW-0010)
  -> `RateLimited` with `Retry-After`; 5xx, 408 and timeouts -> `RetryableLedgerError`; 404 ->
  `NotFound`; 400/403/405/409/422 -> `PermanentLedgerError` with the ledger's own message; 401 -> refresh
  the token and retry once. Temporal owns every other retry.
* OAuth 2.0 at `{base_url}/oauth2/token` (JSON body, client id and secret in the body): authorization
  code (+ `offline_access` for a refresh token) or client credentials for a Web Services user
  (`user@company`). Tokens are refreshed `refresh_margin_seconds` before `expires_in` runs out; a
  rotated refresh token is saved before the new access token is used; `invalid_grant` ->
  `ReconsentRequired` (unless another process already rotated it, or client credentials can mint anew).

Assumptions (Part E) and the knob for each:

* #16 idempotency header: its name is `idempotency_header` ("Idempotency-Key" by default) and every
  write carries it. Because neither the name nor the replay semantics are confirmed, writes are also
  replay-safe without it: each created record carries a marker derived from the idempotency key
  (`[duecourse <hash>]` in `description`, or `notes` for customers), the adapter queries for the marker
  before creating (`lookup_before_create`, on by default: one query per write buys safety from duplicate
  invoices and payments), and a 409 on a create is answered by the same lookup.
* #17 token lifetimes: only `expires_in` is trusted.
* #18 retry-after header names: `Retry-After` first, then any header ending in `-retry-after`.
* #19 payment receipt date: written to and read from `receipt_date_field` (default
  `paymentSummary.receiptDate`, falling back to `paidDate` on read). Unapplied cash (a payment larger than
  its allocations) is recorded as an AR **advance** for the remainder, as LEDGER_APIS.md D4 settles.
* #20 attachment field names: notes for the audit trail are text files in one attachment record per
  transaction (`{"id", "name", "folder": {"id"}, "files": [{"name", "data": base64}]}`), in folder
  `attachment_folder`, linked through the transaction's `attachment` reference.
* #21 quotes: `quote_object` (default `order-entry/document::Sales Quote`; None = the company has no
  quotes: empty lists, NotFound). Bank lines: `bank_line_object` (default `cash-management/bank-txn`,
  assumed fields `postingDate`, `amount`, `currency`, `payee`/`description`, `documentNumber`, `state`;
  None = no bank feed).
* #23 no REST email and no aging service: `send_invoice` answers False (duecourse mails the invoice) and
  `aging_report` answers None (callers compute aging from open invoices).
* Posting defaults are company-specific: `revenue_gl_account`, `credit_gl_account`,
  `advance_gl_account`, `payment_method`, and where receipts land (`bank_account_id`, else
  `undeposited_gl_account`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

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
)
from adapters.ledgers.intacct.webhooks import change_event_id
from adapters.ledgers.oauth import OAuthTokens, ReconsentRequired, TokenStore
from adapters.ledgers.rate_limit import RateLimiter

LEDGER = "intacct"
DEFAULT_BASE_URL = "https://api.intacct.com/ia/api/v1"
ENTITY_HEADER = "X-IA-API-Param-Entity"
QUERY_PATH = "/services/core/query"
MAX_PAGE_SIZE = 4000

CUSTOMER = "accounts-receivable/customer"
INVOICE = "accounts-receivable/invoice"
PAYMENT = "accounts-receivable/payment"
PAYMENT_DETAIL = "accounts-receivable/payment-detail"
ADVANCE = "accounts-receivable/advance"
ADJUSTMENT = "accounts-receivable/adjustment"
ATTACHMENT = "company-config/attachment"
DEFAULT_QUOTE_OBJECT = "order-entry/document::Sales Quote"
DEFAULT_BANK_LINE_OBJECT = "cash-management/bank-txn"

OPEN_INVOICE_STATES = ("posted", "partiallyPaid", "selected")
VOID_STATES = frozenset({"reversed", "reversal"})
INACTIVE_PAYMENT_STATES = frozenset({"reversed", "reversal", "draft", "voided"})

INVOICE_FIELDS = (
    "key", "id", "invoiceNumber", "state", "invoiceDate", "dueDate", "customer.key", "customer.id",
    "customer.name", "currency.txnCurrency", "totalTxnAmount", "totalTxnAmountDue", "audit.modifiedDateTime",
)
CUSTOMER_FIELDS = (
    "key", "id", "name", "status", "currency", "term.id", "creditLimit", "contacts.default.email1",
    "contacts.default.mailingAddress.country",
)
ADJUSTMENT_FIELDS = (
    "key", "id", "adjustmentNumber", "state", "customer.key", "txnCurrency.currency", "txnCurrency.totalEntered",
    "txnCurrency.totalDue", "description", "documentNumber",
)
BANK_LINE_FIELDS = (
    "key", "id", "postingDate", "amount", "currency", "payee", "description", "documentNumber", "state",
    "transactionType",
)

# Intacct stores country names; the vocabulary wants ISO 3166 alpha-2 codes.
_COUNTRIES = {
    "united states": "US", "usa": "US", "united states of america": "US", "canada": "CA",
    "united kingdom": "GB", "great britain": "GB", "australia": "AU", "new zealand": "NZ", "ireland": "IE",
    "france": "FR", "germany": "DE", "netherlands": "NL", "belgium": "BE", "spain": "ES", "italy": "IT",
    "south africa": "ZA", "india": "IN", "singapore": "SG", "mexico": "MX", "switzerland": "CH",
}


class _Conflict(PermanentLedgerError):
    """409: a duplicate business id or an idempotency key already used. Creates answer it with a lookup."""


# --- wire values ------------------------------------------------------------------------------------


def pick(record: Mapping[str, Any], path: str) -> Any:
    """A field of a full object (nested) or of a query row (flat, keyed by the dotted path)."""
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _set_path(body: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target = body
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def parse_amount(value: Any, what: str) -> Decimal:
    """A decimal string (or an exact JSON number) from Intacct as a Decimal."""
    if isinstance(value, bool) or value is None:
        raise PermanentLedgerError(f"Intacct sent {what} = {value!r}, not an amount")
    try:
        number = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(str(value).strip())
    except InvalidOperation:
        raise PermanentLedgerError(f"Intacct sent {what} = {value!r}, not an amount") from None
    if not number.is_finite():
        raise PermanentLedgerError(f"Intacct sent {what} = {value!r}, not a finite amount")
    return number


def _amount_or(value: Any, what: str, default: Decimal) -> Decimal:
    return default if value is None or value == "" else parse_amount(value, what)


def wire_amount(value: Decimal, what: str) -> str:
    """An amount as Intacct takes it: a decimal string with two places."""
    if not value.is_finite() or value != value.quantize(CENT):
        raise PermanentLedgerError(f"{what} {value} is not an amount in cents")
    return str(value.quantize(CENT))


def parse_date(value: Any, what: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        raise PermanentLedgerError(f"Intacct sent {what} = {value!r}, not a YYYY-MM-DD date") from None


def parse_timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def idempotency_marker(idempotency_key: str) -> str:
    """The tag a created record carries so that a retried create can find it again."""
    return f"[duecourse {hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]}]"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _terms_days(term_id: Any, default: int = 30) -> int:
    text = _text(term_id).lower()
    if not text:
        return default
    if "receipt" in text:
        return 0
    found = re.search(r"(\d+)", text)
    return int(found.group(1)) if found else default


def _country(name: Any) -> str:
    text = _text(name).strip()
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    return _COUNTRIES.get(text.lower(), "US")


# --- errors ----------------------------------------------------------------------------------------


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


def _error_text(status: int, error: Mapping[str, Any] | None, fallback: str) -> str:
    if not error:
        return f"Intacct answered HTTP {status}: {fallback.strip()[:300] or 'no body'}"
    messages = [_text(error.get("message")).strip()]
    for detail in error.get("details") or []:
        if isinstance(detail, Mapping):
            text = _text(detail.get("message")).strip()
            target = _text(detail.get("target")).strip()
            if text and text not in messages:
                messages.append(f"{text} ({target})" if target and target not in text else text)
    codes = "/".join(c for c in (_text(error.get("code")), _text(error.get("errorId"))) if c)
    return f"Intacct {status} {codes}: {'; '.join(m for m in messages if m) or 'no message'}"


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    values = [headers.get("retry-after")]
    values += [value for name, value in headers.items() if name.lower().endswith("-retry-after")]
    for raw in values:
        if not raw:
            continue
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def error_for(response: httpx.Response) -> LedgerError:
    """The one mapping from an Intacct error response to the port's typed errors."""
    status = response.status_code
    text = _error_text(status, ia_error(_json(response)), response.text)
    if status == 429:
        return RateLimited(text, retry_after_seconds=retry_after_seconds(response.headers))
    if status >= 500 or status == 408:
        return RetryableLedgerError(text)
    if status == 404:
        return NotFound(text)
    if status == 409:
        return _Conflict(text)
    return PermanentLedgerError(text)


# --- mapping to the vocabulary --------------------------------------------------------------------


def customer_from_intacct(record: Mapping[str, Any], *, default_currency: str = "USD") -> Customer:
    currency = _text(pick(record, "currency")) or default_currency
    email = pick(record, "contacts.default.email1") or pick(record, "contacts.default.contact.email1")
    country = pick(record, "contacts.default.mailingAddress.country") or pick(
        record, "contacts.default.contact.mailingAddress.country")
    limit = pick(record, "creditLimit")
    return Customer(
        id=_text(pick(record, "key")),
        name=_text(pick(record, "name")),
        email=_text(email) or None,
        currency=currency,
        terms_days=_terms_days(pick(record, "term.id")),
        country=_country(country),
        credit_limit=None if limit in (None, "") else Money(amount=parse_amount(limit, "creditLimit"),
                                                             currency=currency),
    )


def invoice_status(state: str, total: Decimal, balance: Decimal) -> InvoiceStatus:
    if state in VOID_STATES:
        return InvoiceStatus.VOID
    if state == "draft":
        return InvoiceStatus.DRAFT
    if state == "paid" or balance <= 0:
        return InvoiceStatus.PAID
    if state == "partiallyPaid" or balance < total:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def invoice_from_intacct(record: Mapping[str, Any], *, default_currency: str = "USD") -> Invoice:
    key = _text(pick(record, "key"))
    currency = _text(pick(record, "currency.txnCurrency") or pick(record, "currency.baseCurrency")) or default_currency
    total = parse_amount(pick(record, "totalTxnAmount"), f"invoice {key} totalTxnAmount")
    state = _text(pick(record, "state"))
    status = invoice_status(state, total, parse_amount(pick(record, "totalTxnAmountDue"),
                                                       f"invoice {key} totalTxnAmountDue"))
    # A reversed invoice owes nothing, whatever its due field still says: the reversal offsets it.
    balance = Decimal("0.00") if status == InvoiceStatus.VOID else parse_amount(
        pick(record, "totalTxnAmountDue"), f"invoice {key} totalTxnAmountDue")
    lines = []
    for position, line in enumerate(pick(record, "lines") or [], start=1):
        amount = parse_amount(pick(line, "txnAmount"), f"invoice {key} line {position} txnAmount")
        # AR invoice lines carry an amount only (quantities live on Order Entry documents).
        lines.append(InvoiceLine(description=_text(pick(line, "memo")), quantity=Decimal("1"), unit_price=amount,
                                 amount=amount))
    email = pick(record, "contacts.billTo.email1") or pick(record, "billTo.email1")
    return Invoice(
        id=key,
        number=_text(pick(record, "invoiceNumber") or pick(record, "id") or key),
        customer_id=_text(pick(record, "customer.key")),
        customer_name=_text(pick(record, "customer.name")),
        currency=currency,
        lines=lines,
        total=Money(amount=total, currency=currency),
        balance=Money(amount=balance, currency=currency),
        issue_date=parse_date(pick(record, "invoiceDate"), f"invoice {key} invoiceDate"),
        due_date=parse_date(pick(record, "dueDate"), f"invoice {key} dueDate"),
        status=status,
        email=_text(email) or None,
        updated_at=parse_timestamp(pick(record, "audit.modifiedDateTime")),
    )


_QUOTE_STATES = {
    "converted": EstimateStatus.CLOSED,
    "closed": EstimateStatus.CLOSED,
    "partiallyConverted": EstimateStatus.ACCEPTED,
    "accepted": EstimateStatus.ACCEPTED,
    "approved": EstimateStatus.ACCEPTED,
    "declined": EstimateStatus.REJECTED,
    "rejected": EstimateStatus.REJECTED,
    "canceled": EstimateStatus.REJECTED,
    "cancelled": EstimateStatus.REJECTED,
}


def estimate_from_intacct(record: Mapping[str, Any], *, default_currency: str = "USD") -> Estimate:
    key = _text(pick(record, "key"))
    raw_currency = pick(record, "currency")
    currency = _text(pick(record, "currency.txnCurrency") if isinstance(raw_currency, Mapping) else raw_currency)
    currency = currency or _text(pick(record, "txnCurrency.currency")) or default_currency
    lines = []
    for position, line in enumerate(pick(record, "lines") or [], start=1):
        quantity = _amount_or(pick(line, "quantity"), f"quote {key} line {position} quantity", Decimal("1"))
        price = _amount_or(pick(line, "price"), f"quote {key} line {position} price", Decimal("0"))
        amount = _amount_or(pick(line, "txnAmount"), f"quote {key} line {position} txnAmount",
                            (quantity * price).quantize(CENT))
        description = pick(line, "memo") or pick(line, "item.name") or pick(line, "item.id")
        lines.append(InvoiceLine(description=_text(description), quantity=quantity, unit_price=price, amount=amount))
    total_field = pick(record, "totalTxnAmount") or pick(record, "txnTotal") or pick(record, "total")
    total = (parse_amount(total_field, f"quote {key} total") if total_field not in (None, "")
             else sum((line.amount for line in lines), Decimal("0.00")))
    return Estimate(
        id=key,
        number=_text(pick(record, "documentNumber") or pick(record, "id") or key),
        customer_id=_text(pick(record, "customer.key")),
        currency=currency,
        lines=lines,
        total=Money(amount=total, currency=currency),
        status=_QUOTE_STATES.get(_text(pick(record, "state")), EstimateStatus.PENDING),
        issue_date=parse_date(pick(record, "documentDate") or pick(record, "transactionDate"),
                              f"quote {key} documentDate"),
    )


def credit_note_from_intacct(record: Mapping[str, Any], *, default_currency: str = "USD") -> CreditNote:
    """An AR adjustment as a credit note. Credit memos carry negative amounts in Intacct; the vocabulary's
    are positive."""
    key = _text(pick(record, "key"))
    currency = _text(pick(record, "txnCurrency.currency")) or default_currency
    total = abs(parse_amount(pick(record, "txnCurrency.totalEntered"), f"adjustment {key} totalEntered"))
    remaining = abs(_amount_or(pick(record, "txnCurrency.totalDue"), f"adjustment {key} totalDue", total))
    state = _text(pick(record, "state"))
    if state in VOID_STATES:
        status = "void"
    elif remaining == 0:
        status = "applied"
    elif remaining < total:
        status = "partially_applied"
    else:
        status = "open"
    # Adjustments duecourse created carry the invoice they credit in documentNumber (see create_credit_note).
    ours = "[duecourse " in _text(pick(record, "description"))
    invoice_id = _text(pick(record, "documentNumber")) if ours else ""
    return CreditNote(
        id=key,
        number=_text(pick(record, "adjustmentNumber") or pick(record, "id") or key),
        customer_id=_text(pick(record, "customer.key")),
        total=Money(amount=total, currency=currency),
        remaining=Money(amount=remaining, currency=currency),
        status=status,
        invoice_id=invoice_id or None,
    )


_BANK_STATES = {
    "matched": BankLineStatus.MATCHED,
    "reconciled": BankLineStatus.MATCHED,
    "cleared": BankLineStatus.MATCHED,
    "ignored": BankLineStatus.IGNORED,
    "excluded": BankLineStatus.IGNORED,
}


def bank_line_from_intacct(record: Mapping[str, Any], *, default_currency: str = "USD") -> BankLine:
    key = _text(pick(record, "key"))
    currency = _text(pick(record, "currency")) or default_currency
    payer = pick(record, "payee") or pick(record, "description") or ""
    return BankLine(
        id=key,
        date=parse_date(pick(record, "postingDate") or pick(record, "transactionDate"), f"bank line {key} date"),
        amount=Money(amount=abs(parse_amount(pick(record, "amount"), f"bank line {key} amount")), currency=currency),
        payer_name=_text(payer),
        reference=_text(pick(record, "documentNumber") or pick(record, "description")),
        status=_BANK_STATES.get(_text(pick(record, "state")), BankLineStatus.UNMATCHED),
    )


def _is_deposit(record: Mapping[str, Any]) -> bool:
    kind = _text(pick(record, "transactionType")).lower()
    if kind in ("withdrawal", "debit", "payment"):
        return False
    return _amount_or(pick(record, "amount"), "bank line amount", Decimal("0")) > 0 or kind in ("deposit", "credit")


# --- OAuth ------------------------------------------------------------------------------------------


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


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- the adapter -------------------------------------------------------------------------------------


class IntacctLedger:
    """One Intacct company (and optionally one entity of it) behind `LedgerPort`. Thread-safe: activities
    share one instance; the rate limiter caps concurrent calls (Intacct answers 429 above its tier's
    concurrency, 2 on base tiers)."""

    ledger = LEDGER

    def __init__(
        self,
        company_id: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        base_url: str = DEFAULT_BASE_URL,
        idempotency_header: str = "Idempotency-Key",
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30,
        http: httpx.Client | None = None,
        username: str | None = None,
        entity_id: str | None = None,
        revenue_gl_account: str = "4000",
        credit_gl_account: str | None = None,
        advance_gl_account: str = "2400",
        payment_method: str = "eft",
        bank_account_id: str | None = None,
        undeposited_gl_account: str = "1050",
        receipt_date_field: str = "paymentSummary.receiptDate",
        quote_object: str | None = DEFAULT_QUOTE_OBJECT,
        bank_line_object: str | None = DEFAULT_BANK_LINE_OBJECT,
        attachment_folder: str | None = "duecourse",
        lookup_before_create: bool = True,
        page_size: int = 1000,
        refresh_margin_seconds: float = 300,
        change_settle_seconds: float = 30,
        default_currency: str = "USD",
        term_name: str | None = "Net {days}",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        if not idempotency_header.strip():
            raise ValueError("idempotency_header must name a header")
        self.tenant = company_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_store = token_store
        self.base_url = base_url.rstrip("/")
        self.idempotency_header = idempotency_header
        # Intacct bills transactions instead of capping them per minute; concurrency is what it refuses.
        self.rate_limiter = rate_limiter or RateLimiter(per_minute=100_000, concurrent=2)
        self.timeout = timeout
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)
        # Client credentials for a Web Services user: "user@company" or "user@company|entity".
        self.username = username
        self.entity_id = entity_id
        self.revenue_gl_account = revenue_gl_account
        self.credit_gl_account = credit_gl_account or revenue_gl_account
        self.advance_gl_account = advance_gl_account
        self.payment_method = payment_method
        self.bank_account_id = bank_account_id
        self.undeposited_gl_account = undeposited_gl_account
        self.receipt_date_field = receipt_date_field
        self.quote_object = quote_object
        self.bank_line_object = bank_line_object
        self.attachment_folder = attachment_folder
        self.lookup_before_create = lookup_before_create
        self.page_size = page_size
        self.refresh_margin_seconds = refresh_margin_seconds
        self.change_settle_seconds = change_settle_seconds
        self.default_currency = default_currency
        self.term_name = term_name
        self._clock = clock
        self._token_lock = threading.Lock()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # --- OAuth ---------------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    def connect_with_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> OAuthTokens:
        """Exchange an authorization code (from `authorization_url`'s redirect) and store the tokens."""
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.client_id, "client_secret": self.client_secret}
        if code_verifier:
            body["code_verifier"] = code_verifier
        with self._token_lock:
            tokens = self._tokens_from(self._token_request(body), grant="authorization_code", previous=None)
            self.token_store.save(LEDGER, tokens)
            return tokens

    def connect_with_client_credentials(self, username: str | None = None) -> OAuthTokens:
        """Server-to-server: tokens for a Web Services user (`user@company`), stored."""
        if username:
            self.username = username
        with self._token_lock:
            return self._client_credentials()

    def _client_credentials(self) -> OAuthTokens:
        if not self.username:
            raise ReconsentRequired(LEDGER, self.tenant, "no Web Services user configured for client credentials")
        body = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret, "username": self.username}
        tokens = self._tokens_from(self._token_request(body), grant="client_credentials", previous=None)
        self.token_store.save(LEDGER, tokens)
        return tokens

    def _token_request(self, body: Mapping[str, str]) -> Mapping[str, Any]:
        try:
            response = self._http.post(self.token_url, content=json.dumps(body).encode(), timeout=self.timeout,
                                       headers={"Content-Type": "application/json", "Accept": "application/json"})
        except httpx.TimeoutException as error:
            raise RetryableLedgerError(f"Intacct token endpoint timed out: {error}") from error
        except httpx.TransportError as error:
            raise RetryableLedgerError(f"Intacct token endpoint unreachable: {error}") from error
        payload = _json(response)
        if response.is_success:
            if not isinstance(payload, Mapping) or not payload.get("access_token"):
                raise PermanentLedgerError("Intacct token endpoint answered without an access_token")
            return payload
        problem = ia_error(payload) or {}
        code = _text(problem.get("code"))
        if code in ("invalid_grant", "invalid_client", "unauthorized_client") or response.status_code == 401:
            raise ReconsentRequired(LEDGER, self.tenant, f"{code or response.status_code}: "
                                                         f"{_text(problem.get('message')) or response.text[:200]}")
        raise error_for(response)

    def _tokens_from(self, payload: Mapping[str, Any], *, grant: str, previous: OAuthTokens | None) -> OAuthTokens:
        try:
            lifetime = float(payload.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        refresh = _text(payload.get("refresh_token")) or (previous.refresh_token if previous else "")
        extra = dict(previous.extra) if previous else {}
        # A refresh keeps the grant the connection was made with (authorization code or client credentials).
        extra["grant"] = extra.get("grant", grant) if grant == "refresh_token" else grant
        extra["token_type"] = _text(payload.get("token_type")) or "Bearer"
        return OAuthTokens(access_token=_text(payload["access_token"]), refresh_token=refresh,
                           expires_at=self._clock() + timedelta(seconds=lifetime), tenant=self.tenant, extra=extra)

    def _access_token(self, rejected: str | None = None) -> str:
        """A usable access token: refreshed ahead of expiry, or because the API rejected `rejected`."""
        with self._token_lock:
            tokens = self.token_store.load(LEDGER, self.tenant)
            if tokens is None:
                if self.username:
                    return self._client_credentials().access_token
                raise ReconsentRequired(LEDGER, self.tenant, "no tokens stored; connect the company first")
            if rejected is not None and tokens.access_token != rejected:
                return tokens.access_token  # another thread or process already renewed it
            if rejected is not None or tokens.expires_within(self.refresh_margin_seconds, now=self._clock()):
                tokens = self._renew(tokens)
            return tokens.access_token

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
                    and not current.expires_within(self.refresh_margin_seconds, now=self._clock())):
                return current  # another process rotated the refresh token first
            if self.username:
                return self._client_credentials()
            raise
        renewed = self._tokens_from(payload, grant="refresh_token", previous=tokens)
        # Saved before use: Intacct may rotate the refresh token, and the old one is then dead.
        self.token_store.save(LEDGER, renewed)
        return renewed

    # --- HTTP ------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + urllib.parse.quote(path, safe="/:")

    def _call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
              idempotency_key: str | None = None) -> Any:
        """One API call: auth, entity scope, idempotency header, concurrency slot, error mapping."""
        url = self._url(path)
        content = None if body is None else json.dumps(body).encode()
        with self.rate_limiter.slot():
            token = self._access_token()
            for attempt in (1, 2):
                headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
                if content is not None:
                    headers["Content-Type"] = "application/json"
                if self.entity_id:
                    headers[ENTITY_HEADER] = self.entity_id
                if idempotency_key is not None:
                    headers[self.idempotency_header] = idempotency_key
                try:
                    response = self._http.request(method, url, content=content, params=params, headers=headers,
                                                  timeout=self.timeout)
                except httpx.TimeoutException as error:
                    raise RetryableLedgerError(f"Intacct {method} {path} timed out: {error}") from error
                except httpx.TransportError as error:
                    raise RetryableLedgerError(f"Intacct {method} {path} failed: {error}") from error
                if response.status_code != 401:
                    break
                if attempt == 2:
                    raise ReconsentRequired(LEDGER, self.tenant, "Intacct refused a freshly renewed token: "
                                            + _error_text(401, ia_error(_json(response)), response.text))
                token = self._access_token(rejected=token)
        if response.is_success:
            return _json(response)
        raise error_for(response)

    def _result(self, payload: Any, what: str) -> Any:
        if not isinstance(payload, Mapping) or "ia::result" not in payload:
            raise PermanentLedgerError(f"Intacct answered {what} without ia::result")
        return payload["ia::result"]

    def _get(self, obj: str, key: str) -> dict[str, Any]:
        if not key or not key.strip():
            raise NotFound(f"no {obj} key given")
        result = self._result(self._call("GET", f"/objects/{obj}/{urllib.parse.quote(key, safe='')}"), f"GET {obj}")
        if not isinstance(result, Mapping):
            raise PermanentLedgerError(f"Intacct answered GET {obj}/{key} with {type(result).__name__}")
        return dict(result)

    def _patch(self, obj: str, key: str, body: Mapping[str, Any], idempotency_key: str) -> None:
        self._call("PATCH", f"/objects/{obj}/{urllib.parse.quote(key, safe='')}", body=body,
                   idempotency_key=idempotency_key)

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
            payload = self._call("POST", QUERY_PATH, body=body)
            page = self._result(payload, f"query of {obj}")
            if not isinstance(page, list):
                raise PermanentLedgerError(f"Intacct answered a query of {obj} with {type(page).__name__}")
            rows.extend(dict(row) for row in page if isinstance(row, Mapping))
            meta = payload.get("ia::meta") if isinstance(payload, Mapping) else None
            following = meta.get("next") if isinstance(meta, Mapping) else None
            if not following or not page:
                return rows
            start = int(following)

    def _query_in(self, obj: str, fields: Sequence[str], field: str, values: Iterable[str],
                  extra: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        distinct = list(dict.fromkeys(values))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(distinct), 100):
            rows += self.query(obj, fields, [{"$in": {field: distinct[start:start + 100]}}, *extra])
        return rows

    def _create(self, obj: str, body: Mapping[str, Any], idempotency_key: str, marker_field: str) -> str:
        """POST a new object once per idempotency key; returns its key. The body's `marker_field` must
        contain `idempotency_marker(idempotency_key)`."""
        marker = idempotency_marker(idempotency_key)
        if self.lookup_before_create:
            found = self._find_marked(obj, marker_field, marker)
            if found is not None:
                return found
        try:
            result = self._result(self._call("POST", f"/objects/{obj}", body=body, idempotency_key=idempotency_key),
                                  f"create {obj}")
        except _Conflict:
            # Intacct says the key (or a unique field) is taken: if our earlier attempt wrote it, that is
            # the answer; otherwise the ledger's message stands.
            found = self._find_marked(obj, marker_field, marker)
            if found is not None:
                return found
            raise
        if not isinstance(result, Mapping) or not result.get("key"):
            raise PermanentLedgerError(f"Intacct created a {obj} without answering its key")
        return _text(result["key"])

    def _find_marked(self, obj: str, field: str, marker: str) -> str | None:
        rows = self.query(obj, ["key"], [{"$contains": {field: marker}}], order_by=[{"key": "asc"}])
        return _text(rows[0]["key"]) if rows else None

    @staticmethod
    def _require_key(idempotency_key: str, what: str) -> None:
        if not idempotency_key or not idempotency_key.strip():
            raise PermanentLedgerError(f"{what} needs an idempotency key")

    # --- LedgerPort: customers -----------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        return customer_from_intacct(self._get(CUSTOMER, customer_id), default_currency=self.default_currency)

    def list_customers(self) -> list[Customer]:
        rows = self.query(CUSTOMER, CUSTOMER_FIELDS, order_by=[{"key": "asc"}])
        return [customer_from_intacct(row, default_currency=self.default_currency) for row in rows]

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        self._require_key(idempotency_key, "create_customer")
        if not draft.name.strip():
            raise PermanentLedgerError("a customer needs a name")
        contact: dict[str, Any] = {"printAs": draft.name.strip(), "companyName": draft.name.strip()}
        if draft.email:
            contact["email1"] = draft.email.strip()
        body: dict[str, Any] = {
            "name": draft.name.strip(),
            "currency": draft.currency.upper(),
            "contacts": {"default": contact},
            "notes": f"Created by duecourse {idempotency_marker(idempotency_key)}",
        }
        if self.term_name:
            # Terms are named per company ("Net 30" by default); None leaves the customer's term unset.
            body["term"] = {"id": self.term_name.format(days=draft.terms_days)}
        key = self._create(CUSTOMER, body, idempotency_key, "notes")
        return self.get_customer(key)

    # --- LedgerPort: invoices --------------------------------------------------------------------------

    def _invoices(self, rows: Sequence[Mapping[str, Any]]) -> list[Invoice]:
        return [invoice_from_intacct(row, default_currency=self.default_currency) for row in rows]

    def get_invoice(self, invoice_id: str) -> Invoice:
        return invoice_from_intacct(self._get(INVOICE, invoice_id), default_currency=self.default_currency)

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        """Invoices with money still due (posted, partially paid or selected for payment), soonest due
        first. Lines are not part of query rows: `get_invoice` has them."""
        return self._open_invoices(customer_id)

    def list_overdue_invoices(self, as_of: date, customer_id: str | None = None) -> list[Invoice]:
        """Open invoices due before `as_of`."""
        return self._open_invoices(customer_id, [{"$lt": {"dueDate": as_of.isoformat()}}])

    def _open_invoices(self, customer_id: str | None,
                       extra: Sequence[Mapping[str, Any]] = ()) -> list[Invoice]:
        filters: list[Mapping[str, Any]] = [{"$gt": {"totalTxnAmountDue": "0"}},
                                            {"$in": {"state": list(OPEN_INVOICE_STATES)}}, *extra]
        if customer_id is not None:
            filters.append({"$eq": {"customer.key": customer_id}})
        rows = self.query(INVOICE, INVOICE_FIELDS, filters, order_by=[{"dueDate": "asc"}, {"key": "asc"}])
        return self._invoices(rows)

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        self._require_key(idempotency_key, "create_invoice")
        if not draft.lines:
            raise PermanentLedgerError("an invoice needs at least one line")
        if draft.due_date < draft.issue_date:
            raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
        lines = []
        for position, line in enumerate(draft.lines, start=1):
            amount = wire_amount(line.amount, f"line {position} amount")
            expected = (line.quantity * line.unit_price).quantize(CENT)
            if expected != line.amount:
                raise PermanentLedgerError(f"line {position} ({line.description!r}): amount {line.amount} is not "
                                           f"quantity {line.quantity} x unit price {line.unit_price} = {expected}")
            memo = line.description
            if line.quantity != 1:
                memo = f"{line.description} ({line.quantity} x {line.unit_price})"
            lines.append({"glAccount": {"id": self.revenue_gl_account},
                          "txnAmount": amount, "memo": memo})
        body: dict[str, Any] = {
            "customer": {"key": draft.customer_id},
            "invoiceDate": draft.issue_date.isoformat(),
            "dueDate": draft.due_date.isoformat(),
            "currency": {"txnCurrency": draft.currency.upper()},
            "description": f"Created by duecourse {idempotency_marker(idempotency_key)}",
            "lines": lines,
        }
        if draft.number:
            body["invoiceNumber"] = draft.number.strip()
        if draft.estimate_id:
            # AR invoices cannot point at an Order Entry quote; keep the trail in the reference number.
            body["referenceNumber"] = f"Quote {draft.estimate_id}"
        key = self._create(INVOICE, body, idempotency_key, "description")
        return self.get_invoice(key)

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        """Intacct reverses instead of voiding: the invoice becomes `reversed` and owes nothing. An invoice
        with payments applied is refused by the ledger (reverse the payments first)."""
        self._require_key(idempotency_key, "void_invoice")
        record = self._get(INVOICE, invoice_id)
        if _text(pick(record, "state")) not in VOID_STATES:
            invoice_date = parse_date(pick(record, "invoiceDate"), f"invoice {invoice_id} invoiceDate")
            body = {"key": invoice_id, "reversedDate": max(self._clock().date(), invoice_date).isoformat(),
                    "memo": "Voided by duecourse"}
            try:
                self._call("POST", "/workflows/accounts-receivable/invoice/reverse", body=body,
                           idempotency_key=idempotency_key)
            except _Conflict:
                pass  # an earlier attempt under this key reversed it; the read below says so
            record = self._get(INVOICE, invoice_id)
        return invoice_from_intacct(record, default_currency=self.default_currency)

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """Intacct's REST API has no email delivery (only the read-only delivery history): duecourse sends."""
        return False

    # --- LedgerPort: estimates ---------------------------------------------------------------------------

    def get_estimate(self, estimate_id: str) -> Estimate:
        if self.quote_object is None:
            raise NotFound(f"estimate {estimate_id!r}: quotes are not configured for this Intacct company")
        return estimate_from_intacct(self._get(self.quote_object, estimate_id), default_currency=self.default_currency)

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        if self.quote_object is None:
            return []
        # Quote documents need their lines for a total: read each one (quotes are few).
        keys = [_text(row["key"]) for row in self.query(self.quote_object, ["key"], order_by=[{"key": "asc"}])]
        estimates = [self.get_estimate(key) for key in keys]
        return [e for e in estimates if status is None or e.status == status]

    # --- LedgerPort: payments ----------------------------------------------------------------------------

    def _deposit_target(self) -> dict[str, Any]:
        if self.bank_account_id:
            return {"financialEntity": {"entityId": self.bank_account_id}}
        return {"undepositedGLAccount": {"id": self.undeposited_gl_account}}

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        """One receipt applied to one or several invoices (in part or in full). Money beyond the allocations
        becomes an AR advance (unapplied cash) under the key `<idempotency key>:advance`."""
        self._require_key(idempotency_key, "record_payment")
        currency = request.amount.currency
        wire_amount(request.amount.amount, "payment amount")
        if request.amount.amount <= 0:
            raise PermanentLedgerError(f"a payment must be positive, got {request.amount}")
        per_invoice: dict[str, Decimal] = {}
        for allocation in request.allocations:
            if allocation.amount.currency != currency:
                raise PermanentLedgerError(f"allocation to {allocation.invoice_id} is in "
                                           f"{allocation.amount.currency}, the payment in {currency}")
            if allocation.amount.amount <= 0:
                raise PermanentLedgerError(f"allocation to {allocation.invoice_id} must be positive")
            per_invoice[allocation.invoice_id] = per_invoice.get(allocation.invoice_id, Decimal("0")) + \
                allocation.amount.amount
        applied = sum(per_invoice.values(), Decimal("0"))
        if applied > request.amount.amount:
            raise PermanentLedgerError(f"allocations total {Money(amount=applied, currency=currency)} exceed the "
                                       f"payment {request.amount}")
        remainder = request.amount.amount - applied
        reference = request.reference.strip()
        trail = f"(bank line {request.bank_line_id})" if request.bank_line_id else ""

        def described(*words: str) -> str:
            return " ".join(word for word in words if word)

        common: dict[str, Any] = {"customer": {"key": request.customer_id}, "paymentMethod": self.payment_method,
                                  **self._deposit_target(), "txnCurrency": {"currency": currency}}
        if reference:
            common["documentNumber"] = reference
        _set_path(common, self.receipt_date_field, request.date.isoformat())
        payment_key = None
        if per_invoice:
            body = {**common, "description": described(reference, trail, idempotency_marker(idempotency_key)),
                    "paymentDetails": [{"arInvoice": {"key": invoice_id},
                                        "txnCurrency": {"paymentAmount": wire_amount(value, "allocation")}}
                                       for invoice_id, value in per_invoice.items()]}
            payment_key = self._create(PAYMENT, body, idempotency_key, "description")
        advance_key = None
        if remainder > 0:
            advance_idempotency = f"{idempotency_key}:advance"
            body = {**common,
                    "description": described("Unapplied", reference, trail, idempotency_marker(advance_idempotency)),
                    "lines": [{"glAccount": {"id": self.advance_gl_account},
                               "txnAmount": wire_amount(remainder, "unapplied amount")}]}
            advance_key = self._create(ADVANCE, body, advance_idempotency, "description")
        return Payment(
            id=payment_key or advance_key or "",
            customer_id=request.customer_id,
            date=request.date,
            amount=request.amount,
            allocations=[Allocation(invoice_id=i, amount=Money(amount=v, currency=currency))
                         for i, v in per_invoice.items()],
            unapplied=Money(amount=remainder, currency=currency),
            reference=request.reference,
        )

    def _payment_header_fields(self) -> list[str]:
        return ["key", "state", "customer.key", "documentNumber", self.receipt_date_field, "paidDate",
                "txnCurrency.currency", "txnCurrency.totalAmount", "audit.createdDateTime"]

    def _payment_date(self, row: Mapping[str, Any], what: str) -> date:
        value = pick(row, self.receipt_date_field) or pick(row, "paidDate") or pick(row, "audit.createdDateTime")
        return parse_date(value, f"{what} receipt date")

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        """Payments (with their allocations) applied to one invoice, or every payment and every advance
        (unapplied cash) when no invoice is named. Reversed payments are left out."""
        if invoice_id is not None:
            self._get(INVOICE, invoice_id)  # NotFound for an unknown invoice, as the port expects
            details = self.query(PAYMENT_DETAIL, ["arPayment.key"], [{"$eq": {"arInvoice.key": invoice_id}}])
            keys = [_text(row["arPayment.key"]) for row in details]
            headers = self._query_in(PAYMENT, self._payment_header_fields(), "key", keys) if keys else []
        else:
            headers = self.query(PAYMENT, self._payment_header_fields(), order_by=[{"key": "asc"}])
        headers = [h for h in headers if _text(pick(h, "state")) not in INACTIVE_PAYMENT_STATES]
        payments = self._with_details(headers)
        if invoice_id is None:
            payments += self._advances()
        return sorted(payments, key=lambda p: int(p.id) if p.id.isdigit() else 0)

    def _with_details(self, headers: Sequence[Mapping[str, Any]]) -> list[Payment]:
        if not headers:
            return []
        keys = [_text(h["key"]) for h in headers]
        details = self._query_in(PAYMENT_DETAIL, ["key", "arPayment.key", "arInvoice.key", "txnCurrency.paymentAmount"],
                                 "arPayment.key", keys)
        by_payment: dict[str, list[Mapping[str, Any]]] = {key: [] for key in keys}
        for detail in sorted(details, key=lambda d: int(_text(d.get("key")) or 0)):
            if pick(detail, "arInvoice.key"):
                by_payment.setdefault(_text(pick(detail, "arPayment.key")), []).append(detail)
        payments = []
        for header in headers:
            key = _text(header["key"])
            currency = _text(pick(header, "txnCurrency.currency")) or self.default_currency
            allocations = [Allocation(invoice_id=_text(pick(d, "arInvoice.key")),
                                      amount=Money(amount=parse_amount(pick(d, "txnCurrency.paymentAmount"),
                                                                       f"payment {key} detail amount"),
                                                   currency=currency))
                           for d in by_payment.get(key, [])]
            applied = sum((a.amount.amount for a in allocations), Decimal("0.00"))
            total = _amount_or(pick(header, "txnCurrency.totalAmount"), f"payment {key} totalAmount", applied)
            payments.append(Payment(
                id=key, customer_id=_text(pick(header, "customer.key")),
                date=self._payment_date(header, f"payment {key}"),
                amount=Money(amount=total, currency=currency), allocations=allocations,
                unapplied=Money(amount=max(total - applied, Decimal("0.00")), currency=currency),
                reference=_text(pick(header, "documentNumber")),
            ))
        return payments

    def _advances(self) -> list[Payment]:
        fields = ["key", "state", "customer.key", "documentNumber", self.receipt_date_field, "paidDate",
                  "txnCurrency.currency", "txnCurrency.totalAmount", "txnCurrency.totalDue", "audit.createdDateTime"]
        payments = []
        for row in self.query(ADVANCE, fields, order_by=[{"key": "asc"}]):
            if _text(pick(row, "state")) in INACTIVE_PAYMENT_STATES:
                continue
            key = _text(row["key"])
            currency = _text(pick(row, "txnCurrency.currency")) or self.default_currency
            total = parse_amount(pick(row, "txnCurrency.totalAmount"), f"advance {key} totalAmount")
            left = _amount_or(pick(row, "txnCurrency.totalDue"), f"advance {key} totalDue", total)
            payments.append(Payment(
                id=key, customer_id=_text(pick(row, "customer.key")), date=self._payment_date(row, f"advance {key}"),
                amount=Money(amount=total, currency=currency), allocations=[],
                unapplied=Money(amount=left, currency=currency), reference=_text(pick(row, "documentNumber")),
            ))
        return payments

    # --- LedgerPort: bank lines ----------------------------------------------------------------------------

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        if self.bank_line_object is None:
            raise NotFound(f"bank line {bank_line_id!r}: no bank feed is configured for this Intacct company")
        return bank_line_from_intacct(self._get(self.bank_line_object, bank_line_id),
                                      default_currency=self.default_currency)

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        """Deposits on the company's bank feed (withdrawals are not receivables' business)."""
        if self.bank_line_object is None:
            return []
        rows = self.query(self.bank_line_object, BANK_LINE_FIELDS, order_by=[{"postingDate": "asc"}, {"key": "asc"}])
        lines = [bank_line_from_intacct(row, default_currency=self.default_currency)
                 for row in rows if _is_deposit(row)]
        return [line for line in lines if status is None or line.status == status]

    # --- LedgerPort: credit notes ----------------------------------------------------------------------------

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        """A credit memo: an AR adjustment with negative lines. It is not applied to the invoice it names
        (applying credit is a payment decision); the invoice's key travels in `documentNumber`."""
        self._require_key(idempotency_key, "create_credit_note")
        if not draft.lines:
            raise PermanentLedgerError("a credit note needs at least one line")
        currency = draft.currency.upper()
        words = [draft.reason.strip()] if draft.reason.strip() else []
        if draft.invoice_id is not None:
            invoice = self.get_invoice(draft.invoice_id)
            if invoice.customer_id != draft.customer_id:
                raise PermanentLedgerError(f"invoice {invoice.number} ({invoice.id}) belongs to customer "
                                           f"{invoice.customer_id}, not {draft.customer_id}")
            words.insert(0, f"Credit for invoice {invoice.number}" + (":" if words else ""))
        lines = []
        for position, line in enumerate(draft.lines, start=1):
            if line.amount <= 0:
                raise PermanentLedgerError(f"credit note line {position} must be positive, got {line.amount}")
            lines.append({"glAccount": {"id": self.credit_gl_account}, "memo": line.description,
                          "txnCurrency": {"amount": wire_amount(-line.amount, f"line {position} amount"),
                                          "currency": currency}})
        description = " ".join([*words, idempotency_marker(idempotency_key)])
        body: dict[str, Any] = {"customer": {"key": draft.customer_id}, "createdDate": draft.issue_date.isoformat(),
                                "description": description, "txnCurrency": {"currency": currency}, "lines": lines}
        if draft.invoice_id is not None:
            body["documentNumber"] = draft.invoice_id
        key = self._create(ADJUSTMENT, body, idempotency_key, "description")
        return credit_note_from_intacct(self._get(ADJUSTMENT, key), default_currency=self.default_currency)

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        filters = [] if customer_id is None else [{"$eq": {"customer.key": customer_id}}]
        rows = self.query(ADJUSTMENT, ADJUSTMENT_FIELDS, filters, order_by=[{"key": "asc"}])
        # Adjustments with a positive total are debit memos: charges, not credits.
        credits = [row for row in rows
                   if _amount_or(pick(row, "txnCurrency.totalEntered"), "adjustment total", Decimal("0")) < 0]
        return [credit_note_from_intacct(row, default_currency=self.default_currency) for row in credits]

    # --- LedgerPort: notes -----------------------------------------------------------------------------------

    _NOTE_OBJECTS = {"Customer": (CUSTOMER, "C"), "Invoice": (INVOICE, "I"), "Payment": (PAYMENT, "P"),
                     "CreditNote": (ADJUSTMENT, "A")}

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        """An audit-trail note: a text file in the record's supporting-document attachment (one attachment
        record per transaction, created on first use and linked through `attachment`)."""
        self._require_key(idempotency_key, "add_note")
        if entity not in self._NOTE_OBJECTS:
            raise PermanentLedgerError(f"cannot add a note to {entity!r} in Intacct: one of "
                                       f"{', '.join(self._NOTE_OBJECTS)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        obj, code = self._NOTE_OBJECTS[entity]
        record = self._get(obj, entity_id)
        file = {"name": f"duecourse-note-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]}.txt",
                "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}
        attachment_id = f"DC-{code}-{entity_id}"
        linked = _text(pick(record, "attachment.key"))
        attachment_key = linked or self._attachment_key(attachment_id)
        if not attachment_key:
            create_key = f"{idempotency_key}:attachment"
            body: dict[str, Any] = {"id": attachment_id, "name": f"duecourse audit trail ({entity} {entity_id})",
                                    "description": f"duecourse notes {idempotency_marker(create_key)}",
                                    "files": [file]}
            if self.attachment_folder:
                body["folder"] = {"id": self.attachment_folder}
            try:
                attachment_key = self._create(ATTACHMENT, body, create_key, "description")
            except _Conflict:
                # Another note created this record's attachment first (the id is unique): use it.
                attachment_key = self._attachment_key(attachment_id) or ""
                if not attachment_key:
                    raise
        attachment = self._get(ATTACHMENT, attachment_key)
        names = {_text(pick(f, "name")) for f in pick(attachment, "files") or [] if isinstance(f, Mapping)}
        if file["name"] not in names:
            self._patch(ATTACHMENT, attachment_key, {"files": [file]}, idempotency_key)
        if not linked:
            self._patch(obj, entity_id, {"attachment": {"key": attachment_key}}, f"{idempotency_key}:link")

    def _attachment_key(self, attachment_id: str) -> str | None:
        rows = self.query(ATTACHMENT, ["key"], [{"$eq": {"id": attachment_id}}])
        return _text(rows[0]["key"]) if rows else None

    # --- LedgerPort: polling backstop and reports ------------------------------------------------------------

    def _change_sources(self) -> list[tuple[str, str]]:
        sources = [("Customer", CUSTOMER), ("Invoice", INVOICE), ("Payment", PAYMENT), ("Payment", ADVANCE),
                   ("CreditNote", ADJUSTMENT)]
        if self.quote_object:
            sources.append(("Estimate", self.quote_object))
        if self.bank_line_object:
            sources.append(("BankLine", self.bank_line_object))
        return sources

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """Records modified at or after `cursor` (an ISO UTC timestamp), from the query service. Intacct
        audit times have one-second resolution, so the cursor moves past a second only once that second is
        `change_settle_seconds` old; until then its changes are reported again, with the same event ids.
        Deletions are invisible to polling (webhooks announce them)."""
        now = self._clock()
        if cursor is None:
            return ChangeBatch(events=[], cursor=iso_utc(now - timedelta(seconds=self.change_settle_seconds)))
        since = parse_timestamp(cursor)
        if since is None:
            raise PermanentLedgerError(f"Intacct change cursor {cursor!r} is not an ISO timestamp")
        events: list[LedgerEvent] = []
        newest = since
        for entity, obj in self._change_sources():
            rows = self.query(obj, ["key", "state", "audit.createdDateTime", "audit.modifiedDateTime"],
                              [{"$gte": {"audit.modifiedDateTime": iso_utc(since)}}],
                              order_by=[{"audit.modifiedDateTime": "asc"}, {"key": "asc"}])
            for row in rows:
                modified = parse_timestamp(pick(row, "audit.modifiedDateTime"))
                if modified is None:
                    continue
                created = parse_timestamp(pick(row, "audit.createdDateTime"))
                if entity == "Invoice" and _text(pick(row, "state")) == "reversed":
                    operation = EventOperation.VOID
                elif created is not None and created >= modified:
                    operation = EventOperation.CREATE
                else:
                    operation = EventOperation.UPDATE
                key = _text(row["key"])
                events.append(LedgerEvent(ledger=LEDGER, tenant=self.tenant,
                                          event_id=change_event_id(self.tenant, obj, key, modified), entity=entity,
                                          entity_id=key, operation=operation, occurred_at=modified))
                newest = max(newest, modified)
        settled = now - timedelta(seconds=self.change_settle_seconds)
        following = newest + timedelta(seconds=1) if events and newest <= settled else newest
        events.sort(key=lambda e: (e.occurred_at, e.entity, e.entity_id))
        return ChangeBatch(events=events, cursor=iso_utc(following))

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        """Intacct's REST API has no AR aging service (reports run stored custom reports only): callers
        compute aging from `list_open_invoices`."""
        return None
