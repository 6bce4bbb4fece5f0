"""QuickBooks objects as QuickBooks sends them (LEDGER_APIS.md A3) map to the vocabulary exactly: invoices,
customers, payments, estimates, credit memos, deposit lines and the AgedReceivables report."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from adapters.ledger import (
    Allocation,
    BankLineStatus,
    EstimateStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NotFound,
)
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from adapters.ledgers.quickbooks.mapping import aging_rows_from_wire
from tests.adapters.ledgers.quickbooks.recorded import (
    AGED_RECEIVABLES,
    CREDIT_MEMO_150,
    CUSTOMER_58,
    DEPOSIT_300,
    ESTIMATE_140,
    INVOICE_130,
    INVOICE_131,
    PACIFIC,
    PAYMENT_201,
)
from tests.adapters.ledgers.steps import usd
from tests.emulators.quickbooks import QuickBooksEmulator

# --- recorded shapes round-trip exactly -------------------------------------------------------------------


def test_recorded_invoice_maps_to_the_vocabulary_exactly(emulator: QuickBooksEmulator,
                                                          ledger: QuickBooksLedger) -> None:
    emulator.put_raw("Customer", CUSTOMER_58)
    emulator.put_raw("Invoice", INVOICE_130)
    emulator.put_raw("Invoice", INVOICE_131)

    invoice = ledger.get_invoice("130")
    assert invoice == Invoice(
        id="130", number="1037", customer_id="58", customer_name="Acme Ltd", currency="USD",
        lines=[InvoiceLine(description="Consulting", quantity=Decimal("3"), unit_price=Decimal("100.00"),
                           amount=Decimal("300.00"))],
        total=usd("300.00"), balance=usd("300.00"), issue_date=date(2024, 6, 1), due_date=date(2024, 7, 1),
        status=InvoiceStatus.OPEN, email="ap@acme.example",
        updated_at=datetime(2024, 6, 1, 10, 2, 11, tzinfo=PACIFIC),
    )
    assert isinstance(invoice.total.amount, Decimal) and str(invoice.total.amount) == "300.00"
    part_paid = ledger.get_invoice("131")
    assert part_paid.status == InvoiceStatus.PARTIALLY_PAID and part_paid.balance == usd("300.00")

    customer = ledger.get_customer("58")
    assert (customer.name, customer.email, customer.alternate_emails) == (
        "Acme Ltd", "ap@acme.example", ["billing@acme.example"])
    assert (customer.currency, customer.terms_days, customer.country) == ("USD", 30, "US")


def test_recorded_payment_estimate_credit_memo_and_deposit_round_trip(emulator: QuickBooksEmulator,
                                                                       ledger: QuickBooksLedger) -> None:
    for entity, payload in (("Customer", CUSTOMER_58), ("Invoice", INVOICE_130), ("Invoice", INVOICE_131),
                            ("Payment", PAYMENT_201), ("Estimate", ESTIMATE_140),
                            ("CreditMemo", CREDIT_MEMO_150), ("Deposit", DEPOSIT_300)):
        emulator.put_raw(entity, payload)

    [payment] = ledger.list_payments()
    assert payment.amount == usd("500.00") and payment.unapplied == usd("50.00")
    assert payment.allocations == [Allocation(invoice_id="130", amount=usd("300.00")),
                                   Allocation(invoice_id="131", amount=usd("150.00"))]
    assert (payment.date, payment.reference, payment.customer_id) == (date(2024, 6, 15), "CHK-1001", "58")
    assert [p.id for p in ledger.list_payments(invoice_id="131")] == ["201"]
    assert ledger.list_payments(invoice_id="130") == []  # 130 names no payment in its LinkedTxn

    estimate = ledger.get_estimate("140")
    assert (estimate.status, estimate.total, estimate.number) == (EstimateStatus.PENDING, usd("300.00"), "1001")
    assert estimate.lines[0].quantity == 3 and estimate.lines[0].unit_price == Decimal("100.00")
    assert [e.id for e in ledger.list_estimates(EstimateStatus.PENDING)] == ["140"]
    assert ledger.list_estimates(EstimateStatus.ACCEPTED) == []

    [memo] = ledger.list_credit_notes(customer_id="58")
    assert (memo.number, memo.total, memo.remaining, memo.status) == ("CM-1", usd("50.00"), usd("50.00"), "open")

    lines = ledger.list_bank_lines()
    assert [(b.id, b.amount, b.status) for b in lines] == [
        ("300-1", usd("500.00"), BankLineStatus.MATCHED), ("300-2", usd("20.00"), BankLineStatus.UNMATCHED)]
    assert lines[1].payer_name == "Acme Ltd"  # the line names the customer by id only
    assert ledger.get_bank_line("300-2") == lines[1]
    assert [b.id for b in ledger.list_bank_lines(BankLineStatus.UNMATCHED)] == ["300-2"]
    with pytest.raises(NotFound):
        ledger.get_bank_line("300-9")


def test_recorded_aged_receivables_report_parses_by_column_title() -> None:
    [row] = aging_rows_from_wire(json.loads(AGED_RECEIVABLES, parse_float=Decimal), "USD")
    assert (row.customer_id, row.customer_name, row.currency) == ("58", "Acme Ltd", "USD")
    assert row.days_1_30 == Decimal("150.00") and row.total == Decimal("150.00") and row.current == 0
