"""Late fees and statutory interest on an overdue debt: the pure rules (issue 12).

The invoice lifecycle proposes a `late_fee` approval item from `statutory_interest` (or from `flat_fee`,
`percentage_fee`, `fixed_rate_interest` when the policy says so), and `duecourse fees` runs the same
functions on files. No I/O and no clock: the caller says what day it is (`as_of`) and hands in the reference
rate table (`ReferenceRates`) the operator maintains; nothing is ever fetched.

Day counting, for every jurisdiction: interest runs from the day after the due date through `as_of`, both
included, so the number of interest days equals `days_late = as_of - due_date`. Interest is simple, per day,
on a 365-day year (also in leap years: 29 February is one more day of interest, not a smaller daily rate;
the UK government's guidance divides by 365, and Directive 2011/7/EU sets no day count of its own). Every
period's interest is summed as an exact fraction and rounded once, half up, to the currency's minor unit.

GB — Late Payment of Commercial Debts (Interest) Act 1998:
- s.1(1): statutory interest is simple interest; s.4(2): it runs from the day after the relevant day (the
  agreed payment date, here the due date).
- Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002 (SI 2002/1675), art. 4: the rate is
  8% a year over the Bank of England's official dealing rate (Bank Rate) in force on the 30 June (for interest
  that starts to run between 1 July and 31 December) or the 31 December (for interest that starts to run
  between 1 January and 30 June) immediately before the day statutory interest starts to run. The rate is
  therefore fixed once per debt, by the day its interest starts; a later Bank Rate change does not move it.
- s.5A (added by the Late Payment of Commercial Debts Regulations 2002, SI 2002/1674): once statutory interest
  runs, a fixed sum of £40 for a debt under £1,000, £70 from £1,000 to under £10,000, £100 from £10,000. The
  debt is the unpaid balance on `as_of`; the sums are sterling (see `fixed_compensation` for other currencies).

EU — Directive 2011/7/EU on combating late payment in commercial transactions:
- Art. 2 ("statutory interest for late payment", "reference rate"): simple interest at the reference rate
  (for the euro area the ECB's main refinancing operations rate) plus at least eight percentage points; we
  apply the directive's minimum, 8 (a member state may add more: Germany 9, France 10).
- Art. 3(2): the reference rate for the first half of a year is the rate in force on 1 January, for the
  second half the rate in force on 1 July. We read this as the directive does, per half-year of delay: a
  debt late across 30 June or 31 December accrues each half-year at that half-year's rate (the issue's
  "the rate in force on each day"; Germany's §288 with §247 BGB and France's L441-10 Code de commerce work
  this way), so the breakdown has one period per half-year touched.
- Art. 3(3)(a): interest runs from the day after the payment date fixed in the contract.
- Art. 6(1): a fixed sum of EUR 40 as compensation for recovery costs, whatever the debt's size.

NONE: no statutory interest and no compensation; the debt is still reported with its days late.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.ledger import minor_unit

Jurisdiction = Literal["GB", "EU", "NONE"]
JURISDICTIONS: tuple[Jurisdiction, ...] = ("GB", "EU", "NONE")

STATUTORY_MARGIN = Decimal(8)  # percentage points over the reference rate, GB (SI 2002/1675 art. 4) and EU (Art. 2)
DAYS_IN_YEAR = 365

# s.5A(2): (debt from, fixed sum), in pounds; the debt is compared with the highest threshold it reaches.
GB_COMPENSATION_TIERS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(0), Decimal(40)),
    (Decimal(1000), Decimal(70)),
    (Decimal(10000), Decimal(100)),
)
EU_COMPENSATION = Decimal(40)  # Art. 6(1), in euro
STATUTE_CURRENCY: tuple[tuple[Jurisdiction, str], ...] = (("GB", "GBP"), ("EU", "EUR"))


class LateFeeError(ValueError):
    """The inputs do not allow an honest figure (the message says which input and why)."""


class RateNotKnown(LateFeeError):
    """The rate table does not reach back to a day whose rate the computation needs: never guessed."""

    def __init__(self, day: date, first: date | None) -> None:
        self.day = day
        self.first = first
        where = f"it starts on {first.isoformat()}" if first else "it has no rates"
        super().__init__(f"no reference rate is known for {day.isoformat()} ({where})")


class ConflictingRates(LateFeeError):
    """Two rows give one effective date different rates: which one is right cannot be decided here."""


class RateChange(BaseModel):
    """The reference rate becomes `rate_percent` on `effective_date` (the change applies from that day)."""

    model_config = ConfigDict(frozen=True)

    effective_date: date
    rate_percent: Decimal

    @field_validator("rate_percent")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError(f"a rate must be a finite number, got {value}")
        return value


class ReferenceRates(BaseModel):
    """A reference rate's history (Bank Rate for GB, the ECB main refinancing rate for EU), oldest first.

    Build it with `from_changes`, which sorts, drops exact repeats and refuses a date given two rates."""

    model_config = ConfigDict(frozen=True)

    name: str = "reference rate"
    changes: tuple[RateChange, ...] = ()

    @field_validator("changes")
    @classmethod
    def _ordered(cls, changes: tuple[RateChange, ...]) -> tuple[RateChange, ...]:
        for before, after in pairwise(changes):
            if after.effective_date <= before.effective_date:
                raise ValueError(f"rate changes must be in date order, each date once: {after.effective_date} "
                                 f"comes after {before.effective_date}")
        return changes

    @classmethod
    def from_changes(cls, changes: Iterable[RateChange], name: str = "reference rate") -> ReferenceRates:
        by_date: dict[date, RateChange] = {}
        for change in changes:
            seen = by_date.get(change.effective_date)
            if seen is not None and seen.rate_percent != change.rate_percent:
                raise ConflictingRates(f"{change.effective_date.isoformat()} is given two rates, "
                                       f"{seen.rate_percent} and {change.rate_percent}")
            by_date[change.effective_date] = change
        return cls(name=name, changes=tuple(by_date[day] for day in sorted(by_date)))

    @property
    def first_date(self) -> date | None:
        return self.changes[0].effective_date if self.changes else None

    def rate_on(self, day: date) -> Decimal:
        """The rate in force on `day`: the latest change dated on or before it."""
        position = bisect.bisect_right(self.changes, day, key=lambda change: change.effective_date)
        if position == 0:
            raise RateNotKnown(day, self.first_date)
        return self.changes[position - 1].rate_percent


class UnpaidDebt(BaseModel):
    """What is still owed on an invoice on `as_of`, and the day it was due."""

    model_config = ConfigDict(frozen=True)

    currency: str = Field(min_length=3, max_length=3)
    amount: Decimal
    due_date: date

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("amount")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value < 0:
            raise ValueError(f"an unpaid amount is a finite number of zero or more, got {value}")
        return value


class InterestPeriod(BaseModel):
    """A run of interest days at one rate, for the approver to check by hand."""

    model_config = ConfigDict(frozen=True)

    start: date  # first day of interest in the period
    end: date  # last day of interest in the period, included
    days: int
    reference_date: date | None  # the day whose reference rate applies; None for a configured fixed rate
    reference_rate_percent: Decimal | None
    rate_percent: Decimal  # the annual rate applied: reference + margin, or the configured rate
    interest: Decimal  # this period's share rounded to the currency; the total is rounded once, from the exact sum


class LateCharge(BaseModel):
    """What the creditor may add for the delay: the answer of `statutory_interest` and `fixed_rate_interest`."""

    model_config = ConfigDict(frozen=True)

    basis: str  # the rule applied, in words an approver can check
    currency: str
    debt: Decimal
    due_date: date
    as_of: date
    days_late: int
    rate_percent: Decimal  # the annual rate in force on `as_of` (every period's own rate is in `periods`)
    interest: Decimal
    compensation: Decimal
    compensation_note: str | None = None  # why no compensation is included when the law gives one
    periods: tuple[InterestPeriod, ...] = ()

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation


def days_late(due_date: date, as_of: date) -> int:
    """Whole days from the due date to `as_of`; 0 when not yet late (due on or after `as_of`)."""
    return max((as_of - due_date).days, 0)


def round_half_up(value: Fraction | Decimal, currency: str) -> Decimal:
    """`value` rounded half away from zero to the currency's minor unit (2.5 cents -> 3 cents, JPY 12.5 -> 13)."""
    unit = minor_unit(currency)
    units = Fraction(value) / Fraction(unit)
    sign = -1 if units < 0 else 1
    magnitude = abs(units)
    whole = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return (Decimal(sign * whole) * unit).quantize(unit)


