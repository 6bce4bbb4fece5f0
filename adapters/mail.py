"""The mailer port and its SMTP implementation."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from pydantic import BaseModel, Field


class MailAttachment(BaseModel):
    """A file sent with a mail (a statement's PDF)."""

    filename: str  # plain ASCII, chosen by us: never a customer's text
    content_type: str  # "application/pdf"
    data: bytes


class OutgoingMail(BaseModel):
    to: str
    subject: str
    body: str
    sender: str
    # Deterministic Message-ID derived from the idempotency key: a resend after a crash carries the
    # same id, so mail clients fold the two copies into one.
    message_id: str
    reply_to: str | None = None
    attachments: list[MailAttachment] = Field(default_factory=list)


class MailError(Exception):
    """Delivery failed; `permanent` says whether retrying can help (5xx from the server, bad address)."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class RecipientRefused(MailError):
    """The server refused the recipient itself with a permanent 5xx at RCPT TO: the address is bad.

    Not raised for a transient refusal (4xx: mailbox busy, greylisting), which stays a retryable `MailError`,
    nor for a 5xx about anything other than the recipient (sender refused, authentication)."""

    def __init__(self, address: str, code: int, reply: str) -> None:
        super().__init__(f"recipient refused: {address}: {code} {reply}", permanent=True)
        self.address = address
        self.code = code
        self.reply = reply


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None: ...


def to_email_message(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message.set_content(mail.body)
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=attachment.filename)
    return message


class SmtpMailer:
    def __init__(self, host: str, port: int, *, username: str | None = None, password: str | None = None,
                 starttls: bool = False, timeout: float = 20.0) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, mail: OutgoingMail) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(to_email_message(mail))
        except smtplib.SMTPRecipientsRefused as error:
            raise _refusal(mail.to, error) from error
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise MailError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=permanent) from error
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"SMTP server {self.host}:{self.port} unreachable: {error}", permanent=False) from error


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _refusal(to: str, error: smtplib.SMTPRecipientsRefused) -> MailError:
    """A refusal at RCPT TO: permanent (5xx) names the address bad; anything else is worth retrying."""
    recipients: dict[str, tuple[int, bytes | str]] = dict(error.recipients)
    code, reply = recipients.get(to) or next(iter(recipients.values()), (0, b"no reply"))
    if 500 <= code < 600:
        return RecipientRefused(to, code, _reply_text(reply))
    return MailError(f"recipient deferred: {to}: {code} {_reply_text(reply)}", permanent=False)
