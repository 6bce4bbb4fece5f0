"""The invoice story as `invoice show`, the story API and the invoice page build it, and the checks every
collector action passes before anything reaches a workflow (no server: plain values in, the story out)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from adapters.ledger import Customer, Invoice, InvoiceStatus, Money
from adapters.store import AuditRecord, OutboxMessage
from workers.collector_actions import CollectorAction, check_input
from workers.invoice_story import Found, StoryError, build_story, story_text
from workflows.lifecycle_messages import CollectorNote, LifecycleState, ReminderRecord, Stage

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
FOUND = Found(workflow_id="invoice:sandbox:demo:I-2001", invoice_id="I-2001", ledger="sandbox", tenant="demo",
              running=True, status="running", attributes={"Collector": "rita@example.com"})


def state() -> LifecycleState:
    invoice = Invoice(id="I-2001", number="INV-1001", customer_id="C-1", customer_name="Globex <b>Corp</b>",
                      currency="EUR", total=Money(amount=Decimal("1250.00"), currency="EUR"),
                      balance=Money(amount=Decimal("750.50"), currency="EUR"), issue_date=date(2026, 10, 1),
                      due_date=date(2026, 11, 20), status=InvoiceStatus.PARTIALLY_PAID)
    customer = Customer(id="C-1", name="Globex <b>Corp</b>", email="ap@globex.example", time_zone="Europe/Berlin",
                        time_zone_source="address: Berlin, DE", country="DE", currency="EUR")
    return LifecycleState(
        stage=Stage.PAUSED, invoice=invoice, customer=customer, reminders_sent=1, waiting_for="promise to pay",
        promise_until=date(2026, 12, 10), broken_promises=[date(2026, 11, 28)], bad_addresses=["old@globex.example"],
        notes=[CollectorNote(at=AT, by="rita", text="called them")],
        reminders=[
            ReminderRecord(level=1, outcome="skipped", at=AT, reason="its time passed unsent"),
            # An older record without the draft: the outbox supplies it.
            ReminderRecord(level=2, outcome="sent", at=AT, message_id="<m2@duecourse>", approver="lead@example.com"),
            ReminderRecord(level=3, outcome="rejected", at=AT, approver="lead@example.com", reason="too soon"),
        ])


def outbox() -> list[OutboxMessage]:
    return [OutboxMessage(idempotency_key="k", workflow_id=FOUND.workflow_id, invoice_id="I-2001", kind="reminder",
                          to="ap@globex.example", subject="Second notice: INV-1001", body="Dear Globex, ...",
                          message_id="<m2@duecourse>", drafter="template", approved_by="lead@example.com",
                          status="sent", created_at=AT, sent_at=AT)]


def audit() -> list[AuditRecord]:
    return [AuditRecord(idempotency_key="a1", workflow_id=FOUND.workflow_id, action="reminder sent",
                        result="level 2 (friendly) to ap@globex.example", approver="lead@example.com"),
            AuditRecord(idempotency_key="a2", workflow_id=FOUND.workflow_id, action="promise to pay",
                        result="pay by 2026-12-10", approver="sam", inputs={"source": "cli"})]


def test_the_story_has_every_figure_reminder_and_audit_entry() -> None:
    story = build_story(FOUND, state(), audit(), outbox(), today=date(2026, 12, 3))
    assert story["invoice_id"] == "I-2001" and story["stage"] == "paused" and story["amount_due"] == "750.50"
    assert story["currency"] == "EUR" and story["total"] == "1250.00" and story["days_overdue"] == 13
    assert story["time_zone"] == "Europe/Berlin" and story["time_zone_source"] == "address: Berlin, DE"
    assert story["dunning_level"] == 2 and story["last_contact"] == "2026-12-01T10:00:00Z"
    assert story["assigned_to"] == "rita@example.com"  # from visibility while the state has nobody yet
    assert story["promise_until"] == "2026-12-10" and story["broken_promises"] == ["2026-11-28"]
    assert story["bad_addresses"] == ["old@globex.example"] and story["notes"][0]["text"] == "called them"
    sent = story["reminders"][1]
    assert sent["subject"] == "Second notice: INV-1001" and sent["to"] == "ap@globex.example"
    assert sent["approver"] == "lead@example.com" and sent["drafter"] == "template"
    assert [r["outcome"] for r in story["reminders"]] == ["skipped", "sent", "rejected"]
    assert [a["to_ledger"] for a in story["audit"]] == [True, False]
    assert story["ledger_notes"] == ["duecourse: reminder sent: level 2 (friendly) to ap@globex.example "
                                     "(by lead@example.com)"]

    text = story_text(story)
    for line in ("Invoice INV-1001 (I-2001) · Globex <b>Corp</b> · sandbox/demo", "amount due 750.50 EUR of 1250.00",
                 "time zone Europe/Berlin (from address: Berlin, DE)", "promised to pay by 2026-12-10",
                 "broken promises: 2026-11-28", "level 2 sent", "approved by lead@example.com",
                 "subject: Second notice: INV-1001", "promise to pay: pay by 2026-12-10 [sam] (via cli)",
                 "Ledger notes written:"):
        assert line in text, line


@pytest.mark.parametrize(("fields", "message"), [
    ({"action": "dispute", "reason": "  "}, "a dispute needs a reason"),
    ({"action": "resolve", "reject": True}, "rejecting a dispute needs a reason"),
    ({"action": "resolve", "reason": "why"}, "--reason goes with --reject"),
    ({"action": "promise"}, "a promise needs a date"),
    ({"action": "pause"}, "a pause needs a date"),
    ({"action": "assign", "collector": " \t "}, "assign needs the collector"),
    ({"action": "note", "text": "\x00\x07"}, "a note needs some text"),
])
def test_bad_input_is_refused_before_any_workflow_is_asked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(StoryError) as refused:
        check_input(CollectorAction.model_validate(fields))
    assert message in refused.value.message and refused.value.code == 2 and refused.value.http_status == 400


def test_typed_text_is_trimmed_and_stripped_of_control_characters() -> None:
    cleaned = check_input(CollectorAction(action="assign", collector="  rita   @ north\x1b "))
    assert cleaned.collector == "rita @ north"
    note = check_input(CollectorAction(action="note", text=" line one\nline two\x07 "))
    assert note.text == "line one\nline two"


async def test_an_invoice_id_in_two_ledgers_needs_ledger_or_tenant() -> None:
    """Real visibility on the Temporal dev server: two lifecycles (no worker needed to list them) hold I-7."""
    import asyncio

    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    from tests.workflows.dev_server import start_dev_server
    from workers.invoice_story import find_invoice
    from workflows import search_attributes as sa

    env = await start_dev_server()
    try:
        client = env.client
        for ledger, tenant in (("sandbox", "demo"), ("xero", "t-9")):
            await client.start_workflow(
                "InvoiceLifecycle", id=f"invoice:{ledger}:{tenant}:I-7", task_queue="no-worker-here",
                search_attributes=TypedSearchAttributes([SearchAttributePair(sa.LEDGER, ledger),
                                                         SearchAttributePair(sa.INVOICE_ID, "I-7")]))
        for _ in range(100):
            listed = [wf async for wf in client.list_workflows("InvoiceId = 'I-7'")]
            if len(listed) == 2:
                break
            await asyncio.sleep(0.1)

        with pytest.raises(StoryError) as ambiguous:
            await find_invoice(client, "I-7")
        assert ambiguous.value.code == 2
        assert "--ledger sandbox --tenant demo" in ambiguous.value.message
        assert "--ledger xero --tenant t-9" in ambiguous.value.message
        assert (await find_invoice(client, "I-7", ledger="xero")).workflow_id == "invoice:xero:t-9:I-7"
        found = await find_invoice(client, "I-7", tenant="demo")
        assert (found.ledger, found.tenant, found.invoice_id, found.running) == ("sandbox", "demo", "I-7", True)
        with pytest.raises(StoryError) as unknown:
            await find_invoice(client, "I-7", ledger="quickbooks")
        assert unknown.value.missing and unknown.value.http_status == 404
        with pytest.raises(StoryError) as hostile:
            await find_invoice(client, "I-7' OR InvoiceId != '")
        assert hostile.value.http_status in (400, 404)  # never a match on someone else's invoice
    finally:
        await env.shutdown()
