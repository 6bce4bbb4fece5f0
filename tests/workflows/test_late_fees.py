"""The late-fee rules: statutory interest and compensation by jurisdiction, checked against hand computations.

Rate tables are the real ones where the case is about the law (Bank of England Bank Rate, ECB main
refinancing rate), and made-up round figures where the case is about a boundary.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import minor_unit
from workflows.late_fees import (
    ConflictingRates,
    LateCharge,
    LateFeeError,
    RateChange,
    RateNotKnown,
    ReferenceRates,
    UnpaidDebt,
    days_late,
    fixed_compensation,
    fixed_rate_interest,
    flat_fee,
    percentage_fee,
    round_half_up,
    statutory_interest,
)


def table(*rows: tuple[str, str], name: str = "reference rate") -> ReferenceRates:
    return ReferenceRates.from_changes(
        (RateChange(effective_date=date.fromisoformat(day), rate_percent=Decimal(rate)) for day, rate in rows),
        name=name)


BANK_RATE = table(("2022-12-15", "3.50"), ("2023-02-02", "4.00"), ("2023-03-23", "4.25"), ("2023-05-11", "4.50"),
                  ("2023-06-22", "5.00"), ("2023-08-03", "5.25"), ("2024-08-01", "5.00"), ("2024-11-07", "4.75"),
                  ("2025-02-06", "4.50"), ("2025-05-08", "4.25"), name="Bank Rate")
ECB_MRO = table(("2022-12-21", "2.50"), ("2023-02-08", "3.00"), ("2023-03-22", "3.50"), ("2023-05-10", "3.75"),
                ("2023-06-21", "4.00"), ("2023-08-02", "4.25"), ("2023-09-20", "4.50"), ("2024-06-12", "4.25"),
                ("2024-09-18", "3.65"), ("2024-10-23", "3.40"), ("2024-12-18", "3.15"), name="ECB MRO")


def debt(amount: str, due: str, currency: str = "GBP") -> UnpaidDebt:
    return UnpaidDebt(currency=currency, amount=Decimal(amount), due_date=date.fromisoformat(due))


def gb(amount: str, due: str, as_of: str, currency: str = "GBP", rates: ReferenceRates = BANK_RATE,
       exchange: str | None = None) -> LateCharge:
    charge = statutory_interest(debt(amount, due, currency), date.fromisoformat(as_of), "GB", rates,
                                statute_exchange_rate=Decimal(exchange) if exchange else None)
    assert charge is not None
    return charge


def eu(amount: str, due: str, as_of: str, currency: str = "EUR", rates: ReferenceRates = ECB_MRO,
       exchange: str | None = None) -> LateCharge:
    charge = statutory_interest(debt(amount, due, currency), date.fromisoformat(as_of), "EU", rates,
                                statute_exchange_rate=Decimal(exchange) if exchange else None)
    assert charge is not None
    return charge


# --- GB: Late Payment of Commercial Debts (Interest) Act 1998 -----------------------------------------------


def test_a_uk_invoice_45_days_late_matches_the_hand_computation_to_the_penny() -> None:
    # £5,000.00 due Friday 15 March 2024, paid nothing by 29 April 2024.
    # Interest starts 16 March 2024 (January-June), so the reference rate is Bank Rate on 31 December 2023: 5.25 %.
    # Statutory rate 5.25 + 8 = 13.25 %. Daily interest 5000 x 0.1325 / 365 = £1.8150684...
    # 16 March .. 29 April is 16 + 29 = 45 days: 45 x 1.8150684 = £81.678 -> £81.68.
    # Fixed compensation: £1,000 <= 5,000 < £10,000 -> £70.
    charge = gb("5000.00", "2024-03-15", "2024-04-29")
    assert charge.days_late == 45
    assert charge.rate_percent == Decimal("13.25")
    assert charge.interest == Decimal("81.68")
    assert str(charge.interest) == "81.68"
    assert charge.compensation == Decimal("70.00")
    assert charge.total == Decimal("151.68")
    [period] = charge.periods
    assert (period.start, period.end, period.days) == (date(2024, 3, 16), date(2024, 4, 29), 45)
    assert period.reference_date == date(2023, 12, 31)
    assert period.reference_rate_percent == Decimal("5.25")
    assert "SI 2002/1675" in charge.basis and "Bank Rate" in charge.basis


def test_the_uk_rate_is_fixed_for_the_debt_when_bank_rate_moves_during_the_delay() -> None:
    # Due 15 July 2024: interest starts 16 July (July-December), reference Bank Rate on 30 June 2024 = 5.25 %.
    # Bank Rate fell to 5.00 on 1 August and 4.75 on 7 November; SI 2002/1675 art. 4 keeps 13.25 % for this debt.
    # 16 July .. 31 December 2024 = 16 + 31 + 30 + 31 + 30 + 31 = 169 days.
    # 20,000 x 13.25 x 169 / 36,500 = 44,785,000 / 36,500 = 1,226.9863 -> £1,226.99; compensation £100.
    charge = gb("20000.00", "2024-07-15", "2024-12-31")
    assert charge.days_late == 169
    assert charge.rate_percent == Decimal("13.25")
    assert len(charge.periods) == 1
    assert charge.interest == Decimal("1226.99")
    assert charge.compensation == Decimal("100.00")


SEMESTER_TABLE = table(("2023-01-01", "1.00"), ("2023-12-31", "2.00"), ("2024-06-30", "3.00"),
                       ("2024-12-31", "4.00"), ("2025-01-01", "5.00"))


@pytest.mark.parametrize(("due", "reference_date", "rate"), [
    ("2024-06-29", "2023-12-31", "10.00"),  # starts 30 June: the 31 December before
    ("2024-06-30", "2024-06-30", "11.00"),  # starts 1 July: 30 June, a change dated 30 June already in force
    ("2024-12-30", "2024-06-30", "11.00"),  # starts 31 December: still the 30 June before
    ("2024-12-31", "2024-12-31", "12.00"),  # starts 1 January 2025: 31 December 2024, not the 1 January change
    ("2024-01-01", "2023-12-31", "10.00"),  # starts 2 January
])
def test_the_uk_reference_date_is_the_30_june_or_31_december_before_interest_starts(
        due: str, reference_date: str, rate: str) -> None:
    charge = gb("1000.00", due, "2025-03-01", rates=SEMESTER_TABLE)
    assert charge.periods[0].reference_date == date.fromisoformat(reference_date)
    assert charge.rate_percent == Decimal(rate)


@pytest.mark.parametrize(("balance", "compensation"), [
    ("0.01", "40.00"), ("999.99", "40.00"), ("1000.00", "70.00"), ("9999.99", "70.00"), ("10000.00", "100.00"),
    ("250000.00", "100.00"),
])
def test_uk_fixed_compensation_tiers(balance: str, compensation: str) -> None:
    assert gb(balance, "2024-03-15", "2024-04-29").compensation == Decimal(compensation)


def test_leap_day_is_a_day_of_interest_at_the_365_day_rate() -> None:
    # 21 February .. 1 March 2024 is 10 days (29 February included): 3,650 x 13.25 % x 10 / 365 = £13.25 exactly.
    leap = gb("3650.00", "2024-02-20", "2024-03-01")
    assert leap.days_late == 10
    assert leap.interest == Decimal("13.25")
    # The same dates in 2023: 9 days, reference Bank Rate on 31 December 2022 = 3.50 %, so 11.50 %:
    # 3,650 x 11.5 % x 9 / 365 = £10.35.
    plain = gb("3650.00", "2023-02-20", "2023-03-01")
    assert plain.days_late == 9
    assert plain.rate_percent == Decimal("11.50")
    assert plain.interest == Decimal("10.35")


def test_a_foreign_currency_debt_gets_interest_but_no_guessed_compensation() -> None:
    # Interest is a percentage: $5,000 at 13.25 % for 45 days is 81.68 whatever the currency.
    charge = gb("5000.00", "2024-03-15", "2024-04-29", currency="USD")
    assert charge.interest == Decimal("81.68")
    assert charge.compensation == Decimal("0.00")
    assert charge.compensation_note is not None and "GBP" in charge.compensation_note
    # With the operator's rate (1.25 USD per GBP): $5,000 is £4,000, the £70 tier, paid as $87.50.
    converted = gb("5000.00", "2024-03-15", "2024-04-29", currency="USD", exchange="1.25")
    assert converted.compensation == Decimal("87.50") and converted.compensation_note is None


@pytest.mark.parametrize(("balance", "compensation"), [
    # 1.25 USD per GBP: $1,249.98 is £999.984 (under £1,000: £40 = $50), $1,250.00 is £1,000 exactly (£70 = $87.50)
    ("1249.98", "50.00"), ("1250.00", "87.50"), ("12499.99", "87.50"), ("12500.00", "125.00"),
])
def test_uk_tiers_are_compared_in_pounds(balance: str, compensation: str) -> None:
    assert fixed_compensation("GB", debt(balance, "2024-01-01", "USD"), Decimal("1.25")) == Decimal(compensation)


# --- EU: Directive 2011/7/EU --------------------------------------------------------------------------------


def test_an_eu_debt_late_across_30_june_accrues_each_half_year_at_its_own_rate() -> None:
    # EUR 10,000 due 31 May 2024. 1-30 June (30 days): ECB rate on 1 January 2024 = 4.50 -> 12.50 %.
    # 1 July - 29 August (31 + 29 = 60 days): ECB rate on 1 July 2024 = 4.25 (cut on 12 June) -> 12.25 %.
    # 10,000 x (12.50 x 30 + 12.25 x 60) / 36,500 = 11,100,000 / 36,500 = 304.1096 -> EUR 304.11.
    charge = eu("10000.00", "2024-05-31", "2024-08-29")
    assert charge.days_late == 90
    assert [(p.start, p.end, p.days, p.rate_percent) for p in charge.periods] == [
        (date(2024, 6, 1), date(2024, 6, 30), 30, Decimal("12.50")),
        (date(2024, 7, 1), date(2024, 8, 29), 60, Decimal("12.25")),
    ]
    assert [p.reference_date for p in charge.periods] == [date(2024, 1, 1), date(2024, 7, 1)]
    assert charge.interest == Decimal("304.11")
    assert charge.rate_percent == Decimal("12.25")  # the rate in force on as-of
    assert charge.compensation == Decimal("40.00")


def test_an_eu_rate_change_inside_a_half_year_waits_for_the_next_half_year() -> None:
    # The ECB cut to 3.65 on 18 September 2024; July-December 2024 stays at the 1 July rate, 4.25 -> 12.25 %.
    # 2 Sept .. 30 Nov 2024 = 29 + 31 + 30 = 90 days: 36,500 x 12.25 % x 90 / 365 = EUR 1,102.50.
    charge = eu("36500.00", "2024-09-01", "2024-11-30")
    assert len(charge.periods) == 1
    assert charge.rate_percent == Decimal("12.25")
    assert charge.interest == Decimal("1102.50")


def test_a_long_eu_delay_sums_exact_shares_and_rounds_once() -> None:
    # EUR 2,500 due 30 November 2023, as of 29 August 2024:
    #   1-31 Dec 2023    31 days at 4.00 + 8 = 12.00 %  (rate on 1 July 2023)
    #   1 Jan-30 Jun 24 182 days at 4.50 + 8 = 12.50 %  (leap year: 31+29+31+30+31+30)
    #   1 Jul-29 Aug 24  60 days at 4.25 + 8 = 12.25 %
    # 2,500 x (12 x 31 + 12.5 x 182 + 12.25 x 60) / 36,500 = 2,500 x 3,382 / 36,500 = 231.6438 -> 231.64.
    charge = eu("2500.00", "2023-11-30", "2024-08-29")
    assert [p.days for p in charge.periods] == [31, 182, 60]
    assert charge.days_late == 273
    assert charge.interest == Decimal("231.64")


def test_eu_compensation_is_40_euro_whatever_the_size() -> None:
    assert eu("0.50", "2024-03-15", "2024-04-29").compensation == Decimal("40.00")
    assert eu("2000000.00", "2024-03-15", "2024-04-29").compensation == Decimal("40.00")


# --- rounding in currencies without cents or with mills -----------------------------------------------------


def test_jpy_interest_rounds_half_up_to_whole_yen() -> None:
    # ¥36,500 at 4.50 + 8 = 12.50 % for one day: 36,500 x 0.125 / 365 = ¥12.5 -> ¥13 (half up, not to even).
    rates = table(("2024-01-01", "4.50"))
    charge = eu("36500", "2024-03-15", "2024-03-16", currency="JPY", rates=rates, exchange="160")
    assert charge.interest == Decimal("13") and str(charge.interest) == "13"
    assert str(charge.compensation) == "6400"  # EUR 40 at 160 yen per euro


def test_kwd_interest_rounds_half_up_to_the_fils() -> None:
    # KWD 36.500 at 12.50 % for one day: 36.5 x 0.125 / 365 = 0.0125 -> KWD 0.013.
    rates = table(("2024-01-01", "4.50"))
    charge = eu("36.500", "2024-03-15", "2024-03-16", currency="KWD", rates=rates)
    assert str(charge.interest) == "0.013"
    assert str(charge.compensation) == "0.000" and charge.compensation_note is not None
    # 0.389 KWD per GBP: KWD 36.500 is about £93.83, the £40 tier: 40 x 0.389 = KWD 15.560.
    uk = gb("36.500", "2024-03-15", "2024-04-29", currency="KWD", exchange="0.389")
    assert str(uk.compensation) == "15.560"


@pytest.mark.parametrize(("value", "currency", "rounded"), [
    ("0.125", "GBP", "0.13"), ("0.135", "GBP", "0.14"), ("-0.125", "GBP", "-0.13"), ("12.5", "JPY", "13"),
    ("11.5", "JPY", "12"), ("0.0005", "KWD", "0.001"), ("2.4999", "JPY", "2"), ("0", "BHD", "0.000"),
])
def test_round_half_up(value: str, currency: str, rounded: str) -> None:
    assert str(round_half_up(Decimal(value), currency)) == rounded


# --- NONE, not late, tables ---------------------------------------------------------------------------------


def test_no_jurisdiction_lists_the_delay_with_nothing_to_charge() -> None:
    charge = statutory_interest(debt("5000.00", "2024-03-15"), date(2024, 4, 29), "NONE", None)
    assert charge is not None
    assert (charge.days_late, charge.rate_percent, charge.interest, charge.compensation) == (
        45, Decimal(0), Decimal("0.00"), Decimal("0.00"))
    yen = statutory_interest(debt("5000", "2024-03-15", "JPY"), date(2024, 4, 29), "NONE", None)
    assert yen is not None and str(yen.interest) == "0" and str(yen.compensation) == "0"


@pytest.mark.parametrize(("amount", "due"), [("100.00", "2024-04-29"), ("100.00", "2024-05-01"),
                                             ("0.00", "2024-01-01")])
@pytest.mark.parametrize("jurisdiction", ["GB", "EU", "NONE"])
def test_nothing_is_charged_before_the_day_after_the_due_date_or_on_a_paid_invoice(
        amount: str, due: str, jurisdiction: str) -> None:
    rates = BANK_RATE if jurisdiction == "GB" else ECB_MRO
    assert statutory_interest(debt(amount, due), date(2024, 4, 29), jurisdiction, rates) is None  # type: ignore[arg-type]


def test_a_rate_before_the_table_is_refused_never_guessed() -> None:
    rates = table(("2024-01-01", "5.25"))
    # Interest from 16 March 2024 needs Bank Rate on 31 December 2023: the table starts a day later.
    with pytest.raises(RateNotKnown) as refused:
        statutory_interest(debt("100.00", "2024-03-15"), date(2024, 4, 29), "GB", rates)
    assert refused.value.day == date(2023, 12, 31) and refused.value.first == date(2024, 1, 1)
    assert "2023-12-31" in str(refused.value) and "2024-01-01" in str(refused.value)
    # As-of before the table: refused even for an invoice that is not late yet.
    with pytest.raises(RateNotKnown):
        statutory_interest(debt("100.00", "2023-12-31"), date(2023, 12, 1), "EU", rates)
    with pytest.raises(RateNotKnown):
        statutory_interest(debt("100.00", "2023-06-01"), date(2024, 4, 29), "EU", rates)
    with pytest.raises(LateFeeError):
        statutory_interest(debt("100.00", "2024-03-15"), date(2024, 4, 29), "GB", None)


def test_eu_debt_due_on_31_december_needs_only_the_1_january_rate() -> None:
    # Interest starts 1 January: the table starting that day is enough (4.00 + 8 = 12 %, 10 days, EUR 3,650 -> 12.00).
    charge = eu("3650.00", "2023-12-31", "2024-01-10", rates=table(("2024-01-01", "4.00")))
    assert charge.interest == Decimal("12.00")


def test_rate_table_takes_changes_on_their_date_in_any_order() -> None:
    rates = table(("2024-08-01", "5.00"), ("2023-08-03", "5.25"), ("2023-08-03", "5.25"))
    assert [c.effective_date for c in rates.changes] == [date(2023, 8, 3), date(2024, 8, 1)]
    assert rates.rate_on(date(2024, 7, 31)) == Decimal("5.25")
    assert rates.rate_on(date(2024, 8, 1)) == Decimal("5.00")
    assert rates.rate_on(date(2030, 1, 1)) == Decimal("5.00")
    with pytest.raises(RateNotKnown):
        rates.rate_on(date(2023, 8, 2))
    with pytest.raises(ConflictingRates, match="2023-08-03"):
        table(("2023-08-03", "5.25"), ("2023-08-03", "5.00"))
    with pytest.raises(ValueError, match="date order"):
        ReferenceRates(changes=(RateChange(effective_date=date(2024, 1, 2), rate_percent=Decimal(1)),
                                RateChange(effective_date=date(2024, 1, 1), rate_percent=Decimal(2))))


# --- policy fees ---------------------------------------------------------------------------------------------


def test_flat_and_percentage_fees_round_to_the_currency() -> None:
    assert flat_fee(Decimal("25"), "GBP") == Decimal("25.00")
    assert str(flat_fee(Decimal("1500.4"), "JPY")) == "1500"
    # 1.5 % of 1,234.50 = 18.5175 -> 18.52; of KWD 10.333 = 0.154995 -> 0.155; of ¥99,999 = 1,499.985 -> 1,500.
    assert percentage_fee(debt("1234.50", "2024-01-01"), Decimal("1.5")) == Decimal("18.52")
    assert str(percentage_fee(debt("10.333", "2024-01-01", "KWD"), Decimal("1.5"))) == "0.155"
    assert str(percentage_fee(debt("99999", "2024-01-01", "JPY"), Decimal("1.5"))) == "1500"
    with pytest.raises(LateFeeError):
        flat_fee(Decimal("-1"), "GBP")
    with pytest.raises(LateFeeError):
        percentage_fee(debt("10", "2024-01-01"), Decimal("-0.5"))


def test_a_configured_rate_for_other_places() -> None:
    # 18 % a year on $7,300 for 30 days: 7,300 x 0.18 x 30 / 365 = $108.00.
    charge = fixed_rate_interest(debt("7300.00", "2024-01-31", "USD"), date(2024, 3, 1), Decimal("18"))
    assert charge is not None
    assert (charge.days_late, charge.interest, charge.compensation) == (30, Decimal("108.00"), Decimal("0.00"))
    assert fixed_rate_interest(debt("7300.00", "2024-03-01", "USD"), date(2024, 3, 1), Decimal("18")) is None


# --- properties ----------------------------------------------------------------------------------------------

dates = st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31))
currencies = st.sampled_from(["GBP", "EUR", "USD", "JPY", "KWD", "BHD", "CHF"])
rate_tables = st.lists(
    st.tuples(dates, st.decimals(min_value=Decimal("-0.5"), max_value=Decimal("15"), places=2)),
    min_size=1, max_size=12, unique_by=lambda row: row[0],
).map(lambda rows: table(*((d.isoformat(), str(r)) for d, r in rows)))


@st.composite
def late_debts(draw: st.DrawFn) -> tuple[UnpaidDebt, date]:
    currency = draw(currencies)
    places = {"JPY": 0, "KWD": 3, "BHD": 3}.get(currency, 2)
    amount = draw(st.decimals(min_value=Decimal("0.01") if places else Decimal(1), max_value=Decimal("5000000"),
                              places=places))
    due = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)))
    as_of = due + timedelta(days=draw(st.integers(min_value=1, max_value=1500)))
    return UnpaidDebt(currency=currency, amount=amount, due_date=due), as_of


EARLY = table(("2000-01-01", "1.00"))


def _exact(amount: Decimal, rate: Decimal, days: int) -> Fraction:
    return Fraction(amount) * Fraction(rate) * days / 36500


@settings(max_examples=300, deadline=None)
@given(late_debts(), rate_tables)
def test_gb_interest_is_one_fixed_rate_rounded_once(case: tuple[UnpaidDebt, date], rates: ReferenceRates) -> None:
    late, as_of = case
    rates = ReferenceRates.from_changes((*EARLY.changes, *rates.changes))  # generated dates start in 2019
    start = late.due_date + timedelta(days=1)
    reference = date(start.year - 1, 12, 31) if start.month <= 6 else date(start.year, 6, 30)
    charge = statutory_interest(late, as_of, "GB", rates)
    assert charge is not None
    expected_rate = rates.rate_on(reference) + 8
    assert charge.rate_percent == expected_rate
    assert charge.days_late == (as_of - late.due_date).days
    assert charge.interest == round_half_up(_exact(late.amount, expected_rate, charge.days_late), late.currency)
    assert charge.interest.as_tuple().exponent == minor_unit(late.currency).as_tuple().exponent


@settings(max_examples=300, deadline=None)
@given(late_debts(), rate_tables)
def test_eu_periods_tile_the_delay_by_half_years(case: tuple[UnpaidDebt, date], rates: ReferenceRates) -> None:
    late, as_of = case
    rates = ReferenceRates.from_changes((*EARLY.changes, *rates.changes))
    charge = statutory_interest(late, as_of, "EU", rates)
    assert charge is not None
    periods = charge.periods
    assert periods[0].start == late.due_date + timedelta(days=1) and periods[-1].end == as_of
    assert sum(p.days for p in periods) == charge.days_late == (as_of - late.due_date).days
    for before, after in pairwise(periods):
        assert after.start == before.end + timedelta(days=1)
    exact = Fraction(0)
    for period in periods:
        half_year_start = date(period.start.year, 1 if period.start.month <= 6 else 7, 1)
        assert (period.end.year, period.end.month <= 6) == (period.start.year, period.start.month <= 6)
        assert period.reference_date == half_year_start
        assert period.rate_percent == rates.rate_on(half_year_start) + 8
        exact += _exact(late.amount, period.rate_percent, period.days)
    assert charge.interest == round_half_up(exact, late.currency)
    assert charge.rate_percent == periods[-1].rate_percent


@settings(max_examples=200, deadline=None)
@given(late_debts(), st.sampled_from(["GB", "EU"]))
def test_interest_never_falls_as_the_delay_grows(case: tuple[UnpaidDebt, date], jurisdiction: str) -> None:
    late, as_of = case
    rates = table(("2000-01-01", "0.10"), ("2021-03-01", "4.00"), ("2023-07-15", "5.25"), ("2025-02-01", "2.00"))
    today = statutory_interest(late, as_of, jurisdiction, rates)  # type: ignore[arg-type]
    tomorrow = statutory_interest(late, as_of + timedelta(days=1), jurisdiction, rates)  # type: ignore[arg-type]
    assert today is not None and tomorrow is not None
    assert tomorrow.interest >= today.interest
    assert tomorrow.days_late == today.days_late + 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(dates, st.decimals(min_value=Decimal(0), max_value=Decimal(20), places=2)),
                min_size=1, max_size=15, unique_by=lambda row: row[0]), dates, st.randoms(use_true_random=False))
def test_the_rate_in_force_is_the_latest_change_on_or_before_the_day(
        rows: list[tuple[date, Decimal]], day: date, shuffle: random.Random) -> None:
    shuffled = list(rows)
    shuffle.shuffle(shuffled)
    rates = ReferenceRates.from_changes(RateChange(effective_date=d, rate_percent=r) for d, r in shuffled)
    in_force = [rate for effective, rate in sorted(rows) if effective <= day]
    if in_force:
        assert rates.rate_on(day) == in_force[-1]
    else:
        with pytest.raises(RateNotKnown):
            rates.rate_on(day)


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6), currencies)
def test_round_half_up_agrees_with_decimal_half_up(value: Decimal, currency: str) -> None:
    assert round_half_up(value, currency) == value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def test_days_late() -> None:
    assert days_late(date(2024, 2, 28), date(2024, 3, 1)) == 2
    assert days_late(date(2023, 2, 28), date(2023, 3, 1)) == 1
    assert days_late(date(2024, 3, 1), date(2024, 3, 1)) == 0
    assert days_late(date(2024, 3, 2), date(2024, 3, 1)) == 0
