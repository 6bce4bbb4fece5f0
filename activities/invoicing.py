"""Invoicing activities: read what an invoice is made from (an estimate, its customer, the customer's books)
and post the invoice. Thin: every decision is the quote-to-invoice workflow's, every rule in
`workflows/invoicing.py` and `workflows/invoice_guardrails.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.error_types import LEDGER_VALIDATION
from activities.errors import as_application_errors, hold_while_paused
from activities.ledger import connected_port
from adapters.ledger import Customer, Estimate, Invoice, InvoiceDraft, InvoiceStatus, LedgerPort, TimeEntry
from workflows.invoice_guardrails import OpenInvoice, SettledInvoice

if TYPE_CHECKING:
    from activities.policy import PolicyActivities

# The payment history a credit review weighs: the customer's most recent paid invoices.
HISTORY_INVOICES = 24
DEFAULT_INVOICES_OVER = Decimal("5000")


class FetchEstimateInput(BaseModel):
    ledger: str
    tenant: str
    estimate_id: str


class CustomerBooks(BaseModel):
    """The customer and its books as the ledger has them now: open invoices and recent payment history."""

    customer: Customer
    open_invoices: list[OpenInvoice] = Field(default_factory=list)
    settled: list[SettledInvoice] = Field(default_factory=list)
    # The policy's approval threshold for new invoices (`[approval] invoices_over`), read with the books.
    invoices_over: Decimal = DEFAULT_INVOICES_OVER


class EstimateSnapshot(BaseModel):
    estimate: Estimate
    books: CustomerBooks


class PostInvoiceInput(BaseModel):
    ledger: str
    tenant: str
    draft: InvoiceDraft
    # `{ledger}:{tenant}:estimate:{id}:invoice`: a retry after a lost answer finds the invoice already posted.
    idempotency_key: str


class FetchTimeInput(BaseModel):
    ledger: str
    tenant: str
    customer_id: str
    first_day: date
    last_day: date
    # Entries of earlier periods handed on to this one (their own period's workflow had closed).
    carried: list[str] = Field(default_factory=list)


class TimeSnapshot(BaseModel):
    """The customer's unbilled entries of the period (and the carried ones still unbilled), and its books."""

    entries: list[TimeEntry]
    books: CustomerBooks


class BillTimeInput(BaseModel):
    ledger: str
    tenant: str
    draft: InvoiceDraft
    time_entry_ids: list[str]
    # `{ledger}:{tenant}:time:{customer}:{period}:invoice`: the invoice and the entries' billing, once.
    idempotency_key: str


def ledger_key(ledger: str, tenant: str) -> str:
    return f"{ledger}/{tenant}"


class InvoicingActivities:
    """Holds the connected ledgers (keyed `ledger/tenant`) and the policy; built once per worker."""

    def __init__(self, ledgers: Mapping[str, LedgerPort], policy: PolicyActivities | None = None,
                 outbound_paused: Callable[[], bool] | None = None) -> None:
        self.ledgers = ledgers
        self.policy = policy
        self.outbound_paused = outbound_paused or (lambda: False)

    def port(self, ledger: str, tenant: str) -> LedgerPort:
        return connected_port(self.ledgers, ledger, tenant)

    @activity.defn
    def fetch_estimate(self, request: FetchEstimateInput) -> EstimateSnapshot:
        """The estimate as the ledger has it now and its customer's books; a webhook is never trusted for figures."""
        port = self.port(request.ledger, request.tenant)
        with as_application_errors():
            estimate = port.get_estimate(request.estimate_id)
            books = self._books(port, estimate.customer_id)
        return EstimateSnapshot(estimate=estimate, books=books)

    def _books(self, port: LedgerPort, customer_id: str) -> CustomerBooks:
        customer = port.get_customer(customer_id)
        open_invoices = [
            OpenInvoice(id=i.id, number=i.number, total=i.total, balance=i.balance, issue_date=i.issue_date,
                        due_date=i.due_date, status=i.status)
            for i in port.list_open_invoices(customer_id) if i.customer_id == customer_id
        ]
        return CustomerBooks(customer=customer, open_invoices=open_invoices, settled=self._settled(port, customer_id),
                             invoices_over=self._invoices_over())

    @staticmethod
    def _settled(port: LedgerPort, customer_id: str) -> list[SettledInvoice]:
        """The customer's latest paid invoices with the day each was paid in full. Only ledgers that list every
        invoice (not just open ones) give a history; the others answer none, and the review says so."""
        list_invoices: Callable[..., list[Invoice]] | None = getattr(port, "list_invoices", None)
        if list_invoices is None:
            return []
        paid = [i for i in list_invoices(customer_id) if i.status == InvoiceStatus.PAID][-HISTORY_INVOICES:]
        settled = []
        for invoice in paid:
            payments = port.list_payments(invoice.id)
            if payments:
                settled.append(SettledInvoice(id=invoice.id, due_date=invoice.due_date,
                                              paid_on=max(payment.date for payment in payments)))
        return settled

    def _invoices_over(self) -> Decimal:
        if self.policy is None:
            return DEFAULT_INVOICES_OVER
        current = self.policy.current()
        return DEFAULT_INVOICES_OVER if current is None else current[0].approval.invoices_over

    @activity.defn
    def fetch_time_entries(self, request: FetchTimeInput) -> TimeSnapshot:
        """The customer's unbilled time entries dated in the period, plus the carried ones still unbilled."""
        port = self.port(request.ledger, request.tenant)
        list_entries: Callable[..., list[TimeEntry]] | None = getattr(port, "list_time_entries", None)
        if list_entries is None:
            raise ApplicationError(f"ledger {request.ledger!r} offers no time entries to this worker",
                                   type=LEDGER_VALIDATION, non_retryable=True)
        carried = set(request.carried)
        with as_application_errors():
            entries = [entry for entry in list_entries(request.customer_id, unbilled_only=True)
                       if entry.invoice_id is None and entry.customer_id == request.customer_id
                       and (request.first_day <= entry.date <= request.last_day or entry.id in carried)]
            books = self._books(port, request.customer_id)
        return TimeSnapshot(entries=entries, books=books)

    @activity.defn
    def bill_time_entries(self, request: BillTimeInput) -> Invoice:
        """Creates the approved invoice and marks its entries billed by it, in one write, once per key. Held by
        the kill switch like every posting."""
        hold_while_paused(self.outbound_paused())
        port = self.port(request.ledger, request.tenant)
        bill: Callable[..., Invoice] | None = getattr(port, "bill_time_entries", None)
        if bill is None:
            raise ApplicationError(f"ledger {request.ledger!r} cannot bill time entries from this worker",
                                   type=LEDGER_VALIDATION, non_retryable=True)
        with as_application_errors():
            return bill(request.draft, request.time_entry_ids, idempotency_key=request.idempotency_key)

    @activity.defn
    def post_invoice(self, request: PostInvoiceInput) -> Invoice:
        """Creates the approved invoice in the ledger, once per key. A ledger write on a customer's account: the
        kill switch holds it until `duecourse resume`."""
        hold_while_paused(self.outbound_paused())
        port = self.port(request.ledger, request.tenant)
        with as_application_errors():
            return port.create_invoice(request.draft, idempotency_key=request.idempotency_key)
