"""What the collections activity report reads: the store's audit log and inbound mail, and the ledger's payments.

The records the workflows leave behind, turned into the inputs of `activities.reports.activity`:
- a reminder sent: the lifecycle's audit row `reminder sent` (its key ends `:reminder-sent:L<level>`);
- a reply: an inbound message of kind `reply` naming the lifecycle it answers;
- an approval decided: any audit row whose inputs carry `requested_at` (the lifecycle records it with every
  reminder decision), timed by the row's own time;
- a deposit decided: the CashApplication audit rows (`cash match auto-applied`, a person's `cash match approve|edit`
  or `cash match rejected`, and shadow mode's `cash match suggested (shadow)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from activities.reports.activity import (
    ActivityReport,
    ApprovalDecided,
    DepositDecided,
    DepositOutcome,
    PaymentOn,
    ReminderSent,
    ReplyReceived,
    collections_activity,
)
from activities.reports.books import Books
from adapters.store import AuditRecord, InboundRecord, Store

# Every row, not the store's default page: a report over a year reads a year of audit rows.
ALL_ROWS = 10_000_000
_REMINDER_KEY = re.compile(r":reminder-sent:L(\d+)$")
_BANK_LINE_KEY = re.compile(r":bankline:([^:]+):")
_DEPOSIT_OUTCOMES: dict[str, DepositOutcome] = {
    "cash match auto-applied": "auto",
    "cash match approve": "person",
    "cash match edit": "person",
    "cash match rejected": "person",
    "cash match suggested (shadow)": "shadow",
}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def reminders_sent(audit: Iterable[AuditRecord]) -> list[ReminderSent]:
    found = []
    for row in audit:
        level = _REMINDER_KEY.search(row.idempotency_key)
        if row.action == "reminder sent" and level and row.invoice_id and row.at:
            found.append(ReminderSent(row.invoice_id, int(level.group(1)), _aware(row.at)))
    return found


def approvals_decided(audit: Iterable[AuditRecord]) -> list[ApprovalDecided]:
    found = []
    for row in audit:
        requested = row.inputs.get("requested_at")
        if not requested or row.at is None:
            continue
        try:
            requested_at = _aware(datetime.fromisoformat(str(requested)))
        except ValueError:
            continue  # not a time: nothing to measure
        kind = row.action.split(" ")[0] if row.action else "other"
        found.append(ApprovalDecided(kind, requested_at, _aware(row.at)))
    return found


def deposits_decided(audit: Iterable[AuditRecord]) -> list[DepositDecided]:
    found = []
    for row in audit:
        outcome = _DEPOSIT_OUTCOMES.get(row.action)
        bank_line = _BANK_LINE_KEY.search(row.idempotency_key)
        if outcome and bank_line and row.at:
            found.append(DepositDecided(str(row.inputs.get("bank_line_id") or bank_line.group(1)), outcome,
                                        _aware(row.at)))
    return found


def replies_received(inbound: Iterable[InboundRecord], invoice_of: dict[str, str]) -> list[ReplyReceived]:
    """Replies to a lifecycle's reminders, by the invoice that lifecycle carries (`invoice_of`: workflow id -> id)."""
    return [ReplyReceived(invoice_of[m.workflow_id], _aware(m.received_at)) for m in inbound
            if m.kind == "reply" and m.workflow_id in invoice_of]


def activity_report(store: Store, books: Books, since: date, as_of: date, within_days: int = 7) -> ActivityReport:
    audit = store.list_audit(limit=ALL_ROWS)
    invoice_of = {row.workflow_id: row.invoice_id for row in audit if row.invoice_id}
    payments = [PaymentOn(p.invoice_id, p.date) for p in books.payments]
    return collections_activity(since, as_of, reminders_sent(audit),
                                replies_received(store.list_inbound(limit=ALL_ROWS), invoice_of), payments,
                                approvals_decided(audit), deposits_decided(audit), within_days)
