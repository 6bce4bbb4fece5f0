"""DSO, best-possible DSO, ADD and CEI on the hand-computed book (tests/activities/reports/ledger.py).

June 2025 (the 30 days after 2025-05-31 up to AS_OF), USD:
  opening AR (end of 05-31) = A2 500 + B1 1200 + C1 700 + C2 400            = 2800.00
  credit sales (issued in June) = F1 2000 + B2 300                           = 2300.00
  closing AR (end of 06-30) = A2 500 + B1 1200 + B2 300 + C1 700 + C2 300    = 3000.00
  closing current AR (not yet due) = B2 300                                  =  300.00
  DSO = 3000 / 2300 x 30 = 39.13 -> 39.1;  best possible = 300 / 2300 x 30 = 3.91 -> 3.9;  ADD = 35.2
  CEI = (2800 + 2300 - 3000) / (2800 + 2300 - 300) x 100 = 2100 / 4800 x 100 = 43.75 -> 43.8
May 2025 (31 days after 04-30), USD:
  opening = A1 1000 (paid 05-10) + B1 1200 + C1 700 + C2 400 = 3300; sales = A2 500; closing = 2800;
  current = A2 500 (due 06-14)
  DSO = 2800 / 500 x 31 = 173.6; best possible = 31.0; ADD = 142.6; CEI = 1000 / 3300 x 100 = 30.3
EUR in June: opening 0, sales 900, closing 900, all of it current (due on AS_OF): DSO 30.0, best 30.0, ADD 0.0,
and CEI has nothing collectable (0 / 0): None.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from activities.reports.books import Books
from activities.reports.kpis import kpi_report, months_up_to, period_figures
from tests.activities.reports.ledger import AS_OF, books, invoice, paid


def test_june_figures_by_hand() -> None:
    june = period_figures(books(), date(2025, 5, 31), AS_OF)
    usd = june["USD"]
    assert (usd.opening_ar, usd.sales, usd.closing_ar, usd.closing_current_ar) == (
        Decimal("2800.00"), Decimal("2300.00"), Decimal("3000.00"), Decimal("300.00"))
    assert usd.days == 30 and usd.collected == Decimal("2100.00")
    assert (usd.dso, usd.best_possible_dso, usd.add, usd.cei) == (39.1, 3.9, 35.2, 43.8)
    eur = june["EUR"]
    assert (eur.dso, eur.best_possible_dso, eur.add, eur.cei) == (30.0, 30.0, 0.0, None)


def test_may_figures_by_hand() -> None:
    usd = period_figures(books(), date(2025, 4, 30), date(2025, 5, 31))["USD"]
    assert (usd.opening_ar, usd.sales, usd.closing_ar, usd.closing_current_ar) == (
        Decimal("3300.00"), Decimal("500.00"), Decimal("2800.00"), Decimal("500.00"))
    assert (usd.dso, usd.best_possible_dso, usd.add, usd.cei) == (173.6, 31.0, 142.6, 30.3)


def test_report_headline_and_monthly_trend() -> None:
    report = kpi_report(books(), AS_OF, days=30, months=3).to_json()
    assert report["period"] == {"from": "2025-06-01", "to": "2025-06-30", "days": 30}
    assert set(report["formulas"]) == {"dso", "best_possible_dso", "add", "cei"}
    eur, usd = report["currencies"]
    assert (usd["currency"], usd["dso"], usd["best_possible_dso"], usd["add"], usd["cei"]) == ("USD", 39.1, 3.9,
                                                                                             35.2, 43.8)
    assert usd["opening_ar"] == "2800.00" and usd["collected"] == "2100.00"
    assert [m["month"] for m in usd["trend"]] == ["2025-04", "2025-05", "2025-06"]
    may, june = usd["trend"][1], usd["trend"][2]
    assert (may["from"], may["to"], may["days"], may["dso"], may["cei"]) == ("2025-05-01", "2025-05-31", 31, 173.6,
                                                                             30.3)
    assert (june["dso"], june["cei"]) == (39.1, 43.8)  # the as-of month is June itself
    # EUR has no AR before June: its trend starts there.
    assert [m["month"] for m in eur["trend"]] == ["2025-06"]


def test_add_is_the_difference_of_the_figures_shown() -> None:
    # Sales 3000.00 over 30 days: DSO = 1506.00 / 100 = 15.06 -> 15.1, best = 504.00 / 100 = 5.04 -> 5.0; the exact
    # difference 10.02 would round to 10.0, but a reader checks 15.1 - 5.0 = 10.1.
    one = Books.of([invoice("A1", "1002.00", "1002.00", "2025-06-01", "2025-06-20"),
                    invoice("B1", "504.00", "504.00", "2025-06-02", "2025-07-20"),
                    invoice("C1", "1494.00", "0.00", "2025-06-03", "2025-06-03")],
                   [paid("C1", "2025-06-10", "1494.00")], AS_OF)
    usd = period_figures(one, date(2025, 5, 31), AS_OF)["USD"]
    assert usd.sales == Decimal("3000.00") and usd.closing_ar == Decimal("1506.00")
    assert (usd.dso, usd.best_possible_dso, usd.add) == (15.1, 5.0, 10.1)


def test_no_sales_means_no_dso_rather_than_a_made_up_zero() -> None:
    with_e1 = period_figures(books(), date(2025, 7, 1), date(2025, 7, 15))["USD"]
    assert with_e1.sales == Decimal("250.00")  # E1, issued 07-02
    none = period_figures(books(), date(2025, 7, 3), date(2025, 7, 15))["USD"]
    assert none.sales == 0 and none.dso is None and none.best_possible_dso is None and none.add is None
    # CEI still has a meaning: A2 was paid on 07-05. Opening 3250 (A2 500 + B1 1200 + B2 300 + C1 700 + C2 300 +
    # E1 250), closing 2750, of it current B2 300 + E1 250: (3250 - 2750) / (3250 - 550) x 100 = 18.52 -> 18.5.
    assert none.opening_ar == Decimal("3250.00") and none.closing_ar == Decimal("2750.00")
    assert none.closing_current_ar == Decimal("550.00") and none.cei == 18.5


def test_months_stop_at_the_first_invoice_and_the_as_of_month_ends_on_as_of() -> None:
    assert months_up_to(date(2025, 3, 10), 3, date(2025, 2, 14)) == [
        (date(2025, 1, 31), date(2025, 2, 28)), (date(2025, 2, 28), date(2025, 3, 10))]
    assert months_up_to(date(2025, 1, 15), 2, None) == [
        (date(2024, 11, 30), date(2024, 12, 31)), (date(2024, 12, 31), date(2025, 1, 15))]


def test_bad_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        kpi_report(books(), AS_OF, days=0)
    with pytest.raises(ValueError, match="must end after it starts"):
        period_figures(books(), AS_OF, AS_OF)
