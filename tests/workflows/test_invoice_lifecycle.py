"""InvoiceLifecycle on Temporal's time-skipping test server: whole invoice lives, watched day by day.

The adapters are real (the sandbox ledger and the store on SQLite files in tmp_path, the template
drafter); only the mailer is a fake, one that keeps what it is given. The days each reminder should go
out are worked out here from the ladder's published offsets with the `holidays` calendar, not by calling
`workflows.dunning`, so a wrong ladder or calendar fails these tests.

Time moves only when a test says so (`env.sleep`), a day at a time, landing at noon UTC; the ladder
sends at 09:00 customer-local (the customers here are in UTC), so each step covers one send window.
Approvals go through the `operator_decision` signal: the time-skipping server has gaps for updates
(sdk-python #826, #675).

The outage test works around two properties of the time-skipping server, explained where they are handled:
its clock stops while a workflow task waits for a worker (`Life.sleep_through_outage`), and it never
gives up on a dead worker's sticky queue (`Life.restartable_worker`).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import holidays
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.messaging import MessagingActivities, SendReminderInput
from adapters.drafting.template import TemplateDrafter
from adapters.ledger import Invoice, LedgerPort, NotFound
from adapters.ledgers.sandbox import SandboxLedger
from adapters.mail import OutgoingMail
from adapters.store import Store
from workers.worker import WORKFLOWS, activity_callables, build_worker, workflow_runner
from workflows import search_attributes as sa
from workflows.calendar import LedgerClock
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.lifecycle_messages import (
    Decision,
    DecisionKind,
    DisputeSignal,
    LedgerEventSignal,
    LifecycleInput,
    LifecycleState,
    PendingApproval,
    ResolveDisputeSignal,
    Stage,
)

# The default ladder as the product describes it: days from the due date, per level.
OFFSETS = {1: -3, 2: 1, 3: 7, 4: 14, 5: 30, 6: 45}
LEVELS = tuple(OFFSETS)
ESCALATE_AFTER = timedelta(days=7)
# The first reminder and every one after the second wait for a person.
APPROVED_REMINDERS = (1, 3, 4, 5, 6)
SUBJECT_OPENING = {1: "Payment due soon:", 2: "Second reminder:", 3: "Third reminder:", 4: "Fourth reminder:",
                   5: "Fifth reminder:", 6: "Final notice (sixth reminder):"}

US_HOLIDAYS = holidays.country_holidays("US")  # grows to each year it is asked about
NOON = time(12)
LEAD_DAYS = 10  # the workflow starts this many days before the invoice falls due
APPROVER = "ops@test"
BILLING_EMAIL = "ap@contoso.test"
COMPANY = "Northwind Studio"

WORKFLOW_TASK = (EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                 (EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT))
ACTIVITY = (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            (EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
             EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED))
CLOSED = {EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
          EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
          EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED}


def still_open(counts: Counter[int], kind: tuple[int, tuple[int, ...]]) -> int:
    """How many tasks of `kind` (opening event, closing events) a history has started and not finished."""
    opened, closed = kind
    return counts[opened] - sum(counts[event] for event in closed)


# --- the calendar, worked out independently of workflows.dunning ---------------------------------------


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in US_HOLIDAYS


def business_day_from(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def expected_send_days(due: date) -> dict[int, date]:
    """Each level's day: due date + offset, moved forward past weekends and US public holidays."""
    return {level: business_day_from(due + timedelta(days=offset)) for level, offset in OFFSETS.items()}


def pick_due_date(earliest: date) -> date:
    """The first due date from `earliest` whose ladder lands on a weekend and on a weekday public holiday,
    so every life below checks both reasons for moving a reminder."""
    for n in range(400):
        due = earliest + timedelta(days=n)
        raw = [due + timedelta(days=offset) for offset in OFFSETS.values()]
        if any(d.weekday() < 5 and d in US_HOLIDAYS for d in raw) and any(d.weekday() >= 5 for d in raw):
            return due
    raise AssertionError(f"no due date after {earliest} meets a weekday holiday; is the holidays package broken?")


# --- the fake mailer and one invoice's life ----------------------------------------------------------------


