"""The cash-in forecast on the report's books, and the forecast checked against what actually arrived.

No second model: the forecast is `activities.forecasting.forecast_cash` on the books as they stood on the
as-of day (invoice-level payment-date predictions summed into 13 weeks with a 10th-90th percentile range and
30/60/90 days), and forecast-vs-actual is `activities.forecasting.backtest` on the same books (as of each of
the last N month-ends with a full window after it, the model and two baselines against the payments that
arrived). `month_ahead` condenses the backtest into what a chart shows: for each month-end and currency,
each model's expected cash in the next `weeks` weeks against the actual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from activities.forecasting.backtest import MODELS, Backtest, NotEnoughHistory, backtest
from activities.forecasting.forecast import CashForecast, forecast_cash
from activities.forecasting.history import build_book
from activities.reports.books import Books, money

FORECAST_WEEKS = 13
BACKTEST_MONTHS = 6
# The backtest's range is not shown, only its expected values: fewer draws than the forecast's 1000 suffice.
BACKTEST_SIMULATIONS = 200
MONTH_AHEAD_WEEKS = 4


def cash_forecast(books: Books, as_of: date, weeks: int = FORECAST_WEEKS) -> CashForecast:
    """The forecast from everything the books knew at the end of `as_of`."""
    standing = books.on(as_of)
    return forecast_cash(build_book(standing.invoices, standing.payments, as_of), weeks=weeks)


def forecast_against_actual(
    books: Books, as_of: date, months: int = BACKTEST_MONTHS, weeks: int = FORECAST_WEEKS,
    simulations: int = BACKTEST_SIMULATIONS,
) -> Backtest | None:
    """The backtest as of the last `months` month-ends before `as_of`; None when no month-end has a full
    forecast window of history after it yet."""
    standing = books.on(as_of)
    try:
        return backtest(standing.invoices, standing.payments, as_of, months, weeks=weeks, simulations=simulations)
    except NotEnoughHistory:
        return None


@dataclass(frozen=True, slots=True)
class MonthAhead:
    """One month-end in one currency: each model's expected cash in the next weeks, and what arrived."""

    month_end: date
    currency: str
    weeks: int
    expected: dict[str, Decimal]  # model name -> amount
    actual: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "month_end": self.month_end.isoformat(),
            "currency": self.currency,
            "weeks": self.weeks,
            "actual": str(money(self.actual, self.currency)),
            **{name: str(money(amount, self.currency)) for name, amount in self.expected.items()},
        }


def month_ahead(result: Backtest, weeks: int = MONTH_AHEAD_WEEKS) -> list[MonthAhead]:
    """The first `weeks` weeks after each month-end summed, per currency, in month-end then currency order."""
    sums: dict[tuple[date, str], tuple[dict[str, Decimal], list[Decimal]]] = {}
    for outcome in result.outcomes:
        index = (outcome.start - outcome.month_end).days // 7  # week 0 starts the day after the month-end
        if index >= weeks:
            continue
        expected, actual = sums.setdefault(
            (outcome.month_end, outcome.currency), (dict.fromkeys(MODELS, Decimal(0)), [Decimal(0)]))
        for name in MODELS:
            expected[name] += outcome.expected[name]
        actual[0] += outcome.actual
    return [
        MonthAhead(month_end, currency, weeks, expected, actual[0])
        for (month_end, currency), (expected, actual) in sorted(sums.items())
    ]
