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
from adapters.risk import CustomerRisk
from workflows.approvals import Decision, DecisionKind, DecisionResult, PendingApproval
from workflows.calendar import LedgerClock
from workflows.dunning import DunningLadder
from workflows.payment_plans import PaymentPlan


class Stage(StrEnum):
    QUOTE_ACCEPTED = "quote_accepted"  # entry point for estimates; invoicing from quotes is a later issue
    DRAFT = "draft"  # a draft or unapproved invoice in the ledger: never dunned, waits to be posted
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
    # The invoice and customer as a backfill read them from the ledger's paged queries: the first run
    # starts from them instead of reading the ledger again (300 invoices stay 300 fewer API calls).
    initial_invoice: Invoice | None = None
    initial_customer: Customer | None = None


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
    # Issue 12: the dispute is settled by a credit note of this amount, or by writing the balance off. Either
    # becomes a `credit_note` / `write_off` approval item; the dispute stays open until it is posted.
    credit_note: Decimal | None = None
    write_off: bool = False


class CreditResolution(BaseModel):
    """A credit note or write-off proposed to settle a dispute, awaiting (or going through) approval."""

    kind: Literal["credit_note", "write_off"]
    amount: Decimal | None = None  # None: the whole balance (a write-off)
    proposed_by: str
    note: str = ""
    number: int  # the n-th proposal on this invoice: keys its item and its ledger write


class ProposePlanSignal(BaseModel):
    """A collector proposes a payment plan (issue 12): `instalments` parts of the balance, the first on `first`
    (None: `every_days` from the customer's today), then every `every_days`; a `payment_plan` item follows."""

    instalments: int
    every_days: int = 30
    first: date | None = None
    by: str = "operator"
    note: str = ""


class PlanRequest(BaseModel):
    """A proposed plan on its way to a human (the n-th on this invoice: keys its item)."""

    number: int
    instalments: int
    every_days: int
    first: date | None = None
    proposed_by: str
    note: str = ""


class LateFeeRecord(BaseModel):
    """A late fee proposed on this invoice and what became of it (one per invoice: see workflows/fee_policy.py)."""

    number: int
    outcome: Literal["posted", "rejected"]
    amount: Decimal
    currency: str
    as_of: date
    approver: str
    reason: str | None = None
    fee_invoice_id: str | None = None
    fee_invoice_number: str | None = None


class PromiseToPaySignal(BaseModel):
    until: date
    note: str = ""
    by: str = "operator"


class PauseSignal(BaseModel):
    """A collector pauses dunning on this invoice until a date (customer-local, inclusive)."""

    until: date
    reason: str = ""
    by: str = "operator"


class AssignSignal(BaseModel):
    """A collector takes the invoice (an empty `collector` unassigns it)."""

    collector: str
    by: str = "operator"


class NoteSignal(BaseModel):
    """A collector's note: kept in the invoice's story and written back to the ledger as a note."""

    text: str
    by: str = "operator"


class HandBackSignal(BaseModel):
    """A collector hands an escalated or paused invoice back to automation: dunning resumes."""

    by: str = "operator"
    note: str = ""


class BouncedSignal(BaseModel):
    """A delivery status notification said a reminder did not arrive: `address` is bad."""

    address: str
    message_id: str | None = None
    permanent: bool = True
    reason: str = ""


class CollectorNote(BaseModel):
    at: datetime
    by: str
    text: str


class ReminderRecord(BaseModel):
    level: int
    outcome: Literal["sent", "skipped", "rejected", "bounced"]
    at: datetime
    message_id: str | None = None
    approver: str | None = None
    reason: str | None = None
    to: str | None = None
    subject: str | None = None
    body: str | None = None
    drafter: str | None = None


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
    # Collectors in the loop (issue 9).
    paused_until: date | None = None
    pause_reason: str | None = None
    assigned_to: str | None = None
    notes: list[CollectorNote] = Field(default_factory=list)
    broken_promises: list[date] = Field(default_factory=list)
    bad_addresses: list[str] = Field(default_factory=list)
    handed_back: bool = False
    handed_back_on: date | None = None
    escalations: int = 0
    escalation_reason: str | None = None
    notes_written: int = 0
    # Disputes settled by credit (issue 12): the proposal in flight, and the credit notes posted.
    resolution: CreditResolution | None = None
    resolutions: int = 0
    credit_notes: list[str] = Field(default_factory=list)
    settled_by: str | None = None  # "credit note" or "write-off" when that, not a payment, cleared the balance
    # Late fees (issue 12): each proposal's outcome, and the fee invoices posted (reminders mention only these).
    late_fees: list[LateFeeRecord] = Field(default_factory=list)
    fees_posted: list[LateFeeRecord] = Field(default_factory=list)
    # Payment plans (issue 12): the proposal awaiting a human, how many were proposed, the plan approved.
    plan_request: PlanRequest | None = None
    plans_proposed: int = 0
    plan: PaymentPlan | None = None
    # The customer's risk score as the last ledger read found it stored (issue 11); upserted as `RiskScore`.
    risk: CustomerRisk | None = None
    # The digest of the collections policy this lifecycle follows, re-read before every step ("" none yet).
    # The policy itself is not in the state: each run reads it whole once, then shares it (shared_policy).
    policy_digest: str = ""


LifecycleInput.model_rebuild()


__all__ = [
    "AssignSignal",
    "BouncedSignal",
    "CollectorNote",
    "CreditResolution",
    "Decision",
    "DecisionKind",
    "DecisionResult",
    "DisputeSignal",
    "HandBackSignal",
    "LateFeeRecord",
    "LedgerEventSignal",
    "LifecycleInput",
    "LifecycleState",
    "NoteSignal",
    "PauseSignal",
    "PaymentAppliedSignal",
    "PendingApproval",
    "PlanRequest",
    "PromiseToPaySignal",
    "ProposePlanSignal",
    "ReminderRecord",
    "ResolveDisputeSignal",
    "Stage",
]
