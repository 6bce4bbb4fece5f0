"""A customer's statement, figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from activities.reports.books import Books
from activities.statements.statement import (
    StatementPeriodError,
    customers_with_activity,
    month_period,
    previous_month,
    statement,
)

D = Decimal


def inv(invoice_id: str, customer: str, currency: str, total: str, balance: str, issued: str, due: str) -> OpenInvoice:
    return OpenInvoice(invoice_id=invoice_id, invoice_number=f"N-{invoice_id}", customer_id=customer,
                       customer_name=f"name of {customer}", currency=currency, total=D(total), balance=D(balance),
                       issue_date=date.fromisoformat(issued), due_date=date.fromisoformat(due))


def pay(payment_id: str, invoice_id: str, day: str, amount: str) -> AppliedPayment:
    return AppliedPayment(payment_id=payment_id, invoice_id=invoice_id, date=date.fromisoformat(day), amount=D(amount))


@pytest.fixture
def books() -> Books:
    invoices = [
        inv("1", "C1", "USD", "1000.00", "300.00", "2026-01-10", "2026-02-09"),
        inv("2", "C1", "USD", "500.00", "200.00", "2026-02-05", "2026-03-07"),  # 100 credited, 200 paid in March
        inv("3", "C1", "USD", "250.00", "250.00", "2026-02-20", "2026-02-25"),
        inv("4", "C1", "USD", "80.00", "80.00", "2026-03-02", "2026-04-01"),  # after the period
        inv("J", "C1", "JPY", "12000", "12000", "2025-11-01", "2025-11-30"),
        inv("9", "C2", "USD", "700.00", "700.00", "2026-02-11", "2026-03-13"),
        inv("8", "C3", "USD", "90.00", "0.00", "2025-06-01", "2025-07-01"),
    ]
    payments = [pay("P1", "1", "2026-01-25", "400.00"), pay("P2", "1", "2026-02-10", "300.00"),
                pay("P3", "2", "2026-03-05", "200.00"), pay("P4", "8", "2025-07-01", "90.00")]
    return Books.of(invoices, payments, date(2026, 3, 10))


def test_february_for_a_customer_with_history_before_during_and_after(books: Books) -> None:
    found = statement(books, "C1", "Acme", date(2026, 2, 1), date(2026, 2, 28))
    usd = next(c for c in found.currencies if c.currency == "USD")
    # Opening: invoice 1 owed 1000 - 400 (paid in January) = 600 on 31 January.
    assert usd.opening == D("600.00")
    assert usd.invoiced == D("750.00")  # invoices 2 and 3
    assert usd.paid == D("300.00")  # 10 February on invoice 1; the March payment is not in February
    assert usd.credited == D("100.00")  # invoice 2: 500 billed, 200 paid later, 200 open -> 100 credited
    assert usd.closing == D("950.00")  # 300 + 400 + 250
    assert usd.opening + usd.invoiced - usd.paid - usd.credited == usd.closing
    # Aging on 28 February: invoice 1 19 days late, 3 three days late, 2 not due until 7 March.
    assert usd.aging == {"current": D("400.00"), "1-30": D("550.00"), "31-60": D("0.00"), "61-90": D("0.00"),
                         "90+": D("0.00")}
    assert [(i.invoice_number, i.days_past_due, i.balance) for i in usd.open_items] == [
        ("N-1", 19, D("300.00")), ("N-3", 3, D("250.00")), ("N-2", -7, D("400.00"))]
    assert [(line.day.isoformat(), line.kind, line.reference, line.amount) for line in usd.lines] == [
        ("2026-02-05", "invoice", "N-2", D("500.00")), ("2026-02-05", "credit", "N-2", D("100.00")),
        ("2026-02-10", "payment", "N-1", D("300.00")), ("2026-02-20", "invoice", "N-3", D("250.00"))]


def test_each_currency_apart_rounded_to_its_own_unit(books: Books) -> None:
    found = statement(books, "C1", "Acme", date(2026, 2, 1), date(2026, 2, 28))
    assert [c.currency for c in found.currencies] == ["JPY", "USD"]
    jpy = found.currencies[0]
    assert (str(jpy.opening), str(jpy.closing), jpy.lines) == ("12000", "12000", [])
    # due 30 November: 90 days late on 28 February is still the 61-90 bucket
    assert str(jpy.aging["61-90"]) == "12000" and jpy.aging["90+"] == 0
    assert str(found.currencies[1].closing) == "950.00"


def test_a_period_still_running_and_a_customer_with_nothing_to_say(books: Books) -> None:
    march = statement(books, "C1", "Acme", date(2026, 3, 1), date(2026, 3, 10))
    usd = next(c for c in march.currencies if c.currency == "USD")
    assert (usd.opening, usd.invoiced, usd.paid, usd.credited, usd.closing) == (
        D("950.00"), D("80.00"), D("200.00"), D("0.00"), D("830.00"))
    assert statement(books, "C3", "Settled", date(2026, 2, 1), date(2026, 2, 28)).is_empty
    assert statement(books, "nobody", "?", date(2026, 2, 1), date(2026, 2, 28)).is_empty


def test_who_gets_a_statement(books: Books) -> None:
    assert customers_with_activity(books, date(2026, 2, 1), date(2026, 2, 28)) == ["C1", "C2"]
    assert customers_with_activity(books, date(2025, 7, 1), date(2025, 7, 31)) == ["C3"]
    assert customers_with_activity(books, date(2025, 10, 1), date(2025, 10, 31)) == []


def test_periods() -> None:
    assert month_period("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_period("2024-12") == (date(2024, 12, 1), date(2024, 12, 31))
    assert previous_month(date(2026, 1, 15)) == "2025-12"
    for bad in ("2026-13", "2026-2", "March", "2026-02-01", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month_period(bad)
    with pytest.raises(StatementPeriodError):
        statement(Books.of([], [], date(2026, 1, 1)), "C1", "x", date(2026, 2, 1), date(2026, 1, 31))
