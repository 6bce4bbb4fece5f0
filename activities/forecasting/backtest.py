"""The forecast checked against what happened: as of past month-ends, forecast from what was known then.

For each of the last N month-ends that have a full forecast window behind the data's own as-of day, the book
is rewound to that month-end (`history.build_book` with `balances_on`), the model and two baselines forecast the
cash-in from the invoices open then, and the forecast is compared with the payments that actually arrived on
those invoices. New invoices issued after the month-end are not in any forecast, so they are not in the
actuals either: this measures the invoice-level predictions, which is what the forecast is made of.

Baselines, computed in the same run on the same invoices:
- `due_date`: everyone pays on the due date (what is already overdue, the day after the month-end);
- `customer_average`: each customer pays its own average delay after due, over its invoices paid in full by
  then (the book's average for a customer without any; again never before the day after the month-end).

Errors per currency, pooled over the month-ends: weekly WAPE = sum |forecast - actual| / sum actual over all
weeks; for 30/60/90 days the same over the windows' totals, and the bias sum(forecast - actual) / sum actual.
`band_coverage` is the share of weeks whose actual fell within the model's 10th-90th percentile range (about
0.8 if the range is honest). `risk_auc` is the AUC of the risk score at each month-end for "paid more than 30
days after due" on the invoices falling due in the following window: the chance a late invoice's customer
scored above an on-time one's.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from activities.forecasting.delays import DelayModel
from activities.forecasting.forecast import (
    DAY_WINDOWS,
    CashForecast,
    PaymentOutlook,
    horizon_days,
    payment_outlooks,
    summarise,
)
from activities.forecasting.history import AppliedPayment, Book, InvoiceHistory, InvoiceRecord, build_book
from activities.forecasting.risk import VERY_LATE_DAYS, risk_scores

MODELS = ("model", "due_date", "customer_average")


class NotEnoughHistory(ValueError):
    """No month-end has a full forecast window of history after it."""


@dataclass(slots=True, frozen=True)
class ModelErrors:
    model: str
    weekly_wape: float | None
    window_wape: dict[int, float | None]  # days -> WAPE of the (as_of, as_of + days] totals
    window_bias: dict[int, float | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "weekly_wape": _rounded(self.weekly_wape),
            **{f"days_{d}_wape": _rounded(self.window_wape[d]) for d in DAY_WINDOWS},
            **{f"days_{d}_bias": _rounded(self.window_bias[d]) for d in DAY_WINDOWS},
        }


@dataclass(slots=True, frozen=True)
class WeekOutcome:
    """One week after one month-end in one currency: what each model expected, the model's range, the actual."""

    month_end: date
    currency: str
    start: date
    end: date
    actual: Decimal
    expected: dict[str, Decimal]
    low: Decimal
    high: Decimal


@dataclass(slots=True, frozen=True)
class CurrencyBacktest:
    currency: str
    actual_total: Decimal  # all weeks of all month-ends
    models: tuple[ModelErrors, ...]

    def errors(self, model: str) -> ModelErrors:
        return next(m for m in self.models if m.model == model)


@dataclass(slots=True, frozen=True)
class Backtest:
    as_of: date
    weeks: int
    month_ends: tuple[date, ...]
    currencies: tuple[CurrencyBacktest, ...]
    band_coverage: float | None
    risk_auc: float | None
    risk_cases: int  # (month-end, invoice) pairs the AUC was computed on
    outcomes: tuple[WeekOutcome, ...]  # forecast against actual, week by week (for a chart)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "weeks": self.weeks,
            "month_ends": [m.isoformat() for m in self.month_ends],
            "currencies": [
                {"currency": c.currency, "actual_total": str(c.actual_total), "models": [m.to_json() for m in c.models]}
                for c in self.currencies
            ],
            "band_coverage": _rounded(self.band_coverage),
            "risk_auc": _rounded(self.risk_auc),
            "risk_cases": self.risk_cases,
            "outcomes": [
                {
                    "month_end": o.month_end.isoformat(),
                    "currency": o.currency,
                    "start": o.start.isoformat(),
                    "end": o.end.isoformat(),
                    "actual": str(o.actual),
                    **{model: str(o.expected[model]) for model in MODELS},
                    "low": str(o.low),
                    "high": str(o.high),
                }
                for o in self.outcomes
            ],
        }


