"""The Backfill workflow: its pure rules (batches, the call budget, which starts act at once), and on the
real Temporal dev server with the sandbox ledger holding open invoices before any workflow ran: exactly
one lifecycle per open invoice (counted by visibility), a second run starts none and restarts no closed one,
and a batch that fails midway, or a worker that goes away midway, still ends with exactly one each."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from adapters.drafting.template import TemplateDrafter
from adapters.ledger import Invoice, InvoiceStatus, Money
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_invoice_lifecycle import RecordingMailer
from workers.backfill import BackfillActivities, Snapshot, start_backfill
from workers.intake import LifecycleDefaults
from workers.worker import WORKFLOWS, activity_callables, build_worker, workflow_runner
from workflows.backfill import (
    Backfill,
    BackfillInput,
    BackfillSummary,
    CallBudget,
    acting_calls,
    backfill_workflow_id,
    plan_batches,
)
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.lifecycle_messages import LedgerEventSignal, Stage

TODAY = datetime.now(UTC).date()

# --- pure rules ------------------------------------------------------------------------------------------


def _invoice(due: date, status: InvoiceStatus = InvoiceStatus.OPEN) -> Invoice:
    money = Money.of("100.00", "USD")
    return Invoice(id="1", number="INV-1", customer_id="c", customer_name="C", currency="USD", total=money,
                   balance=money, issue_date=due - timedelta(days=30), due_date=due, status=status)


def test_only_an_overdue_or_nearly_due_posted_invoice_acts_at_once() -> None:
    def calls(invoice: Invoice, known: bool = True) -> int:
        return acting_calls(invoice, TODAY, customer_known=known, calls_per_acting_start=3, acting_within_days=7)

    assert calls(_invoice(TODAY - timedelta(days=40))) == 3
    assert calls(_invoice(TODAY + timedelta(days=7))) == 3
    assert calls(_invoice(TODAY + timedelta(days=8))) == 0
    assert calls(_invoice(TODAY - timedelta(days=40), InvoiceStatus.DRAFT)) == 0  # waits to be posted
    assert calls(_invoice(TODAY + timedelta(days=30)), known=False) == 3  # reads invoice and customer itself


def test_batches_hold_at_most_their_size_and_the_calls_the_bucket_holds() -> None:
    entries = [(f"i{n}", 3 if n < 5 else 0) for n in range(12)]
    batches = plan_batches(entries, batch_size=4, max_batch_calls=6)
    assert [b.invoice_ids for b in batches] == [["i0", "i1"], ["i2", "i3"], ["i4", "i5", "i6", "i7"],
                                                ["i8", "i9", "i10", "i11"]]
    assert [b.calls for b in batches] == [6, 6, 3, 0]
    assert [len(b.invoice_ids) for b in plan_batches(entries, batch_size=5, max_batch_calls=None)] == [5, 5, 2]
    assert plan_batches([], batch_size=5, max_batch_calls=None) == []


def test_the_call_budget_waits_only_until_the_bucket_holds_what_a_batch_plans() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    budget = CallBudget.full(per_minute=30, burst=30, now=start)
    assert budget.wait_for(30, start) == timedelta(0)  # a full minute's worth at once
    budget.spend(30, start)
    assert budget.wait_for(0, start) == timedelta(0)  # quiet starts never wait
    assert budget.wait_for(15, start) == timedelta(seconds=30)
    budget.spend(15, start + timedelta(seconds=30))
    # The 15 went at +30 s; at +40 s 5 calls are back, 10 more need 20 s.
    assert budget.wait_for(15, start + timedelta(seconds=40)) == timedelta(seconds=20)
    budget.spend(15, start + timedelta(seconds=60))
    # Over the first minute: 30 + 15 + 15 = 60 calls, the ledger's limit at twice the budget.
    assert budget.wait_for(100, start + timedelta(seconds=60)) == timedelta(minutes=1)  # at most a burst
    # A batch whose lifecycles were all running already spends nothing: the next one need not wait.
    later = start + timedelta(minutes=10)
    assert budget.wait_for(30, later) == timedelta(0)
    budget.spend(0, later)
    assert budget.wait_for(30, later) == timedelta(0)  # refilled, never beyond the burst
    budget.spend(30, later)
    assert budget.wait_for(1, later) == timedelta(seconds=2)


# --- on the dev server -------------------------------------------------------------------------------------


class CountingLedger:
    """The real sandbox ledger, counting the calls it answers; `lagging` invoices are still listed as open
    (a ledger whose listing lags behind a payment)."""

    def __init__(self, ledger: SandboxLedger) -> None:
        self._ledger = ledger
        self.calls: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()  # get_invoice by invoice id
        self.lagging: list[Invoice] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._ledger, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "get_invoice":
                self.reads[args[0]] += 1
            result = target(*args, **kwargs)
            if name == "list_open_invoices":
                listed = {i.id for i in result}
                result = [*result, *(i for i in self.lagging if i.id not in listed)]
            return result

        return call


@dataclass
class Company:
    env: WorkflowEnvironment
    ledger: SandboxLedger
    counting: CountingLedger
    store: Store
    queue: str
    defaults: LifecycleDefaults

    @property
    def client(self) -> Client:
        return self.env.client

    def worker(self, activities: BackfillActivities | None = None) -> Worker:
        ledgers: Any = {"sandbox/demo": self.counting}
        if activities is None:
            return build_worker(self.client, task_queue=self.queue, ledgers=ledgers, store=self.store,
                                mailer=RecordingMailer(), drafter=TemplateDrafter(), sender="ar@test",
                                defaults=self.defaults, strict_sandbox=True)
        return Worker(self.client, task_queue=self.queue, workflows=list(WORKFLOWS),
                      activities=[*activity_callables(ledgers, self.store, RecordingMailer(), TemplateDrafter(),
                                                      "ar@test"), *activities.callables()],
                      activity_executor=ThreadPoolExecutor(max_workers=8), workflow_runner=workflow_runner(strict=True))

    async def backfill(self, **knobs: Any) -> BackfillSummary:
        handle = await start_backfill(self.client, BackfillInput(ledger="sandbox", tenant="demo", **knobs), self.queue)
        summary: BackfillSummary = await asyncio.wait_for(handle.result(), timeout=90)
        return summary

    async def lifecycles(self) -> int:
        return (await self.client.count_workflows("WorkflowType = 'InvoiceLifecycle' AND Ledger = 'sandbox'")).count

    async def lifecycles_settled(self, expected: int) -> int:
        """Visibility is eventually consistent: the count once it reaches `expected` (or after 10 s)."""
        for _ in range(50):
            count = await self.lifecycles()
            if count >= expected:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # and it does not grow past it
        return await self.lifecycles()


@pytest.fixture
async def company(tmp_path: Path) -> AsyncIterator[Company]:
    env = await start_dev_server()
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    queue = f"backfill-{uuid.uuid4().hex[:8]}"
    try:
        yield Company(env, ledger, CountingLedger(ledger), Store(f"sqlite:///{tmp_path / 'store.db'}"), queue,
                      LifecycleDefaults(task_queue=queue, company_name="Northwind Studio"))
    finally:
        ledger.close()
        await env.shutdown()


def open_books(ledger: SandboxLedger, future: int, overdue: int = 0, drafts: int = 0) -> dict[str, list[str]]:
    """Invoices entered in the ledger before duecourse was connected; also one paid and one voided."""
    customers = [ledger.add_customer(f"Customer {n}", email=f"ap{n}@customer{n}.example") for n in range(3)]
    made: dict[str, list[str]] = {"future": [], "overdue": [], "drafts": []}

    def add(kind: str, count: int, due: date, **extra: Any) -> None:
        for n in range(count):
            customer = customers[n % len(customers)]
            made[kind].append(ledger.add_invoice(customer.id, Decimal("120.00") + n, due_date=due, **extra).id)

    add("future", future, TODAY + timedelta(days=30))
    add("overdue", overdue, TODAY - timedelta(days=20))
    add("drafts", drafts, TODAY - timedelta(days=5), as_draft=True)
    paid = ledger.add_invoice(customers[0].id, Decimal("50.00"), due_date=TODAY + timedelta(days=10))
    ledger.pay(paid.id, on=TODAY)
    void = ledger.add_invoice(customers[1].id, Decimal("60.00"), due_date=TODAY + timedelta(days=10))
    ledger.void_invoice(void.id, "test:void")
    return made


async def test_every_open_invoice_gets_one_lifecycle_and_a_second_run_starts_none(company: Company) -> None:
    made = open_books(company.ledger, future=9, overdue=2, drafts=3)
    open_ids = [i for ids in made.values() for i in ids]
    async with company.worker():
        summary = await company.backfill(batch_size=5)
        assert (summary.total, summary.started, summary.already_running, summary.closed) == (14, 14, 0, 0)
        assert (summary.done, summary.batches, summary.phase) == (14, 3, "done")
        assert await company.lifecycles_settled(14) == 14
        # The listing was a handful of paged queries, not a read per invoice: a lifecycle that starts
        # quietly (due later, or a draft) never read the ledger; only the overdue ones re-read to draft.
        assert company.counting.calls["list_open_invoices"] == 1
        assert company.counting.calls["list_customers"] == 1
        assert set(company.counting.reads) <= set(made["overdue"])
        handle = company.client.get_workflow_handle(backfill_workflow_id("sandbox", "demo"))
        assert (await handle.query(Backfill.progress)).line().startswith("14 of 14 invoices (14 started")
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.COMPLETED

        for invoice_id in open_ids:
            lifecycle = company.client.get_workflow_handle(invoice_workflow_id("sandbox", "demo", invoice_id))
            assert (await lifecycle.describe()).status == WorkflowExecutionStatus.RUNNING

        async def stage_of(invoice_id: str) -> Stage:
            lifecycle = company.client.get_workflow_handle(invoice_workflow_id("sandbox", "demo", invoice_id))
            for _ in range(50):
                state = await lifecycle.query(InvoiceLifecycle.status)
                if state.invoice is not None and state.waiting_for:
                    break
                await asyncio.sleep(0.1)
            return state.stage

        assert {await stage_of(i) for i in made["drafts"]} == {Stage.DRAFT}  # never dunned while draft
        assert {await stage_of(i) for i in made["future"]} == {Stage.AWAITING_DUE_DATE}

        # Once finished, a second run may start: it finds every lifecycle running and starts none.
        again = await company.backfill(batch_size=5)
        assert (again.total, again.started, again.already_running, again.closed) == (14, 0, 14, 0)
        assert await company.lifecycles_settled(14) == 14


async def test_a_closed_lifecycle_is_not_started_again(company: Company) -> None:
    made = open_books(company.ledger, future=4)
    async with company.worker():
        assert (await company.backfill()).started == 4
        paid_id = made["future"][0]
        before = company.ledger.get_invoice(paid_id)
        company.ledger.pay(paid_id, on=TODAY)
        lifecycle = company.client.get_workflow_handle_for(InvoiceLifecycle.run,
                                                           invoice_workflow_id("sandbox", "demo", paid_id))
        await lifecycle.signal(InvoiceLifecycle.ledger_event,
                               LedgerEventSignal(event_id="paid-1", entity="Invoice", operation="update"))
        assert (await asyncio.wait_for(lifecycle.result(), 30)).closed_reason == "paid in full"
        # The ledger's listing still shows it open (it lags behind the payment): left closed all the same.
        company.counting.lagging = [before]
        summary = await company.backfill()
        assert (summary.total, summary.started, summary.already_running, summary.closed) == (4, 0, 3, 1)
        runs = [wf async for wf in company.client.list_workflows(f"InvoiceId = '{paid_id}'")]
        assert len(runs) == 1 and runs[0].status == WorkflowExecutionStatus.COMPLETED


class FailingOnce(BackfillActivities):
    """The real activities, with the worker lost once midway through a batch (after `after` starts)."""

    def __init__(self, *args: Any, after: int) -> None:
        super().__init__(*args)
        self.after = after
        self.starts = 0

    async def start_lifecycle(self, ledger: str, tenant: str, snapshot: Snapshot, started_by: str) -> Any:
        outcome = await super().start_lifecycle(ledger, tenant, snapshot, started_by)
        self.starts += 1
        if self.starts == self.after:
            # Started, but the attempt dies before it could heartbeat: the retry finds this lifecycle running.
            raise RuntimeError("worker lost midway through the batch")
        return outcome


async def test_a_batch_failing_midway_still_ends_with_one_lifecycle_each(company: Company) -> None:
    open_books(company.ledger, future=30)
    failing = FailingOnce(company.client, {"sandbox/demo": company.counting}, company.store, company.defaults,
                          after=15)
    async with company.worker(failing):
        summary = await company.backfill(batch_size=25)
    assert (summary.total, summary.started, summary.already_running, summary.closed) == (30, 30, 0, 0)
    # The first batch died in its second chunk of 10 starts (the 15th): its retry went on from the heartbeat
    # after the first chunk, found the starts the lost attempt made running with this run's memo, and
    # counted each started once. 20 + 15 (the retry) + 5 (the second batch).
    assert failing.starts == 40
    assert await company.lifecycles_settled(30) == 30


async def test_a_worker_restarted_midway_goes_on_from_the_next_batch(company: Company) -> None:
    open_books(company.ledger, future=2, overdue=8)
    # Paced for the test: every invoice acts at once (2 calls), 2 per batch, 120 calls a minute with a
    # burst of 4: the first batch goes at once, each later one 2 s after the one before.
    knobs = {"batch_size": 2, "calls_per_minute": 120, "burst_calls": 4, "calls_per_acting_start": 2,
             "acting_within_days": 400}
    handle = await start_backfill(company.client, BackfillInput(ledger="sandbox", tenant="demo", **knobs),
                                  company.queue)
    async with company.worker():
        for _ in range(100):
            progress = await handle.query(Backfill.progress)
            if progress.batches_done >= 2:
                break
            await asyncio.sleep(0.1)
        assert progress.total == 10 and 2 <= progress.batches_done < 5
        assert "of 10 invoices" in progress.line()
    stopped_at = await company.lifecycles()
    assert 4 <= stopped_at < 10
    # The same id while it runs attaches to it instead of starting another.
    attached = await start_backfill(company.client, BackfillInput(ledger="sandbox", tenant="demo"), company.queue)
    assert attached.result_run_id == handle.result_run_id
    async with company.worker():
        summary: BackfillSummary = await asyncio.wait_for(handle.result(), timeout=60)
    assert (summary.total, summary.started, summary.already_running, summary.closed) == (10, 10, 0, 0)
    assert summary.batches == summary.batches_done == 5
    assert await company.lifecycles_settled(10) == 10
