"""The polling backstop on the real Temporal dev server: a change no webhook delivered still reaches its
workflow, and polling the same changes again starts nothing new."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import WorkflowExecutionStatus

from adapters.drafting.template import TemplateDrafter
from adapters.ledgers.sandbox import SandboxLedger
from adapters.risk_store import RiskScores
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_invoice_lifecycle import RecordingMailer
from workers.intake import LifecycleDefaults
from workers.worker import build_worker
from workflows import search_attributes as sa
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.ledger_sync import LedgerSync, LedgerSyncInput


async def test_a_missed_webhook_is_caught_and_a_doubled_one_does_nothing(tmp_path: Path) -> None:
    env = await start_dev_server()
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    queue = f"sync-{uuid.uuid4().hex[:8]}"
    try:
        worker = build_worker(env.client, task_queue=queue, ledgers={"sandbox/demo": ledger},
                              store=Store(f"sqlite:///{tmp_path / 'store.db'}"), mailer=RecordingMailer(),
                              drafter=TemplateDrafter(), sender="ar@test",
                              defaults=LifecycleDefaults(task_queue=queue, company_name="Northwind Studio"),
                              strict_sandbox=True)
        async with worker:
            async def poll() -> int:
                result = await env.client.execute_workflow(
                    LedgerSync.run, LedgerSyncInput(ledger="sandbox", tenant="demo"),
                    id=f"sync-{uuid.uuid4().hex}", task_queue=queue)
                return result.routed

            assert await poll() == 0  # the first poll only places the cursor
            customer = ledger.add_customer("Vandelay Industries", email="ap@vandelay.example")
            invoice = ledger.add_invoice(customer.id, Decimal("640.00"), due_date=date.today() + timedelta(days=30))
            # No dispatcher runs: no webhook is ever sent for these events.
            assert await poll() >= 1
            handle = env.client.get_workflow_handle_for(InvoiceLifecycle.run,
                                                        invoice_workflow_id("sandbox", "demo", invoice.id))
            description = await handle.describe()
            assert description.status == WorkflowExecutionStatus.RUNNING
            first_run = description.run_id
            assert await poll() == 0
            ledger.pay(invoice.id, on=date.today())
            assert await poll() >= 1
            assert (await handle.result()).closed_reason == "paid in full"
            assert (await handle.describe()).run_id == first_run
            workflows = [wf async for wf in env.client.list_workflows(f"InvoiceId = '{invoice.id}'")]
            assert len(workflows) == 1
    finally:
        ledger.close()
        await env.shutdown()


async def test_the_sync_refreshes_risk_scores_and_each_lifecycle_carries_its_customers(tmp_path: Path) -> None:
    env = await start_dev_server()
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    queue = f"sync-{uuid.uuid4().hex[:8]}"
    today = date.today()
    try:
        late = ledger.add_customer("Laggard Logistics", email="ap@laggard.example")
        prompt = ledger.add_customer("Punctual Parts", email="ap@punctual.example")
        for n in range(6):  # a history: one pays 45 days after due, the other on the day
            due = today - timedelta(days=400 - 50 * n)
            for who, delay in ((late, 45), (prompt, 0)):
                paid = ledger.add_invoice(who.id, Decimal("500.00"), due_date=due, issue_date=due - timedelta(days=30))
                ledger.pay(paid.id, on=due + timedelta(days=delay))
        worker = build_worker(env.client, task_queue=queue, ledgers={"sandbox/demo": ledger}, store=store,
                              mailer=RecordingMailer(), drafter=TemplateDrafter(), sender="ar@test",
                              defaults=LifecycleDefaults(task_queue=queue, company_name="Northwind Studio"),
                              strict_sandbox=True)
        async with worker:
            async def poll() -> None:
                await env.client.execute_workflow(LedgerSync.run, LedgerSyncInput(ledger="sandbox", tenant="demo"),
                                                  id=f"sync-{uuid.uuid4().hex}", task_queue=queue)

            await poll()  # places the cursor, and scores the customers from their history
            scores = RiskScores(store)
            stored_late, stored_prompt = (scores.get("sandbox", "demo", who.id) for who in (late, prompt))
            assert stored_late is not None and stored_prompt is not None
            assert stored_late.score > 0.7 > 0.3 > stored_prompt.score
            assert any("late" in reason for reason in stored_late.reasons)

            # New invoices: their lifecycles read their customer's score with the invoice.
            open_late = ledger.add_invoice(late.id, Decimal("900.00"), due_date=today + timedelta(days=20))
            open_prompt = ledger.add_invoice(prompt.id, Decimal("900.00"), due_date=today + timedelta(days=20))
            await poll()
            for invoice, expected in ((open_late, stored_late.score), (open_prompt, stored_prompt.score)):
                handle = env.client.get_workflow_handle(invoice_workflow_id("sandbox", "demo", invoice.id))
                for _ in range(100):
                    attributes = (await handle.describe()).typed_search_attributes
                    if attributes.get(sa.RISK_SCORE) is not None:
                        break
                    await asyncio.sleep(0.1)
                assert attributes.get(sa.RISK_SCORE) == expected
            risky = [wf.id async for wf in env.client.list_workflows("RiskScore > 0.7 AND AmountDue > 500")]
            assert risky == [invoice_workflow_id("sandbox", "demo", open_late.id)]
    finally:
        ledger.close()
        await env.shutdown()
