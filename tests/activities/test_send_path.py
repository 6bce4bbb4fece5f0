"""The send path cannot go wrong: bounces at send time, known-bad addresses, transient failures, holds.

Everything is real: `send_reminder` and `record_audit` run in Temporal's `ActivityEnvironment` (with the attempt
number Temporal would give them) over the real SQLite store, the sandbox ledger, and `SmtpMailer` talking SMTP
to the dev stack's aiosmtpd capture (bounce domain `bounce.test`) or to a tiny aiosmtpd server that defers
every recipient with a 451. What a user checks is what is asserted: what reached the mail server (the .eml
files the capture keeps), what the outbox and the bad-address list say, what the ledger's notes say.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.error_types import LEDGER_NOT_CONNECTED, MAIL_RETRYABLE, OUTBOUND_PAUSED
from activities.ledger import ledger_key
from activities.messaging import AuditInput, MessagingActivities, SendReminderInput, SendReminderResult
from adapters.drafting.template import TemplateDrafter
from adapters.ledger import Invoice
from adapters.ledgers.sandbox import SandboxLedger
from adapters.mail import SmtpMailer
from adapters.store import Store
from workers.smtp_capture import start_capture

SENDER = "ar@northwind.test"
TODAY = date(2026, 3, 10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass
class Desk:
    """One company's send path: the store, the sandbox ledger, the capture and the activities over them."""

    store: Store
    ledger: SandboxLedger
    mail_dir: Path
    messaging: MessagingActivities
    smtp_port: int

    def invoice(self, email: str, amount: str = "1250.00") -> Invoice:
        customer = self.ledger.add_customer("Contoso Ltd", email=email, time_zone="UTC", country="US")
        return self.ledger.add_invoice(customer.id, Decimal(amount), due_date=TODAY + timedelta(days=3),
                                       issue_date=TODAY - timedelta(days=27))

    def send(self, invoice: Invoice, to: str, *, attempt: int = 1, level: int = 1) -> SendReminderResult:
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=attempt)
        request = SendReminderInput(
            idempotency_key=f"sandbox:demo:{invoice.id}:reminder:L{level}",
            workflow_id=f"invoice:sandbox:demo:{invoice.id}", ledger="sandbox", tenant="demo",
            invoice_id=invoice.id, level=level, to=to, subject=f"Reminder: invoice {invoice.number}",
            body="Please pay.", drafter="template",
        )
        result: SendReminderResult = env.run(self.messaging.send_reminder, request)
        return result

    def delivered(self) -> list[Any]:
        """Every message the capture accepted, in the order it arrived."""
        return [message_from_bytes(path.read_bytes()) for path in sorted(self.mail_dir.glob("*.eml"))]

    def outbox_status(self, invoice: Invoice) -> tuple[str, str | None]:
        (message,) = self.store.list_outbox(invoice_id=invoice.id)
        return message.status, message.reason


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    port = free_port()
    capture = start_capture(tmp_path / "mail", port, bounce_domain="bounce.test", dsn_delay=30)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="demo")
    messaging = MessagingActivities(store, SmtpMailer("127.0.0.1", port, timeout=5), TemplateDrafter(), SENDER,
                                    {ledger_key("sandbox", "demo"): ledger})
    try:
        yield Desk(store, ledger, tmp_path / "mail", messaging, port)
    finally:
        capture.stop()
        ledger.close()


# --- bounces at send time ----------------------------------------------------------------------------------


def test_a_permanent_refusal_at_rcpt_answers_bounced_marks_the_address_and_a_retry_answers_the_same(
    desk: Desk,
) -> None:
    invoice = desk.invoice("reject-ap@bounce.test")
    result = desk.send(invoice, "reject-ap@bounce.test")

    assert result.outcome == "bounced" and not result.already_sent
    assert result.reason is not None and "550" in result.reason and "5.1.1" in result.reason
    assert desk.delivered() == []
    bad = desk.store.bad_address("Reject-AP@bounce.test")
    assert bad is not None and bad.source == "smtp" and "5.1.1" in bad.reason
    assert bad.message_id == result.message_id and bad.workflow_id == f"invoice:sandbox:demo:{invoice.id}"
    assert desk.outbox_status(invoice) == ("bounced", result.reason)

    # A retry or a replay of the same activity gives the same answer, and still nothing is sent.
    again = desk.send(invoice, "reject-ap@bounce.test", attempt=2)
    assert (again.outcome, again.reason, again.message_id) == ("bounced", result.reason, result.message_id)
    assert desk.delivered() == []


