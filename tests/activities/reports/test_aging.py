"""AR aging as the books stood on a day: buckets, per customer, per currency, rewound from later payments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from activities.reports.aging import LABELS, aging
from activities.reports.books import Books
from tests.activities.reports.ledger import AS_OF, BALANCES_ON, INVOICES, PAYMENTS, books, invoice


def test_the_books_on_as_of_hold_what_was_issued_by_then_with_balances_rewound() -> None:
    standing = books().on(AS_OF)
    balances = {i.invoice_id: i.balance for i in standing.invoices}
    # E1 is issued after AS_OF, X1 is a credit: neither is a receivable on AS_OF.
    assert sorted(balances) == ["A1", "A2", "B1", "B2", "C1", "C2", "D1", "F1"]
    assert balances["A2"] == Decimal("500.00")  # paid on 2025-07-05: not yet on AS_OF
    assert balances["C2"] == Decimal("300.00")  # its payment of 2025-06-10 had happened
    assert balances["A1"] == Decimal("0.00")
    assert [p.invoice_id for p in standing.payments] == ["A1", "F1", "B1", "C2"]
    assert standing.balances_on == AS_OF


def test_aging_buckets_per_currency_overall_and_per_customer() -> None:
    report = aging(books(), AS_OF).to_json()
    assert report["as_of"] == "2025-06-30" and report["buckets"] == list(LABELS)
    eur, usd = report["currencies"]  # in code order; never added together
    assert usd["currency"] == "USD" and usd["open_invoices"] == 5
    assert usd["buckets"] == {"current": "300.00", "1-30": "500.00", "31-60": "700.00", "61-90": "300.00",
                              "90+": "1200.00"}
    assert usd["total"] == "3000.00"
    assert usd["shares"] == {"current": 10.0, "1-30": 16.7, "31-60": 23.3, "61-90": 10.0, "90+": 40.0}
    customers = {c["customer_name"]: (c["open_invoices"], c["buckets"], c["total"]) for c in usd["customers"]}
    assert [c["customer_name"] for c in usd["customers"]] == ["Acme", "Bolt", "Cobalt"]
    assert customers["Acme"] == (1, {"current": "0.00", "1-30": "500.00", "31-60": "0.00", "61-90": "0.00",
                                     "90+": "0.00"}, "500.00")
    assert customers["Bolt"][1]["current"] == "300.00" and customers["Bolt"][1]["90+"] == "1200.00"
    assert customers["Bolt"][2] == "1500.00"
    assert customers["Cobalt"][2] == "1000.00"
    # D1 falls due on AS_OF itself: still current.
    assert eur["currency"] == "EUR" and eur["buckets"]["current"] == "900.00" and eur["total"] == "900.00"


def test_today_the_payment_of_a2_has_happened() -> None:
    usd = aging(books(), BALANCES_ON).to_json()["currencies"][1]
    assert {c["customer_name"] for c in usd["customers"]} == {"Bolt", "Cobalt", "Elm"}
    assert usd["total"] == "2750.00"  # 1200 + 300 + 700 + 300 + E1 250


def test_before_anything_was_issued_nothing_is_open() -> None:
    assert aging(books(), date(2025, 1, 1)).to_json()["currencies"] == []


@pytest.mark.parametrize(("days_past_due", "bucket"), [
    (-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
    (90, "61-90"), (91, "90+"), (400, "90+"),
])
def test_bucket_edges(days_past_due: int, bucket: str) -> None:
    due = AS_OF - timedelta(days=days_past_due)
    one = Books.of([invoice("A9", "10.00", "10.00", min(due, AS_OF).isoformat(), due.isoformat())], [], AS_OF)
    [usd] = aging(one, AS_OF).to_json()["currencies"]
    assert usd["buckets"][bucket] == "10.00" and usd["total"] == "10.00"


def test_amounts_keep_each_currencys_own_decimals() -> None:
    yen = invoice("A7", "150000", "150000", "2025-06-01", "2025-07-01", "JPY")
    dinar = invoice("B7", "12.345", "12.345", "2025-06-01", "2025-06-10", "KWD")
    report = aging(Books.of([yen, dinar], [], AS_OF), AS_OF).to_json()
    jpy = next(c for c in report["currencies"] if c["currency"] == "JPY")
    kwd = next(c for c in report["currencies"] if c["currency"] == "KWD")
    assert jpy["total"] == "150000" and jpy["buckets"]["1-30"] == "0"
    assert kwd["buckets"]["1-30"] == "12.345"


def test_names_given_by_the_ledger_win_over_the_invoices() -> None:
    report = aging(Books.of(INVOICES, PAYMENTS, BALANCES_ON), AS_OF, {"B": "Bolt & Nut <Ltd>"}).to_json()
    assert "Bolt & Nut <Ltd>" in [c["customer_name"] for c in report["currencies"][1]["customers"]]
