"""Payment plans: instalments add up exactly to the balance in the currency's decimals; a missed instalment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.payment_plans import PaymentPlan, PlanError, plan_position, split_balance

START = date(2026, 3, 1)


def test_the_remainder_cents_go_on_the_last_instalment() -> None:
    plan = split_balance(Decimal("100.00"), "USD", 3, START, 30)
    assert [(i.due_date, i.amount) for i in plan] == [
        (date(2026, 3, 1), Decimal("33.33")), (date(2026, 3, 31), Decimal("33.33")),
        (date(2026, 4, 30), Decimal("33.34"))]
    assert [i.running_total for i in plan] == [Decimal("33.33"), Decimal("66.66"), Decimal("100.00")]


def test_currencies_keep_their_own_decimals() -> None:
    assert [i.amount for i in split_balance(Decimal("1000"), "JPY", 3, START, 7)] == [
        Decimal("333"), Decimal("333"), Decimal("334")]
    assert [i.amount for i in split_balance(Decimal("1.000"), "KWD", 3, START, 7)] == [
        Decimal("0.333"), Decimal("0.333"), Decimal("0.334")]


@pytest.mark.parametrize(("balance", "currency", "n", "every", "why"), [
    ("100.00", "USD", 1, 30, "2 to 60"), ("100.00", "USD", 61, 30, "2 to 60"), ("100.00", "USD", 3, 0, "days apart"),
    ("0.02", "USD", 3, 30, "cannot be split"), ("0", "USD", 2, 30, "positive"), ("10.005", "USD", 2, 30, "minor"),
    ("10.5", "JPY", 2, 30, "minor")])
def test_a_plan_that_cannot_be_made_is_refused(balance: str, currency: str, n: int, every: int, why: str) -> None:
    with pytest.raises(PlanError, match=why):
        split_balance(Decimal(balance), currency, n, START, every)


@given(cents=st.integers(min_value=200, max_value=10**11), n=st.integers(min_value=2, max_value=60),
       every=st.integers(min_value=1, max_value=366), currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_instalments_always_add_up_exactly(cents: int, n: int, every: int, currency: str) -> None:
    places = {"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3}[currency]
    balance = Decimal(cents).scaleb(-places)
    if cents < n:
        return
    plan = split_balance(balance, currency, n, START, every)
    assert sum(i.amount for i in plan) == balance and len(plan) == n
    assert all(i.amount > 0 and i.amount.as_tuple().exponent == -places for i in plan)
    assert plan[-1].amount >= plan[0].amount and plan[-1].amount - plan[0].amount < n * Decimal(1).scaleb(-places)
    assert [i.due_date for i in plan] == [START + timedelta(days=every * k) for k in range(n)]


def test_an_instalment_is_missed_the_day_after_its_date_when_paid_is_below_the_running_total() -> None:
    plan = PaymentPlan(number=1, currency="USD", balance_at_start=Decimal("900.00"), proposed_by="sam",
                       instalments=split_balance(Decimal("900.00"), "USD", 3, START, 10))
    on_time = plan_position(plan, Decimal("600.00"), START + timedelta(days=5))
    assert on_time.next is not None and on_time.next.number == 2 and on_time.missed is None
    due_day = plan_position(plan, Decimal("600.00"), START + timedelta(days=10))
    assert due_day.missed is None  # the customer has all of the instalment's day
    late = plan_position(plan, Decimal("400.00"), START + timedelta(days=11))  # 500 paid, 600 due by then
    assert late.missed is not None and late.missed.number == 2 and late.paid == Decimal("500.00")
    ahead = plan_position(plan, Decimal("250.00"), START + timedelta(days=11))
    assert ahead.missed is None and ahead.next is not None and ahead.next.number == 3
