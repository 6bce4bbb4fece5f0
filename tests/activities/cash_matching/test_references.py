"""Reading a bank memo or remittance advice: invoice numbers, deductions, partial payments."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.cash_matching import read_reference


def test_numbers_that_are_not_invoices_are_not_read_as_invoices() -> None:
    reading = read_reference("P.O. 4455 acct 7781 TRACE 0910000123456 on 2025-03-01, card 1042")
    assert reading.mentions == ()


def test_reference_reader_finds_marked_and_bare_numbers() -> None:
    reading = read_reference("inv 1042 and 1043; order 555; ref 1044")
    assert [(m.text, m.marked) for m in reading.mentions] == [("1042", True), ("1043", True), ("1044", False)]


@pytest.mark.parametrize(
    "words",
    [
        "less 5.00",
        "deducted 5.00",
        "short paid",
        "damaged goods",
        "early payment discount",
        "returned items",
        "chargeback",
        "promo",
        "allowance",
        "rebate",
        "credit memo 77",
        "price difference",
        "pricing",
        "disputed",
        "withholding tax",
        "WHT",
        "retention",
        "retainage",
        "missing carton",
        "defective",
        "co-op",
        "coop",
        "penalty",
        "late delivery",
        "shortage",
        "spoiled",
        "breakage",
    ],
)
def test_every_deduction_wording_keeps_its_reason(words: str) -> None:
    reading = read_reference(f"INV-1042 {words}")
    assert reading.deduction_reason == f"INV-1042 {words}"


@pytest.mark.parametrize(
    "words",
    [
        "partial",
        "part-payment",
        "part payment",
        "installment 1",
        "instalment",
        "on account",
        "progress payment",
        "balance to follow",
        "first payment",
        "1st payment",
        "1 of 3 payments",
        "payment 2 of 3",
    ],
)
def test_every_partial_wording_is_recognised(words: str) -> None:
    assert read_reference(f"INV-1042 {words}").partial


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_memo_text_can_be_read(text: str) -> None:
    reading = read_reference(text)
    for mention in reading.mentions:
        assert mention.keys and all(mention.keys)
        assert re.search(r"\d", mention.text)
