"""A customer's reply that the rules could not act on alone, in front of a person (issue 13).

`ReplyReview` is started by the reply reader (workers/inbound.py), id `reply:<invoice workflow id>:<key>`
(one per reply: a reply delivered twice never makes two items). It holds one `reply` approval item with the
reply and how the rules read it, and takes the `decide` update (or the `operator_decision` signal):
- approve: act on the reading as classified, when it calls for an action (workflows/reply_actions.py);
  otherwise the reply is filed as read;
- edit: act on the person's own reading in `text` ("promise 2027-01-15", "paid", "paid 2027-01-03",
  "dispute <reason>", "out_of_office 2027-01-10");
- reject: nothing to do; the reply is filed.
An action is a signal to the invoice's lifecycle (promise, dispute, pause, ledger re-read); every decision is
written to the audit log. Returns what was done.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import AuditInput, MessagingActivities
    from workflows import search_attributes as sa
    from workflows.approvals import (
        ApprovalInterface,
        Decision,
        DecisionKind,
        DecisionResult,
        PendingApproval,
    )
    from workflows.invoice_lifecycle import InvoiceLifecycle
    from workflows.lifecycle_messages import LedgerEventSignal
    from workflows.reply_actions import ReplyAction, ReplyReading, reading_from_text, reply_action

RULES_VERSION = "reply-actions/1"
RECORDING_TIMEOUT = timedelta(seconds=60)
RECORDING_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
EDIT_FORMS = 'promise YYYY-MM-DD, paid [YYYY-MM-DD], dispute REASON, out_of_office YYYY-MM-DD'


class ReplyReviewInput(BaseModel):
    key: str  # the reply's own key (from its Message-ID): names the item and its audit lines
    invoice_workflow_id: str
    ledger: str
    tenant: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    amount: Decimal
    currency: str
    reading: ReplyReading
    text: str  # the customer's own words (quotes and signature removed), bounded


class ReplyReviewResult(BaseModel):
    decision: DecisionKind
    approver: str
    done: str


@workflow.defn
class ReplyReview(ApprovalInterface):
    def __init__(self) -> None:
        self._request: ReplyReviewInput | None = None
        self._pending: PendingApproval | None = None
        self._decision: Decision | None = None

    @workflow.run
    async def run(self, request: ReplyReviewInput) -> ReplyReviewResult:
        self._request = request
        reading = request.reading
        suggested = reply_action(reading)
        self._pending = PendingApproval(
            item_id=f"{request.invoice_id}:reply:{request.key}", kind="reply",
            workflow_id=workflow.info().workflow_id, invoice_id=request.invoice_id,
            invoice_number=request.invoice_number, customer_id=request.customer_id,
            customer_name=request.customer_name, amount=request.amount, currency=request.currency,
            requested_at=workflow.now(),
            why=f"a reply the rules read as {reading.kind} ({reading.confidence:.2f} sure): a person decides",
            suggestion={"sender": reading.sender, "subject": reading.subject, "text": request.text,
                        "kind": reading.kind, "date": reading.date.isoformat() if reading.date else None,
                        "confidence": reading.confidence, "evidence": reading.evidence,
                        "received": reading.received.isoformat(),
                        "suggested_action": suggested.summary if suggested else None, "edit_forms": EDIT_FORMS},
        )
        workflow.upsert_search_attributes([
            sa.LEDGER.value_set(request.ledger), sa.INVOICE_ID.value_set(request.invoice_id),
            sa.INVOICE_NUMBER.value_set(request.invoice_number), sa.CUSTOMER_ID.value_set(request.customer_id),
            sa.CUSTOMER_NAME.value_set(request.customer_name), sa.AMOUNT_DUE.value_set(float(str(request.amount))),
            sa.STAGE.value_set("awaiting_approval"), sa.AWAITING_APPROVAL.value_set(True),
        ])
        await workflow.wait_condition(lambda: self._decision is not None)
        decision = self._decision
        if decision is None:  # the wait above ends only with a decision
            raise ApplicationError("a reply review woke without a decision", non_retryable=True)
        self._pending = None
        workflow.upsert_search_attributes([sa.AWAITING_APPROVAL.value_set(False), sa.STAGE.value_set("closed")])
        action: ReplyAction | None = None
        if decision.decision == DecisionKind.APPROVE:
            action = suggested
        elif decision.decision == DecisionKind.EDIT:
            edited = reading_from_text(decision.text or "", reading)
            action = reply_action(edited) if edited is not None else None
        done = await self._act(request, action) if action else "filed as read: nothing to do"
        await self._audit(request, decision, done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ReplyReviewResult(decision=decision.decision, approver=decision.approver, done=done)

    async def _act(self, request: ReplyReviewInput, action: ReplyAction) -> str:
        lifecycle: workflow.ExternalWorkflowHandle[InvoiceLifecycle] = workflow.get_external_workflow_handle_for(
            InvoiceLifecycle.run, request.invoice_workflow_id)
        try:
            if action.refresh:
                await lifecycle.signal(InvoiceLifecycle.ledger_event, LedgerEventSignal(
                    event_id=f"reply:{request.key}", entity="Invoice", operation="update"))
            if action.promise is not None:
                await lifecycle.signal(InvoiceLifecycle.promise_to_pay, action.promise)
            if action.dispute is not None:
                await lifecycle.signal(InvoiceLifecycle.dispute, action.dispute)
            if action.pause is not None:
                await lifecycle.signal(InvoiceLifecycle.pause_dunning, action.pause)
        except FailureError as error:
            return f"not done: the invoice's workflow did not take it ({error.message})"
        return action.summary

    async def _audit(self, request: ReplyReviewInput, decision: Decision, done: str) -> None:
        await workflow.execute_activity_method(
            MessagingActivities.record_audit,
            AuditInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:{request.invoice_id}:reply:{request.key}:decided",
                workflow_id=request.invoice_workflow_id, invoice_id=request.invoice_id,
                action=f"reply {decision.decision.value}",
                inputs={"kind": request.reading.kind, "confidence": f"{request.reading.confidence:.2f}",
                        "sender": request.reading.sender, "edit": decision.text or ""},
                rule_version=RULES_VERSION, approver=decision.approver, result=done,
                ledger=request.ledger, tenant=request.tenant,
            ),
            start_to_close_timeout=RECORDING_TIMEOUT, retry_policy=RECORDING_RETRY,
        )

    # --- the approval interface ------------------------------------------------------------------------

    def _pending_item(self) -> PendingApproval | None:
        return self._pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending = self._pending
        if pending is None or self._decision is not None:
            return "nothing is awaiting a decision on this reply"
        problem = self._common_problem(decision, pending, pending.amount, pending.currency)
        if problem:
            return problem
        if decision.decision == DecisionKind.SNOOZE:
            return "a reply is approved, edited (your own reading) or rejected, not snoozed"
        request = self._request
        if decision.decision == DecisionKind.EDIT and (
                request is None or reading_from_text(decision.text or "", request.reading) is None):
            return f"an edit names what the reply says: {EDIT_FORMS}"
        return None

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self._pending, "awaiting_approval")
        self._decision = decision
        return result


__all__ = ["ReplyReview", "ReplyReviewInput", "ReplyReviewResult"]
