"""The backtest: month-ends, the two baselines, the errors, and the model against them on the synthetic history."""

from __future__ import annotations

from datetime import date

import pytest

from activities.forecasting.backtest import NotEnoughHistory, backtest, month_ends_before
from activities.forecasting.synthetic import synthetic_history
from tests.activities.forecasting.habits import AS_OF, Ledger


def test_month_ends_leave_a_full_window_before_as_of() -> None:
    # 91 days before 2025-06-30 is 2025-03-31, itself a month-end
    assert month_ends_before(date(2025, 6, 30), 3, 91) == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]
    # 91 days before 2025-06-29 is 2025-03-30: March is not over yet
    assert month_ends_before(date(2025, 6, 29), 2, 91) == [date(2025, 1, 31), date(2025, 2, 28)]
    assert month_ends_before(date(2024, 5, 30), 1, 90) == [date(2024, 2, 29)]


def test_a_customer_who_always_pays_ten_days_late() -> None:
    """Its own average delay is exactly right, so that baseline has no error at all; paying on the due date is
    ten days early every time; the model learns the habit."""
    ledger = Ledger()
    ledger.customer("C", [10] * 18, first_issue=date(2024, 1, 1), total="2500.00")
    result = backtest(ledger.invoices, ledger.payments, AS_OF, months=2, weeks=13, simulations=200)
    assert result.month_ends == (date(2025, 2, 28), date(2025, 3, 31))
    (usd,) = result.currencies
    average, due = usd.errors("customer_average"), usd.errors("due_date")
    assert average.weekly_wape == 0.0
    assert average.window_bias == {30: 0.0, 60: 0.0, 90: 0.0}
    assert due.weekly_wape is not None and due.weekly_wape > 0.5
    model = usd.errors("model")
    assert model.weekly_wape is not None and model.weekly_wape < 0.25
    assert all(abs(bias or 0) < 0.05 for bias in model.window_bias.values())
    # every invoice open at a month-end was paid within the window: the actuals are all of them
    assert usd.actual_total == sum(o.actual for o in result.outcomes)
    assert len(result.outcomes) == 2 * 13


def test_too_little_history_is_refused_with_a_reason() -> None:
    ledger = Ledger()
    ledger.customer("C", [0] * 3, first_issue=date(2025, 4, 1))
    with pytest.raises(NotEnoughHistory, match="no month-end"):
        backtest(ledger.invoices, ledger.payments, AS_OF, months=3)


def test_the_model_beats_both_baselines_on_the_synthetic_history() -> None:
    history = synthetic_history()
    result = backtest(history.invoices, history.payments, history.as_of, months=4, weeks=13)
    assert len(result.month_ends) == 4
    usd = next(c for c in result.currencies if c.currency == "USD")
    model, due, average = (usd.errors(m).weekly_wape or 1.0 for m in ("model", "due_date", "customer_average"))
    assert model < average < due
    for days in (30, 60, 90):
        assert (usd.errors("model").window_wape[days] or 1.0) < (usd.errors("due_date").window_wape[days] or 0.0)
    # the 10th-90th percentile range should hold about eight weeks in ten
    assert result.band_coverage is not None and 0.65 <= result.band_coverage <= 0.95
    assert result.risk_auc is not None and result.risk_auc > 0.8
    assert result.risk_cases > 500
    document = result.to_json()
    assert set(document) == {
        "as_of", "weeks", "month_ends", "currencies", "band_coverage", "risk_auc", "risk_cases", "outcomes"
    }
