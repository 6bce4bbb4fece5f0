"""Customers' replies to reminders drive the invoice (issue 13): the reply reader finds the reminder a reply
answers (thread headers, or the reminder's Reply-To address), reads it with the rules, and acts at once on a
sure promise, dispute, payment or absence; anything else is a `reply` item a person decides.

The real InvoiceLifecycle on the time-skipping server sends its first reminder (recorded by the test mailer);
the replies are built as a mail client builds them and handed to the inbound reader as the SMTP capture does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from adapters.mail import OutgoingMail
from tests.workflows.test_invoice_lifecycle import APPROVER, BILLING_EMAIL, Life
from workers.inbound import InboundMail, reply_key, reply_review_id
from workflows.approvals import Decision, DecisionKind, PendingApproval
from workflows.lifecycle_messages import Stage
from workflows.reply_review import ReplyReview

SENDER = "ar@test"  # the worker's sender in the Life harness


def reply_to(reminder: OutgoingMail, body: str, *, threaded: bool = True, to: str | None = None) -> bytes:
    """A reply as a mail client writes it: the customer's words above the quoted reminder."""
    message = EmailMessage()
    message["From"] = f"Contoso AP <{BILLING_EMAIL}>"
    message["To"] = to or SENDER
    message["Subject"] = f"Re: {reminder.subject}"
    message["Message-ID"] = f"<reply-{abs(hash(body))}@contoso.test>"
    if threaded:
        message["In-Reply-To"] = reminder.message_id
        message["References"] = reminder.message_id
    quoted = "\n".join(f"> {line}" for line in reminder.body.splitlines())
    message.set_content(f"{body}\n\nOn Monday, Northwind wrote:\n{quoted}\n")
    return message.as_bytes()


@asynccontextmanager
async def a_reminder_sent(env: WorkflowEnvironment, directory: Path) -> AsyncIterator[tuple[Life, OutgoingMail]]:
    """A real lifecycle whose first reminder went out; its worker keeps running while the test replies."""
    life = Life.in_directory(env, directory)
    try:
        await life.open_invoice()
        async with life.worker():
            await life.start()
            await life.live_until(lambda: len(life.mailer.sent) >= 1, max_days=10)
            yield life, life.mailer.sent[0]
    finally:
        life.ledger.close()


async def reader(life: Life) -> InboundMail:
    today = await life.today()
    return InboundMail(life.store, life.env.client, task_queue=life.task_queue, today=lambda: today)


async def test_a_promise_by_reply_pauses_dunning_until_that_day(time_skipping_env: WorkflowEnvironment,
                                                                tmp_path: Path) -> None:
    async with a_reminder_sent(time_skipping_env, tmp_path) as (life, reminder):
        promised = await life.today() + timedelta(days=9)
        words = f"Thanks for the reminder. We will pay this invoice on {promised.strftime('%d %B %Y')}."
        (record,) = await (await reader(life)).handle(reply_to(reminder, words))
        assert (record.kind, record.outcome) == ("reply", "acted"), record.detail
        assert record.workflow_id == life.wf().id and f"promise to pay by {promised}" in record.detail
        await life.settle()
        state = await life.status()
        assert state.promise_until == promised and state.stage == Stage.PAUSED
        audit = life.store.list_audit(workflow_id=life.wf().id)
        assert any(entry.action == "reply read" for entry in audit)


async def test_a_dispute_by_reply_to_the_reply_address_opens_a_dispute(time_skipping_env: WorkflowEnvironment,
                                                                       tmp_path: Path) -> None:
    async with a_reminder_sent(time_skipping_env, tmp_path) as (life, reminder):
        local = reminder.message_id.strip("<>").split("@")[0]
        assert reminder.reply_to == f"reply+{local}@test"
        # The thread headers are lost (forwarded from another client): the Reply-To address still routes it.
        raw = reply_to(reminder, "We dispute this invoice: the amount is wrong, we were charged twice.",
                       threaded=False, to=reminder.reply_to)
        (record,) = await (await reader(life)).handle(raw)
        assert record.outcome == "acted", record.detail
        await life.settle()
        state = await life.status()
        assert state.dispute and "customer reply" in state.dispute and state.stage == Stage.PAUSED


async def pending_reply(life: Life, workflow_id: str) -> PendingApproval:
    handle = life.env.client.get_workflow_handle(workflow_id)
    for _ in range(100):
        item = await handle.query(ReplyReview.pending_approval)
        if item is not None:
            return item
        await asyncio.sleep(0.1)
    raise AssertionError("no reply item")


async def test_an_unclear_reply_becomes_a_reply_item_and_the_persons_reading_is_acted_on(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path,
) -> None:
    async with a_reminder_sent(time_skipping_env, tmp_path) as (life, reminder):
        inbound = await reader(life)
        raw = reply_to(reminder, "Hi, can you tell me which purchase order this relates to?")
        (record,) = await inbound.handle(raw)
        assert record.outcome == "for-review", record.detail
        (again,) = await inbound.handle(raw)  # delivered twice: still one item
        assert again.outcome == "duplicate"
        review_id = reply_review_id(life.wf().id, reply_key(message_from_bytes(raw)["Message-ID"], raw))
        item = await pending_reply(life, review_id)
        assert item.kind == "reply" and item.suggestion is not None
        assert "purchase order" in item.suggestion["text"] and "> " not in item.suggestion["text"]

        until = await life.today() + timedelta(days=5)
        handle = life.env.client.get_workflow_handle_for(ReplyReview.run, review_id)
        await handle.signal(ReplyReview.operator_decision, Decision(
            decision=DecisionKind.EDIT, approver=APPROVER, item_id=item.item_id, text="promise soon"))
        await asyncio.sleep(0.3)  # refused (not a reading): the item still waits
        assert await handle.query(ReplyReview.pending_approval) == item
        await handle.signal(ReplyReview.operator_decision, Decision(
            decision=DecisionKind.EDIT, approver=APPROVER, item_id=item.item_id, text=f"promise {until}"))
        result = await handle.result()
        assert result.done == f"promise to pay by {until}" and result.approver == APPROVER
        await life.settle()
        assert (await life.status()).promise_until == until
