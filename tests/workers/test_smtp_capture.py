"""The dev stack's SMTP capture bounces like a real mail server for its bounce domain.

A real smtplib client talks SMTP to the real aiosmtpd capture on a free port: `reject-*@bounce.test` is
refused at RCPT TO with a permanent 550 5.1.1; any other address there is accepted and answered with an RFC
3464 delivery status notification to the envelope sender, kept as .eml like all mail and handed on.
"""

from __future__ import annotations

import queue
import smtplib
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from workers.inbound import parse_delivery_report
from workers.smtp_capture import DEFAULT_BOUNCE_DOMAIN, CaptureHandler, bounce_domain_from_env, start_capture

SENDER = "ar@northwind.test"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Capture:
    def __init__(self, mail_dir: Path, port: int, arrived: queue.Queue[bytes]) -> None:
        self.mail_dir = mail_dir
        self.port = port
        self.arrived = arrived

    def send(self, to: list[str], *, sender: str = SENDER,
             message_id: str = "<r-1@duecourse.local>") -> dict[str, tuple[int, bytes]]:
        message = EmailMessage()
        message["From"] = "Northwind AR <ar@northwind.test>"
        message["To"] = ", ".join(to)
        message["Subject"] = "Reminder: invoice INV-1042"
        message["Message-ID"] = message_id
        message.set_content("Please pay INV-1042.")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as smtp:
            refused: dict[str, tuple[int, bytes]] = smtp.sendmail(sender, to, message.as_bytes())
            return refused

    def kept(self) -> list[Message]:
        return [message_from_bytes(path.read_bytes()) for path in sorted(self.mail_dir.glob("*.eml"))]

    def next_arrival(self, timeout: float = 10) -> bytes:
        return self.arrived.get(timeout=timeout)


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[Capture]:
    arrived: queue.Queue[bytes] = queue.Queue()
    port = free_port()
    controller = start_capture(tmp_path / "mail", port, bounce_domain="bounce.test", on_message=arrived.put,
                               dsn_delay=0.05, own_domain="duecourse.local")
    try:
        yield Capture(tmp_path / "mail", port, arrived)
    finally:
        controller.stop()


def test_reject_addresses_are_refused_at_rcpt_with_a_permanent_550_and_nothing_is_kept(capture: Capture) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        capture.send(["reject-ap@bounce.test"])
    code, reply = refused.value.recipients["reject-ap@bounce.test"]
    assert code == 550
    assert reply.decode().startswith("5.1.1 <reject-ap@bounce.test>")
    assert capture.kept() == []
    assert capture.arrived.empty()


def test_a_mixed_envelope_delivers_to_the_good_recipient_and_refuses_the_reject(capture: Capture) -> None:
    refused = capture.send(["billing@contoso.test", "Reject-Old@Bounce.Test"])
    assert list(refused) == ["Reject-Old@Bounce.Test"] and refused["Reject-Old@Bounce.Test"][0] == 550
    assert [m["Subject"] for m in capture.kept()] == ["Reminder: invoice INV-1042"]
    assert capture.arrived.empty()


def test_another_address_on_the_bounce_domain_is_accepted_then_answered_with_a_dsn(capture: Capture) -> None:
    assert capture.send(["nobody@bounce.test"], message_id="<abc123@duecourse.local>") == {}
    raw = capture.next_arrival()

    dsn = message_from_bytes(raw)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["To"] == SENDER  # the envelope sender
    assert "MAILER-DAEMON@" in dsn["From"]
    notification, status_part, headers = dsn.get_payload()
    assert [part.get_content_type() for part in (notification, status_part, headers)] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert "<nobody@bounce.test>: 550 5.1.1" in notification.get_payload()
    per_message, per_recipient = status_part.get_payload()
    assert per_message["Reporting-MTA"].startswith("dns;")
    assert per_recipient["Final-Recipient"] == "rfc822; nobody@bounce.test"
    assert per_recipient["Action"] == "failed" and per_recipient["Status"] == "5.1.1"
    assert per_recipient["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert "Message-ID: <abc123@duecourse.local>" in headers.get_payload()

    # The inbound reader reads it as a permanent failure of that recipient, about that message.
    report = parse_delivery_report(raw)
    assert report is not None and report.original_message_id == "<abc123@duecourse.local>"
    (recipient,) = report.recipients
    assert (recipient.address, recipient.action, recipient.status, recipient.permanent) == (
        "nobody@bounce.test", "failed", "5.1.1", True)

    # The capture keeps the reminder it accepted and the DSN it sent back, like all mail.
    assert [m["Subject"] for m in capture.kept()] == ["Reminder: invoice INV-1042",
                                                      "Undelivered Mail Returned to Sender"]
    assert capture.arrived.empty()


def test_mail_elsewhere_is_kept_and_never_bounced(capture: Capture) -> None:
    assert capture.send(["billing@contoso.test", "reject-x@elsewhere.test"]) == {}
    assert len(capture.kept()) == 1
    with pytest.raises(queue.Empty):
        capture.next_arrival(timeout=0.5)


def test_mail_to_our_own_domain_is_kept_and_handed_to_the_inbound_reader(capture: Capture) -> None:
    # A customer's reply to a reminder's Reply-To (or to the sender) is mail arriving back, not mail going out.
    assert capture.send(["reply+0123abcd@duecourse.local"], sender="ap@contoso.test") == {}
    arrived = message_from_bytes(capture.next_arrival())
    assert arrived["To"] == "reply+0123abcd@duecourse.local" and len(capture.kept()) == 1


def test_a_message_without_an_envelope_sender_gets_no_dsn(capture: Capture) -> None:
    assert capture.send(["nobody@bounce.test"], sender="") == {}  # a bounce of a bounce would loop
    with pytest.raises(queue.Empty):
        capture.next_arrival(timeout=0.5)
    assert len(capture.kept()) == 1


def test_the_bounce_domain_is_a_setting_and_empty_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUECOURSE_BOUNCE_DOMAIN", raising=False)
    assert bounce_domain_from_env() == DEFAULT_BOUNCE_DOMAIN == "bounce.test"
    monkeypatch.setenv("DUECOURSE_BOUNCE_DOMAIN", " Bounces.Example ")
    assert CaptureHandler(tmp_path / "a").bounce_domain == "bounces.example"
    monkeypatch.setenv("DUECOURSE_BOUNCE_DOMAIN", "")
    port = free_port()
    controller = Controller(CaptureHandler(tmp_path / "b"), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            assert smtp.sendmail(SENDER, ["reject-a@bounce.test"], b"Subject: hi\r\n\r\nhi\r\n") == {}
    finally:
        controller.stop()
    assert len(list((tmp_path / "b").glob("*.eml"))) == 1
