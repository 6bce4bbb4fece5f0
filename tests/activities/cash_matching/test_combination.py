"""The subset-sum search for a payment that pays several invoices without naming them."""

from __future__ import annotations

from activities.cash_matching import find_combination


def test_find_combination_prefers_fewer_and_older_invoices() -> None:
    assert find_combination([500, 500, 500], 1000, 0, 4) == (0, 1)
    assert find_combination([100, 250, 400, 650], 650, 0, 4) == (1, 2)  # not the single 650: that is no combination
    assert find_combination([120, 300, 455, 71], 646, 0, 4) == (0, 2, 3)
    assert find_combination([10, 20, 30, 40, 50], 140, 0, 4) == (1, 2, 3, 4)
    assert find_combination([10, 20], 99, 0, 4) is None
