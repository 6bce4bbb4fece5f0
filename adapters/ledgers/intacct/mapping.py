"""Sage Intacct objects <-> the vocabulary: pure functions, no I/O.

Wire facts the mapping relies on (LEDGER_APIS.md C3):

* `key` (a string of digits) is the system id and becomes **our** id everywhere; Intacct's `id` is kept as
  the human number (`Invoice.number`, falling back to `invoiceNumber`). AR transactions (invoices,
  payments, advances, adjustments) share one record-number sequence, so their keys never collide.
* A full object (`GET /{key}`) is nested; a query-service row is flat, keyed by the dotted path: `pick`
  reads a field from either.
* Amounts are decimal **strings** ("300.00"); we send strings (`wire_amount`) and responses are parsed with
  `parse_float=Decimal`, so no figure ever passes through a float. Dates are `YYYY-MM-DD`; audit times
  are ISO UTC with `Z`.
* `state` is read-only on invoices: posted -> partiallyPaid -> paid as payments apply; the `reverse`
  workflow voids (the original becomes `reversed`, a `reversal` record offsets it).
* Every record duecourse creates carries a marker derived from its idempotency key
  (`[duecourse <hash>]` in `description`, or `notes` for customers): a retried create finds it again
  (LEDGER_APIS.md Part E #16).

Assumptions (Part E) the mapping makes:

* #19 payment receipt date: written to and read from `PostingDefaults.receipt_date_field` (default
  `paymentSummary.receiptDate`, falling back to `paidDate` on read). Unapplied cash (a payment larger than
  its allocations) is recorded as an AR **advance** for the remainder, as LEDGER_APIS.md D4 settles.
* #20 attachment field names: notes for the audit trail are text files in one attachment record per
  transaction (`{"id", "name", "folder": {"id"}, "files": [{"name", "data": base64}]}`).
* #21 bank lines: assumed fields `postingDate`, `amount`, `currency`, `payee`/`description`,
  `documentNumber`, `state`, `transactionType`.
* Customers carry no time zone in Intacct: it comes from the default contact's mailing address (country,
  state, city) through `adapters.time_zones`, else the company's zone (`company_time_zone`, i.e.
  DUECOURSE_COMPANY_TIME_ZONE: LEDGER_APIS.md documents no REST object that holds the company's own zone or
  address), else UTC; `time_zone_source` says which. `country` is the address's (alpha-2), else "US".
* Drafts: an invoice in state `draft` maps to `InvoiceStatus.DRAFT` (never dunned; it waits for posting), and
  `list_open_invoices` lists drafts with money on them too (`OPEN_OR_DRAFT_STATES`); overdue lists do not.
* Posting defaults are company-specific (`PostingDefaults`): revenue, credit and advance GL accounts, the
  payment method, where receipts land (a bank account, else an undeposited-funds account), the term
  naming, the attachment folder.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.ledger import (
    CENT,
    Allocation,
    BankLine,
    BankLineStatus,
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
    LedgerEvent,
    Money,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.intacct.webhooks import LEDGER, change_event_id
from adapters.time_zones import CompanyZone, customer_zone

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
DRAFT_STATE = "draft"
OPEN_OR_DRAFT_STATES = (*OPEN_INVOICE_STATES, DRAFT_STATE)
VOID_STATES = frozenset({"reversed", "reversal"})
INACTIVE_PAYMENT_STATES = frozenset({"reversed", "reversal", "draft", "voided"})

INVOICE_FIELDS = (
    "key", "id", "invoiceNumber", "state", "invoiceDate", "dueDate", "customer.key", "customer.id",
    "customer.name", "currency.txnCurrency", "totalTxnAmount", "totalTxnAmountDue", "audit.modifiedDateTime",
)
CUSTOMER_FIELDS = (
    "key", "id", "name", "status", "currency", "term.id", "creditLimit", "contacts.default.email1",
    "contacts.default.mailingAddress.country", "contacts.default.mailingAddress.state",
    "contacts.default.mailingAddress.city",
)
ADJUSTMENT_FIELDS = (
    "key", "id", "adjustmentNumber", "state", "customer.key", "txnCurrency.currency", "txnCurrency.totalEntered",
    "txnCurrency.totalDue", "description", "documentNumber",
)
BANK_LINE_FIELDS = (
    "key", "id", "postingDate", "amount", "currency", "payee", "description", "documentNumber", "state",
    "transactionType",
)
PAYMENT_DETAIL_FIELDS = ("key", "arPayment.key", "arInvoice.key", "txnCurrency.paymentAmount")
CHANGE_FIELDS = ("key", "state", "audit.createdDateTime", "audit.modifiedDateTime")


@dataclass(frozen=True)
class PostingDefaults:
    """Where a company posts what duecourse writes (its chart of accounts and conventions)."""

    revenue_gl_account: str = "4000"
    credit_gl_account: str = "4000"
    advance_gl_account: str = "2400"
    payment_method: str = "eft"
    bank_account_id: str | None = None
    undeposited_gl_account: str = "1050"
    receipt_date_field: str = "paymentSummary.receiptDate"
    term_name: str | None = "Net {days}"
    attachment_folder: str | None = "duecourse"

    def payment_header_fields(self) -> list[str]:
        return ["key", "state", "customer.key", "documentNumber", self.receipt_date_field, "paidDate",
                "txnCurrency.currency", "txnCurrency.totalAmount", "audit.createdDateTime"]

    def advance_fields(self) -> list[str]:
        return [*self.payment_header_fields(), "txnCurrency.totalDue"]


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


def text(value: Any) -> str:
    return "" if value is None else str(value)


def keys(rows: Sequence[Mapping[str, Any]], field: str = "key") -> list[str]:
    """The record keys a query answered (or the keys a reference field names)."""
    return [text(pick(row, field)) for row in rows]


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


def _digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


def idempotency_marker(idempotency_key: str) -> str:
    """The tag a created record carries so that a retried create can find it again."""
    return f"[duecourse {_digest(idempotency_key)}]"


def _terms_days(term_id: Any, default: int = 30) -> int:
    words = text(term_id).lower()
    if not words:
        return default
    if "receipt" in words:
        return 0
    found = re.search(r"(\d+)", words)
    return int(found.group(1)) if found else default


def _address(record: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(country, state, city) of the customer's default contact's mailing address (full object or query row)."""

    def field(name: str) -> str | None:
        value = pick(record, f"contacts.default.mailingAddress.{name}") or pick(
            record, f"contacts.default.contact.mailingAddress.{name}")
        return text(value).strip() or None

    return field("country"), field("state"), field("city")


