"""Collections activity over a period: what the dunning, the approvers and cash application did, and what came of it.

Pure: the records come in (from the store's audit log and inbound mail, and the ledger's payments: see
workers/report_activity.py), the figures go out.

- Reminders sent per dunning level in the period.
- Reply and payment rates after each level: a reminder counts as answered (paid) when a reply arrived (a payment
  was applied to its invoice) within `within_days` days after it was sent, and before the invoice's next
  reminder, so a reply or payment is credited to the one reminder that preceded it, never to two.
  Payments carry a date only: one dated on the reminder's own day or up to `within_days` days later counts.
- Approval turnaround: hours from a draft being put in front of a person to their decision, for the
  decisions made in the period (median, mean, 90th percentile; nearest-rank).
- Cash application straight-through rate: deposits applied automatically / all deposits that got a decision
  (applied automatically, or sent to a person who confirmed, edited or rejected it) in the period.
  Shadow-mode suggestions act on nothing, so they are counted apart and left out of the rate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar

DepositOutcome = Literal["auto", "person", "shadow"]
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ReminderSent:
    invoice_id: str
    level: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ReplyReceived:
    invoice_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentOn:
    invoice_id: str
    date: date


@dataclass(frozen=True, slots=True)
class ApprovalDecided:
    kind: str  # reminder, payment_match, ...
    requested_at: datetime
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class DepositDecided:
    bank_line_id: str
    outcome: DepositOutcome
    at: datetime


@dataclass(frozen=True, slots=True)
class LevelActivity:
    level: int
    sent: int
    replied: int
    paid: int

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.sent if self.sent else None

    @property
    def payment_rate(self) -> float | None:
        return self.paid / self.sent if self.sent else None

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "sent": self.sent, "replied": self.replied,
                "reply_rate": _rounded(self.reply_rate), "paid": self.paid, "payment_rate": _rounded(self.payment_rate)}


@dataclass(frozen=True, slots=True)
class Turnaround:
    decisions: int
    median_hours: float | None
    mean_hours: float | None
    p90_hours: float | None

    def to_json(self) -> dict[str, Any]:
        return {"decisions": self.decisions, "median_hours": _rounded(self.median_hours, 2),
                "mean_hours": _rounded(self.mean_hours, 2), "p90_hours": _rounded(self.p90_hours, 2)}


@dataclass(frozen=True, slots=True)
class CashApplicationActivity:
    deposits: int  # with a decision (auto or a person's)
    auto_applied: int
    by_person: int
    shadow: int

    @property
    def straight_through_rate(self) -> float | None:
        return self.auto_applied / self.deposits if self.deposits else None

    def to_json(self) -> dict[str, Any]:
        return {"deposits": self.deposits, "auto_applied": self.auto_applied, "by_person": self.by_person,
                "shadow_suggestions": self.shadow, "straight_through_rate": _rounded(self.straight_through_rate)}


@dataclass(frozen=True, slots=True)
class ActivityReport:
    since: date
    as_of: date
    within_days: int
    levels: tuple[LevelActivity, ...]
    approvals: Turnaround
    approvals_by_kind: dict[str, Turnaround]
    cash_application: CashApplicationActivity

    @property
    def reminders_sent(self) -> int:
        return sum(level.sent for level in self.levels)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(), "as_of": self.as_of.isoformat(), "within_days": self.within_days,
            "reminders_sent": self.reminders_sent, "levels": [level.to_json() for level in self.levels],
            "approvals": {**self.approvals.to_json(),
                          "by_kind": {kind: t.to_json() for kind, t in sorted(self.approvals_by_kind.items())}},
            "cash_application": self.cash_application.to_json(),
        }


def collections_activity(
    since: date, as_of: date, reminders: Iterable[ReminderSent], replies: Iterable[ReplyReceived],
    payments: Iterable[PaymentOn], approvals: Iterable[ApprovalDecided], deposits: Iterable[DepositDecided],
    within_days: int = 7,
) -> ActivityReport:
    """The period is the days `since` .. `as_of`, both included; records outside it are not counted (a reply or
    payment after `as_of` is not known yet)."""
    if since > as_of:
        raise ValueError(f"the period starts ({since}) after it ends ({as_of})")
    if within_days < 0:
        raise ValueError(f"within_days must be zero or more, got {within_days}")

    def inside(day: date) -> bool:
        return since <= day <= as_of

    by_invoice: dict[str, list[ReminderSent]] = defaultdict(list)
    for reminder in reminders:
        by_invoice[reminder.invoice_id].append(reminder)  # every reminder: an earlier one bounds the window too
    replied_at = _grouped((r.invoice_id, r.at) for r in replies if r.at.date() <= as_of)
    paid_on = _grouped((p.invoice_id, p.date) for p in payments if p.date <= as_of)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for invoice_id, sent in by_invoice.items():
        ordered = sorted(sent, key=lambda r: r.at)
        for index, reminder in enumerate(ordered):
            if not inside(reminder.at.date()):
                continue
            following = ordered[index + 1].at if index + 1 < len(ordered) else None
            row = counts[reminder.level]
            row[0] += 1
            limit = reminder.at + timedelta(days=within_days)
            if any(reminder.at <= at <= limit and (following is None or at < following)
                   for at in replied_at.get(invoice_id, ())):
                row[1] += 1
            last_day = limit.date() if following is None else min(limit.date(), following.date())
            if any(reminder.at.date() <= day <= last_day for day in paid_on.get(invoice_id, ())):
                row[2] += 1
    levels = tuple(LevelActivity(level, *counts[level]) for level in sorted(counts))
    decided = [a for a in approvals if inside(a.decided_at.date())]
    kinds: dict[str, list[ApprovalDecided]] = defaultdict(list)
    for approval in decided:
        kinds[approval.kind].append(approval)
    return ActivityReport(since, as_of, within_days, levels, _turnaround(decided),
                          {kind: _turnaround(items) for kind, items in kinds.items()},
                          _cash_application([d for d in deposits if inside(d.at.date())]))


def _grouped(pairs: Iterable[tuple[K, V]]) -> dict[K, list[V]]:
    grouped: dict[K, list[V]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return grouped


def _turnaround(approvals: Sequence[ApprovalDecided]) -> Turnaround:
    hours = sorted(max(0.0, (a.decided_at - a.requested_at).total_seconds() / 3600) for a in approvals)
    if not hours:
        return Turnaround(0, None, None, None)
    middle = len(hours) // 2
    median = hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2
    p90 = hours[max(0, math.ceil(0.9 * len(hours)) - 1)]
    return Turnaround(len(hours), median, sum(hours) / len(hours), p90)


def _cash_application(deposits: Sequence[DepositDecided]) -> CashApplicationActivity:
    """Each bank line once, by its latest decision (a review confirmed later is the person's, not shadow)."""
    latest: dict[str, DepositDecided] = {}
    for deposit in sorted(deposits, key=lambda d: d.at):
        latest[deposit.bank_line_id] = deposit
    outcomes = [d.outcome for d in latest.values()]
    auto, person = outcomes.count("auto"), outcomes.count("person")
    return CashApplicationActivity(auto + person, auto, person, outcomes.count("shadow"))


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
