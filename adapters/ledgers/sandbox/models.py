"""The sandbox ledger's tables.

They live in their own SQLAlchemy registry, so the store's `SQLModel.metadata.create_all` never creates
them and the sandbox never creates the store's tables, even when both share one SQLite file.

Money is TEXT holding a decimal string ("1250.00"), read back as `Decimal`: SQLite has no decimal
type and would otherwise round through float. Timestamps are stored as naive UTC and read back aware.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Index, String, TypeDecorator
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class DecimalText(TypeDecorator[Decimal]):
    """A `Decimal` stored as its exact decimal string."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal or a decimal string, never a float")
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC (SQLite keeps no zone), read back with `UTC`."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return moment.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value  # the driver hands back the naive datetime written above
        return stored.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxTable(SQLModel, registry=registry()):
    """Base of every sandbox table: a registry (and metadata) of its own."""


class CustomerRow(SandboxTable, table=True):
    __tablename__ = "customers"
    id: str = Field(primary_key=True)  # "C-1001"
    serial: int = Field(unique=True)
    name: str
    email: str | None = None
    alternate_emails: str = "[]"  # JSON list of addresses
    currency: str = "USD"
    terms_days: int = 30
    time_zone: str = "UTC"
    country: str = "US"
    credit_limit: Decimal | None = Field(default=None, sa_type=DecimalText)
    dunning_profile: str | None = None
    # How this demo customer pays (early, on_time, late, very_late, disputer, short_payer). Hidden from
    # the port, like a real customer's intentions; the seed and the demo driver use it.
    habit: str | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class InvoiceRow(SandboxTable, table=True):
    __tablename__ = "invoices"
    id: str = Field(primary_key=True)  # "I-2001"
    serial: int = Field(unique=True)
    number: str = Field(unique=True)  # "INV-1001"
    customer_id: str = Field(index=True)
    currency: str
    total: Decimal = Field(sa_type=DecimalText)
    balance: Decimal = Field(sa_type=DecimalText)
    issue_date: date
    due_date: date
    status: str = Field(index=True)
    estimate_id: str | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class InvoiceLineRow(SandboxTable, table=True):
    __tablename__ = "invoice_lines"
    id: int | None = Field(default=None, primary_key=True)
    invoice_id: str = Field(index=True)
    position: int
    description: str
    quantity: Decimal = Field(sa_type=DecimalText)
    unit_price: Decimal = Field(sa_type=DecimalText)
    amount: Decimal = Field(sa_type=DecimalText)


class PaymentRow(SandboxTable, table=True):
    __tablename__ = "payments"
    id: str = Field(primary_key=True)  # "P-3001"
    serial: int = Field(unique=True)
    customer_id: str = Field(index=True)
    date: date
    currency: str
    amount: Decimal = Field(sa_type=DecimalText)
    unapplied: Decimal = Field(sa_type=DecimalText)
    reference: str = ""
    bank_line_id: str | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class AllocationRow(SandboxTable, table=True):
    __tablename__ = "payment_allocations"
    id: int | None = Field(default=None, primary_key=True)
    payment_id: str = Field(index=True)
    invoice_id: str = Field(index=True)
    amount: Decimal = Field(sa_type=DecimalText)


class BankLineRow(SandboxTable, table=True):
    __tablename__ = "bank_lines"
    id: str = Field(primary_key=True)  # "B-4001"
    serial: int = Field(unique=True)
    date: date
    currency: str
    amount: Decimal = Field(sa_type=DecimalText)
    payer_name: str
    reference: str = ""
    status: str = Field(index=True)
    payment_id: str | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class EstimateRow(SandboxTable, table=True):
    __tablename__ = "estimates"
    id: str = Field(primary_key=True)  # "E-5001"
    serial: int = Field(unique=True)
    number: str = Field(unique=True)  # "EST-1001"
    customer_id: str = Field(index=True)
    currency: str
    total: Decimal = Field(sa_type=DecimalText)
    lines: str = "[]"  # JSON list of InvoiceLine
    status: str
    issue_date: date
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class TimeEntryRow(SandboxTable, table=True):
    """Billable time for a customer, unbilled until an invoice is made from it (a table of its own, so a
    ledger file made before time entries gains it from `create_all` and no existing table changes)."""

    __tablename__ = "time_entries"
    id: str = Field(primary_key=True)  # "T-6001"
    serial: int = Field(unique=True)
    customer_id: str = Field(index=True)
    date: date
    hours: Decimal = Field(sa_type=DecimalText)
    rate: Decimal = Field(sa_type=DecimalText)  # per hour, in the customer's currency
    currency: str
    description: str
    invoice_id: str | None = Field(default=None, index=True)  # set once billed
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class CreditNoteRow(SandboxTable, table=True):
    __tablename__ = "credit_notes"
    id: str = Field(primary_key=True)  # "CN-7001"
    serial: int = Field(unique=True)
    number: str = Field(unique=True)  # "CN-1001"
    customer_id: str = Field(index=True)
    invoice_id: str | None = Field(default=None, index=True)
    currency: str
    total: Decimal = Field(sa_type=DecimalText)
    remaining: Decimal = Field(sa_type=DecimalText)
    status: str = "authorised"
    reason: str = ""
    issue_date: date
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class NoteRow(SandboxTable, table=True):
    __tablename__ = "notes"
    id: int | None = Field(default=None, primary_key=True)
    entity: str
    entity_id: str
    text: str
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)

    __table_args__ = (Index("ix_notes_entity", "entity", "entity_id"),)


class IdempotencyRow(SandboxTable, table=True):
    """The first result of a keyed write; a retry with the same key gets it back and writes nothing."""

    __tablename__ = "idempotency_records"
    operation: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    result: str  # JSON of the vocabulary record returned the first time
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class EventRow(SandboxTable, table=True):
    """The webhook outbox: written in the transaction of the change it announces."""

    __tablename__ = "events"
    # AUTOINCREMENT: a sequence number is never reused, so the polling backstop's cursor stays valid.
    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)  # uuid4 hex
    entity: str
    entity_id: str
    operation: str
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)

    __table_args__ = (
        Index("ix_events_pending", "delivered_at", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )
