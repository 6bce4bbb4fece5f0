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

from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.invoicing import EstimateSnapshot, FetchEstimateInput, InvoicingActivities, PostInvoiceInput
    from activities.messaging import AuditInput, MessagingActivities
    from adapters.ledger import EstimateStatus, Invoice
    from workflows import search_attributes as sa
    from workflows.approvals import ApprovalInterface, Decision, DecisionKind, DecisionResult, PendingApproval
    from workflows.invoice_guardrails import (
        RULES_VERSION,
        assess_credit,
        currency_findings,
        duplicate_findings,
        line_findings,
        needs_invoice_approval,
        shown,
    )
    from workflows.invoicing import draft_from_estimate, draft_total
    from workflows.lifecycle_messages import LEDGER_EVENT_SIGNAL, LedgerEventSignal
    from workflows.quote_messages import QuoteInput, QuoteState

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# The estimate, its customer, the open invoices and the recent paid ones with their payments.
FETCH_TIMEOUT = timedelta(minutes=5)
POST_TIMEOUT = timedelta(minutes=2)
STORE_TIMEOUT = timedelta(minutes=1)
ItemKind = Literal["credit", "invoice"]


@workflow.defn
class QuoteToInvoice(ApprovalInterface):
    def __init__(self) -> None:
        self.state = QuoteState()
        self._pending: PendingApproval | None = None
        self._decision: Decision | None = None
        self._request: QuoteInput | None = None

    @workflow.signal(name=LEDGER_EVENT_SIGNAL)
    def ledger_event(self, event: LedgerEventSignal) -> None:
        """The estimate changed in the ledger; the figures are read from the ledger, so an event is only noted."""
        if event.event_id not in self.state.seen_events:
            self.state.seen_events = [*self.state.seen_events, event.event_id][-100:]

    @workflow.query
    def status(self) -> QuoteState:
        return self.state

    def _pending_item(self) -> PendingApproval | None:
        return self._pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending, total = self._pending, self.state.total
        if pending is None or total is None or self._decision is not None:
            return f"nothing is awaiting approval on this estimate (stage: {self.state.stage})"
        problem = self._common_problem(decision, pending, total.amount, total.currency)
        if problem:
            return problem
        if decision.decision not in (DecisionKind.APPROVE, DecisionKind.REJECT):
            return (f"a {pending.kind} item is approved or rejected; to change the invoice, change the estimate "
                    "in the ledger")
        return None

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self._pending, self.state.stage)
        self._decision = decision
        return result

    @workflow.run
    async def run(self, request: QuoteInput) -> QuoteState:
        self._request = request
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
        self.state.draft, self.state.total, self.state.findings, self.state.credit = draft, total, findings, credit
        self.state.approval_reason = needs_invoice_approval(total, findings, books.invoices_over)
        self._publish()
        await self._audit("assembled", "invoice assembled from quote",
                          f"{shown(total)}; findings: {[f.reason for f in findings] or 'none'}; credit: "
                          f"{credit.rationale}")
        if credit.needed and not await self._approved("credit", "declined"):
            return
        if self.state.approval_reason and not await self._approved("invoice", "rejected"):
            return
        await self._post(request)

    async def _approved(self, kind: ItemKind, refused: Literal["declined", "rejected"]) -> bool:
        """Ask a human about `kind`; True when approved, else the workflow ends at stage `refused`."""
        decision = await self._ask(kind)
        who = decision.approver
        if kind == "credit":
            self.state.credit_decided_by = who
        else:
            self.state.invoice_decided_by = who
        reason = (decision.reason or "").strip()
        if decision.decision == DecisionKind.APPROVE:
            await self._audit(f"{kind}-approved", f"{kind} approved", reason or "approved", who)
            return True
        self.state.stage = refused
        self.state.note = f"{kind} {refused} by {who}" + (f": {reason}" if reason else "") + "; nothing posted"
        self._publish()
        await self._audit(f"{kind}-{refused}", f"{kind} {refused}", self.state.note, who)
        return False

    async def _ask(self, kind: ItemKind) -> Decision:
        self._pending = self._item(kind)
        self._decision = None
        self.state.stage = "credit_review" if kind == "credit" else "awaiting_approval"
        self._publish()
        await workflow.wait_condition(lambda: self._decision is not None)
        decision = self._decision
        if decision is None:  # the wait above ends only with a decision
            raise ApplicationError("no decision after the wait for one", non_retryable=True)
        self._pending = None
        self._publish()
        return decision

    def _item(self, kind: ItemKind) -> PendingApproval:
        """What the approver sees: the draft's lines and source, every finding, and for credit the rationale."""
        request, draft, total, credit = self._request, self.state.draft, self.state.total, self.state.credit
        if request is None or draft is None or total is None or credit is None:
            raise ApplicationError("an approval item before the invoice was assembled", non_retryable=True)
        why = (f"credit review ({credit.why}): {credit.rationale}" if kind == "credit"
               else f"invoice approval: {self.state.approval_reason}")
        return PendingApproval(
            item_id=f"{request.estimate_id}:{kind}", kind=kind, workflow_id=workflow.info().workflow_id,
            invoice_id="", invoice_number=f"draft from {self.state.estimate_number}",
            customer_id=self.state.customer_id, customer_name=self.state.customer_name, amount=total.amount,
            currency=total.currency, requested_at=workflow.now(), why=why, due_date=draft.due_date,
            suggestion={
                "source": {"estimate_id": request.estimate_id, "estimate_number": self.state.estimate_number},
                "lines": [line.model_dump(mode="json") for line in draft.lines],
                "issue_date": draft.issue_date.isoformat(), "due_date": draft.due_date.isoformat(),
                "total": str(total.amount), "findings": [f.model_dump(mode="json") for f in self.state.findings],
                "credit": credit.model_dump(mode="json"),
            },
        )

    async def _post(self, request: QuoteInput) -> None:
        draft = self.state.draft
        if draft is None:
            raise ApplicationError("posting before the invoice was assembled", non_retryable=True)
        self.state.stage = "posting"
        self._publish()
        invoice: Invoice = await workflow.execute_activity_method(
            InvoicingActivities.post_invoice,
            PostInvoiceInput(ledger=request.ledger, tenant=request.tenant, draft=draft,
                             idempotency_key=f"{request.ledger}:{request.tenant}:estimate:{request.estimate_id}:invoice"),
            start_to_close_timeout=POST_TIMEOUT, retry_policy=RETRY,
        )
        self.state.invoice = invoice
        self.state.stage = "posted"
        self._publish()
        await self._audit("posted", "invoice posted from quote",
                          f"{invoice.number} ({invoice.id}) for {shown(invoice.total)}, due {invoice.due_date}",
                          invoice_id=invoice.id)

    async def _audit(self, step: str, action: str, result: str, approver: str | None = None,
                     invoice_id: str | None = None) -> None:
        request = self._request
        if request is None:
            raise ApplicationError("an audit line before the workflow started", non_retryable=True)
        total = self.state.total
        await workflow.execute_activity_method(
            MessagingActivities.record_audit,
            AuditInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:estimate:{request.estimate_id}:{step}",
                workflow_id=workflow.info().workflow_id, invoice_id=invoice_id, action=action,
                inputs={"estimate_id": request.estimate_id, "customer_id": self.state.customer_id,
                        "total": str(total.amount) if total else None, "currency": total.currency if total else None,
                        "findings": [f.code for f in self.state.findings],
                        "credit": self.state.credit.model_dump(mode="json") if self.state.credit else None},
                rule_version=RULES_VERSION, approver=approver, result=result,
                ledger=request.ledger if invoice_id else None, tenant=request.tenant if invoice_id else None,
            ),
            start_to_close_timeout=STORE_TIMEOUT, retry_policy=RETRY,
        )

    def _publish(self) -> None:
        request = self._request
        if request is None:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.LEDGER.value_set(request.ledger),
            sa.STAGE.value_set(self.state.stage),
            sa.AWAITING_APPROVAL.value_set(self._pending is not None),
        ]
        if self.state.customer_id:
            updates += [sa.CUSTOMER_ID.value_set(self.state.customer_id),
                        sa.CUSTOMER_NAME.value_set(self.state.customer_name)]
        if self.state.total is not None:
            updates.append(sa.AMOUNT_DUE.value_set(float(str(self.state.total.amount))))
        if self.state.draft is not None:
            updates.append(sa.DUE_DATE.value_set(datetime.combine(self.state.draft.due_date, time(0), tzinfo=UTC)))
        # No InvoiceId here: lookups by InvoiceId must find the one lifecycle of the posted invoice.
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        lines = [f"Estimate {self.state.estimate_number or '?'} for {self.state.customer_name or '?'}",
                 f"Stage: {self.state.stage}"]
        if self.state.total is not None:
            lines.append(f"Invoice total: {shown(self.state.total)}")
        lines += [f"Finding: {finding.reason}" for finding in self.state.findings]
        if self.state.credit is not None:
            lines.append(f"Credit: {self.state.credit.rationale}")
        if self.state.invoice is not None:
            lines.append(f"Posted as {self.state.invoice.number} ({self.state.invoice.id})")
        if self.state.note:
            lines.append(self.state.note)
        return "\n\n".join(lines)
