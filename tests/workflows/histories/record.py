"""Records the representative InvoiceLifecycle histories that tests/workflows/test_replay.py replays.

Run by hand from the repository root, after a change to the workflow that is meant to be compatible
(a `workflow.patched` branch) has been released, or to add a new shape of life:

    .venv/bin/python -m tests.workflows.histories.record

It lives one invoice on the time-skipping test server with the real worker (sandbox ledger, store and
template drafter in a temporary directory, a recording mailer): reminder 1 approved, reminder 2 sent on
its own, a duplicated ledger event, a dispute opened and resolved, reminder 3 approved, then the invoice
paid in the ledger and closed. The history is written as JSON next to this file.

A recording never replaces an older one: each file is the same life as the code of its day lived it, so
both branches of every `workflow.patched` stay replayed.
- `invoice_lifecycle_paid.json`: before `only-changed-search-attributes-upserted` (all ten search
  attributes upserted on every state change) and `continue-as-new-while-awaiting-approval-or-reconsent`.
- `invoice_lifecycle_paid_changed_upserts.json`: with both (what this script writes).
- `invoice_lifecycle_day_one.json`: with `day-one-collectors-drafts-bounces` (issue 9): the policy read
  before each step, a collector's pause, assignment and note, a promise broken, a delivery status
  notification moving the reminder to the customer's alternate contact, then paid.
- `invoice_lifecycle_audits_behind.json`: the same life with `audit-written-behind-the-life`: the audit log
  written in order behind the life, so a ledger note held by the kill switch does not hold the lifecycle.
- `invoice_lifecycle_resumed_approval.json`: one run of a life forced to continue as new often
  (`history_limit`): the run that began with the first reminder awaiting approval, carried over from the
  run before, and took the approval, sent the reminder and continued as new again.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.conftest import start_time_skipping
from tests.workflows.test_invoice_lifecycle import Life
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import DisputeSignal, LifecycleInput, LifecycleState, ResolveDisputeSignal, Stage

HERE = Path(__file__).resolve().parent
PAID = HERE / "invoice_lifecycle_paid_changed_upserts.json"
RESUMED = HERE / "invoice_lifecycle_resumed_approval.json"
DAY_ONE = HERE / "invoice_lifecycle_day_one.json"
AUDITS_BEHIND = HERE / "invoice_lifecycle_audits_behind.json"


async def record_paid_life() -> WorkflowHistory:
    env = await start_time_skipping()
    try:
        with tempfile.TemporaryDirectory() as directory:
            life = Life.in_directory(env, Path(directory))
            await life.open_invoice()
            async with life.worker():
                handle = await life.start()
                await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=30)
                await life.signal_ledger_event("evt-recorded-1")
                await life.signal_ledger_event("evt-recorded-1")
                await handle.signal(InvoiceLifecycle.dispute, DisputeSignal(reason="wrong PO number"))
                await life.settle()
                await life.next_day()
                await handle.signal(InvoiceLifecycle.resolve_dispute, ResolveDisputeSignal(note="PO corrected"))
                await life.settle()
                await life.live_until(lambda: len(life.mailer.sent) == 3, max_days=30)
                await life.pay_in_full()
                result = await handle.result()
                if result.stage != Stage.CLOSED or [r.level for r in result.reminders] != [1, 2, 3]:
                    raise SystemExit(f"unexpected life, not recorded: {result.stage}, {result.reminders}")
                history = await handle.fetch_history()
            life.ledger.close()
    finally:
        await env.shutdown()
    return history


async def record_day_one_life() -> WorkflowHistory:
    from datetime import timedelta
    from decimal import Decimal

    from workflows.lifecycle_messages import AssignSignal, BouncedSignal, NoteSignal, PauseSignal, PromiseToPaySignal

    env = await start_time_skipping()
    try:
        with tempfile.TemporaryDirectory() as directory:
            life = Life.in_directory(env, Path(directory))
            due = await life.open_invoice()
            assert life.invoice is not None
            customer = life.ledger.add_customer("Fabrikam", email="ap@fabrikam.test", time_zone="UTC", country="US",
                                                alternate_emails=["billing@fabrikam.test"])
            life.invoice = life.ledger.add_invoice(customer.id, Decimal("640.00"), due_date=due)
            async with life.worker():
                handle = await life.start()
                await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=30)
                await handle.signal(InvoiceLifecycle.bounced, BouncedSignal(address="ap@fabrikam.test"))
                await life.settle()
                await handle.signal(InvoiceLifecycle.assign, AssignSignal(collector="sam@test"))
                await handle.signal(InvoiceLifecycle.add_note, NoteSignal(text="called AP", by="sam@test"))
                await handle.signal(InvoiceLifecycle.pause_dunning,
                                    PauseSignal(until=await life.today() + timedelta(days=2), reason="travel"))
                await life.settle()
                for _ in range(3):
                    await life.next_day()
                await handle.signal(InvoiceLifecycle.promise_to_pay,
                                    PromiseToPaySignal(until=await life.today() + timedelta(days=2)))
                await life.settle()
                await life.live_until(lambda: len(life.mailer.sent) == 3, max_days=30)
                await life.pay_in_full()
                result = await handle.result()
                if result.stage != Stage.CLOSED or not result.broken_promises or not result.bad_addresses:
                    raise SystemExit(f"unexpected life, not recorded: {result.stage}, {result.reminders}")
                history = await handle.fetch_history()
            life.ledger.close()
    finally:
        await env.shutdown()
    return history


async def record_resumed_approval() -> WorkflowHistory:
    env = await start_time_skipping()
    try:
        with tempfile.TemporaryDirectory() as directory:
            life = Life.in_directory(env, Path(directory))
            await life.open_invoice()
            async with life.worker():
                handle = await life.start(history_limit=12)
                await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=30)
                await life.next_day()
                history = await first_run_resuming_an_approval(env.client, handle)
            life.ledger.close()
    finally:
        await env.shutdown()
    return history


async def first_run_resuming_an_approval(client: Client, handle: WorkflowHandle[InvoiceLifecycle, LifecycleState],
                                         ) -> WorkflowHistory:
    run_id = handle.first_execution_run_id
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        (request,) = pydantic_data_converter.payload_converter.from_payloads(started.input.payloads,
                                                                             [LifecycleInput])
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            break
        if request.state is not None and request.state.pending is not None:
            return history
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    raise SystemExit("no run resumed an approval, not recorded")


RECORDINGS = {"paid": (PAID, record_paid_life), "resumed": (RESUMED, record_resumed_approval),
              "day-one": (DAY_ONE, record_day_one_life), "audits-behind": (AUDITS_BEHIND, record_day_one_life)}


def main() -> None:
    """`record.py [NAME ...]`: the named recordings (paid, resumed, day-one, audits-behind), each written anew;
    all without names. Name only the new one: the older files are the older code's, and must stay as they are."""
    for name in sys.argv[1:] or RECORDINGS:
        path, recording = RECORDINGS[name]
        history = asyncio.run(recording())
        path.write_text(history.to_json() + "\n")
        print(f"wrote {path}: {len(history.events)} events", file=sys.stderr)


if __name__ == "__main__":
    main()
