"""Ledger time: which day it is for a customer, which days are business days, and when a reminder may go.

Pure rules for workflow code: no I/O, no clock reads; the caller passes `now` (`workflow.now()`).
The only outside data are the time-zone database and the `holidays` package's calendars, both fixed
for a given install. Upgrading either can move a computed send date, so a running workflow that
replays across such an upgrade may decide differently; pin them and upgrade behind `workflow.patched`.

A `LedgerClock` maps ledger calendar dates to real instants. In real mode a ledger day is the customer's
own day in their time zone. In demo mode a ledger day lasts `day_seconds` real seconds, so a 45-day
dunning ladder plays out in minutes; time zones are ignored there, because every customer shares the
one compressed calendar.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio import workflow

_DAY_SECONDS = 86_400
_DAY_MICROS = _DAY_SECONDS * 1_000_000
# Ten years of consecutive closed days cannot happen with real calendars; it means the extra
# holidays cover everything, and a loop without a bound would hang the workflow task.
_LONGEST_CLOSURE_DAYS = 3_660
# Weekday numbers as `date.weekday()` gives them (Monday 0): the business week unless a policy says otherwise.
MONDAY_TO_FRIDAY: tuple[int, ...] = (0, 1, 2, 3, 4)


class SendWindow(BaseModel):
    """Customer-local hours in which a reminder may go out: `start` inclusive, `end` exclusive."""

    model_config = ConfigDict(frozen=True)

    start: time = time(9, 0)
    end: time = time(17, 0)

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("send window times are customer-local; give them without a time zone")
        if not self.start < self.end:
            raise ValueError(f"send window must start before it ends, got {self.start}-{self.end}")
        return self

    def contains(self, at: time) -> bool:
        return self.start <= at < self.end


class LedgerClock(BaseModel):
    """Maps ledger calendar dates to real instants.

    day_seconds=None: real days in the customer's time zone (epoch_date and epoch_instant are unused).
    day_seconds=N: demo mode, one ledger day lasts N real seconds, counted from epoch_instant (which is
    the start, 00:00, of epoch_date); time zones are ignored in demo mode. Demo instants are exact to the
    real microsecond; an instant computed for a ledger time never reads back as earlier than that time,
    so waking at `instant_of(day, window.start)` always finds the window open.
    """

    model_config = ConfigDict(frozen=True)

    epoch_date: date
    epoch_instant: datetime
    day_seconds: int | None = Field(default=None, gt=0)

    @field_validator("epoch_instant")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware(value, "epoch_instant").astimezone(UTC)

    def instant_of(self, day: date, at: time, tz: str) -> datetime:
        """The UTC instant when ledger-local `day` reaches local time `at`.

        A local time skipped by a daylight-saving change resolves to the instant just after the jump
        (02:30 on a spring-forward night reads 03:30); a repeated one resolves to its first occurrence.
        """
        if at.tzinfo is not None:
            raise ValueError("`at` is a customer-local time; give it without a time zone")
        if self.day_seconds is None:
            return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        ledger_micros = (day - self.epoch_date).days * _DAY_MICROS + _micros_of(at)
        # Rounded up, so today()/local_time() of the result never fall before `day` at `at`.
        real_micros = -(-ledger_micros * self.day_seconds // _DAY_SECONDS)
        return self.epoch_instant + timedelta(microseconds=real_micros)

    def today(self, instant: datetime, tz: str) -> date:
        """The ledger-local date at `instant`."""
        return self._ledger_local(instant, tz).date()

    def local_time(self, instant: datetime, tz: str) -> time:
        """The ledger-local time of day at `instant`."""
        return self._ledger_local(instant, tz).time()

    def days(self, n: float) -> timedelta:
        """The real duration of `n` ledger days."""
        if self.day_seconds is None:
            return timedelta(days=n)
        return timedelta(seconds=n * self.day_seconds)

    def _ledger_local(self, instant: datetime, tz: str) -> datetime:
        instant = _aware(instant, "instant")
        if self.day_seconds is None:
            return instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        real_micros = (instant - self.epoch_instant) // timedelta(microseconds=1)
        ledger_micros = real_micros * _DAY_SECONDS // self.day_seconds
        return datetime.combine(self.epoch_date, time()) + timedelta(microseconds=ledger_micros)


def is_business_day(day: date, country: str, extra_holidays: frozenset[date] = frozenset(),
                    weekdays: Collection[int] = MONDAY_TO_FRIDAY) -> bool:
    """One of `weekdays` (Monday to Friday unless a policy says otherwise), and neither a public holiday of
    `country` nor one of `extra_holidays`.

    `country` is ISO 3166 alpha-2 ("US", "GB"), or ISO 3166-2 for regional holidays ("GB-ENG" adds
    Easter Monday and the August bank holiday, "US-CA" the day after Thanksgiving). An unknown country
    counts weekends only; an unknown region falls back to its country.
    """
    return (
        day.weekday() in weekdays
        and day not in extra_holidays
        and day not in _public_holidays(country.strip().upper(), day.year)
    )


def next_business_day(day: date, country: str, extra_holidays: frozenset[date] = frozenset(),
                      weekdays: Collection[int] = MONDAY_TO_FRIDAY) -> date:
    """`day` itself when it is a business day, else the first business day after it."""
    candidate = day
    for _ in range(_LONGEST_CLOSURE_DAYS):
        if is_business_day(candidate, country, extra_holidays, weekdays):
            return candidate
        candidate += timedelta(days=1)
    raise ValueError(f"no business day in {country} within {_LONGEST_CLOSURE_DAYS} days of {day}")


def next_send_instant(
    earliest: datetime,
    clock: LedgerClock,
    tz: str,
    country: str,
    window: SendWindow,
    extra_holidays: frozenset[date] = frozenset(),
    weekdays: Collection[int] = MONDAY_TO_FRIDAY,
) -> datetime:
    """The first instant at or after `earliest` inside the send window of a customer-local business day.

    `earliest` itself when it already is one; otherwise a window opening (`window.start`).
    """
    day = clock.today(earliest, tz)
    if is_business_day(day, country, extra_holidays, weekdays) and window.contains(clock.local_time(earliest, tz)):
        return earliest
    for _ in range(_LONGEST_CLOSURE_DAYS):
        if is_business_day(day, country, extra_holidays, weekdays):
            opening = clock.instant_of(day, window.start, tz)
            # A window opening inside a daylight-saving gap reads later than `window.start`, maybe past
            # the window's end: that day has no send window, so look at the next one.
            if opening >= earliest and window.contains(clock.local_time(opening, tz)):
                return opening
        day += timedelta(days=1)
    raise ValueError(f"no send window in {country} within {_LONGEST_CLOSURE_DAYS} days of {earliest}")


@lru_cache(maxsize=1024)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    code, _, region = country.partition("-")
    try:
        # The holidays package looks up its translations through gettext/locale, which the workflow
        # sandbox forbids; the calendar itself is pure and deterministic, so it is built unrestricted.
        with workflow.unsafe.sandbox_unrestricted():
            calendar = holidays.country_holidays(code, subdiv=region or None, years=year)
    except NotImplementedError:
        if not region:
            return frozenset()
        return _public_holidays(code, year)
    return frozenset(calendar)


def _micros_of(at: time) -> int:
    return ((at.hour * 60 + at.minute) * 60 + at.second) * 1_000_000 + at.microsecond


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware (use workflow.now()), got {value!r}")
    return value
