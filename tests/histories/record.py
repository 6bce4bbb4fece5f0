"""Records the representative InvoiceLifecycle histories that tests/test_replay.py replays.

Run by hand from the repository root, after a change to the workflow that is meant to be compatible
(a `workflow.patched` branch) has been released, or to add a new shape of life:

    .venv/bin/python -m tests.histories.record

It lives one invoice on the time-skipping test server with the real worker (sandbox ledger, store and
template drafter in a temporary directory, a recording mailer): reminder 1 approved, reminder 2 sent on
its own, a duplicated ledger event, a dispute opened and resolved, reminder 3 approved, then the invoice
paid in the ledger and closed. The history is written as JSON next to this file.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.client import WorkflowHistory

from tests.conftest import start_time_skipping
from tests.test_lifecycle import Life
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import DisputeSignal, ResolveDisputeSignal, Stage

HERE = Path(__file__).resolve().parent
PAID = HERE / "invoice_lifecycle_paid.json"


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


def main() -> None:
    history = asyncio.run(record_paid_life())
    PAID.write_text(history.to_json() + "\n")
    print(f"wrote {PAID}: {len(history.events)} events", file=sys.stderr)


if __name__ == "__main__":
    main()