class RecordingMailer:
    """The mailer port, keeping every message instead of handing it to an SMTP server."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self._lock = threading.Lock()  # activities run in the worker's thread pool

    def send(self, mail: OutgoingMail) -> None:
        with self._lock:
            self.sent.append(mail)


class DeletableLedger:
    """The sandbox ledger, plus deleting an invoice, which the sandbox cannot do: a deleted invoice then
    reads as NotFound, as the hosted ledgers answer."""

    def __init__(self, ledger: SandboxLedger) -> None:
        self.ledger = ledger
        self.deleted: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)

    def get_invoice(self, invoice_id: str) -> Invoice:
        if invoice_id in self.deleted:
            raise NotFound(f"invoice {invoice_id!r} not found (deleted)")
        return self.ledger.get_invoice(invoice_id)


@dataclass
class Life:
    """One invoice on the time-skipping server, lived as an AR clerk would watch it: a day at a time."""

    env: WorkflowEnvironment
    ledger: SandboxLedger
    store: Store
    mailer: RecordingMailer
    task_queue: str = field(default_factory=lambda: f"lifecycle-{uuid.uuid4().hex[:8]}")
    invoice: Invoice | None = None
    handle: WorkflowHandle[InvoiceLifecycle, LifecycleState] | None = None
    mail_days: list[date] = field(default_factory=list)  # the day each message in mailer.sent went out
    approved: list[PendingApproval] = field(default_factory=list)  # every item that awaited a person

    @classmethod
    def in_directory(cls, env: WorkflowEnvironment, directory: Path) -> Life:
        return cls(env=env, ledger=SandboxLedger(directory / "ledger.db", tenant="demo"),
                   store=Store(f"sqlite:///{directory / 'store.db'}"), mailer=RecordingMailer())

    def worker(self, ledger: LedgerPort | None = None) -> Worker:
        return build_worker(self.env.client, task_queue=self.task_queue,
                            ledgers={"sandbox/demo": ledger or self.ledger}, store=self.store, mailer=self.mailer,
                            drafter=TemplateDrafter(), sender="ar@test", strict_sandbox=True)

    def restartable_worker(self) -> Worker:
        """The production worker's workflows, sandbox runner and activities, without a workflow cache.

        A caching worker asks the server to route a workflow's next tasks to its own sticky queue. A real
        server gives up on a dead worker's sticky queue after a few seconds; the time-skipping test server
        never does, so after a restart the workflow would wait forever. Without a cache there is no sticky
        queue, and every workflow task replays the history from the start.
        """
        return Worker(
            self.env.client, task_queue=self.task_queue, workflows=list(WORKFLOWS),
            activities=activity_callables({"sandbox/demo": self.ledger}, self.store, self.mailer, TemplateDrafter(),
                                          "ar@test"),
            activity_executor=ThreadPoolExecutor(max_workers=4), workflow_runner=workflow_runner(strict=True),
            max_cached_workflows=0,
        )

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return (await self.now()).astimezone(UTC).date()

    async def open_invoice(self, amount: str = "1250.00", email: str | None = BILLING_EMAIL) -> date:
        """Puts an invoice for a UTC/US customer in the ledger and moves the clock to noon, LEAD_DAYS before
        its due date (picked by `pick_due_date`). Returns the due date."""
        now = await self.now()
        due = pick_due_date(now.date() + timedelta(days=LEAD_DAYS + 1))
        await self.env.sleep(datetime.combine(due - timedelta(days=LEAD_DAYS), NOON, tzinfo=UTC) - now)
        customer = self.ledger.add_customer("Contoso Ltd", email=email, time_zone="UTC", country="US")
        self.invoice = self.ledger.add_invoice(customer.id, Decimal(amount), due_date=due)
        return due

    async def start(self, history_limit: int | None = None) -> WorkflowHandle[InvoiceLifecycle, LifecycleState]:
        """Starts the lifecycle; `history_limit` makes it continue as new whenever a run's history passes it."""
        assert self.invoice is not None
        today = await self.today()
        clock = LedgerClock(epoch_date=today, epoch_instant=datetime.combine(today, time(0), tzinfo=UTC),
                            day_seconds=None)
        self.handle = await self.env.client.start_workflow(
            InvoiceLifecycle.run,
            LifecycleInput(ledger="sandbox", tenant="demo", invoice_id=self.invoice.id, clock=clock,
                           company_name=COMPANY, history_limit=history_limit),
            id=invoice_workflow_id("sandbox", "demo", self.invoice.id),
            task_queue=self.task_queue,
        )
        await self.settle()
        return self.handle

    # --- watching ------------------------------------------------------------------------------------

    def wf(self) -> WorkflowHandle[InvoiceLifecycle, LifecycleState]:
        assert self.handle is not None, "start() the workflow first"
        return self.handle

    async def status(self) -> LifecycleState:
        return await self.wf().query(InvoiceLifecycle.status)

    async def pending(self) -> PendingApproval | None:
        return await self.wf().query(InvoiceLifecycle.pending_approval)

    async def history_counts(self) -> Counter[int]:
        history = await self.wf().fetch_history()
        return Counter(event.event_type for event in history.events)

    async def settle(self, timeout: float = 15.0) -> None:
        """Waits, in real time, until the workflow has acted on everything it was given: no workflow task or
        activity outstanding (or the workflow has closed)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            counts = await self.history_counts()
            if CLOSED & counts.keys():
                break
            open_tasks, open_activities = still_open(counts, WORKFLOW_TASK), still_open(counts, ACTIVITY)
            if open_tasks == 0 and open_activities == 0:
                break
            if asyncio.get_running_loop().time() > deadline:
                state = await self.status()
                raise AssertionError(f"workflow still busy after {timeout}s ({open_tasks} workflow tasks, "
                                     f"{open_activities} activities open); stage {state.stage}: {state.waiting_for}")
            await asyncio.sleep(0.02)
        await self._stamp_mail()

    async def _stamp_mail(self) -> None:
        new = len(self.mailer.sent) - len(self.mail_days)
        if new:
            self.mail_days += [await self.today()] * new

    # --- acting --------------------------------------------------------------------------------------

    async def next_day(self) -> PendingApproval | None:
        """One more day passes; whatever is then awaiting approval is approved, as the ops desk would."""
        await self.env.sleep(timedelta(days=1))
        await self.settle()
        return await self.approve_pending()

    async def live_until(self, done: Callable[[], bool], max_days: int) -> None:
        for _ in range(max_days):
            if done():
                return
            await self.next_day()
        assert done(), f"still not there after {max_days} days"

    async def approve_pending(self) -> PendingApproval | None:
        pending = await self.pending()
        if pending is None:
            return None
        self.approved.append(pending)
        await self.wf().signal(InvoiceLifecycle.operator_decision,
                               Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=pending.item_id))
        await self.settle()
        assert await self.pending() is None, "the approval was not taken"
        return pending

    async def signal_ledger_event(self, event_id: str | None = None, entity: str = "Invoice") -> str:
        event_id = event_id or uuid.uuid4().hex
        await self.wf().signal(InvoiceLifecycle.ledger_event,
                               LedgerEventSignal(event_id=event_id, entity=entity, operation="update"))
        await self.settle()
        return event_id

    async def pay_in_full(self) -> None:
        """Someone records the payment in the ledger, and the ledger's webhook reaches the workflow."""
        assert self.invoice is not None
        self.ledger.pay(self.invoice.id, on=await self.today(), reference="wire")
        await self.wf().signal(InvoiceLifecycle.ledger_event,
                               LedgerEventSignal(event_id=uuid.uuid4().hex, entity="Payment", operation="create"))

    async def sleep_through_outage(self, until: datetime) -> None:
        """Moves the clock to `until` with no worker running, as a real outage would.

        The time-skipping server stops its clock while a workflow task waits for a worker (each scheduled
        task holds a counted lock on time skipping), so a plain `env.sleep` would stall at the first timer
        that fires during the outage. Once that task is waiting, the test lends out its lock for the rest of
        the outage and takes it back before any worker returns, so the counts stay balanced.
        """
        test_service = self.env.client.test_service
        sleeper = asyncio.create_task(self.env.sleep(until - await self.now()))
        while not sleeper.done():
            counts = await self.history_counts()
            if still_open(counts, WORKFLOW_TASK) > 0:
                await test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
                await sleeper
                await test_service.lock_time_skipping(LockTimeSkippingRequest())
                break
            await asyncio.sleep(0.02)
        await sleeper


