"""TimeBilling on the time-skipping server: a week of time entries waits for the week to end, then becomes one
invoice (a line per entry) that bills the entries in the ledger; a replayed event starts nothing twice.

Decisions go through the `operator_decision` signal: updates have gaps on the time-skipping server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from adapters.ledgers.sandbox import SandboxLedger
from tests.workflows.test_invoice_lifecycle import Life
from workers.intake import LifecycleDefaults, route_event
from workflows.approvals import Decision, DecisionKind
from workflows.invoicing import iso_week
from workflows.time_billing import TimeBilling
from workflows.time_messages import TimeBillingState, time_workflow_id


async def test_a_week_of_time_becomes_one_invoice_after_the_week(time_skipping_env: WorkflowEnvironment,
                                                                  tmp_path: Path) -> None:
    life = Life.in_directory(time_skipping_env, tmp_path)
    ledger: SandboxLedger = life.ledger
    now = await life.now()
    monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    customer = ledger.add_customer("Contoso", email="ap@contoso.example", terms_days=30,
                                   credit_limit=Decimal("10000"))
    other = ledger.add_customer("Tailspin", email="ap@tailspin.example")
    entries = [ledger.add_time_entry(customer.id, "2.5", "120", "Design review", on=monday),
               ledger.add_time_entry(customer.id, "1.25", "99.99", "Call with finance", on=monday + timedelta(days=2)),
               ledger.add_time_entry(customer.id, "8", "120", "Build", on=monday + timedelta(days=6))]
    ledger.add_time_entry(other.id, "1", "50", "Another customer's work", on=monday)
    ledger.add_time_entry(customer.id, "3", "120", "Next week's work", on=monday + timedelta(days=7))
    defaults = LifecycleDefaults(task_queue=life.task_queue, company_name="Northwind Studio")
    ledgers = {"sandbox/demo": ledger}
    week = iso_week(monday)
    workflow_id = time_workflow_id("sandbox", "demo", customer.id, week)

    async with life.worker():
        events = [event for _, event in ledger.pending_events() if event.entity == "TimeEntry"]
        routed = [await route_event(life.env.client, event, defaults, ledgers) for event in events]
        # The same events again (a replayed webhook): they signal the running workflow, start nothing new.
        routed += [await route_event(life.env.client, event, defaults, ledgers) for event in events[:3]]
        assert [r.workflow_id for r in routed[:3]] == [workflow_id] * 3
        assert {r.outcome for r in routed} == {"signalled"}
        handle = life.env.client.get_workflow_handle_for(TimeBilling.run, workflow_id)

        state: TimeBillingState = await handle.query(TimeBilling.status)
        assert state.stage == "collecting"
        assert state.period_ends_at == datetime.combine(monday + timedelta(days=7), datetime.min.time(), UTC)
        assert state.announced == [entry.id for entry in entries]
        assert all(entry.invoice_id is None for entry in ledger.list_time_entries(customer.id))

        # The week ends; a new customer's first invoice waits for a credit review.
        await life.env.sleep(state.period_ends_at - await life.now() + timedelta(hours=1))
        pending = await handle.query(TimeBilling.pending_approval)
        assert pending is not None and pending.kind == "credit"
        assert pending.amount == Decimal("1384.99")  # 300.00 + 124.99 (1.25 x 99.99 = 124.9875) + 960.00
        lines = pending.suggestion["lines"]
        assert [line["description"] for line in lines] == [
            f"{monday.isoformat()} Design review", f"{(monday + timedelta(days=2)).isoformat()} Call with finance",
            f"{(monday + timedelta(days=6)).isoformat()} Build"]
        assert [line["amount"] for line in lines] == ["300.00", "124.99", "960.00"]
        await handle.signal(TimeBilling.operator_decision,
                            Decision(decision=DecisionKind.APPROVE, approver="cfo@northwind.example",
                                     item_id=pending.item_id))
        final = await handle.result()

    assert final.stage == "posted" and final.invoice is not None
    invoice = ledger.get_invoice(final.invoice.id)
    assert invoice.total.amount == Decimal("1384.99") and invoice.customer_id == customer.id
    assert invoice.issue_date == monday + timedelta(days=7)  # issued the day after the week ended
    billed = {entry.id: entry.invoice_id for entry in ledger.list_time_entries(customer.id)}
    assert [billed[entry.id] for entry in entries] == [invoice.id] * 3
    assert sum(1 for invoice_id in billed.values() if invoice_id is None) == 1  # next week's entry waits
    assert ledger.list_time_entries(other.id)[0].invoice_id is None
    assert final.billed == [entry.id for entry in entries]
