"""Invoicing activities: read what an invoice is made from (an estimate, its customer, the customer's books)
and post the invoice. Thin: every decision is the quote-to-invoice workflow's, every rule in
`workflows/invoicing.py` and `workflows/invoice_guardrails.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.error_types import LEDGER_NOT_CONNECTED, OUTBOUND_PAUSED
from activities.errors import as_application_errors
from adapters.ledger import Customer, Estimate, Invoice, InvoiceDraft, InvoiceStatus, LedgerPort
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
        try:
            return self.ledgers[ledger_key(ledger, tenant)]
        except KeyError:
            raise ApplicationError(
                f"no connection to ledger {ledger!r} tenant {tenant!r} on this worker", type=LEDGER_NOT_CONNECTED
            ) from None

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
    def post_invoice(self, request: PostInvoiceInput) -> Invoice:
        """Creates the approved invoice in the ledger, once per key. A ledger write on a customer's account: the
        kill switch holds it until `duecourse resume`."""
        if self.outbound_paused():
            raise ApplicationError("outbound actions are paused (kill switch); `duecourse resume` releases them",
                                   type=OUTBOUND_PAUSED, next_retry_delay=timedelta(seconds=5))
        port = self.port(request.ledger, request.tenant)
        with as_application_errors():
            return port.create_invoice(request.draft, idempotency_key=request.idempotency_key)
