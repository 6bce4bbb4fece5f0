"""The payment facts as known on one day: the as-of cut, rewinding balances, what a settled invoice says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from activities.forecasting.history import AppliedPayment, build_book
from tests.activities.forecasting.habits import Ledger


def two_part_invoice() -> Ledger:
    ledger = Ledger()
    # 1,000.00 issued 2025-01-01, due 2025-01-31: 400.00 on 2025-03-02 (day 30), 600.00 on 2025-05-01 (day 90)
    ledger.invoice("C", date(2025, 1, 1), paid=[(30, "400.00"), (90, "600.00")])
    return ledger


def test_a_settled_invoice_tells_when_and_how_it_was_paid() -> None:
    (invoice,) = two_part_invoice().book().invoices
    assert not invoice.is_open
    assert invoice.settled_on == date(2025, 5, 1)
    assert invoice.delay_days == 90
    assert invoice.instalments and not invoice.short_paid
    assert [(p.day, p.fraction) for p in invoice.payments] == [(30, pytest.approx(0.4)), (90, pytest.approx(0.6))]


def test_rewinding_to_an_earlier_day_adds_back_what_was_paid_after_it() -> None:
    ledger = two_part_invoice()
    book = build_book(ledger.invoices, ledger.payments, date(2025, 4, 1), balances_on=date(2025, 6, 30))
    (invoice,) = book.invoices
    assert invoice.balance == Decimal("600.00") and invoice.is_open
    assert [p.amount for p in invoice.payments] == [Decimal("400.00")]
    assert invoice.settled_on is None and invoice.delay_days is None
    assert book.payments_after_as_of == 1
    before_any = build_book(ledger.invoices, ledger.payments, date(2025, 2, 1), balances_on=date(2025, 6, 30))
    assert before_any.invoices[0].balance == Decimal("1000.00")
    with pytest.raises(ValueError, match="cannot be rewound forward"):
        build_book(ledger.invoices, ledger.payments, date(2025, 6, 30), balances_on=date(2025, 4, 1))


def test_rows_after_as_of_are_counted_and_left_out() -> None:
    ledger = two_part_invoice()
    ledger.invoice("C", date(2025, 7, 5))  # issued after as-of
    payments = [
        *ledger.payments,
        AppliedPayment("P-late", ledger.invoices[1].invoice_id, date(2025, 7, 6), Decimal("10.00")),
        AppliedPayment("P-future", ledger.invoices[0].invoice_id, date(2025, 7, 1), Decimal("1.00")),
        AppliedPayment("P-nowhere", "no-such-invoice", date(2025, 5, 1), Decimal("1.00")),
    ]
    ledger.invoice("CREDIT", date(2025, 3, 1), total="-50.00")
    book = build_book(ledger.invoices, payments, date(2025, 6, 30))
    assert [i.invoice_id for i in book.invoices] == [ledger.invoices[0].invoice_id]
    assert book.invoices_after_as_of == 1
    assert book.payments_after_as_of == 2
    assert book.payments_unknown_invoice == 1
    assert book.not_receivables == 1
    assert set(book.by_customer) == {"C"}
    assert book.customers == ("C", "CREDIT")  # the risk score still lists a customer with only a credit note


def test_short_paid_and_overpaid_invoices() -> None:
    ledger = Ledger()
    short = ledger.invoice("C", date(2025, 1, 1), paid=[(5, "900.00")], written_off=True)
    over = ledger.invoice("C", date(2025, 2, 1), total="100.00", paid=[(0, "120.00")])
    by_id = {i.invoice_id: i for i in ledger.book().invoices}
    assert by_id[short.invoice_id].short_paid and by_id[short.invoice_id].delay_days == 5
    assert by_id[short.invoice_id].payments[0].fraction == pytest.approx(0.9)
    # the balance went below zero (a credit): the fractions are of what was paid in all
    assert by_id[over.invoice_id].payments[0].fraction == pytest.approx(1.0)
