"""InvoiceLifecycle continued as new: a fresh run carries everything the invoice has lived.

`LifecycleInput.history_limit` set low makes the workflow continue as new whenever a run's history passes
it, through the same path a long production history takes. The dunning life runs on the time-skipping
server (long timers; approvals by the `operator_decision` signal); the approval that waits across runs is
decided by the `decide` update on the dev server (the time-skipping server has gaps for updates,
sdk-python #826, #675).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.drafting.template import TemplateDrafter
from adapters.ledger import Invoice
from adapters.ledgers.oauth import ReconsentRequired
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_invoice_lifecycle import (
    APPROVED_REMINDERS,
    APPROVER,
    LEVELS,
    Life,
    RecordingMailer,
    expected_send_days,
    ladder_record,
)
from workers.worker import build_worker
from workflows import search_attributes as sa
from workflows.calendar import LedgerClock
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.lifecycle_messages import (
    Decision,
    DecisionKind,
    LifecycleInput,
    LifecycleState,
    PromiseToPaySignal,
    Stage,
)

# Low enough that a run rarely lives through a whole dunning level, high enough that each run makes progress.
SHORT_HISTORY = 13  # each run records two patch markers before its first ledger read


async def carried_states(client: Client, handle: WorkflowHandle[InvoiceLifecycle, LifecycleState],
                         ) -> list[LifecycleState]:
    """The state each closed run of the chain handed to the next (the input of its continue-as-new)."""
    states: list[LifecycleState] = []
    run_id = handle.first_execution_run_id
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            break
        attributes = last.workflow_execution_continued_as_new_event_attributes
        (carried,) = pydantic_data_converter.payload_converter.from_payloads(attributes.input.payloads,
                                                                             [LifecycleInput])
        assert carried.state is not None
        states.append(carried.state)
        run_id = attributes.new_execution_run_id
    return states


# --- mid-dunning, on the time-skipping server ------------------------------------------------------------


async def test_a_life_continued_as_new_again_and_again_sends_every_level_once_on_its_day(life: Life) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start(history_limit=SHORT_HISTORY)
        await life.live_until(lambda: len(life.mailer.sent) == len(LEVELS), max_days=70)
        state = await life.status()
        carried = await carried_states(life.env.client, handle)

    # Many runs, some of them handing over while a reminder awaited approval, and nothing lost between:
    # each level went out once, on its business day, and a person was asked exactly where the rule says.
    assert state.runs == len(carried) + 1 >= len(LEVELS)
    assert any(s.pending is not None for s in carried) and any(s.pending is None for s in carried)
    assert life.mail_days == [send_days[level] for level in LEVELS]
    assert ladder_record(state) == [
        (level, "sent", send_days[level], APPROVER if level in APPROVED_REMINDERS else None) for level in LEVELS
    ]
    assert [(p.level, p.reminder_number) for p in life.approved] == [(n, n) for n in APPROVED_REMINDERS]
    assert state.approvals_requested == len(APPROVED_REMINDERS)
    assert len({mail.message_id for mail in life.mailer.sent}) == len(LEVELS)
    assert len(life.store.list_outbox()) == len(LEVELS)


async def test_a_promise_and_seen_events_survive_continue_as_new(life: Life) -> None:
    await life.open_invoice()
    async with life.worker():
        handle = await life.start(history_limit=SHORT_HISTORY)
        event_id = await life.signal_ledger_event()
        promised = await life.today() + timedelta(days=40)
        await handle.signal(InvoiceLifecycle.promise_to_pay,
                            PromiseToPaySignal(until=promised, note="paying with the next run", by="customer"))
        await life.settle()
        for _ in range(3):  # each signal grows the history: the runs roll over while the promise holds
            await life.signal_ledger_event()
        await life.signal_ledger_event(event_id)  # a replayed webhook from before the hand-over
        state = await life.status()
        assert state.runs > 1
        assert state.promise_until == promised and state.stage == Stage.PAUSED
        assert state.seen_events.count(event_id) == 1
        for _ in range(20):
            await life.next_day()
        assert life.mailer.sent == []


class RevocableLedger:
    """The sandbox ledger whose connection can lose its consent, as an OAuth ledger's does when the refresh
    token is revoked: every read then asks for a human to connect it again."""

    def __init__(self, ledger: SandboxLedger) -> None:
        self.ledger = ledger
        self.revoked = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)

    def get_invoice(self, invoice_id: str) -> Invoice:
        if self.revoked:
            raise ReconsentRequired("sandbox", "demo", "the refresh token was revoked")
        return self.ledger.get_invoice(invoice_id)


async def test_a_long_wait_for_reconsent_continues_as_new_and_dunning_goes_on_after(life: Life) -> None:
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    ledger = RevocableLedger(life.ledger)
    async with life.worker(ledger):
        handle = await life.start(history_limit=SHORT_HISTORY)
        ledger.revoked = True
        await life.signal_ledger_event()
        for _ in range(3):  # a read an hour, each failing: the runs roll over instead of spinning
            await life.next_day()
        state = await life.status()
        assert state.stage == Stage.PAUSED and "re-consent" in state.waiting_for
        carried = await carried_states(life.env.client, handle)
        # Each run handed over asking the next to read the ledger first; none spun on the failing read.
        assert len(carried) == state.runs - 1 >= 2
        assert all(s.refresh_needed for s in carried)

        ledger.revoked = False
        await life.signal_ledger_event()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=20)
    assert life.mail_days == [send_days[1]]
    assert [(p.level, p.reminder_number) for p in life.approved] == [(1, 1)]


async def test_a_ledger_event_that_changes_nothing_upserts_no_search_attribute(life: Life) -> None:
    await life.open_invoice()
    async with life.worker():
        handle = await life.start()

        async def upserts() -> int:
            return (await life.history_counts())[EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]

        before = await upserts()
        await life.signal_ledger_event()
        assert await upserts() == before
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(sa.STAGE) == Stage.AWAITING_DUE_DATE.value
        assert attributes.get(sa.AWAITING_APPROVAL) is False
        assert attributes.get(sa.AMOUNT_DUE) == 1250.0


# --- awaiting approval, on the dev server --------------------------------------------------------------


@pytest.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


def ten_am_on(day: date) -> LedgerClock:
    """A ledger clock at real speed that reads 10:00 on `day` now: inside the send window of a business day."""
    return LedgerClock(epoch_date=day, epoch_instant=datetime.now(UTC) - timedelta(hours=10), day_seconds=86_400)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_an_approval_awaited_across_continue_as_new_is_the_same_item_and_still_decides(
    dev_server: WorkflowEnvironment, tmp_path: Path,
) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="demo")
    mailbox = RecordingMailer()
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    queue = f"can-{uuid.uuid4().hex[:8]}"
    ledger_day = date(2026, 3, 10)  # a Tuesday: level 1 (three days before the due date) is due today
    customer = ledger.add_customer("Contoso Ltd", email="ap@contoso.test", time_zone="UTC", country="US")
    invoice = ledger.add_invoice(customer.id, Decimal("1250.00"), due_date=ledger_day + timedelta(days=3),
                                 issue_date=ledger_day - timedelta(days=27))
    try:
        async with build_worker(dev_server.client, task_queue=queue, ledgers={"sandbox/demo": ledger}, store=store,
                                mailer=mailbox, drafter=TemplateDrafter(), sender="ar@test", strict_sandbox=True):
            handle = await dev_server.client.start_workflow(
                InvoiceLifecycle.run,
                LifecycleInput(ledger="sandbox", tenant="demo", invoice_id=invoice.id, clock=ten_am_on(ledger_day),
                               history_limit=SHORT_HISTORY),
                id=invoice_workflow_id("sandbox", "demo", invoice.id), task_queue=queue,
            )

            async def awaiting() -> bool:
                pending = await handle.query(InvoiceLifecycle.pending_approval)
                return pending is not None and len(await carried_states(dev_server.client, handle)) >= 1

            await eventually(awaiting)
            pending = await handle.query(InvoiceLifecycle.pending_approval)
            assert pending is not None
            carried = await carried_states(dev_server.client, handle)
            # The run that asked handed the item over as it was: one item, asked once, decided by nobody yet.
            assert [s.pending.item_id for s in carried if s.pending] == [pending.item_id]
            assert (await handle.describe()).typed_search_attributes.get(sa.AWAITING_APPROVAL) is True

            result = await handle.execute_update(
                InvoiceLifecycle.decide,
                Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=pending.item_id),
            )
            assert result.item_id == pending.item_id

            async def sent() -> bool:
                state = await handle.query(InvoiceLifecycle.status)
                return state.reminders_sent == 1 and state.stage != Stage.AWAITING_APPROVAL

            await eventually(sent)
            state = await handle.query(InvoiceLifecycle.status)
    finally:
        ledger.close()

    assert len(mailbox.sent) == 1 and mailbox.sent[0].to == "ap@contoso.test"
    assert [(r.level, r.outcome, r.approver) for r in state.reminders] == [(1, "sent", APPROVER)]
    assert state.approvals_requested == 1 and state.pending is None and state.decision is None
    assert [m.idempotency_key.rsplit(":", 1)[1] for m in store.list_outbox()] == ["L1"]
