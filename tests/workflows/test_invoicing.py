"""Invoice drafts from an accepted estimate and from time entries (pure rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.ledger import Customer, Estimate, EstimateStatus, InvoiceLine, Money, TimeEntry
from workflows.invoicing import draft_from_estimate, draft_from_time_entries, draft_total, iso_week, weekly_batches

CUSTOMER = Customer(id="C-7", name="Tailspin Toys", currency="EUR", terms_days=14)


def entry(entry_id: str, day: date, hours: str, rate: str, currency: str = "EUR", customer: str = "C-7",
          billed: str | None = None) -> TimeEntry:
    return TimeEntry(id=entry_id, customer_id=customer, date=day, hours=Decimal(hours),
                     rate=Money.of(rate, currency), description=f"work {entry_id}", invoice_id=billed)


def test_an_estimate_becomes_a_draft_with_its_lines_terms_and_the_customers_currency() -> None:
    lines = [InvoiceLine(description="Design", quantity=Decimal("2"), unit_price=Decimal("400.00"),
                         amount=Decimal("800.00")),
             InvoiceLine(description="Build", unit_price=Decimal("1200.50"), amount=Decimal("1200.50"))]
    estimate = Estimate(id="E-9", number="EST-9", customer_id="C-7", currency="EUR", lines=lines,
                        total=Money.of("2000.50", "EUR"), status=EstimateStatus.ACCEPTED, issue_date=date(2025, 1, 2))
    draft = draft_from_estimate(estimate, CUSTOMER, date(2025, 2, 20))
    assert (draft.customer_id, draft.currency, draft.estimate_id) == ("C-7", "EUR", "E-9")
    assert (draft.issue_date, draft.due_date) == (date(2025, 2, 20), date(2025, 3, 6))  # net 14 over month end
    assert draft.lines == lines and draft_total(draft) == Money.of("2000.50", "EUR")


def test_time_entries_become_lines_rounded_half_up_oldest_first() -> None:
    entries = [entry("T-2", date(2025, 3, 5), "1.25", "99.99"), entry("T-1", date(2025, 3, 3), "2.5", "120.00")]
    draft = draft_from_time_entries(entries, CUSTOMER, date(2025, 3, 10))
    # 1.25 x 99.99 = 124.9875 -> 124.99; 2.5 x 120 = 300.00
    assert [(line.description, line.amount) for line in draft.lines] == [
        ("2025-03-03 work T-1", Decimal("300.00")), ("2025-03-05 work T-2", Decimal("124.99"))]
    assert draft_total(draft) == Money.of("424.99", "EUR") and draft.due_date == date(2025, 3, 24)


def test_a_zero_decimal_currency_rounds_to_whole_units() -> None:
    yen = Customer(id="C-7", name="Tokyo KK", currency="JPY")
    draft = draft_from_time_entries([entry("T-1", date(2025, 3, 3), "1.5", "3333", "JPY")], yen, date(2025, 3, 3))
    assert draft.lines[0].amount == Decimal("5000")  # 4999.5 -> 5000


def test_another_customers_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="C-8"):
        draft_from_time_entries([entry("T-1", date(2025, 3, 3), "1", "10", customer="C-8")], CUSTOMER,
                                date(2025, 3, 3))


@pytest.mark.parametrize(("day", "week"), [(date(2025, 3, 10), "2025-W11"), (date(2025, 12, 29), "2026-W01"),
                                           (date(2021, 1, 3), "2020-W53")])
def test_iso_weeks(day: date, week: str) -> None:
    assert iso_week(day) == week


def test_weekly_batches_group_unbilled_entries_per_customer_and_iso_week() -> None:
    entries = [entry("T-1", date(2025, 3, 9), "1", "10"),  # Sunday: week 10
               entry("T-2", date(2025, 3, 10), "1", "10"),  # Monday: week 11
               entry("T-3", date(2025, 3, 14), "1", "10"),
               entry("T-4", date(2025, 3, 11), "1", "10", customer="C-8"),
               entry("T-5", date(2025, 3, 12), "1", "10", billed="I-1")]
    batches = weekly_batches(entries)
    assert {key: [e.id for e in group] for key, group in batches.items()} == {
        ("C-7", "2025-W10"): ["T-1"], ("C-7", "2025-W11"): ["T-2", "T-3"], ("C-8", "2025-W11"): ["T-4"]}