def noon(day: date) -> datetime:
    return datetime.combine(day, NOON, tzinfo=UTC)


def ladder_record(state: LifecycleState) -> list[tuple[int, str, date, str | None]]:
    return [(r.level, r.outcome, r.at.astimezone(UTC).date(), r.approver) for r in state.reminders]


# --- lives -----------------------------------------------------------------------------------------------


async def test_a_120_day_life_sends_each_level_once_on_its_business_day_escalates_and_closes_when_paid(
    life: Life,
) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    escalation_day = send_days[6] + ESCALATE_AFTER
    stages: dict[date, Stage] = {}
    async with life.worker():
        handle = await life.start()
        for _ in range(120):
            await life.next_day()
            stages[await life.today()] = (await life.status()).stage

        state = await life.status()
        # Six reminders, one per level, each on its business day, in order.
        assert life.mail_days == [send_days[level] for level in LEVELS]
        assert [mail.subject.split(":")[0] + ":" for mail in life.mailer.sent] == [SUBJECT_OPENING[n] for n in LEVELS]
        assert life.invoice is not None
        assert all(life.invoice.number in mail.subject for mail in life.mailer.sent)
        assert {mail.to for mail in life.mailer.sent} == {BILLING_EMAIL}
        assert len({mail.message_id for mail in life.mailer.sent}) == 6
        assert ladder_record(state) == [
            (level, "sent", send_days[level], APPROVER if level in APPROVED_REMINDERS else None) for level in LEVELS
        ]
        assert state.reminders_sent == 6
        # A person was asked for reminders 1, 3, 4, 5 and 6, on their days; never for the second.
        assert [(p.level, p.reminder_number, p.requested_at.astimezone(UTC).date()) for p in life.approved] == [
            (number, number, send_days[number]) for number in APPROVED_REMINDERS
        ]
        # Escalated from the seventh day after the last level, and not before.
        assert min(day for day, stage in stages.items() if stage == Stage.ESCALATED) == escalation_day
        assert all(stage == Stage.ESCALATED for day, stage in stages.items() if day >= escalation_day)
        assert state.stage == Stage.ESCALATED and state.escalated
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(sa.DUNNING_LEVEL) == 6
        assert attributes.get(sa.STAGE) == Stage.ESCALATED.value
        assert attributes.get(sa.AWAITING_APPROVAL) is False
        assert len(life.store.list_outbox()) == 6

        await life.pay_in_full()
        result = await handle.result()

    assert result.stage == Stage.CLOSED
    assert result.closed_reason == "paid in full"
    assert len(life.mailer.sent) == 6


