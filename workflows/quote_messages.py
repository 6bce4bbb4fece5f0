"""Typed input, state and ids of the quote-to-invoice workflow (light: pydantic and the vocabulary only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal

from pydantic import BaseModel, Field

from adapters.ledger import Invoice, InvoiceDraft, Money
from workflows.calendar import LedgerClock
from workflows.invoice_guardrails import CreditAssessment, Finding

Stage = Literal["assembling", "not_accepted", "credit_review", "declined", "awaiting_approval", "rejected",
                "posting", "posted"]


def estimate_workflow_id(ledger: str, tenant: str, estimate_id: str) -> str:
    """One workflow per estimate: a replayed acceptance finds it, never starts a second."""
    return f"estimate:{ledger}:{tenant}:{estimate_id}"


class QuoteInput(BaseModel):
    ledger: str
    tenant: str
    estimate_id: str
    # The ledger's calendar (demo days on the dev stack): the invoice is issued on the ledger's today.
    clock: LedgerClock = LedgerClock(epoch_date=date(2020, 1, 1),
                                     epoch_instant=datetime.combine(date(2020, 1, 1), time(0), UTC))


class WorkState(BaseModel):
    """What every invoice made from billable work records on its way to the ledger (quote or time)."""

    stage: str = "assembling"
    customer_id: str = ""
    customer_name: str = ""
    draft: InvoiceDraft | None = None
    total: Money | None = None
    findings: list[Finding] = Field(default_factory=list)
    credit: CreditAssessment | None = None
    approval_reason: str | None = None  # why the invoice itself waits for a human (None: it does not)
    credit_decided_by: str | None = None
    invoice_decided_by: str | None = None
    invoice: Invoice | None = None
    note: str = ""
    seen_events: list[str] = Field(default_factory=list)


class QuoteState(WorkState):
    stage: Stage = "assembling"
    estimate_number: str = ""
