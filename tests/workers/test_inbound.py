"""Mail arriving back: a DSN marks the address bad and tells the reminder's workflow; nothing else can.

The DSNs come from the real SMTP capture (a reminder sent with smtplib to an address on its bounce domain) or,
for transient and hostile cases, from the same builder the capture uses, edited as a hostile sender would.
The signal goes through a real Temporal client to a workflow on the time-skipping server: a tiny recorder
workflow, and the real InvoiceLifecycle (its status query).
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.messaging import message_id_for
from adapters.mail import OutgoingMail, to_email_message
from adapters.store import InboundRecord, OutboxMessage, Store
from tests.workflows.test_invoice_lifecycle import Life
from workers.inbound import InboundMail, from_thread, parse_delivery_report
from workers.smtp_capture import delivery_status_notification, start_capture
from workflows.lifecycle_messages import BouncedSignal

SENDER = "ar@northwind.test"


@workflow.defn(name="BounceRecorder")
class BounceRecorder:
    """Stands in for a lifecycle: keeps every bounce it is told of."""

    def __init__(self) -> None:
        self.bounces: list[BouncedSignal] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def bounced(self, bounce: BouncedSignal) -> None:
        self.bounces.append(bounce)

    @workflow.query
    def received(self) -> list[BouncedSignal]:
        return self.bounces


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mailroom:
    client: Client
    store: Store
    inbound: InboundMail
    capture_port: int
    mail_dir: Path
    task_queue: str

    def reserve(self, workflow_id: str, to: str, key: str = "sandbox:demo:I-2001:reminder:L1") -> OutboxMessage:
        """A reminder as send_reminder leaves it in the outbox."""
        message = OutboxMessage(
            idempotency_key=key, workflow_id=workflow_id, invoice_id="I-2001", kind="reminder", to=to,
            subject="Reminder: invoice INV-1001", body="Please pay.", message_id=message_id_for(key),
            drafter="template", approved_by=None, status="sent", created_at=datetime.now(UTC), sent_at=None,
        )
        return self.store.outbox_reserve(message)

    def relay(self, message: OutboxMessage) -> None:
        """The reminder goes to the capture, as the worker's mailer sends it."""
        mail = to_email_message(OutgoingMail(to=message.to, subject=message.subject, body=message.body,
                                             sender=SENDER, message_id=message.message_id))
        with smtplib.SMTP("127.0.0.1", self.capture_port, timeout=5) as smtp:
            smtp.send_message(mail)

    async def arrivals(self, count: int, timeout: float = 10) -> list[InboundRecord]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records := self.store.list_inbound()) < count:
            assert asyncio.get_running_loop().time() < deadline, f"only {len(records)} inbound messages arrived"
            await asyncio.sleep(0.05)
        return records

    async def recorder(self) -> str:
        workflow_id = f"invoice:sandbox:demo:{uuid.uuid4().hex[:8]}"
        await self.client.start_workflow(BounceRecorder.run, id=workflow_id, task_queue=self.task_queue)
        return workflow_id

    async def received(self, workflow_id: str) -> list[BouncedSignal]:
        bounces: list[BouncedSignal] = await self.client.get_workflow_handle(workflow_id).query(
            BounceRecorder.received)
        return bounces


@pytest.fixture
async def mailroom(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Mailroom]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    inbound = InboundMail(store, time_skipping_env.client)
    port = free_port()
    capture = start_capture(tmp_path / "mail", port, bounce_domain="bounce.test", dsn_delay=0.05,
                            on_message=from_thread(inbound, asyncio.get_running_loop()))
    task_queue = f"inbound-{uuid.uuid4().hex[:8]}"
    worker = Worker(time_skipping_env.client, task_queue=task_queue, workflows=[BounceRecorder],
                    workflow_runner=UnsandboxedWorkflowRunner())
    try:
        async with worker:
            yield Mailroom(time_skipping_env.client, store, inbound, port, tmp_path / "mail", task_queue)
    finally:
        capture.stop()


