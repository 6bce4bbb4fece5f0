"""The statement's side effects: read a customer's books from the ledger, render the PDF, mail it once.

`StatementActivities` is built once in the worker with the connected ledgers, the store (outbox, kill switch),
the mailer and the policy file. The `StatementRun` workflow (workflows/statements.py) decides; these fetch,
compute, render and send. A send is exactly-once per idempotency key `{ledger}:{tenant}:statement:{customer}:
{period}` through the outbox, as `MessagingActivities.send_reminder` does for reminders: a retry or a replay
finds the key sent and sends nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel
from temporalio import activity

from activities.errors import as_application_errors, hold_while_paused
from activities.ledger import connected_port
from activities.messaging import message_id_for
from activities.statements.statement import Statement, customers_with_activity, statement
from adapters.ledger import Invoice, InvoiceStatus, LedgerPort, NotFound
from adapters.mail import MailAttachment, Mailer, OutgoingMail, RecipientRefused
from workflows.policy import Statements, default_policy

# The store (sqlmodel), the books (the cash-matching engine) and the PDF library load only where they work:
# the workflow that imports this module for its records does not.
if TYPE_CHECKING:
    from activities.policy import PolicyActivities
    from activities.reports.books import Books
    from adapters.store import Store

NOT_RECEIVABLE = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)


class StatementPeriod(BaseModel):
    ledger: str
    tenant: str
    period_start: date
    period_end: date
    as_of: date  # the ledger's today: balances are today's, rewound to the period


class ReadStatementInput(StatementPeriod):
    customer_id: str


class StatementFacts(BaseModel):
    statement: Statement
    email: str | None


class StatementCustomers(BaseModel):
    customer_ids: list[str]


class RenderStatementInput(BaseModel):
    statement: Statement
    company_name: str
    filename: str


class RenderedStatement(BaseModel):
    filename: str
    pdf_base64: str
    sha256: str
    size: int


class SendStatementInput(BaseModel):
    idempotency_key: str
    workflow_id: str
    customer_id: str
    to: str
    subject: str
    body: str
    attachment: RenderedStatement
    approved_by: str | None = None


class SendStatementResult(BaseModel):
    message_id: str
    already_sent: bool
    outcome: Literal["sent", "bounced"] = "sent"
    reason: str | None = None


def customer_books(port: LedgerPort, as_of: date, customer_id: str | None = None) -> Books:
    """The receivables of one customer (or all) with today's balances and every payment applied to them.
    A ledger that lists only open invoices gives the paid ones through the invoices its payments name."""
    from activities.cash_matching.model import OpenInvoice
    from activities.forecasting.history import AppliedPayment
    from activities.reports.books import Books

    payments = [p for p in port.list_payments() if customer_id is None or p.customer_id == customer_id]
    applied = [AppliedPayment(payment_id=p.id, invoice_id=a.invoice_id, date=p.date, amount=a.amount.amount)
               for p in payments for a in p.allocations]
    listing = getattr(port, "list_invoices", None)
    found: dict[str, Invoice] = {i.id: i for i in (listing(customer_id) if callable(listing)
                                                     else port.list_open_invoices(customer_id))}
    for invoice_id in sorted({p.invoice_id for p in applied} - found.keys()):
        try:
            found[invoice_id] = port.get_invoice(invoice_id)
        except NotFound:
            continue  # deleted since it was paid: nobody's debt
    invoices = [OpenInvoice(
        invoice_id=i.id, invoice_number=i.number, customer_id=i.customer_id, customer_name=i.customer_name,
        currency=i.currency, total=i.total.amount, balance=i.balance.amount, issue_date=i.issue_date,
        due_date=i.due_date) for i in found.values()
        if i.status not in NOT_RECEIVABLE and (customer_id is None or i.customer_id == customer_id)]
    return Books.of(invoices, applied, max([as_of, *(p.date for p in applied)]))


class StatementActivities:
    def __init__(self, ledgers: Mapping[str, LedgerPort], store: Store, mailer: Mailer, sender: str,
                 policy: PolicyActivities | None = None) -> None:
        self.ledgers = ledgers
        self.store = store
        self.mailer = mailer
        self.sender = sender
        self.policy = policy

    def _port(self, ledger: str, tenant: str) -> LedgerPort:
        return connected_port(self.ledgers, ledger, tenant)

    @activity.defn
    def statement_policy(self) -> Statements:
        """The policy's `[statements]` in force (the built-in default without a policy file)."""
        current = self.policy.current() if self.policy is not None else None
        return current[0].statements if current is not None else default_policy().statements

    @activity.defn
    def read_statement(self, request: ReadStatementInput) -> StatementFacts:
        port = self._port(request.ledger, request.tenant)
        with as_application_errors():
            customer = port.get_customer(request.customer_id)
            books = customer_books(port, request.as_of, request.customer_id)
        found = statement(books, customer.id, customer.name, request.period_start, request.period_end)
        return StatementFacts(statement=found, email=customer.email)

    @activity.defn
    def statement_customers(self, request: StatementPeriod) -> StatementCustomers:
        port = self._port(request.ledger, request.tenant)
        with as_application_errors():
            books = customer_books(port, request.as_of)
        return StatementCustomers(customer_ids=customers_with_activity(books, request.period_start,
                                                                       request.period_end))

    @activity.defn
    def render_statement(self, request: RenderStatementInput) -> RenderedStatement:
        from activities.statements.document import render_pdf

        pdf = render_pdf(request.statement, request.company_name)
        return RenderedStatement(filename=request.filename, pdf_base64=base64.b64encode(pdf).decode("ascii"),
                                 sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf))

    @activity.defn
    def send_statement(self, request: SendStatementInput) -> SendStatementResult:
        """Mail the statement with its PDF once per idempotency key; the kill switch holds it."""
        hold_while_paused(self.store.is_paused())
        from adapters.store import OutboxMessage

        record = self.store.outbox_reserve(OutboxMessage(
            idempotency_key=request.idempotency_key, workflow_id=request.workflow_id, invoice_id="",
            kind="statement", to=request.to, subject=request.subject, body=request.body,
            message_id=message_id_for(request.idempotency_key), drafter="template",
            approved_by=request.approved_by, status="sending", created_at=datetime.now(UTC), sent_at=None,
        ))
        if record.status == "sent":
            return SendStatementResult(message_id=record.message_id, already_sent=True)
        if record.status == "bounced":
            return SendStatementResult(message_id=record.message_id, already_sent=False, outcome="bounced",
                                       reason=record.reason)
        attachment = MailAttachment(filename=request.attachment.filename, content_type="application/pdf",
                                    data=base64.b64decode(request.attachment.pdf_base64))
        with as_application_errors():
            try:
                self.mailer.send(OutgoingMail(to=record.to, subject=record.subject, body=record.body,
                                              sender=self.sender, message_id=record.message_id,
                                              attachments=[attachment]))
            except RecipientRefused as refused:
                reason = f"refused by the mail server: {refused.code} {refused.reply}"
                self.store.outbox_mark(request.idempotency_key, "bounced", reason)
                return SendStatementResult(message_id=record.message_id, already_sent=False, outcome="bounced",
                                           reason=reason)
        self.store.outbox_mark_sent(request.idempotency_key)
        return SendStatementResult(message_id=record.message_id, already_sent=False)

    def callables(self) -> list[object]:
        return [self.statement_policy, self.read_statement, self.statement_customers, self.render_statement,
                self.send_statement]