def flat_fee(amount: Decimal, currency: str) -> Decimal:
    """A policy's flat late fee, in the invoice's currency, rounded to it."""
    if not amount.is_finite() or amount < 0:
        raise LateFeeError(f"a flat fee is a finite amount of zero or more, got {amount}")
    return round_half_up(amount, currency)


def percentage_fee(debt: UnpaidDebt, percent: Decimal) -> Decimal:
    """A policy's one-off percentage fee on the unpaid amount (e.g. 1.5 for 1.5 %), rounded half up."""
    if not percent.is_finite() or percent < 0:
        raise LateFeeError(f"a fee percentage is a finite number of zero or more, got {percent}")
    return round_half_up(Fraction(debt.amount) * Fraction(percent) / 100, debt.currency)


def fixed_rate_interest(debt: UnpaidDebt, as_of: date, rate_percent: Decimal) -> LateCharge | None:
    """Simple daily interest at a configured annual rate (a contract's rate, or a place without a statute).

    None when nothing is late on `as_of` (no balance, or not yet past its due date)."""
    if not rate_percent.is_finite() or rate_percent < 0:
        raise LateFeeError(f"an interest rate is a finite percentage of zero or more, got {rate_percent}")
    if not _is_late(debt, as_of):
        return None
    start = debt.due_date + timedelta(days=1)
    days = (as_of - debt.due_date).days
    period = InterestPeriod(start=start, end=as_of, days=days, reference_date=None, reference_rate_percent=None,
                            rate_percent=rate_percent, interest=round_half_up(_exact_interest(debt, rate_percent, days),
                                                                              debt.currency))
    return _charge(debt, as_of, f"configured rate {rate_percent}% a year, simple, daily over {DAYS_IN_YEAR} days",
                   (period,), compensation=round_half_up(Decimal(0), debt.currency))