def dsn_for(message: OutboxMessage, *, recipient: str | None = None, status: str = "5.1.1",
            action: str = "failed") -> bytes:
    original = to_email_message(OutgoingMail(to=message.to, subject=message.subject, body=message.body,
                                             sender=SENDER, message_id=message.message_id)).as_bytes()
    return delivery_status_notification(original=original, recipient=recipient or message.to,
                                        envelope_sender=SENDER, status=status, action=action)


async def test_a_dsn_from_the_capture_marks_the_address_bad_and_signals_the_workflow(mailroom: Mailroom) -> None:
    workflow_id = await mailroom.recorder()
    sent = mailroom.reserve(workflow_id, "nobody@bounce.test")
    mailroom.relay(sent)

    (record,) = await mailroom.arrivals(1)
    assert (record.kind, record.outcome, record.workflow_id) == ("dsn", "signalled", workflow_id)
    assert (record.address, record.status, record.original_message_id) == (
        "nobody@bounce.test", "5.1.1", sent.message_id)
    bad = mailroom.store.bad_address("nobody@bounce.test")
    assert bad is not None and bad.source == "dsn" and bad.reason.startswith("5.1.1 550 5.1.1")
    assert (bad.message_id, bad.workflow_id) == (sent.message_id, workflow_id)
    (bounce,) = await mailroom.received(workflow_id)
    assert (bounce.address, bounce.message_id, bounce.permanent) == ("nobody@bounce.test", sent.message_id, True)
    assert "5.1.1" in bounce.reason
    # The DSN the capture sent back is kept as .eml with everything else, and its raw bytes in the store.
    assert len(list(mailroom.mail_dir.glob("*.eml"))) == 2
    assert record.id is not None
    raw = mailroom.store.inbound_raw(record.id)
    assert raw is not None and b"multipart/report" in raw


async def test_a_transient_dsn_marks_nothing_and_signals_nothing(mailroom: Mailroom) -> None:
    workflow_id = await mailroom.recorder()
    sent = mailroom.reserve(workflow_id, "slow@bounce.test")
    (record,) = await mailroom.inbound.handle(dsn_for(sent, status="4.4.7", action="delayed"))
    assert (record.outcome, record.status, record.workflow_id) == ("transient", "4.4.7", workflow_id)
    assert mailroom.store.list_bad_addresses() == []
    assert await mailroom.received(workflow_id) == []


async def test_a_dsn_about_a_message_we_never_sent_is_recorded_and_marks_nothing(mailroom: Mailroom) -> None:
    stranger = OutboxMessage(
        idempotency_key="x", workflow_id="invoice:elsewhere", invoice_id="I-1", kind="reminder",
        to="victim@contoso.test", subject="s", body="b", message_id="<not-ours@elsewhere.test>", drafter="template",
        approved_by=None, status="sent", created_at=datetime.now(UTC), sent_at=None,
    )
    (record,) = await mailroom.inbound.handle(dsn_for(stranger))
    assert (record.kind, record.outcome) == ("dsn", "unmatched")
    assert record.original_message_id == "<not-ours@elsewhere.test>" and "not-ours" in record.detail
    assert mailroom.store.list_bad_addresses() == []


async def test_a_dsn_naming_another_address_than_the_reminder_went_to_marks_nothing(mailroom: Mailroom) -> None:
    workflow_id = await mailroom.recorder()
    sent = mailroom.reserve(workflow_id, "billing@contoso.test")
    (record,) = await mailroom.inbound.handle(dsn_for(sent, recipient="ceo@contoso.test"))
    assert record.outcome == "recipient-mismatch"
    assert mailroom.store.list_bad_addresses() == []
    assert await mailroom.received(workflow_id) == []