async def test_a_payment_after_the_second_reminder_stops_dunning(life: Life) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=LEAD_DAYS + 10)
        assert life.mail_days == [send_days[1], send_days[2]]

        await life.pay_in_full()
        result = await handle.result()
        assert result.stage == Stage.CLOSED
        assert result.closed_reason == "paid in full"
        assert [r.level for r in result.reminders] == [1, 2]

        await life.env.sleep(timedelta(days=60))
        await life.settle()
    assert len(life.mailer.sent) == 2
    assert len(life.store.list_outbox()) == 2


async def test_a_dispute_pauses_dunning_and_its_resolution_sends_only_the_highest_level_due(life: Life) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)

        await handle.signal(InvoiceLifecycle.dispute, DisputeSignal(reason="hours billed twice", opened_by="customer"))
        await life.settle()
        assert (await life.status()).stage == Stage.PAUSED
        for _ in range(40):
            assert await life.next_day() is None
        state = await life.status()
        assert state.stage == Stage.PAUSED
        assert len(life.mailer.sent) == 1
        assert ladder_record(state) == [(1, "sent", send_days[1], APPROVER)]

        resolved_on = await life.today()
        await handle.signal(InvoiceLifecycle.resolve_dispute, ResolveDisputeSignal(note="credit note issued"))
        await life.settle()
        # At noon inside a business day's send window it goes at once; otherwise at the next window.
        await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=7)
        sent_on = business_day_from(resolved_on)
        top = max(level for level in LEVELS if send_days[level] <= sent_on)
        assert top >= 3, "the test means to skip at least one level"
        assert life.mail_days == [send_days[1], sent_on]
        assert life.mailer.sent[1].subject.startswith(SUBJECT_OPENING[top])
        state = await life.status()
        assert ladder_record(state) == [
            (1, "sent", send_days[1], APPROVER),
            *[(level, "skipped", sent_on, None) for level in range(2, top)],
            (top, "sent", sent_on, None),  # the second reminder sent: no approval needed
        ]
        assert [p.level for p in life.approved] == [1]

        # Nothing more until the next level's day.
        while await life.today() < send_days[top + 1] - timedelta(days=1):
            await life.next_day()
        assert len(life.mailer.sent) == 2


async def test_after_a_worker_outage_only_the_latest_due_level_goes_out_and_only_once(life: Life) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    async with life.restartable_worker():
        await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)
        assert "level 2" in (await life.status()).waiting_for

    # The worker is down from just after reminder 1 until well past levels 2, 3 and 4.
    back_on = business_day_from(send_days[4] + timedelta(days=3))
    assert back_on < send_days[5]
    await life.sleep_through_outage(noon(back_on))
    assert await life.today() == back_on
    assert len(life.mailer.sent) == 1

    async with life.restartable_worker():
        await life.settle()
        assert await life.pending() is None  # it is only the second reminder sent
        assert life.mail_days == [send_days[1], back_on]
        assert life.mailer.sent[1].subject.startswith(SUBJECT_OPENING[4])
        assert ladder_record(await life.status()) == [
            (1, "sent", send_days[1], APPROVER),
            (2, "skipped", back_on, None),
            (3, "skipped", back_on, None),
            (4, "sent", back_on, None),
        ]
        while await life.today() < send_days[5] - timedelta(days=1):
            await life.next_day()

    # Another worker, with nothing cached, replays the whole history: still nothing sent twice.
    async with life.restartable_worker():
        await life.signal_ledger_event()
        assert len((await life.status()).reminders) == 4
    assert len(life.mailer.sent) == 2
    assert sorted(m.idempotency_key.rsplit(":", 1)[1] for m in life.store.list_outbox()) == ["L1", "L4"]