def month_ends_before(as_of: date, count: int, window_days: int) -> list[date]:
    """The last `count` month-ends m with m + window_days <= as_of, oldest first."""
    latest = as_of - timedelta(days=window_days)
    found: list[date] = []
    year, month = latest.year, latest.month
    while len(found) < count and year > 1900:
        end = date(year, month, calendar.monthrange(year, month)[1])
        if end <= latest:
            found.append(end)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(found)


def backtest(
    invoices: Sequence[InvoiceRecord],
    payments: Sequence[AppliedPayment],
    as_of: date,
    months: int,
    weeks: int = 13,
    simulations: int = 1000,
) -> Backtest:
    """Forecast as of each of the last `months` month-ends and score the forecasts against what arrived."""
    window = max(7 * weeks, *DAY_WINDOWS)
    full = build_book(invoices, payments, as_of)
    first_issue = min((i.issue_date for i in full.invoices), default=as_of)
    ends = [m for m in month_ends_before(as_of, months, window) if m >= first_issue]
    if not ends:
        raise NotEnoughHistory(
            f"no month-end between the first invoice ({first_issue}) and {as_of - timedelta(days=window)} "
            f"has {window} days of payments after it to compare with"
        )
    arrived = [p for p in payments if p.date <= as_of]
    outcomes: list[WeekOutcome] = []
    windows: list[_WindowTotals] = []
    risk_cases: list[tuple[float, bool]] = []
    for month_end in ends:
        book = build_book(invoices, payments, month_end, balances_on=as_of)
        _compare(book, _forecasts(book, weeks, simulations), _actuals(book, arrived, weeks), outcomes, windows)
        risk_cases.extend(_risk_cases(book, full, window))
    return Backtest(
        as_of=as_of,
        weeks=weeks,
        month_ends=tuple(ends),
        currencies=tuple(_currency_errors(outcomes, windows)),
        band_coverage=_coverage(outcomes),
        risk_auc=auc(risk_cases),
        risk_cases=len(risk_cases),
        outcomes=tuple(outcomes),
    )


@dataclass(slots=True, frozen=True)
class _WindowTotals:
    """One month-end in one currency: each model's 30/60/90-day totals and the actual ones."""

    currency: str
    forecast: dict[str, dict[int, Decimal]]
    actual: dict[int, Decimal]


def _compare(
    book: Book,
    forecasts: dict[str, CashForecast],
    actuals: dict[str, tuple[list[Decimal], dict[int, Decimal]]],
    outcomes: list[WeekOutcome],
    windows: list[_WindowTotals],
) -> None:
    """Line the forecasts of one month-end up against what arrived, week by week and window by window."""
    for currency in forecasts["model"].forecasts:
        code = currency.currency
        nothing = ([Decimal(0)] * len(currency.weeks), dict.fromkeys(DAY_WINDOWS, Decimal(0)))
        weekly_actual, window_actual = actuals.get(code, nothing)
        per_model = {name: forecast.currency(code) for name, forecast in forecasts.items()}
        for index, week in enumerate(currency.weeks):
            outcomes.append(
                WeekOutcome(
                    month_end=book.as_of,
                    currency=code,
                    start=week.start,
                    end=week.end,
                    actual=weekly_actual[index],
                    expected={name: per_model[name].weeks[index].expected for name in MODELS},
                    low=week.low,
                    high=week.high,
                )
            )
        totals = {name: {30: f.days_30, 60: f.days_60, 90: f.days_90} for name, f in per_model.items()}
        windows.append(_WindowTotals(code, totals, window_actual))


def _forecasts(book: Book, weeks: int, simulations: int) -> dict[str, CashForecast]:
    horizon = horizon_days(weeks)
    model = payment_outlooks(book, DelayModel(book), horizon)
    delays = _average_delays(book)
    book_average = _mean([float(i.delay_days) for i in book.invoices if i.delay_days is not None]) or 0.0
    due = [_point(book.as_of, o.invoice, 0, horizon) for o in model]
    average = [_point(book.as_of, o.invoice, delays.get(o.invoice.customer_id, book_average), horizon) for o in model]
    return {
        "model": summarise(book.as_of, model, weeks, simulations),
        "due_date": summarise(book.as_of, due, weeks, 1),
        "customer_average": summarise(book.as_of, average, weeks, 1),
    }


def _average_delays(book: Book) -> dict[str, float]:
    delays: dict[str, list[float]] = defaultdict(list)
    for invoice in book.invoices:
        if invoice.delay_days is not None:
            delays[invoice.customer_id].append(float(invoice.delay_days))
    return {customer: sum(values) / len(values) for customer, values in delays.items()}


