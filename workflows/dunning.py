"""The dunning ladder: which reminder an open invoice gets next, and when.

Pure rules for workflow code: no I/O, no clock reads. The invoice workflow calls `next_step` with
`workflow.now()` and what it has already done, acts on the answer (send, wait, escalate), records the
outcome, and calls it again. Because the answer depends only on those arguments, a worker that was down
for a week catches up with one reminder, the one the customer would have reached by now; the missed
ones are recorded as skipped, never sent late.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workflows.calendar import MONDAY_TO_FRIDAY, LedgerClock, SendWindow, next_business_day, next_send_instant

Tone = Literal["friendly", "firm", "final"]


class DunningLevel(BaseModel):
    """One rung of the ladder: a reminder `offset_days` from the due date (negative: before it)."""

    model_config = ConfigDict(frozen=True)

    level: int = Field(ge=1)  # 1-based position in the ladder
    offset_days: int
    tone: Tone


class DunningLadder(BaseModel):
    """A named sequence of reminders, and when the invoice goes to a human collector after the last."""

    model_config = ConfigDict(frozen=True)

    name: str = "default"
    levels: tuple[DunningLevel, ...]
    # Below this balance no reminder goes out: chasing a few cents costs more goodwill than it earns.
    minimum_balance: Decimal = Field(default=Decimal("1.00"), ge=0)
    send_window: SendWindow = SendWindow()
    # Ledger days after the last level's send date before escalating to a human collector.
    escalate_after_days: int = Field(default=7, ge=0)
    # The days reminders may go out, as `date.weekday()` numbers (Monday 0); a collections policy can change it.
    business_days: tuple[int, ...] = MONDAY_TO_FRIDAY

    @field_validator("business_days")
    @classmethod
    def _weekdays(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days:
            raise ValueError("a dunning ladder needs at least one business day")
        if any(day not in range(7) for day in days) or list(days) != sorted(set(days)):
            raise ValueError(f"business days are weekday numbers 0 (Monday) to 6, each once, in order; got {days}")
        return days

    @field_validator("levels")
    @classmethod
    def _well_ordered(cls, levels: tuple[DunningLevel, ...]) -> tuple[DunningLevel, ...]:
        if not levels:
            raise ValueError("a dunning ladder needs at least one level")
        for position, level in enumerate(levels, start=1):
            if level.level != position:
                raise ValueError(f"levels must be numbered 1..n in order; position {position} is {level.level}")
        for before, after in pairwise(levels):
            if after.offset_days <= before.offset_days:
                raise ValueError(
                    f"offset_days must strictly increase; level {after.level} ({after.offset_days:+d}) "
                    f"does not come after level {before.level} ({before.offset_days:+d})"
                )
        return levels

    @property
    def last(self) -> DunningLevel:
        return self.levels[-1]


DEFAULT_LADDER = DunningLadder(
    levels=(
        DunningLevel(level=1, offset_days=-3, tone="friendly"),
        DunningLevel(level=2, offset_days=1, tone="friendly"),
        DunningLevel(level=3, offset_days=7, tone="firm"),
        DunningLevel(level=4, offset_days=14, tone="firm"),
        DunningLevel(level=5, offset_days=30, tone="firm"),
        DunningLevel(level=6, offset_days=45, tone="final"),
    )
)


def ladder_for(profile: str | None, overrides: Mapping[str, DunningLadder]) -> DunningLadder:
    """The customer's ladder: the override named by their profile, else the company default.

    The company default is `overrides["default"]` when present, else `DEFAULT_LADDER`. An unknown profile
    name gets the company default too, so a renamed profile never stops reminders.
    """
    if profile is not None and profile in overrides:
        return overrides[profile]
    return overrides.get("default", DEFAULT_LADDER)


def level_date(
    level: DunningLevel,
    due_date: date,
    country: str,
    extra_holidays: frozenset[date] = frozenset(),
    weekdays: tuple[int, ...] = MONDAY_TO_FRIDAY,
) -> date:
    """The customer-local day a level is scheduled: due date + offset, moved forward to a business day."""
    return next_business_day(due_date + timedelta(days=level.offset_days), country, extra_holidays, weekdays)


def level_instant(
    level: DunningLevel,
    due_date: date,
    clock: LedgerClock,
    tz: str,
    country: str,
    window: SendWindow,
    extra_holidays: frozenset[date] = frozenset(),
    weekdays: tuple[int, ...] = MONDAY_TO_FRIDAY,
) -> datetime:
    """When a level becomes due: its scheduled day (see `level_date`) at `window.start`, customer-local."""
    return clock.instant_of(level_date(level, due_date, country, extra_holidays, weekdays), window.start, tz)


def escalation_instant(
    ladder: DunningLadder,
    due_date: date,
    clock: LedgerClock,
    tz: str,
    country: str,
    extra_holidays: frozenset[date] = frozenset(),
) -> datetime:
    """When a finished ladder goes to a human: `escalation_date` at the window start, customer-local."""
    return clock.instant_of(escalation_date(ladder, due_date, country, extra_holidays), ladder.send_window.start, tz)


def escalation_date(
    ladder: DunningLadder,
    due_date: date,
    country: str,
    extra_holidays: frozenset[date] = frozenset(),
) -> date:
    """The last level's scheduled day + `escalate_after_days`. Not moved to a business day: it opens a
    collector's task, not a message to the customer."""
    scheduled = level_date(ladder.last, due_date, country, extra_holidays, ladder.business_days)
    return scheduled + timedelta(days=ladder.escalate_after_days)


