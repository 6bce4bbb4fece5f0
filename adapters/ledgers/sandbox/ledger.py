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

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, event, func, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, create_engine, select

from adapters.ledger import (
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
    TimeEntry,
    minor_unit,
)
from adapters.ledgers.sandbox.mapping import (
    bank_line_from_row,
    country_code,
    credit_note_from_row,
    currency_code,
    customer_from_row,
    decimal_of,
    email_address,
    emails_to_row,
    estimate_from_row,
    estimate_lines_to_row,
    event_from_row,
    in_minor_units,
    invoice_from_row,
    invoice_line_from_row,
    invoice_line_to_row,
    invoice_to_row,
    payment_from_row,
    time_entry_from_row,
    time_zone_name,
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
    TimeEntryRow,
    utc_now,
)

R = TypeVar("R", bound=BaseModel)
T = TypeVar("T", bound=SandboxTable)

OPEN_STATUSES = (InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value)
_NO_ALTERNATES: tuple[str, ...] = ()
# A write session's flag: it writes the ledger's past, which is announced to nobody.
_PAST = "past"
# The tables a note may be attached to, by the entity name the port uses.
_NOTED: dict[str, type[SandboxTable]] = {
    "Customer": CustomerRow,
    "Invoice": InvoiceRow,
    "Payment": PaymentRow,
    "BankLine": BankLineRow,
    "Estimate": EstimateRow,
}


@dataclass(frozen=True, slots=True)
class PastInvoice:
    """An invoice settled before duecourse was connected: its draft, its payments (date, amount, reference) in
    date order, and a credit (amount, reason, date) that settled what the payments left, if any."""

    draft: InvoiceDraft
    payments: tuple[tuple[date, Decimal, str], ...]
    credit: tuple[Decimal, str, date] | None = None


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


def _status_after(balance: Decimal) -> str:
    return InvoiceStatus.PAID.value if balance == 0 else InvoiceStatus.PARTIALLY_PAID.value


