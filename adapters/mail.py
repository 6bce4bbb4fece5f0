"""The mailer port and its SMTP implementation."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from pydantic import BaseModel


class OutgoingMail(BaseModel):
    to: str
    subject: str
    body: str
    sender: str
    # Deterministic Message-ID derived from the idempotency key: a resend after a crash carries the
    # same id, so mail clients fold the two copies into one.
    message_id: str
    reply_to: str | None = None


class MailError(Exception):
    """Delivery failed; `permanent` says whether retrying can help (5xx from the server, bad address)."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


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
            raise MailError(f"recipient refused: {mail.to}: {error.recipients}", permanent=True) from error
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise MailError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=permanent) from error
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"SMTP server {self.host}:{self.port} unreachable: {error}", permanent=False) from error
