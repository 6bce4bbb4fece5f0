"""The forecast on the report's books is the forecasting package's, on the books as they stood on as-of."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from activities.forecasting.backtest import Backtest, WeekOutcome
from activities.forecasting.forecast import forecast_cash
from activities.forecasting.history import build_book
from activities.reports.books import Books
from activities.reports.cash_in import cash_forecast, forecast_against_actual, month_ahead
from tests.activities.forecasting.habits import Ledger
from tests.activities.reports.ledger import AS_OF, INVOICES, PAYMENTS, books


def test_the_forecast_stands_on_the_books_as_of_that_day() -> None:
    # What `duecourse forecast` would read on AS_OF: balances then, payments made by then.
    then = {"A2": Decimal("500.00")}
    as_files = [replace(i, balance=then.get(i.invoice_id, i.balance)) for i in INVOICES]
    expected = forecast_cash(build_book(as_files, [p for p in PAYMENTS if p.date <= AS_OF], AS_OF))
    assert cash_forecast(books(), AS_OF).to_json() == expected.to_json()


def test_weeks_windows_and_currencies() -> None:
    forecast = cash_forecast(books(), AS_OF)
    assert [f.currency for f in forecast.forecasts] == ["EUR", "USD"]
    open_then = {"EUR": Decimal("900.00"), "USD": Decimal("3000.00")}
    for currency in forecast.forecasts:
        weeks = currency.weeks
        assert len(weeks) == 13
        assert weeks[0].start == AS_OF + timedelta(days=1) and weeks[0].end == AS_OF + timedelta(days=7)
        assert weeks[-1].end == AS_OF + timedelta(days=91)
        assert all(w.low <= w.expected <= w.high for w in weeks)
        assert 0 <= currency.days_30 <= currency.days_60 <= currency.days_90 <= open_then[currency.currency]
    assert sorted(i.invoice_id for i in forecast.invoices) == ["A2", "B1", "B2", "C1", "C2", "D1"]


def test_no_backtest_without_a_full_window_of_history() -> None:
    # The first invoice is of 2025-03-01: the 2025-03-31 month-end has its 13 weeks (91 days) behind it on
    # 2025-06-30, not a day earlier.
    assert forecast_against_actual(books(), AS_OF - timedelta(days=1)) is None
    checked = forecast_against_actual(books(), AS_OF)
    assert checked is not None and checked.month_ends == (date(2025, 3, 31),)


def test_backtest_on_a_years_habits() -> None:
    ledger = Ledger()
    ledger.customer("ON-TIME", [0] * 16)
    ledger.customer("LATE", [30] * 16, currency="EUR")
    checked = forecast_against_actual(Books.of(ledger.invoices, ledger.payments, date(2025, 6, 30)),
                                      date(2025, 6, 30), months=2)
    assert checked is not None
    assert checked.month_ends == (date(2025, 2, 28), date(2025, 3, 31))
    assert [c.currency for c in checked.currencies] == ["EUR", "USD"]
    ahead = month_ahead(checked)
    assert [(m.month_end, m.currency) for m in ahead] == [
        (date(2025, 2, 28), "EUR"), (date(2025, 2, 28), "USD"), (date(2025, 3, 31), "EUR"), (date(2025, 3, 31), "USD")]


def outcome(week: int, actual: str, model: str, due: str, average: str) -> WeekOutcome:
    month_end = date(2025, 1, 31)
    start = month_end + timedelta(days=7 * week + 1)
    return WeekOutcome(month_end=month_end, currency="GBP", start=start, end=start + timedelta(days=6),
                       actual=Decimal(actual), expected={"model": Decimal(model), "due_date": Decimal(due),
                                                         "customer_average": Decimal(average)},
                       low=Decimal(0), high=Decimal(0))


def test_month_ahead_sums_the_first_weeks_by_hand() -> None:
    weeks = [outcome(0, "100.00", "90.00", "0.00", "50.00"), outcome(1, "10.00", "20.00", "300.00", "0.00"),
             outcome(2, "0.00", "5.00", "0.00", "0.00"), outcome(3, "40.00", "25.00", "0.00", "60.00"),
             outcome(4, "999.00", "999.00", "999.00", "999.00")]  # week 5: outside the first four
    result = Backtest(as_of=date(2025, 6, 30), weeks=13, month_ends=(date(2025, 1, 31),), currencies=(),
                      band_coverage=None, risk_auc=None, risk_cases=0, outcomes=tuple(weeks))
    [gbp] = month_ahead(result)
    assert gbp.to_json() == {"month_end": "2025-01-31", "currency": "GBP", "weeks": 4, "actual": "150.00",
                             "model": "140.00", "due_date": "300.00", "customer_average": "110.00"}
