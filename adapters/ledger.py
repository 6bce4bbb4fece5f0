"""The ledger port and the ledger-neutral vocabulary every floor speaks.

Each ledger adapter (sandbox, QuickBooks Online, Xero, Sage Intacct) maps its own objects to these
records and its own failures to the typed errors below. Money is always `Money` (a `Decimal` with a
currency); figures are never floats. Workflows import these records, never an SDK.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

CENT = Decimal("0.01")

# ISO 4217 minor units that are not two; every other currency has cents.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def minor_unit(currency: str) -> Decimal:
    """The smallest amount the currency has: Decimal("0.01") for most, "1" for JPY, "0.001" for KWD."""
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency.upper(), 2))


def iana_time_zone(name: str | None) -> str | None:
    """`name` when it is an IANA time zone this machine knows (e.g. "Europe/Berlin"), else None.

    Ledger mappings call this where a zone enters, so a workflow never meets a zone it cannot load."""
    if not name or not isinstance(name, str) or name != name.strip():
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


class Money(BaseModel):
    """An amount in one currency. Arithmetic refuses to mix currencies."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(amount=Decimal(str(amount)), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal("0.00"), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def rounded(self) -> Money:
        return Money(amount=self.amount.quantize(CENT, rounding=ROUND_HALF_UP), currency=self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.currency} {self.amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


class Customer(BaseModel):
    id: str
    name: str
    email: str | None = None
    alternate_emails: list[str] = Field(default_factory=list)
    currency: str = "USD"
    terms_days: int = 30
    time_zone: str = "UTC"
    # Where `time_zone` came from, shown with the invoice's stage: "ledger", "address: Austin, TX, US",
    # "company zone (address gives none)".
    time_zone_source: str = "ledger"
    country: str = "US"
    credit_limit: Money | None = None
    # Name of a dunning ladder override for this customer (None: the company default).
    dunning_profile: str | None = None
    # Free tags from the ledger (or set in duecourse) a collections policy can select a ladder by.
    tags: list[str] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if iana_time_zone(value) is None:
            raise ValueError(f"time zone {value!r} is not an IANA time zone name (e.g. 'America/New_York')")
        return value


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class InvoiceLine(BaseModel):
    description: str
    quantity: Decimal = Decimal("1")
    unit_price: Decimal
    amount: Decimal


class Invoice(BaseModel):
    id: str
    number: str
    customer_id: str
    customer_name: str
    currency: str
    lines: list[InvoiceLine] = Field(default_factory=list)
    total: Money
    balance: Money
    issue_date: date
    due_date: date
    status: InvoiceStatus
    email: str | None = None
    updated_at: datetime | None = None

    @property
    def is_settled(self) -> bool:
        return self.status in (InvoiceStatus.PAID, InvoiceStatus.VOID) or self.balance.is_zero()


class InvoiceDraft(BaseModel):
    """An invoice duecourse asks a ledger to create."""

    customer_id: str
    currency: str
    lines: list[InvoiceLine]
    issue_date: date
    due_date: date
    number: str | None = None
    estimate_id: str | None = None


class EstimateStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CLOSED = "closed"


class Estimate(BaseModel):
    id: str
    number: str
    customer_id: str
    currency: str
    lines: list[InvoiceLine] = Field(default_factory=list)
    total: Money
    status: EstimateStatus
    issue_date: date


class TimeEntry(BaseModel):
    """Billable hours for a customer (QuickBooks TimeActivity, Xero Projects time, Intacct timesheet line)."""

    id: str
    customer_id: str
    date: date
    hours: Decimal
    rate: Money  # per hour
    description: str
    invoice_id: str | None = None  # the invoice that billed it; None while unbilled


class Allocation(BaseModel):
    invoice_id: str
    amount: Money


class Payment(BaseModel):
    id: str
    customer_id: str
    date: date
    amount: Money
    allocations: list[Allocation] = Field(default_factory=list)
    unapplied: Money
    reference: str = ""


class PaymentRequest(BaseModel):
    """A payment the bank already received, to be recorded and applied in the ledger."""

    customer_id: str
    date: date
    amount: Money
    allocations: list[Allocation]
    reference: str = ""
    bank_line_id: str | None = None

    def amounts_per_invoice(self) -> dict[str, Decimal]:
        """The rules every ledger applies before it records a payment, once: the payment and each allocation
        are positive, in the payment's currency and in whole minor units (cents); allocations naming the same
        invoice are merged, in order; together they do not exceed the payment. Returns the amount per
        invoice; raises `PermanentLedgerError` naming the first rule broken."""
        currency = self.amount.currency
        unit = minor_unit(currency)
        if self.amount.amount <= 0:
            raise PermanentLedgerError(f"a payment must be positive, got {self.amount}")
        if self.amount.amount != self.amount.amount.quantize(unit):
            raise PermanentLedgerError(f"payment amount {self.amount.amount} has more decimal places than "
                                       f"{currency} has")
        per_invoice: dict[str, Decimal] = {}
        for allocation in self.allocations:
            what = f"allocation to {allocation.invoice_id}"
            if allocation.amount.currency != currency:
                raise PermanentLedgerError(f"{what} is in {allocation.amount.currency}, the payment in {currency}")
            if allocation.amount.amount <= 0:
                raise PermanentLedgerError(f"{what} must be positive, got {allocation.amount}")
            if allocation.amount.amount != allocation.amount.amount.quantize(unit):
                raise PermanentLedgerError(f"{what} {allocation.amount.amount} has more decimal places than "
                                           f"{currency} has")
            per_invoice[allocation.invoice_id] = per_invoice.get(allocation.invoice_id, Decimal(0)) + \
                allocation.amount.amount
        applied = sum(per_invoice.values(), Decimal(0))
        if applied > self.amount.amount:
            raise PermanentLedgerError(
                f"allocations total {Money(amount=applied, currency=currency)} exceeds the payment {self.amount}")
        return per_invoice


class BankLineStatus(StrEnum):
    UNMATCHED = "unmatched"
    MATCHED = "matched"
    IGNORED = "ignored"


class BankLine(BaseModel):
    id: str
    date: date
    amount: Money
    payer_name: str
    reference: str = ""
    status: BankLineStatus = BankLineStatus.UNMATCHED
    # The payment this deposit was recorded as, once it is matched (in the ledger or by duecourse).
    payment_id: str | None = None


class CreditNote(BaseModel):
    id: str
    number: str
    customer_id: str
    total: Money
    remaining: Money
    status: str
    invoice_id: str | None = None


class CustomerDraft(BaseModel):
    """A customer duecourse asks a ledger to create (tests, onboarding)."""

    name: str
    email: str | None = None
    currency: str = "USD"
    terms_days: int = 30


class CreditNoteDraft(BaseModel):
    customer_id: str
    currency: str
    lines: list[InvoiceLine]
    issue_date: date
    invoice_id: str | None = None  # the invoice the credit is for, when known
    reason: str = ""


class AgingRow(BaseModel):
    """One customer's open balance by days past due, as of a date."""

    customer_id: str
    customer_name: str
    currency: str
    current: Decimal = Decimal("0")
    days_1_30: Decimal = Decimal("0")
    days_31_60: Decimal = Decimal("0")
    days_61_90: Decimal = Decimal("0")
    days_91_plus: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.days_91_plus

    def add(self, days_past_due: int, amount: Decimal) -> None:
        """Put `amount` in the bucket of an invoice `days_past_due` days past its due date (0 or less:
        current). The one definition of the buckets, for every ledger that computes its own aging."""
        setattr(self, aging_bucket(days_past_due), getattr(self, aging_bucket(days_past_due)) + amount)


def aging_bucket(days_past_due: int) -> str:
    """The `AgingRow` field an amount this many days past due belongs to."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "days_1_30"
    if days_past_due <= 60:
        return "days_31_60"
    if days_past_due <= 90:
        return "days_61_90"
    return "days_91_plus"


class EventOperation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    VOID = "void"


class LedgerEvent(BaseModel):
    """One change a ledger announced (webhook or polling). Names the entity; never trusted for figures."""

    ledger: str
    tenant: str
    event_id: str
    entity: str  # "Invoice", "Payment", "Customer", "BankLine", "Estimate", "CreditNote"
    entity_id: str
    operation: EventOperation
    occurred_at: datetime


class ChangeBatch(BaseModel):
    """What changed since a cursor (the polling backstop); `cursor` is opaque to everyone but the adapter."""

    events: list[LedgerEvent]
    cursor: str


# --- errors: every adapter maps its ledger's failures to exactly these ---------------------------


class LedgerError(Exception):
    """Base of every ledger failure."""


class RetryableLedgerError(LedgerError):
    """5xx, timeouts, connection resets: try again later."""


class RateLimited(RetryableLedgerError):
    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class PermanentLedgerError(LedgerError):
    """A validation or business-rule rejection: retrying the same request cannot succeed."""


class NotFound(PermanentLedgerError):
    pass


class StaleVersion(LedgerError):
    """Optimistic-lock conflict (QuickBooks SyncToken): re-read, then retry once."""


class LedgerPort(Protocol):
    """What every ledger implements. Synchronous: activities run it in the worker's thread pool.

    Every write takes an idempotency key derived from the business id and the step, so a retried
    activity never writes twice.
    """

    ledger: str
    tenant: str

    def get_customer(self, customer_id: str) -> Customer: ...

    def list_customers(self) -> list[Customer]: ...

    def get_invoice(self, invoice_id: str) -> Invoice: ...

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]: ...

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice: ...

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice: ...

    def get_estimate(self, estimate_id: str) -> Estimate: ...

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment: ...

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]: ...

    def get_bank_line(self, bank_line_id: str) -> BankLine: ...

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]: ...

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None: ...

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer: ...

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """Email the invoice through the ledger's own mail; False when the ledger has none (we send it)."""
        ...

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]: ...

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote: ...

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]: ...

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """Events since `cursor` (None: start now, returning no events and a fresh cursor)."""
        ...

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        """The ledger's own AR aging report; None when its API has none (callers compute it)."""
        ...
