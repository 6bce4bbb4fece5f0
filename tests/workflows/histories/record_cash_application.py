"""Records the CashApplication histories that tests/workflows/test_replay.py replays.

Run by hand from the repository root after a compatible change to the workflow has been released (a
`workflow.patched` branch), or to add a new shape of deposit:

    .venv/bin/python -m tests.workflows.histories.record_cash_application [NAME]

It lives one deposit on the Temporal dev server (updates need it) with the production worker, the sandbox
ledger and the store in a temporary directory, everything delivered through the webhook intake: a customer
with two open invoices, a deposit 5.00 short of the first that the engine leaves for review, a change to
the bank line announced while it awaits the clerk (read again: still unmatched), the clerk's approval (the
`decide` update), the payment applied, the invoice's lifecycle told and the payer's alias learned. The
history is written as JSON next to this file, as NAME.json (default: cash_application_approved.json).

`cash_application_approved_before_recheck.json` is the same deposit recorded with the code from before
`RECHECK_ON_LEDGER_EVENT` (the ledger event was only noted): it replays the unpatched branch.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import WorkflowHistory

from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_cash_application import CLERK, CashDesk
from workflows.approvals import Decision, DecisionKind
from workflows.cash_application import CashApplication
from workflows.lifecycle_messages import LedgerEventSignal

HERE = Path(__file__).resolve().parent


async def record_approved_deposit() -> WorkflowHistory:
    env = await start_dev_server()
    try:
        with tempfile.TemporaryDirectory() as directory:
            desk = CashDesk.in_directory(env, Path(directory))
            customer = desk.ledger.add_customer("Wayne Enterprises", email="ap@wayne.example")
            desk.ledger.add_invoice(customer.id, Decimal("410.00"), due_date=date.today() + timedelta(days=15))
            desk.ledger.add_invoice(customer.id, Decimal("275.25"), due_date=date.today() + timedelta(days=40))
            line = desk.receive("405.00", "WAYNE ENT")
            async with desk.worker():
                await desk.announce()
                handle = desk.deposit(line)
                item = await desk.until_pending(handle)
                # The ledger announces a change to the line (its memo edited, say): read again, still unmatched.
                edited = LedgerEventSignal(event_id="evt-line-edited", entity="BankLine", operation="update")
                await handle.signal(CashApplication.ledger_event, edited)
                await handle.execute_update(CashApplication.decide, Decision(
                    decision=DecisionKind.APPROVE, approver=CLERK, approver_limit=Decimal("50000"),
                    item_id=item.item_id))
                result = await handle.result()
                if result.stage != "applied" or result.applied is None or result.applied.applied != Decimal("405.00"):
                    raise SystemExit(f"unexpected deposit, not recorded: {result}")
                history = await handle.fetch_history()
            desk.close()
    finally:
        await env.shutdown()
    return history


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "cash_application_approved"
    history = asyncio.run(record_approved_deposit())
    path = HERE / f"{name}.json"
    path.write_text(history.to_json() + "\n")
    print(f"wrote {path}: {len(history.events)} events", file=sys.stderr)


if __name__ == "__main__":
    main()
