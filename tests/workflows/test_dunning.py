"""The dunning ladder: schedules, catch-up after downtime, send windows, escalation and approvals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from workflows.calendar import LedgerClock, SendWindow, is_business_day
from workflows.dunning import (
    DEFAULT_LADDER,
    DunningLadder,
    DunningLevel,
    Escalate,
    NextStep,
    NoAction,
    SendLevel,
    Tone,
    WaitUntil,
    escalation_date,
    ladder_for,
    level_date,
    level_instant,
    next_step,
    reminder_needs_approval,
)

LA = "America/Los_Angeles"
TOKYO = "Asia/Tokyo"
REAL = LedgerClock(epoch_date=date(2026, 1, 1), epoch_instant=datetime(2026, 1, 1, tzinfo=UTC))
DEMO_EPOCH = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DEMO = LedgerClock(epoch_date=date(2026, 3, 1), epoch_instant=DEMO_EPOCH, day_seconds=10)
DUE = date(2026, 3, 16)  # a Monday, after Los Angeles moved to PDT (UTC-7) on 2026-03-08
OWED = Decimal("1250.00")
LEVEL = {level.level: level for level in DEFAULT_LADDER.levels}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def step(
    now: datetime,
    done: set[int] | frozenset[int] = frozenset(),
    *,
    escalated: bool = False,
    balance: Decimal = OWED,
    ladder: DunningLadder = DEFAULT_LADDER,
    due_date: date = DUE,
    clock: LedgerClock = REAL,
    tz: str = LA,
    country: str = "US",
) -> NextStep:
    return next_step(
        ladder,
        due_date=due_date,
        balance=balance,
        done_levels=frozenset(done),
        escalated=escalated,
        now=now,
        clock=clock,
        tz=tz,
        country=country,
    )


def level(n: int, offset: int, tone: Tone = "firm") -> DunningLevel:
    return DunningLevel(level=n, offset_days=offset, tone=tone)


# --- the ladder -----------------------------------------------------------------------------------


def test_default_ladder() -> None:
    assert [(lv.level, lv.offset_days, lv.tone) for lv in DEFAULT_LADDER.levels] == [
        (1, -3, "friendly"),
        (2, 1, "friendly"),
        (3, 7, "firm"),
        (4, 14, "firm"),
        (5, 30, "firm"),
        (6, 45, "final"),
    ]
    assert DEFAULT_LADDER.name == "default"
    assert DEFAULT_LADDER.minimum_balance == Decimal("1.00")
    assert DEFAULT_LADDER.send_window == SendWindow(start=time(9, 0), end=time(17, 0))
    assert DEFAULT_LADDER.escalate_after_days == 7


@pytest.mark.parametrize(
    "levels",
    [
        (),
        (level(2, 1),),  # numbering must start at 1
        (level(1, 1), level(3, 7)),  # and have no gaps
        (level(2, 7), level(1, 1)),  # and be in order
        (level(1, 7), level(2, 1)),  # offsets must increase
        (level(1, 7), level(2, 7)),  # strictly
    ],
)
def test_ladder_rejects_badly_ordered_levels(levels: tuple[DunningLevel, ...]) -> None:
    with pytest.raises(ValidationError):
        DunningLadder(levels=levels)


def test_ladder_rejects_negative_settings() -> None:
    with pytest.raises(ValidationError):
        DunningLadder(levels=(level(1, 1),), minimum_balance=Decimal("-1"))
    with pytest.raises(ValidationError):
        DunningLadder(levels=(level(1, 1),), escalate_after_days=-1)
    with pytest.raises(ValidationError):
        level(0, 1)
    with pytest.raises(ValidationError):
        DunningLevel.model_validate({"level": 1, "offset_days": 1, "tone": "rude"})


def test_ladder_round_trips_through_json() -> None:
    ladder = DunningLadder(
        name="gentle",
        levels=(level(1, 3, "friendly"), level(2, 20, "final")),
        minimum_balance=Decimal("50.00"),
        send_window=SendWindow(start=time(10, 0), end=time(15, 0)),
        escalate_after_days=30,
    )
    assert DunningLadder.model_validate_json(ladder.model_dump_json()) == ladder


GENTLE = DunningLadder(name="gentle", levels=(level(1, 3, "friendly"), level(2, 20, "final")))
HOUSE = DunningLadder(name="house", levels=(level(1, 0, "friendly"),))


@pytest.mark.parametrize(
    ("profile", "overrides", "expected"),
    [
        (None, {}, DEFAULT_LADDER),
        ("gentle", {}, DEFAULT_LADDER),
        ("gentle", {"gentle": GENTLE}, GENTLE),
        (None, {"gentle": GENTLE}, DEFAULT_LADDER),
        (None, {"gentle": GENTLE, "default": HOUSE}, HOUSE),
        ("renamed", {"gentle": GENTLE, "default": HOUSE}, HOUSE),
        ("gentle", {"gentle": GENTLE, "default": HOUSE}, GENTLE),
    ],
)
def test_ladder_for(profile: str | None, overrides: dict[str, DunningLadder], expected: DunningLadder) -> None:
    assert ladder_for(profile, overrides) == expected


# --- schedule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, utc(2026, 3, 13, 16, 0)),  # Friday before the due date, 09:00 PDT
        (2, utc(2026, 3, 17, 16, 0)),
        (3, utc(2026, 3, 23, 16, 0)),
        (4, utc(2026, 3, 30, 16, 0)),
        (5, utc(2026, 4, 15, 16, 0)),
        (6, utc(2026, 4, 30, 16, 0)),
    ],
)
def test_level_instants_for_a_los_angeles_customer(n: int, expected: datetime) -> None:
    assert level_instant(LEVEL[n], DUE, REAL, LA, "US", SendWindow()) == expected


def test_level_instant_in_tokyo_is_nine_am_tokyo() -> None:
    assert level_instant(LEVEL[1], DUE, REAL, TOKYO, "JP", SendWindow()) == utc(2026, 3, 13, 0, 0)


def test_level_instant_uses_the_window_start() -> None:
    mornings = SendWindow(start=time(7, 30), end=time(11, 0))
    assert level_instant(LEVEL[2], DUE, REAL, LA, "US", mornings) == utc(2026, 3, 17, 14, 30)


@pytest.mark.parametrize(
    ("country", "n", "expected"),
    [
        # Due Wednesday 2026-11-25, the day before Thanksgiving.
        ("US", 1, date(2026, 11, 23)),  # -3 is Sunday the 22nd: Monday
        ("US", 2, date(2026, 11, 27)),  # +1 is Thanksgiving: Friday
        ("US-CA", 2, date(2026, 11, 30)),  # in California the Friday is closed too: Monday
        ("US", 3, date(2026, 12, 2)),
        ("US", 5, date(2026, 12, 28)),  # +30 is Christmas Day: Monday
        ("GB", 5, date(2026, 12, 29)),  # in the UK Monday is Boxing Day observed: Tuesday
        ("US", 6, date(2027, 1, 11)),  # +45 is Saturday 2027-01-09: Monday
    ],
)
def test_level_dates_move_past_weekends_and_holidays(country: str, n: int, expected: date) -> None:
    assert level_date(LEVEL[n], date(2026, 11, 25), country) == expected


def test_level_date_moves_past_extra_holidays() -> None:
    shutdown = frozenset({date(2026, 3, 17), date(2026, 3, 18)})
    assert level_date(LEVEL[2], DUE, "US", shutdown) == date(2026, 3, 19)


def test_independence_day_observed_moves_a_reminder() -> None:
    # Due Thursday 2026-07-02: +1 is Friday 3 July, the observed holiday; the reminder goes Monday.
    assert level_date(LEVEL[2], date(2026, 7, 2), "US") == date(2026, 7, 6)
    assert level_date(LEVEL[2], date(2026, 7, 2), "GB") == date(2026, 7, 3)


def test_escalation_date_is_a_week_after_the_last_level() -> None:
    assert escalation_date(DEFAULT_LADDER, DUE, "US") == date(2026, 5, 7)


# --- next_step ------------------------------------------------------------------------------------


def test_before_the_first_level_wait_for_it() -> None:
    assert step(utc(2026, 3, 1, 12, 0)) == WaitUntil(instant=utc(2026, 3, 13, 16, 0), reason="level 1 on 2026-03-13")


def test_first_level_is_sent_at_the_window_start() -> None:
    assert step(utc(2026, 3, 13, 16, 0)) == SendLevel(level=LEVEL[1], skipped=())


def test_after_a_send_wait_for_the_next_level() -> None:
    assert step(utc(2026, 3, 13, 16, 0), {1}) == WaitUntil(
        instant=utc(2026, 3, 17, 16, 0), reason="level 2 on 2026-03-17"
    )


def test_balance_below_minimum_sends_nothing() -> None:
    result = step(utc(2026, 3, 13, 16, 0), balance=Decimal("0.99"))
    assert isinstance(result, NoAction)
    assert "0.99" in result.reason
    assert step(utc(2026, 3, 13, 16, 0), balance=Decimal("1.00")) == SendLevel(level=LEVEL[1])


def test_custom_minimum_balance() -> None:
    ladder = DEFAULT_LADDER.model_copy(update={"minimum_balance": Decimal("25")})
    assert isinstance(step(utc(2026, 3, 13, 16, 0), balance=Decimal("24.99"), ladder=ladder), NoAction)


def test_catch_up_after_downtime_sends_only_the_latest_level() -> None:
    # Level 1 went out; the worker was down from mid-March to Wednesday 1 April, 11:00 PDT.
    assert step(utc(2026, 4, 1, 18, 0), {1}) == SendLevel(level=LEVEL[4], skipped=(2, 3))


def test_catch_up_with_nothing_sent_skips_every_earlier_level() -> None:
    assert step(utc(2026, 4, 20, 18, 0)) == SendLevel(level=LEVEL[5], skipped=(1, 2, 3, 4))


def test_catch_up_on_a_weekend_waits_for_monday_morning() -> None:
    saturday = utc(2026, 4, 4, 18, 0)
    assert step(saturday, {1}) == WaitUntil(instant=utc(2026, 4, 6, 16, 0), reason="send window opens")
    assert step(utc(2026, 4, 6, 16, 0), {1}) == SendLevel(level=LEVEL[4], skipped=(2, 3))


def test_a_due_level_found_after_hours_waits_for_the_window_and_may_be_overtaken() -> None:
    # Monday 16 March, 18:00 PDT: level 1 is due but the window has closed.
    evening = utc(2026, 3, 17, 1, 0)
    assert step(evening) == WaitUntil(instant=utc(2026, 3, 17, 16, 0), reason="send window opens")
    # When it opens on Tuesday, level 2 is due as well: send 2, skip 1.
    assert step(utc(2026, 3, 17, 16, 0)) == SendLevel(level=LEVEL[2], skipped=(1,))


def test_tokyo_and_los_angeles_see_the_same_instant_differently() -> None:
    instant = utc(2026, 3, 13, 0, 30)  # Friday 09:30 in Tokyo, Thursday 17:30 in Los Angeles
    assert step(instant, tz=TOKYO, country="JP") == SendLevel(level=LEVEL[1])
    assert step(instant, tz=LA) == WaitUntil(instant=utc(2026, 3, 13, 16, 0), reason="level 1 on 2026-03-13")


def test_rejected_or_skipped_levels_are_never_revisited() -> None:
    # Level 2 was rejected by the approver; level 3 is not due yet.
    assert step(utc(2026, 3, 18, 18, 0), {1, 2}) == WaitUntil(
        instant=utc(2026, 3, 23, 16, 0), reason="level 3 on 2026-03-23"
    )


def test_the_ladder_never_steps_back_below_a_done_level() -> None:
    # Level 3 was sent by hand; levels 1 and 2 are overdue but would soften the tone.
    assert step(utc(2026, 3, 24, 18, 0), {3}) == WaitUntil(
        instant=utc(2026, 3, 30, 16, 0), reason="level 4 on 2026-03-30"
    )
    # The next send records them as skipped.
    assert step(utc(2026, 3, 30, 16, 0), {3}) == SendLevel(level=LEVEL[4], skipped=(1, 2))


def test_after_the_last_level_wait_then_escalate_once() -> None:
    everything = {1, 2, 3, 4, 5, 6}
    assert step(utc(2026, 4, 30, 16, 0), everything) == WaitUntil(
        instant=utc(2026, 5, 7, 16, 0), reason="escalation after level 6 on 2026-05-07"
    )
    assert step(utc(2026, 5, 7, 16, 0), everything) == Escalate(after_level=6)
    # Escalation needs no send window: a Saturday night still escalates.
    assert step(utc(2026, 5, 10, 6, 0), everything) == Escalate(after_level=6)
    assert isinstance(step(utc(2026, 5, 7, 16, 0), everything, escalated=True), NoAction)


def test_custom_escalation_delay() -> None:
    ladder = DEFAULT_LADDER.model_copy(update={"escalate_after_days": 0})
    assert step(utc(2026, 4, 30, 16, 0), {1, 2, 3, 4, 5, 6}, ladder=ladder) == Escalate(after_level=6)


def test_escalation_date_is_not_moved_to_a_business_day() -> None:
    ladder = DEFAULT_LADDER.model_copy(update={"escalate_after_days": 9})  # 2026-05-09, a Saturday
    assert step(utc(2026, 5, 1, 0, 0), {1, 2, 3, 4, 5, 6}, ladder=ladder) == WaitUntil(
        instant=utc(2026, 5, 9, 16, 0), reason="escalation after level 6 on 2026-05-09"
    )


def test_single_level_ladder() -> None:
    assert step(utc(2026, 3, 16, 17, 0), ladder=HOUSE) == SendLevel(level=HOUSE.levels[0])
    assert step(utc(2026, 3, 16, 17, 0), {1}, ladder=HOUSE) == WaitUntil(
        instant=utc(2026, 3, 23, 16, 0), reason="escalation after level 1 on 2026-03-23"
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        step(datetime(2026, 3, 13, 16, 0))


def test_demo_mode_schedule() -> None:
    # Level 1 is ledger 2026-03-13 09:00: 12.375 ledger days of ten seconds after the epoch.
    first = DEMO_EPOCH + timedelta(seconds=123.75)
    assert step(DEMO_EPOCH, clock=DEMO) == WaitUntil(instant=first, reason="level 1 on 2026-03-13")
    assert step(first, clock=DEMO) == SendLevel(level=LEVEL[1])
    # Escalation: ledger 2026-05-07 09:00 is 67.375 ledger days in.
    assert step(first, {1, 2, 3, 4, 5, 6}, clock=DEMO) == WaitUntil(
        instant=DEMO_EPOCH + timedelta(seconds=673.75), reason="escalation after level 6 on 2026-05-07"
    )


def test_next_step_round_trips_through_json() -> None:
    adapter: TypeAdapter[NextStep] = TypeAdapter(NextStep)
    for result in (
        SendLevel(level=LEVEL[4], skipped=(2, 3)),
        WaitUntil(instant=utc(2026, 3, 17, 16, 0), reason="level 2 on 2026-03-17"),
        Escalate(after_level=6),
        NoAction(reason="balance 0.50 is below the minimum"),
    ):
        assert adapter.validate_json(adapter.dump_json(result)) == result


# --- approvals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "needs"), [(1, True), (2, False), (3, True), (4, True), (5, True), (12, True)])
def test_reminder_needs_approval(number: int, needs: bool) -> None:
    assert reminder_needs_approval(number) is needs


def test_reminder_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        reminder_needs_approval(0)


# --- properties -----------------------------------------------------------------------------------

ZONES = st.sampled_from([LA, TOKYO, "Europe/London", "UTC", "Australia/Sydney", "Asia/Kolkata"])
COUNTRIES = st.sampled_from(["US", "GB", "GB-ENG", "JP", "DE", "AU", "ZZ"])
DUE_DATES = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@st.composite
def ladders(draw: st.DrawFn) -> DunningLadder:
    offsets = sorted(draw(st.sets(st.integers(min_value=-20, max_value=90), min_size=1, max_size=8)))
    tones = st.sampled_from(["friendly", "firm", "final"])
    start = draw(st.times(min_value=time(6, 0), max_value=time(14, 0)))
    hours = draw(st.integers(min_value=1, max_value=8))
    return DunningLadder(
        levels=tuple(
            DunningLevel(level=n, offset_days=offset, tone=draw(tones)) for n, offset in enumerate(offsets, 1)
        ),
        send_window=SendWindow(start=start, end=start.replace(hour=start.hour + hours)),
        escalate_after_days=draw(st.integers(min_value=0, max_value=30)),
    )


@st.composite
def done_sets(draw: st.DrawFn) -> frozenset[int]:
    """Mostly what a workflow records (levels 1..k), sometimes with holes or stray levels."""
    prefix = frozenset(range(1, draw(st.integers(min_value=0, max_value=8)) + 1))
    return prefix ^ draw(st.frozensets(st.integers(min_value=1, max_value=8), max_size=2))


@dataclass
class Life:
    """What a workflow driving `next_step` did with an invoice."""

    sent: list[tuple[int, datetime]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    escalations: list[datetime] = field(default_factory=list)
    steps: list[NextStep] = field(default_factory=list)
    finished: datetime | None = None


def live(
    ladder: DunningLadder,
    due_date: date,
    start: datetime,
    clock: LedgerClock,
    tz: str,
    country: str,
    downtime: Iterator[timedelta] | None = None,
) -> Life:
    """Drive `next_step` the way the invoice workflow does: sleep to each WaitUntil (waking late by the
    next `downtime`, if any), record what was sent or skipped, and stop at NoAction."""
    life = Life()
    now, done, escalated = start, frozenset[int](), False
    for _ in range(200):
        result = next_step(
            ladder,
            due_date=due_date,
            balance=OWED,
            done_levels=done,
            escalated=escalated,
            now=now,
            clock=clock,
            tz=tz,
            country=country,
        )
        life.steps.append(result)
        match result:
            case SendLevel(level=sent, skipped=skipped):
                life.sent.append((sent.level, now))
                life.skipped.extend(skipped)
                done = done | {sent.level, *skipped}
            case WaitUntil(instant=instant):
                assert instant > now, "a wait must move time forward"
                now = instant + (next(downtime) if downtime else timedelta())
            case Escalate():
                life.escalations.append(now)
                escalated = True
            case NoAction():
                life.finished = now
                return life
    raise AssertionError(f"no end after 200 steps: {life.steps[-5:]}")


def in_window_on_a_business_day(
    instant: datetime, ladder: DunningLadder, clock: LedgerClock, tz: str, country: str
) -> bool:
    return is_business_day(clock.today(instant, tz), country) and ladder.send_window.contains(
        clock.local_time(instant, tz)
    )


def test_a_120_day_life_in_los_angeles() -> None:
    issued = utc(2026, 2, 14, 20, 0)  # 30 days before the due date
    life = live(DEFAULT_LADDER, DUE, issued, REAL, LA, "US")
    assert life.sent == [
        (1, utc(2026, 3, 13, 16, 0)),
        (2, utc(2026, 3, 17, 16, 0)),
        (3, utc(2026, 3, 23, 16, 0)),
        (4, utc(2026, 3, 30, 16, 0)),
        (5, utc(2026, 4, 15, 16, 0)),
        (6, utc(2026, 4, 30, 16, 0)),
    ]
    assert life.skipped == []
    assert life.escalations == [utc(2026, 5, 7, 16, 0)]
    assert life.finished == utc(2026, 5, 7, 16, 0)
    assert life.finished - issued < timedelta(days=120)


def test_a_life_across_thanksgiving_and_christmas() -> None:
    life = live(DEFAULT_LADDER, date(2026, 11, 25), utc(2026, 10, 26, 20, 0), REAL, LA, "US")
    assert [(n, REAL.today(at, LA)) for n, at in life.sent] == [
        (1, date(2026, 11, 23)),
        (2, date(2026, 11, 27)),
        (3, date(2026, 12, 2)),
        (4, date(2026, 12, 9)),
        (5, date(2026, 12, 28)),
        (6, date(2027, 1, 11)),
    ]
    assert [REAL.today(at, LA) for at in life.escalations] == [date(2027, 1, 18)]


def test_a_demo_life_plays_out_in_minutes() -> None:
    life = live(DEFAULT_LADDER, DUE, DEMO_EPOCH, DEMO, LA, "US")
    assert [n for n, _ in life.sent] == [1, 2, 3, 4, 5, 6]
    assert [DEMO.today(at, LA) for _, at in life.sent] == [
        date(2026, 3, 13),
        date(2026, 3, 17),
        date(2026, 3, 23),
        date(2026, 3, 30),
        date(2026, 4, 15),
        date(2026, 4, 30),
    ]
    assert life.sent[0][1] == DEMO_EPOCH + timedelta(seconds=123.75)
    assert life.finished == DEMO_EPOCH + timedelta(seconds=673.75)  # eleven and a quarter minutes


@settings(deadline=None, max_examples=300)
@given(
    ladder=ladders(),
    due_date=DUE_DATES,
    done=done_sets(),
    escalated=st.booleans(),
    days_after_due=st.integers(min_value=-25, max_value=100),
    # None: the moment the send window opens, when most sends happen.
    at=st.one_of(st.none(), st.times()),
    tz=ZONES,
    country=COUNTRIES,
)
def test_next_step_never_revisits_and_sends_only_in_the_window(
    ladder: DunningLadder,
    due_date: date,
    done: frozenset[int],
    escalated: bool,
    days_after_due: int,
    at: time | None,
    tz: str,
    country: str,
) -> None:
    local = ladder.send_window.start if at is None else at
    now = REAL.instant_of(due_date + timedelta(days=days_after_due), local, tz)
    result = next_step(
        ladder,
        due_date=due_date,
        balance=OWED,
        done_levels=done,
        escalated=escalated,
        now=now,
        clock=REAL,
        tz=tz,
        country=country,
    )
    match result:
        case SendLevel(level=sent, skipped=skipped):
            assert sent.level not in done
            assert sent.level > max(done, default=0)
            assert not set(skipped) & done
            assert all(n < sent.level for n in skipped)
            assert level_instant(sent, due_date, REAL, tz, country, ladder.send_window) <= now
            assert in_window_on_a_business_day(now, ladder, REAL, tz, country)
        case WaitUntil(instant=instant):
            assert instant > now
        case Escalate(after_level=after):
            assert not escalated
            assert after == ladder.levels[-1].level
            # Done levels beyond the ladder (it was shortened since) count as finishing it.
            assert max(done) >= after
        case NoAction():
            assert escalated and max(done, default=0) >= ladder.levels[-1].level


@settings(deadline=None)
@given(
    due_date=DUE_DATES,
    days_late=st.integers(min_value=-3, max_value=51),
    hour=st.integers(min_value=0, max_value=23),
    tz=ZONES,
    country=COUNTRIES,
)
def test_catch_up_sends_exactly_the_highest_due_level(
    due_date: date, days_late: int, hour: int, tz: str, country: str
) -> None:
    # The worker was down from before the first reminder until `now`; nothing has been sent.
    now = REAL.instant_of(due_date + timedelta(days=days_late), time(hour, 0), tz)
    window = DEFAULT_LADDER.send_window
    due_levels = [
        lv.level for lv in DEFAULT_LADDER.levels if level_instant(lv, due_date, REAL, tz, country, window) <= now
    ]
    result = next_step(
        DEFAULT_LADDER,
        due_date=due_date,
        balance=OWED,
        done_levels=frozenset(),
        escalated=False,
        now=now,
        clock=REAL,
        tz=tz,
        country=country,
    )
    if not due_levels:
        assert isinstance(result, WaitUntil)
        assert result.reason.startswith("level 1 on ")
    elif in_window_on_a_business_day(now, DEFAULT_LADDER, REAL, tz, country):
        assert result == SendLevel(level=LEVEL[due_levels[-1]], skipped=tuple(due_levels[:-1]))
    else:
        assert isinstance(result, WaitUntil)
        assert result.reason == "send window opens"


@settings(deadline=None, max_examples=60)
@given(ladder=ladders(), due_date=DUE_DATES, tz=ZONES, country=COUNTRIES, demo=st.booleans())
def test_a_life_sends_each_level_once_in_order_and_escalates_once(
    ladder: DunningLadder, due_date: date, tz: str, country: str, demo: bool
) -> None:
    clock = DEMO if demo else REAL
    start = clock.instant_of(due_date - timedelta(days=30), time(12, 0), tz)
    life = live(ladder, due_date, start, clock, tz, country)
    all_levels = [lv.level for lv in ladder.levels]
    sent_levels = [n for n, _ in life.sent]
    # Two levels can fall on the same business day (e.g. Saturday and Sunday offsets both move to
    # Monday): then only the higher is sent and the lower recorded as skipped.
    assert sent_levels == sorted(set(sent_levels))
    assert sorted(sent_levels + life.skipped) == all_levels
    assert sent_levels[-1] == all_levels[-1]
    for n, at in life.sent:
        assert in_window_on_a_business_day(at, ladder, clock, tz, country)
        assert at == level_instant(ladder.levels[n - 1], due_date, clock, tz, country, ladder.send_window)
    for n in life.skipped:
        same_day = [m for m, _ in life.sent if m > n]
        assert level_date(ladder.levels[n - 1], due_date, country) == level_date(
            ladder.levels[same_day[0] - 1], due_date, country
        )
    assert life.escalations == [
        clock.instant_of(escalation_date(ladder, due_date, country), ladder.send_window.start, tz)
    ]
    assert isinstance(life.steps[-1], NoAction)


@settings(deadline=None, max_examples=60)
@given(
    due_date=DUE_DATES,
    tz=ZONES,
    country=COUNTRIES,
    outages=st.lists(st.integers(min_value=0, max_value=20 * 24 * 60), min_size=1, max_size=30),
)
def test_a_life_with_outages_never_sends_twice_or_backwards(
    due_date: date, tz: str, country: str, outages: list[int]
) -> None:
    # Each wake-up comes late by an outage of up to twenty days (in minutes).
    delays = iter([timedelta(minutes=m) for m in outages] + [timedelta()] * 200)
    start = REAL.instant_of(due_date - timedelta(days=30), time(12, 0), tz)
    life = live(DEFAULT_LADDER, due_date, start, REAL, tz, country, downtime=delays)
    sent_levels = [n for n, _ in life.sent]
    assert sent_levels == sorted(set(sent_levels))
    assert sorted(sent_levels + life.skipped) == [1, 2, 3, 4, 5, 6]
    assert sent_levels[-1] == 6  # the final notice always goes out
    for _, at in life.sent:
        assert in_window_on_a_business_day(at, DEFAULT_LADDER, REAL, tz, country)
    assert len(life.escalations) == 1
