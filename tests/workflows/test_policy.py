"""The collections policy as the lifecycle reads it: segments, approvals, business days, closures, quiet periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.ledger import Customer
from workflows.calendar import LedgerClock, is_business_day
from workflows.dunning import (
    DEFAULT_LADDER,
    DunningLadder,
    SendLevel,
    WaitUntil,
    next_step,
    reminder_needs_approval,
)
from workflows.policy import Policy, PolicyLadder, PolicyLevel, PolicyRead, default_policy

REAL = LedgerClock(epoch_date=date(2026, 1, 1), epoch_instant=datetime(2026, 1, 1, tzinfo=UTC))
LEVELS = [{"days": -3, "tone": "friendly"}, {"days": 7, "tone": "firm"}, {"days": 30, "tone": "final"}]


def customer(**fields: Any) -> Customer:
    return Customer.model_validate({"id": "C-1", "name": "Contoso Ltd", **fields})


def policy(**fields: Any) -> Policy:
    return Policy.model_validate({"ladders": {"default": {"levels": LEVELS}}, **fields})


SEGMENTED = policy(ladders={
    "named": {"match": {"customers": ["C-7", "C-8"]}, "levels": [{"days": 60, "tone": "final"}]},
    "key_accounts": {"match": {"tags": ["Key-Account"]}, "levels": [{"days": 14, "tone": "friendly"}]},
    "big_usd": {"match": {"currency": "USD", "balance_at_least": "10000", "balance_below": "100000"},
                "levels": [{"days": 3, "tone": "firm"}]},
    "long_terms": {"match": {"terms_days_at_least": 60}, "levels": [{"days": 10, "tone": "friendly"}]},
    "uk": {"match": {"countries": ["GB", "IE"]}, "levels": [{"days": 5, "tone": "friendly"}]},
    "default": {"levels": LEVELS},
})


# --- the default is today -----------------------------------------------------------------------------------


def test_the_default_policy_is_todays_ladder() -> None:
    assert default_policy().dunning_ladder() == DEFAULT_LADDER


def test_the_default_policy_gives_every_customer_todays_ladder() -> None:
    for who in (customer(), customer(tags=["vip"], country="GB", terms_days=90, currency="EUR")):
        assert default_policy().ladder_for(who, Decimal("99999")) == DEFAULT_LADDER


@pytest.mark.parametrize("number", range(1, 12))
def test_the_default_policy_asks_a_human_for_every_reminder_but_the_second(number: int) -> None:
    for level in DEFAULT_LADDER.levels:
        assert default_policy().needs_human(number, level, DEFAULT_LADDER) == reminder_needs_approval(number)


def test_the_default_policy_has_no_quiet_periods_and_no_closures() -> None:
    assert default_policy().quiet_until(date(2026, 12, 31)) is None
    assert default_policy().closed_days("US") == frozenset()
    assert default_policy().calendar_for("GB") == "GB"


@settings(max_examples=150, deadline=None)
@given(due=st.dates(date(2026, 1, 1), date(2027, 12, 31)), hours=st.integers(0, 24 * 80),
       done=st.frozensets(st.integers(1, 6), max_size=3), country=st.sampled_from(["US", "GB", "DE", "JP"]))
def test_next_step_on_the_default_policy_is_next_step_today(due: date, hours: int, done: frozenset[int],
                                                             country: str) -> None:
    now = datetime(due.year, due.month, due.day, tzinfo=UTC) + timedelta(hours=hours - 24 * 10)
    kwargs: dict[str, Any] = {"due_date": due, "balance": Decimal("500"), "done_levels": done, "escalated": False,
                              "now": now, "clock": REAL, "tz": "America/New_York", "country": country}
    chosen = default_policy()
    assert next_step(chosen.ladder_for(customer(country=country), Decimal("500")),
                     extra_holidays=chosen.closed_days(country), **kwargs) == next_step(DEFAULT_LADDER, **kwargs)


# --- refusals -----------------------------------------------------------------------------------------------


def test_levels_out_of_order_are_refused_by_the_ladder() -> None:
    with pytest.raises(ValidationError, match="strictly increase"):
        Policy(ladders={"default": PolicyLadder(levels=(PolicyLevel(days=7, tone="firm"),
                                                        PolicyLevel(days=1, tone="friendly")))}).dunning_ladder()


def test_unknown_keys_and_negative_minimum_are_refused() -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({"ladders": {}, "minimum_balance": "-1", "colour": "red"})


@pytest.mark.parametrize(("fields", "expected"), [
    ({"default_ladder": "gentle"}, "default_ladder 'gentle' names no ladder"),
    ({"send_window": {"start": "17:00", "end": "09:00"}}, "must end after it starts"),
    ({"holidays": {"XX": {"extra": ["2026-12-24"]}}}, "unknown country code 'XX'"),
    ({"holidays": {"GB": {"calendar": "GB-ZZZ"}}}, "no calendar 'GB-ZZZ'"),
    ({"quiet_periods": [{"start": "2026-12-20", "end": "2027-01-04"}, {"start": "2027-01-02", "end": "2027-01-10"}]},
     "overlaps"),
    ({"quiet_periods": [{"start": "2026-12-20", "end": "2026-12-01"}]}, "ends before it starts"),
    ({"ladders": {"default": {"levels": LEVELS}, "orphan": {"levels": LEVELS}}}, "no customer would ever get it"),
    ({"ladders": {"default": {"levels": LEVELS}, "x": {"levels": LEVELS, "match": {"balance_at_least": "5"}}}},
     "needs the `currency`"),
    ({"approval": {"reminders": [1], "except_reminders": [3]}}, 'only applies with reminders = "all"'),
])
def test_logic_problems_are_refused(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        policy(**fields)


def test_a_ladder_needs_a_business_day_and_weekdays_in_order() -> None:
    with pytest.raises(ValidationError, match="at least one business day"):
        DunningLadder(levels=DEFAULT_LADDER.levels, business_days=())
    with pytest.raises(ValidationError, match="each once, in order"):
        DunningLadder(levels=DEFAULT_LADDER.levels, business_days=(4, 1))


# --- segments -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "balance", "ladder"), [
    (customer(id="C-7", tags=["key-account"], country="GB"), "50000", "named"),  # listed first: first match wins
    (customer(tags=["KEY-ACCOUNT"]), "50000", "key_accounts"),  # tags ignore case
    (customer(), "10000", "big_usd"),  # balance_at_least is inclusive
    (customer(), "99999.99", "big_usd"),
    (customer(), "100000", "default"),  # balance_below is exclusive
    (customer(currency="EUR"), "50000", "default"),  # a balance range is in its currency
    (customer(terms_days=60), "100", "long_terms"),
    (customer(terms_days=59), "100", "default"),
    (customer(country="gb"), "100", "uk"),
    (customer(country="GB-ENG"), "100", "uk"),  # a region belongs to its country
    (customer(country="IE", terms_days=90), "100", "long_terms"),  # earlier in the file
    (customer(country="FR"), "100", "default"),
])
def test_the_first_ladder_whose_match_takes_the_customer_wins(who: Customer, balance: str, ladder: str) -> None:
    chosen = SEGMENTED.ladder_for(who, Decimal(balance))
    assert chosen.name == ladder
    assert chosen.levels == SEGMENTED.dunning_ladder(ladder).levels


def test_every_criterion_of_a_match_must_hold() -> None:
    both = policy(ladders={"gb_vip": {"match": {"countries": ["GB"], "tags": ["vip"]}, "levels": LEVELS},
                           "default": {"levels": LEVELS}})
    assert both.ladder_for(customer(country="GB", tags=["vip"]), Decimal(1)).name == "gb_vip"
    assert both.ladder_for(customer(country="GB"), Decimal(1)).name == "default"
    assert both.ladder_for(customer(tags=["vip"]), Decimal(1)).name == "default"


def test_the_minimum_balance_is_the_customers_currencys() -> None:
    chosen = policy(minimum_balance="5.00", minimum_balance_by_currency={"jpy": "500"})
    assert chosen.ladder_for(customer(currency="JPY"), Decimal(10)).minimum_balance == Decimal("500")
    assert chosen.ladder_for(customer(currency="USD"), Decimal(10)).minimum_balance == Decimal("5.00")


def test_the_policy_ladder_carries_window_business_days_and_escalation() -> None:
    chosen = policy(send_window={"start": "08:30", "end": "12:00"}, business_days=["Sunday", "mon", "TUE"],
                    ladders={"default": {"levels": LEVELS, "escalate_after_days": 3}})
    ladder = chosen.dunning_ladder()
    assert (ladder.send_window.start, ladder.send_window.end) == (time(8, 30), time(12, 0))
    assert ladder.business_days == (0, 1, 6)
    assert ladder.escalate_after_days == 3
    assert [(level.level, level.offset_days, level.tone) for level in ladder.levels] == [
        (1, -3, "friendly"), (2, 7, "firm"), (3, 30, "final")]


# --- who decides ---------------------------------------------------------------------------------------------


def test_a_level_marked_approval_always_waits_for_a_human() -> None:
    chosen = policy(approval={"reminders": "none"},
                    ladders={"default": {"levels": [{"days": 1, "tone": "friendly"},
                                                    {"days": 9, "tone": "final", "approval": True}]}})
    ladder = chosen.dunning_ladder()
    assert chosen.needs_human(1, ladder.levels[0], ladder) is False
    assert chosen.needs_human(2, ladder.levels[1], ladder) is True


def test_listed_reminder_numbers_wait_for_a_human() -> None:
    chosen = policy(approval={"reminders": [1, 3]})
    ladder = chosen.dunning_ladder()
    assert [chosen.needs_human(n, ladder.levels[0], ladder) for n in (1, 2, 3, 4)] == [True, False, True, False]
    with pytest.raises(ValueError, match="start at 1"):
        chosen.needs_human(0, ladder.levels[0], ladder)


# --- calendar ------------------------------------------------------------------------------------------------


def test_quiet_until_is_the_first_day_after_the_period() -> None:
    chosen = policy(quiet_periods=[{"name": "year end", "start": "2026-12-20", "end": "2027-01-04"},
                                   {"start": "2027-01-05", "end": "2027-01-06"}, {"start": "2027-03-01",
                                                                                  "end": "2027-03-01"}])
    assert chosen.quiet_until(date(2026, 12, 19)) is None
    assert chosen.quiet_until(date(2026, 12, 20)) == date(2027, 1, 7)  # back-to-back: after both
    assert chosen.quiet_until(date(2027, 1, 6)) == date(2027, 1, 7)
    assert chosen.quiet_until(date(2027, 1, 7)) is None
    assert chosen.quiet_until(date(2027, 3, 1)) == date(2027, 3, 2)


def test_closed_days_are_the_countrys_extra_days_and_the_company_closures() -> None:
    chosen = policy(closures=["2026-12-24"], holidays={"gb": {"calendar": "GB-ENG", "extra": ["2026-08-28"]},
                                                       "GB-SCT": {"extra": ["2026-11-30"]}})
    assert chosen.closed_days("US") == {date(2026, 12, 24)}
    assert chosen.closed_days("GB") == {date(2026, 12, 24), date(2026, 8, 28)}
    assert chosen.closed_days("gb-sct") == {date(2026, 12, 24), date(2026, 8, 28), date(2026, 11, 30)}
    assert chosen.calendar_for("GB") == "GB-ENG"
    assert chosen.calendar_for("US") == "US"


def test_business_days_of_the_policy_move_sends_in_next_step() -> None:
    """A Sunday-to-Thursday week: a level falling on a Friday goes out on the Sunday after."""
    chosen = policy(business_days=["sun", "mon", "tue", "wed", "thu"])
    ladder = chosen.dunning_ladder()
    due = date(2026, 3, 3)  # level 2 (+7) falls on Tuesday 10 March; level 1 (-3) on Saturday 28 February
    wait = next_step(ladder, due_date=due, balance=Decimal(100), done_levels=frozenset(), escalated=False,
                     now=datetime(2026, 2, 20, tzinfo=UTC), clock=REAL, tz="UTC", country="AE")
    assert isinstance(wait, WaitUntil)
    assert wait.instant == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # Sunday, not Monday 2 March
    assert is_business_day(date(2026, 3, 1), "AE", weekdays=ladder.business_days)
    assert not is_business_day(date(2026, 3, 1), "AE")  # the default week is still Monday to Friday


def test_closures_move_sends_in_next_step() -> None:
    chosen = policy(closures=["2026-03-10", "2026-03-11"])
    ladder = chosen.dunning_ladder()
    step = next_step(ladder, due_date=date(2026, 3, 3), balance=Decimal(100), done_levels=frozenset({1}),
                     escalated=False, now=datetime(2026, 3, 9, 12, tzinfo=UTC), clock=REAL, tz="UTC", country="US",
                     extra_holidays=chosen.closed_days("US"))
    assert isinstance(step, WaitUntil)
    assert step.reason == "level 2 on 2026-03-12"


def test_a_quiet_period_holds_a_due_reminder_until_it_ends() -> None:
    """The way the lifecycle applies it: inside a quiet period it waits for `quiet_until`, then next_step sends."""
    chosen = policy(quiet_periods=[{"name": "year end", "start": "2026-12-20", "end": "2027-01-04"}])
    ladder = chosen.dunning_ladder()
    kwargs: dict[str, Any] = {"due_date": date(2026, 12, 18), "balance": Decimal(100), "done_levels": frozenset({1}),
                              "escalated": False, "clock": REAL, "tz": "UTC", "country": "US"}
    now = datetime(2026, 12, 28, 10, tzinfo=UTC)
    assert isinstance(next_step(ladder, now=now, **kwargs), SendLevel)  # the ladder alone would send
    resume = chosen.quiet_until(REAL.today(now, "UTC"))
    assert resume == date(2027, 1, 5)
    after = next_step(ladder, now=REAL.instant_of(resume, ladder.send_window.start, "UTC"), **kwargs)
    assert isinstance(after, SendLevel) and after.level.level == 2


# --- digest and transport ---------------------------------------------------------------------------------


def test_the_digest_is_stable_and_follows_the_content() -> None:
    assert default_policy().digest() == default_policy().digest()
    same = Policy.model_validate(default_policy().model_dump(mode="json"))
    assert same.digest() == default_policy().digest()
    assert policy(minimum_balance="2").digest() != policy(minimum_balance="1").digest()
    reordered = policy(ladders={"default": {"levels": LEVELS}, "uk": {"match": {"countries": ["GB"]},
                                                                      "levels": LEVELS}})
    assert reordered.digest() != policy(ladders={"uk": {"match": {"countries": ["GB"]}, "levels": LEVELS},
                                                 "default": {"levels": LEVELS}}).digest()  # first match wins


def test_a_policy_read_round_trips_through_json() -> None:
    read = PolicyRead(digest=SEGMENTED.digest(), policy=SEGMENTED)
    back = PolicyRead.model_validate_json(read.model_dump_json())
    assert back == read
    assert back.policy is not None and back.policy.digest() == SEGMENTED.digest()


@pytest.mark.parametrize("chosen", [
    default_policy(), SEGMENTED,
    policy(approval={"reminders": [1, 3]}, business_days=["sun", "mon"], closures=["2026-12-24"],
           holidays={"GB": {"calendar": "GB-ENG", "extra": ["2026-08-28"]}}, minimum_balance_by_currency={"JPY": "100"},
           quiet_periods=[{"name": "year end", "start": "2026-12-20", "end": "2027-01-04"}],
           send_window={"start": "08:00", "end": "12:30"}),
    policy(approval={"reminders": "none"}),
], ids=["default", "segmented", "everything", "no-approvals"])
def test_a_policy_reads_back_from_its_own_dump(chosen: Policy) -> None:
    """A policy travels as JSON (the activity's answer, a workflow's history): it must validate again as itself."""
    assert Policy.model_validate_json(chosen.model_dump_json()) == chosen
    assert Policy.model_validate(chosen.model_dump(mode="json")) == chosen
    assert Policy.model_validate(chosen.model_dump(mode="json")).digest() == chosen.digest()


def test_a_quiet_period_inside_a_longer_one_is_an_overlap_even_after_another() -> None:
    with pytest.raises(ValidationError) as refused:
        policy(quiet_periods=[{"name": "january", "start": "2027-01-01", "end": "2027-01-31"},
                              {"name": "stocktake", "start": "2027-01-05", "end": "2027-01-06"},
                              {"name": "audit", "start": "2027-01-20", "end": "2027-01-21"}])
    message = str(refused.value)
    assert "'stocktake' overlaps 'january'" in message and "'audit' overlaps 'january'" in message
