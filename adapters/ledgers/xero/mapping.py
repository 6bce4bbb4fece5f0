"""Xero's objects <-> the ledger vocabulary, as pure functions (no I/O).

* Customer = Contact. Currency is the contact's DefaultCurrency, else the organisation's base currency;
  terms_days comes from PaymentTerms.Sales when its type is DAYSAFTERBILLDATE (other Xero term types have no
  fixed day count and keep the default 30); country and time zone are the organisation's (Xero keeps Windows
  zone ids: a zone with no IANA name here is "UTC"), and `time_zone_source` says which it was.
* Invoice = an ACCREC Invoice. Balance is AmountDue (0 once VOIDED). Status: DRAFT/SUBMITTED -> draft
  (never dunned; listed by `list_open_invoices` so their lifecycle can wait for approval),
  AUTHORISED -> open (partially_paid once anything is paid or credited), PAID -> paid, VOIDED/DELETED -> void.
  Drafts are created AUTHORISED with `line_amount_types` (Inclusive by default), so the total Xero keeps
  is exactly the sum of the draft's lines whatever tax the sales account carries.
* Estimate = Quote. DRAFT/SENT -> pending, ACCEPTED -> accepted, DECLINED -> rejected, INVOICED/DELETED ->
  closed.
* Payment = one Payment (one invoice) or one BatchPayment (several invoices, one bank line); its id is the
  PaymentID or the BatchPaymentID. Money beyond the allocations becomes a RECEIVE-OVERPAYMENT bank
  transaction (Xero has no unapplied amount on a payment).
* BankLine = a RECEIVE BankTransaction: unmatched while AUTHORISED and not reconciled, matched once
  reconciled, ignored when deleted or voided.
* CreditNote = an ACCRECCREDIT CreditNote; status draft / open / applied / void.
* Notes = History records. Aging rows come from Reports/AgedReceivablesByContact, bucketed by the port.
* Events: one per record version (UpdatedDateUTC), from the If-Modified-Since listings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any

from xero_python.accounting.models import Allocation as XAllocation
from xero_python.accounting.models import Allocations as XAllocations
from xero_python.accounting.models import BankTransaction as XBankTransaction
from xero_python.accounting.models import BankTransactions as XBankTransactions
from xero_python.accounting.models import BatchPayment as XBatchPayment
from xero_python.accounting.models import BatchPayments as XBatchPayments
from xero_python.accounting.models import Bill as XBill
from xero_python.accounting.models import Contact as XContact
from xero_python.accounting.models import Contacts as XContacts
from xero_python.accounting.models import CreditNote as XCreditNote
from xero_python.accounting.models import CreditNotes as XCreditNotes
from xero_python.accounting.models import CurrencyCode as XCurrencyCode
from xero_python.accounting.models import HistoryRecord as XHistoryRecord
from xero_python.accounting.models import HistoryRecords as XHistoryRecords
from xero_python.accounting.models import Invoice as XInvoice
from xero_python.accounting.models import Invoices as XInvoices
from xero_python.accounting.models import LineAmountTypes as XLineAmountTypes
from xero_python.accounting.models import LineItem as XLineItem
from xero_python.accounting.models import Payment as XPayment
from xero_python.accounting.models import Payments as XPayments
from xero_python.accounting.models import PaymentTerm as XPaymentTerm
from xero_python.accounting.models import PaymentTermType as XPaymentTermType
from xero_python.accounting.models import Quote as XQuote
from xero_python.accounting.models import Quotes as XQuotes
from xero_python.accounting.models import QuoteStatusCodes as XQuoteStatusCodes

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
    LedgerEvent,
    Money,
    NotFound,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
    iana_time_zone,
)

LEDGER = "xero"
# Xero's organisation time zones are Windows zone ids; the common ones, for dunning calendars.
TIME_ZONES = {
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland", "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EASTAUSTRALIASTANDARDTIME": "Australia/Brisbane", "CENAUSTRALIASTANDARDTIME": "Australia/Adelaide",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth", "GMTSTANDARDTIME": "Europe/London",
    "EASTERNSTANDARDTIME": "America/New_York", "CENTRALSTANDARDTIME": "America/Chicago",
    "MOUNTAINSTANDARDTIME": "America/Denver", "PACIFICSTANDARDTIME": "America/Los_Angeles",
    "SOUTHAFRICASTANDARDTIME": "Africa/Johannesburg", "SINGAPORESTANDARDTIME": "Asia/Singapore",
    "WEUROPESTANDARDTIME": "Europe/Berlin", "ROMANCESTANDARDTIME": "Europe/Paris", "UTC": "UTC",
}
# What `list_open_invoices` asks for: approved invoices, and the drafts and submitted ones waiting for approval.
OPEN_OR_DRAFT_STATUSES = ("AUTHORISED", "DRAFT", "SUBMITTED")
INVOICE_STATUSES = {"DRAFT": InvoiceStatus.DRAFT, "SUBMITTED": InvoiceStatus.DRAFT, "PAID": InvoiceStatus.PAID,
                    "VOIDED": InvoiceStatus.VOID, "DELETED": InvoiceStatus.VOID}
QUOTE_STATUSES = {"DRAFT": EstimateStatus.PENDING, "SENT": EstimateStatus.PENDING,
                  "ACCEPTED": EstimateStatus.ACCEPTED, "DECLINED": EstimateStatus.REJECTED,
                  "INVOICED": EstimateStatus.CLOSED, "DELETED": EstimateStatus.CLOSED}
CREDIT_STATUSES = {"DRAFT": "draft", "SUBMITTED": "draft", "AUTHORISED": "open", "PAID": "applied",
                   "VOIDED": "void", "DELETED": "void"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- small conversions ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value if isinstance(value, Enum) else value)


def _dec(value: Any) -> Decimal:
    if value is None:
        return Decimal("0")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cents(value: Any) -> Decimal:
    """Money as Xero keeps it: two decimals, however the JSON number was written (300, 300.0, 300.00)."""
    return _dec(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def status_of(record: Any) -> str:
    """A Xero record's Status as text ("AUTHORISED", "PAID", ...)."""
    return _text(record.status)


