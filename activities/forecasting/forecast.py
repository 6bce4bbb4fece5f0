"""The cash-in forecast: when each open invoice will be paid, summed per currency into weeks and 30/60/90 days.

Each open invoice gets the distribution of its payment day from `delays` (its customer's curve, conditioned on
its age). From it:
- `expected_date` is the median day: the first day by which it is paid with probability one half, within the
  collection horizon (a year, or the forecast's weeks when longer). No date when it is more likely than not
  to stay unpaid through the horizon: very old debt.
- `expected_amount` is the balance times the probability of being paid within that horizon.
- a week's `expected` is the sum over the currency's open invoices of balance x P(paid in that week), and
  `days_30` / `days_60` / `days_90` the same over (as_of, as_of + N days].
- `low` / `high` are the 10th and 90th percentiles of the week's total over `SIMULATIONS` seeded draws, each
  drawing every invoice's payment week from its distribution (independently, in invoice-id order, so the
  same files give the same output whatever their row order). When one invoice dominates a week the
  percentiles can both sit at zero while the expectation does not (a 5% chance of 10,000.00 is 500.00
  expected, yet nine draws in ten bring nothing); the range is then widened to hold the expectation, so
  low <= expected <= high always. Invoices are drawn independently: on the synthetic history's backtest the
  range held the actual week 85% of the time, so customer-level correlation was not worth modelling.
There is one forecast per currency with an open invoice, and amounts never mix currencies; each is rounded
half-up to its currency's minor unit at the end.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from activities.forecasting.delays import DelayModel
from activities.forecasting.history import Book, InvoiceHistory
from adapters.ledger import minor_unit

COLLECTION_HORIZON_DAYS = 365
SIMULATIONS = 1000
SEED = 1117  # fixed: the same files always give the same range
PERCENTILES = (0.10, 0.90)
DAY_WINDOWS = (30, 60, 90)


@dataclass(slots=True, frozen=True)
class PaymentOutlook:
    """One open invoice's balance and the probability of its payment on each day after as-of (day 1 first)."""

    invoice: InvoiceHistory
    daily: tuple[float, ...]

    @property
    def collect_probability(self) -> float:
        return min(sum(self.daily), 1.0)

    def probability_between(self, first_day: int, last_day: int) -> float:
        return sum(self.daily[first_day - 1 : last_day])

    def median_day(self) -> int | None:
        """The first day after as-of by which payment is at least as likely as not; None when never within."""
        cumulative = 0.0
        for day, p in enumerate(self.daily, start=1):
            cumulative += p
            if cumulative >= 0.5 - 1e-12:
                return day
        return None


@dataclass(slots=True, frozen=True)
class InvoiceForecast:
    invoice_id: str
    customer_id: str
    currency: str
    balance: Decimal
    expected_date: date | None
    expected_amount: Decimal
    collect_probability: float

    def to_json(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "expected_date": None if self.expected_date is None else self.expected_date.isoformat(),
            "expected_amount": str(self.expected_amount),
        }


@dataclass(slots=True, frozen=True)
class WeekForecast:
    start: date
    end: date
    expected: Decimal
    low: Decimal
    high: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "expected": str(self.expected),
            "low": str(self.low),
            "high": str(self.high),
        }


@dataclass(slots=True, frozen=True)
class CurrencyForecast:
    currency: str
    weeks: tuple[WeekForecast, ...]
    days_30: Decimal
    days_60: Decimal
    days_90: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "weeks": [w.to_json() for w in self.weeks],
            "days_30": str(self.days_30),
            "days_60": str(self.days_60),
            "days_90": str(self.days_90),
        }


@dataclass(slots=True, frozen=True)
class CashForecast:
    as_of: date
    forecasts: tuple[CurrencyForecast, ...]
    invoices: tuple[InvoiceForecast, ...]

    def to_json(self) -> dict[str, Any]:
        """`FORECAST.json`, exactly the fixed interface."""
        return {
            "as_of": self.as_of.isoformat(),
            "forecasts": [f.to_json() for f in self.forecasts],
            "invoices": [i.to_json() for i in self.invoices],
        }

    def currency(self, code: str) -> CurrencyForecast:
        return next(f for f in self.forecasts if f.currency == code)


def horizon_days(weeks: int) -> int:
    return max(COLLECTION_HORIZON_DAYS, 7 * weeks, max(DAY_WINDOWS))


def payment_outlooks(book: Book, model: DelayModel, horizon: int) -> list[PaymentOutlook]:
    """Every invoice open on the book's as-of day, in book order, with its conditional payment distribution."""
    return [
        PaymentOutlook(
            invoice,
            tuple(model.curve_for(invoice.customer_id).conditional((book.as_of - invoice.due_date).days, horizon)),
        )
        for invoice in book.open_invoices
    ]


