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

from pydantic import BaseModel, ConfigDict, Field, field_validator

CENT = Decimal("0.01")


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
    country: str = "US"
    credit_limit: Money | None = None
    # Name of a dunning ladder override for this customer (None: the company default).
    dunning_profile: str | None = None


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
