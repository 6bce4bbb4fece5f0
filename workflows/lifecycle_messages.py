"""Typed inputs, outputs and messages of the InvoiceLifecycle workflow.

One model per message, so fields can be added (with defaults) without breaking running histories.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from adapters.ledger import Customer, Invoice
from workflows.approvals import Decision, DecisionKind, DecisionResult, PendingApproval
from workflows.calendar import LedgerClock
from workflows.dunning import DunningLadder


class Stage(StrEnum):
    QUOTE_ACCEPTED = "quote_accepted"  # entry point for estimates; invoicing from quotes is a later issue
    AWAITING_DUE_DATE = "awaiting_due_date"
    DUNNING = "dunning"
    AWAITING_APPROVAL = "awaiting_approval"
    PARTIALLY_PAID = "partially_paid"
    PAUSED = "paused"
    ESCALATED = "escalated"
    PAID = "paid"
    VOID = "void"
    CLOSED = "closed"


class LifecycleInput(BaseModel):
    ledger: str
    tenant: str
    invoice_id: str
    clock: LedgerClock
    company_name: str = "duecourse"
    how_to_pay: str = "Pay by bank transfer quoting the invoice number."
    ladder_overrides: dict[str, DunningLadder] = Field(default_factory=dict)
    estimate_id: str | None = None
    # Continue as new once a run's history passes this many events (None: HISTORY_LIMIT of the workflow).
    # Tests set it low to force continue-as-new mid-dunning and while a reminder awaits approval.
    history_limit: int | None = Field(default=None, gt=0)
    # Carried across continue-as-new; None on the first run.
    state: LifecycleState | None = None


# The signal every ledger event is delivered as, to whichever workflow the event concerns; a constant
# because signal-with-start names its first signal by string.
LEDGER_EVENT_SIGNAL = "ledger_event"


class LedgerEventSignal(BaseModel):
    event_id: str
    entity: str
    operation: str
    occurred_at: datetime | None = None


class PaymentAppliedSignal(BaseModel):
    payment_id: str
    amount: Decimal
    currency: str
    source: str = "cash_application"


class DisputeSignal(BaseModel):
    reason: str
    opened_by: str = "operator"


class ResolveDisputeSignal(BaseModel):
    note: str = ""
    by: str = "operator"


class PromiseToPaySignal(BaseModel):
    until: date
    note: str = ""
    by: str = "operator"


class ReminderRecord(BaseModel):
    level: int
    outcome: Literal["sent", "skipped", "rejected"]
    at: datetime
    message_id: str | None = None
    approver: str | None = None
    reason: str | None = None


class LifecycleState(BaseModel):
    stage: Stage = Stage.AWAITING_DUE_DATE
    invoice: Invoice | None = None
    customer: Customer | None = None
    done_levels: list[int] = Field(default_factory=list)
    reminders: list[ReminderRecord] = Field(default_factory=list)
    reminders_sent: int = 0
    pending: PendingApproval | None = None
    approvals_requested: int = 0
    dispute: str | None = None
    promise_until: date | None = None
    snoozed_until: datetime | None = None
    escalated: bool = False
    waiting_for: str = ""
    closed_reason: str | None = None
    seen_events: list[str] = Field(default_factory=list)
    runs: int = 1
    # What a handler recorded and run() has not acted on yet: carried across continue-as-new with the rest.
    decision: Decision | None = None
    refresh_needed: bool = False


LifecycleInput.model_rebuild()


__all__ = [
    "Decision",
    "DecisionKind",
    "DecisionResult",
    "DisputeSignal",
    "LedgerEventSignal",
    "LifecycleInput",
    "LifecycleState",
    "PaymentAppliedSignal",
    "PendingApproval",
    "PromiseToPaySignal",
    "ReminderRecord",
    "ResolveDisputeSignal",
    "Stage",
]
