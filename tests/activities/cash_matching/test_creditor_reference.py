"""ISO 11649 creditor references (`RF`, two check digits, a body) read as the invoice their body names."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from activities.cash_matching.engine import MatchingEngine
from activities.cash_matching.model import IncomingPayment, OpenInvoice
from activities.cash_matching.references import creditor_reference_valid, read_reference


def _invoice(number: str, due: date) -> OpenInvoice:
    return OpenInvoice(
        invoice_id=number.lower(),
        invoice_number=number,
        customer_id="C1",
        customer_name="Harbor Metals Co.",
        currency="USD",
        total=Decimal("499.00"),
        balance=Decimal("499.00"),
        issue_date=date(2025, 1, 1),
        due_date=due,
    )


def test_check_digits_follow_iso_11649() -> None:
    # the standard's own example: RF18 5390 0754 7034; 539007547034RF18 -> ...271518 mod 97 = 1
    assert creditor_reference_valid("RF18539007547034")
    assert creditor_reference_valid("RF18 5390 0754 7034")
    assert not creditor_reference_valid("RF19539007547034")
    # 101652 then RF00 as digits: 101652271500 mod 97 = 83, so the check digits are 98 - 83 = 15
    assert creditor_reference_valid("RF15101652")


def test_a_digits_only_body_is_a_marked_mention_of_those_digits() -> None:
    (mention,) = read_reference("SUPPLIER PAYMENT\nRF15000000101652").mentions
    assert mention.marked and mention.keys == ("101652",)
    (spaced,) = read_reference("RF18 5390 0754 7034 HARBOR").mentions
    assert spaced.keys == ("539007547034",)


def test_a_reference_whose_check_digits_fail_is_no_creditor_reference() -> None:
    # 14 digits are a trace or account number to the ordinary reading
    assert read_reference("RF16000000101652").mentions == ()


def test_the_invoice_the_body_names_wins_over_the_oldest_equal_balance() -> None:
    older = _invoice("INV-101000", date(2025, 1, 31))
    named = _invoice("INV-101652", date(2025, 2, 28))
    engine = MatchingEngine([older, named], {})
    payment = IncomingPayment("p1", date(2025, 3, 20), Decimal("499.00"), "USD", "HARBOR METALS CO", "RF15101652")
    (result,) = engine.match_all([payment])
    assert result.decision == "auto"
    assert [(a.invoice_id, a.amount) for a in result.allocations] == [("inv-101652", Decimal("499.00"))]


def test_with_broken_check_digits_the_amount_alone_decides_oldest_due_first() -> None:
    older = _invoice("INV-101000", date(2025, 1, 31))
    named = _invoice("INV-101652", date(2025, 2, 28))
    engine = MatchingEngine([older, named], {})
    payment = IncomingPayment("p1", date(2025, 3, 20), Decimal("499.00"), "USD", "HARBOR METALS CO", "RF16000000101652")
    (result,) = engine.match_all([payment])
    assert [a.invoice_id for a in result.allocations] == ["inv-101000"]
