"""Ledger time: time zones, daylight saving, public holidays, send windows and the demo clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from workflows.calendar import (
    LedgerClock,
    SendWindow,
    is_business_day,
    next_business_day,
    next_send_instant,
)

LA = "America/Los_Angeles"
TOKYO = "Asia/Tokyo"
LONDON = "Europe/London"

REAL = LedgerClock(epoch_date=date(2026, 1, 1), epoch_instant=datetime(2026, 1, 1, tzinfo=UTC))
# Demo: ledger day 2026-03-01 starts at noon UTC on 2026-06-01; each ledger day lasts ten seconds.
DEMO_EPOCH = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DEMO = LedgerClock(epoch_date=date(2026, 3, 1), epoch_instant=DEMO_EPOCH, day_seconds=10)
WINDOW = SendWindow()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- SendWindow -----------------------------------------------------------------------------------


def test_default_window_is_nine_to_five() -> None:
    assert WINDOW.start == time(9, 0)
    assert WINDOW.end == time(17, 0)
    assert WINDOW.contains(time(9, 0))
    assert WINDOW.contains(time(16, 59, 59))
    assert not WINDOW.contains(time(17, 0))
    assert not WINDOW.contains(time(8, 59, 59))


@pytest.mark.parametrize(
    ("start", "end"),
    [(time(17, 0), time(9, 0)), (time(9, 0), time(9, 0)), (time(9, 0, tzinfo=UTC), time(17, 0))],
)
def test_window_rejects_empty_reversed_or_zoned_hours(start: time, end: time) -> None:
    with pytest.raises(ValidationError):
        SendWindow(start=start, end=end)


def test_window_is_frozen_and_round_trips_through_json() -> None:
    window = SendWindow(start=time(8, 30), end=time(12, 0))
    with pytest.raises(ValidationError):
        window.start = time(7, 0)  # type: ignore[misc]
    assert SendWindow.model_validate_json(window.model_dump_json()) == window


# --- LedgerClock, real days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "tz", "expected"),
    [
        # Los Angeles is UTC-8 until the second Sunday of March (2026-03-08), UTC-7 after.
        (date(2026, 3, 6), LA, utc(2026, 3, 6, 17, 0)),
        (date(2026, 3, 9), LA, utc(2026, 3, 9, 16, 0)),
        # Tokyo has no daylight saving: 09:00 JST is midnight UTC all year.
        (date(2026, 3, 6), TOKYO, utc(2026, 3, 6, 0, 0)),
        (date(2026, 3, 9), TOKYO, utc(2026, 3, 9, 0, 0)),
        # London moves to BST on the last Sunday of March (2026-03-29).
        (date(2026, 3, 27), LONDON, utc(2026, 3, 27, 9, 0)),
        (date(2026, 3, 30), LONDON, utc(2026, 3, 30, 8, 0)),
        (date(2026, 3, 9), "UTC", utc(2026, 3, 9, 9, 0)),
    ],
)
def test_real_instant_of_nine_am_follows_the_customers_zone(day: date, tz: str, expected: datetime) -> None:
    instant = REAL.instant_of(day, time(9, 0), tz)
    assert instant == expected
    assert instant.tzinfo is UTC


def test_same_instant_is_a_different_day_in_los_angeles_and_tokyo() -> None:
    instant = utc(2026, 3, 2, 23, 30)
    assert REAL.today(instant, LA) == date(2026, 3, 2)
    assert REAL.local_time(instant, LA) == time(15, 30)
    assert REAL.today(instant, TOKYO) == date(2026, 3, 3)
    assert REAL.local_time(instant, TOKYO) == time(8, 30)


def test_spring_forward_gap_resolves_to_the_instant_after_the_jump() -> None:
    # 02:30 does not exist in Los Angeles on 2026-03-08; the clock jumps from 02:00 PST to 03:00 PDT.
    instant = REAL.instant_of(date(2026, 3, 8), time(2, 30), LA)
    assert instant == utc(2026, 3, 8, 10, 30)
    assert REAL.local_time(instant, LA) == time(3, 30)


def test_fall_back_repeated_hour_resolves_to_its_first_occurrence() -> None:
    # 01:30 happens twice in Los Angeles on 2026-11-01: first in PDT (08:30 UTC), then in PST.
    assert REAL.instant_of(date(2026, 11, 1), time(1, 30), LA) == utc(2026, 11, 1, 8, 30)


def test_real_days_are_calendar_days() -> None:
    assert REAL.days(1) == timedelta(days=1)
    assert REAL.days(7) == timedelta(days=7)
    assert REAL.days(0.5) == timedelta(hours=12)


def test_clock_requires_aware_instants() -> None:
    with pytest.raises(ValidationError):
        LedgerClock(epoch_date=date(2026, 1, 1), epoch_instant=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="time-zone aware"):
        REAL.today(datetime(2026, 3, 2, 12, 0), LA)
    with pytest.raises(ValueError, match="customer-local"):
        REAL.instant_of(date(2026, 3, 2), time(9, 0, tzinfo=UTC), LA)


def test_clock_stores_its_epoch_in_utc() -> None:
    from zoneinfo import ZoneInfo

    clock = LedgerClock(
        epoch_date=date(2026, 3, 1),
        epoch_instant=datetime(2026, 6, 1, 21, 0, tzinfo=ZoneInfo(TOKYO)),
        day_seconds=10,
    )
    assert clock.epoch_instant == utc(2026, 6, 1, 12, 0)
    assert clock.epoch_instant.tzinfo is UTC


@pytest.mark.parametrize("day_seconds", [0, -10])
def test_demo_day_must_last_a_positive_time(day_seconds: int) -> None:
    with pytest.raises(ValidationError):
        LedgerClock(epoch_date=date(2026, 3, 1), epoch_instant=DEMO_EPOCH, day_seconds=day_seconds)


def test_clock_round_trips_through_json() -> None:
    assert LedgerClock.model_validate_json(DEMO.model_dump_json()) == DEMO
    assert LedgerClock.model_validate_json(REAL.model_dump_json()) == REAL


# --- LedgerClock, demo mode -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "at", "seconds_after_epoch"),
    [
        (date(2026, 3, 1), time(0, 0), 0),
        (date(2026, 3, 1), time(9, 0), 3.75),
        (date(2026, 3, 1), time(12, 0), 5),
        (date(2026, 3, 2), time(0, 0), 10),
        (date(2026, 3, 11), time(12, 0), 105),
        (date(2026, 3, 16), time(9, 0), 153.75),
        (date(2026, 2, 28), time(0, 0), -10),
    ],
)
def test_demo_maps_ledger_dates_linearly(day: date, at: time, seconds_after_epoch: float) -> None:
    assert DEMO.instant_of(day, at, LA) == DEMO_EPOCH + timedelta(seconds=seconds_after_epoch)


def test_demo_ignores_time_zones() -> None:
    for tz in (LA, TOKYO, "UTC", "No/Such_Zone"):
        assert DEMO.instant_of(date(2026, 3, 16), time(9, 0), tz) == DEMO_EPOCH + timedelta(seconds=153.75)
        assert DEMO.today(DEMO_EPOCH + timedelta(seconds=105), tz) == date(2026, 3, 11)


def test_demo_reads_ledger_date_and_time_back() -> None:
    assert DEMO.today(DEMO_EPOCH, LA) == date(2026, 3, 1)
    assert DEMO.local_time(DEMO_EPOCH, LA) == time(0, 0)
    assert DEMO.today(DEMO_EPOCH + timedelta(seconds=105), LA) == date(2026, 3, 11)
    assert DEMO.local_time(DEMO_EPOCH + timedelta(seconds=105), LA) == time(12, 0)
    assert DEMO.today(DEMO_EPOCH + timedelta(seconds=9.999), LA) == date(2026, 3, 1)
    assert DEMO.today(DEMO_EPOCH + timedelta(seconds=10), LA) == date(2026, 3, 2)
    # One real second before the epoch is 2.4 ledger hours before midnight of 2026-03-01.
    assert DEMO.today(DEMO_EPOCH - timedelta(seconds=1), LA) == date(2026, 2, 28)
    assert DEMO.local_time(DEMO_EPOCH - timedelta(seconds=1), LA) == time(21, 36)


def test_demo_days_last_day_seconds() -> None:
    assert DEMO.days(1) == timedelta(seconds=10)
    assert DEMO.days(7) == timedelta(seconds=70)
    assert DEMO.days(1.5) == timedelta(seconds=15)


# --- business days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "country", "open_"),
    [
        (date(2026, 11, 26), "US", False),  # Thanksgiving
        (date(2026, 11, 27), "US", True),  # the day after is not a federal holiday ...
        (date(2026, 11, 27), "US-CA", False),  # ... but it is a California state holiday
        (date(2026, 7, 3), "US", False),  # Independence Day falls on a Saturday: observed Friday
        (date(2026, 7, 4), "US", False),
        (date(2027, 7, 5), "US", False),  # 2027: falls on a Sunday, observed Monday
        (date(2026, 7, 3), "GB", True),
        (date(2026, 12, 25), "US", False),
        (date(2026, 12, 28), "US", True),
        (date(2026, 12, 28), "GB", False),  # Boxing Day falls on a Saturday: observed Monday
        (date(2026, 4, 3), "GB", False),  # Good Friday
        (date(2026, 4, 3), "US", True),
        (date(2026, 4, 6), "GB-ENG", False),  # Easter Monday: England, Wales, Northern Ireland
        (date(2026, 8, 31), "GB-ENG", False),  # Late summer bank holiday in England
        (date(2026, 8, 31), "GB-SCT", True),  # ... which Scotland does not keep
        (date(2026, 1, 2), "GB-SCT", False),  # Scotland's 2nd of January
        (date(2026, 1, 2), "GB-ENG", True),
        (date(2026, 4, 29), "JP", False),  # Showa Day
        (date(2026, 3, 4), "US", True),  # an ordinary Wednesday
        (date(2026, 3, 7), "US", False),  # Saturday
        (date(2026, 3, 8), "US", False),  # Sunday
        (date(2026, 11, 26), "us", False),  # country codes are case-insensitive
    ],
)
def test_is_business_day(day: date, country: str, open_: bool) -> None:
    assert is_business_day(day, country) is open_


def test_unknown_country_counts_weekends_only() -> None:
    assert is_business_day(date(2026, 12, 25), "ZZ")  # a Friday
    assert not is_business_day(date(2026, 12, 26), "ZZ")  # a Saturday
    assert not is_business_day(date(2026, 12, 27), "ZZ")


def test_unknown_region_falls_back_to_its_country() -> None:
    assert not is_business_day(date(2026, 4, 3), "GB-XX")  # Good Friday, national
    assert is_business_day(date(2026, 4, 6), "GB-XX")  # Easter Monday is regional


def test_extra_holidays_close_a_day() -> None:
    shutdown = frozenset({date(2026, 3, 4)})
    assert not is_business_day(date(2026, 3, 4), "US", shutdown)
    assert is_business_day(date(2026, 3, 5), "US", shutdown)


@pytest.mark.parametrize(
    ("day", "country", "expected"),
    [
        (date(2026, 3, 4), "US", date(2026, 3, 4)),  # already a business day
        (date(2026, 3, 7), "US", date(2026, 3, 9)),  # Saturday -> Monday
        (date(2026, 11, 26), "US", date(2026, 11, 27)),  # Thanksgiving -> Friday
        (date(2026, 11, 26), "US-CA", date(2026, 11, 30)),  # ... and in California -> Monday
        (date(2026, 7, 3), "US", date(2026, 7, 6)),  # observed Independence Day + weekend
        (date(2026, 12, 25), "US", date(2026, 12, 28)),
        (date(2026, 12, 25), "GB", date(2026, 12, 29)),  # Christmas, weekend, Boxing Day observed
        (date(2026, 4, 3), "GB-ENG", date(2026, 4, 7)),  # Good Friday, weekend, Easter Monday
        # Across the year: New Year's Day 2028 is a Saturday, observed Friday 2027-12-31.
        (date(2027, 12, 31), "US", date(2028, 1, 3)),
    ],
)
def test_next_business_day(day: date, country: str, expected: date) -> None:
    assert next_business_day(day, country) == expected


def test_next_business_day_gives_up_when_everything_is_closed() -> None:
    start = date(2026, 1, 1)
    everything = frozenset(start + timedelta(days=n) for n in range(20 * 366))
    with pytest.raises(ValueError, match="no business day"):
        next_business_day(start, "US", everything)


# --- send instants --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earliest", "tz", "country", "expected"),
    [
        # Wednesday 10:00 PST, inside the window: now.
        (utc(2026, 3, 4, 18, 0), LA, "US", utc(2026, 3, 4, 18, 0)),
        # Wednesday 06:00 PST: the window opens at 09:00 the same day.
        (utc(2026, 3, 4, 14, 0), LA, "US", utc(2026, 3, 4, 17, 0)),
        # Wednesday 17:00 PST exactly: the window has closed; Thursday 09:00.
        (utc(2026, 3, 5, 1, 0), LA, "US", utc(2026, 3, 5, 17, 0)),
        # Friday 18:00 PST: Monday 09:00, which is PDT after the weekend's change.
        (utc(2026, 3, 7, 2, 0), LA, "US", utc(2026, 3, 9, 16, 0)),
        # The same instant is Saturday 11:00 in Tokyo: Monday 09:00 JST.
        (utc(2026, 3, 7, 2, 0), TOKYO, "JP", utc(2026, 3, 9, 0, 0)),
        # Wednesday before Thanksgiving, 17:30 PST: Thursday is closed, Friday 09:00.
        (utc(2026, 11, 26, 1, 30), LA, "US", utc(2026, 11, 27, 17, 0)),
        # Christmas Eve 2026 in London after hours: the next open day is Tuesday 29 December.
        (utc(2026, 12, 24, 18, 0), LONDON, "GB", utc(2026, 12, 29, 9, 0)),
    ],
)
def test_next_send_instant(earliest: datetime, tz: str, country: str, expected: datetime) -> None:
    assert next_send_instant(earliest, REAL, tz, country, WINDOW) == expected


def test_next_send_instant_with_a_custom_window() -> None:
    mornings = SendWindow(start=time(8, 0), end=time(12, 0))
    # Wednesday 12:30 PST: tomorrow 08:00.
    assert next_send_instant(utc(2026, 3, 4, 20, 30), REAL, LA, "US", mornings) == utc(2026, 3, 5, 16, 0)


def test_next_send_instant_respects_extra_holidays() -> None:
    shutdown = frozenset({date(2026, 3, 4)})
    assert next_send_instant(utc(2026, 3, 4, 18, 0), REAL, LA, "US", WINDOW, shutdown) == utc(2026, 3, 5, 17, 0)


def test_next_send_instant_skips_a_window_lost_to_daylight_saving() -> None:
    # Tehran moved its clocks from 00:00 to 01:00 on Monday 2021-03-22, so a midnight-to-1am window
    # did not exist that day; the next one opened on Tuesday at 00:00 +04:30.
    midnight = SendWindow(start=time(0, 0), end=time(1, 0))
    sunday_night = utc(2021, 3, 21, 19, 0)
    assert next_send_instant(sunday_night, REAL, "Asia/Tehran", "ZZ", midnight) == utc(2021, 3, 22, 19, 30)


def test_next_send_instant_in_demo_mode() -> None:
    # Ledger 2026-03-07 is a Saturday; the window opens Monday 2026-03-09 at 09:00 = 8.375 ledger days in.
    saturday_noon = DEMO.instant_of(date(2026, 3, 7), time(12, 0), LA)
    assert saturday_noon == DEMO_EPOCH + timedelta(seconds=65)
    assert next_send_instant(saturday_noon, DEMO, LA, "US", WINDOW) == DEMO_EPOCH + timedelta(seconds=83.75)
    inside = DEMO_EPOCH + timedelta(seconds=84)
    assert next_send_instant(inside, DEMO, LA, "US", WINDOW) == inside


# --- properties -----------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [LA, TOKYO, LONDON, "UTC", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "America/Sao_Paulo"]
)
COUNTRIES = st.sampled_from(["US", "GB", "GB-ENG", "JP", "DE", "AU", "ZZ"])
INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))
WHOLE_SECOND_TIMES = st.times().map(lambda at: at.replace(microsecond=0))


@st.composite
def windows(draw: st.DrawFn, daytime: bool = False) -> SendWindow:
    earliest = time(4, 0) if daytime else time(0, 0)
    start = draw(st.times(min_value=earliest, max_value=time(20, 0)))
    end = draw(st.times(min_value=(datetime.combine(date.min, start) + timedelta(minutes=1)).time()))
    return SendWindow(start=start, end=end)


@st.composite
def demo_clocks(draw: st.DrawFn) -> LedgerClock:
    return LedgerClock(
        epoch_date=draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))),
        epoch_instant=draw(INSTANTS),
        day_seconds=draw(st.integers(min_value=1, max_value=86_400 * 2)),
    )


@settings(deadline=None)
@given(day=DAYS, at=WHOLE_SECOND_TIMES, clock=demo_clocks())
def test_demo_instant_reads_back_as_the_same_day_and_no_earlier_time(day: date, at: time, clock: LedgerClock) -> None:
    instant = clock.instant_of(day, at, LA)
    assert clock.today(instant, LA) == day
    assert clock.local_time(instant, LA) >= at
    # Reading the time back and mapping it again lands on the very same real microsecond.
    assert clock.instant_of(day, clock.local_time(instant, LA), LA) == instant


@settings(deadline=None)
@given(first=DAYS, second=DAYS, at=st.times(), later=st.times(), clock=demo_clocks())
def test_demo_time_only_moves_forward(first: date, second: date, at: time, later: time, clock: LedgerClock) -> None:
    a, b = sorted([(first, at), (second, later)])
    assert clock.instant_of(*a, LA) <= clock.instant_of(*b, LA)


@settings(deadline=None)
@given(day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)), at=st.times(), tz=ZONES)
def test_real_instant_reads_back_as_the_same_day(day: date, at: time, tz: str) -> None:
    instant = REAL.instant_of(day, at, tz)
    assert REAL.today(instant, tz) == day
    # Equal, except inside a daylight-saving gap, where the time reads after the jump.
    assert REAL.local_time(instant, tz) >= at


@settings(deadline=None)
@given(day=DAYS, country=COUNTRIES)
def test_next_business_day_is_the_first_open_day(day: date, country: str) -> None:
    found = next_business_day(day, country)
    assert found >= day
    assert is_business_day(found, country)
    assert found - day < timedelta(days=10)
    between = day
    while between < found:
        assert not is_business_day(between, country)
        between += timedelta(days=1)


@settings(deadline=None)
@given(earliest=INSTANTS, tz=ZONES, country=COUNTRIES, window=windows())
def test_next_send_instant_lands_in_the_window_of_a_business_day(
    earliest: datetime, tz: str, country: str, window: SendWindow
) -> None:
    instant = next_send_instant(earliest, REAL, tz, country, window)
    assert instant >= earliest
    assert is_business_day(REAL.today(instant, tz), country)
    assert window.contains(REAL.local_time(instant, tz))


@settings(deadline=None)
@given(earliest=INSTANTS, tz=ZONES, country=COUNTRIES, window=windows(daytime=True))
def test_next_send_instant_is_the_first_possible(earliest: datetime, tz: str, country: str, window: SendWindow) -> None:
    # Brute force: the candidates are `earliest` itself and each day's window opening.
    first_day = REAL.today(earliest, tz)
    candidates = [earliest] + [REAL.instant_of(first_day + timedelta(days=n), window.start, tz) for n in range(15)]
    possible = [
        instant
        for instant in candidates
        if instant >= earliest
        and is_business_day(REAL.today(instant, tz), country)
        and window.contains(REAL.local_time(instant, tz))
    ]
    assert next_send_instant(earliest, REAL, tz, country, window) == min(possible)


@settings(deadline=None)
@given(
    clock=demo_clocks(),
    ledger_days=st.floats(min_value=-400, max_value=4000),
    country=COUNTRIES,
    window=windows(),
)
def test_demo_next_send_instant_lands_in_the_window_of_a_business_day(
    clock: LedgerClock, ledger_days: float, country: str, window: SendWindow
) -> None:
    earliest = clock.epoch_instant + clock.days(ledger_days)
    instant = next_send_instant(earliest, clock, TOKYO, country, window)
    assert instant >= earliest
    assert is_business_day(clock.today(instant, TOKYO), country)
    assert window.contains(clock.local_time(instant, TOKYO))