async def test_a_dsn_for_a_closed_workflow_still_marks_the_address(mailroom: Mailroom) -> None:
    sent = mailroom.reserve("invoice:sandbox:demo:long-gone", "gone@bounce.test")
    (record,) = await mailroom.inbound.handle(dsn_for(sent))
    assert record.outcome == "workflow-closed"
    assert mailroom.store.bad_address("gone@bounce.test") is not None


async def test_an_ordinary_message_is_recorded_for_the_reply_reader(mailroom: Mailroom) -> None:
    (record,) = await mailroom.inbound.handle(b"From: a@b.test\r\nSubject: Re: invoice\r\n\r\nPaid yesterday.\r\n")
    assert (record.kind, record.outcome) == ("other", "ignored")


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage \r\n\r\n\x00",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n\r\nno status\r\n--x--",
    b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary at all",
    b"Subject: " + b"A" * 200_000 + b"\r\n\r\nhuge header",
])
async def test_hostile_or_malformed_mail_is_recorded_and_never_crashes(mailroom: Mailroom, raw: bytes) -> None:
    records = await mailroom.inbound.handle(raw)
    assert len(records) == 1 and records[0].outcome in ("ignored", "no-recipient")
    assert mailroom.store.list_bad_addresses() == []
    assert len(mailroom.store.list_inbound()) == 1


async def test_a_dsn_with_forged_addresses_and_broken_fields_marks_nothing(mailroom: Mailroom) -> None:
    workflow_id = await mailroom.recorder()
    sent = mailroom.reserve(workflow_id, "billing@contoso.test")
    good = dsn_for(sent)
    forged = good.replace(b"Final-Recipient: rfc822; billing@contoso.test",
                          b"Final-Recipient: rfc822; billing@contoso.test\r\n\tbcc: x@y.test, <script>")
    assert (await mailroom.inbound.handle(forged))[0].outcome != "signalled"
    no_status = good.replace(b"Status: 5.1.1", b"Status: whatever")
    (record,) = await mailroom.inbound.handle(no_status)
    assert (record.kind, record.outcome) == ("malformed", "ignored") and "Status" in record.detail
    assert mailroom.store.list_bad_addresses() == []


async def test_a_report_naming_thousands_of_recipients_is_cut_short() -> None:
    blocks = b"".join(b"\r\nFinal-Recipient: rfc822; u%d@x.test\r\nAction: failed\r\nStatus: 5.1.1\r\n" % n
                      for n in range(5000))
    raw = (b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n" + blocks + b"\r\n--b--\r\n")
    report = parse_delivery_report(raw)
    assert report is not None and len(report.recipients) == 50 and report.truncated


async def test_a_dsn_from_the_capture_reaches_the_real_lifecycle(time_skipping_env: WorkflowEnvironment,
                                                                 tmp_path: Path) -> None:
    """The first reminder of a real InvoiceLifecycle goes to an address on the bounce domain; the capture's
    DSN comes back through the inbound reader, and the lifecycle's status names the address bad."""
    life = Life.in_directory(time_skipping_env, tmp_path)
    inbound = InboundMail(life.store, time_skipping_env.client)
    port = free_port()
    capture = start_capture(tmp_path / "mail", port, bounce_domain="bounce.test", dsn_delay=0.05,
                            on_message=from_thread(inbound, asyncio.get_running_loop()))
    try:
        await life.open_invoice(email="nobody@bounce.test")
        async with life.worker():
            await life.start()
            await life.live_until(lambda: len(life.mailer.sent) >= 1, max_days=10)
            (mail,) = life.mailer.sent
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:  # the recorded reminder, now on the wire
                smtp.send_message(to_email_message(mail))
            room = Mailroom(time_skipping_env.client, life.store, inbound, port, tmp_path / "mail", "")
            (record,) = await room.arrivals(1)
            assert record.outcome == "signalled" and record.workflow_id == life.wf().id
            await life.settle()
            assert "nobody@bounce.test" in (await life.status()).bad_addresses
            assert life.store.bad_address("nobody@bounce.test") is not None
    finally:
        capture.stop()
        life.ledger.close()