def statutory_interest(
    debt: UnpaidDebt,
    as_of: date,
    jurisdiction: Jurisdiction,
    rates: ReferenceRates | None,
    *,
    statute_exchange_rate: Decimal | None = None,
) -> LateCharge | None:
    """Statutory interest and fixed compensation on `debt` on `as_of`, by `jurisdiction`'s own rules.

    None when nothing is late on `as_of`. `rates` is the reference rate's history (needed for GB and EU).
    `statute_exchange_rate` is how many units of the debt's currency make one pound (GB) or one euro (EU); it
    is needed only to size and pay the fixed compensation of a debt in another currency (interest is a
    percentage and needs no conversion). Raises `RateNotKnown` when a needed rate precedes the table.
    """
    if jurisdiction not in JURISDICTIONS:
        raise LateFeeError(f"unknown jurisdiction {jurisdiction!r}; expected one of {', '.join(JURISDICTIONS)}")
    if jurisdiction == "NONE":
        if not _is_late(debt, as_of):
            return None
        zero = round_half_up(Decimal(0), debt.currency)
        return _charge(debt, as_of, "no statutory interest or compensation", (), compensation=zero)
    if rates is None:
        raise LateFeeError(f"{jurisdiction} statutory interest needs the reference rate table")
    if rates.first_date is None or as_of < rates.first_date:
        raise RateNotKnown(as_of, rates.first_date)
    if not _is_late(debt, as_of):
        return None
    if jurisdiction == "GB":
        periods = _gb_periods(debt, as_of, rates)
        basis = (f"Late Payment of Commercial Debts (Interest) Act 1998 and SI 2002/1675 art. 4: {rates.name} on "
                 f"{periods[0].reference_date} ({periods[0].reference_rate_percent}%) + {STATUTORY_MARGIN}, "
                 f"fixed for the debt; simple, daily over {DAYS_IN_YEAR} days; s.5A fixed compensation")
    else:
        periods = _eu_periods(debt, as_of, rates)
        basis = (f"Directive 2011/7/EU Art. 2 and 3: {rates.name} on 1 January / 1 July of each half-year + "
                 f"{STATUTORY_MARGIN}; simple, daily over {DAYS_IN_YEAR} days; Art. 6 fixed compensation")
    compensation, note = _compensation_or_note(jurisdiction, debt, statute_exchange_rate)
    return _charge(debt, as_of, basis, periods, compensation=compensation, compensation_note=note)


