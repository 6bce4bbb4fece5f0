"""Drafting and sending customer messages, and the audit trail of every decision."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.error_types import (
    DRAFTER_RATE_LIMITED,
    DRAFTER_REFUSED,
    DRAFTER_UNAVAILABLE,
    LEDGER_NOT_CONNECTED,
)
from activities.errors import as_application_errors, hold_while_paused
from activities.ledger import ledger_key
from adapters.drafting.port import Draft, Drafter, ReminderFacts
from adapters.drafting.template import TemplateDrafter
from adapters.ledger import InvoiceStatus, LedgerPort, NotFound
from adapters.mail import Mailer, OutgoingMail, RecipientRefused
from adapters.metrics import REMINDERS_SENT

if TYPE_CHECKING:  # the store loads sqlmodel: the worker builds it, workflows importing this module do not
    from adapters.store import Store


class DraftReminderInput(BaseModel):
    workflow_id: str
    facts: ReminderFacts


class SendReminderInput(BaseModel):
    idempotency_key: str
    workflow_id: str
    ledger: str
    tenant: str
    invoice_id: str
    level: int
    to: str
    subject: str
    body: str
    drafter: str
    approved_by: str | None = None


class SendReminderResult(BaseModel):
    message_id: str
    already_sent: bool
    # "bounced": the address is bad (refused permanently at send time, or already known bad): nothing left,
    # the workflow tries the customer's next contact. "not_sent": re-read after a hold (kill switch, SMTP
    # outage), the invoice was paid or voided meanwhile; `reason` says which.
    outcome: Literal["sent", "bounced", "not_sent"] = "sent"
    reason: str | None = None


class AuditInput(BaseModel):
    idempotency_key: str
    workflow_id: str
    invoice_id: str | None
    action: str
    inputs: dict[str, object] = Field(default_factory=dict)
    rule_version: str | None = None
    model: str | None = None
    approver: str | None = None
    result: str = ""
    # Also written to the ledger as a note on the invoice, when the ledger takes notes.
    ledger: str | None = None
    tenant: str | None = None


# When the template stands in for the LLM, decided here once. An unreachable or rate-limited endpoint
# gets this many attempts at a reminder, and when the last of them fails too the template answers (a
# refusal gets the template at once); the workflow schedules `draft_reminder` with DRAFTING_RETRY, whose
# attempts outnumber them, so the template's turn always comes. The two attempts beyond are for failures
# that are not the drafter's (a worker lost mid-draft).
DRAFTER_ATTEMPTS_BEFORE_TEMPLATE = 3
DRAFTING_RETRY = RetryPolicy(maximum_attempts=DRAFTER_ATTEMPTS_BEFORE_TEMPLATE + 2,
                             maximum_interval=timedelta(minutes=2))


MESSAGE_ID_DOMAIN = "duecourse.local"


def message_id_for(idempotency_key: str, domain: str = MESSAGE_ID_DOMAIN) -> str:
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


def reply_address(message_id: str, sender: str) -> str | None:
    """Where a reply to this reminder goes: `reply+<the Message-ID's id>@<the sender's domain>`, so a reply that
    lost its thread headers still finds its invoice (workers/inbound.py reads it back)."""
    local = message_id.strip("<>").split("@", 1)[0]
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else ""
    return f"reply+{local}@{domain}" if local and domain else None


class MessagingActivities:
    def __init__(self, store: Store, mailer: Mailer, drafter: Drafter, sender: str,
                 ledgers: Mapping[str, LedgerPort] | None = None) -> None:
        self.store = store
        self.mailer = mailer
        self.drafter = drafter
        self.sender = sender
        self.ledgers = ledgers or {}

    @activity.defn
    def draft_reminder(self, request: DraftReminderInput) -> Draft:
        """The configured drafter's draft; after a few failed attempts at an unreachable or refusing LLM
        endpoint, the template answers and the draft says why (a reminder is never lost to an outage)."""
        try:
            with as_application_errors():
                return self.drafter.draft_reminder(request.facts)
        except ApplicationError as error:
            if error.type not in (DRAFTER_UNAVAILABLE, DRAFTER_RATE_LIMITED, DRAFTER_REFUSED):
                raise
            if error.type != DRAFTER_REFUSED and activity.info().attempt < DRAFTER_ATTEMPTS_BEFORE_TEMPLATE:
                raise
            return TemplateDrafter().draft_reminder(request.facts, fallback_reason=f"LLM endpoint failed: {error}")

    @activity.defn
    def send_reminder(self, request: SendReminderInput) -> SendReminderResult:
        """Send once per idempotency key (invoice + level + contact): a retry or a replay never sends twice.

        A bad address never fails the workflow: refused permanently at RCPT TO, or already known bad from
        any earlier bounce, the answer is "bounced" (and the address is marked bad for everyone). A send
        held by the kill switch or an SMTP outage re-reads the invoice when released: settled meanwhile,
        nothing leaves ("not_sent"). The outbox keeps each outcome, so a retry or a replay answers the same."""
        self._hold_while_paused()
        from adapters.store import OutboxMessage

        message_id = message_id_for(request.idempotency_key)
        record = self.store.outbox_reserve(
            OutboxMessage(
                idempotency_key=request.idempotency_key,
                workflow_id=request.workflow_id,
                invoice_id=request.invoice_id,
                kind="reminder",
                to=request.to,
                subject=request.subject,
                body=request.body,
                message_id=message_id,
                drafter=request.drafter,
                approved_by=request.approved_by,
                status="sending",
                created_at=datetime.now(UTC),
                sent_at=None,
            )
        )
        if record.status == "sent":
            activity.logger.info("skip-if-sent: %s already went out", request.idempotency_key)
            return SendReminderResult(message_id=record.message_id, already_sent=True)
        if record.status in ("bounced", "not_sent"):
            outcome: Literal["bounced", "not_sent"] = "bounced" if record.status == "bounced" else "not_sent"
            return SendReminderResult(message_id=record.message_id, already_sent=False, outcome=outcome,
                                      reason=record.reason)
        known_bad = self.store.bad_address(record.to)
        if known_bad is not None:
            return self._not_sent(record.idempotency_key, record.message_id, "bounced",
                                  f"{known_bad.address} is known bad ({known_bad.reason})")
        if activity.info().attempt > 1:
            # Held (kill switch) or failed (SMTP outage) before: the ledger may have moved on meanwhile.
            settled = self._settled_while_held(request)
            if settled is not None:
                return self._not_sent(record.idempotency_key, record.message_id, "not_sent", settled)
        # A record left in "sending" by a crash is sent again with the same Message-ID (at least once,
        # folded by mail clients); the subject and body are the ones first reserved.
        # A transient failure (4xx, server unreachable) stays a retryable error: the next attempt re-reads.
        with as_application_errors():
            try:
                self.mailer.send(
                    OutgoingMail(
                        to=record.to, subject=record.subject, body=record.body, sender=self.sender,
                        message_id=record.message_id, reply_to=reply_address(record.message_id, self.sender),
                    )
                )
            except RecipientRefused as refused:
                self.store.mark_address_bad(record.to, f"{refused.code} {refused.reply}", "smtp",
                                            message_id=record.message_id, workflow_id=request.workflow_id)
                activity.logger.warning("bounced at send time: %s", refused)
                return self._not_sent(record.idempotency_key, record.message_id, "bounced",
                                      f"refused by the mail server: {refused.code} {refused.reply}")
        self.store.outbox_mark_sent(request.idempotency_key)
        REMINDERS_SENT.labels(str(request.level)).inc()
        return SendReminderResult(message_id=record.message_id, already_sent=False)

    def _hold_while_paused(self) -> None:
        hold_while_paused(self.store.is_paused())

    def _not_sent(self, idempotency_key: str, message_id: str, outcome: Literal["bounced", "not_sent"],
                  reason: str) -> SendReminderResult:
        self.store.outbox_mark(idempotency_key, outcome, reason)
        return SendReminderResult(message_id=message_id, already_sent=False, outcome=outcome, reason=reason)

    def _settled_while_held(self, request: SendReminderInput) -> str | None:
        """Why the invoice no longer wants this reminder (paid, voided, nothing owed), re-read from the ledger."""
        port = self.ledgers.get(ledger_key(request.ledger, request.tenant))
        if port is None:
            raise ApplicationError(
                f"no connection to ledger {request.ledger!r} tenant {request.tenant!r} on this worker: a held "
                "reminder is sent only after the invoice is read again", type=LEDGER_NOT_CONNECTED,
            )
        with as_application_errors():
            try:
                invoice = port.get_invoice(request.invoice_id)
            except NotFound:
                return "deleted from the ledger while held"
        if invoice.status == InvoiceStatus.PAID:
            return "paid while held"
        if invoice.status == InvoiceStatus.VOID:
            return "voided while held"
        if invoice.balance.amount <= 0:
            return "nothing left to pay (zero balance) while held"
        return None

    @activity.defn
    def record_audit(self, entry: AuditInput) -> None:
        """Append to the audit log and, when the ledger takes notes, write the same line back to it.

        The row is always written (once per key); the note is an outbound action, so the kill switch holds
        it: the activity raises the retryable OUTBOUND_PAUSED after storing the row, and the retry after
        `duecourse resume` finds the row there and writes the note."""
        from adapters.store import AuditRecord

        self.store.record_audit(
            AuditRecord(
                idempotency_key=entry.idempotency_key, workflow_id=entry.workflow_id,
                invoice_id=entry.invoice_id, action=entry.action, inputs=dict(entry.inputs),
                rule_version=entry.rule_version, model=entry.model, approver=entry.approver,
                result=entry.result,
            )
        )
        if entry.ledger and entry.tenant and entry.invoice_id:
            port = self.ledgers.get(ledger_key(entry.ledger, entry.tenant))
            if port is not None:
                self._hold_while_paused()
                note = f"duecourse: {entry.action}: {entry.result}"
                if entry.approver:
                    note += f" (by {entry.approver})"
                with as_application_errors():
                    port.add_note("Invoice", entry.invoice_id, note, idempotency_key=entry.idempotency_key)