def kind_of(record: Any) -> str:
    """A Xero record's Type as text ("ACCREC", "RECEIVE", ...)."""
    return _text(record.type)


def currency_of(record: Any) -> str:
    """A Xero record's CurrencyCode as text ("" when it names none: the organisation's base currency)."""
    return _text(record.currency_code)


def amount_from_wire(value: Any) -> Decimal:
    return _cents(value)


def date_from_wire(value: Any) -> date | None:
    return _day(value)


def guid(value: str, what: str) -> str:
    """`value` as Xero's where-clauses take an id; NotFound when it cannot be a Xero id at all."""
    if not _GUID.match(value or ""):
        raise NotFound(f"{what} {value!r} is not a Xero id (a GUID)")
    return value.lower()


def where_date(value: date) -> str:
    return f"DateTime({value.year},{value.month:02d},{value.day:02d})"


def currency_to_wire(code: str) -> XCurrencyCode:
    try:
        return XCurrencyCode(code.strip().upper())
    except ValueError:
        raise PermanentLedgerError(f"currency {code!r} is not an ISO 4217 code Xero knows") from None


def check_lines(lines: list[InvoiceLine], what: str) -> None:
    """Refuse, before anything is sent, lines whose amount is not quantity x unit price in cents."""
    if not lines:
        raise PermanentLedgerError(f"{what} needs at least one line")
    for position, line in enumerate(lines, start=1):
        expected = (line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
        if line.amount != line.amount.quantize(CENT) or expected != line.amount:
            raise PermanentLedgerError(
                f"{what} line {position} ({line.description!r}): amount {line.amount} is not quantity "
                f"{line.quantity} x unit price {line.unit_price} = {expected}")


# --- inbound: wire -> vocabulary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    """What of the organisation the mapping needs: its base currency, country and (IANA) time zone."""

    base_currency: str
    country: str
    time_zone: str
    # Where time_zone came from, shown with each customer's stage.
    time_zone_source: str = "Xero organisation time zone"


def organisation_from_wire(org: Any) -> Organisation:
    windows = _text(org.timezone)
    zone = iana_time_zone(TIME_ZONES.get(windows.upper()))
    if zone is None:
        source = (f"UTC: the Xero organisation's time zone {windows!r} has no IANA name here" if windows
                  else "UTC: the Xero organisation names no time zone")
    else:
        source = f"Xero organisation time zone {windows} ({zone})"
    return Organisation(base_currency=_text(org.base_currency) or "USD", country=_text(org.country_code) or "US",
                        time_zone=zone or "UTC", time_zone_source=source)


def customer_from_wire(contact: Any, org: Organisation) -> Customer:
    terms = 30
    sales = getattr(getattr(contact, "payment_terms", None), "sales", None)
    if sales is not None and _text(sales.type) == "DAYSAFTERBILLDATE" and sales.day is not None:
        terms = int(sales.day)
    alternates = [p.email_address for p in contact.contact_persons or []
                  if p.email_address and p.include_in_emails and p.email_address != contact.email_address]
    return Customer(id=contact.contact_id, name=contact.name, email=contact.email_address or None,
                    alternate_emails=alternates, currency=_text(contact.default_currency) or org.base_currency,
                    terms_days=terms, time_zone=org.time_zone, time_zone_source=org.time_zone_source,
                    country=org.country if len(org.country) == 2 else "US")


def _lines_from_wire(line_items: Any) -> list[InvoiceLine]:
    return [InvoiceLine(description=line.description or "", quantity=_dec(line.quantity or 1),
                        unit_price=_dec(line.unit_amount), amount=_cents(line.line_amount))
            for line in line_items or []]


def _invoice_status(invoice: Any) -> InvoiceStatus:
    status = _text(invoice.status)
    if status != "AUTHORISED":
        return INVOICE_STATUSES.get(status, InvoiceStatus.DRAFT)
    if _cents(invoice.amount_due) <= 0 and _cents(invoice.total) > 0:
        return InvoiceStatus.PAID
    settled = _cents(invoice.amount_paid) + _cents(invoice.amount_credited)
    return InvoiceStatus.PARTIALLY_PAID if settled > 0 else InvoiceStatus.OPEN


def invoice_from_wire(invoice: Any, base_currency: str) -> Invoice:
    currency = _text(invoice.currency_code) or base_currency
    mapped = _invoice_status(invoice)
    balance = Decimal("0.00") if mapped == InvoiceStatus.VOID else _cents(invoice.amount_due)
    contact = invoice.contact
    issued = _day(invoice.date)
    if issued is None:
        raise PermanentLedgerError(f"Xero invoice {invoice.invoice_id} has no date")
    return Invoice(
        id=invoice.invoice_id, number=invoice.invoice_number or "", customer_id=contact.contact_id,
        customer_name=contact.name or "", currency=currency, lines=_lines_from_wire(invoice.line_items),
        total=Money(amount=_cents(invoice.total), currency=currency), balance=Money(amount=balance, currency=currency),
        issue_date=issued, due_date=_day(invoice.due_date) or issued, status=mapped,
        email=getattr(contact, "email_address", None) or None, updated_at=_utc(invoice.updated_date_utc))


def estimate_from_wire(quote: Any, base_currency: str) -> Estimate:
    currency = _text(quote.currency_code) or base_currency
    return Estimate(
        id=quote.quote_id, number=quote.quote_number or "", customer_id=quote.contact.contact_id,
        currency=currency, lines=_lines_from_wire(quote.line_items),
        total=Money(amount=_cents(quote.total), currency=currency),
        status=QUOTE_STATUSES.get(_text(quote.status), EstimateStatus.PENDING), issue_date=_day(quote.date))


def bank_line_from_wire(txn: Any, base_currency: str) -> BankLine:
    currency = _text(txn.currency_code) or base_currency
    status = _text(txn.status)
    if status != "AUTHORISED":
        mapped = BankLineStatus.IGNORED
    else:
        mapped = BankLineStatus.MATCHED if txn.is_reconciled else BankLineStatus.UNMATCHED
    return BankLine(id=txn.bank_transaction_id, date=_day(txn.date),
                    amount=Money(amount=_cents(txn.total), currency=currency),
                    payer_name=(txn.contact.name if txn.contact else "") or "", reference=txn.reference or "",
                    status=mapped)


def credit_note_from_wire(note: Any, base_currency: str, invoice_hint: str | None = None) -> CreditNote:
    currency = _text(note.currency_code) or base_currency
    allocations = [a for a in note.allocations or [] if a.invoice is not None]
    return CreditNote(
        id=note.credit_note_id, number=note.credit_note_number or "", customer_id=note.contact.contact_id,
        total=Money(amount=_cents(note.total), currency=currency),
        remaining=Money(amount=_cents(note.remaining_credit), currency=currency),
        status=CREDIT_STATUSES.get(_text(note.status), _text(note.status).lower()),
        invoice_id=allocations[0].invoice.invoice_id if allocations else invoice_hint)


def invoices_to_describe(found: list[Any]) -> list[str]:
    """The invoices of payments a listing did not describe (the documented Payment sample carries only
    InvoiceID / InvoiceNumber / Type): their contact and currency must be read."""
    return [p.invoice.invoice_id for p in found if p.invoice.contact is None or p.invoice.currency_code is None]


def invoice_facts_from_wire(invoices: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """(contact id, currency) per invoice id, from an invoice listing."""
    return {invoice.invoice_id: (invoice.contact.contact_id, _text(invoice.currency_code)) for invoice in invoices}


def _payer(payment: Any, facts: dict[str, tuple[str, str]], base_currency: Callable[[], str]) -> tuple[str, str]:
    """(customer id, currency) of a payment: from its invoice summary, else from the invoice itself."""
    invoice = payment.invoice
    known = facts.get(invoice.invoice_id)
    customer_id = invoice.contact.contact_id if invoice.contact is not None else (known or ("", ""))[0]
    currency = _text(invoice.currency_code) or (known or ("", ""))[1] or base_currency()
    if not customer_id:
        raise NotFound(f"Xero payment {payment.payment_id} names invoice {invoice.invoice_id}, which is not there")
    return customer_id, currency


def payments_from_wire(found: list[Any], facts: dict[str, tuple[str, str]], base_currency: Callable[[], str],
                       whole_batches: dict[str, Any] | None = None) -> list[Payment]:
    """Xero payments as ours: one per Payment, one per BatchPayment (its payments are its allocations).
    `whole_batches` holds batches read in full (a listing filtered by invoice shows only that invoice's share);
    `base_currency` is asked only for a payment whose invoice names no currency."""
    payments: list[Payment] = []
    batches: dict[str, list[Any]] = {}
    for payment in found:
        if payment.batch_payment_id:
            batches.setdefault(payment.batch_payment_id, []).append(payment)
            continue
        customer_id, currency = _payer(payment, facts, base_currency)
        amount = Money(amount=_cents(payment.amount), currency=currency)
        payments.append(Payment(id=payment.payment_id, customer_id=customer_id, date=_day(payment.date),
                                amount=amount,
                                allocations=[Allocation(invoice_id=payment.invoice.invoice_id, amount=amount)],
                                unapplied=Money.zero(currency), reference=payment.reference or ""))
    for batch_id, members in batches.items():
        whole = (whole_batches or {}).get(batch_id)
        if whole is not None:
            parts = [(p.invoice.invoice_id, _cents(p.amount)) for p in whole.payments or []]
            reference = whole.reference or ""
        else:
            parts = [(p.invoice.invoice_id, _cents(p.amount)) for p in members]
            reference = members[0].reference or ""
        customer_id, currency = _payer(members[0], facts, base_currency)
        total = sum((a for _, a in parts), Decimal("0"))
        payments.append(Payment(id=batch_id, customer_id=customer_id, date=_day(members[0].date),
                                amount=Money(amount=total, currency=currency),
                                allocations=[Allocation(invoice_id=i, amount=Money(amount=a, currency=currency))
                                             for i, a in parts],
                                unapplied=Money.zero(currency), reference=reference))
    return sorted(payments, key=lambda p: p.date)


def batch_ids_of(found: list[Any]) -> list[str]:
    return list(dict.fromkeys(p.batch_payment_id for p in found if p.batch_payment_id))


def _aged_lines(report: Any) -> Iterator[tuple[str | None, date | None, Decimal]]:
    """(invoice id, due date, amount due) of each invoice row; columns found by their header names."""
    for sheet in report.reports or []:
        columns: dict[str, int] = {}
        for row in sheet.rows or []:
            kind = _text(row.row_type)
            if kind == "Header":
                columns = {_text(cell.value): i for i, cell in enumerate(row.cells or [])}
            if kind != "Section":
                continue
            for line in row.rows or []:
                if _text(line.row_type) != "Row" or "Due" not in columns:
                    continue
                cells = line.cells or []
                try:
                    amount = Decimal(_text(cells[columns["Due"]].value).replace(",", "") or "0")
                except (IndexError, InvalidOperation):
                    raise PermanentLedgerError("Xero's aged receivables report has an unreadable row") from None
                due_text = _text(cells[columns["Due Date"]].value) if "Due Date" in columns else ""
                due = date.fromisoformat(due_text[:10]) if due_text else None
                invoice_id = next((a.value for cell in cells for a in cell.attributes or []
                                   if _text(a.id).lower() == "invoiceid"), None)
                if amount != 0:
                    yield invoice_id, due, amount


def aging_rows_from_wire(reports: Iterable[tuple[str, str, Any]], currencies: dict[str, str], as_of: date,
                         base_currency: Callable[[], str]) -> list[AgingRow]:
    """Rows per customer and currency from each (contact id, name, AgedReceivablesByContact report);
    `base_currency` is asked only for an invoice whose currency is not in `currencies`."""
    rows: dict[tuple[str, str], AgingRow] = {}
    for contact_id, name, report in reports:
        for invoice_id, due_date, amount in _aged_lines(report):
            currency = currencies.get(invoice_id or "") or base_currency()
            row = rows.setdefault((contact_id, currency), AgingRow(customer_id=contact_id, customer_name=name,
                                                                   currency=currency))
            row.add((as_of - due_date).days if due_date else 0, amount)
    return sorted(rows.values(), key=lambda r: (r.customer_name, r.currency))


# --- inbound: changes ----------------------------------------------------------------------------------------


def _voided(record: Any) -> EventOperation:
    return EventOperation.VOID if _text(record.status) in ("VOIDED", "DELETED") else EventOperation.UPDATE


def _deleted(record: Any) -> EventOperation:
    return EventOperation.DELETE if _text(record.status) == "DELETED" else EventOperation.UPDATE


def _bank_line_operation(txn: Any) -> EventOperation:
    # Xero says nothing of creation; money still to apply is announced as new, which starts (once, by
    # workflow id) its cash application.
    status = _text(txn.status)
    if status != "AUTHORISED":
        return EventOperation.VOID if status == "VOIDED" else EventOperation.DELETE
    return EventOperation.UPDATE if txn.is_reconciled else EventOperation.CREATE


# entity -> (its id, what its change is)
_CHANGES: dict[str, tuple[Any, Any]] = {
    "Invoice": (lambda r: r.invoice_id, _voided),
    "Customer": (lambda r: r.contact_id, lambda r: EventOperation.UPDATE),
    "Payment": (lambda r: r.batch_payment_id or r.payment_id, _deleted),
    "CreditNote": (lambda r: r.credit_note_id, _voided),
    "Estimate": (lambda r: r.quote_id, _deleted),
    "BankLine": (lambda r: r.bank_transaction_id, _bank_line_operation),
}


def event_from_wire(tenant: str, entity: str, record: Any, since: datetime) -> LedgerEvent:
    """One event per record version: its id is stable for the same UpdatedDateUTC, so a repeat is dropped."""
    ident, operation = _CHANGES[entity]
    stamp = _utc(record.updated_date_utc) or since
    millis = (stamp - _EPOCH) // timedelta(milliseconds=1)
    return LedgerEvent(ledger=LEDGER, tenant=tenant, event_id=f"xero:{tenant}:{entity}:{ident(record)}:{millis}",
                       entity=entity, entity_id=ident(record), operation=operation(record), occurred_at=stamp)


def changes_from_wire(tenant: str, since: datetime, listings: Iterable[tuple[str, Iterable[Any]]]) -> ChangeBatch:
    """The events of the changed records of each (entity, records) listing, oldest first; the cursor is the
    newest UpdatedDateUTC seen (`since` when nothing changed)."""
    events: dict[str, LedgerEvent] = {}
    for entity, records in listings:
        for record in records:
            event = event_from_wire(tenant, entity, record, since)
            events.setdefault(event.event_id, event)  # the payments of one batch share their batch's event
    ordered = sorted(events.values(), key=lambda e: e.occurred_at)
    newest = max([since, *(e.occurred_at for e in ordered)])
    return ChangeBatch(events=ordered, cursor=newest.isoformat())


# --- outbound: vocabulary -> wire --------------------------------------------------------------------------


def customer_to_wire(draft: CustomerDraft) -> XContacts:
    contact = XContact(name=draft.name, email_address=draft.email, default_currency=currency_to_wire(draft.currency),
                       payment_terms=XPaymentTerm(sales=XBill(day=draft.terms_days,
                                                              type=XPaymentTermType.DAYSAFTERBILLDATE)))
    return XContacts(contacts=[contact])


def _line_items_to_wire(lines: list[InvoiceLine], account_code: str) -> list[Any]:
    return [XLineItem(description=line.description, quantity=line.quantity, unit_amount=line.unit_price,
                      account_code=account_code) for line in lines]


def invoice_to_wire(draft: InvoiceDraft, account_code: str, amount_types: XLineAmountTypes,
                    quote_number: str | None = None) -> XInvoices:
    invoice = XInvoice(type="ACCREC", contact=XContact(contact_id=draft.customer_id), date=draft.issue_date,
                       due_date=draft.due_date, line_items=_line_items_to_wire(draft.lines, account_code),
                       line_amount_types=amount_types, currency_code=currency_to_wire(draft.currency),
                       status="AUTHORISED", invoice_number=draft.number, reference=quote_number)
    return XInvoices(invoices=[invoice])


def invoice_status_to_wire(invoice_id: str, status: str) -> XInvoices:
    return XInvoices(invoices=[XInvoice(invoice_id=invoice_id, status=status)])


def quote_invoiced_to_wire(quote: Any) -> XQuotes:
    update = XQuote(contact=XContact(contact_id=quote.contact.contact_id), date=quote.date,
                    status=XQuoteStatusCodes.INVOICED)
    return XQuotes(quotes=[update])


def payment_to_wire(request: PaymentRequest, invoice_id: str, amount: Decimal, account: Any) -> XPayments:
    return XPayments(payments=[XPayment(invoice=XInvoice(invoice_id=invoice_id), account=account,
                                        date=request.date, amount=amount, reference=request.reference or None)])


def batch_payment_to_wire(request: PaymentRequest, per_invoice: dict[str, Decimal], account: Any) -> XBatchPayments:
    batch = XBatchPayment(account=account, date=request.date, reference=request.reference or None,
                          payments=[XPayment(invoice=XInvoice(invoice_id=i), amount=a) for i, a in per_invoice.items()])
    return XBatchPayments(batch_payments=[batch])


def overpayment_to_wire(request: PaymentRequest, unapplied: Decimal, account: Any) -> XBankTransactions:
    over = XBankTransaction(type="RECEIVE-OVERPAYMENT", contact=XContact(contact_id=request.customer_id),
                            bank_account=account, date=request.date, reference=request.reference or None,
                            line_amount_types=XLineAmountTypes.NOTAX,
                            currency_code=currency_to_wire(request.amount.currency),
                            line_items=[XLineItem(description=f"Unapplied payment {request.reference}".strip(),
                                                  line_amount=unapplied)])
    return XBankTransactions(bank_transactions=[over])


def payment_from_request(request: PaymentRequest, payment_id: str, per_invoice: dict[str, Decimal]) -> Payment:
    """The payment as recorded: what was asked, under the id Xero gave it."""
    currency = request.amount.currency
    unapplied = request.amount.amount - sum(per_invoice.values(), Decimal("0"))
    return Payment(id=payment_id, customer_id=request.customer_id, date=request.date, amount=request.amount,
                   allocations=[Allocation(invoice_id=i, amount=Money(amount=a, currency=currency))
                                for i, a in per_invoice.items()],
                   unapplied=Money(amount=unapplied, currency=currency), reference=request.reference)


def credit_note_to_wire(draft: CreditNoteDraft, account_code: str, amount_types: XLineAmountTypes) -> XCreditNotes:
    note = XCreditNote(type="ACCRECCREDIT", contact=XContact(contact_id=draft.customer_id), date=draft.issue_date,
                       line_items=_line_items_to_wire(draft.lines, account_code), line_amount_types=amount_types,
                       currency_code=currency_to_wire(draft.currency), status="AUTHORISED",
                       reference=draft.reason[:255] or None)
    return XCreditNotes(credit_notes=[note])


def allocation_to_wire(invoice_id: str, amount: Decimal, on: date) -> XAllocations:
    return XAllocations(allocations=[XAllocation(invoice=XInvoice(invoice_id=invoice_id), amount=amount, date=on)])


def note_to_wire(text: str) -> XHistoryRecords:
    return XHistoryRecords(history_records=[XHistoryRecord(details=text)])
