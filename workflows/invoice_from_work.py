"""The steps every invoice made from billable work goes through, once for all its sources.

An accepted quote (`QuoteToInvoice`) and a period of time entries (`TimeBilling`) differ in what they read and
how they write the invoice; from the assembled draft on they share the story: guardrail findings and the credit
assessment are recorded and shown, a `credit` item waits for a human when the review is needed, an `invoice`
item when the policy or a finding says so, and the posted invoice is recorded and audited. A subclass supplies
its source: the business key the idempotency keys derive from, what the approver sees of the source, the
headline of the workflow's details and the noun its audit lines use.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import AuditInput, MessagingActivities
    from adapters.ledger import Invoice, InvoiceDraft, Money
    from workflows import search_attributes as sa
    from workflows.approvals import ApprovalInterface, Decision, DecisionKind, DecisionResult, PendingApproval
    from workflows.invoice_guardrails import (
        RULES_VERSION,
        CreditAssessment,
        Finding,
        needs_invoice_approval,
        shown,
    )
    from workflows.quote_messages import WorkState

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
STORE_TIMEOUT = timedelta(minutes=1)
ItemKind = Literal["credit", "invoice"]


class InvoiceFromWork(ApprovalInterface):
    """Shared steps; `state` is the subclass's state (a `WorkState`), `ledger`/`tenant` its request's."""

    state: WorkState
    # "quote", "time entries": what the audit lines say the invoice was made from.
    SOURCE_NOUN = ""
    # What a refused edit is told to change instead ("the estimate", "the time entries").
    SOURCE_IN_LEDGER = ""

    def __init__(self) -> None:
        self._pending: PendingApproval | None = None
        self._decision: Decision | None = None
        self._ledger: str | None = None
        self._tenant = ""

    # --- what a source supplies ------------------------------------------------------------------------

    def _business_key(self) -> str:
        """`{ledger}:{tenant}:<source>`: every idempotency key of this document starts with it."""
        raise NotImplementedError

    def _item_source(self) -> tuple[str, str, dict[str, Any]]:
        """The item id's prefix, the label in the invoice-number column and the `source` shown with the lines."""
        raise NotImplementedError

    def _audit_source(self) -> dict[str, Any]:
        raise NotImplementedError

    def _headline(self) -> str:
        raise NotImplementedError

    def _nothing_pending(self) -> str:
        raise NotImplementedError

    # --- approvals -----------------------------------------------------------------------------------

    def _pending_item(self) -> PendingApproval | None:
        return self._pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending, total = self._pending, self.state.total
        if pending is None or total is None or self._decision is not None:
            return f"nothing is awaiting approval {self._nothing_pending()} (stage: {self.state.stage})"
        problem = self._common_problem(decision, pending, total.amount, total.currency)
        if problem:
            return problem
        if decision.decision not in (DecisionKind.APPROVE, DecisionKind.REJECT):
            return (f"a {pending.kind} item is approved or rejected; to change the invoice, change "
                    f"{self.SOURCE_IN_LEDGER} in the ledger")
        return None

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self._pending, self.state.stage)
        self._decision = decision
        return result

    async def _assessed(self, draft: InvoiceDraft, total: Money, findings: list[Finding], credit: CreditAssessment,
                        invoices_over: Any) -> bool:
        """Record the assembled draft, then ask the humans the rules call for; True when it may be posted."""
        self.state.draft, self.state.total, self.state.findings, self.state.credit = draft, total, findings, credit
        self.state.approval_reason = needs_invoice_approval(total, findings, invoices_over)
        self._publish()
        await self._audit("assembled", f"invoice assembled from {self.SOURCE_NOUN}",
                          f"{shown(total)}; findings: {[f.reason for f in findings] or 'none'}; credit: "
                          f"{credit.rationale}")
        if credit.needed and not await self._approved("credit", "declined"):
            return False
        return not (self.state.approval_reason and not await self._approved("invoice", "rejected"))

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
        draft, total, credit = self.state.draft, self.state.total, self.state.credit
        if self._ledger is None or draft is None or total is None or credit is None:
            raise ApplicationError("an approval item before the invoice was assembled", non_retryable=True)
        prefix, label, source = self._item_source()
        why = (f"credit review ({credit.why}): {credit.rationale}" if kind == "credit"
               else f"invoice approval: {self.state.approval_reason}")
        return PendingApproval(
            item_id=f"{prefix}:{kind}", kind=kind, workflow_id=workflow.info().workflow_id,
            invoice_id="", invoice_number=label,
            customer_id=self.state.customer_id, customer_name=self.state.customer_name, amount=total.amount,
            currency=total.currency, requested_at=workflow.now(), why=why, due_date=draft.due_date,
            suggestion={
                "source": source,
                "lines": [line.model_dump(mode="json") for line in draft.lines],
                "issue_date": draft.issue_date.isoformat(), "due_date": draft.due_date.isoformat(),
                "total": str(total.amount), "findings": [f.model_dump(mode="json") for f in self.state.findings],
                "credit": credit.model_dump(mode="json"),
            },
        )

    # --- posting, audit, visibility ---------------------------------------------------------------------

    def _posting(self) -> InvoiceDraft:
        draft = self.state.draft
        if draft is None:
            raise ApplicationError("posting before the invoice was assembled", non_retryable=True)
        self.state.stage = "posting"
        self._publish()
        return draft

    async def _posted(self, invoice: Invoice) -> None:
        self.state.invoice = invoice
        self.state.stage = "posted"
        self._publish()
        await self._audit("posted", f"invoice posted from {self.SOURCE_NOUN}",
                          f"{invoice.number} ({invoice.id}) for {shown(invoice.total)}, due {invoice.due_date}",
                          invoice_id=invoice.id)

    async def _audit(self, step: str, action: str, result: str, approver: str | None = None,
                     invoice_id: str | None = None) -> None:
        if self._ledger is None:
            raise ApplicationError("an audit line before the workflow started", non_retryable=True)
        total = self.state.total
        await workflow.execute_activity_method(
            MessagingActivities.record_audit,
            AuditInput(
                idempotency_key=f"{self._business_key()}:{step}",
                workflow_id=workflow.info().workflow_id, invoice_id=invoice_id, action=action,
                inputs={**self._audit_source(), "customer_id": self.state.customer_id,
                        "total": str(total.amount) if total else None, "currency": total.currency if total else None,
                        "findings": [f.code for f in self.state.findings],
                        "credit": self.state.credit.model_dump(mode="json") if self.state.credit else None},
                rule_version=RULES_VERSION, approver=approver, result=result,
                ledger=self._ledger if invoice_id else None, tenant=self._tenant if invoice_id else None,
            ),
            start_to_close_timeout=STORE_TIMEOUT, retry_policy=RETRY,
        )

    def _publish(self) -> None:
        if self._ledger is None:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.LEDGER.value_set(self._ledger),
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
        lines = [self._headline(), f"Stage: {self.state.stage}"]
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
