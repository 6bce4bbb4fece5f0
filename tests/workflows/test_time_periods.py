"""Billing periods of time entries: which period a day falls in, its first and last day, the next one."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.invoicing import billing_period_key, next_period_key, period_days
from workflows.policy import Billing, Policy, PolicyLadder, PolicyLevel
from workflows.time_messages import time_workflow_id


@pytest.mark.parametrize(("day", "weekly", "monthly"), [
    (date(2026, 1, 5), "2026-W02", "2026-01"),  # a Monday
    (date(2026, 1, 11), "2026-W02", "2026-01"),  # the Sunday of the same week
    (date(2025, 12, 29), "2026-W01", "2025-12"),  # ISO week-year differs from the calendar year
    (date(2021, 1, 3), "2020-W53", "2021-01"),  # a 53-week year
    (date(2024, 2, 29), "2024-W09", "2024-02"),
])
def test_a_day_falls_in_its_iso_week_or_month(day: date, weekly: str, monthly: str) -> None:
    assert billing_period_key(day, "weekly") == weekly
    assert billing_period_key(day, "monthly") == monthly


@pytest.mark.parametrize(("key", "first", "last"), [
    ("2026-W02", date(2026, 1, 5), date(2026, 1, 11)),
    ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
    ("2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
    ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
])
def test_a_period_runs_from_its_first_to_its_last_day(key: str, first: date, last: date) -> None:
    assert period_days(key) == (first, last)


@pytest.mark.parametrize("key", ["2026-W54", "2025-W53", "2026-13", "2026-W1", "26-01", "weekly", ""])
def test_a_malformed_period_is_refused_by_name(key: str) -> None:
    with pytest.raises(ValueError, match="is no billing period"):
        period_days(key)


@pytest.mark.parametrize(("key", "following"), [
    ("2025-W52", "2026-W01"), ("2020-W53", "2021-W01"), ("2026-W02", "2026-W03"),
    ("2025-12", "2026-01"), ("2026-01", "2026-02"),
])
def test_the_next_period_is_of_the_same_kind(key: str, following: str) -> None:
    assert next_period_key(key) == following


def test_one_workflow_id_per_ledger_tenant_customer_and_period() -> None:
    assert time_workflow_id("sandbox", "demo", "C-1001", "2026-W02") == "time:sandbox:demo:C-1001:2026-W02"
    assert time_workflow_id("xero", "t1", "C-9", "2026-01") == "time:xero:t1:C-9:2026-01"


def test_the_policy_bills_weekly_unless_it_says_monthly() -> None:
    ladders = {"default": PolicyLadder(levels=(PolicyLevel(days=0, tone="friendly"),))}
    assert Policy(ladders=ladders).billing.period == "weekly"
    assert Policy(ladders=ladders, billing=Billing(period="monthly")).billing.period == "monthly"
    with pytest.raises(ValueError, match="weekly' or 'monthly"):
        Billing.model_validate({"period": "fortnightly"})


def test_policy_check_names_the_line_of_a_bad_billing_period() -> None:
    from activities.policy import check_policy_text

    text = '[ladders.default]\nlevels = [{days = 0, tone = "friendly"}]\n\n[billing]\nperiod = "fortnightly"\n'
    policy, problems = check_policy_text(text, "policy.toml")
    assert policy is None
    assert [str(problem) for problem in problems] == [
        "policy.toml:5: billing.period: Input should be 'weekly' or 'monthly'"]
    monthly, none = check_policy_text(text.replace("fortnightly", "monthly"), "policy.toml")
    assert none == [] and monthly is not None and monthly.billing.period == "monthly"
