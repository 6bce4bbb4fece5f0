"""The cash-in forecast: weeks and windows, hand-computed sums and ranges, currencies, determinism, the as-of cut."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.forecast import PaymentOutlook, forecast_cash, summarise
from activities.forecasting.history import AppliedPayment, InvoiceHistory, build_book
from activities.forecasting.synthetic import synthetic_history
from tests.activities.forecasting.habits import AS_OF, Ledger


def open_invoice(balance: str, currency: str = "USD", invoice_id: str = "in_1") -> InvoiceHistory:
    return InvoiceHistory(
        invoice_id=invoice_id,
        customer_id="C",
        currency=currency,
        total=Decimal(balance),
        balance=Decimal(balance),
        issue_date=AS_OF - timedelta(days=20),
        due_date=AS_OF + timedelta(days=10),
        payments=(),
    )


def outlook(invoice: InvoiceHistory, by_day: dict[int, float], horizon: int = 365) -> PaymentOutlook:
    daily = [0.0] * horizon
    for day, p in by_day.items():
        daily[day - 1] = p
    return PaymentOutlook(invoice, tuple(daily))


def test_weekly_sums_ranges_and_windows_by_hand() -> None:
    """10,000.00 with a 30% chance on day 10 and 5% on day 20 (and 65% not within the year)."""
    forecast = summarise(AS_OF, [outlook(open_invoice("10000.00"), {10: 0.30, 20: 0.05})], weeks=4)
    (usd,) = forecast.forecasts
    week1, week2, week3, week4 = usd.weeks
    assert (week1.expected, week1.low, week1.high) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    # 30%: the 10th percentile of the draws is nothing, the 90th the whole invoice
    assert (week2.expected, week2.low, week2.high) == (Decimal("3000.00"), Decimal("0.00"), Decimal("10000.00"))
    # 5%: both percentiles are nothing, and the range is widened to hold the expectation
    assert (week3.expected, week3.low, week3.high) == (Decimal("500.00"), Decimal("0.00"), Decimal("500.00"))
    assert week4.expected == Decimal("0.00")
    assert (usd.days_30, usd.days_60, usd.days_90) == (Decimal("3500.00"), Decimal("3500.00"), Decimal("3500.00"))
    (invoice,) = forecast.invoices
    assert invoice.expected_date is None  # 35% within the year: more likely than not never
    assert invoice.expected_amount == Decimal("3500.00")


def test_expected_date_is_the_median_day() -> None:
    forecast = summarise(AS_OF, [outlook(open_invoice("800.00"), {3: 0.2, 9: 0.3, 40: 0.4})], weeks=13)
    (invoice,) = forecast.invoices
    assert invoice.expected_date == AS_OF + timedelta(days=9)  # 20% by day 3, 50% by day 9
    assert invoice.expected_amount == Decimal("720.00")  # 90% of it within the horizon


def test_weeks_start_the_day_after_as_of() -> None:
    ledger = Ledger()
    ledger.customer("C", [0] * 6)
    ledger.invoice("C", date(2025, 6, 10))
    for weeks in (1, 4, 13, 26):
        (usd,) = forecast_cash(ledger.book(), weeks=weeks).forecasts
        assert len(usd.weeks) == weeks
        for n, week in enumerate(usd.weeks):
            assert week.start == AS_OF + timedelta(days=7 * n + 1)
            assert week.end == AS_OF + timedelta(days=7 * n + 7)


def test_an_on_time_payers_invoice_is_expected_in_the_week_of_its_due_date() -> None:
    ledger = Ledger()
    ledger.customer("ON-TIME", [0] * 14)
    ledger.customer("LATE", [20] * 14)
    due_in_week_2 = ledger.invoice("ON-TIME", date(2025, 6, 10), total="5000.00")  # due 2025-07-10
    part_paid = ledger.invoice("LATE", date(2025, 6, 1), total="1000.00", paid=[(-20, "400.00")])  # due 07-01
    forecast = forecast_cash(ledger.book())
    (usd,) = forecast.forecasts
    by_id = {i.invoice_id: i for i in forecast.invoices}
    assert by_id[due_in_week_2.invoice_id].expected_date == date(2025, 7, 10)
    assert by_id[part_paid.invoice_id].expected_date == date(2025, 7, 21)  # its customer pays 20 days late
    # only the 600.00 still owed is expected, never the total
    assert Decimal("590.00") <= by_id[part_paid.invoice_id].expected_amount <= Decimal("600.00")
    # 2025-07-08..14: the 5,000.00 due on the 10th, from a customer who paid 14 of 14 on the day (the book's
    # prior, worth two invoices, leaves some room for the 20-days-late habit seen elsewhere in the book)
    assert usd.weeks[1].expected >= Decimal("4500.00")
    assert usd.weeks[2].start == date(2025, 7, 15)
    assert usd.weeks[2].expected >= Decimal("540.00")  # 2025-07-15..21: the 600.00 expected on the 21st
    # both fall due within 30 days and their customers' habits put them there: almost all of 5,600.00 is expected
    assert Decimal("5300.00") <= usd.days_30 <= usd.days_60 <= usd.days_90 <= Decimal("5600.00")


def test_one_forecast_per_currency_never_mixed() -> None:
    ledger = Ledger()
    ledger.customer("US", [5] * 10, currency="USD")
    ledger.customer("EU", [5] * 10, currency="EUR", total="900.00")
    ledger.customer("JP", [5] * 10, currency="JPY", total="150001")
    usd = ledger.invoice("US", date(2025, 6, 15), currency="USD", total="1000.00")
    ledger.invoice("EU", date(2025, 6, 15), currency="EUR", total="900.00")
    ledger.invoice("JP", date(2025, 6, 15), currency="JPY", total="150001")
    forecast = forecast_cash(ledger.book())
    assert [f.currency for f in forecast.forecasts] == ["EUR", "JPY", "USD"]
    eur, jpy, usd_forecast = forecast.forecasts
    assert usd_forecast.days_90 <= Decimal("1000.00") and eur.days_90 <= Decimal("900.00")
    assert jpy.days_90 <= Decimal("150001") and jpy.days_90 > Decimal("140000")
    # yen have no minor unit; dollars and euros have cents
    assert all(w.expected == w.expected.to_integral_value() and "." not in str(w.expected) for w in jpy.weeks)
    assert all(str(w.expected).split(".")[1].__len__() == 2 for w in eur.weeks)
    # a bigger euro balance changes nothing in dollars (curves are about timing, not size)
    bigger = [replace(i, balance=i.balance * 10) if i.currency == "EUR" and i.balance else i for i in ledger.invoices]
    again = forecast_cash(build_book(bigger, ledger.payments, AS_OF))
    assert again.currency("USD") == usd_forecast
    assert again.currency("EUR").days_90 > eur.days_90 * 9
    assert usd.invoice_id in {i.invoice_id for i in forecast.invoices}


def test_the_range_always_holds_the_expectation() -> None:
    history = synthetic_history(seed=3, customers=30)
    forecast = forecast_cash(build_book(history.invoices, history.payments, history.as_of), weeks=13)
    for currency in forecast.forecasts:
        for week in currency.weeks:
            assert week.low <= week.expected <= week.high
    usd = forecast.currency("USD")
    assert any(w.low < w.expected < w.high for w in usd.weeks)


def test_same_files_same_forecast_whatever_the_row_order() -> None:
    history = synthetic_history(seed=5, customers=20)
    first = forecast_cash(build_book(history.invoices, history.payments, history.as_of)).to_json()
    again = forecast_cash(build_book(history.invoices, history.payments, history.as_of)).to_json()
    assert first == again
    invoices, payments = list(history.invoices), list(history.payments)
    random.Random(1).shuffle(invoices)
    random.Random(2).shuffle(payments)
    shuffled = forecast_cash(build_book(invoices, payments, history.as_of)).to_json()
    assert shuffled["forecasts"] == first["forecasts"]
    assert sorted(shuffled["invoices"], key=lambda i: i["invoice_id"]) == sorted(
        first["invoices"], key=lambda i: i["invoice_id"]
    )


def as_known_on(
    invoices: tuple[OpenInvoice, ...], payments: tuple[AppliedPayment, ...], day: date
) -> tuple[list[OpenInvoice], list[AppliedPayment]]:
    """The files someone would have exported on `day`: invoices issued by then with their balance then."""
    later = {}
    for p in payments:
        if p.date > day:
            later[p.invoice_id] = later.get(p.invoice_id, Decimal(0)) + p.amount
    known = [
        replace(i, balance=i.balance + later.get(i.invoice_id, Decimal(0))) for i in invoices if i.issue_date <= day
    ]
    return known, [p for p in payments if p.date <= day]


def test_nothing_dated_after_as_of_changes_the_forecast() -> None:
    history = synthetic_history(seed=11, customers=25)
    cut = date(2025, 3, 31)
    invoices, payments = as_known_on(history.invoices, history.payments, cut)
    clean = build_book(invoices, payments, cut)
    assert clean.invoices_after_as_of == 0 and clean.payments_after_as_of == 0
    # the same files with rows from after the cut: new invoices, and payments made after it
    newer = [i for i in history.invoices if i.issue_date > cut]
    later_payments = [p for p in history.payments if p.date > cut]
    assert newer and later_payments
    noisy = build_book([*invoices, *newer], [*payments, *later_payments], cut)
    assert noisy.invoices_after_as_of == len(newer)
    assert noisy.payments_after_as_of == len(later_payments)
    assert forecast_cash(noisy).to_json() == forecast_cash(clean).to_json()


def test_a_currency_with_nothing_open_has_no_forecast() -> None:
    ledger = Ledger()
    ledger.customer("PAID-UP", [0] * 3, currency="GBP")
    assert forecast_cash(ledger.book()).to_json() == {"as_of": "2025-06-30", "forecasts": [], "invoices": []}
    ledger.invoice("OWES", date(2025, 6, 1), currency="EUR")
    assert [f.currency for f in forecast_cash(ledger.book()).forecasts] == ["EUR"]
