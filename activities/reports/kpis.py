"""Collection KPIs over a period, per currency: DSO, best-possible DSO, ADD and CEI, and their trend by month.

A period is the days after `start` up to and including `end` (`days` = end - start). With, at the end of a day,
AR = the balances still owed on the invoices issued by then and current AR = the part of it not yet past due
(the aging's `current` bucket), and credit sales = the totals of the invoices issued within the period:

- DSO (days sales outstanding, the period method) = closing AR / credit sales x days;
- best-possible DSO = closing current AR / credit sales x days (what DSO would be if nothing were late);
- ADD (average days delinquent) = DSO - best-possible DSO, from the two figures as shown;
- CEI (collection effectiveness index) = (opening AR + credit sales - closing AR)
  / (opening AR + credit sales - closing current AR) x 100, where opening AR is the AR at the end of `start`.
  100 means everything that could be collected was.

The headline period is the `days` days up to the as-of day; the trend is one period per calendar month (the
as-of day's month runs to the as-of day), from the month of the first invoice at the earliest. A figure whose
divisor is zero (no sales in the period, nothing collectable) is None, never a made-up zero. DSO-type figures
are in days and CEI in percent, rounded half-up to one decimal; amounts to the currency's minor unit.
Currencies are never added together.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from activities.reports.books import Books, money

HEADLINE_DAYS = 90
TREND_MONTHS = 12
FORMULAS = {
    "dso": "closing AR / credit sales x days in the period",
    "best_possible_dso": "closing current (not yet due) AR / credit sales x days in the period",
    "add": "DSO - best-possible DSO",
    "cei": "(opening AR + credit sales - closing AR) / (opening AR + credit sales - closing current AR) x 100",
}
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Receivable:
    """What was owed in one currency at the end of a day, and the part of it not yet past due."""

    total: Decimal = Decimal(0)
    current: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    currency: str
    start: date  # the opening day: the period runs from the day after it
    end: date
    opening_ar: Decimal
    sales: Decimal
    closing_ar: Decimal
    closing_current_ar: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def collected(self) -> Decimal:
        """Opening AR + sales - closing AR: what left the receivables in the period (paid or credited)."""
        return self.opening_ar + self.sales - self.closing_ar

    @property
    def dso(self) -> float | None:
        return _days_of_sales(self.closing_ar, self.sales, self.days)

    @property
    def best_possible_dso(self) -> float | None:
        return _days_of_sales(self.closing_current_ar, self.sales, self.days)

    @property
    def add(self) -> float | None:
        dso, best = self.dso, self.best_possible_dso
        return None if dso is None or best is None else float(Decimal(str(dso)) - Decimal(str(best)))

    @property
    def cei(self) -> float | None:
        collectable = self.opening_ar + self.sales - self.closing_current_ar
        if collectable <= 0:
            return None
        return _tenth(self.collected / collectable * 100)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": (self.start + timedelta(days=1)).isoformat(),
            "to": self.end.isoformat(),
            "days": self.days,
            "opening_ar": str(money(self.opening_ar, self.currency)),
            "sales": str(money(self.sales, self.currency)),
            "closing_ar": str(money(self.closing_ar, self.currency)),
            "closing_current_ar": str(money(self.closing_current_ar, self.currency)),
            "collected": str(money(self.collected, self.currency)),
            "dso": self.dso,
            "best_possible_dso": self.best_possible_dso,
            "add": self.add,
            "cei": self.cei,
        }


@dataclass(frozen=True, slots=True)
class CurrencyKpis:
    currency: str
    period: PeriodFigures
    trend: tuple[PeriodFigures, ...]  # one per month, oldest first

    def to_json(self) -> dict[str, Any]:
        trend = [{"month": f.end.strftime("%Y-%m"), **f.to_json()} for f in self.trend]
        return {"currency": self.currency, **self.period.to_json(), "trend": trend}


@dataclass(frozen=True, slots=True)
class KpiReport:
    as_of: date
    days: int
    currencies: tuple[CurrencyKpis, ...]  # in code order

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "period": {"from": (self.as_of - timedelta(days=self.days - 1)).isoformat(), "to": self.as_of.isoformat(),
                       "days": self.days},
            "formulas": FORMULAS,
            "currencies": [c.to_json() for c in self.currencies],
        }


def receivables_on(books: Books, day: date) -> dict[str, Receivable]:
    """AR and current AR per currency at the end of `day`."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for invoice, balance in books.open_on(day):
        amounts = totals[invoice.currency]
        amounts[0] += balance
        if invoice.due_date >= day:  # not yet past due: the aging's `current`
            amounts[1] += balance
    return {currency: Receivable(total, current) for currency, (total, current) in totals.items()}


def sales_between(books: Books, start: date, end: date) -> dict[str, Decimal]:
    """Credit sales per currency: the totals of the invoices issued after `start`, up to and including `end`."""
    sales: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in books.invoices:
        if start < invoice.issue_date <= end:
            sales[invoice.currency] += invoice.total
    return dict(sales)


def period_figures(books: Books, start: date, end: date) -> dict[str, PeriodFigures]:
    """The figures of the period after `start` up to `end`, for every currency with AR or sales in it."""
    if end <= start:
        raise ValueError(f"a period must end after it starts: {start} .. {end}")
    opening, closing, sales = receivables_on(books, start), receivables_on(books, end), sales_between(books, start, end)
    empty = Receivable()
    return {
        currency: PeriodFigures(
            currency=currency,
            start=start,
            end=end,
            opening_ar=opening.get(currency, empty).total,
            sales=sales.get(currency, Decimal(0)),
            closing_ar=closing.get(currency, empty).total,
            closing_current_ar=closing.get(currency, empty).current,
        )
        for currency in sorted({*opening, *closing, *sales})
    }


def months_up_to(as_of: date, count: int, first_day: date | None) -> list[tuple[date, date]]:
    """(opening day, closing day) of the last `count` calendar months up to `as_of`, oldest first; the as-of
    month closes on `as_of`; months ending before `first_day` are left out."""
    periods: list[tuple[date, date]] = []
    year, month = as_of.year, as_of.month
    for _ in range(count):
        month_end = min(date(year, month, calendar.monthrange(year, month)[1]), as_of)
        opening = date(year, month, 1) - timedelta(days=1)
        if first_day is not None and month_end < first_day:
            break
        periods.append((opening, month_end))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(periods))


def kpi_report(books: Books, as_of: date, days: int = HEADLINE_DAYS, months: int = TREND_MONTHS) -> KpiReport:
    """The headline figures over the `days` days up to `as_of` and the monthly trend, per currency."""
    if days < 1:
        raise ValueError(f"the period must be at least one day, got {days}")
    if months < 0:
        raise ValueError(f"the trend cannot have a negative number of months, got {months}")
    headline = period_figures(books, as_of - timedelta(days=days), as_of)
    trend: dict[str, list[PeriodFigures]] = defaultdict(list)
    for opening, closing in months_up_to(as_of, months, books.first_issue):
        for currency, figures in period_figures(books, opening, closing).items():
            trend[currency].append(figures)
    currencies = tuple(
        CurrencyKpis(currency, figures, tuple(trend.get(currency, ()))) for currency, figures in headline.items()
    )
    return KpiReport(as_of, days, currencies)


def _days_of_sales(ar: Decimal, sales: Decimal, days: int) -> float | None:
    if sales <= 0:
        return None
    return _tenth(ar / sales * days)


def _tenth(value: Decimal) -> float:
    return float(value.quantize(_TENTH, rounding=ROUND_HALF_UP))
