"""The `[fees]` policy section: checked with every problem's line, and the fee a lifecycle proposes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from activities.policy import check_policy_text
from workflows.fee_policy import FeeRate, FeeRule, Fees, fee_due_on, late_fee_for
from workflows.late_fees import ReferenceRates

NO_RATES = ReferenceRates()
DUE = date(2026, 1, 15)


def test_flat_and_percentage_fees_in_the_invoice_currency() -> None:
    flat = FeeRule(kind="flat", amount=Decimal("25"), after_days=14)
    assert fee_due_on(flat, DUE) == date(2026, 1, 29)
    assert late_fee_for(flat, NO_RATES, Decimal("500.00"), "USD", DUE, date(2026, 1, 28)) is None
    fee = late_fee_for(flat, NO_RATES, Decimal("500.00"), "USD", DUE, date(2026, 1, 29))
    assert fee is not None and (fee.amount, fee.days_late) == (Decimal("25.00"), 14)
    pct = FeeRule(kind="percentage", percent=Decimal("1.5"), after_days=30)
    # 1.5 % of 1234.50 = 18.5175 -> 18.52 (half up); of JPY 12345 = 185.175 -> 185.
    got = late_fee_for(pct, NO_RATES, Decimal("1234.50"), "USD", DUE, date(2026, 3, 1))
    assert got is not None and got.amount == Decimal("18.52")
    jpy = late_fee_for(pct, NO_RATES, Decimal("12345"), "JPY", DUE, date(2026, 3, 1))
    assert jpy is not None and jpy.amount == Decimal("185")
    assert late_fee_for(FeeRule(), NO_RATES, Decimal("100"), "USD", DUE, date(2027, 1, 1)) is None


def test_eu_statutory_interest_by_half_year_plus_forty_euro() -> None:
    fees = Fees(kind="statutory", jurisdiction="EU", after_days=30,
                rates=(FeeRate(effective_date=date(2025, 6, 11), rate_percent=Decimal("2.15")),))
    fee = late_fee_for(fees.rule_for(None), fees.reference_rates(), Decimal("2000.00"), "EUR", DUE,
                       date(2026, 2, 14))
    # By hand: 2000 x (2.15 + 8)% x 30 / 365 = 16.6849... -> 16.68; Art. 6 EUR 40.
    assert fee is not None and (fee.interest, fee.compensation, fee.amount) == (
        Decimal("16.68"), Decimal("40.00"), Decimal("56.68"))


def test_a_ladder_has_its_own_rule() -> None:
    fees = Fees(kind="flat", amount=Decimal("10"), ladders={"trade": FeeRule(kind="percentage", percent=Decimal(2))})
    assert fees.rule_for("trade").kind == "percentage" and fees.rule_for("other").amount == Decimal("10")


BAD = """\
[ladders.default]
levels = [{ days = 1, tone = "friendly" }]

[fees]
kind = "statutory"
after_days = -1
percent = 2

[fees.ladders.nosuch]
kind = "flat"
"""


def test_every_problem_of_the_fees_section_is_named_with_its_line() -> None:
    policy, problems = check_policy_text(BAD, "policy.toml")
    assert policy is None
    assert [p.line for p in problems] == [6]  # structure first: a negative after_days
    policy, problems = check_policy_text(BAD.replace("after_days = -1", "after_days = 10"), "policy.toml")
    shown = [(p.line, p.message.split(":")[0]) for p in problems]
    assert (5, "fees.kind") in shown  # statutory needs a jurisdiction, and rates
    assert (7, "fees.percent") in shown
    assert (9, "fees.ladders.nosuch") in shown
    assert (10, "fees.ladders.nosuch.kind") in shown


def test_a_policy_without_fees_keeps_its_digest() -> None:
    from workflows.policy import default_policy

    policy = default_policy()
    with_fees = policy.model_copy(update={"fees": Fees(kind="flat", amount=Decimal(5))})
    assert policy.digest() != with_fees.digest()
    assert policy.digest() == "sha256:" + __import__("hashlib").sha256(__import__("json").dumps(
        {k: v for k, v in policy.model_dump(mode="json").items() if k != "fees"},
        separators=(",", ":"), ensure_ascii=True).encode()).hexdigest()[:16]
