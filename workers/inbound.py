"""Mail arriving back: delivery status notifications now (replies are issue 13).

`InboundMail.handle(raw)` takes one message as it arrived (bytes), from the dev stack's SMTP capture today
or a mailbox reader (IMAP) later, and never raises:
- a DSN (RFC 3464 multipart/report, parsed with the stdlib `email` package) names the failed recipient and
  the original Message-ID. A permanent failure (Action: failed, Status 5.x.x) of a reminder we sent to that
  address marks the address bad in the store and signals the reminder's lifecycle
  (`InvoiceLifecycle.bounced`). A transient one (Action: delayed, 4.x.x) marks nothing;
- a DSN about a Message-ID we never sent, or about an address the reminder was not sent to, marks nothing
  (anyone can mail a DSN; only one that matches our outbox can make an address bad);
- anything else is recorded and left for the reply reader (issue 13), malformed mail likewise.
Every message is recorded in the store (`inbound_mail`, with its raw bytes), whatever came of it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from typing import Literal

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.store import InboundRecord, OutboxMessage, Store, normal_address
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import BouncedSignal

log = logging.getLogger("duecourse.inbound")

MAX_RECIPIENTS = 50  # per DSN: a report naming more is cut short (and says so in the record)
_ADDRESS = re.compile(r"^[^@\s<>;,\"]+@[^@\s<>;,\"]+\.[^@\s<>;,\"]+$")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


class MalformedMessage(ValueError):
    """A message that claims to be a DSN but cannot be read as one."""


class RecipientStatus(BaseModel):
    """One per-recipient block of a delivery status notification."""

    address: str
    original_address: str | None = None
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. "5.1.1"
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")

    @property
    def reason(self) -> str:
        return f"{self.status} {self.diagnostic}".strip()


class DeliveryReport(BaseModel):
    message_id: str | None  # the DSN's own
    original_message_id: str | None  # the message it reports on
    recipients: list[RecipientStatus]
    truncated: bool = False


InboundOutcome = Literal["signalled", "unmatched", "transient", "recipient-mismatch", "workflow-closed",
                         "signal-failed", "ignored", "no-recipient"]


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _address_field(value: str) -> str | None:
    """`rfc822; someone@example.com` -> the address, lower-cased; None when it is not an address."""
    kind, _, rest = value.partition(";")
    address = normal_address(rest if rest else kind)
    return address if _ADDRESS.match(address) else None


def _message_id(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    match = re.search(r"<[^<>\s]+>", value)
    if match:
        return match.group(0)
    return f"<{value}>" if re.fullmatch(r"[^<>\s]+@[^<>\s]+", value) else None


def is_delivery_report(message: Message) -> bool:
    return (message.get_content_type() == "multipart/report"
            and str(message.get_param("report-type", "", header="content-type")).lower() == "delivery-status")


def _original_message_id(report: Message) -> str | None:
    for part in report.walk():
        kind = part.get_content_type()
        if kind in ("text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                headers = BytesHeaderParser().parsebytes(payload)
            else:
                headers = HeaderParser().parsestr(str(part.get_payload()))
            found = _message_id(_header(headers, "Message-ID"))
            if found:
                return found
        elif kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = _message_id(_header(inner[0], "Message-ID"))
                if found:
                    return found
    return None


def parse_delivery_report(raw: bytes) -> DeliveryReport | None:
    """The DSN in `raw`; None when `raw` is not a DSN; `MalformedMessage` when it is one but unreadable."""
    message = message_from_bytes(raw, policy=policy.compat32)
    if not is_delivery_report(message):
        return None
    blocks: list[Message] = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks = [block for block in payload if isinstance(block, Message)]
            break
    else:
        raise MalformedMessage("a multipart/report without a message/delivery-status part")
    recipients: list[RecipientStatus] = []
    truncated = False
    for block in blocks[1:]:  # the first block is about the message, the others one recipient each
        address = _address_field(_header(block, "Final-Recipient"))
        if address is None:
            continue
        if len(recipients) >= MAX_RECIPIENTS:
            truncated = True
            break
        status_match = _STATUS.search(_header(block, "Status"))
        action = _header(block, "Action").lower()
        if status_match is None or not action:
            raise MalformedMessage(f"the report on {address} has no readable Action and Status")
        diagnostic = _header(block, "Diagnostic-Code")
        recipients.append(RecipientStatus(
            address=address, original_address=_address_field(_header(block, "Original-Recipient")),
            action=action.split()[0], status=".".join(status_match.groups()),
            diagnostic=diagnostic.partition(";")[2].strip() if ";" in diagnostic else diagnostic,
        ))
    return DeliveryReport(message_id=_message_id(_header(message, "Message-ID")),
                          original_message_id=_original_message_id(message), recipients=recipients,
                          truncated=truncated)


ClientSource = Client | Callable[[], Awaitable[Client]]


class InboundMail:
    """Reads arriving mail; see the module docstring. `client` is a Temporal client or a way to connect one."""

    def __init__(self, store: Store, client: ClientSource) -> None:
        self.store = store
        self._client_source = client
        self._client: Client | None = client if isinstance(client, Client) else None

    async def client(self) -> Client:
        if self._client is None:
            assert not isinstance(self._client_source, Client)
            self._client = await self._client_source()
        return self._client

    async def handle(self, raw: bytes) -> list[InboundRecord]:
        """Read one arriving message; what came of it, one record per recipient reported (never raises)."""
        try:
            return await self._handle(raw)
        except Exception as error:
            log.exception("inbound message could not be handled; kept in the store")
            return [await self._record(raw, kind="malformed", outcome="ignored",
                                       detail=f"{type(error).__name__}: {error}"[:500])]

    async def _handle(self, raw: bytes) -> list[InboundRecord]:
        if not isinstance(raw, bytes | bytearray):
            raise TypeError(f"an arriving message is bytes, not {type(raw).__name__}")
        raw = bytes(raw)
        try:
            report = parse_delivery_report(raw)
        except MalformedMessage as error:
            log.warning("malformed delivery report: %s", error)
            return [await self._record(raw, kind="malformed", outcome="ignored", detail=str(error))]
        if report is None:
            # Issue 13: replies (In-Reply-To a reminder's Message-ID, or to its Reply-To) are read here.
            log.info("inbound message is not a delivery report; left for the reply reader")
            return [await self._record(raw, kind="other", outcome="ignored", detail="not a delivery report")]
        if not report.recipients:
            log.warning("delivery report %s names no recipient", report.message_id)
            return [await self._record(raw, kind="dsn", outcome="no-recipient", report=report,
                                       detail="the report names no recipient")]
        sent = (await asyncio.to_thread(self.store.outbox_by_message_id, report.original_message_id)
                if report.original_message_id else None)
        records = [await self._one(raw, report, recipient, sent) for recipient in report.recipients]
        return records

    async def _one(self, raw: bytes, report: DeliveryReport, recipient: RecipientStatus,
                   sent: OutboxMessage | None) -> InboundRecord:
        def record(outcome: InboundOutcome, detail: str, workflow_id: str | None = None) -> Awaitable[InboundRecord]:
            return self._record(raw, kind="dsn", outcome=outcome, report=report, recipient=recipient,
                                workflow_id=workflow_id, detail=detail)

        if not recipient.permanent:
            log.info("transient DSN for %s (%s %s): nothing marked", recipient.address, recipient.action,
                     recipient.status)
            return await record("transient", f"{recipient.action}: {recipient.reason}",
                                sent.workflow_id if sent else None)
        if sent is None:
            log.warning("DSN for %s names Message-ID %s, which is not in the outbox: recorded, nothing marked",
                        recipient.address, report.original_message_id)
            return await record("unmatched", f"no outbox message {report.original_message_id}: {recipient.reason}")
        if normal_address(sent.to) not in {recipient.address, recipient.original_address}:
            log.warning("DSN for %s is about %s, which went to %s: recorded, nothing marked",
                        recipient.address, sent.message_id, sent.to)
            return await record("recipient-mismatch", f"{sent.message_id} went to {sent.to}: {recipient.reason}",
                                sent.workflow_id)
        address = normal_address(sent.to)
        await asyncio.to_thread(self.store.mark_address_bad, address, recipient.reason, "dsn",
                                message_id=sent.message_id, workflow_id=sent.workflow_id)
        signal = BouncedSignal(address=address, message_id=sent.message_id, permanent=True, reason=recipient.reason)
        try:
            client = await self.client()
            await client.get_workflow_handle(sent.workflow_id).signal(InvoiceLifecycle.bounced, signal)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                log.info("DSN for %s: workflow %s has closed; the address is marked bad", address, sent.workflow_id)
                return await record("workflow-closed", f"{recipient.reason}; {error.message}", sent.workflow_id)
            log.error("DSN for %s: signalling %s failed: %s", address, sent.workflow_id, error)
            return await record("signal-failed", f"{recipient.reason}; {error}", sent.workflow_id)
        except Exception as error:
            log.error("DSN for %s: signalling %s failed: %s", address, sent.workflow_id, error)
            return await record("signal-failed", f"{recipient.reason}; {type(error).__name__}: {error}",
                                sent.workflow_id)
        log.info("DSN: %s bounced (%s); told %s", address, recipient.reason, sent.workflow_id)
        return await record("signalled", recipient.reason, sent.workflow_id)

    async def _record(self, raw: bytes, *, kind: str, outcome: InboundOutcome, detail: str,
                      report: DeliveryReport | None = None, recipient: RecipientStatus | None = None,
                      workflow_id: str | None = None) -> InboundRecord:
        if report is not None and report.truncated:
            detail += f" (report cut at {MAX_RECIPIENTS} recipients)"
        entry = InboundRecord(
            received_at=datetime.now(UTC), message_id=report.message_id if report else None, kind=kind,
            original_message_id=report.original_message_id if report else None,
            address=recipient.address if recipient else None, status=recipient.status if recipient else None,
            workflow_id=workflow_id, outcome=outcome, detail=detail[:2000],
        )
        return await asyncio.to_thread(self.store.record_inbound, entry, bytes(raw) if isinstance(raw, bytes) else b"")


def from_thread(inbound: InboundMail, loop: asyncio.AbstractEventLoop) -> Callable[[bytes], None]:
    """A callback for another thread (the SMTP capture's) that hands each message to `inbound` on `loop`."""

    def done(future: Future[list[InboundRecord]]) -> None:
        if future.cancelled():
            log.warning("an inbound message was dropped: the stack stopped first")
        elif future.exception() is not None:
            log.error("inbound handling failed: %s", future.exception())

    def hand_over(raw: bytes) -> None:
        asyncio.run_coroutine_threadsafe(inbound.handle(raw), loop).add_done_callback(done)

    return hand_over


async def handle_all(inbound: InboundMail, messages: Sequence[bytes]) -> list[InboundRecord]:
    """Every message in turn (a mailbox reader's batch)."""
    records: list[InboundRecord] = []
    for raw in messages:
        records += await inbound.handle(raw)
    return records
