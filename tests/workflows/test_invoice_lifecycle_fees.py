"""Issue 12 on the invoice lifecycle: a late fee proposed by the policy and posted once approved; a payment plan
that holds dunning until an instalment is missed.

Same harness as test_invoice_lifecycle.py: the time-skipping server, the real sandbox ledger and store, the
policy file on disk. Expected figures are computed by hand in the tests, not by workflows.late_fees.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.workflows.test_invoice_lifecycle import APPROVER, BILLING_EMAIL, LEAD_DAYS, NOON, Life, pick_due_date
from tests.workflows.test_invoice_lifecycle_credit import COLLECTOR, actions, pending_item
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import Decision, DecisionKind, LedgerEventSignal, ProposePlanSignal, Stage

FEES_POLICY = """\
[approval]
reminders = "none"
[ladders.default]
levels = [{{ days = 1, tone = "friendly" }}, {{ days = 50, tone = "firm" }}]
escalate_after_days = 60
[fees]
kind = "statutory"
jurisdiction = "GB"
after_days = 45
[[fees.rates]]
effective_date = 2000-01-01
rate_percent = 5.25
[[fees.rates]]
effective_date = {later}
rate_percent = 1.00
"""

PLAN_POLICY = """\
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
[approval]
reminders = "none"
[ladders.default]
levels = [{ days = 1, tone = "friendly" }, { days = 7, tone = "firm" }, { days = 14, tone = "firm" }]
"""


async def gb_invoice(life: Life, amount: str) -> date:
    """A UK customer's GBP invoice; the clock at noon LEAD_DAYS before its due date, which is returned."""
    now = await life.now()
    due = pick_due_date(now.date() + timedelta(days=LEAD_DAYS + 1))
    await life.env.sleep(datetime.combine(due - timedelta(days=LEAD_DAYS), NOON, tzinfo=UTC) - now)
    customer = life.ledger.add_customer("Albion Trading Ltd", email=BILLING_EMAIL, time_zone="UTC", country="GB",
                                        currency="GBP")
    life.invoice = life.ledger.add_invoice(customer.id, Decimal(amount), due_date=due)
    return due


async def sleep_until(life: Life, day: date) -> None:
    await life.env.sleep(datetime.combine(day, NOON, tzinfo=UTC) - await life.now())
    await life.settle()


def use_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    monkeypatch.setenv("DUECOURSE_POLICY", str(policy))


