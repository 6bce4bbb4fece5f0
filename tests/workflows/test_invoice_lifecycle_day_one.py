"""Issue 9 on the invoice lifecycle: drafts wait to be posted, collectors pause, promise, assign, note and
hand back, a bounce moves to the next contact, a held send gives way to a dispute.

Same harness as test_invoice_lifecycle.py: the time-skipping server, the real sandbox ledger and store, the
template drafter, a mailer that keeps what it is given; a day at a time, approving what awaits a person.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal

from temporalio.client import WorkflowExecutionStatus

from tests.workflows.test_invoice_lifecycle import (
    APPROVER,
    BILLING_EMAIL,
    LEAD_DAYS,
    Life,
    expected_send_days,
    noon,
    pick_due_date,
)
from workflows import search_attributes as sa
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import (
    AssignSignal,
    BouncedSignal,
    Decision,
    DecisionKind,
    DisputeSignal,
    HandBackSignal,
    LedgerEventSignal,
    NoteSignal,
    PauseSignal,
    PromiseToPaySignal,
    Stage,
)

ALTERNATE = "billing@contoso.test"


async def open_with_alternate(life: Life, *, as_draft: bool = False) -> date:
    """An invoice for a customer with a second contact, the clock LEAD_DAYS before its due date."""
    now = await life.now()
    due = pick_due_date(now.date() + timedelta(days=LEAD_DAYS + 1))
    await life.env.sleep(noon(due - timedelta(days=LEAD_DAYS)) - now)
    customer = life.ledger.add_customer("Contoso Ltd", email=BILLING_EMAIL, alternate_emails=[ALTERNATE],
                                        time_zone="UTC", country="US")
    life.invoice = life.ledger.add_invoice(customer.id, Decimal("980.00"), due_date=due, as_draft=as_draft)
    return due


def actions(life: Life) -> list[str]:
    assert life.handle is not None
    return [entry.action for entry in life.store.list_audit(workflow_id=life.handle.id)]


async def test_a_draft_is_never_dunned_and_dunning_starts_once_it_is_posted(life: Life) -> None:
    due = await open_with_alternate(life, as_draft=True)
    async with life.worker():
        await life.start()
        assert (await life.status()).stage == Stage.DRAFT
        # Well past the first two levels' days: nothing goes out and nobody is asked.
        for _ in range(LEAD_DAYS + 5):
            assert await life.next_day() is None
        state = await life.status()
        assert state.stage == Stage.DRAFT and "posted" in state.waiting_for
        assert life.mailer.sent == []

        assert life.invoice is not None
        life.ledger.post_invoice(life.invoice.id)
        await life.signal_ledger_event()
        # Catch-up: only the highest level due is drafted; the earlier one is recorded as skipped.
        pending = await life.pending()
        assert pending is not None and pending.level == 2
        await life.approve_pending()
    assert [mail.to for mail in life.mailer.sent] == [BILLING_EMAIL]
    assert life.mail_days[0] >= due + timedelta(days=5)


async def test_a_pause_holds_dunning_until_its_date_then_the_ladder_goes_on(life: Life) -> None:
    due = await open_with_alternate(life)
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)
        until = send_days[3] + timedelta(days=2)
        await handle.signal(InvoiceLifecycle.pause_dunning, PauseSignal(until=until, reason="customer on holiday",
                                                                        by="sam@northwind.test"))
        await life.settle()
        state = await life.status()
        assert state.stage == Stage.PAUSED and "customer on holiday" in state.waiting_for
        assert (await handle.describe()).typed_search_attributes.get(sa.STAGE) == Stage.PAUSED.value
        while await life.today() < until:
            await life.next_day()
            assert len(life.mailer.sent) == 1, "a reminder left during the pause"
        await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=3)
        final = await life.status()
    # Levels 2 and 3 fell in the pause: the next one sent is 3, the highest due, and 2 is skipped.
    assert [(r.level, r.outcome) for r in final.reminders] == [(1, "sent"), (2, "skipped"), (3, "sent")]
    assert "pause ended" in actions(life)


async def test_a_broken_promise_resumes_dunning_and_is_recorded_on_the_customer(life: Life) -> None:
    due = await open_with_alternate(life)
    async with life.worker():
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)
        promised = due + timedelta(days=10)
        await handle.signal(InvoiceLifecycle.promise_to_pay, PromiseToPaySignal(until=promised, by="sam"))
        await life.settle()
        assert (await life.status()).stage == Stage.PAUSED
        while await life.today() < promised:
            await life.next_day()
        assert len(life.mailer.sent) == 1 and (await life.status()).stage == Stage.PAUSED
        await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=3)
        state = await life.status()
    assert state.broken_promises == [promised]
    assert state.promise_until is None
    broken = [entry for entry in life.store.list_audit(workflow_id=handle.id) if entry.action == "promise broken"]
    assert len(broken) == 1 and broken[0].at is not None
    assert life.invoice is not None
    assert broken[0].inputs["customer_id"] == life.invoice.customer_id
    assert broken[0].inputs["promised"] == promised.isoformat()


async def test_assign_note_and_hand_back_after_an_escalation(life: Life) -> None:
    due = await open_with_alternate(life)
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start()
        escalation_day = send_days[6] + timedelta(days=7)
        while await life.today() < escalation_day:
            await life.next_day()
        assert (await life.status()).stage == Stage.ESCALATED

        await handle.signal(InvoiceLifecycle.assign, AssignSignal(collector="sam@northwind.test", by="lead"))
        await handle.signal(InvoiceLifecycle.add_note, NoteSignal(text="Called AP; cheque in the post <b>?</b>",
                                                                  by="sam@northwind.test"))
        await life.settle()
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(sa.COLLECTOR) == "sam@northwind.test"
        assert (await life.status()).assigned_to == "sam@northwind.test"
        assert life.invoice is not None
        assert any("Called AP; cheque in the post <b>?</b>" in note
                   for note in life.ledger.notes("Invoice", life.invoice.id))
        notes = [e for e in life.store.list_audit(workflow_id=handle.id) if e.action == "collector note"]
        assert [(e.approver, e.result) for e in notes] == [("sam@northwind.test", "Called AP; cheque in the post "
                                                                                   "<b>?</b>")]

        await handle.signal(InvoiceLifecycle.hand_back, HandBackSignal(by="sam@northwind.test"))
        await life.settle()
        state = await life.status()
        assert state.stage != Stage.ESCALATED and not state.escalated and state.assigned_to is None
        assert (await handle.describe()).typed_search_attributes.get(sa.COLLECTOR) == ""
        handed_back = await life.today()
        # The automation gets the ladder's grace again, then the invoice goes back to a collector.
        for _ in range(6):
            await life.next_day()
            assert (await life.status()).stage != Stage.ESCALATED
        while (await life.status()).stage != Stage.ESCALATED:
            await life.next_day()
            assert await life.today() <= handed_back + timedelta(days=8)
    assert actions(life).count("escalated to collector") == 2
    assert "handed back to automation" in actions(life)


async def test_a_dsn_for_a_sent_reminder_resends_it_to_the_alternate_then_escalates(life: Life) -> None:
    await open_with_alternate(life)
    async with life.worker():
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)
        first = life.mailer.sent[0]
        assert first.to == BILLING_EMAIL

        await handle.signal(InvoiceLifecycle.bounced, BouncedSignal(address=BILLING_EMAIL.upper(),
                                                                    message_id=first.message_id, reason="5.1.1"))
        await life.settle()
        assert [mail.to for mail in life.mailer.sent] == [BILLING_EMAIL, ALTERNATE]
        assert life.mailer.sent[1].subject == first.subject and life.mailer.sent[1].body == first.body
        state = await life.status()
        assert [(r.level, r.outcome, r.to) for r in state.reminders] == [
            (1, "bounced", BILLING_EMAIL), (1, "sent", ALTERNATE)]
        assert state.reminders_sent == 1

        await handle.signal(InvoiceLifecycle.bounced, BouncedSignal(address=ALTERNATE,
                                                                    message_id=life.mailer.sent[1].message_id))
        await life.settle()
        state = await life.status()
    assert state.stage == Stage.ESCALATED and "every contact of Contoso Ltd bounced" in state.waiting_for
    assert len(life.mailer.sent) == 2
    assert sorted(state.bad_addresses) == sorted([BILLING_EMAIL, ALTERNATE])


async def approve_while_held(life: Life) -> None:
    """Days pass until the first level awaits a person, who approves it; nothing settles, because the kill
    switch holds what the workflow does next (its audit note to the ledger, then the send)."""
    for _ in range(LEAD_DAYS):
        await life.env.sleep(timedelta(days=1))
        await asyncio.sleep(0.3)
        if await life.pending() is not None:
            break
    pending = await life.pending()
    assert pending is not None
    await life.wf().signal(InvoiceLifecycle.operator_decision,
                           Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=pending.item_id))
    await asyncio.sleep(1.0)
    assert life.mailer.sent == []


async def test_a_reminder_held_by_the_kill_switch_is_withdrawn_when_a_dispute_arrives(life: Life) -> None:
    await open_with_alternate(life)
    life.store.set_paused(True, by="ops")
    async with life.worker():
        handle = await life.start()
        await approve_while_held(life)
        await handle.signal(InvoiceLifecycle.dispute, DisputeSignal(reason="goods never arrived", opened_by=APPROVER))
        await asyncio.sleep(0.5)
        life.store.set_paused(False, by="ops")
        await life.settle(timeout=30)
        state = await life.status()
        assert state.stage == Stage.PAUSED
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert life.mailer.sent == []
    assert "reminder withdrawn" in actions(life)


async def test_a_reminder_held_by_the_kill_switch_never_leaves_once_the_invoice_is_paid(life: Life) -> None:
    await open_with_alternate(life)
    life.store.set_paused(True, by="ops")
    async with life.worker():
        handle = await life.start()
        await approve_while_held(life)
        assert life.invoice is not None
        life.ledger.pay(life.invoice.id, on=await life.today(), reference="wire")
        await handle.signal(InvoiceLifecycle.ledger_event,
                            LedgerEventSignal(event_id=uuid.uuid4().hex, entity="Payment", operation="create"))
        life.store.set_paused(False, by="ops")
        result = await handle.result()
    assert life.mailer.sent == []
    assert result.closed_reason == "paid in full"
    assert [r.outcome for r in result.reminders] == []


async def test_ledger_events_still_wake_a_paused_invoice_that_was_paid(life: Life) -> None:
    await open_with_alternate(life)
    async with life.worker():
        handle = await life.start()
        until = (await life.today()) + timedelta(days=90)
        await handle.signal(InvoiceLifecycle.pause_dunning, PauseSignal(until=until))
        await life.settle()
        assert (await life.status()).stage == Stage.PAUSED
        assert life.invoice is not None
        life.ledger.pay(life.invoice.id, on=await life.today())
        await handle.signal(InvoiceLifecycle.ledger_event,
                            LedgerEventSignal(event_id=uuid.uuid4().hex, entity="Payment", operation="create"))
        result = await handle.result()
    assert result.closed_reason == "paid in full"


async def test_a_note_and_an_assignment_while_a_reminder_awaits_approval_are_acted_on_at_once(life: Life) -> None:
    await open_with_alternate(life)
    async with life.worker():
        handle = await life.start()
        for _ in range(LEAD_DAYS):
            await life.env.sleep(timedelta(days=1))
            await life.settle()
            if await life.pending() is not None:
                break
        pending = await life.pending()
        assert pending is not None
        await handle.signal(InvoiceLifecycle.assign, AssignSignal(collector="rita@northwind.test"))
        await handle.signal(InvoiceLifecycle.add_note, NoteSignal(text="AP asked for a copy", by="rita"))
        await life.settle()
        assert life.invoice is not None
        assert any("AP asked for a copy" in note for note in life.ledger.notes("Invoice", life.invoice.id))
        assert (await handle.describe()).typed_search_attributes.get(sa.COLLECTOR) == "rita@northwind.test"
        still = await life.pending()
        assert still is not None and still.item_id == pending.item_id
        assert (await life.status()).stage == Stage.AWAITING_APPROVAL
        await life.approve_pending()
    assert [mail.to for mail in life.mailer.sent] == [BILLING_EMAIL]


async def test_a_late_dsn_resends_only_the_latest_reminder_to_the_alternate(life: Life) -> None:
    await open_with_alternate(life)
    async with life.worker():
        handle = await life.start()
        await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=LEAD_DAYS + 10)
        first, second = life.mailer.sent
        assert first.to == second.to == BILLING_EMAIL
        await handle.signal(InvoiceLifecycle.bounced, BouncedSignal(address=BILLING_EMAIL,
                                                                    message_id=first.message_id))
        await life.settle()
        state = await life.status()
    # Both are recorded as bounced; the second, which says more, goes again to the alternate; the first not.
    assert [(mail.to, mail.subject) for mail in life.mailer.sent[2:]] == [(ALTERNATE, second.subject)]
    assert [(r.level, r.outcome, r.to) for r in state.reminders if r.outcome in ("sent", "bounced")] == [
        (1, "bounced", BILLING_EMAIL), (2, "bounced", BILLING_EMAIL), (2, "sent", ALTERNATE)]
    assert state.reminders_sent == 1


async def test_an_audit_note_held_by_the_kill_switch_does_not_hold_the_approval(life: Life) -> None:
    # Posted two levels late: level 1 is recorded as skipped (an audit line with a ledger note, which the kill
    # switch holds), and level 2 must still reach a person while outbound actions are held.
    await open_with_alternate(life, as_draft=True)
    life.store.set_paused(True, by="ops")
    async with life.worker():
        handle = await life.start()
        await life.env.sleep(timedelta(days=LEAD_DAYS + 2))
        assert life.invoice is not None
        life.ledger.post_invoice(life.invoice.id)
        await handle.signal(InvoiceLifecycle.ledger_event,
                            LedgerEventSignal(event_id=uuid.uuid4().hex, entity="Invoice", operation="update"))
        pending = None
        for _ in range(100):
            pending = await life.pending()
            if pending is not None:
                break
            await asyncio.sleep(0.1)
        assert pending is not None and pending.level == 2
        assert actions(life) == ["reminder skipped"]  # the audit row is written at once
        assert life.ledger.notes("Invoice", life.invoice.id) == []  # its note to the ledger is held
        await handle.signal(InvoiceLifecycle.operator_decision,
                            Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=pending.item_id))
        await asyncio.sleep(0.5)
        assert life.mailer.sent == []
        life.store.set_paused(False, by="ops")
        await life.settle(timeout=30)
    assert [mail.to for mail in life.mailer.sent] == [BILLING_EMAIL]
    notes = life.ledger.notes("Invoice", life.invoice.id)
    assert [note.split(":")[1].strip() for note in notes[:3]] == ["reminder skipped", "reminder approve",
                                                                  "reminder sent"]  # in order once released
