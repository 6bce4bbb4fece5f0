"""What a customer's reply to a reminder does to its invoice: the pure rule (issue 13).

The reply reader (workers/inbound.py) classifies each reply (activities/replies) and asks `reply_action` what
follows from it. A sure reading with an action is acted on at once; anything else becomes a `reply` item for
a person (workflows/reply_review.py), who can act on the reading or on their own.

- promise to pay with a date on or after the day received: a promise to pay (dunning pauses until then);
- dispute: a dispute is opened with the customer's words (dunning pauses, a collector has it);
- already paid: the ledger is read again and dunning pauses for `PAID_GRACE_DAYS` while the money arrives;
- out of office with a return date: dunning pauses until the day before, so the next send waits for them;
- anything else (a question, a copy or plan request, a new contact, unsubscribe, a bounce notice, or a
  reading without the date it needs): no automatic action; a person reads it.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from pydantic import BaseModel

from workflows.lifecycle_messages import DisputeSignal, PauseSignal, PromiseToPaySignal

PAID_GRACE_DAYS = 3  # a customer who says "paid" gets this long for the money to reach the ledger
MAX_REASON = 300


class ReplyReading(BaseModel):
    """A reply as the classifier read it: what the person must see and what an action needs."""

    kind: str
    date: dt.date | None = None
    confidence: float
    evidence: str = ""
    sender: str = ""
    subject: str = ""
    received: dt.date


class ReplyAction(BaseModel):
    """The signals a reading sends to its invoice's lifecycle; `summary` says it in words."""

    summary: str
    promise: PromiseToPaySignal | None = None
    dispute: DisputeSignal | None = None
    pause: PauseSignal | None = None
    refresh: bool = False  # read the ledger again (the customer says it is paid)


def reply_action(reading: ReplyReading) -> ReplyAction | None:
    """The action a reading calls for, or None when only a person can tell (see the module docstring)."""
    who = f"reply from {reading.sender or 'the customer'}"
    words = (reading.evidence or reading.subject or reading.kind)[:MAX_REASON]
    if reading.kind == "promise" and reading.date is not None and reading.date >= reading.received:
        return ReplyAction(summary=f"promise to pay by {reading.date.isoformat()}",
                           promise=PromiseToPaySignal(until=reading.date, note=words, by=who))
    if reading.kind == "dispute":
        return ReplyAction(summary=f"dispute opened: {words}",
                           dispute=DisputeSignal(reason=f"customer reply: {words}", opened_by=who))
    if reading.kind == "paid":
        until = reading.received + timedelta(days=PAID_GRACE_DAYS)
        paid_on = f" on {reading.date.isoformat()}" if reading.date else ""
        return ReplyAction(summary=f"customer says paid{paid_on}: ledger re-read, dunning paused until "
                                   f"{until.isoformat()} for the money to arrive",
                           pause=PauseSignal(until=until, reason=f"customer says paid{paid_on}", by=who),
                           refresh=True)
    if reading.kind == "out_of_office" and reading.date is not None and reading.date > reading.received:
        until = reading.date - timedelta(days=1)
        return ReplyAction(summary=f"out of office until {reading.date.isoformat()}: next send waits",
                           pause=PauseSignal(until=until, reason=f"out of office, back {reading.date.isoformat()}",
                                             by=who))
    return None


def reading_from_text(text: str, base: ReplyReading) -> ReplyReading | None:
    """A person's own reading typed in the `reply` item (an edit): "promise 2027-01-15", "paid", "paid
    2027-01-03", "dispute <reason>", "out_of_office 2027-01-10"; None when it is none of these."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return None
    kind, rest = words[0].lower().replace("-", "_"), (words[1].strip() if len(words) > 1 else "")
    if kind == "dispute":
        return base.model_copy(update={"kind": "dispute", "evidence": rest or base.evidence, "confidence": 1.0})
    if kind not in ("promise", "paid", "out_of_office"):
        return None
    on: dt.date | None = None
    if rest:
        try:
            on = dt.date.fromisoformat(rest[:10])
        except ValueError:
            return None
    return base.model_copy(update={"kind": kind, "date": on, "confidence": 1.0})


__all__ = ["PAID_GRACE_DAYS", "ReplyAction", "ReplyReading", "reading_from_text", "reply_action"]