async def test_a_gb_invoice_45_days_late_gets_statutory_interest_to_the_penny_posted_once(
        life: Life, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = await life.now()
    # A Bank Rate change after interest starts must not move the rate (SI 2002/1675 art. 4 fixes it per debt).
    later = (now + timedelta(days=LEAD_DAYS + 40)).date()
    use_policy(tmp_path, monkeypatch, FEES_POLICY.format(later=later.isoformat()))
    due = await gb_invoice(life, "1250.00")
    assert later > due
    async with life.worker():
        await life.start()
        await sleep_until(life, due + timedelta(days=44))
        assert await life.pending() is None, "a fee was proposed before the policy's 45 days"
        await sleep_until(life, due + timedelta(days=45))
        item = await pending_item(life, "late_fee")
        # By hand: 1250.00 x (5.25 + 8)% x 45 / 365 = 20.4195... -> 20.42, plus s.5A's £70 (debt £1,000-£9,999.99).
        assert (item.amount, item.currency) == (Decimal("90.42"), "GBP")
        assert item.suggestion is not None
        assert (item.suggestion["interest"], item.suggestion["compensation"]) == ("20.42", "70.00")
        assert (item.suggestion["days_late"], item.suggestion["rate_percent"]) == (45, "13.25")
        assert (await life.status()).stage == Stage.AWAITING_APPROVAL
        # A late fee is approved or rejected, not edited.
        await life.wf().signal(InvoiceLifecycle.operator_decision, Decision(
            decision=DecisionKind.EDIT, approver=APPROVER, item_id=item.item_id, text="less"))
        await asyncio.sleep(0.3)
        assert await life.pending() == item
        await life.wf().signal(InvoiceLifecycle.operator_decision, Decision(
            decision=DecisionKind.APPROVE, approver=APPROVER, item_id=item.item_id))
        await life.settle()
        state = await life.status()
        assert len(state.fees_posted) == 1 and state.fees_posted[0].amount == Decimal("90.42")
        # Level 2 (day 50) is the first reminder after the fee was posted: only it names the fee.
        await sleep_until(life, due + timedelta(days=51))
        state = await life.status()
    assert life.invoice is not None
    fees = [i for i in life.ledger.list_invoices(life.invoice.customer_id) if i.id != life.invoice.id]
    assert [(f.total.amount, f.currency) for f in fees] == [(Decimal("90.42"), "GBP")]
    assert fees[0].number == state.fees_posted[0].fee_invoice_number
    bodies = [mail.body for mail in life.mailer.sent]
    assert len(bodies) == 2
    assert "late payment charge" not in bodies[0].lower()
    assert "GBP 90.42" in bodies[1] and fees[0].number in bodies[1]
    assert actions(life).count("late fee posted") == 1


async def test_a_rejected_late_fee_is_recorded_and_never_proposed_again(
        life: Life, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_policy(tmp_path, monkeypatch, FEES_POLICY.format(later="2001-01-01"))
    due = await gb_invoice(life, "5000.00")
    async with life.worker():
        await life.start()
        await sleep_until(life, due + timedelta(days=45))
        item = await pending_item(life, "late_fee")
        # By hand: 5000 x (1.00 + 8)% x 45 / 365 = 55.4794... -> 55.48, plus £70.
        assert item.amount == Decimal("125.48")
        await life.wf().signal(InvoiceLifecycle.operator_decision, Decision(
            decision=DecisionKind.REJECT, approver=APPROVER, item_id=item.item_id, reason="good customer"))
        await life.settle()
        await sleep_until(life, due + timedelta(days=90))
        state = await life.status()
    assert state.pending is None or state.pending.kind != "late_fee"
    assert [(r.outcome, r.reason) for r in state.late_fees] == [("rejected", "good customer")]
    assert state.fees_posted == []
    assert life.invoice is not None and len(life.ledger.list_invoices(life.invoice.customer_id)) == 1
    assert actions(life).count("late fee proposed") == 1


async def test_a_three_part_plan_holds_dunning_until_a_missed_instalment_resumes_it(
        life: Life, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_policy(tmp_path, monkeypatch, PLAN_POLICY)
    due = await life.open_invoice("900.01")
    async with life.worker():
        handle = await life.start()
        await sleep_until(life, due + timedelta(days=2))
        assert len(life.mailer.sent) == 1  # level 1, day 1
        first = due + timedelta(days=5)
        await handle.signal(InvoiceLifecycle.propose_plan, ProposePlanSignal(
            instalments=3, every_days=10, first=first, by=COLLECTOR))
        item = await pending_item(life, "payment_plan")
        assert item.suggestion is not None
        plan = [(i["due_date"], i["amount"]) for i in item.suggestion["instalments"]]
        # 900.01 / 3 = 300.00 twice and the remaining cent on the last.
        assert plan == [(first.isoformat(), "300.00"), ((first + timedelta(days=10)).isoformat(), "300.00"),
                        ((first + timedelta(days=20)).isoformat(), "300.01")]
        # Maker-checker: the collector who proposed it cannot approve it.
        await handle.signal(InvoiceLifecycle.operator_decision, Decision(
            decision=DecisionKind.APPROVE, approver=COLLECTOR, item_id=item.item_id))
        await asyncio.sleep(0.3)
        assert await life.pending() == item
        await handle.signal(InvoiceLifecycle.operator_decision, Decision(
            decision=DecisionKind.APPROVE, approver=APPROVER, item_id=item.item_id))
        await life.settle()
        assert (await life.status()).stage == Stage.PAUSED

        # The first instalment is paid on time; levels 2 (day 7) and 3 (day 14) are held by the plan.
        await sleep_until(life, due + timedelta(days=4))
        assert life.invoice is not None
        life.ledger.pay(life.invoice.id, Decimal("300.00"), on=await life.today(), reference="instalment 1")
        await handle.signal(InvoiceLifecycle.ledger_event,
                            LedgerEventSignal(event_id="pay-1", entity="Payment", operation="create"))
        await sleep_until(life, first + timedelta(days=10))
        assert len(life.mailer.sent) == 1, "a reminder went out while the plan held"
        state = await life.status()
        assert state.stage == Stage.PAUSED and "instalment 2 of 3" in state.waiting_for

        # Instalment 2 is missed: the day after its date it is a broken promise and dunning resumes.
        await sleep_until(life, first + timedelta(days=11))
        state = await life.status()
    assert state.broken_promises == [first + timedelta(days=10)]
    assert state.plan is not None and (state.plan.status, state.plan.missed) == ("broken", 2)
    assert len(life.mailer.sent) == 2, "dunning did not resume after the missed instalment"
    assert "payment plan broken" in actions(life)
