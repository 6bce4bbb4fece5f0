"""The template drafter: its reminders and dispute summaries pass the same checks as an LLM's, for any facts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.drafting.guardrails import check_internal_text, check_reminder, dispute_figures
from adapters.drafting.port import ReminderFacts
from adapters.drafting.template import TemplateDrafter, template_dispute_summary
from adapters.ledger import Money
from tests.adapters.drafting.examples import DISPUTE, facts


@pytest.mark.parametrize("tone", ["friendly", "firm", "final"])
@pytest.mark.parametrize("today", [date(2026, 3, 1), date(2026, 3, 4), date(2026, 4, 30)])
def test_the_template_drafts_pass(tone: str, today: date) -> None:
    f = facts(tone=tone, today=today)
    d = TemplateDrafter().draft_reminder(f)
    assert check_reminder(d.subject, d.body, f) == []


_NAMES = st.sampled_from(
    ["Maple & Finch Bakery", "Dr. Amara Okafor", "Legal & General Plumbing", "Studio 54 Events", "May Chen"]
)
_NUMBERS = st.one_of(
    st.integers(1, 999_999).map(lambda n: f"INV-{n}"),
    st.integers(1, 99_999).map(str),
    st.integers(1, 9_999).map(lambda n: f"SI-2026-{n:04d}"),
    st.integers(1, 99_999).map(lambda n: f"INV{n:05d}"),
)


@st.composite
def reminder_facts(draw: st.DrawFn) -> ReminderFacts:
    currency = draw(st.sampled_from(["USD", "EUR", "GBP", "JPY", "CAD", "KWD"]))
    total_cents = draw(st.integers(100, 10_000_000))
    paid_cents = draw(st.sampled_from([0, 0, total_cents // 4, total_cents // 2]))
    issue = draw(st.dates(date(2024, 1, 1), date(2027, 12, 31)))
    due = issue + timedelta(days=draw(st.sampled_from([7, 14, 30, 45, 60])))
    number = draw(_NUMBERS)
    return ReminderFacts(
        company_name=draw(st.sampled_from(["Northwind Traders Ltd", "Kessler & Braun GmbH", "Acme 2000 Inc."])),
        customer_name=draw(_NAMES),
        invoice_number=number,
        amount_due=Money.of(Decimal(total_cents - paid_cents) / 100, currency),
        total=Money.of(Decimal(total_cents) / 100, currency),
        issue_date=issue,
        due_date=due,
        today=due + timedelta(days=draw(st.integers(-10, 120))),
        level=draw(st.integers(0, 5)),
        tone=draw(st.sampled_from(["friendly", "firm", "final"])),
        how_to_pay=draw(
            st.sampled_from(
                [
                    f"Pay online at https://pay.example.com/i/{number}",
                    f"Bank transfer, IBAN GB29 NWBK 6016 1331 9268 19, reference {number}",
                    "Card payment by phone on +44 20 7946 0958",
                    "Please pay by bank transfer to the account printed on the invoice.",
                ]
            )
        ),
        history_summary=draw(st.sampled_from(["", "Paid 11 of the last 12 invoices on time."])),
    )


@settings(max_examples=300, deadline=None)
@given(reminder_facts())
def test_template_drafts_pass_for_any_facts(f: ReminderFacts) -> None:
    d = TemplateDrafter().draft_reminder(f)
    assert check_reminder(d.subject, d.body, f) == []


def test_the_template_dispute_summary_passes_its_own_checks() -> None:
    summary = template_dispute_summary(DISPUTE)
    text = "\n".join([summary.summary, summary.customer_claim, *summary.open_questions])
    assert check_internal_text(text, dispute_figures(DISPUTE), min_words=15, max_words=260) == []
