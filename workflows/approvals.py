"""What a human decides on: pending approval items and the decisions that answer them.

Shared by every workflow that waits for a person (reminders, payment matches, credit reviews); the web app
lists items through the `pending_approval` query and delivers decisions as the `decide` update.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

from adapters.drafter import Draft


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


class PendingApproval(BaseModel):
    item_id: str
    kind: Literal["reminder", "invoice", "payment_match", "credit", "escalation"] = "reminder"
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