def _point(as_of: date, invoice: InvoiceHistory, delay: float, horizon: int) -> PaymentOutlook:
    """All of the balance on one day: due date + delay, or the day after as-of when that has passed."""
    day = max((invoice.due_date + timedelta(days=round(delay)) - as_of).days, 1)
    daily = [0.0] * horizon
    if day <= horizon:
        daily[day - 1] = 1.0
    return PaymentOutlook(invoice, tuple(daily))


def _actuals(
    book: Book, payments: Iterable[AppliedPayment], weeks: int
) -> dict[str, tuple[list[Decimal], dict[int, Decimal]]]:
    """What was paid after the month-end on the invoices open then, per currency: by week and by window."""
    open_invoices = {i.invoice_id: i for i in book.open_invoices}
    result: dict[str, tuple[list[Decimal], dict[int, Decimal]]] = {}
    for payment in payments:
        invoice = open_invoices.get(payment.invoice_id)
        day = (payment.date - book.as_of).days
        if invoice is None or day < 1:
            continue
        weekly, windows = result.setdefault(
            invoice.currency, ([Decimal(0)] * weeks, dict.fromkeys(DAY_WINDOWS, Decimal(0)))
        )
        if day <= 7 * weeks:
            weekly[(day - 1) // 7] += payment.amount
        for days in DAY_WINDOWS:
            if day <= days:
                windows[days] += payment.amount
    return result


def _currency_errors(outcomes: Sequence[WeekOutcome], windows: Sequence[_WindowTotals]) -> list[CurrencyBacktest]:
    results = []
    for currency in sorted({o.currency for o in outcomes}):
        weeks = [o for o in outcomes if o.currency == currency]
        mine = [(w.forecast, w.actual) for w in windows if w.currency == currency]
        actual_total = sum((o.actual for o in weeks), Decimal(0))
        errors = []
        for model in MODELS:
            weekly_error = sum((abs(o.expected[model] - o.actual) for o in weeks), Decimal(0))
            wape: dict[int, float | None] = {}
            bias: dict[int, float | None] = {}
            for days in DAY_WINDOWS:
                actual = sum((a[days] for _, a in mine), Decimal(0))
                absolute = sum((abs(f[model][days] - a[days]) for f, a in mine), Decimal(0))
                signed = sum((f[model][days] - a[days] for f, a in mine), Decimal(0))
                wape[days] = _ratio(absolute, actual)
                bias[days] = _ratio(signed, actual)
            errors.append(ModelErrors(model, _ratio(weekly_error, actual_total), wape, bias))
        results.append(CurrencyBacktest(currency, actual_total, tuple(errors)))
    return results


def _coverage(outcomes: Sequence[WeekOutcome]) -> float | None:
    if not outcomes:
        return None
    inside = sum(1 for o in outcomes if o.low <= o.actual <= o.high)
    return inside / len(outcomes)


def _risk_cases(book: Book, full: Book, window: int) -> list[tuple[float, bool]]:
    """(customer's score at the month-end, paid more than 30 days late) for invoices falling due in the window
    after it whose outcome is known by the data's as-of day."""
    scores = {s.customer_id: s.score for s in risk_scores(book)}
    last_due = min(book.as_of + timedelta(days=window), full.as_of - timedelta(days=VERY_LATE_DAYS))
    cases = []
    for invoice in full.invoices:
        score = scores.get(invoice.customer_id)
        if score is None or not book.as_of < invoice.due_date <= last_due:
            continue
        settled = invoice.settled_on
        if settled is None and not invoice.is_open:
            continue  # closed without a payment: no payment date to judge
        late = settled is None or (settled - invoice.due_date).days > VERY_LATE_DAYS
        cases.append((score, late))
    return cases


def auc(cases: Sequence[tuple[float, bool]]) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties count half); None without both outcomes present."""
    ordered = sorted(cases, key=lambda c: c[0])
    positives = sum(1 for _, late in ordered if late)
    negatives = len(ordered) - positives
    if not positives or not negatives:
        return None
    rank_sum = 0.0
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # average 1-based rank of the tied block
        rank_sum += mid_rank * sum(1 for _, late in ordered[i:j] if late)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _ratio(numerator: Decimal, denominator: Decimal) -> float | None:
    return None if denominator == 0 else float(numerator / denominator)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
