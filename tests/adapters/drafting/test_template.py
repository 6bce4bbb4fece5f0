"""The template drafter: its reminders and dispute summaries pass the same checks as an LLM's, for any facts,
and each level of a ladder reads as the notice it is."""

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
from workflows.dunning import DEFAULT_LADDER, DunningLevel


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
        level=draw(st.integers(0, 25)),
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


# --- each level reads as what it is ----------------------------------------------------------------

DUE = date(2026, 3, 4)  # the examples' invoice INV-1042, USD 1,250.00


def _on_its_day(level: DunningLevel, late_by: int = 0) -> ReminderFacts:
    """The facts of `level` of a ladder on the day it is scheduled (or `late_by` days after, as a catch-up)."""
    return facts(level=level.level, tone=level.tone, today=DUE + timedelta(days=level.offset_days + late_by))


# What a customer reads first, in the subject and in the body, at each level of the default ladder.
DEFAULT_LADDER_READS = {
    1: ("Payment due soon: ", "This is a friendly note ahead of the due date.", "is due on 2026-03-04, in 3 days"),
    2: ("Second reminder: ", "This is our second reminder about this invoice", "is now 1 day overdue"),
    3: ("Third reminder: ", "This is our third reminder about this invoice", "is now 7 days overdue"),
    4: ("Fourth reminder: ", "This is our fourth reminder about this invoice", "is now 14 days overdue"),
    5: ("Fifth reminder: ", "This is our fifth reminder about this invoice", "is now 30 days overdue"),
    6: ("Final notice (sixth reminder): ", "This is our final notice about this invoice", "is now 45 days overdue"),
}


def test_the_default_ladder_has_the_levels_these_tests_read() -> None:
    assert [lv.level for lv in DEFAULT_LADDER.levels] == sorted(DEFAULT_LADDER_READS)


@pytest.mark.parametrize("level", DEFAULT_LADDER.levels, ids=lambda lv: f"level-{lv.level}")
def test_each_default_level_says_which_notice_it_is_with_the_invoice_figures(level: DunningLevel) -> None:
    f = _on_its_day(level)
    d = TemplateDrafter().draft_reminder(f)
    subject_opening, introduction, timing = DEFAULT_LADDER_READS[level.level]
    assert d.subject.startswith(subject_opening)
    assert "INV-1042" in d.subject
    opening = d.body.split("\n\n")[1]  # after "Dear Maple & Finch Bakery,"
    assert opening.startswith(introduction)
    assert "Invoice INV-1042 for USD 1,250.00" in opening
    assert "2026-03-04" in opening and timing in opening
    assert check_reminder(d.subject, d.body, f) == []


@pytest.mark.parametrize("late_by", [0, 2, 5])
def test_no_two_default_levels_share_a_subject_or_a_body(late_by: int) -> None:
    drafts = [TemplateDrafter().draft_reminder(_on_its_day(lv, late_by)) for lv in DEFAULT_LADDER.levels]
    assert len({d.subject for d in drafts}) == len(drafts), [d.subject for d in drafts]
    assert len({d.body for d in drafts}) == len(drafts)
    openings = [d.body.split("\n\n")[1].split(". ")[0] for d in drafts]
    assert len(set(openings)) == len(drafts), openings


def test_a_friendly_level_never_calls_itself_final_and_a_firm_one_never_threatens() -> None:
    for lv in DEFAULT_LADDER.levels:
        d = TemplateDrafter().draft_reminder(_on_its_day(lv))
        text = f"{d.subject}\n{d.body}".lower()
        if lv.tone != "final":
            assert "final" not in text and "collections" not in text
        else:
            assert "final notice" in d.subject.lower() and "collections team" in text


def test_levels_of_a_custom_ladder_of_the_same_kind_are_told_apart_by_their_number() -> None:
    ladder = [
        DunningLevel(level=1, offset_days=-7, tone="friendly"),
        DunningLevel(level=2, offset_days=-1, tone="friendly"),
        DunningLevel(level=3, offset_days=0, tone="firm"),
        DunningLevel(level=4, offset_days=60, tone="final"),
        DunningLevel(level=5, offset_days=90, tone="final"),
    ]
    drafts = [(lv, _on_its_day(lv), TemplateDrafter().draft_reminder(_on_its_day(lv))) for lv in ladder]
    assert [d.subject.split(": ")[0] for _, _, d in drafts] == [
        "Payment due soon",
        "Second reminder, payment due soon",
        "Third reminder, payment due today",
        "Final notice (fourth reminder)",
        "Final notice (fifth reminder)",
    ]
    assert "This is our second reminder, sent ahead of the due date." in drafts[1][2].body
    assert "is due today (2026-03-04)" in drafts[2][2].body
    assert "Please make sure payment reaches us by the due date." in drafts[2][2].body
    for _, f, d in drafts:
        assert check_reminder(d.subject, d.body, f) == []


@pytest.mark.parametrize(("level", "nth"), [(11, "11th"), (12, "12th"), (21, "21st"), (22, "22nd"), (23, "23rd")])
def test_a_level_past_the_tenth_is_numbered_in_figures_the_guardrails_accept(level: int, nth: str) -> None:
    f = facts(level=level, tone="firm")
    d = TemplateDrafter().draft_reminder(f)
    assert d.subject.startswith(f"{nth.capitalize()} reminder: ") and f"our {nth} reminder" in d.body
    assert check_reminder(d.subject, d.body, f) == []


def test_the_template_text_has_a_new_version() -> None:
    d = TemplateDrafter().draft_reminder(facts())
    assert (d.drafter, d.prompt_id, d.prompt_version) == ("template", "reminder-template", "2")


@settings(max_examples=200, deadline=None)
@given(reminder_facts(), st.integers(1, 25), st.integers(1, 25))
def test_two_levels_never_share_a_subject_whatever_the_facts(f: ReminderFacts, a: int, b: int) -> None:
    if a == b:
        return
    one = TemplateDrafter().draft_reminder(f.model_copy(update={"level": a}))
    other = TemplateDrafter().draft_reminder(f.model_copy(update={"level": b}))
    assert one.subject != other.subject
    assert one.body != other.body