def fixed_compensation(jurisdiction: Jurisdiction, debt: UnpaidDebt,
                       statute_exchange_rate: Decimal | None = None) -> Decimal:
    """The fixed sum for recovery costs (GB s.5A, EU Art. 6(1)), in the debt's currency.

    The statutes fix it in pounds or euro. A debt in another currency is converted with
    `statute_exchange_rate` (units of the debt's currency per pound or euro) to find the tier and to pay the
    sum; without one, `LateFeeError`: a conversion is never guessed."""
    if jurisdiction == "NONE":
        return round_half_up(Decimal(0), debt.currency)
    statute_currency = dict(STATUTE_CURRENCY)[jurisdiction]
    if debt.currency == statute_currency:
        exchange = Fraction(1)
    elif statute_exchange_rate is None:
        raise LateFeeError(f"the {jurisdiction} fixed compensation is set in {statute_currency}; a {debt.currency} "
                           f"debt needs a {debt.currency} per {statute_currency} exchange rate to size and pay it")
    elif not statute_exchange_rate.is_finite() or statute_exchange_rate <= 0:
        raise LateFeeError(f"an exchange rate must be positive, got {statute_exchange_rate}")
    else:
        exchange = Fraction(statute_exchange_rate)
    if jurisdiction == "EU":
        sum_in_statute_currency = EU_COMPENSATION
    else:
        debt_in_pounds = Fraction(debt.amount) / exchange
        sum_in_statute_currency = next(fixed for floor, fixed in reversed(GB_COMPENSATION_TIERS)
                                       if debt_in_pounds >= floor)
    return round_half_up(Fraction(sum_in_statute_currency) * exchange, debt.currency)


# --- the steps -------------------------------------------------------------------------------------------------


def _is_late(debt: UnpaidDebt, as_of: date) -> bool:
    return debt.amount > 0 and debt.due_date < as_of


def _exact_interest(debt: UnpaidDebt, rate_percent: Decimal, days: int) -> Fraction:
    return Fraction(debt.amount) * Fraction(rate_percent) * days / (100 * DAYS_IN_YEAR)


def _gb_reference_date(first_interest_day: date) -> date:
    """SI 2002/1675 art. 4: 31 December before a start in January-June, 30 June before a start in July-December."""
    if first_interest_day.month <= 6:
        return date(first_interest_day.year - 1, 12, 31)
    return date(first_interest_day.year, 6, 30)


def _gb_periods(debt: UnpaidDebt, as_of: date, rates: ReferenceRates) -> tuple[InterestPeriod, ...]:
    start = debt.due_date + timedelta(days=1)
    reference_date = _gb_reference_date(start)
    return (_period(debt, start, as_of, reference_date, rates),)


def _half_year(day: date) -> tuple[date, date]:
    """The first and last day of the half-year (1 January-30 June, 1 July-31 December) holding `day`."""
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def _eu_periods(debt: UnpaidDebt, as_of: date, rates: ReferenceRates) -> tuple[InterestPeriod, ...]:
    periods: list[InterestPeriod] = []
    start = debt.due_date + timedelta(days=1)
    while start <= as_of:
        first_day, last_day = _half_year(start)
        end = min(last_day, as_of)
        periods.append(_period(debt, start, end, first_day, rates))
        start = end + timedelta(days=1)
    return tuple(periods)


def _period(debt: UnpaidDebt, start: date, end: date, reference_date: date, rates: ReferenceRates) -> InterestPeriod:
    reference = rates.rate_on(reference_date)
    rate = reference + STATUTORY_MARGIN
    days = (end - start).days + 1
    return InterestPeriod(start=start, end=end, days=days, reference_date=reference_date,
                          reference_rate_percent=reference, rate_percent=rate,
                          interest=round_half_up(_exact_interest(debt, rate, days), debt.currency))


def _compensation_or_note(jurisdiction: Jurisdiction, debt: UnpaidDebt,
                          statute_exchange_rate: Decimal | None) -> tuple[Decimal, str | None]:
    """The fixed sum; or, for a foreign-currency debt with no exchange rate, nothing and the reason (a claim
    left out for an approver to add is safer than a converted figure nobody gave us)."""
    try:
        return fixed_compensation(jurisdiction, debt, statute_exchange_rate), None
    except LateFeeError as missing:
        return round_half_up(Decimal(0), debt.currency), f"compensation not included: {missing}"


def _charge(debt: UnpaidDebt, as_of: date, basis: str, periods: tuple[InterestPeriod, ...], *,
            compensation: Decimal, compensation_note: str | None = None) -> LateCharge:
    exact = sum((_exact_interest(debt, period.rate_percent, period.days) for period in periods), Fraction(0))
    return LateCharge(
        basis=basis, currency=debt.currency, debt=debt.amount, due_date=debt.due_date, as_of=as_of,
        days_late=days_late(debt.due_date, as_of),
        rate_percent=periods[-1].rate_percent if periods else Decimal(0),
        interest=round_half_up(exact, debt.currency), compensation=compensation,
        compensation_note=compensation_note, periods=periods,
    )
