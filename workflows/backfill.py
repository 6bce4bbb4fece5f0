"""Backfill: every open invoice of a ledger company gets its lifecycle, from the first minute.

Contract
- Started with id `backfill_workflow_id(ledger, tenant)` (`backfill:<ledger>:<tenant>`) by the OAuth callback
  once a company is connected, by `duecourse dev` for the sandbox, and by `duecourse sync --full LEDGER
  TENANT`; a second start while one runs attaches to it (`id_conflict_policy=USE_EXISTING`), a finished one
  may run again. Input `BackfillInput` (ledger, tenant, batch size and pacing knobs with safe defaults).
- One activity lists every open, overdue and draft invoice and the customers through the ledger's paged
  queries (a handful of calls, not one per invoice), keeps each invoice's snapshot in the store keyed by
  this run, and answers with the plan: the invoice ids in batches, each with the ledger calls its
  lifecycles are expected to make at once. Only the ids enter the history (about 40 bytes an invoice, so
  5,000 invoices are 200 KB, well inside the 2 MB payload limit); the snapshots stay out of it.
- Then per batch one activity starts each invoice's `InvoiceLifecycle` with the snapshot as its first read
  (`LifecycleInput.initial_invoice/initial_customer`): no start signal, no ledger call. A running lifecycle
  is left alone ("already running", not signalled), a closed one is not started again ("closed"), an
  invoice no longer open when its batch comes is skipped ("gone").
- Batches are paced by a token bucket over the ledger calls the new lifecycles will make soon (an overdue
  or nearly due invoice re-reads the ledger and writes audit notes before its first reminder; a future-due
  one or a draft makes none), at half the ledger's published per-minute limit, so webhooks, the backstop
  and the running lifecycles keep the other half.
- Progress is durable: every finished batch is in the history and the batch in flight heartbeats after
  each start, so a crash or a worker restart goes on from where it was and never starts a second
  lifecycle (the lifecycle's workflow id is the invoice's). Query `progress` and the current details say
  `N of M`.
- Returns `BackfillSummary`: total, started, already running, closed, gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from adapters.ledger import Invoice, InvoiceStatus

LIST_ACTIVITY = "list_backfill_invoices"
START_ACTIVITY = "start_backfill_batch"
FORGET_ACTIVITY = "forget_backfill_snapshots"

# The listing pages through every open invoice and customer: on Xero (100 a page, 60 calls a minute) five
# thousand invoices take minutes. It heartbeats while it reads, so a lost worker shows within a minute.
LIST_TIMEOUT = timedelta(minutes=30)
LIST_HEARTBEAT = timedelta(minutes=1)
# One batch: a workflow start per invoice (Temporal only, no ledger call), heartbeating after each.
START_TIMEOUT = timedelta(minutes=5)
START_HEARTBEAT = timedelta(seconds=30)
FORGET_TIMEOUT = timedelta(minutes=1)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

# Ledger calls a minute the new lifecycles may spend: half of each ledger's published limit (LEDGER_APIS.md;
# the adapters' client-side limiters hold the whole limit per worker process, this pacing holds it across
# replicas). QuickBooks 500/min per realm; Xero 60/min per tenant; Intacct caps concurrency (2 in base tiers)
# rather than calls a minute, and a call there takes about half a second, so 2 at a time is ~240/min.
# The sandbox has no limit (None: unpaced). A ledger not listed gets the strictest budget.
CALLS_PER_MINUTE: Mapping[str, int | None] = MappingProxyType(
    {"quickbooks": 250, "xero": 30, "intacct": 120, "sandbox": None})
STRICTEST_CALLS_PER_MINUTE = 30
# What one lifecycle of an overdue or nearly due invoice spends at once: the re-read before drafting, an
# audit note for a passed level (or the escalation), and one to spare.
CALLS_PER_ACTING_START = 3
# No level of a ladder comes earlier than this before the due date: an invoice due later waits quietly.
ACTING_WITHIN_DAYS = 7


def backfill_workflow_id(ledger: str, tenant: str) -> str:
    return f"backfill:{ledger}:{tenant}"


class BackfillInput(BaseModel):
    ledger: str
    tenant: str
    batch_size: int = Field(default=50, gt=0, le=500)
    # None: CALLS_PER_MINUTE of the ledger.
    calls_per_minute: int | None = Field(default=None, gt=0)
    # How many calls may go at once after a quiet spell (None: one minute's worth).
    burst_calls: int | None = Field(default=None, gt=0)
    calls_per_acting_start: int = Field(default=CALLS_PER_ACTING_START, ge=0)
    acting_within_days: int = Field(default=ACTING_WITHIN_DAYS, ge=0)


class ListBackfillInput(BaseModel):
    ledger: str
    tenant: str
    snapshot_key: str  # `<workflow id>:<run id>`: where this run's snapshots are kept
    batch_size: int
    max_batch_calls: int | None  # None: unpaced, batches by size only
    calls_per_acting_start: int
    acting_within_days: int


class PlannedBatch(BaseModel):
    invoice_ids: list[str]
    calls: int = 0  # ledger calls its new lifecycles are expected to make at once


class BackfillPlan(BaseModel):
    total: int
    batches: list[PlannedBatch]


class StartBatchInput(BaseModel):
    ledger: str
    tenant: str
    snapshot_key: str
    invoice_ids: list[str]
    calls_per_acting_start: int = CALLS_PER_ACTING_START
    acting_within_days: int = ACTING_WITHIN_DAYS


class BatchOutcome(BaseModel):
    started: int = 0
    already_running: int = 0
    closed: int = 0
    gone: int = 0  # no longer open in the ledger when its batch came
    calls: int = 0  # ledger calls the lifecycles it started are expected to make at once


class BackfillSummary(BaseModel):
    ledger: str
    tenant: str
    phase: Literal["listing", "starting", "pacing", "done"] = "listing"
    total: int | None = None  # None while listing
    done: int = 0
    started: int = 0
    already_running: int = 0
    closed: int = 0
    gone: int = 0
    batches: int = 0
    batches_done: int = 0
    waiting_until: datetime | None = None

    def add(self, outcome: BatchOutcome, size: int) -> None:
        self.done += size
        self.started += outcome.started
        self.already_running += outcome.already_running
        self.closed += outcome.closed
        self.gone += outcome.gone
        self.batches_done += 1

    def line(self) -> str:
        if self.total is None:
            return f"backfill {self.ledger}/{self.tenant}: listing open invoices"
        counts = (f"{self.started} started, {self.already_running} already running, {self.closed} closed"
                  + (f", {self.gone} no longer open" if self.gone else ""))
        pacing = (f"; pacing ledger calls until {self.waiting_until.isoformat(timespec='seconds')}"
                  if self.phase == "pacing" and self.waiting_until else "")
        return f"{self.done} of {self.total} invoices ({counts}){pacing}"


# --- pure rules --------------------------------------------------------------------------------------------


def acting_calls(invoice: Invoice, today: date, *, customer_known: bool, calls_per_acting_start: int,
                 acting_within_days: int) -> int:
    """Ledger calls the invoice's new lifecycle is expected to make at once. A draft waits for posting and
    an invoice due later than any ladder's first level waits for its date: none. One without its customer
    in the listing reads both itself at start."""
    if not customer_known:
        return max(2, calls_per_acting_start)
    if invoice.status == InvoiceStatus.DRAFT or invoice.is_settled:
        return 0
    return calls_per_acting_start if (invoice.due_date - today).days <= acting_within_days else 0


def plan_batches(entries: list[tuple[str, int]], batch_size: int, max_batch_calls: int | None) -> list[PlannedBatch]:
    """Invoices in order, packed into batches of at most `batch_size` and (when paced) at most
    `max_batch_calls` expected calls, so no batch needs more than the bucket ever holds."""
    batches: list[PlannedBatch] = []
    current = PlannedBatch(invoice_ids=[])
    for invoice_id, calls in entries:
        full = len(current.invoice_ids) >= batch_size
        over = max_batch_calls is not None and current.calls + calls > max_batch_calls
        if current.invoice_ids and (full or over):
            batches.append(current)
            current = PlannedBatch(invoice_ids=[])
        current.invoice_ids.append(invoice_id)
        current.calls += calls
    if current.invoice_ids:
        batches.append(current)
    return batches


class CallBudget(BaseModel):
    """A token bucket of ledger calls: `per_minute` refill, at most `burst` held. A batch waits until the
    bucket holds what it plans to spend, and then spends what its starts actually cost (a lifecycle already
    running costs nothing). Deterministic: it is fed `workflow.now()`, so replay computes the same waits.
    Over any minute at most `burst + per_minute` calls go out (the defaults: the ledger's published limit)."""

    per_minute: int
    burst: int
    tokens: float
    at: datetime

    @classmethod
    def full(cls, per_minute: int, burst: int, now: datetime) -> CallBudget:
        return cls(per_minute=per_minute, burst=burst, tokens=float(burst), at=now)

    def _refill(self, now: datetime) -> None:
        if now > self.at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.at).total_seconds() * self.per_minute / 60)
            self.at = now

    def wait_for(self, calls: int, now: datetime) -> timedelta:
        """How long to wait until the bucket holds `calls` (at most a burst's worth)."""
        self._refill(now)
        needed = min(calls, self.burst)
        if needed <= 0 or self.tokens >= needed:
            return timedelta(0)
        return timedelta(seconds=(needed - self.tokens) * 60 / self.per_minute)

    def spend(self, calls: int, now: datetime) -> None:
        self._refill(now)
        self.tokens -= calls


