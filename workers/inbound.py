"""Mail arriving back: delivery status notifications and customers' replies.

`InboundMail.handle(raw)` takes one message as it arrived (bytes), from the dev stack's SMTP capture today
or a mailbox reader (IMAP) later, and never raises:
- a DSN (RFC 3464 multipart/report, parsed with the stdlib `email` package) names the failed recipient and
  the original Message-ID. A permanent failure (Action: failed, Status 5.x.x) of a reminder we sent to that
  address marks the address bad in the store and signals the reminder's lifecycle
  (`InvoiceLifecycle.bounced`). A transient one (Action: delayed, 4.x.x) marks nothing;
- a DSN about a Message-ID we never sent, or about an address the reminder was not sent to, marks nothing
  (anyone can mail a DSN; only one that matches our outbox can make an address bad);
- a reply (In-Reply-To or References naming a reminder's Message-ID, or sent to a reminder's Reply-To
  address `reply+<id>@...`) is classified by the rules (activities/replies). A sure reading that calls for an
  action (workflows/reply_actions.py: promise, dispute, paid, out of office) is sent to the invoice's
  lifecycle at once; anything else becomes a `reply` item for a person (workflows/reply_review.py);
- mail that answers no reminder of ours is recorded and nothing else; malformed mail likewise.
Every message is recorded in the store (`inbound_mail`, with its raw bytes), whatever came of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, HeaderParser
from typing import Literal

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.messaging import MESSAGE_ID_DOMAIN
from activities.replies import REVIEW_THRESHOLD, Reply, classify
from activities.replies.plain_text import readable
from activities.replies.quoting import fresh_text
from adapters.store import AuditRecord, InboundRecord, OutboxMessage, Store, normal_address
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.lifecycle_messages import BouncedSignal, LedgerEventSignal
from workflows.reply_actions import ReplyAction, ReplyReading, reply_action
from workflows.reply_review import ReplyReview, ReplyReviewInput

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
                         "signal-failed", "ignored", "no-recipient", "acted", "for-review", "duplicate"]
REPLY_ADDRESS = re.compile(r"\breply\+([0-9a-f]{32})@", re.IGNORECASE)
MAX_REPLY_TEXT = 4000  # of the customer's own words, kept on the `reply` item


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

    def __init__(self, store: Store, client: ClientSource, *, task_queue: str = "duecourse",
                 today: Callable[[], date] | None = None) -> None:
        self.store = store
        self._client_source = client
        self._client: Client | None = client if isinstance(client, Client) else None
        self.task_queue = task_queue  # where a `reply` item's workflow runs
        self.today = today or (lambda: datetime.now(UTC).date())  # the ledger's today (the dev stack's clock)

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
            return [await self._reply(raw)]
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

    # --- replies ---------------------------------------------------------------------------------------

    async def _reply(self, raw: bytes) -> InboundRecord:
        message = message_from_bytes(raw, policy=policy.default)
        own_id = _message_id(_header(message, "Message-ID"))
        sent = await asyncio.to_thread(self._reminder_answered, message)

        def record(outcome: InboundOutcome, detail: str) -> Awaitable[InboundRecord]:
            return self._record(raw, kind="reply" if sent else "other", outcome=outcome, detail=detail,
                                message_id=own_id, original_message_id=sent.message_id if sent else None,
                                workflow_id=sent.workflow_id if sent else None)

        if sent is None:
            log.info("inbound message answers no reminder we sent: recorded, nothing done")
            return await record("ignored", "not a delivery report, and not a reply to a reminder we sent")
        if sent.kind != "reminder":
            return await record("ignored", f"a reply to a {sent.kind} ({sent.message_id}), not to a reminder: kept, "
                                           "nothing done")
        client = await self.client()
        try:
            state = await client.get_workflow_handle(sent.workflow_id).query(InvoiceLifecycle.status)
        except RPCError as error:
            return await record("workflow-closed", f"reply to {sent.message_id}: {error.message}")
        invoice = state.invoice
        if invoice is None:
            return await record("workflow-closed", f"reply to {sent.message_id}: the invoice is not read yet")
        sender = _address_field(_header(message, "From")) or ""
        reading = classify_reply(message, sender, self.today())
        key = reply_key(own_id, raw)
        action = reply_action(reading) if reading.confidence >= REVIEW_THRESHOLD else None
        said = f"{reading.kind} ({reading.confidence:.2f})" + (f" {reading.date.isoformat()}" if reading.date else "")
        if action is not None:
            try:
                await self._act(client, sent.workflow_id, key, action)
            except RPCError as error:
                return await record("signal-failed", f"{said}: {action.summary}; {error.message}")
            await asyncio.to_thread(self._audit_reply, sent, invoice.id, key, said, action.summary)
            log.info("reply to %s read as %s: %s", sent.message_id, said, action.summary)
            return await record("acted", f"{said}: {action.summary}")
        review = ReplyReviewInput(
            key=key, invoice_workflow_id=sent.workflow_id, ledger=_id_part(sent.workflow_id, 1),
            tenant=_id_part(sent.workflow_id, 2), invoice_id=invoice.id, invoice_number=invoice.number,
            customer_id=invoice.customer_id, customer_name=invoice.customer_name, amount=invoice.balance.amount,
            currency=invoice.currency, reading=reading,
            text=fresh_text(readable(reply_text(message)))[:MAX_REPLY_TEXT],
        )
        try:
            await client.start_workflow(ReplyReview.run, review, id=reply_review_id(sent.workflow_id, key),
                                        task_queue=self.task_queue)
        except WorkflowAlreadyStartedError:
            return await record("duplicate", f"{said}: this reply is already awaiting a person")
        return await record("for-review", f"{said}: a `reply` item for a person")

    def _reminder_answered(self, message: Message) -> OutboxMessage | None:
        """The reminder this message answers: by its thread headers, else by the Reply-To address it was sent to."""
        for header in ("In-Reply-To", "References"):
            for candidate in re.findall(r"<[^<>\s]+>", _header(message, header)):
                sent = self.store.outbox_by_message_id(candidate)
                if sent is not None:
                    return sent
        for header in ("To", "Cc", "Delivered-To", "X-Original-To"):
            for token in REPLY_ADDRESS.findall(_header(message, header)):
                sent = self.store.outbox_by_message_id(f"<{token.lower()}@{MESSAGE_ID_DOMAIN}>")
                if sent is not None:
                    return sent
        return None

    async def _act(self, client: Client, workflow_id: str, key: str, action: ReplyAction) -> None:
        handle = client.get_workflow_handle(workflow_id)
        if action.refresh:
            await handle.signal(InvoiceLifecycle.ledger_event,
                                LedgerEventSignal(event_id=f"reply:{key}", entity="Invoice", operation="update"))
        if action.promise is not None:
            await handle.signal(InvoiceLifecycle.promise_to_pay, action.promise)
        if action.dispute is not None:
            await handle.signal(InvoiceLifecycle.dispute, action.dispute)
        if action.pause is not None:
            await handle.signal(InvoiceLifecycle.pause_dunning, action.pause)

    def _audit_reply(self, sent: OutboxMessage, invoice_id: str, key: str, said: str, done: str) -> None:
        self.store.record_audit(AuditRecord(
            idempotency_key=f"{sent.workflow_id}:reply:{key}", workflow_id=sent.workflow_id, invoice_id=invoice_id,
            action="reply read", inputs={"reading": said, "source": "reply", "reminder": sent.message_id},
            rule_version="reply-actions/1", approver=None, result=done))

    async def _record(self, raw: bytes, *, kind: str, outcome: InboundOutcome, detail: str,
                      report: DeliveryReport | None = None, recipient: RecipientStatus | None = None,
                      workflow_id: str | None = None, message_id: str | None = None,
                      original_message_id: str | None = None) -> InboundRecord:
        if report is not None and report.truncated:
            detail += f" (report cut at {MAX_RECIPIENTS} recipients)"
        entry = InboundRecord(
            received_at=datetime.now(UTC), message_id=report.message_id if report else message_id, kind=kind,
            original_message_id=report.original_message_id if report else original_message_id,
            address=recipient.address if recipient else None, status=recipient.status if recipient else None,
            workflow_id=workflow_id, outcome=outcome, detail=detail[:2000],
        )
        return await asyncio.to_thread(self.store.record_inbound, entry, bytes(raw) if isinstance(raw, bytes) else b"")


def reply_key(message_id: str | None, raw: bytes) -> str:
    """A reply's own key: from its Message-ID, else its bytes (the same reply twice is the same key)."""
    return hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()[:20]


def reply_review_id(lifecycle_id: str, key: str) -> str:
    return f"reply:{lifecycle_id}:{key}"


def classify_reply(message: Message, sender: str, today: date) -> ReplyReading:
    """The rules' reading of a reply (activities/replies), as the reply actions take it."""
    subject = _header(message, "Subject")
    reading = classify(Reply(subject=subject, body=reply_text(message), sender=sender), today)
    return ReplyReading(kind=reading.kind, date=reading.date, confidence=reading.confidence,
                        evidence=reading.evidence, sender=sender, subject=subject, received=today)


def reply_text(message: Message) -> str:
    """The body as its sender wrote it: the text/plain part, else the HTML part (the rules flatten HTML)."""
    if not isinstance(message, EmailMessage):
        return ""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _id_part(workflow_id: str, index: int) -> str:
    """`invoice:<ledger>:<tenant>:<invoice id>`: one part of a lifecycle's id."""
    parts = workflow_id.split(":", 3)
    return parts[index] if len(parts) == 4 else ""


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