async def test_a_duplicated_ledger_event_refreshes_the_invoice_once(life: Life) -> None:
    await life.open_invoice()
    async with life.worker():
        await life.start()

        async def ledger_reads() -> int:
            history = await life.wf().fetch_history()
            return sum(
                1 for event in history.events
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                and event.activity_task_scheduled_event_attributes.activity_type.name == "fetch_invoice"
            )

        before = await ledger_reads()
        await life.signal_ledger_event("evt-42")
        assert await ledger_reads() == before + 1
        await life.signal_ledger_event("evt-42")
        assert (await life.history_counts())[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED] == 2
        assert await ledger_reads() == before + 1
        state = await life.status()
        assert state.seen_events.count("evt-42") == 1
        assert state.reminders == [] and life.mailer.sent == []


# --- regressions: each of these once looped or mailed a deleted invoice --------------------------------------


async def test_with_no_billing_email_the_collector_takes_over_without_a_draft(life: Life) -> None:
    due = await life.open_invoice(email=None)
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start()
        while await life.today() <= send_days[1]:
            await life.next_day()
        state = await life.status()
        assert state.escalated and state.stage == Stage.ESCALATED
        assert state.approvals_requested == 0 and await life.pending() is None
        assert [(r.level, r.outcome) for r in state.reminders] == [(1, "skipped")]
        assert "no billing email" in (state.reminders[0].reason or "")
        assert life.mailer.sent == []
        assert (await handle.describe()).typed_search_attributes.get(sa.AWAITING_APPROVAL) is False


async def test_an_invoice_deleted_in_the_ledger_gets_no_more_reminders(life: Life) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    ledger = DeletableLedger(life.ledger)
    async with life.worker(ledger):
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)
        assert life.invoice is not None
        ledger.deleted.add(life.invoice.id)  # its webhook has not arrived (yet) when level 2 falls due
        while await life.today() < send_days[2]:
            await life.next_day()
        assert len(life.mailer.sent) == 1
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_a_deletion_announced_while_awaiting_approval_closes_the_workflow(life: Life) -> None:
    await life.open_invoice()
    ledger = DeletableLedger(life.ledger)
    async with life.worker(ledger):
        handle = await life.start()
        while await life.pending() is None:
            await life.env.sleep(timedelta(days=1))
            await life.settle()
        assert life.invoice is not None
        ledger.deleted.add(life.invoice.id)
        await life.signal_ledger_event(entity="Invoice")
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        assert (await life.status()).pending is None


def test_send_reminder_sends_once_per_key_and_holds_everything_while_paused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    mailer = RecordingMailer()
    messaging = MessagingActivities(store, mailer, TemplateDrafter(), sender="ar@test")
    env = ActivityEnvironment()

    def reminder(level: int) -> SendReminderInput:
        return SendReminderInput(
            idempotency_key=f"sandbox:demo:I-2001:reminder:L{level}", workflow_id="invoice:sandbox:demo:I-2001",
            ledger="sandbox", tenant="demo", invoice_id="I-2001", level=level, to=BILLING_EMAIL,
            subject="Reminder: invoice INV-1001", body="Please pay.", drafter="template",
        )

    first = env.run(messaging.send_reminder, reminder(1))
    again = env.run(messaging.send_reminder, reminder(1))
    assert first.already_sent is False
    assert again.already_sent is True
    assert again.message_id == first.message_id
    assert [mail.message_id for mail in mailer.sent] == [first.message_id]
    assert mailer.sent[0].sender == "ar@test" and mailer.sent[0].to == BILLING_EMAIL

    store.set_paused(True, by="ops@test")
    with pytest.raises(ApplicationError) as paused:
        env.run(messaging.send_reminder, reminder(2))
    assert paused.value.type == "OutboundPaused"
    assert len(mailer.sent) == 1
    assert [m.idempotency_key for m in store.list_outbox()] == ["sandbox:demo:I-2001:reminder:L1"]
