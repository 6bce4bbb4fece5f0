"""Guardrails and the credit review of a new invoice (pure rules), with hand-computed figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from adapters.ledger import Customer, InvoiceDraft, InvoiceLine, InvoiceStatus, Money
from workflows.invoice_guardrails import (
    OpenInvoice,
    SettledInvoice,
    assess_credit,
    average_days_late,
    currency_findings,
    duplicate_findings,
    line_findings,
    needs_invoice_approval,
    shown,
)

TODAY = date(2025, 6, 2)


def customer(limit: str | None = "10000", currency: str = "USD") -> Customer:
    return Customer(id="C-1", name="Fabrikam", currency=currency,
                    credit_limit=None if limit is None else Money.of(limit, currency))


def draft(*amounts: str, currency: str = "USD", issued: date = TODAY) -> InvoiceDraft:
    return InvoiceDraft(customer_id="C-1", currency=currency, issue_date=issued, due_date=issued + timedelta(30),
                        lines=[InvoiceLine(description=f"l{n}", unit_price=Decimal(a), amount=Decimal(a))
                               for n, a in enumerate(amounts)])


def open_invoice(number: str, balance: str, due: date, issued: date | None = None, total: str | None = None,
                 status: InvoiceStatus = InvoiceStatus.OPEN, currency: str = "USD") -> OpenInvoice:
    return OpenInvoice(id=f"I-{number}", number=number, total=Money.of(total or balance, currency),
                       balance=Money.of(balance, currency), issue_date=issued or due - timedelta(30), due_date=due,
                       status=status)


def test_lines_that_add_up_pass_and_a_wrong_line_or_total_is_named() -> None:
    assert line_findings(draft("100.00", "250.50"), Money.of("350.50", "USD")) == []
    bad_line = draft("100.00")
    bad_line.lines[0] = InvoiceLine(description="hours", quantity=Decimal("3"), unit_price=Decimal("33.33"),
                                    amount=Decimal("100.00"))
    [finding] = line_findings(bad_line, Money.of("100.00", "USD"))
    assert finding.reason == "line 1 ('hours') says 100.00, but 3 x 33.33 is 99.99"
    [total] = line_findings(draft("100.00", "250.00"), Money.of("350.50", "USD"))
    assert total.reason == "the lines add up to 350.00, the source's total is 350.50"


def test_a_source_in_another_currency_than_the_customers_is_flagged() -> None:
    assert currency_findings("usd", customer()) == []
    [finding] = currency_findings("EUR", customer())
    assert (finding.code, finding.reason) == ("currency_mismatch",
                                              "the source is in EUR, but Fabrikam is billed in USD")


def test_duplicates_the_same_source_or_same_amount_within_seven_days() -> None:
    total = Money.of("1200.00", "USD")
    invoices = [open_invoice("INV-1", "1200.00", TODAY + timedelta(23), issued=TODAY - timedelta(7)),
                open_invoice("INV-2", "1200.00", TODAY + timedelta(22), issued=TODAY - timedelta(8)),
                open_invoice("INV-3", "1100.00", TODAY + timedelta(30), issued=TODAY)]
    found = duplicate_findings(draft("1200.00"), total, invoices, None)
    assert [f.reason for f in found] == [
        "open invoice INV-1 (I-INV-1) is for the same USD 1,200.00, issued 2025-05-26 (7 days apart)"]
    billed = duplicate_findings(draft("1200.00"), total, [], "estimate EST-1 is already closed")
    assert [(f.code, f.reason) for f in billed] == [("already_billed", "estimate EST-1 is already closed")]


def test_a_customer_over_its_limit_after_this_invoice_needs_a_review_naming_exposure_and_limit() -> None:
    # open AR 4,000 + 2,500 (a draft and a EUR invoice do not count) + this 4,000 = 10,500 > 10,000
    invoices = [open_invoice("A", "4000.00", TODAY + timedelta(10)), open_invoice("B", "2500.00", TODAY + timedelta(5)),
                open_invoice("C", "900.00", TODAY + timedelta(5), status=InvoiceStatus.DRAFT),
                open_invoice("D", "700.00", TODAY + timedelta(5), currency="EUR")]
    settled = [SettledInvoice(id="I-0", due_date=date(2025, 3, 1), paid_on=date(2025, 3, 4))]
    credit = assess_credit(customer("10000"), Money.of("4000.00", "USD"), invoices, settled, TODAY)
    assert credit.needed and credit.exposure == Money.of("10500.00", "USD")
    assert credit.open_ar == Money.of("6500.00", "USD")
    assert credit.recommendation == "approve"  # a good payer: 3 days late on average, nothing overdue
    assert credit.rationale == (
        "Fabrikam: exposure USD 10,500.00 (open AR USD 6,500.00 + this invoice USD 4,000.00), over the credit "
        "limit of USD 10,000.00 by USD 500.00. Payment history: 1 invoice paid, on average 3.0 days late; "
        "0 open invoices overdue now. Recommendation: approve.")


def test_over_the_limit_with_an_overdue_invoice_recommends_decline() -> None:
    invoices = [open_invoice("A", "900.00", TODAY - timedelta(1))]
    credit = assess_credit(customer("1000"), Money.of("200.00", "USD"), invoices, [], TODAY)
    assert credit.needed and credit.recommendation == "decline"
    assert "1 open invoice overdue now" in credit.rationale and "unless the limit is raised" in credit.rationale


def test_a_new_customer_is_reviewed_even_within_its_limit_and_a_known_one_within_is_not() -> None:
    new = assess_credit(customer("10000"), Money.of("500.00", "USD"), [], [], TODAY)
    assert (new.needed, new.why, new.recommendation) == (True, "the customer is new", "approve")
    assert "no payment history (a new customer)" in new.rationale
    settled = [SettledInvoice(id="I-0", due_date=date(2025, 3, 1), paid_on=date(2025, 2, 20))]
    known = assess_credit(customer(None), Money.of("50000.00", "USD"), [], settled, TODAY)
    assert not known.needed and "no credit limit is set" in known.rationale


def test_average_days_late_counts_early_payment_as_zero() -> None:
    settled = [SettledInvoice(id="a", due_date=date(2025, 1, 10), paid_on=date(2025, 1, 1)),
               SettledInvoice(id="b", due_date=date(2025, 1, 10), paid_on=date(2025, 1, 20))]
    assert average_days_late(settled) == Decimal("5.0") and average_days_late([]) is None


def test_invoice_approval_over_the_threshold_or_after_any_finding() -> None:
    assert needs_invoice_approval(Money.of("5000.00", "USD"), [], Decimal("5000")) is None
    assert needs_invoice_approval(Money.of("5000.01", "USD"), [], Decimal("5000")) == (
        "the total USD 5,000.01 is over the approval threshold of 5000")
    [finding] = currency_findings("EUR", customer())
    assert needs_invoice_approval(Money.of("10.00", "USD"), [finding], Decimal("5000")) == finding.reason


def test_amounts_are_shown_at_the_currencys_own_decimals() -> None:
    assert (shown(Money.of("125000", "JPY")), shown(Money.of("1.5", "KWD"))) == ("JPY 125,000", "KWD 1.500")
