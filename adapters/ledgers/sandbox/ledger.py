"""The sandbox ledger: the embedded default ledger, a real SQLite-backed ledger behind `LedgerPort`.

It behaves like the hosted ledgers duecourse talks to: it keeps customers, invoices, payments and bank
lines, validates what it is asked to write, honours idempotency keys, and announces every change as an
event that `webhooks.WebhookDispatcher` delivers, signed, to the web app. The event row is written in
the transaction of the change it announces (a transactional outbox), so no change goes unannounced and
no announcement describes a change that was rolled back.

Several processes share the file at once (the CLI, the worker's thread pool, the dev stack's
dispatcher): WAL lets readers run beside the one writer, and every write transaction starts with
`BEGIN IMMEDIATE`, so a writer waits (busy_timeout) for the write lock up front instead of failing with
"database is locked" when a read transaction tries to upgrade.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import Connection, event, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, create_engine, select

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
)
from adapters.ledgers.sandbox.models import (
    AllocationRow,
    BankLineRow,
    CreditNoteRow,
    CustomerRow,
    EstimateRow,
    EventRow,
    IdempotencyRow,
    InvoiceLineRow,
    InvoiceRow,
    NoteRow,
    PaymentRow,
    SandboxTable,
    utc_now,
)

R = TypeVar("R", bound=BaseModel)

OPEN_STATUSES = (InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NO_ALTERNATES: tuple[str, ...] = ()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions on its own: the "begin" listener decides how they start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _decimal(value: Decimal | str | int, what: str) -> Decimal:
    if isinstance(value, float):
        raise PermanentLedgerError(f"{what} must be a decimal, not a float ({value!r})")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PermanentLedgerError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise PermanentLedgerError(f"{what} {value!r} is not a finite number")
    return number


def _cents(value: Decimal, what: str) -> Decimal:
    """An amount the ledger can hold: at most two decimal places (kept as given, e.g. "12.5")."""
    if value != value.quantize(CENT):
        raise PermanentLedgerError(f"{what} {value} has more than two decimal places")
    return value


def _currency(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise PermanentLedgerError(f"currency {code!r} is not a three-letter ISO 4217 code")
    return code


def _email(address: str) -> str:
    address = address.strip()
    if not _EMAIL.match(address):
        raise PermanentLedgerError(f"{address!r} is not an email address")
    return address


def _status_after(balance: Decimal) -> str:
    return InvoiceStatus.PAID.value if balance == 0 else InvoiceStatus.PARTIALLY_PAID.value


class SandboxLedger:
    """A ledger in one SQLite file. Implements `adapters.ledger.LedgerPort`, plus the commands the
    `duecourse sandbox …` CLI and the demo seed use (`add_customer`, `add_invoice`, `pay`, `receive`, …)
    and the outbox the webhook dispatcher drains (`pending_events`, `mark_delivered`, `mark_failed`).
    """

    ledger = "sandbox"

    def __init__(self, db_path: Path | str, tenant: str = "demo", *, clock: Callable[[], datetime] = utc_now) -> None:
        self.tenant = tenant
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._engine: Engine = create_engine(f"sqlite:///{self.db_path}", connect_args={"check_same_thread": False})
        event.listen(self._engine, "connect", _on_connect)
        event.listen(self._engine, "begin", _on_begin)
        self._writer = self._engine.execution_options(sqlite_begin="IMMEDIATE")
        # Under the write lock, so two processes starting at once do not both try to create a table.
        with self._writer.begin() as connection:
            SandboxTable.metadata.create_all(connection)

    def close(self) -> None:
        self._engine.dispose()

    def now(self) -> datetime:
        """The ledger's clock (aware UTC): event times and the outbox's retry schedule use it."""
        return self._clock()

    # --- transactions ----------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session:
            yield session

    def _announce(self, session: Session, entity: str, entity_id: str, operation: EventOperation) -> None:
        now = self._clock()
        session.add(
            EventRow(
                event_id=uuid.uuid4().hex,
                entity=entity,
                entity_id=entity_id,
                operation=operation.value,
                occurred_at=now,
                next_attempt_at=now,
            )
        )

    @staticmethod
    def _next_serial(session: Session, table: type[SandboxTable]) -> int:
        # Safe without a sequence: writes run under BEGIN IMMEDIATE, one writer at a time.
        current = session.exec(select(func.max(table.serial))).one()  # type: ignore[attr-defined]
        return int(current or 0) + 1

    @staticmethod
    def _recorded(session: Session, operation: str, key: str) -> str | None:
        """The JSON result stored under this key, if a write with it already happened."""
        if not key or not key.strip():
            raise PermanentLedgerError(f"{operation} needs an idempotency key")
        row = session.get(IdempotencyRow, (operation, key))
        return None if row is None else row.result

    def _replay(self, session: Session, operation: str, key: str, record: type[R]) -> R | None:
        stored = self._recorded(session, operation, key)
        return None if stored is None else record.model_validate_json(stored)

    @staticmethod
    def _remember(session: Session, operation: str, key: str, result: BaseModel | None) -> None:
        payload = "null" if result is None else result.model_dump_json()
        session.add(IdempotencyRow(operation=operation, key=key, result=payload))

    # --- rows and records --------------------------------------------------------------------------

    @staticmethod
    def _customer_row(session: Session, customer_id: str) -> CustomerRow:
        row = session.get(CustomerRow, customer_id)
        if row is None:
            raise NotFound(f"customer {customer_id!r} not found in the sandbox ledger")
        return row

    @staticmethod
    def _invoice_row(session: Session, invoice_id: str) -> InvoiceRow:
        row = session.get(InvoiceRow, invoice_id)
        if row is None:
            raise NotFound(f"invoice {invoice_id!r} not found in the sandbox ledger")
        return row

    @staticmethod
    def _estimate_row(session: Session, estimate_id: str) -> EstimateRow:
        row = session.get(EstimateRow, estimate_id)
        if row is None:
            raise NotFound(f"estimate {estimate_id!r} not found in the sandbox ledger")
        return row

    @staticmethod
    def _bank_line_row(session: Session, bank_line_id: str) -> BankLineRow:
        row = session.get(BankLineRow, bank_line_id)
        if row is None:
            raise NotFound(f"bank line {bank_line_id!r} not found in the sandbox ledger")
        return row

    @staticmethod
    def _customer(row: CustomerRow) -> Customer:
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

    @staticmethod
    def _invoices(session: Session, rows: Sequence[InvoiceRow]) -> list[Invoice]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        lines: dict[str, list[InvoiceLine]] = {invoice_id: [] for invoice_id in ids}
        for line in session.exec(
            select(InvoiceLineRow)
            .where(col(InvoiceLineRow.invoice_id).in_(ids))
            .order_by(col(InvoiceLineRow.invoice_id), col(InvoiceLineRow.position))
        ):
            lines[line.invoice_id].append(
                InvoiceLine(
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
            )
        customers = {
            customer.id: customer
            for customer in session.exec(
                select(CustomerRow).where(col(CustomerRow.id).in_({row.customer_id for row in rows}))
            )
        }
        return [
            Invoice(
                id=row.id,
                number=row.number,
                customer_id=row.customer_id,
                customer_name=customers[row.customer_id].name,
                currency=row.currency,
                lines=lines[row.id],
                total=Money(amount=row.total, currency=row.currency),
                balance=Money(amount=row.balance, currency=row.currency),
                issue_date=row.issue_date,
                due_date=row.due_date,
                status=InvoiceStatus(row.status),
                email=customers[row.customer_id].email,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    @staticmethod
    def _payments(session: Session, rows: Sequence[PaymentRow]) -> list[Payment]:
        if not rows:
            return []
        allocations: dict[str, list[AllocationRow]] = {row.id: [] for row in rows}
        for allocation in session.exec(
            select(AllocationRow)
            .where(col(AllocationRow.payment_id).in_(list(allocations)))
            .order_by(col(AllocationRow.id))
        ):
            allocations[allocation.payment_id].append(allocation)
        return [
            Payment(
                id=row.id,
                customer_id=row.customer_id,
                date=row.date,
                amount=Money(amount=row.amount, currency=row.currency),
                allocations=[
                    Allocation(invoice_id=a.invoice_id, amount=Money(amount=a.amount, currency=row.currency))
                    for a in allocations[row.id]
                ],
                unapplied=Money(amount=row.unapplied, currency=row.currency),
                reference=row.reference,
            )
            for row in rows
        ]

    @staticmethod
    def _bank_line(row: BankLineRow) -> BankLine:
        return BankLine(
            id=row.id,
            date=row.date,
            amount=Money(amount=row.amount, currency=row.currency),
            payer_name=row.payer_name,
            reference=row.reference,
            status=BankLineStatus(row.status),
            payment_id=row.payment_id,
        )

    @staticmethod
    def _estimate(row: EstimateRow) -> Estimate:
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

    # --- LedgerPort: reads ---------------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        with self._reading() as session:
            return self._customer(self._customer_row(session, customer_id))

    def list_customers(self) -> list[Customer]:
        with self._reading() as session:
            rows = session.exec(select(CustomerRow).order_by(col(CustomerRow.serial))).all()
            return [self._customer(row) for row in rows]

    def customer_habit(self, customer_id: str) -> str | None:
        """How a demo customer pays (the seed's hidden attribute); None for customers added by hand."""
        with self._reading() as session:
            return self._customer_row(session, customer_id).habit

    def get_invoice(self, invoice_id: str) -> Invoice:
        with self._reading() as session:
            return self._invoices(session, [self._invoice_row(session, invoice_id)])[0]

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        return self.list_invoices(customer_id, statuses=[InvoiceStatus(s) for s in OPEN_STATUSES])

    def list_invoices(
        self, customer_id: str | None = None, statuses: Sequence[InvoiceStatus] | None = None
    ) -> list[Invoice]:
        """Every invoice (or those of one customer, or in the given statuses), oldest first."""
        with self._reading() as session:
            query = select(InvoiceRow).order_by(col(InvoiceRow.serial))
            if customer_id is not None:
                self._customer_row(session, customer_id)
                query = query.where(InvoiceRow.customer_id == customer_id)
            if statuses is not None:
                query = query.where(col(InvoiceRow.status).in_([s.value for s in statuses]))
            return self._invoices(session, session.exec(query).all())

    def get_estimate(self, estimate_id: str) -> Estimate:
        with self._reading() as session:
            return self._estimate(self._estimate_row(session, estimate_id))

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        with self._reading() as session:
            query = select(EstimateRow).order_by(col(EstimateRow.serial))
            if status is not None:
                query = query.where(EstimateRow.status == status.value)
            return [self._estimate(row) for row in session.exec(query).all()]

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        with self._reading() as session:
            query = select(PaymentRow).order_by(col(PaymentRow.serial))
            if invoice_id is not None:
                self._invoice_row(session, invoice_id)
                paid_by = select(AllocationRow.payment_id).where(AllocationRow.invoice_id == invoice_id)
                query = query.where(col(PaymentRow.id).in_(paid_by))
            return self._payments(session, session.exec(query).all())

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        with self._reading() as session:
            return self._bank_line(self._bank_line_row(session, bank_line_id))

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        with self._reading() as session:
            query = select(BankLineRow).order_by(col(BankLineRow.serial))
            if status is not None:
                query = query.where(BankLineRow.status == status.value)
            return [self._bank_line(row) for row in session.exec(query).all()]

    def notes(self, entity: str, entity_id: str) -> list[str]:
        with self._reading() as session:
            query = (
                select(NoteRow.text)
                .where(NoteRow.entity == entity, NoteRow.entity_id == entity_id)
                .order_by(col(NoteRow.id))
            )
            return list(session.exec(query).all())

    # --- LedgerPort: writes --------------------------------------------------------------------------

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        with self._writing() as session:
            earlier = self._replay(session, "create_invoice", idempotency_key, Invoice)
            if earlier is not None:
                return earlier
            row = self._insert_invoice(session, draft)
            invoice = self._invoices(session, [row])[0]
            self._remember(session, "create_invoice", idempotency_key, invoice)
            return invoice

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        with self._writing() as session:
            earlier = self._replay(session, "void_invoice", idempotency_key, Invoice)
            if earlier is not None:
                return earlier
            row = self._invoice_row(session, invoice_id)
            if row.status != InvoiceStatus.VOID.value:
                applied = session.exec(
                    select(AllocationRow.payment_id).where(AllocationRow.invoice_id == invoice_id)
                ).all()
                if applied:
                    raise PermanentLedgerError(
                        f"invoice {row.number} ({row.id}) has payments applied "
                        f"({', '.join(sorted(set(applied)))}); a paid invoice cannot be voided"
                    )
                row.status = InvoiceStatus.VOID.value
                row.balance = Decimal("0.00")
                row.updated_at = self._clock()
                session.add(row)
                self._announce(session, "Invoice", row.id, EventOperation.VOID)
            invoice = self._invoices(session, [row])[0]
            self._remember(session, "void_invoice", idempotency_key, invoice)
            return invoice

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        with self._writing() as session:
            earlier = self._replay(session, "record_payment", idempotency_key, Payment)
            if earlier is not None:
                return earlier
            payment = self._apply_payment(session, request)
            self._remember(session, "record_payment", idempotency_key, payment)
            return payment

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        # A note announces nothing: real ledgers keep notes out of their change feeds too, and an
        # event here would echo duecourse's own audit notes back to it as invoice changes.
        tables: dict[str, type[SandboxTable]] = {
            "Customer": CustomerRow,
            "Invoice": InvoiceRow,
            "Payment": PaymentRow,
            "BankLine": BankLineRow,
            "Estimate": EstimateRow,
        }
        if entity not in tables:
            raise PermanentLedgerError(f"cannot add a note to {entity!r}: one of {', '.join(tables)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        with self._writing() as session:
            if self._recorded(session, "add_note", idempotency_key) is not None:
                return
            if session.get(tables[entity], entity_id) is None:
                raise NotFound(f"{entity} {entity_id!r} not found in the sandbox ledger")
            session.add(NoteRow(entity=entity, entity_id=entity_id, text=text))
            self._remember(session, "add_note", idempotency_key, None)

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        with self._writing() as session:
            earlier = self._replay(session, "create_customer", idempotency_key, Customer)
        if earlier is not None:
            return earlier
        customer = self.add_customer(draft.name, email=draft.email, terms_days=draft.terms_days,
                                     currency=draft.currency)
        with self._writing() as session:
            self._remember(session, "create_customer", idempotency_key, customer)
        return customer

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """The sandbox has no mail of its own: duecourse sends invoices itself (False)."""
        self.get_invoice(invoice_id)
        return False

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        with self._writing() as session:
            earlier = self._replay(session, "create_credit_note", idempotency_key, CreditNote)
            if earlier is not None:
                return earlier
            self._customer_row(session, draft.customer_id)
            if draft.invoice_id is not None:
                invoice = self._invoice_row(session, draft.invoice_id)
                if invoice.customer_id != draft.customer_id:
                    raise PermanentLedgerError(
                        f"invoice {invoice.number} belongs to {invoice.customer_id}, not {draft.customer_id}")
            if not draft.lines:
                raise PermanentLedgerError("a credit note needs at least one line")
            total = sum((_cents(line.amount, "credit line amount") for line in draft.lines), Decimal("0.00"))
            if total <= 0:
                raise PermanentLedgerError("a credit note must credit a positive amount")
            serial = self._next_serial(session, CreditNoteRow)
            row = CreditNoteRow(
                id=f"CN-{7000 + serial}", serial=serial, number=f"CN-{1000 + serial}",
                customer_id=draft.customer_id, invoice_id=draft.invoice_id, currency=_currency(draft.currency),
                total=total, remaining=total, reason=draft.reason, issue_date=draft.issue_date,
            )
            session.add(row)
            self._announce(session, "CreditNote", row.id, EventOperation.CREATE)
            note = self._credit_note(row)
            self._remember(session, "create_credit_note", idempotency_key, note)
            return note

    @staticmethod
    def _credit_note(row: CreditNoteRow) -> CreditNote:
        return CreditNote(id=row.id, number=row.number, customer_id=row.customer_id,
                          total=Money(amount=row.total, currency=row.currency),
                          remaining=Money(amount=row.remaining, currency=row.currency), status=row.status,
                          invoice_id=row.invoice_id)

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        with self._reading() as session:
            query = select(CreditNoteRow).order_by(col(CreditNoteRow.serial))
            if customer_id is not None:
                query = query.where(CreditNoteRow.customer_id == customer_id)
            return [self._credit_note(row) for row in session.exec(query).all()]

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """The change feed, keyed by event sequence number (the polling backstop's cursor)."""
        if cursor is None:
            with self._reading() as session:
                latest = session.exec(select(func.max(EventRow.seq))).one()
            return ChangeBatch(events=[], cursor=str(int(latest or 0)))
        try:
            since = int(cursor)
        except ValueError:
            raise PermanentLedgerError(f"not a sandbox change cursor: {cursor!r}") from None
        found = self.events(since_seq=since, limit=1000)
        return ChangeBatch(events=[event for _, event in found], cursor=str(found[-1][0] if found else since))

    def aging_report(self, as_of: date) -> list[AgingRow]:
        rows: dict[str, AgingRow] = {}
        for invoice in self.list_open_invoices():
            if invoice.issue_date > as_of:
                continue
            row = rows.setdefault(invoice.customer_id, AgingRow(
                customer_id=invoice.customer_id, customer_name=invoice.customer_name, currency=invoice.currency))
            late = (as_of - invoice.due_date).days
            amount = invoice.balance.amount
            if late <= 0:
                row.current += amount
            elif late <= 30:
                row.days_1_30 += amount
            elif late <= 60:
                row.days_31_60 += amount
            elif late <= 90:
                row.days_61_90 += amount
            else:
                row.days_91_plus += amount
        return sorted(rows.values(), key=lambda r: r.customer_name)

    # --- commands: what a person does in the ledger's own UI ---------------------------------------------

    def add_customer(
        self,
        name: str,
        *,
        email: str | None = None,
        terms_days: int = 30,
        time_zone: str = "UTC",
        country: str = "US",
        currency: str = "USD",
        credit_limit: Decimal | None = None,
        dunning_profile: str | None = None,
        alternate_emails: Sequence[str] = _NO_ALTERNATES,
        habit: str | None = None,
    ) -> Customer:
        name = name.strip()
        if not name:
            raise PermanentLedgerError("a customer needs a name")
        if terms_days < 0:
            raise PermanentLedgerError(f"payment terms must be zero or more days, got {terms_days}")
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PermanentLedgerError(f"unknown time zone {time_zone!r} (an IANA name expected)") from None
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            raise PermanentLedgerError(f"country {country!r} is not a two-letter ISO 3166 code")
        limit = None
        if credit_limit is not None:
            limit = _cents(_decimal(credit_limit, "credit limit"), "credit limit")
            if limit < 0:
                raise PermanentLedgerError(f"credit limit must not be negative, got {limit}")
        with self._writing() as session:
            serial = self._next_serial(session, CustomerRow)
            row = CustomerRow(
                id=f"C-{1000 + serial}",
                serial=serial,
                name=name,
                email=None if email is None else _email(email),
                alternate_emails=json.dumps([_email(a) for a in alternate_emails]),
                currency=_currency(currency),
                terms_days=terms_days,
                time_zone=time_zone,
                country=country.upper(),
                credit_limit=limit,
                dunning_profile=dunning_profile,
                habit=habit,
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            self._announce(session, "Customer", row.id, EventOperation.CREATE)
            return self._customer(row)

    def set_customer_email(self, customer_id: str, email: str) -> Customer:
        with self._writing() as session:
            row = self._customer_row(session, customer_id)
            row.email = _email(email)
            row.updated_at = self._clock()
            session.add(row)
            self._announce(session, "Customer", row.id, EventOperation.UPDATE)
            return self._customer(row)

    def add_invoice(
        self,
        customer_id: str,
        amount: Decimal,
        *,
        due_date: date,
        issue_date: date | None = None,
        description: str = "Services",
        lines: list[InvoiceLine] | None = None,
        currency: str | None = None,
    ) -> Invoice:
        """Creates an open invoice as someone would in the ledger; issued `terms_days` before it falls due
        unless `issue_date` says otherwise. With `lines`, their amounts must add up to `amount`."""
        total = _cents(_decimal(amount, "invoice amount"), "invoice amount")
        if total <= 0:
            raise PermanentLedgerError(f"invoice amount must be positive, got {total}")
        with self._writing() as session:
            customer = self._customer_row(session, customer_id)
            if lines is None:
                lines = [InvoiceLine(description=description, quantity=Decimal("1"), unit_price=total, amount=total)]
            elif sum((line.amount for line in lines), Decimal("0")) != total:
                raise PermanentLedgerError(
                    f"invoice lines add up to {sum((line.amount for line in lines), Decimal('0'))}, "
                    f"not to the amount {total}"
                )
            draft = InvoiceDraft(
                customer_id=customer_id,
                currency=currency or customer.currency,
                lines=lines,
                issue_date=issue_date or due_date - timedelta(days=customer.terms_days),
                due_date=due_date,
            )
            row = self._insert_invoice(session, draft)
            return self._invoices(session, [row])[0]

    def pay(self, invoice_id: str, amount: Decimal | None = None, *, on: date, reference: str = "") -> Payment:
        """Records a payment of one invoice (the whole balance unless `amount` says otherwise), as if
        someone applied it in the ledger."""
        with self._writing() as session:
            invoice = self._invoice_row(session, invoice_id)
            balance = Money(amount=invoice.balance, currency=invoice.currency)
            if invoice.status == InvoiceStatus.VOID.value:
                raise PermanentLedgerError(f"invoice {invoice.number} ({invoice.id}) is void")
            if amount is None:
                if invoice.balance <= 0:
                    raise PermanentLedgerError(
                        f"invoice {invoice.number} ({invoice.id}) has nothing left to pay: its balance is {balance}"
                    )
                paid = balance
            else:
                paid = Money(
                    amount=_cents(_decimal(amount, "payment amount"), "payment amount"), currency=invoice.currency
                )
                if paid.amount <= 0:
                    raise PermanentLedgerError(f"a payment must be positive, got {paid}")
                if paid > balance:
                    raise PermanentLedgerError(
                        f"cannot pay {paid} on invoice {invoice.number} ({invoice.id}): its balance is {balance}"
                    )
            request = PaymentRequest(
                customer_id=invoice.customer_id,
                date=on,
                amount=paid,
                allocations=[Allocation(invoice_id=invoice.id, amount=paid)],
                reference=reference,
            )
            return self._apply_payment(session, request)

    def receive(
        self,
        amount: Decimal,
        payer_name: str,
        *,
        on: date,
        reference: str = "",
        currency: str = "USD",
    ) -> BankLine:
        """A deposit on the bank feed, waiting for cash application to match it."""
        value = _cents(_decimal(amount, "deposit amount"), "deposit amount")
        if value <= 0:
            raise PermanentLedgerError(f"a deposit must be positive, got {value}")
        if not payer_name.strip():
            raise PermanentLedgerError("a deposit needs a payer name")
        with self._writing() as session:
            serial = self._next_serial(session, BankLineRow)
            row = BankLineRow(
                id=f"B-{4000 + serial}",
                serial=serial,
                date=on,
                currency=_currency(currency),
                amount=value,
                payer_name=payer_name.strip(),
                reference=reference,
                status=BankLineStatus.UNMATCHED.value,
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            self._announce(session, "BankLine", row.id, EventOperation.CREATE)
            return self._bank_line(row)

    def add_estimate(
        self,
        customer_id: str,
        amount: Decimal,
        *,
        issue_date: date,
        description: str = "Services",
        lines: list[InvoiceLine] | None = None,
    ) -> Estimate:
        """A quote awaiting the customer's answer (credit review starts from these)."""
        total = _cents(_decimal(amount, "estimate amount"), "estimate amount")
        if total <= 0:
            raise PermanentLedgerError(f"estimate amount must be positive, got {total}")
        lines = lines or [InvoiceLine(description=description, unit_price=total, amount=total)]
        if sum((line.amount for line in lines), Decimal("0")) != total:
            raise PermanentLedgerError(f"estimate lines do not add up to the amount {total}")
        with self._writing() as session:
            customer = self._customer_row(session, customer_id)
            serial = self._next_serial(session, EstimateRow)
            row = EstimateRow(
                id=f"E-{5000 + serial}",
                serial=serial,
                number=f"EST-{1000 + serial}",
                customer_id=customer.id,
                currency=customer.currency,
                total=total,
                lines=json.dumps([line.model_dump(mode="json") for line in lines]),
                status=EstimateStatus.PENDING.value,
                issue_date=issue_date,
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            self._announce(session, "Estimate", row.id, EventOperation.CREATE)
            return self._estimate(row)

    def set_estimate_status(self, estimate_id: str, status: EstimateStatus) -> Estimate:
        """The customer accepted or rejected a quote (or it was closed)."""
        with self._writing() as session:
            row = self._estimate_row(session, estimate_id)
            if row.status != status.value:
                row.status = status.value
                row.updated_at = self._clock()
                session.add(row)
                self._announce(session, "Estimate", row.id, EventOperation.UPDATE)
            return self._estimate(row)

    # --- the outbox ------------------------------------------------------------------------------------

    def _event(self, row: EventRow) -> tuple[int, LedgerEvent]:
        assert row.seq is not None
        return row.seq, LedgerEvent(
            ledger=self.ledger,
            tenant=self.tenant,
            event_id=row.event_id,
            entity=row.entity,
            entity_id=row.entity_id,
            operation=EventOperation(row.operation),
            occurred_at=row.occurred_at,
        )

    def pending_events(self, limit: int = 100, now: datetime | None = None) -> list[tuple[int, LedgerEvent]]:
        """Undelivered events whose next attempt is due, in the order they happened."""
        with self._reading() as session:
            query = (
                select(EventRow)
                .where(col(EventRow.delivered_at).is_(None), col(EventRow.next_attempt_at) <= (now or self._clock()))
                .order_by(col(EventRow.seq))
                .limit(limit)
            )
            return [self._event(row) for row in session.exec(query).all()]

    def events(self, since_seq: int = 0, limit: int | None = None) -> list[tuple[int, LedgerEvent]]:
        """Every event after `since_seq`, delivered or not: the polling backstop's change feed."""
        with self._reading() as session:
            query = select(EventRow).where(col(EventRow.seq) > since_seq).order_by(col(EventRow.seq))
            if limit is not None:
                query = query.limit(limit)
            return [self._event(row) for row in session.exec(query).all()]

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._writing() as session:
            session.execute(
                update(EventRow)
                .where(col(EventRow.seq).in_(list(seqs)), col(EventRow.delivered_at).is_(None))
                .values(delivered_at=self._clock(), attempts=col(EventRow.attempts) + 1, last_error=None)
            )

    def mark_failed(self, seqs: Sequence[int], error: str, retry_at: datetime) -> None:
        if not seqs:
            return
        with self._writing() as session:
            session.execute(
                update(EventRow)
                .where(col(EventRow.seq).in_(list(seqs)), col(EventRow.delivered_at).is_(None))
                .values(attempts=col(EventRow.attempts) + 1, last_error=error[:2000], next_attempt_at=retry_at)
            )

    # --- writes shared by the port and the commands ----------------------------------------------------

    def _insert_invoice(self, session: Session, draft: InvoiceDraft) -> InvoiceRow:
        customer = self._customer_row(session, draft.customer_id)
        currency = _currency(draft.currency)
        if not draft.lines:
            raise PermanentLedgerError("an invoice needs at least one line")
        for position, line in enumerate(draft.lines, start=1):
            _cents(line.amount, f"line {position} amount")
            expected = (line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
            if expected != line.amount:
                raise PermanentLedgerError(
                    f"line {position} ({line.description!r}): amount {line.amount} is not "
                    f"quantity {line.quantity} x unit price {line.unit_price} = {expected}"
                )
        total = sum((line.amount for line in draft.lines), Decimal("0"))
        if total < 0:
            raise PermanentLedgerError(f"an invoice total cannot be negative ({total}); issue a credit note")
        if draft.due_date < draft.issue_date:
            raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
        serial = self._next_serial(session, InvoiceRow)
        if draft.number is not None:
            number = draft.number.strip()
            if not number:
                raise PermanentLedgerError("an invoice number, when given, must not be blank")
            taken = session.exec(select(InvoiceRow.id).where(InvoiceRow.number == number)).first()
            if taken is not None:
                raise PermanentLedgerError(f"invoice number {number!r} is already used by invoice {taken}")
        else:
            sequence = 1000 + serial
            while session.exec(select(InvoiceRow.id).where(InvoiceRow.number == f"INV-{sequence}")).first():
                sequence += 1
            number = f"INV-{sequence}"
        if draft.estimate_id is not None:
            estimate = self._estimate_row(session, draft.estimate_id)
            if estimate.status != EstimateStatus.CLOSED.value:
                # Invoicing an estimate closes it, as in QuickBooks.
                estimate.status = EstimateStatus.CLOSED.value
                estimate.updated_at = self._clock()
                session.add(estimate)
                self._announce(session, "Estimate", estimate.id, EventOperation.UPDATE)
        now = self._clock()
        row = InvoiceRow(
            id=f"I-{2000 + serial}",
            serial=serial,
            number=number,
            customer_id=customer.id,
            currency=currency,
            total=total,
            balance=total,
            issue_date=draft.issue_date,
            due_date=draft.due_date,
            status=InvoiceStatus.OPEN.value if total > 0 else InvoiceStatus.PAID.value,
            estimate_id=draft.estimate_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        for position, line in enumerate(draft.lines, start=1):
            session.add(
                InvoiceLineRow(
                    invoice_id=row.id,
                    position=position,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
            )
        session.flush()
        self._announce(session, "Invoice", row.id, EventOperation.CREATE)
        return row

    def _apply_payment(self, session: Session, request: PaymentRequest) -> Payment:
        self._customer_row(session, request.customer_id)
        amount = request.amount
        currency = amount.currency
        _cents(amount.amount, "payment amount")
        if amount.amount <= 0:
            raise PermanentLedgerError(f"a payment must be positive, got {amount}")
        # Merge allocations naming the same invoice, keeping their order.
        per_invoice: dict[str, Decimal] = {}
        for allocation in request.allocations:
            if allocation.amount.currency != currency:
                raise PermanentLedgerError(
                    f"allocation to {allocation.invoice_id} is in {allocation.amount.currency}, "
                    f"the payment in {currency}"
                )
            _cents(allocation.amount.amount, f"allocation to {allocation.invoice_id}")
            if allocation.amount.amount <= 0:
                raise PermanentLedgerError(
                    f"allocation to {allocation.invoice_id} must be positive, got {allocation.amount}"
                )
            per_invoice[allocation.invoice_id] = (
                per_invoice.get(allocation.invoice_id, Decimal("0")) + allocation.amount.amount
            )
        applied = sum(per_invoice.values(), Decimal("0"))
        if applied > amount.amount:
            raise PermanentLedgerError(
                f"allocations total {Money(amount=applied, currency=currency)} exceeds the payment {amount}"
            )
        invoices: list[tuple[InvoiceRow, Decimal]] = []
        for invoice_id, value in per_invoice.items():
            invoice = self._invoice_row(session, invoice_id)
            label = f"invoice {invoice.number} ({invoice.id})"
            if invoice.status == InvoiceStatus.VOID.value:
                raise PermanentLedgerError(f"{label} is void")
            if invoice.currency != currency:
                raise PermanentLedgerError(f"{label} is in {invoice.currency}, the payment in {currency}")
            if value > invoice.balance:
                raise PermanentLedgerError(
                    f"allocation of {Money(amount=value, currency=currency)} to {label} exceeds its "
                    f"balance {Money(amount=invoice.balance, currency=currency)}"
                )
            invoices.append((invoice, value))
        bank_line = None
        if request.bank_line_id is not None:
            bank_line = self._bank_line_row(session, request.bank_line_id)
            if bank_line.status != BankLineStatus.UNMATCHED.value:
                matched = f" to payment {bank_line.payment_id}" if bank_line.payment_id else ""
                raise PermanentLedgerError(f"bank line {bank_line.id} is already {bank_line.status}{matched}")
            if bank_line.currency != currency:
                raise PermanentLedgerError(
                    f"bank line {bank_line.id} is in {bank_line.currency}, the payment in {currency}"
                )
            if amount.amount > bank_line.amount:
                raise PermanentLedgerError(
                    f"payment {amount} exceeds the deposit {Money(amount=bank_line.amount, currency=currency)} "
                    f"of bank line {bank_line.id}"
                )
        serial = self._next_serial(session, PaymentRow)
        now = self._clock()
        row = PaymentRow(
            id=f"P-{3000 + serial}",
            serial=serial,
            customer_id=request.customer_id,
            date=request.date,
            currency=currency,
            amount=amount.amount,
            unapplied=amount.amount - applied,
            reference=request.reference,
            bank_line_id=request.bank_line_id,
            created_at=now,
        )
        session.add(row)
        for invoice, value in invoices:
            session.add(AllocationRow(payment_id=row.id, invoice_id=invoice.id, amount=value))
            invoice.balance = invoice.balance - value
            invoice.status = _status_after(invoice.balance)
            invoice.updated_at = now
            session.add(invoice)
        session.flush()
        self._announce(session, "Payment", row.id, EventOperation.CREATE)
        for invoice, _ in invoices:
            self._announce(session, "Invoice", invoice.id, EventOperation.UPDATE)
        if bank_line is not None:
            bank_line.status = BankLineStatus.MATCHED.value
            bank_line.payment_id = row.id
            bank_line.updated_at = now
            session.add(bank_line)
            self._announce(session, "BankLine", bank_line.id, EventOperation.UPDATE)
        return self._payments(session, [row])[0]