def _invoice_label(invoice: InvoiceRow) -> str:
    return f"invoice {invoice.number} ({invoice.id})"


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
    def _writing(self, *, past: bool = False) -> Iterator[Session]:
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            session.info[_PAST] = past
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session:
            yield session

    def _announce(self, session: Session, entity: str, entity_id: str, operation: EventOperation) -> None:
        if session.info.get(_PAST):
            return  # the ledger's past (`record_past`): a change feed reports what happens, not what happened
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

    def _once(self, operation: str, key: str, record: type[R], write: Callable[[Session], R]) -> R:
        """A keyed write: the first call writes and remembers its result, a retry gets that result back."""
        with self._writing() as session:
            earlier = self._replay(session, operation, key, record)
            if earlier is not None:
                return earlier
            result = write(session)
            self._remember(session, operation, key, result)
            return result

    # --- rows and records --------------------------------------------------------------------------

    @staticmethod
    def _found(session: Session, table: type[T], key: str, what: str) -> T:
        row = session.get(table, key)
        if row is None:
            raise NotFound(f"{what} {key!r} not found in the sandbox ledger")
        return row

    def _customer_row(self, session: Session, customer_id: str) -> CustomerRow:
        return self._found(session, CustomerRow, customer_id, "customer")

    def _invoice_row(self, session: Session, invoice_id: str) -> InvoiceRow:
        return self._found(session, InvoiceRow, invoice_id, "invoice")

    def _estimate_row(self, session: Session, estimate_id: str) -> EstimateRow:
        return self._found(session, EstimateRow, estimate_id, "estimate")

    def _bank_line_row(self, session: Session, bank_line_id: str) -> BankLineRow:
        return self._found(session, BankLineRow, bank_line_id, "bank line")

    @staticmethod
    def _in_order(session: Session, table: type[T], status: StrEnum | None = None) -> Sequence[T]:
        """The table's rows, oldest first; only those in `status` when one is given."""
        query = select(table).order_by(col(table.serial))  # type: ignore[attr-defined]
        if status is not None:
            query = query.where(col(table.status) == status.value)  # type: ignore[attr-defined]
        return session.exec(query).all()

    @staticmethod
    def _invoices(session: Session, rows: Sequence[InvoiceRow]) -> list[Invoice]:
        """The invoices of these rows, their lines and customers read in one query each."""
        if not rows:
            return []
        ids = [row.id for row in rows]
        lines: dict[str, list[InvoiceLine]] = {invoice_id: [] for invoice_id in ids}
        for line in session.exec(
            select(InvoiceLineRow)
            .where(col(InvoiceLineRow.invoice_id).in_(ids))
            .order_by(col(InvoiceLineRow.invoice_id), col(InvoiceLineRow.position))
        ):
            lines[line.invoice_id].append(invoice_line_from_row(line))
        customers = {
            customer.id: customer
            for customer in session.exec(
                select(CustomerRow).where(col(CustomerRow.id).in_({row.customer_id for row in rows}))
            )
        }
        return [invoice_from_row(row, lines[row.id], customers[row.customer_id]) for row in rows]

    def _invoice(self, session: Session, row: InvoiceRow) -> Invoice:
        return self._invoices(session, [row])[0]

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
        return [payment_from_row(row, allocations[row.id]) for row in rows]

    # --- LedgerPort: reads ---------------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        with self._reading() as session:
            return customer_from_row(self._customer_row(session, customer_id))

    def list_customers(self) -> list[Customer]:
        with self._reading() as session:
            return [customer_from_row(row) for row in self._in_order(session, CustomerRow)]

    def customer_habit(self, customer_id: str) -> str | None:
        """How a demo customer pays (the seed's hidden attribute); None for customers added by hand."""
        with self._reading() as session:
            return self._customer_row(session, customer_id).habit

    def get_invoice(self, invoice_id: str) -> Invoice:
        with self._reading() as session:
            return self._invoice(session, self._invoice_row(session, invoice_id))

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        """Open and partly paid invoices, and drafts (status DRAFT) not yet posted: a backfill starts their
        lifecycles too, which wait for posting. Callers that want posted ones only filter on status."""
        return self.list_invoices(customer_id, statuses=[InvoiceStatus(s) for s in (*OPEN_STATUSES, "draft")])

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
            return estimate_from_row(self._estimate_row(session, estimate_id))

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        with self._reading() as session:
            return [estimate_from_row(row) for row in self._in_order(session, EstimateRow, status)]

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
            return bank_line_from_row(self._bank_line_row(session, bank_line_id))

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        with self._reading() as session:
            return [bank_line_from_row(row) for row in self._in_order(session, BankLineRow, status)]

    def notes(self, entity: str, entity_id: str) -> list[str]:
        with self._reading() as session:
            query = (
                select(NoteRow.text)
                .where(NoteRow.entity == entity, NoteRow.entity_id == entity_id)
                .order_by(col(NoteRow.id))
            )
            return list(session.exec(query).all())

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        with self._reading() as session:
            query = select(CreditNoteRow).order_by(col(CreditNoteRow.serial))
            if customer_id is not None:
                query = query.where(CreditNoteRow.customer_id == customer_id)
            return [credit_note_from_row(row) for row in session.exec(query).all()]

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
        """Open balances by customer and days past due, of the invoices issued by `as_of`."""
        rows: dict[str, AgingRow] = {}
        for invoice in self.list_open_invoices():
            if invoice.issue_date > as_of or invoice.status == InvoiceStatus.DRAFT:
                continue
            row = rows.setdefault(invoice.customer_id, AgingRow(
                customer_id=invoice.customer_id, customer_name=invoice.customer_name, currency=invoice.currency))
            row.add((as_of - invoice.due_date).days, invoice.balance.amount)
        return sorted(rows.values(), key=lambda r: r.customer_name)

    # --- LedgerPort: writes --------------------------------------------------------------------------

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        return self._once("create_invoice", idempotency_key, Invoice,
                          lambda session: self._invoice(session, self._insert_invoice(session, draft)))

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        return self._once("void_invoice", idempotency_key, Invoice, lambda session: self._void(session, invoice_id))

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        return self._once("record_payment", idempotency_key, Payment,
                          lambda session: self._apply_payment(session, request))

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        # A note announces nothing: real ledgers keep notes out of their change feeds too, and an
        # event here would echo duecourse's own audit notes back to it as invoice changes.
        if entity not in _NOTED:
            raise PermanentLedgerError(f"cannot add a note to {entity!r}: one of {', '.join(_NOTED)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        with self._writing() as session:
            if self._recorded(session, "add_note", idempotency_key) is not None:
                return
            self._found(session, _NOTED[entity], entity_id, entity)
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
        return self._once("create_credit_note", idempotency_key, CreditNote,
                          lambda session: self._insert_credit_note(session, draft))

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
        time_zone = time_zone_name(time_zone)
        country = country_code(country)
        currency = currency_code(currency)
        limit = None
        if credit_limit is not None:
            limit = in_minor_units(decimal_of(credit_limit, "credit limit"), "credit limit", currency)
            if limit < 0:
                raise PermanentLedgerError(f"credit limit must not be negative, got {limit}")
        with self._writing() as session:
            serial = self._next_serial(session, CustomerRow)
            row = CustomerRow(
                id=f"C-{1000 + serial}",
                serial=serial,
                name=name,
                email=None if email is None else email_address(email),
                alternate_emails=emails_to_row(alternate_emails),
                currency=currency,
                terms_days=terms_days,
                time_zone=time_zone,
                country=country,
                credit_limit=limit,
                dunning_profile=dunning_profile,
                habit=habit,
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            self._announce(session, "Customer", row.id, EventOperation.CREATE)
            return customer_from_row(row)

    def set_customer_email(self, customer_id: str, email: str) -> Customer:
        with self._writing() as session:
            row = self._customer_row(session, customer_id)
            row.email = email_address(email)
            row.updated_at = self._clock()
            session.add(row)
            self._announce(session, "Customer", row.id, EventOperation.UPDATE)
            return customer_from_row(row)

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
        as_draft: bool = False,
    ) -> Invoice:
        """Creates an open invoice as someone would in the ledger; issued `terms_days` before it falls due
        unless `issue_date` says otherwise. With `lines`, their amounts must add up to `amount`. A draft
        (`as_draft`) is not posted yet: nobody is asked to pay it until `post_invoice`."""
        total = decimal_of(amount, "invoice amount")
        if total <= 0:
            raise PermanentLedgerError(f"invoice amount must be positive, got {total}")
        with self._writing() as session:
            customer = self._customer_row(session, customer_id)
            invoiced_in = currency_code(currency or customer.currency)
            in_minor_units(total, "invoice amount", invoiced_in)
            if lines is None:
                lines = [InvoiceLine(description=description, quantity=Decimal("1"), unit_price=total, amount=total)]
            elif sum((line.amount for line in lines), Decimal("0")) != total:
                raise PermanentLedgerError(
                    f"invoice lines add up to {sum((line.amount for line in lines), Decimal('0'))}, "
                    f"not to the amount {total}"
                )
            draft = InvoiceDraft(
                customer_id=customer_id,
                currency=invoiced_in,
                lines=lines,
                issue_date=issue_date or due_date - timedelta(days=customer.terms_days),
                due_date=due_date,
            )
            row = self._insert_invoice(session, draft)
            if as_draft:
                row.status = InvoiceStatus.DRAFT.value
                session.add(row)
            return self._invoice(session, row)

    def post_invoice(self, invoice_id: str) -> Invoice:
        """Posts a draft, as approving it in the ledger does: from now on it is open and due."""
        with self._writing() as session:
            row = self._invoice_row(session, invoice_id)
            if row.status != InvoiceStatus.DRAFT.value:
                raise PermanentLedgerError(f"{_invoice_label(row)} is not a draft (it is {row.status})")
            row.status = InvoiceStatus.OPEN.value if row.balance == row.total else _status_after(row.balance)
            row.updated_at = self._clock()
            session.add(row)
            self._announce(session, "Invoice", row.id, EventOperation.UPDATE)
            return self._invoice(session, row)

    def pay(self, invoice_id: str, amount: Decimal | None = None, *, on: date, reference: str = "") -> Payment:
        """Records a payment of one invoice (the whole balance unless `amount` says otherwise), as if
        someone applied it in the ledger. The payment rules themselves are the port's (`_apply_payment`)."""
        with self._writing() as session:
            invoice = self._invoice_row(session, invoice_id)
            balance = Money(amount=invoice.balance, currency=invoice.currency)
            if invoice.status == InvoiceStatus.VOID.value:
                raise PermanentLedgerError(f"{_invoice_label(invoice)} is void")
            if invoice.status == InvoiceStatus.DRAFT.value:
                raise PermanentLedgerError(f"{_invoice_label(invoice)} is a draft: post it before paying it")
            if amount is None:
                if invoice.balance <= 0:
                    raise PermanentLedgerError(
                        f"{_invoice_label(invoice)} has nothing left to pay: its balance is {balance}"
                    )
                paid = balance
            else:
                paid = Money(amount=decimal_of(amount, "payment amount"), currency=invoice.currency)
                if paid > balance:
                    raise PermanentLedgerError(
                        f"cannot pay {paid} on {_invoice_label(invoice)}: its balance is {balance}"
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
        with self._writing() as session:
            return bank_line_from_row(self._deposit(session, amount, payer_name, on, reference, currency))

    def receive_statement_line(
        self,
        key: str,
        amount: Decimal,
        payer_name: str,
        *,
        on: date,
        reference: str = "",
        currency: str = "USD",
    ) -> tuple[BankLine, bool]:
        """A deposit read from a bank statement file, booked once per statement line: `key` is the line's
        stable key, and a second import of it books nothing and answers the bank line of the first, with
        False. The keys live with the idempotency records, so a ledger file made before this needs no new
        table or column."""
        with self._writing() as session:
            earlier = self._replay(session, "receive_statement_line", key, BankLine)
            if earlier is not None:
                return bank_line_from_row(self._bank_line_row(session, earlier.id)), False
            line = bank_line_from_row(self._deposit(session, amount, payer_name, on, reference, currency))
            self._remember(session, "receive_statement_line", key, line)
            return line, True

    def _deposit(
        self, session: Session, amount: Decimal, payer_name: str, on: date, reference: str, currency: str
    ) -> BankLineRow:
        currency = currency_code(currency)
        value = in_minor_units(decimal_of(amount, "deposit amount"), "deposit amount", currency)
        if value <= 0:
            raise PermanentLedgerError(f"a deposit must be positive, got {value}")
        if not payer_name.strip():
            raise PermanentLedgerError("a deposit needs a payer name")
        serial = self._next_serial(session, BankLineRow)
        row = BankLineRow(
            id=f"B-{4000 + serial}",
            serial=serial,
            date=on,
            currency=currency,
            amount=value,
            payer_name=payer_name.strip(),
            reference=reference,
            status=BankLineStatus.UNMATCHED.value,
            created_at=self._clock(),
            updated_at=self._clock(),
        )
        session.add(row)
        self._announce(session, "BankLine", row.id, EventOperation.CREATE)
        return row

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
        total = decimal_of(amount, "estimate amount")
        if total <= 0:
            raise PermanentLedgerError(f"estimate amount must be positive, got {total}")
        with self._writing() as session:
            customer = self._customer_row(session, customer_id)
            in_minor_units(total, "estimate amount", customer.currency)
            lines = lines or [InvoiceLine(description=description, unit_price=total, amount=total)]
            if sum((line.amount for line in lines), Decimal("0")) != total:
                raise PermanentLedgerError(f"estimate lines do not add up to the amount {total}")
            serial = self._next_serial(session, EstimateRow)
            row = EstimateRow(
                id=f"E-{5000 + serial}",
                serial=serial,
                number=f"EST-{1000 + serial}",
                customer_id=customer.id,
                currency=customer.currency,
                total=total,
                lines=estimate_lines_to_row(lines),
                status=EstimateStatus.PENDING.value,
                issue_date=issue_date,
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            self._announce(session, "Estimate", row.id, EventOperation.CREATE)
            return estimate_from_row(row)

    def set_estimate_status(self, estimate_id: str, status: EstimateStatus) -> Estimate:
        """The customer accepted or rejected a quote (or it was closed)."""
        with self._writing() as session:
            row = self._estimate_row(session, estimate_id)
            self._set_estimate_status(session, row, status)
            return estimate_from_row(row)

    def accept_estimate(self, estimate_id: str) -> Estimate:
        """The customer accepted a pending quote (announced as an Estimate update, as QuickBooks does); accepting
        an accepted one changes nothing, and a rejected or closed (invoiced) one cannot be accepted."""
        with self._writing() as session:
            row = self._estimate_row(session, estimate_id)
            if row.status not in (EstimateStatus.PENDING.value, EstimateStatus.ACCEPTED.value):
                raise PermanentLedgerError(f"estimate {row.number} ({row.id}) is {row.status}: only a pending "
                                           "estimate can be accepted")
            self._set_estimate_status(session, row, EstimateStatus.ACCEPTED)
            return estimate_from_row(row)

    def record_past(self, invoices: Sequence[PastInvoice]) -> int:
        """Settled invoices from before duecourse was connected, with their payments and credits, written in
        one transaction and announced to nobody: a ledger's webhooks report changes as they happen, so its
        past reaches duecourse only through reading (reports, risk, forecasts), never as a lifecycle to start.

        The same rules as every write (lines add up, whole minor units, the port's payment rules, nothing paid
        past the balance), and each invoice must end settled; otherwise nothing is written. Rows are added in
        bulk, not through the one-at-a-time writes, so two years of a company's books take a second, not a
        minute. Returns how many invoices were written."""
        with self._writing(past=True) as session:
            serials: dict[type[SandboxTable], int] = {
                table: self._next_serial(session, table) for table in (InvoiceRow, PaymentRow, CreditNoteRow)}
            taken = set(session.exec(select(InvoiceRow.number)).all())
            known: dict[str, CustomerRow] = {}
            rows: list[SandboxTable] = []
            now = self._clock()
            for past in invoices:
                draft = past.draft
                customer = known.get(draft.customer_id) or self._customer_row(session, draft.customer_id)
                known[customer.id] = customer
                currency = currency_code(draft.currency)
                total = self._invoice_total(draft, currency)
                if draft.due_date < draft.issue_date:
                    raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
                serial = serials[InvoiceRow]
                serials[InvoiceRow] += 1
                number = next(f"INV-{n}" for n in range(1000 + serial, 10**9) if f"INV-{n}" not in taken)
                taken.add(number)
                row = invoice_to_row(serial, number, customer.id, currency, total, issue_date=draft.issue_date,
                                     due_date=draft.due_date, estimate_id=None, now=now)
                rows.append(row)
                rows.extend(invoice_line_to_row(row.id, position, line) for position, line in enumerate(draft.lines, 1))
                rows.extend(self._past_settlement(row, past, serials, now))
                row.status = _status_after(row.balance)
                if row.balance != 0:
                    raise PermanentLedgerError(f"{_invoice_label(row)} is not settled by its past: {row.balance} left")
            by_table: dict[type[SandboxTable], list[dict[str, Any]]] = {}
            for written in rows:
                by_table.setdefault(type(written), []).append(written.model_dump())
            for table, values in by_table.items():  # a Core insert per table: the ORM's unit of work is the slow part
                session.execute(insert(table), values)
        return len(invoices)

    @staticmethod
    def _past_settlement(row: InvoiceRow, past: PastInvoice, serials: dict[type[SandboxTable], int],
                         now: datetime) -> Iterator[SandboxTable]:
        """The payment and credit rows that settled a past invoice; its balance drops with each."""
        label = _invoice_label(row)
        for on, amount, reference in past.payments:
            paid = Money(amount=in_minor_units(decimal_of(amount, "payment amount"), "payment amount", row.currency),
                         currency=row.currency)
            request = PaymentRequest(customer_id=row.customer_id, date=on, amount=paid, reference=reference,
                                     allocations=[Allocation(invoice_id=row.id, amount=paid)])
            value = request.amounts_per_invoice()[row.id]
            if value > row.balance or on < row.issue_date:
                raise PermanentLedgerError(f"payment of {paid} on {on} does not fit {_invoice_label(row)}: balance "
                                           f"{row.balance}, issued {row.issue_date}")
            serial = serials[PaymentRow]
            serials[PaymentRow] += 1
            payment = PaymentRow(id=f"P-{3000 + serial}", serial=serial, customer_id=row.customer_id, date=on,
                                 currency=row.currency, amount=value, unapplied=Decimal("0.00"), reference=reference,
                                 created_at=now)
            yield payment
            yield AllocationRow(payment_id=payment.id, invoice_id=row.id, amount=value)
            row.balance -= value
        if past.credit is not None:
            amount, reason, on = past.credit
            value = in_minor_units(decimal_of(amount, "credit amount"), "credit amount", row.currency)
            if not 0 < value <= row.balance:
                raise PermanentLedgerError(f"a credit of {value} does not fit {label}: balance {row.balance}")
            serial = serials[CreditNoteRow]
            serials[CreditNoteRow] += 1
            yield CreditNoteRow(id=f"CN-{7000 + serial}", serial=serial, number=f"CN-{1000 + serial}",
                                customer_id=row.customer_id, invoice_id=row.id, currency=row.currency, total=value,
                                remaining=Decimal("0.00"), reason=reason, issue_date=on)
            row.balance -= value

    def past_invoice_ids(self) -> set[str]:
        """The invoices written as the ledger's past (`record_past`): never announced."""
        with self._reading() as session:
            announced = select(EventRow.entity_id).where(EventRow.entity == "Invoice")
            return set(session.exec(select(InvoiceRow.id).where(col(InvoiceRow.id).not_in(announced))).all())

    # --- time entries ------------------------------------------------------------------------------------

    def add_time_entry(self, customer_id: str, hours: Decimal | str, rate: Decimal | str, description: str, *,
                       on: date) -> TimeEntry:
        """Billable hours at an hourly rate in the customer's currency, unbilled until an invoice bills them."""
        worked = decimal_of(hours, "hours")
        if worked <= 0 or worked > 24:
            raise PermanentLedgerError(f"hours must be more than 0 and at most 24 a day, got {worked}")
        if not description.strip():
            raise PermanentLedgerError("a time entry needs a description")
        with self._writing() as session:
            customer = self._customer_row(session, customer_id)
            price = in_minor_units(decimal_of(rate, "rate"), "rate", customer.currency)
            if price <= 0:
                raise PermanentLedgerError(f"the hourly rate must be positive, got {price}")
            serial = self._next_serial(session, TimeEntryRow)
            row = TimeEntryRow(id=f"T-{6000 + serial}", serial=serial, customer_id=customer.id, date=on,
                               hours=worked, rate=price, currency=customer.currency,
                               description=description.strip(), created_at=self._clock(), updated_at=self._clock())
            session.add(row)
            self._announce(session, "TimeEntry", row.id, EventOperation.CREATE)
            return time_entry_from_row(row)

    def list_time_entries(self, customer_id: str | None = None, unbilled_only: bool = False) -> list[TimeEntry]:
        """Time entries, oldest first; of one customer, and only those no invoice has billed, when asked."""
        with self._reading() as session:
            query = select(TimeEntryRow).order_by(col(TimeEntryRow.date), col(TimeEntryRow.serial))
            if customer_id is not None:
                self._customer_row(session, customer_id)
                query = query.where(TimeEntryRow.customer_id == customer_id)
            if unbilled_only:
                query = query.where(col(TimeEntryRow.invoice_id).is_(None))
            return [time_entry_from_row(row) for row in session.exec(query).all()]

    def bill_time_entries(self, draft: InvoiceDraft, time_entry_ids: Sequence[str], idempotency_key: str) -> Invoice:
        """Creates the invoice for these entries and marks them billed by it, in one transaction; a retry with
        the key answers the same invoice. An entry of another customer, or billed already, refuses the lot."""
        def write(session: Session) -> Invoice:
            if not time_entry_ids:
                raise PermanentLedgerError("an invoice for time needs at least one time entry")
            entries = [self._found(session, TimeEntryRow, entry_id, "time entry") for entry_id in time_entry_ids]
            for entry in entries:
                if entry.customer_id != draft.customer_id:
                    raise PermanentLedgerError(f"time entry {entry.id} is for {entry.customer_id}, "
                                               f"not {draft.customer_id}")
                if entry.invoice_id is not None:
                    raise PermanentLedgerError(f"time entry {entry.id} is already billed on {entry.invoice_id}")
            row = self._insert_invoice(session, draft)
            for entry in entries:
                entry.invoice_id = row.id
                entry.updated_at = self._clock()
                session.add(entry)
                self._announce(session, "TimeEntry", entry.id, EventOperation.UPDATE)
            return self._invoice(session, row)

        return self._once("bill_time_entries", idempotency_key, Invoice, write)

    # --- the outbox ------------------------------------------------------------------------------------

    def pending_events(self, limit: int = 100, now: datetime | None = None) -> list[tuple[int, LedgerEvent]]:
        """Undelivered events whose next attempt is due, in the order they happened."""
        with self._reading() as session:
            query = (
                select(EventRow)
                .where(col(EventRow.delivered_at).is_(None), col(EventRow.next_attempt_at) <= (now or self._clock()))
                .order_by(col(EventRow.seq))
                .limit(limit)
            )
            return [event_from_row(row, self.ledger, self.tenant) for row in session.exec(query).all()]

    def events(self, since_seq: int = 0, limit: int | None = None) -> list[tuple[int, LedgerEvent]]:
        """Every event after `since_seq`, delivered or not: the polling backstop's change feed."""
        with self._reading() as session:
            query = select(EventRow).where(col(EventRow.seq) > since_seq).order_by(col(EventRow.seq))
            if limit is not None:
                query = query.limit(limit)
            return [event_from_row(row, self.ledger, self.tenant) for row in session.exec(query).all()]

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

    # --- writes shared by the port and the commands: invoices -------------------------------------------

    def _insert_invoice(self, session: Session, draft: InvoiceDraft) -> InvoiceRow:
        """A new open invoice for the draft, its lines, and its announcement (invoicing an estimate closes it)."""
        customer = self._customer_row(session, draft.customer_id)
        currency = currency_code(draft.currency)
        total = self._invoice_total(draft, currency)
        if draft.due_date < draft.issue_date:
            raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
        serial = self._next_serial(session, InvoiceRow)
        number = self._invoice_number(session, draft.number, serial)
        if draft.estimate_id is not None:
            # Invoicing an estimate closes it, as in QuickBooks.
            self._set_estimate_status(session, self._estimate_row(session, draft.estimate_id), EstimateStatus.CLOSED)
        row = invoice_to_row(serial, number, customer.id, currency, total, issue_date=draft.issue_date,
                             due_date=draft.due_date, estimate_id=draft.estimate_id, now=self._clock())
        session.add(row)
        for position, line in enumerate(draft.lines, start=1):
            session.add(invoice_line_to_row(row.id, position, line))
        session.flush()
        self._announce(session, "Invoice", row.id, EventOperation.CREATE)
        return row

    @staticmethod
    def _invoice_total(draft: InvoiceDraft, currency: str) -> Decimal:
        """The sum of the draft's lines, each of which must be its quantity times its unit price."""
        if not draft.lines:
            raise PermanentLedgerError("an invoice needs at least one line")
        for position, line in enumerate(draft.lines, start=1):
            in_minor_units(line.amount, f"line {position} amount", currency)
            expected = (line.quantity * line.unit_price).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
            if expected != line.amount:
                raise PermanentLedgerError(
                    f"line {position} ({line.description!r}): amount {line.amount} is not "
                    f"quantity {line.quantity} x unit price {line.unit_price} = {expected}"
                )
        total = sum((line.amount for line in draft.lines), Decimal("0"))
        if total < 0:
            raise PermanentLedgerError(f"an invoice total cannot be negative ({total}); issue a credit note")
        return total

    @staticmethod
    def _invoice_number(session: Session, given: str | None, serial: int) -> str:
        """The number asked for (which must be free), else the next free INV-<1000 + serial>."""
        if given is not None:
            number = given.strip()
            if not number:
                raise PermanentLedgerError("an invoice number, when given, must not be blank")
            taken = session.exec(select(InvoiceRow.id).where(InvoiceRow.number == number)).first()
            if taken is not None:
                raise PermanentLedgerError(f"invoice number {number!r} is already used by invoice {taken}")
            return number
        sequence = 1000 + serial
        while session.exec(select(InvoiceRow.id).where(InvoiceRow.number == f"INV-{sequence}")).first():
            sequence += 1
        return f"INV-{sequence}"

    def _set_estimate_status(self, session: Session, row: EstimateRow, status: EstimateStatus) -> None:
        if row.status != status.value:
            row.status = status.value
            row.updated_at = self._clock()
            session.add(row)
            self._announce(session, "Estimate", row.id, EventOperation.UPDATE)

    def _void(self, session: Session, invoice_id: str) -> Invoice:
        """Voids an unpaid invoice (voiding a void one changes nothing); a paid one needs a credit note."""
        row = self._invoice_row(session, invoice_id)
        if row.status != InvoiceStatus.VOID.value:
            applied = session.exec(
                select(AllocationRow.payment_id).where(AllocationRow.invoice_id == invoice_id)
            ).all()
            if applied:
                raise PermanentLedgerError(
                    f"{_invoice_label(row)} has payments applied "
                    f"({', '.join(sorted(set(applied)))}); a paid invoice cannot be voided"
                )
            row.status = InvoiceStatus.VOID.value
            row.balance = Decimal("0.00")
            row.updated_at = self._clock()
            session.add(row)
            self._announce(session, "Invoice", row.id, EventOperation.VOID)
        return self._invoice(session, row)

    def _insert_credit_note(self, session: Session, draft: CreditNoteDraft) -> CreditNote:
        """The credit note; one for an invoice is allocated against it at once (its balance drops by the
        credit, as QuickBooks' applied CreditMemo and Xero's CreditNote allocation do), the rest stays credit."""
        self._customer_row(session, draft.customer_id)
        invoice: InvoiceRow | None = None
        if draft.invoice_id is not None:
            invoice = self._invoice_row(session, draft.invoice_id)
            if invoice.customer_id != draft.customer_id:
                raise PermanentLedgerError(
                    f"invoice {invoice.number} belongs to {invoice.customer_id}, not {draft.customer_id}")
            if invoice.status == InvoiceStatus.VOID.value:
                raise PermanentLedgerError(f"{_invoice_label(invoice)} is void: nothing to credit")
            if invoice.currency != currency_code(draft.currency):
                raise PermanentLedgerError(f"{_invoice_label(invoice)} is in {invoice.currency}, "
                                           f"the credit note in {draft.currency}")
        if not draft.lines:
            raise PermanentLedgerError("a credit note needs at least one line")
        currency = currency_code(draft.currency)
        total = sum((in_minor_units(line.amount, "credit line amount", currency) for line in draft.lines),
                    Decimal("0.00"))
        if total <= 0:
            raise PermanentLedgerError("a credit note must credit a positive amount")
        serial = self._next_serial(session, CreditNoteRow)
        applied = min(total, invoice.balance) if invoice is not None else Decimal("0.00")
        row = CreditNoteRow(
            id=f"CN-{7000 + serial}", serial=serial, number=f"CN-{1000 + serial}",
            customer_id=draft.customer_id, invoice_id=draft.invoice_id, currency=currency,
            total=total, remaining=total - applied, reason=draft.reason, issue_date=draft.issue_date,
        )
        session.add(row)
        self._announce(session, "CreditNote", row.id, EventOperation.CREATE)
        if invoice is not None and applied > 0:
            invoice.balance = invoice.balance - applied
            invoice.status = _status_after(invoice.balance)
            invoice.updated_at = self._clock()
            session.add(invoice)
            self._announce(session, "Invoice", invoice.id, EventOperation.UPDATE)
        return credit_note_from_row(row)

    # --- writes shared by the port and the commands: payments -------------------------------------------

    def _apply_payment(self, session: Session, request: PaymentRequest) -> Payment:
        """Records the payment, applies it to its invoices and matches its bank line, or writes nothing.

        The rules of every ledger (positive, whole minor units, one currency, allocations within the
        payment) are the port's `amounts_per_invoice`; the checks here are the sandbox's own books."""
        self._customer_row(session, request.customer_id)
        per_invoice = request.amounts_per_invoice()
        invoices = self._payable(session, per_invoice, request.amount.currency)
        bank_line = None
        if request.bank_line_id is not None:
            bank_line = self._unmatched_bank_line(session, request.bank_line_id, request.amount)
        row = self._insert_payment(session, request, invoices)
        if bank_line is not None:
            bank_line.status = BankLineStatus.MATCHED.value
            bank_line.payment_id = row.id
            bank_line.updated_at = row.created_at
            session.add(bank_line)
            self._announce(session, "BankLine", bank_line.id, EventOperation.UPDATE)
        return self._payments(session, [row])[0]

    def _payable(self, session: Session, per_invoice: dict[str, Decimal],
                 currency: str) -> list[tuple[InvoiceRow, Decimal]]:
        """Each invoice with the amount it is to receive: not void, in the payment's currency, within its balance."""
        invoices: list[tuple[InvoiceRow, Decimal]] = []
        for invoice_id, value in per_invoice.items():
            invoice = self._invoice_row(session, invoice_id)
            label = _invoice_label(invoice)
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
        return invoices

    def _unmatched_bank_line(self, session: Session, bank_line_id: str, amount: Money) -> BankLineRow:
        """The deposit the payment records: still unmatched, in its currency, at least the payment."""
        bank_line = self._bank_line_row(session, bank_line_id)
        if bank_line.status != BankLineStatus.UNMATCHED.value:
            matched = f" to payment {bank_line.payment_id}" if bank_line.payment_id else ""
            raise PermanentLedgerError(f"bank line {bank_line.id} is already {bank_line.status}{matched}")
        if bank_line.currency != amount.currency:
            raise PermanentLedgerError(
                f"bank line {bank_line.id} is in {bank_line.currency}, the payment in {amount.currency}"
            )
        if amount.amount > bank_line.amount:
            raise PermanentLedgerError(
                f"payment {amount} exceeds the deposit {Money(amount=bank_line.amount, currency=amount.currency)} "
                f"of bank line {bank_line.id}"
            )
        return bank_line

    def _insert_payment(self, session: Session, request: PaymentRequest,
                        invoices: list[tuple[InvoiceRow, Decimal]]) -> PaymentRow:
        """The payment row and its allocations, each invoice's new balance, and their announcements."""
        applied = sum((value for _, value in invoices), Decimal("0"))
        serial = self._next_serial(session, PaymentRow)
        now = self._clock()
        row = PaymentRow(
            id=f"P-{3000 + serial}",
            serial=serial,
            customer_id=request.customer_id,
            date=request.date,
            currency=request.amount.currency,
            amount=request.amount.amount,
            unapplied=request.amount.amount - applied,
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
        return row
