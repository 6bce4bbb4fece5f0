"""What a human decides on: pending approval items and the decisions that answer them.

Shared by every workflow that waits for a person (reminders, payment matches, credit reviews): each one
subclasses `ApprovalInterface`, and the web app, the CLI and chat integrations list items through
`ApprovalInterface.pending_approval` and deliver decisions through `ApprovalInterface.decide`, whatever the
workflow type behind the id.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from adapters.drafting.port import Draft


class DecisionKind(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    SNOOZE = "snooze"


class AllocationChoice(BaseModel):
    invoice_id: str
    amount: Decimal


class Decision(BaseModel):
    decision: DecisionKind
    approver: str
    # The approver's limit as the web app knows it; None when an operator signals from the Temporal CLI/UI.
    approver_limit: Decimal | None = None
    item_id: str | None = None  # when given, must name the item pending now (else the decision is stale)
    text: str | None = None  # edited body
    subject: str | None = None  # edited subject
    reason: str | None = None
    snooze_days: int | None = None
    # Payment matches: the clerk's own pick of invoices (edit), and the customer the payer is.
    allocations: list[AllocationChoice] | None = None
    customer_id: str | None = None


class DecisionResult(BaseModel):
    item_id: str
    decision: DecisionKind
    stage: str
    message: str


# The kinds of item a human decides on (PRODUCT.md, "Approval kinds"); "escalation" is a collector's hand-over.
ApprovalKind = Literal["reminder", "invoice", "credit", "payment_match", "credit_note", "write_off", "late_fee",
                       "payment_plan", "reply", "statement", "escalation"]


class PendingApproval(BaseModel):
    item_id: str
    kind: ApprovalKind = "reminder"
    workflow_id: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    amount: Decimal
    currency: str
    requested_at: datetime
    why: str
    # Reminders
    due_date: date | None = None
    level: int = 0
    reminder_number: int = 0
    to: str = ""
    draft: Draft | None = None
    # Payment matches: the engine's suggestion (allocations, confidence, explanation)
    suggestion: dict[str, Any] | None = None


class ApprovalInterface:
    """The typed approval interface of every workflow that waits for a person.

    The handlers live here, once: the `decide` update (with its validator), the `operator_decision` signal
    for operators in the Temporal CLI/UI, and the `pending_approval` query. A workflow subclasses this and
    supplies three plain methods: the item pending now, what is wrong with a decision (None when nothing),
    and how it takes a valid decision. Callers name the handlers through this class, never by string."""

    @workflow.query
    def pending_approval(self) -> PendingApproval | None:
        """The item awaiting a human, or None."""
        return self._pending_item()

    @workflow.update
    def decide(self, decision: Decision) -> DecisionResult:
        """A human's verdict on the pending item; the validator refuses a stale or unauthorised one."""
        return self._take_decision(decision)

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        problem = self._decision_problem(decision)
        if problem:
            raise ValueError(problem)

    @workflow.signal
    def operator_decision(self, decision: Decision) -> None:
        """The same decision from an operator; one that the update would refuse is logged and ignored."""
        problem = self._decision_problem(decision)
        if problem:
            workflow.logger.warning("operator decision ignored: %s", problem)
            return
        self._take_decision(decision)

    @staticmethod
    def _common_problem(decision: Decision, pending: PendingApproval, amount: Decimal, currency: str) -> str | None:
        """What every workflow refuses: a stale item, a nameless approver, an amount over the approver's limit."""
        if decision.item_id and decision.item_id != pending.item_id:
            return f"stale decision: item {decision.item_id} is no longer pending (pending now: {pending.item_id})"
        if not decision.approver.strip():
            return "unknown approver: a decision must name who made it"
        if decision.approver_limit is not None and amount > decision.approver_limit:
            return f"{currency} {amount} is over {decision.approver}'s approval limit of {decision.approver_limit}"
        return None

    @staticmethod
    def _recorded(decision: Decision, pending: PendingApproval | None, stage: str) -> DecisionResult:
        """The answer to a decision just taken on `pending`."""
        if pending is None:  # the validator and the signal handler refuse a decision with nothing pending
            raise ApplicationError("a decision arrived with nothing awaiting approval", non_retryable=True)
        return DecisionResult(item_id=pending.item_id, decision=decision.decision, stage=stage,
                              message=f"{decision.decision.value} recorded for {pending.item_id}")

    def _pending_item(self) -> PendingApproval | None:
        raise NotImplementedError

    def _decision_problem(self, decision: Decision) -> str | None:
        raise NotImplementedError

    def _take_decision(self, decision: Decision) -> DecisionResult:
        """Record a decision `_decision_problem` found nothing wrong with, and wake the workflow."""
        raise NotImplementedError
