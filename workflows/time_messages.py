"""Typed input, state, signal and ids of the time-billing workflow (light: pydantic and the vocabulary only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal

from pydantic import BaseModel, Field

from workflows.calendar import LedgerClock
from workflows.quote_messages import WorkState

TimeStage = Literal["collecting", "assembling", "nothing_to_bill", "credit_review", "declined", "awaiting_approval",
                    "rejected", "posting", "posted"]
TIME_ENTRY_SIGNAL = "time_entry"


def time_workflow_id(ledger: str, tenant: str, customer_id: str, period: str) -> str:
    """One workflow per customer and billing period: every entry of the period (and a replayed event) finds it."""
    return f"time:{ledger}:{tenant}:{customer_id}:{period}"


class TimeBillingInput(BaseModel):
    ledger: str
    tenant: str
    customer_id: str
    period: str  # `YYYY-Www` (weekly) or `YYYY-MM` (monthly): the id's last part
    # The company's zone: the period ends at midnight there (demo clocks ignore zones, one shared calendar).
    time_zone: str = "UTC"
    clock: LedgerClock = LedgerClock(epoch_date=date(2020, 1, 1),
                                     epoch_instant=datetime.combine(date(2020, 1, 1), time(0), UTC))


class TimeEntrySignal(BaseModel):
    """A time entry the ledger announced for this customer and period (or carried over from a closed one)."""

    event_id: str
    time_entry_id: str
    date: date


class BilledRound(BaseModel):
    """One invoice of the period: the entries it billed and what became of it."""

    time_entry_ids: list[str]
    stage: str
    invoice_id: str | None = None


class TimeBillingState(WorkState):
    stage: TimeStage = "collecting"
    period: str = ""
    period_ends_at: datetime | None = None
    announced: list[str] = Field(default_factory=list)  # entry ids signalled, in arrival order
    billed: list[str] = Field(default_factory=list)  # entry ids on an invoice this workflow posted
    rounds: list[BilledRound] = Field(default_factory=list)