def calls_per_minute_for(request: BackfillInput) -> int | None:
    if request.calls_per_minute is not None:
        return request.calls_per_minute
    return CALLS_PER_MINUTE.get(request.ledger, STRICTEST_CALLS_PER_MINUTE)


# --- the workflow ------------------------------------------------------------------------------------------


@workflow.defn
class Backfill:
    def __init__(self) -> None:
        self._summary: BackfillSummary | None = None

    @workflow.query
    def progress(self) -> BackfillSummary:
        if self._summary is None:
            return BackfillSummary(ledger="", tenant="")
        return self._summary

    @workflow.run
    async def run(self, request: BackfillInput) -> BackfillSummary:
        summary = self._summary = BackfillSummary(ledger=request.ledger, tenant=request.tenant)
        info = workflow.info()
        snapshot_key = f"{info.workflow_id}:{info.run_id}"
        per_minute = calls_per_minute_for(request)
        burst = request.burst_calls or per_minute
        self._show()
        plan: BackfillPlan = await workflow.execute_activity(
            LIST_ACTIVITY,
            ListBackfillInput(ledger=request.ledger, tenant=request.tenant, snapshot_key=snapshot_key,
                              batch_size=request.batch_size,
                              max_batch_calls=max(burst, request.calls_per_acting_start) if burst else None,
                              calls_per_acting_start=request.calls_per_acting_start,
                              acting_within_days=request.acting_within_days),
            result_type=BackfillPlan, start_to_close_timeout=LIST_TIMEOUT, heartbeat_timeout=LIST_HEARTBEAT,
            retry_policy=RETRY,
        )
        summary.total, summary.batches, summary.phase = plan.total, len(plan.batches), "starting"
        budget = CallBudget.full(per_minute, burst, workflow.now()) if per_minute and burst else None
        for batch in plan.batches:
            wait = budget.wait_for(batch.calls, workflow.now()) if budget else timedelta(0)
            if wait > timedelta(0):
                summary.phase, summary.waiting_until = "pacing", workflow.now() + wait
                self._show()
                await workflow.sleep(wait)
            summary.phase, summary.waiting_until = "starting", None
            self._show()
            outcome: BatchOutcome = await workflow.execute_activity(
                START_ACTIVITY,
                StartBatchInput(ledger=request.ledger, tenant=request.tenant, snapshot_key=snapshot_key,
                                invoice_ids=batch.invoice_ids, calls_per_acting_start=request.calls_per_acting_start,
                                acting_within_days=request.acting_within_days),
                result_type=BatchOutcome, start_to_close_timeout=START_TIMEOUT, heartbeat_timeout=START_HEARTBEAT,
                retry_policy=RETRY,
            )
            if budget:
                budget.spend(outcome.calls, workflow.now())
            summary.add(outcome, len(batch.invoice_ids))
        await workflow.execute_activity(FORGET_ACTIVITY, snapshot_key, start_to_close_timeout=FORGET_TIMEOUT,
                                        retry_policy=RETRY)
        summary.phase = "done"
        self._show()
        return summary

    def _show(self) -> None:
        if self._summary is not None:
            workflow.set_current_details(self._summary.line())


__all__ = [
    "Backfill",
    "BackfillInput",
    "BackfillPlan",
    "BackfillSummary",
    "BatchOutcome",
    "CallBudget",
    "ListBackfillInput",
    "PlannedBatch",
    "StartBatchInput",
    "acting_calls",
    "backfill_workflow_id",
    "plan_batches",
]
