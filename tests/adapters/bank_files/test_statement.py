"""The shared vocabulary of statement lines: creditor references, the reference cash application reads, keys."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.bank_files import StatementLine
from adapters.bank_files.statement import content_key, find_rf, is_valid_rf, with_unique_keys


@pytest.mark.parametrize(
    ("reference", "valid"),
    [
        ("RF18539007547034", True),  # ISO 11649's own example
        ("RF18 5390 0754 7034", True),
        ("rf18539007547034", True),
        ("RF36INV1043", True),
        ("RF19539007547034", False),  # a wrong check digit
        ("RF18539007547043", False),  # two digits swapped
        ("RF18", False),
        ("RF00" + "1" * 22, False),  # longer than 25 characters
        ("INV-1043", False),
    ],
)
def test_iso_11649_check_digits(reference: str, valid: bool) -> None:
    assert is_valid_rf(reference) is valid


def test_the_first_valid_creditor_reference_in_a_text_is_found_without_its_spaces() -> None:
    assert find_rf("PAYMENT RF19539007547034 CORRECTED: RF18 5390 0754 7034 THANKS") == "RF18539007547034"
    assert find_rf("SURF18539007547034") == ""  # inside a word it is not a reference
    assert find_rf("nothing here") == ""


def line(**fields: object) -> StatementLine:
    base: dict[str, object] = dict(key="k", line=1, account="A", statement="S", booking_date=date(2025, 3, 4),
                                   value_date=None, amount=Decimal("10.00"), currency="EUR")
    return StatementLine(**{**base, **fields})  # type: ignore[arg-type]


def test_the_matching_reference_is_the_remittance_then_each_structured_reference_it_lacks() -> None:
    assert line(remittance="INV-1042", creditor_reference="RF36INV1043", customer_reference="PO 7",
                end_to_end_id="E2E-1").matching_reference() == "INV-1042\nRF36INV1043\nPO 7\nE2E-1"
    # already in the text (spaces and case aside), or a placeholder: not repeated
    assert line(remittance="pay rf18 5390 0754 7034", creditor_reference="RF18539007547034",
                customer_reference="NONREF", end_to_end_id="NOTPROVIDED").matching_reference() == (
        "pay rf18 5390 0754 7034")
    assert line(end_to_end_id="INV-1042", customer_reference="INV-1042").matching_reference() == "INV-1042"
    assert line().matching_reference() == ""


def test_a_repeated_key_is_numbered_by_its_occurrence() -> None:
    lines = [line(key="a"), line(key="b"), line(key="a"), line(key="a")]

    assert [x.key for x in with_unique_keys(lines)] == ["a", "b", "a/2", "a/3"]


def test_a_content_key_changes_with_any_part_of_the_content_and_only_then() -> None:
    day = date(2025, 3, 4)
    key = content_key("mt940", "ACC", day, Decimal("10.00"), "EUR", "text")

    assert key == content_key("mt940", "ACC", day, Decimal("10.00"), "EUR", "text")
    assert key.startswith("mt940:ACC:2025-03-04:")
    assert key != content_key("mt940", "ACC", day, Decimal("10.01"), "EUR", "text")
    assert key != content_key("mt940", "ACC", day, Decimal("10.00"), "EUR", "text.")
    assert key != content_key("mt940", "ACC2", day, Decimal("10.00"), "EUR", "text")
