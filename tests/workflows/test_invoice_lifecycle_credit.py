"""Issue 12 on the invoice lifecycle: a dispute settled by a credit note or a write-off, each posted only after a
human approves it (and never by the person who proposed it), with the new balance carried on.

Same harness as test_invoice_lifecycle.py: the time-skipping server, the real sandbox ledger and store.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.workflows.test_invoice_lifecycle import APPROVER, Life
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import (
    Decision,
    DecisionKind,
    DisputeSignal,
    PendingApproval,
    ResolveDisputeSignal,
    Stage,
)

COLLECTOR = "sam@test"


async def pending_item(life: Life, kind: str) -> PendingApproval:
    for _ in range(100):
        pending = await life.pending()
        if pending is not None and pending.kind == kind:
            return pending
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} item awaits approval; stage {(await life.status()).stage}")


def actions(life: Life) -> list[str]:
    assert life.handle is not None
    return [entry.action for entry in life.store.list_audit(workflow_id=life.handle.id)]


async def disputed(life: Life) -> None:
    await life.wf().signal(InvoiceLifecycle.dispute, DisputeSignal(reason="wrong rate on line 2", opened_by=COLLECTOR))
    await life.settle()


async def test_a_rejected_credit_note_posts_nothing_and_the_dispute_stays(life: Life) -> None:
    await life.open_invoice("1250.00")
    async with life.worker():
        handle = await life.start()
        await disputed(life)
        await handle.signal(InvoiceLifecycle.resolve_dispute,
                            ResolveDisputeSignal(by=COLLECTOR, credit_note=Decimal("200.00"), note="rate fix"))
        item = await pending_item(life, "credit_note")
        assert (item.amount, item.currency) == (Decimal("200.00"), "USD")
        assert (await life.status()).stage == Stage.AWAITING_APPROVAL

        # The proposer cannot approve it (maker-checker): the decision is refused and the item stays.
        await handle.signal(InvoiceLifecycle.operator_decision,
                            Decision(decision=DecisionKind.APPROVE, approver=COLLECTOR, item_id=item.item_id))
        await asyncio.sleep(0.3)
        assert (await life.pending()) == item

        await handle.signal(InvoiceLifecycle.operator_decision,
                            Decision(decision=DecisionKind.REJECT, approver=APPROVER, item_id=item.item_id,
                                     reason="the rate was agreed"))
        await life.settle()
        state = await life.status()
    assert state.stage == Stage.PAUSED and state.dispute and state.credit_notes == []
    assert life.invoice is not None and life.ledger.get_invoice(life.invoice.id).balance.amount == Decimal("1250.00")
    assert life.ledger.list_credit_notes() == []
    assert "credit note rejected" in actions(life)


async def test_an_approved_credit_note_lowers_the_balance_and_a_write_off_closes_the_invoice(life: Life) -> None:
    await life.open_invoice("1250.00")
    async with life.worker():
        handle = await life.start()
        await disputed(life)
        # A first proposal is replaced by a second before anyone decides: only the second can be approved.
        await handle.signal(InvoiceLifecycle.resolve_dispute,
                            ResolveDisputeSignal(by=COLLECTOR, credit_note=Decimal("300.00")))
        first = await pending_item(life, "credit_note")
        await handle.signal(InvoiceLifecycle.resolve_dispute,
                            ResolveDisputeSignal(by=COLLECTOR, credit_note=Decimal("250.00")))
        await life.settle()
        second = await pending_item(life, "credit_note")
        assert second.item_id != first.item_id and second.amount == Decimal("250.00")
        await handle.signal(InvoiceLifecycle.operator_decision,
                            Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=first.item_id))
        await asyncio.sleep(0.3)
        assert (await life.pending()) == second
        await handle.signal(InvoiceLifecycle.operator_decision,
                            Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=second.item_id))
        await life.settle()
        state = await life.status()
        assert state.dispute is None and len(state.credit_notes) == 1
        assert state.invoice is not None and state.invoice.balance.amount == Decimal("1000.00")
        assert state.stage != Stage.PAUSED

        await disputed(life)
        await handle.signal(InvoiceLifecycle.resolve_dispute, ResolveDisputeSignal(by=COLLECTOR, write_off=True))
        item = await pending_item(life, "write_off")
        assert item.amount == Decimal("1000.00")
        await handle.signal(InvoiceLifecycle.operator_decision,
                            Decision(decision=DecisionKind.APPROVE, approver=APPROVER, item_id=item.item_id))
        result = await handle.result()
    assert result.closed_reason == "settled by write-off" and len(result.credit_notes) == 2
    notes = life.ledger.list_credit_notes()
    assert sorted(n.total.amount for n in notes) == [Decimal("250.00"), Decimal("1000.00")]
    assert "credit withdrawn" in actions(life) and "write-off posted" in actions(life)
    assert life.mailer.sent == []