def test_an_address_known_bad_from_another_customers_bounce_is_never_sent_to(desk: Desk) -> None:
    first = desk.invoice("reject-shared@bounce.test")
    assert desk.send(first, "reject-shared@bounce.test").outcome == "bounced"
    # Another customer, another invoice, the same mailbox (spelled differently): nothing reaches the server.
    other = desk.invoice("Reject-Shared@Bounce.test", amount="80.00")
    result = desk.send(other, "Reject-Shared@Bounce.test")
    assert result.outcome == "bounced"
    assert result.reason is not None and "known bad" in result.reason and "5.1.1" in result.reason
    assert desk.delivered() == []
    assert desk.outbox_status(other)[0] == "bounced"
    assert [bad.address for bad in desk.store.list_bad_addresses()] == ["reject-shared@bounce.test"]


def test_a_good_address_is_sent_once_and_not_marked(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    first = desk.send(invoice, "billing@contoso.test")
    again = desk.send(invoice, "billing@contoso.test", attempt=2)
    assert (first.outcome, first.already_sent) == ("sent", False)
    assert (again.outcome, again.already_sent) == ("sent", True)
    assert [m["Message-ID"] for m in desk.delivered()] == [first.message_id]
    assert desk.store.list_bad_addresses() == []


# --- transient failures stay retryable ---------------------------------------------------------------------


class Deferring:
    """A mail server that defers every recipient (greylisting, mailbox busy): 451 at RCPT TO."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        return "451 4.7.1 Greylisted, please try again later"


def test_a_451_at_rcpt_is_a_retryable_error_and_marks_nothing(desk: Desk) -> None:
    port = free_port()
    deferring = Controller(Deferring(), hostname="127.0.0.1", port=port)
    deferring.start()
    try:
        desk.messaging.mailer = SmtpMailer("127.0.0.1", port, timeout=5)
        invoice = desk.invoice("billing@contoso.test")
        with pytest.raises(ApplicationError) as failed:
            desk.send(invoice, "billing@contoso.test")
    finally:
        deferring.stop()
    assert failed.value.type == MAIL_RETRYABLE and not failed.value.non_retryable
    assert "451" in str(failed.value)
    assert desk.store.list_bad_addresses() == []
    assert desk.outbox_status(invoice) == ("sending", None)


def test_an_smtp_outage_is_retryable_and_the_send_after_it_goes_out_once(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    working = desk.messaging.mailer
    desk.messaging.mailer = SmtpMailer("127.0.0.1", free_port(), timeout=5)  # nothing listens there
    with pytest.raises(ApplicationError) as failed:
        desk.send(invoice, "billing@contoso.test")
    assert failed.value.type == MAIL_RETRYABLE and not failed.value.non_retryable
    assert "unreachable" in str(failed.value)
    assert desk.store.list_bad_addresses() == []

    desk.messaging.mailer = working
    result = desk.send(invoice, "billing@contoso.test", attempt=2)  # re-reads the ledger: still open
    assert (result.outcome, result.already_sent) == ("sent", False)
    assert [m["Message-ID"] for m in desk.delivered()] == [result.message_id]


def test_paid_during_an_smtp_outage_nothing_leaves_when_the_server_is_back(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    working = desk.messaging.mailer
    desk.messaging.mailer = SmtpMailer("127.0.0.1", free_port(), timeout=5)
    with pytest.raises(ApplicationError):
        desk.send(invoice, "billing@contoso.test")
    desk.ledger.pay(invoice.id, on=TODAY, reference="bank transfer")
    desk.messaging.mailer = working
    result = desk.send(invoice, "billing@contoso.test", attempt=2)
    assert (result.outcome, result.reason) == ("not_sent", "paid while held")
    assert desk.delivered() == []


# --- the kill switch ---------------------------------------------------------------------------------------


def held(desk: Desk, invoice: Invoice) -> None:
    desk.store.set_paused(True, by="ops@northwind.test")
    with pytest.raises(ApplicationError) as paused:
        desk.send(invoice, "billing@contoso.test")
    assert paused.value.type == OUTBOUND_PAUSED and not paused.value.non_retryable


def test_paid_while_held_by_the_kill_switch_it_never_leaves_and_a_retry_answers_the_same(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    held(desk, invoice)
    desk.ledger.pay(invoice.id, on=TODAY, reference="bank transfer")
    desk.store.set_paused(False, by="ops@northwind.test")

    result = desk.send(invoice, "billing@contoso.test", attempt=2)
    assert (result.outcome, result.reason, result.already_sent) == ("not_sent", "paid while held", False)
    assert desk.delivered() == []
    assert desk.outbox_status(invoice) == ("not_sent", "paid while held")
    again = desk.send(invoice, "billing@contoso.test", attempt=3)
    assert (again.outcome, again.reason) == ("not_sent", "paid while held")
    assert desk.delivered() == []


def test_voided_while_held_it_never_leaves(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    held(desk, invoice)
    desk.ledger.void_invoice(invoice.id, idempotency_key="void-1")
    desk.store.set_paused(False)
    result = desk.send(invoice, "billing@contoso.test", attempt=2)
    assert (result.outcome, result.reason) == ("not_sent", "voided while held")
    assert desk.delivered() == []


def test_still_open_after_the_hold_it_is_sent_exactly_once(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    held(desk, invoice)
    with pytest.raises(ApplicationError):  # still paused on the next attempt
        desk.send(invoice, "billing@contoso.test", attempt=2)
    desk.store.set_paused(False)

    result = desk.send(invoice, "billing@contoso.test", attempt=3)
    again = desk.send(invoice, "billing@contoso.test", attempt=4)
    assert (result.outcome, result.already_sent) == ("sent", False)
    assert (again.outcome, again.already_sent) == ("sent", True)
    delivered = desk.delivered()
    assert [m["Message-ID"] for m in delivered] == [result.message_id]
    assert delivered[0]["To"] == "billing@contoso.test" and invoice.number in delivered[0]["Subject"]


def test_a_held_send_is_not_sent_unchecked_by_a_worker_without_the_ledger(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    desk.messaging.ledgers = {}
    with pytest.raises(ApplicationError) as failed:
        desk.send(invoice, "billing@contoso.test", attempt=2)
    assert failed.value.type == LEDGER_NOT_CONNECTED and not failed.value.non_retryable
    assert desk.delivered() == []


# --- the audit note ----------------------------------------------------------------------------------------


def test_the_audit_row_is_written_while_paused_and_the_ledger_note_only_after_resume(desk: Desk) -> None:
    invoice = desk.invoice("billing@contoso.test")
    entry = AuditInput(idempotency_key=f"sandbox:demo:{invoice.id}:escalated", workflow_id="invoice:1",
                       invoice_id=invoice.id, action="escalated", result="no reply after the final notice",
                       ledger="sandbox", tenant="demo")
    env = ActivityEnvironment()
    desk.store.set_paused(True, by="ops@northwind.test")
    for attempt in (1, 2):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError) as paused:
            env.run(desk.messaging.record_audit, entry)
        assert paused.value.type == OUTBOUND_PAUSED and not paused.value.non_retryable
    assert [(row.action, row.result) for row in desk.store.list_audit()] == [
        ("escalated", "no reply after the final notice")]
    assert desk.ledger.notes("Invoice", invoice.id) == []

    desk.store.set_paused(False)
    env.info = dataclasses.replace(env.info, attempt=3)
    env.run(desk.messaging.record_audit, entry)
    env.run(desk.messaging.record_audit, entry)  # a replayed activity writes nothing twice
    assert len(desk.store.list_audit()) == 1
    assert desk.ledger.notes("Invoice", invoice.id) == ["duecourse: escalated: no reply after the final notice"]


def test_an_audit_without_a_ledger_note_is_not_held(desk: Desk) -> None:
    desk.store.set_paused(True)
    ActivityEnvironment().run(desk.messaging.record_audit, AuditInput(
        idempotency_key="k-1", workflow_id="invoice:1", invoice_id=None, action="paused", result="by ops"))
    assert [row.action for row in desk.store.list_audit()] == ["paused"]


# --- an older database -------------------------------------------------------------------------------------


def test_a_database_from_before_outcomes_gets_the_reason_column_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the outbox as the previous release made it
        db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, idempotency_key VARCHAR NOT NULL UNIQUE, "
                   "workflow_id VARCHAR NOT NULL, invoice_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, "
                   '"to" VARCHAR NOT NULL, subject VARCHAR NOT NULL, body VARCHAR NOT NULL, '
                   "message_id VARCHAR NOT NULL, drafter VARCHAR NOT NULL, approved_by VARCHAR, "
                   "status VARCHAR NOT NULL, created_at DATETIME NOT NULL, sent_at DATETIME)")
        db.execute("INSERT INTO outbox VALUES (1, 'k-old', 'invoice:1', 'I-1', 'reminder', 'a@b.test', 's', 'b', "
                   "'<m-old@duecourse.local>', 'template', NULL, 'sent', '2026-01-02 10:00:00', NULL)")
    store = Store(f"sqlite:///{path}")
    Store(f"sqlite:///{path}")  # a second process opening it finds the column there
    (old,) = store.list_outbox()
    assert (old.idempotency_key, old.status, old.reason) == ("k-old", "sent", None)
    found = store.outbox_by_message_id("m-old@duecourse.local")
    assert found is not None and found.idempotency_key == "k-old"