class SendLevel(BaseModel):
    """Send this level now. `skipped`: lower levels whose time passed unsent (the worker was down, or
    the invoice came in late); record them as done, never send them."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["send"] = "send"
    level: DunningLevel
    skipped: tuple[int, ...] = ()


class WaitUntil(BaseModel):
    """Nothing to do before `instant`; then call `next_step` again."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["wait"] = "wait"
    instant: datetime
    reason: str  # "level 2 on 2026-03-17", "send window opens", "escalation after level 6 on 2026-05-07"


class Escalate(BaseModel):
    """Every level is done and the invoice is still open: hand it to a human collector."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["escalate"] = "escalate"
    after_level: int


class NoAction(BaseModel):
    """Dunning has nothing more to do for this invoice unless its balance or state changes."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["none"] = "none"
    reason: str


NextStep = SendLevel | WaitUntil | Escalate | NoAction


def next_step(
    ladder: DunningLadder,
    *,
    due_date: date,
    balance: Decimal,
    done_levels: frozenset[int],
    escalated: bool,
    now: datetime,
    clock: LedgerClock,
    tz: str,
    country: str,
    extra_holidays: frozenset[date] = frozenset(),
) -> NextStep:
    """What dunning should do for one invoice at `now`.

    `done_levels`: levels already sent, skipped or rejected; they are never revisited. The ladder only
    moves forward: a level below one already done is never sent (that would soften the tone after a
    firmer reminder); it is reported in `skipped` of the next send instead.

    Of the remaining levels whose time has come, the highest is sent and the lower ones are skipped;
    a send only happens inside the send window of a customer-local business day, otherwise the answer
    is to wait for the window to open. With no level due, wait for the next one. Once the last level is
    done, wait for the escalation instant, escalate once, then do nothing.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be time-zone aware (use workflow.now()), got {now!r}")
    if balance < ladder.minimum_balance:
        return NoAction(reason=f"balance {balance} is below the minimum {ladder.minimum_balance} for reminders")

    window, weekdays = ladder.send_window, ladder.business_days
    passed = max(done_levels, default=0)
    remaining = [level for level in ladder.levels if level.level > passed]

    if remaining:
        due = [
            level
            for level in remaining
            if level_instant(level, due_date, clock, tz, country, window, extra_holidays, weekdays) <= now
        ]
        if not due:
            upcoming = remaining[0]
            when = level_date(upcoming, due_date, country, extra_holidays, weekdays)
            return WaitUntil(
                instant=clock.instant_of(when, window.start, tz),
                reason=f"level {upcoming.level} on {when.isoformat()}",
            )
        send_at = next_send_instant(now, clock, tz, country, window, extra_holidays, weekdays)
        if send_at != now:
            return WaitUntil(instant=send_at, reason="send window opens")
        top = due[-1]
        skipped = tuple(
            level.level for level in ladder.levels if level.level < top.level and level.level not in done_levels
        )
        return SendLevel(level=top, skipped=skipped)

    last = ladder.last.level
    if escalated:
        return NoAction(reason=f"ladder {ladder.name!r} finished after level {last} and already escalated")
    escalate_on = escalation_date(ladder, due_date, country, extra_holidays)
    escalate_at = clock.instant_of(escalate_on, window.start, tz)
    if now >= escalate_at:
        return Escalate(after_level=last)
    return WaitUntil(instant=escalate_at, reason=f"escalation after level {last} on {escalate_on.isoformat()}")


def reminder_needs_approval(reminder_number: int) -> bool:
    """Whether the `reminder_number`-th reminder sent for an invoice (1-based) waits for a human.

    The first one does, so a person sees each invoice's dunning start; the second goes out on its own;
    every later one does again, because by then the tone is firm and the customer relationship at stake.
    """
    if reminder_number < 1:
        raise ValueError(f"reminder numbers start at 1, got {reminder_number}")
    return reminder_number != 2
