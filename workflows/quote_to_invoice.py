"""QuoteToInvoice: one workflow per accepted estimate, from the accepted quote to a posted invoice.

Contract
- Started by signal-with-start from the webhook intake when the ledger announces an estimate the customer
  accepted (id `estimate_workflow_id(ledger, tenant, estimate_id)`); a replayed or duplicated event signals
  the running workflow (which drops an event id it has seen) and never starts a second one.
- Reads the estimate and the customer's books (activity), assembles the invoice draft (`workflows.invoicing`:
  lines as accepted, the customer's terms and currency) and runs the guardrails
  (`workflows.invoice_guardrails`: lines add up, currency, probable duplicate, credit).
- Credit review: when the customer is new or over its credit limit after this invoice, a `credit` item with
  the recommendation and its rationale waits for a human. Reject declines: stage `declined`, nothing posted.
- Invoice approval: when the total is over the policy's `[approval] invoices_over` or a guardrail found
  something, an `invoice` item waits for a human. Reject: stage `rejected`, nothing posted.
- Update `decide` (and signal `operator_decision`): approve or reject the pending item (edit and snooze are
  refused: the estimate is changed in the ledger, not here). Query `status` and `pending_approval`.
- Posts with the idempotency key `{ledger}:{tenant}:estimate:{id}:invoice` (a retry never creates two), audits
  every step, and returns the final `QuoteState`. The posted invoice's own ledger event starts its
  InvoiceLifecycle through the intake, which carries it on into dunning.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.invoicing import EstimateSnapshot, FetchEstimateInput, InvoicingActivities, PostInvoiceInput
    from adapters.ledger import EstimateStatus, Invoice
    from workflows.invoice_from_work import RETRY, InvoiceFromWork
    from workflows.invoice_guardrails import (
        assess_credit,
        currency_findings,
        duplicate_findings,
        line_findings,
    )
    from workflows.invoicing import draft_from_estimate, draft_total
    from workflows.lifecycle_messages import LEDGER_EVENT_SIGNAL, LedgerEventSignal
    from workflows.quote_messages import QuoteInput, QuoteState

# The estimate, its customer, the open invoices and the recent paid ones with their payments.
FETCH_TIMEOUT = timedelta(minutes=5)
POST_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class QuoteToInvoice(InvoiceFromWork):
    SOURCE_NOUN = "quote"
    SOURCE_IN_LEDGER = "the estimate"

    def __init__(self) -> None:
        super().__init__()
        self.state: QuoteState = QuoteState()
        self._request: QuoteInput | None = None

    @workflow.signal(name=LEDGER_EVENT_SIGNAL)
    def ledger_event(self, event: LedgerEventSignal) -> None:
        """The estimate changed in the ledger; the figures are read from the ledger, so an event is only noted."""
        if event.event_id not in self.state.seen_events:
            self.state.seen_events = [*self.state.seen_events, event.event_id][-100:]

    @workflow.query
    def status(self) -> QuoteState:
        return self.state

    def _business_key(self) -> str:
        request = self._estimate_request()
        return f"{request.ledger}:{request.tenant}:estimate:{request.estimate_id}"

    def _item_source(self) -> tuple[str, str, dict[str, Any]]:
        request = self._estimate_request()
        return (request.estimate_id, f"draft from {self.state.estimate_number}",
                {"estimate_id": request.estimate_id, "estimate_number": self.state.estimate_number})

    def _audit_source(self) -> dict[str, Any]:
        return {"estimate_id": self._estimate_request().estimate_id}

    def _headline(self) -> str:
        return f"Estimate {self.state.estimate_number or '?'} for {self.state.customer_name or '?'}"

    def _nothing_pending(self) -> str:
        return "on this estimate"

    def _estimate_request(self) -> QuoteInput:
        if self._request is None:
            raise ApplicationError("the estimate is unknown before the workflow started", non_retryable=True)
        return self._request

    @workflow.run
    async def run(self, request: QuoteInput) -> QuoteState:
        self._request = request
        self._ledger, self._tenant = request.ledger, request.tenant
        snapshot: EstimateSnapshot = await workflow.execute_activity_method(
            InvoicingActivities.fetch_estimate,
            FetchEstimateInput(ledger=request.ledger, tenant=request.tenant, estimate_id=request.estimate_id),
            start_to_close_timeout=FETCH_TIMEOUT, retry_policy=RETRY,
        )
        await self._bill(request, snapshot)
        # A decision or a ledger event still in its handler finishes before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _bill(self, request: QuoteInput, snapshot: EstimateSnapshot) -> None:
        """Assemble and check the invoice, ask the humans the rules call for, then post it."""
        estimate, books = snapshot.estimate, snapshot.books
        customer = books.customer
        self.state.customer_id, self.state.customer_name = customer.id, customer.name
        self.state.estimate_number = estimate.number
        if estimate.status not in (EstimateStatus.ACCEPTED, EstimateStatus.CLOSED):
            self.state.stage = "not_accepted"
            self.state.note = f"estimate {estimate.number} is {estimate.status.value}: nothing to invoice"
            self._publish()
            await self._audit("not-accepted", "quote not invoiced", self.state.note)
            return
        today = request.clock.today(workflow.now(), customer.time_zone)
        draft = draft_from_estimate(estimate, customer, today)
        total = draft_total(draft)
        billed = (f"estimate {estimate.number} is already closed in the ledger (billed)"
                  if estimate.status == EstimateStatus.CLOSED else None)
        findings = [*line_findings(draft, estimate.total), *currency_findings(estimate.currency, customer),
                    *duplicate_findings(draft, total, books.open_invoices, billed)]
        credit = assess_credit(customer, total, books.open_invoices, books.settled, today)
        if not await self._assessed(draft, total, findings, credit, books.invoices_over):
            return
        await self._post(request)

    async def _post(self, request: QuoteInput) -> None:
        draft = self._posting()
        invoice: Invoice = await workflow.execute_activity_method(
            InvoicingActivities.post_invoice,
            PostInvoiceInput(ledger=request.ledger, tenant=request.tenant, draft=draft,
                             idempotency_key=f"{request.ledger}:{request.tenant}:estimate:{request.estimate_id}:invoice"),
            start_to_close_timeout=POST_TIMEOUT, retry_policy=RETRY,
        )
        await self._posted(invoice)
