"""Deciding a reply's kind, date and confidence: precedence, negation, mixed signals, hostile input, and the
seam where a second opinion (a language model) may be consulted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.replies import (
    PRECEDENCE,
    REVIEW_THRESHOLD,
    Classification,
    Reply,
    classify,
    classify_with_second_opinion,
    fact_checked,
)
from activities.replies.plain_text import MAX_TEXT_CHARS
from tests.activities.replies.mail import REMINDER_EN, gmail

THURSDAY = date(2026, 3, 5)
RE = "Re: Payment reminder: invoice INV-1042 is overdue"


def read(body: str, subject: str = RE, received: date = THURSDAY) -> Classification:
    return classify(Reply(subject=subject, body=body), received)


# --- precedence and mixed signals ---------------------------------------------------------------------------

def test_a_bounce_wins_even_with_the_reminder_inside_it() -> None:
    body = f"Delivery has failed to these recipients:\njane@globex.example\n\n{REMINDER_EN}"
    assert read(body, subject="Undeliverable: Payment reminder").kind == "bounce"


def test_mail_from_the_mail_system_is_a_bounce_unless_it_reports_a_delay() -> None:
    failed = Reply(subject="Warning", body="The following message could not be processed.",
                   sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>")
    assert classify(failed, THURSDAY).kind == "bounce"
    delayed = Reply(subject="Delivery Status Notification (Delay)", sender="MAILER-DAEMON@mx.acme.example",
                    body="Delivery to the following recipient has been delayed: jane@globex.example. "
                         "Gmail will retry for 46 more hours.")
    assert classify(delayed, THURSDAY).kind == "other"


def test_an_out_of_office_names_a_contact_without_being_a_wrong_contact() -> None:
    verdict = read("I am out of the office until 9 March. For urgent matters please contact ap@globex.example.",
                   subject="Automatic reply: Payment reminder")
    assert (verdict.kind, verdict.date) == ("out_of_office", date(2026, 3, 9))


def test_equally_strong_signals_follow_the_precedence() -> None:
    assert read("Unsubscribe me. We dispute this invoice.").kind == "unsubscribe"
    assert read("We dispute this invoice. We paid the other one yesterday.").kind == "dispute"
    assert read("We paid yesterday. We will pay the next one on Friday.").kind == "paid"


def test_a_strong_signal_beats_a_weak_one_of_a_higher_kind() -> None:
    verdict = read("Please stop sending these reminders, we paid on 2 March.")
    assert (verdict.kind, verdict.date) == ("paid", date(2026, 3, 2))


def test_a_promise_on_a_condition_is_the_condition() -> None:
    assert read("We will pay once you fix the wrong amount.").kind == "dispute"
    assert read("Send us a copy of the invoice and we will pay it.").kind == "copy_request"
    assert read("Could we pay in three instalments?").kind == "plan_request"


def test_a_part_payment_with_a_promise_for_the_rest_is_a_promise_dated_for_the_rest() -> None:
    verdict = read("We paid half and will pay the rest on Friday.")
    assert (verdict.kind, verdict.date) == ("promise", date(2026, 3, 6))


@pytest.mark.parametrize(
    ("body", "not_kind"),
    [
        ("We have not paid yet.", "paid"),
        ("The payment hasn't been made.", "paid"),
        ("Wir haben die Rechnung noch nicht bezahlt.", "paid"),
        ("Nous n'avons pas encore payé.", "paid"),
        ("Todavía no hemos pagado.", "paid"),
        ("We are not disputing anything.", "dispute"),
        ("I'm not sure whether this was paid.", "paid"),
        ("We won't pay until you send the credit note.", "promise"),
    ],
)
def test_negated_and_hypothetical_phrases_do_not_count(body: str, not_kind: str) -> None:
    assert read(body).kind != not_kind


def test_haven_t_received_the_invoice_is_a_request_for_a_copy() -> None:
    assert read("We haven't received the invoice.").kind == "copy_request"


def test_the_reminder_s_own_subject_is_not_the_customer_s_words() -> None:
    assert read("", subject="Re: Payment overdue - already paid? Please pay now").kind == "other"
    assert read("", subject="Invoice INV-1042 paid").kind == "paid"  # a subject the customer wrote


def test_a_date_introduced_as_the_invoice_s_own_is_not_the_payment_date() -> None:
    verdict = read("Invoice INV-1042 dated 1 March was paid on 3 March.")
    assert (verdict.kind, verdict.date) == ("paid", date(2026, 3, 3))


# --- confidence --------------------------------------------------------------------------------------------

def test_strong_phrase_and_date_is_high_confidence() -> None:
    for body in ("We paid this on Monday.", "We will pay on Friday.", "Payment was sent yesterday."):
        verdict = read(body)
        assert verdict.date is not None and verdict.confidence >= 0.85, body


def test_a_promise_without_a_usable_date_goes_to_a_person() -> None:
    assert read("We will pay soon.").confidence < REVIEW_THRESHOLD
    unplaced = read("We will pay on 31 February.")
    assert (unplaced.kind, unplaced.date) == ("promise", None)
    assert unplaced.confidence < REVIEW_THRESHOLD


def test_a_date_the_rules_cannot_place_lowers_confidence() -> None:
    placed, unplaced = read("We paid on 2 March."), read("We paid on 10 March.")  # received 5 March
    assert unplaced.date is None
    assert unplaced.confidence < placed.confidence - 0.2


def test_nothing_recognisable_is_other_with_low_confidence() -> None:
    for body in ("", "Lorem ipsum dolor sit amet.", "👍", "我们昨天付款了"):
        verdict = read(body)
        assert verdict.kind == "other" and verdict.confidence <= 0.3, body


def test_a_bare_question_mark_is_a_weak_question() -> None:
    bare, asked = read("INV-1042??"), read("Is the late fee included in this amount?")
    assert bare.kind == asked.kind == "question"
    assert bare.confidence < REVIEW_THRESHOLD <= asked.confidence


# --- hostile and odd input ---------------------------------------------------------------------------------

def test_html_bodies_are_read_as_text() -> None:
    body = ("<html><head><style>.x{color:red}</style></head><body><p>We&nbsp;will&nbsp;pay on "
            "<b>Friday</b> &amp; send the remittance.</p></body></html>")
    assert (read(body).kind, read(body).date) == ("promise", date(2026, 3, 6))


def test_broken_characters_and_emoji_do_not_stop_the_reading() -> None:
    assert read("We paid yesterday \ud83d\udc4d \ud800").date == date(2026, 3, 4)
    assert read("Paid ✅ on 3/3 🙏").date == date(2026, 3, 3)


def test_work_is_bounded_to_the_top_of_a_huge_body() -> None:
    late = "x " * MAX_TEXT_CHARS + "We paid yesterday."
    assert read(late).kind == "other"  # past the bound: not read at all
    early = "We paid yesterday.\n" + "lorem ipsum " * 100_000
    assert read(early).date == date(2026, 3, 4)


def test_the_same_reply_always_reads_the_same() -> None:
    body = gmail("We paid half and will pay the rest on Friday.")
    assert {read(body) for _ in range(3)} == {read(body)}


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(st.characters(blacklist_categories=()), max_size=80),
    body=st.text(st.characters(blacklist_categories=()), max_size=600),
    received=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
)
def test_any_input_gives_a_valid_classification(subject: str, body: str, received: date) -> None:
    verdict = classify(Reply(subject=subject, body=body), received)
    assert verdict.kind in PRECEDENCE
    assert 0.0 <= verdict.confidence <= 1.0


PHRASES = ["we paid", "we will pay", "payment was sent", "we'll settle it", "I am out of the office until",
           "wir haben überwiesen", "nous paierons", "back on", "the amount is wrong", "pagaremos"]
WHEN = ["today", "tomorrow", "yesterday", "on Friday", "next Monday", "last Tuesday", "the 3rd", "the 28th",
        "end of the month", "in 2 weeks", "3 days ago", "12 March", "03/04", "2026-03-10", "1. April"]


@settings(max_examples=200, deadline=None)
@given(phrase=st.sampled_from(PHRASES), when=st.sampled_from(WHEN),
       received=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_dates_lie_on_the_side_the_kind_requires(phrase: str, when: str, received: date) -> None:
    verdict = classify(Reply(subject=RE, body=f"{phrase} {when}."), received)
    if verdict.date is None:
        return
    assert verdict.kind in ("paid", "promise", "out_of_office")
    if verdict.kind == "paid":
        assert received - timedelta(days=730) <= verdict.date <= received
    else:
        assert received <= verdict.date <= received + timedelta(days=730)
    # Whatever date the rules give, the text names it: it passes the check a second opinion must pass.
    assert fact_checked(verdict, Reply(subject=RE, body=f"{phrase} {when}."), received) is not None


# --- the second opinion (a language model, where configured) ------------------------------------------------

class FakeOpinion:
    """Answers with a fixed classification and counts how often it was asked."""

    def __init__(self, answer: Classification | None) -> None:
        self.answer = answer
        self.asked = 0

    def __call__(self, reply: Reply, today: date, rules: Classification) -> Classification | None:
        self.asked += 1
        return self.answer


def test_a_sure_rule_is_not_second_guessed() -> None:
    opinion = FakeOpinion(Classification(kind="dispute", confidence=0.99))
    verdict = classify_with_second_opinion(Reply(subject=RE, body="We paid on Monday."), THURSDAY, opinion)
    assert (verdict.kind, verdict.classifier, opinion.asked) == ("paid", "rules", 0)


def test_an_unsure_rule_takes_a_checked_surer_opinion() -> None:
    reply = Reply(subject=RE, body="Hmm, we'll see about that, maybe the 20th works for us.")
    assert classify(reply, THURSDAY).confidence < REVIEW_THRESHOLD
    opinion = FakeOpinion(Classification(kind="promise", date=date(2026, 3, 20), confidence=0.8))
    verdict = classify_with_second_opinion(reply, THURSDAY, opinion)
    assert (verdict.kind, verdict.date, verdict.classifier, opinion.asked) == (
        "promise", date(2026, 3, 20), "second_opinion", 1)


@pytest.mark.parametrize(
    "claim",
    [
        Classification(kind="promise", date=date(2026, 3, 21), confidence=0.9),  # a date the text does not name
        Classification(kind="promise", date=date(2026, 2, 20), confidence=0.9),  # a promise in the past
        Classification(kind="dispute", date=date(2026, 3, 20), confidence=0.9),  # a date on an undated kind
    ],
)
def test_an_opinion_that_states_facts_not_in_the_reply_is_refused(claim: Classification) -> None:
    reply = Reply(subject=RE, body="Hmm, we'll see about that, maybe the 20th works for us.")
    verdict = classify_with_second_opinion(reply, THURSDAY, FakeOpinion(claim))
    assert verdict.classifier == "rules"
    assert fact_checked(claim, reply, THURSDAY) is None
