"""The dev stack's SMTP server: keeps every message as an .eml file under the data dir, and bounces like a
real mail server for one domain.

On the bounce domain (`DUECOURSE_BOUNCE_DOMAIN`, default `bounce.test`; empty turns bouncing off):
- `reject-*@<domain>` is refused at RCPT TO with a permanent `550 5.1.1` (the sender sees it at once);
- any other address there is accepted, and a moment later answered with a delivery status notification
  (RFC 3464 multipart/report) to the envelope sender. In the dev stack that sender's mail comes back here:
  the DSN is kept as .eml like everything else and handed to `on_message` (the inbound reader).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("duecourse.smtp_capture")

DEFAULT_BOUNCE_DOMAIN = "bounce.test"
REJECT_PREFIX = "reject-"
REPORTING_MTA = "capture.duecourse.local"
# How long after accepting a message its DSN comes back (a real server's queue runs later still).
DSN_DELAY_SECONDS = 0.5

InboundCallback = Callable[[bytes], None]


def bounce_domain_from_env() -> str:
    """`DUECOURSE_BOUNCE_DOMAIN`, lower-cased; unset means `bounce.test`, empty means no bounce domain."""
    return os.environ.get("DUECOURSE_BOUNCE_DOMAIN", DEFAULT_BOUNCE_DOMAIN).strip().lower()


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower()


def _local_of(address: str) -> str:
    return address.rpartition("@")[0].strip().strip("<").lower()


def rejection_reply(address: str) -> str:
    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"


def delivery_status_notification(*, original: bytes, recipient: str, envelope_sender: str, status: str = "5.1.1",
                                 action: str = "failed", diagnostic: str | None = None,
                                 reporting_mta: str = REPORTING_MTA, arrival: datetime | None = None) -> bytes:
    """An RFC 3464 delivery status notification about `original` (its headers go back as text/rfc822-headers).

    `action="failed"` with a 5.x.x status is a permanent bounce; `action="delayed"` with 4.x.x a warning."""
    arrival = arrival or datetime.now(UTC)
    diagnostic = diagnostic or (rejection_reply(recipient) if status.startswith("5") else
                                f"451 {status} <{recipient}>: temporarily unable to deliver, still trying")
    boundary = f"dsn-{time.time_ns()}"
    headers = original.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in original else original.split(b"\n\n", 1)[0]
    header_text = headers.decode("utf-8", "replace").replace("\r\n", "\n").strip("\n")
    subject = "Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail (still being retried)"
    human = (f"This is the mail system at host {reporting_mta}.\n\n"
             + ("I'm sorry to have to inform you that your message could not be delivered to one or more\n"
                "recipients. It's attached below.\n" if action == "failed" else
                "Your message could not be delivered yet; the mail system will keep trying.\n")
             + f"\n<{recipient}>: {diagnostic}\n")
    text = "\n".join([
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: {envelope_sender}",
        f"Subject: {subject}",
        f"Date: {format_datetime(arrival)}",
        f"Message-ID: {make_msgid(domain=reporting_mta)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Description: Notification",
        "",
        human,
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "Content-Description: Delivery report",
        "",
        f"Reporting-MTA: dns; {reporting_mta}",
        f"Arrival-Date: {format_datetime(arrival)}",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Original-Recipient: rfc822; {recipient}",
        f"Action: {action}",
        f"Status: {status}",
        f"Remote-MTA: dns; {_domain_of(recipient)}",
        f"Diagnostic-Code: smtp; {diagnostic}",
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "Content-Description: Undelivered Message Headers",
        "",
        header_text,
        "",
        f"--{boundary}--",
        "",
    ])
    return text.replace("\n", "\r\n").encode("utf-8")


class CaptureHandler:
    def __init__(self, mail_dir: Path, *, bounce_domain: str | None = None, on_message: InboundCallback | None = None,
                 dsn_delay: float = DSN_DELAY_SECONDS, own_domain: str | None = None) -> None:
        self.mail_dir = mail_dir
        # Mail to our own domain (the sender's: replies to a reminder, to its Reply-To or to the sender) is mail
        # arriving back, handed to the inbound reader like a DSN; everything else is outgoing and only kept.
        self.own_domain = (own_domain or "").strip().lower()
        mail_dir.mkdir(parents=True, exist_ok=True)
        self.bounce_domain = bounce_domain_from_env() if bounce_domain is None else bounce_domain.strip().lower()
        self.on_message = on_message
        self.dsn_delay = dsn_delay
        self._pending: set[asyncio.Task[None]] = set()

    def bounces(self, address: str) -> bool:
        return bool(self.bounce_domain) and _domain_of(address) == self.bounce_domain

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.bounces(address) and _local_of(address).startswith(REJECT_PREFIX):
            log.info("refused at RCPT TO: %s", address)
            return rejection_reply(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        self.keep(content)
        sender = str(envelope.mail_from or "").strip("<>")
        if self.on_message is not None and self.own_domain and any(
                _domain_of(recipient) == self.own_domain for recipient in envelope.rcpt_tos):
            try:
                self.on_message(content)
            except Exception:  # the capture keeps serving whatever the reader does
                log.exception("could not hand an arriving message to the inbound reader")
        for recipient in envelope.rcpt_tos:
            if not self.bounces(recipient):
                continue
            if not sender:  # never bounce a bounce (null reverse-path)
                log.info("no DSN for %s: the message has no envelope sender", recipient)
                continue
            task = asyncio.get_running_loop().create_task(self._bounce_later(content, recipient, sender))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return "250 Message accepted for delivery"

    def keep(self, content: bytes) -> Path:
        message = message_from_bytes(content)
        message_id = re.sub(r"[^A-Za-z0-9._-]", "", str(message.get("Message-ID", "")))[:60] or "message"
        path = self.mail_dir / f"{time.time_ns()}-{message_id}.eml"
        path.write_bytes(content)
        return path

    async def _bounce_later(self, original: bytes, recipient: str, sender: str) -> None:
        await asyncio.sleep(self.dsn_delay)
        try:
            dsn = delivery_status_notification(original=original, recipient=recipient, envelope_sender=sender)
            self.keep(dsn)  # the envelope sender's mail comes back to this server in the dev stack
            log.info("DSN for %s sent to %s", recipient, sender)
            if self.on_message is not None:
                self.on_message(dsn)
        except Exception:  # the capture keeps serving whatever one bounce does
            log.exception("could not answer %s with a DSN", recipient)


def start_capture(mail_dir: Path, port: int, host: str = "127.0.0.1", *, bounce_domain: str | None = None,
                  on_message: InboundCallback | None = None, dsn_delay: float = DSN_DELAY_SECONDS,
                  own_domain: str | None = None) -> Controller:
    """Start the capture on `host:port`; `bounce_domain` None reads `DUECOURSE_BOUNCE_DOMAIN`. `on_message`
    is called (on the capture's own thread) with each DSN it sends back and each message to `own_domain`."""
    handler = CaptureHandler(mail_dir, bounce_domain=bounce_domain, on_message=on_message, dsn_delay=dsn_delay,
                             own_domain=own_domain)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    return controller