def forecast_cash(book: Book, weeks: int = 13, simulations: int = SIMULATIONS) -> CashForecast:
    """The model's forecast from everything the book knew on its as-of day."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    horizon = horizon_days(weeks)
    outlooks = payment_outlooks(book, DelayModel(book), horizon)
    return summarise(book.as_of, outlooks, weeks, simulations)


def summarise(
    as_of: date, outlooks: Sequence[PaymentOutlook], weeks: int, simulations: int = SIMULATIONS
) -> CashForecast:
    """Per-invoice distributions summed into the per-currency forecast (shared by the model and the baselines):
    one forecast for each currency with an open invoice, in code order."""
    invoices = tuple(_invoice_forecast(as_of, outlook) for outlook in outlooks)
    forecasts = []
    for currency in sorted({o.invoice.currency for o in outlooks}):
        mine = [o for o in outlooks if o.invoice.currency == currency]
        forecasts.append(_currency_forecast(as_of, currency, mine, weeks, simulations))
    return CashForecast(as_of=as_of, forecasts=tuple(forecasts), invoices=invoices)


def money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _invoice_forecast(as_of: date, outlook: PaymentOutlook) -> InvoiceForecast:
    invoice = outlook.invoice
    day = outlook.median_day()
    probability = outlook.collect_probability
    return InvoiceForecast(
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        balance=invoice.balance,
        expected_date=None if day is None else as_of + timedelta(days=day),
        expected_amount=money(invoice.balance * Decimal(probability), invoice.currency),
        collect_probability=probability,
    )


def _expected(outlooks: Sequence[PaymentOutlook], first_day: int, last_day: int, currency: str) -> Decimal:
    total = sum(
        (o.invoice.balance * Decimal(o.probability_between(first_day, last_day)) for o in outlooks), Decimal(0)
    )
    return money(total, currency)


def _currency_forecast(
    as_of: date, currency: str, outlooks: Sequence[PaymentOutlook], weeks: int, simulations: int
) -> CurrencyForecast:
    unit = minor_unit(currency)
    lows, highs = _simulated_percentiles(outlooks, weeks, simulations, unit)
    week_forecasts = []
    for week in range(weeks):
        first_day, last_day = 7 * week + 1, 7 * week + 7
        expected = _expected(outlooks, first_day, last_day, currency)
        week_forecasts.append(
            WeekForecast(
                start=as_of + timedelta(days=first_day),
                end=as_of + timedelta(days=last_day),
                expected=expected,
                low=min(money(lows[week], currency), expected),
                high=max(money(highs[week], currency), expected),
            )
        )
    thirty, sixty, ninety = (_expected(outlooks, 1, days, currency) for days in DAY_WINDOWS)
    return CurrencyForecast(currency, tuple(week_forecasts), thirty, sixty, ninety)


def _simulated_percentiles(
    outlooks: Sequence[PaymentOutlook], weeks: int, simulations: int, unit: Decimal
) -> tuple[list[Decimal], list[Decimal]]:
    """The 10th and 90th percentile of each week's total over seeded draws, in the currency's units."""
    totals = [[0] * simulations for _ in range(weeks)]  # minor units, per week, per draw
    rng = random.Random(SEED)
    for outlook in sorted(outlooks, key=lambda o: o.invoice.invoice_id):
        weekly = [outlook.probability_between(7 * w + 1, 7 * w + 7) for w in range(weeks)]
        cumulative = []
        running = 0.0
        for p in weekly:
            running += p
            cumulative.append(running)
        if running <= 0.0:
            continue  # never paid within these weeks: nothing to draw
        minor = int((outlook.invoice.balance / unit).to_integral_value(rounding=ROUND_HALF_UP))
        for draw in range(simulations):
            week = bisect.bisect_right(cumulative, rng.random())
            if week < weeks:
                totals[week][draw] += minor
    lows, highs = [], []
    for per_draw in totals:
        ordered = sorted(per_draw)
        lows.append(Decimal(_nearest_rank(ordered, PERCENTILES[0])) * unit)
        highs.append(Decimal(_nearest_rank(ordered, PERCENTILES[1])) * unit)
    return lows, highs


def _nearest_rank(ordered: Sequence[int], share: float) -> int:
    if not ordered:
        return 0
    rank = max(int(-(-share * len(ordered) // 1)), 1)  # ceil(share * n), at least the first
    return ordered[min(rank, len(ordered)) - 1]
