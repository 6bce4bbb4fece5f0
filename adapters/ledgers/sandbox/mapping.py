"""The sandbox's rows <-> the vocabulary: pure functions, no I/O.

The sandbox's counterpart of the other ledgers' wire mapping: `..._from_row` reads a table row (see
models.py) as a vocabulary record, `..._to_row` builds the row for a record, and the checks below refuse
what a ledger would refuse where it enters (a float, a fraction of a cent, a zone no workflow can load).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from adapters.ledger import (
    Allocation,
    BankLine,
    BankLineStatus,
    CreditNote,
    Customer,
    Estimate,
    EstimateStatus,
    EventOperation,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LedgerEvent,
    Money,
    Payment,
    PermanentLedgerError,
    TimeEntry,
    iana_time_zone,
    minor_unit,
)
from adapters.ledgers.sandbox.models import (
    AllocationRow,
    BankLineRow,
    CreditNoteRow,
    CustomerRow,
    EstimateRow,
    EventRow,
    InvoiceLineRow,
    InvoiceRow,
    PaymentRow,
    TimeEntryRow,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# --- what enters the ledger ----------------------------------------------------------------------


def decimal_of(value: Decimal | str | int, what: str) -> Decimal:
    """A finite decimal from what a person typed; never through a float."""
    if isinstance(value, float):
        raise PermanentLedgerError(f"{what} must be a decimal, not a float ({value!r})")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PermanentLedgerError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise PermanentLedgerError(f"{what} {value!r} is not a finite number")
    return number


def in_minor_units(value: Decimal, what: str, currency: str) -> Decimal:
    """An amount the ledger can hold: whole minor units of its currency (kept as given, e.g. "12.5")."""
    if value != value.quantize(minor_unit(currency)):
        raise PermanentLedgerError(f"{what} {value} has more decimal places than {currency} has")
    return value


def currency_code(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise PermanentLedgerError(f"currency {code!r} is not a three-letter ISO 4217 code")
    return code


def email_address(address: str) -> str:
    address = address.strip()
    if not _EMAIL.match(address):
        raise PermanentLedgerError(f"{address!r} is not an email address")
    return address


def time_zone_name(name: str) -> str:
    """An IANA zone: a workflow later computes the customer's local send time with it."""
    if iana_time_zone(name) is None:
        raise PermanentLedgerError(f"unknown time zone {name!r} (an IANA name expected)")
    return name


def country_code(country: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise PermanentLedgerError(f"country {country!r} is not a two-letter ISO 3166 code")
    return country.upper()


# --- rows -> vocabulary ----------------------------------------------------------------------------


def customer_from_row(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        email=row.email,
        alternate_emails=json.loads(row.alternate_emails),
        currency=row.currency,
        terms_days=row.terms_days,
        time_zone=row.time_zone,
        country=row.country,
        credit_limit=None if row.credit_limit is None else Money(amount=row.credit_limit, currency=row.currency),
        dunning_profile=row.dunning_profile,
    )


def invoice_line_from_row(row: InvoiceLineRow) -> InvoiceLine:
    return InvoiceLine(description=row.description, quantity=row.quantity, unit_price=row.unit_price,
                       amount=row.amount)


def invoice_from_row(row: InvoiceRow, lines: list[InvoiceLine], customer: CustomerRow) -> Invoice:
    return Invoice(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        customer_name=customer.name,
        currency=row.currency,
        lines=lines,
        total=Money(amount=row.total, currency=row.currency),
        balance=Money(amount=row.balance, currency=row.currency),
        issue_date=row.issue_date,
        due_date=row.due_date,
        status=InvoiceStatus(row.status),
        email=customer.email,
        updated_at=row.updated_at,
    )


def payment_from_row(row: PaymentRow, allocations: Iterable[AllocationRow]) -> Payment:
    return Payment(
        id=row.id,
        customer_id=row.customer_id,
        date=row.date,
        amount=Money(amount=row.amount, currency=row.currency),
        allocations=[
            Allocation(invoice_id=a.invoice_id, amount=Money(amount=a.amount, currency=row.currency))
            for a in allocations
        ],
        unapplied=Money(amount=row.unapplied, currency=row.currency),
        reference=row.reference,
    )


def bank_line_from_row(row: BankLineRow) -> BankLine:
    return BankLine(
        id=row.id,
        date=row.date,
        amount=Money(amount=row.amount, currency=row.currency),
        payer_name=row.payer_name,
        reference=row.reference,
        status=BankLineStatus(row.status),
        payment_id=row.payment_id,
    )


def estimate_from_row(row: EstimateRow) -> Estimate:
    return Estimate(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        currency=row.currency,
        lines=[InvoiceLine.model_validate(line) for line in json.loads(row.lines)],
        total=Money(amount=row.total, currency=row.currency),
        status=EstimateStatus(row.status),
        issue_date=row.issue_date,
    )


def time_entry_from_row(row: TimeEntryRow) -> TimeEntry:
    return TimeEntry(id=row.id, customer_id=row.customer_id, date=row.date, hours=row.hours,
                     rate=Money(amount=row.rate, currency=row.currency), description=row.description,
                     invoice_id=row.invoice_id)


def credit_note_from_row(row: CreditNoteRow) -> CreditNote:
    return CreditNote(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        total=Money(amount=row.total, currency=row.currency),
        remaining=Money(amount=row.remaining, currency=row.currency),
        status=row.status,
        invoice_id=row.invoice_id,
    )


def event_from_row(row: EventRow, ledger: str, tenant: str) -> tuple[int, LedgerEvent]:
    """The outbox row as (sequence number, event): the number is the change feed's cursor."""
    if row.seq is None:
        raise ValueError("an outbox row read back from the file always has its sequence number")
    return row.seq, LedgerEvent(
        ledger=ledger,
        tenant=tenant,
        event_id=row.event_id,
        entity=row.entity,
        entity_id=row.entity_id,
        operation=EventOperation(row.operation),
        occurred_at=row.occurred_at,
    )


# --- vocabulary -> rows ----------------------------------------------------------------------------


def invoice_line_to_row(invoice_id: str, position: int, line: InvoiceLine) -> InvoiceLineRow:
    return InvoiceLineRow(invoice_id=invoice_id, position=position, description=line.description,
                          quantity=line.quantity, unit_price=line.unit_price, amount=line.amount)


def estimate_lines_to_row(lines: Sequence[InvoiceLine]) -> str:
    return json.dumps([line.model_dump(mode="json") for line in lines])


def emails_to_row(addresses: Iterable[str]) -> str:
    return json.dumps([email_address(address) for address in addresses])


def invoice_to_row(serial: int, number: str, customer_id: str, currency: str, total: Decimal, *, issue_date: date,
                   due_date: date, estimate_id: str | None, now: datetime) -> InvoiceRow:
    """A new invoice: open for its whole total (a zero invoice is paid the moment it exists)."""
    return InvoiceRow(
        id=f"I-{2000 + serial}",
        serial=serial,
        number=number,
        customer_id=customer_id,
        currency=currency,
        total=total,
        balance=total,
        issue_date=issue_date,
        due_date=due_date,
        status=InvoiceStatus.OPEN.value if total > 0 else InvoiceStatus.PAID.value,
        estimate_id=estimate_id,
        created_at=now,
        updated_at=now,
    )
