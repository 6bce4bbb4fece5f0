"""Issue 13: a reference one slip from an invoice number (swapped, wrong, dropped or doubled digit; O/0, I/1,
S/5 read by OCR) is evidence weighed with the amount and the payer, never certain against an exact match."""

from __future__ import annotations

import pytest

from activities.cash_matching import MatchingEngine
from activities.cash_matching.references import one_slip_keys, read_reference
from tests.activities.cash_matching.sample_ledger import ACME, GLOBEX, allocated, invoice, payment


def _acme_with_equal_balances() -> list:  # type: ignore[type-arg]
    # INV-100999 is due first; without a reference it would be the one paid
    return [
        invoice("INV-100999", "500.00", ACME, due_in=0),
        invoice("INV-101234", "500.00", ACME, due_in=20),
        invoice("INV-105555", "730.00", GLOBEX),
    ]


@pytest.mark.parametrize(
    "reference",
    [
        "INV-102134",  # two digits swapped
        "INV-101284",  # one digit wrong
        "INV-10234",  # one dropped
        "INV-1012334",  # one doubled
        "INV-1O1234",  # OCR: the letter O for the digit 0
    ],
)
def test_a_slip_picks_the_invoice_meant_among_equal_balances(reference: str) -> None:
    result = MatchingEngine(_acme_with_equal_balances()).match(payment("500.00", "ACME CORPORATION INC", reference))
    assert result.decision == "auto"
    assert allocated(result) == {"id-INV-101234": "500.00"}
    assert "one slip from INV-101234" in result.explanation


def test_a_transposed_number_that_is_another_invoice_exactly_is_only_suggested() -> None:
    # INV-102134 is Globex's 730.00, and a swap from Acme's INV-101234; Acme pays 500.00 writing "INV-102134":
    # the text names Globex's invoice exactly, the amount and the payer point at Acme's: never auto
    invoices = [*_acme_with_equal_balances(), invoice("INV-102134", "730.00", GLOBEX)]
    result = MatchingEngine(invoices).match(payment("500.00", "ACME CORPORATION INC", "INV-102134"))
    assert result.decision == "review"
    assert result.confidence < 0.9
    # the suggestion is the payer's own 500.00, not Globex's invoice the text names
    assert set(allocated(result)) <= {"id-INV-100999", "id-INV-101234"}


def test_a_slip_to_an_invoice_whose_amount_and_payer_disagree_is_no_evidence() -> None:
    # "INV-105565" is one digit from Globex's INV-105555 (730.00), but Acme pays 500.00: the name decides
    result = MatchingEngine(_acme_with_equal_balances()).match(payment("500.00", "ACME CORPORATION INC", "INV-105565"))
    assert allocated(result) == {"id-INV-100999": "500.00"}


def test_a_slip_with_an_unknown_payer_is_a_suggestion() -> None:
    # the payer is nobody we know; the number is one swap from INV-101234 and the amount is its balance
    result = MatchingEngine(_acme_with_equal_balances()).match(payment("500.00", "J SMITH", "INV-102134"))
    assert result.decision == "review"
    assert allocated(result) == {"id-INV-101234": "500.00"}


def test_ocr_letters_between_digits_are_read_as_the_digits_meant_but_marked_near() -> None:
    reading = read_reference("INV-1O1S34")
    assert [(m.keys[-1], m.near) for m in reading.mentions] == [("101534", True)]
    assert read_reference("INVOICE 101534").mentions[0].near is False


def test_one_slip_keys_cover_each_kind_of_slip() -> None:
    keys = set(one_slip_keys("1234"))
    assert {"2134", "1324", "1243"} <= keys  # swaps
    assert {"234", "134", "124", "123"} <= keys  # the written number has a digit too many
    assert {"10234", "12834", "12344"} <= keys  # a digit dropped
    assert "1235" in keys and "1234" not in keys