# --- inbound: Intacct -> vocabulary ------------------------------------------------------------------


def customer_from_wire(record: Mapping[str, Any], *, default_currency: str = "USD",
                       company: CompanyZone | None = None) -> Customer:
    """`company`: the company's zone, for a customer whose address gives none."""
    currency = text(pick(record, "currency")) or default_currency
    email = pick(record, "contacts.default.email1") or pick(record, "contacts.default.contact.email1")
    zone = customer_zone(*_address(record), company)
    limit = pick(record, "creditLimit")
    return Customer(
        id=text(pick(record, "key")),
        name=text(pick(record, "name")),
        email=text(email) or None,
        currency=currency,
        terms_days=_terms_days(pick(record, "term.id")),
        time_zone=zone.zone,
        time_zone_source=zone.source,
        country=zone.country or (company.country if company is not None else None) or "US",
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


def _invoice_lines(record: Mapping[str, Any], key: str) -> list[InvoiceLine]:
    lines = []
    for position, line in enumerate(pick(record, "lines") or [], start=1):
        amount = parse_amount(pick(line, "txnAmount"), f"invoice {key} line {position} txnAmount")
        # AR invoice lines carry an amount only (quantities live on Order Entry documents).
        lines.append(InvoiceLine(description=text(pick(line, "memo")), quantity=Decimal("1"), unit_price=amount,
                                 amount=amount))
    return lines


def invoice_from_wire(record: Mapping[str, Any], *, default_currency: str = "USD") -> Invoice:
    key = text(pick(record, "key"))
    currency = text(pick(record, "currency.txnCurrency") or pick(record, "currency.baseCurrency")) or default_currency
    total = parse_amount(pick(record, "totalTxnAmount"), f"invoice {key} totalTxnAmount")
    due = parse_amount(pick(record, "totalTxnAmountDue"), f"invoice {key} totalTxnAmountDue")
    status = invoice_status(text(pick(record, "state")), total, due)
    # A reversed invoice owes nothing, whatever its due field still says: the reversal offsets it.
    balance = Decimal("0.00") if status == InvoiceStatus.VOID else due
    email = pick(record, "contacts.billTo.email1") or pick(record, "billTo.email1")
    return Invoice(
        id=key,
        number=text(pick(record, "invoiceNumber") or pick(record, "id") or key),
        customer_id=text(pick(record, "customer.key")),
        customer_name=text(pick(record, "customer.name")),
        currency=currency,
        lines=_invoice_lines(record, key),
        total=Money(amount=total, currency=currency),
        balance=Money(amount=balance, currency=currency),
        issue_date=parse_date(pick(record, "invoiceDate"), f"invoice {key} invoiceDate"),
        due_date=parse_date(pick(record, "dueDate"), f"invoice {key} dueDate"),
        status=status,
        email=text(email) or None,
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


def _quote_lines(record: Mapping[str, Any], key: str) -> list[InvoiceLine]:
    lines = []
    for position, line in enumerate(pick(record, "lines") or [], start=1):
        quantity = _amount_or(pick(line, "quantity"), f"quote {key} line {position} quantity", Decimal("1"))
        price = _amount_or(pick(line, "price"), f"quote {key} line {position} price", Decimal("0"))
        amount = _amount_or(pick(line, "txnAmount"), f"quote {key} line {position} txnAmount",
                            (quantity * price).quantize(CENT))
        description = pick(line, "memo") or pick(line, "item.name") or pick(line, "item.id")
        lines.append(InvoiceLine(description=text(description), quantity=quantity, unit_price=price, amount=amount))
    return lines


def estimate_from_wire(record: Mapping[str, Any], *, default_currency: str = "USD") -> Estimate:
    key = text(pick(record, "key"))
    raw_currency = pick(record, "currency")
    currency = text(pick(record, "currency.txnCurrency") if isinstance(raw_currency, Mapping) else raw_currency)
    currency = currency or text(pick(record, "txnCurrency.currency")) or default_currency
    lines = _quote_lines(record, key)
    total_field = pick(record, "totalTxnAmount") or pick(record, "txnTotal") or pick(record, "total")
    total = (parse_amount(total_field, f"quote {key} total") if total_field not in (None, "")
             else sum((line.amount for line in lines), Decimal("0.00")))
    return Estimate(
        id=key,
        number=text(pick(record, "documentNumber") or pick(record, "id") or key),
        customer_id=text(pick(record, "customer.key")),
        currency=currency,
        lines=lines,
        total=Money(amount=total, currency=currency),
        status=_QUOTE_STATES.get(text(pick(record, "state")), EstimateStatus.PENDING),
        issue_date=parse_date(pick(record, "documentDate") or pick(record, "transactionDate"),
                              f"quote {key} documentDate"),
    )


def is_credit(record: Mapping[str, Any]) -> bool:
    """Adjustments with a positive total are debit memos: charges, not credits."""
    return _amount_or(pick(record, "txnCurrency.totalEntered"), "adjustment total", Decimal("0")) < 0


def credit_note_from_wire(record: Mapping[str, Any], *, default_currency: str = "USD") -> CreditNote:
    """An AR adjustment as a credit note. Credit memos carry negative amounts in Intacct; the vocabulary's
    are positive."""
    key = text(pick(record, "key"))
    currency = text(pick(record, "txnCurrency.currency")) or default_currency
    total = abs(parse_amount(pick(record, "txnCurrency.totalEntered"), f"adjustment {key} totalEntered"))
    remaining = abs(_amount_or(pick(record, "txnCurrency.totalDue"), f"adjustment {key} totalDue", total))
    state = text(pick(record, "state"))
    if state in VOID_STATES:
        status = "void"
    elif remaining == 0:
        status = "applied"
    elif remaining < total:
        status = "partially_applied"
    else:
        status = "open"
    # Adjustments duecourse created carry the invoice they credit in documentNumber (see credit_note_to_wire).
    ours = "[duecourse " in text(pick(record, "description"))
    invoice_id = text(pick(record, "documentNumber")) if ours else ""
    return CreditNote(
        id=key,
        number=text(pick(record, "adjustmentNumber") or pick(record, "id") or key),
        customer_id=text(pick(record, "customer.key")),
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


def bank_line_from_wire(record: Mapping[str, Any], *, default_currency: str = "USD") -> BankLine:
    key = text(pick(record, "key"))
    currency = text(pick(record, "currency")) or default_currency
    payer = pick(record, "payee") or pick(record, "description") or ""
    return BankLine(
        id=key,
        date=parse_date(pick(record, "postingDate") or pick(record, "transactionDate"), f"bank line {key} date"),
        amount=Money(amount=abs(parse_amount(pick(record, "amount"), f"bank line {key} amount")), currency=currency),
        payer_name=text(payer),
        reference=text(pick(record, "documentNumber") or pick(record, "description")),
        status=_BANK_STATES.get(text(pick(record, "state")), BankLineStatus.UNMATCHED),
    )


def is_deposit(record: Mapping[str, Any]) -> bool:
    """Deposits are receivables' business; withdrawals are not."""
    kind = text(pick(record, "transactionType")).lower()
    if kind in ("withdrawal", "debit", "payment"):
        return False
    return _amount_or(pick(record, "amount"), "bank line amount", Decimal("0")) > 0 or kind in ("deposit", "credit")


def is_active_receipt(record: Mapping[str, Any]) -> bool:
    """A payment or advance that still counts (not reversed, voided or a draft)."""
    return text(pick(record, "state")) not in INACTIVE_PAYMENT_STATES


def _receipt_date(record: Mapping[str, Any], what: str, posting: PostingDefaults) -> date:
    value = (pick(record, posting.receipt_date_field) or pick(record, "paidDate")
             or pick(record, "audit.createdDateTime"))
    return parse_date(value, f"{what} receipt date")


def payment_from_wire(header: Mapping[str, Any], details: Sequence[Mapping[str, Any]], *,
                      posting: PostingDefaults, default_currency: str = "USD") -> Payment:
    """A payment header and the payment details that apply it to invoices."""
    key = text(header["key"])
    currency = text(pick(header, "txnCurrency.currency")) or default_currency
    allocations = [Allocation(invoice_id=text(pick(d, "arInvoice.key")),
                              amount=Money(amount=parse_amount(pick(d, "txnCurrency.paymentAmount"),
                                                               f"payment {key} detail amount"),
                                           currency=currency))
                   for d in details]
    applied = sum((a.amount.amount for a in allocations), Decimal("0.00"))
    total = _amount_or(pick(header, "txnCurrency.totalAmount"), f"payment {key} totalAmount", applied)
    return Payment(
        id=key, customer_id=text(pick(header, "customer.key")),
        date=_receipt_date(header, f"payment {key}", posting),
        amount=Money(amount=total, currency=currency), allocations=allocations,
        unapplied=Money(amount=max(total - applied, Decimal("0.00")), currency=currency),
        reference=text(pick(header, "documentNumber")),
    )


def payments_from_wire(headers: Sequence[Mapping[str, Any]], details: Sequence[Mapping[str, Any]], *,
                       posting: PostingDefaults, default_currency: str = "USD") -> list[Payment]:
    """Payment headers with their details (details that apply no invoice are left out), in header order."""
    by_payment: dict[str, list[Mapping[str, Any]]] = {key: [] for key in keys(headers)}
    for detail in sorted(details, key=lambda d: int(text(d.get("key")) or 0)):
        if pick(detail, "arInvoice.key"):
            by_payment.setdefault(text(pick(detail, "arPayment.key")), []).append(detail)
    return [payment_from_wire(header, by_payment.get(text(header["key"]), []), posting=posting,
                              default_currency=default_currency) for header in headers]


def advance_from_wire(record: Mapping[str, Any], *, posting: PostingDefaults,
                      default_currency: str = "USD") -> Payment:
    """An AR advance (cash not yet applied to any invoice) as a payment with no allocations."""
    key = text(record["key"])
    currency = text(pick(record, "txnCurrency.currency")) or default_currency
    total = parse_amount(pick(record, "txnCurrency.totalAmount"), f"advance {key} totalAmount")
    left = _amount_or(pick(record, "txnCurrency.totalDue"), f"advance {key} totalDue", total)
    return Payment(
        id=key, customer_id=text(pick(record, "customer.key")), date=_receipt_date(record, f"advance {key}", posting),
        amount=Money(amount=total, currency=currency), allocations=[],
        unapplied=Money(amount=left, currency=currency), reference=text(pick(record, "documentNumber")),
    )


def event_from_wire(row: Mapping[str, Any], *, entity: str, obj: str, tenant: str) -> LedgerEvent | None:
    """A query-service row (key, state, audit times) as the change it shows; None without a modified time.
    The event id is the one a webhook for the same change carries."""
    modified = parse_timestamp(pick(row, "audit.modifiedDateTime"))
    if modified is None:
        return None
    created = parse_timestamp(pick(row, "audit.createdDateTime"))
    if entity == "Invoice" and text(pick(row, "state")) == "reversed":
        operation = EventOperation.VOID
    elif created is not None and created >= modified:
        operation = EventOperation.CREATE
    else:
        operation = EventOperation.UPDATE
    key = text(row["key"])
    return LedgerEvent(ledger=LEDGER, tenant=tenant, event_id=change_event_id(tenant, obj, key, modified),
                       entity=entity, entity_id=key, operation=operation, occurred_at=modified)


# --- outbound: vocabulary -> Intacct -----------------------------------------------------------------


def customer_to_wire(draft: CustomerDraft, idempotency_key: str, posting: PostingDefaults) -> dict[str, Any]:
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
    if posting.term_name:
        # Terms are named per company ("Net 30" by default); None leaves the customer's term unset.
        body["term"] = {"id": posting.term_name.format(days=draft.terms_days)}
    return body


def _invoice_line_to_wire(line: InvoiceLine, position: int, posting: PostingDefaults) -> dict[str, Any]:
    amount = wire_amount(line.amount, f"line {position} amount")
    expected = (line.quantity * line.unit_price).quantize(CENT)
    if expected != line.amount:
        raise PermanentLedgerError(f"line {position} ({line.description!r}): amount {line.amount} is not "
                                   f"quantity {line.quantity} x unit price {line.unit_price} = {expected}")
    memo = line.description
    if line.quantity != 1:
        # AR invoice lines take an amount only: the quantity and price travel in the memo.
        memo = f"{line.description} ({line.quantity} x {line.unit_price})"
    return {"glAccount": {"id": posting.revenue_gl_account}, "txnAmount": amount, "memo": memo}


def invoice_to_wire(draft: InvoiceDraft, idempotency_key: str, posting: PostingDefaults) -> dict[str, Any]:
    if not draft.lines:
        raise PermanentLedgerError("an invoice needs at least one line")
    if draft.due_date < draft.issue_date:
        raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
    body: dict[str, Any] = {
        "customer": {"key": draft.customer_id},
        "invoiceDate": draft.issue_date.isoformat(),
        "dueDate": draft.due_date.isoformat(),
        "currency": {"txnCurrency": draft.currency.upper()},
        "description": f"Created by duecourse {idempotency_marker(idempotency_key)}",
        "lines": [_invoice_line_to_wire(line, position, posting) for position, line in enumerate(draft.lines, 1)],
    }
    if draft.number:
        body["invoiceNumber"] = draft.number.strip()
    if draft.estimate_id:
        # AR invoices cannot point at an Order Entry quote; keep the trail in the reference number.
        body["referenceNumber"] = f"Quote {draft.estimate_id}"
    return body


def reversal_to_wire(invoice_id: str, reversed_on: date) -> dict[str, Any]:
    """The body of the invoice `reverse` workflow (Intacct reverses instead of voiding)."""
    return {"key": invoice_id, "reversedDate": reversed_on.isoformat(), "memo": "Voided by duecourse"}


def _deposit_target(posting: PostingDefaults) -> dict[str, Any]:
    if posting.bank_account_id:
        return {"financialEntity": {"entityId": posting.bank_account_id}}
    return {"undepositedGLAccount": {"id": posting.undeposited_gl_account}}


def _receipt_to_wire(request: PaymentRequest, marker: str, posting: PostingDefaults, label: str = "") -> dict[str, Any]:
    """What a payment and an advance share: customer, method, deposit target, currency, date, and a
    description naming the reference, the bank line and the record's marker."""
    reference = request.reference.strip()
    trail = f"(bank line {request.bank_line_id})" if request.bank_line_id else ""
    body: dict[str, Any] = {"customer": {"key": request.customer_id}, "paymentMethod": posting.payment_method,
                            **_deposit_target(posting), "txnCurrency": {"currency": request.amount.currency}}
    if reference:
        body["documentNumber"] = reference
    _set_path(body, posting.receipt_date_field, request.date.isoformat())
    body["description"] = " ".join(word for word in (label, reference, trail, marker) if word)
    return body


def payment_to_wire(request: PaymentRequest, per_invoice: Mapping[str, Decimal], idempotency_key: str,
                    posting: PostingDefaults) -> dict[str, Any]:
    """An AR payment applying `per_invoice` (invoice key -> amount) through payment details."""
    body = _receipt_to_wire(request, idempotency_marker(idempotency_key), posting)
    body["paymentDetails"] = [{"arInvoice": {"key": invoice_id},
                               "txnCurrency": {"paymentAmount": wire_amount(value, "allocation")}}
                              for invoice_id, value in per_invoice.items()]
    return body


def advance_to_wire(request: PaymentRequest, remainder: Decimal, idempotency_key: str,
                    posting: PostingDefaults) -> dict[str, Any]:
    """An AR advance holding the cash of a payment beyond its allocations (unapplied cash)."""
    body = _receipt_to_wire(request, idempotency_marker(idempotency_key), posting, label="Unapplied")
    body["lines"] = [{"glAccount": {"id": posting.advance_gl_account},
                      "txnAmount": wire_amount(remainder, "unapplied amount")}]
    return body


def credit_note_to_wire(draft: CreditNoteDraft, invoice_number: str | None, idempotency_key: str,
                        posting: PostingDefaults) -> dict[str, Any]:
    """A credit memo: an AR adjustment with negative lines. The credited invoice's key travels in
    `documentNumber` (an adjustment cannot be applied to the invoice here: applying credit is a payment
    decision), its number in the description."""
    words = [draft.reason.strip()] if draft.reason.strip() else []
    if invoice_number is not None:
        words.insert(0, f"Credit for invoice {invoice_number}" + (":" if words else ""))
    currency = draft.currency.upper()
    lines = []
    for position, line in enumerate(draft.lines, start=1):
        if line.amount <= 0:
            raise PermanentLedgerError(f"credit note line {position} must be positive, got {line.amount}")
        lines.append({"glAccount": {"id": posting.credit_gl_account}, "memo": line.description,
                      "txnCurrency": {"amount": wire_amount(-line.amount, f"line {position} amount"),
                                      "currency": currency}})
    body: dict[str, Any] = {"customer": {"key": draft.customer_id}, "createdDate": draft.issue_date.isoformat(),
                            "description": " ".join([*words, idempotency_marker(idempotency_key)]),
                            "txnCurrency": {"currency": currency}, "lines": lines}
    if draft.invoice_id is not None:
        body["documentNumber"] = draft.invoice_id
    return body


def note_to_wire(note: str, idempotency_key: str) -> dict[str, str]:
    """An audit-trail note as a text file of an attachment record, named after its idempotency key."""
    return {"name": f"duecourse-note-{_digest(idempotency_key)}.txt",
            "data": base64.b64encode(note.encode("utf-8")).decode("ascii")}


def attachment_to_wire(attachment_id: str, entity: str, entity_id: str, file: Mapping[str, str],
                       idempotency_key: str, posting: PostingDefaults) -> dict[str, Any]:
    """The supporting-document record holding one transaction's notes, created with its first note."""
    body: dict[str, Any] = {"id": attachment_id, "name": f"duecourse audit trail ({entity} {entity_id})",
                            "description": f"duecourse notes {idempotency_marker(idempotency_key)}",
                            "files": [dict(file)]}
    if posting.attachment_folder:
        body["folder"] = {"id": posting.attachment_folder}
    return body


def file_names(attachment: Mapping[str, Any]) -> set[str]:
    return {text(pick(f, "name")) for f in pick(attachment, "files") or [] if isinstance(f, Mapping)}
