"""The reminder guardrails: every wrong figure, forbidden offer, wrong tone, missing element and bad length
is caught, in every common way of writing it, and correct drafts pass."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.drafting.guardrails import VIOLATION_KINDS, Violation, check_reminder
from adapters.drafting.port import ReminderFacts
from adapters.ledger import Money
from tests.adapters.drafting.examples import FACTS, HOW_TO_PAY, facts

FACT_DATES = {FACTS.issue_date, FACTS.due_date, FACTS.today}


def draft(
    extra: str = "",
    *,
    amount: str = "USD 1,250.00",
    due: str = "2026-03-04",
    number: str = "INV-1042",
    how_to_pay: str = HOW_TO_PAY,
    subject: str | None = None,
) -> tuple[str, str]:
    body = (
        "Dear Maple & Finch Bakery,\n\n"
        f"Invoice {number} for {amount} was due on {due} and is now 14 days overdue. {extra}\n\n"
        f"How to pay: {how_to_pay}\n\n"
        "If you have already paid, thank you, and please disregard this message.\n\n"
        "Kind regards,\nNorthwind Traders Ltd accounts receivable"
    )
    return (subject if subject is not None else f"Invoice {number} is overdue"), body


def check(subject_body: tuple[str, str], on: ReminderFacts = FACTS) -> list[Violation]:
    return check_reminder(subject_body[0], subject_body[1], on)


def kinds(violations: list[Violation]) -> set[str]:
    return {v.kind for v in violations}


# --- correct drafts pass -------------------------------------------------------------------------


def test_a_correct_draft_passes() -> None:
    assert check(draft()) == []


# --- amounts ------------------------------------------------------------------------------------

RIGHT_AMOUNTS_USD = [
    "1,250.00",
    "1250",
    "$1,250",
    "1.250,00",
    "USD 1250.00",
    "$1,250.00",
    "1250.00 USD",
    "US$1,250.00",
    "1 250,00",
    "USD 1,250",
    "1,250.00 dollars",
]


@pytest.mark.parametrize("written", RIGHT_AMOUNTS_USD)
def test_the_amount_due_in_any_common_format_passes(written: str) -> None:
    assert check(draft(amount=written)) == []


@pytest.mark.parametrize("written", ["€1.250", "1.250,00 €", "EUR 1,250.00", "€1,250", "1250 euros"])
def test_euro_amounts_in_any_common_format_pass(written: str) -> None:
    assert check(draft(amount=written), facts(amount_due=Money.of("1250", "EUR"), total=Money.of("1250", "EUR"))) == []


WRONG_AMOUNTS = [
    "1,300.00",
    "1300",
    "$1,300",
    "1.300,00",
    "USD 1300.00",
    "USD 1,250.01",
    "USD 125.00",
    "USD 12,500.00",
    "1 300,00",
    "$1.3k",
    "USD 1.3 thousand",
    "€1.250",
    "£1,250.00",
    "EUR 1,250.00",
    "1,250.00 CAD",
    "one thousand two hundred and fifty dollars",
]


@pytest.mark.parametrize("written", WRONG_AMOUNTS)
def test_a_wrong_amount_in_any_format_is_rejected(written: str) -> None:
    violations = check(draft(amount=written))
    assert "amount" in kinds(violations), violations
    assert any(v.kind == "missing_element" and "amount due" in v.detail for v in violations)


@pytest.mark.parametrize("written", WRONG_AMOUNTS)
def test_a_wrong_amount_next_to_the_right_one_is_rejected(written: str) -> None:
    violations = check(draft(f"Your balance is {written}."))
    assert kinds(violations) >= {"amount"}, violations


def test_the_rejection_says_which_amount_and_which_fact() -> None:
    violations = check(draft(amount="1,300.00"))
    assert violations[0] == Violation(
        kind="amount", detail="named amount 1,300.00 which is not the amount due 1,250.00"
    )


def test_a_partial_payment_allows_total_and_paid_amounts_only() -> None:
    partial = facts(total=Money.of("2000.00", "USD"))
    ok = draft("That is what remains of the invoice total of USD 2,000.00 after your payment of $750.")
    assert check(ok, partial) == []
    violations = check(draft("We received USD 700.00."), partial)
    assert [v.detail for v in violations] == [
        "named amount 700.00 which is neither the amount due 1,250.00 nor the invoice total 2,000.00 "
        "nor the amount already paid 750.00"
    ]


@pytest.mark.parametrize(
    ("written", "currency", "amount"),
    [("¥125,000", "JPY", "125000"), ("JPY 125000", "JPY", "125000"), ("KWD 1.250", "KWD", "1.250")],
)
def test_currencies_with_zero_or_three_decimals(written: str, currency: str, amount: str) -> None:
    money = Money.of(amount, currency)
    assert check(draft(amount=written), facts(amount_due=money, total=money)) == []


_WRONG_FORMATS = [
    lambda v: f"{v:,.2f}",
    lambda v: f"${v:,.2f}",
    lambda v: f"USD {v:.2f}",
    lambda v: f"{v:.2f} USD",
    lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "."),  # 1.250,00
    lambda v: f"US$ {v:,.2f}",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 10**9), st.integers(0, len(_WRONG_FORMATS) - 1), st.booleans())
def test_any_wrong_amount_in_any_format_is_rejected(cents: int, fmt: int, in_body: bool) -> None:
    assume(cents != 125_000)
    value = Decimal(cents) / 100
    written = _WRONG_FORMATS[fmt](value)
    subject_body = draft(f"The balance is {written}.") if in_body else draft(amount=written)
    assert "amount" in kinds(check(subject_body)), written


@settings(max_examples=200, deadline=None)
@given(st.integers(100, 10**7))
def test_any_wrong_whole_amount_written_bare_is_rejected(whole: int) -> None:
    assume(whole not in (1250, 2026, 12345678))
    for written in (str(whole), f"${whole:,}", f"{whole:,}"):
        assert "amount" in kinds(check(draft(amount=written))), written


# --- dates --------------------------------------------------------------------------------------

RIGHT_DATES = [
    "2026-03-04",
    "2026/03/04",
    "4 March 2026",
    "March 4, 2026",
    "Mar 4",
    "4 Mar",
    "March 4th",
    "the 4th of March",
    "Wednesday, March 4, 2026",
    "4th March 2026",
    "March 2026",
]


@pytest.mark.parametrize("written", RIGHT_DATES)
def test_a_fact_date_in_any_common_format_passes(written: str) -> None:
    assert check(draft(due=written)) == []


@pytest.mark.parametrize(
    ("written", "order"), [("04/03/2026", "DMY"), ("4.3.2026", "DMY"), ("03/04/2026", "MDY"), ("3/4/26", "MDY")]
)
def test_numeric_dates_read_in_the_customers_order(written: str, order: str) -> None:
    assert check(draft(due=written), facts(date_order=order)) == []


WRONG_DATES = [
    "2026-03-05",
    "2026-04-03",
    "5 March 2026",
    "March 5, 2026",
    "4 March 2025",
    "Mar 5",
    "5 Mar",
    "the 5th",
    "April 2026",
    "2026/03/05",
    "31 February 2026",
]


@pytest.mark.parametrize("written", WRONG_DATES)
def test_a_wrong_date_in_any_format_is_rejected(written: str) -> None:
    assert "date" in kinds(check(draft(due=written))), written


@pytest.mark.parametrize(("written", "order"), [("05/03/2026", "DMY"), ("03/05/2026", "MDY"), ("5.3.2026", "DMY")])
def test_a_wrong_numeric_date_is_rejected_in_the_customers_order(written: str, order: str) -> None:
    assert "date" in kinds(check(draft(due=written), facts(date_order=order)))


@pytest.mark.parametrize("written", ["04/03/2026", "03/04/2026", "4/3"])
def test_a_numeric_date_that_reads_two_ways_is_refused_when_the_order_is_unknown(written: str) -> None:
    violations = check(draft(due=written))
    assert [v.kind for v in violations] == ["date"]
    assert "reads two ways" in violations[0].detail


@pytest.mark.parametrize(
    "deadline",
    [
        "Please pay within 7 days.",
        "Please pay by Friday.",
        "Please pay by tomorrow.",
        "Please pay by the end of the month.",
        "Please pay in three weeks.",
        "Please pay within 10 business days.",
        "Please pay within a week.",
        "Please pay by the 20th.",
    ],
)
def test_a_deadline_not_in_the_facts_is_rejected(deadline: str) -> None:
    assert "date" in kinds(check(draft(deadline))), deadline


@pytest.mark.parametrize(
    "sentence",
    ["It was issued on 2 February 2026 on 30-day terms.", "Today is Wednesday 18 March.", "That is 2 weeks overdue."],
)
def test_periods_and_weekdays_that_are_facts_pass(sentence: str) -> None:
    assert check(draft(sentence)) == []


@settings(max_examples=400, deadline=None)
@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 4))
def test_any_wrong_full_date_in_any_format_is_rejected(day: date, fmt: int) -> None:
    assume(day not in FACT_DATES)
    written = [
        day.isoformat(),
        f"{day.day} {day:%B %Y}",
        f"{day:%B} {day.day}, {day.year}",
        f"{day:%d/%m/%Y}",
        f"{day:%b} {day.day}, {day.year}",
    ][fmt]
    on = facts(date_order="DMY") if fmt == 3 else FACTS
    assert "date" in kinds(check(draft(due=written), on)), written


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
def test_any_wrong_date_without_a_year_is_rejected(day: date) -> None:
    assume(all((day.month, day.day) != (d.month, d.day) for d in FACT_DATES))
    for written in (f"{day:%b} {day.day}", f"{day.day} {day:%B}"):
        assert "date" in kinds(check(draft(due=written))), written


# --- invoice numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["INV-1042", "inv-1042", "#1042", "no. 1042", "#INV-1042"])
def test_the_invoice_number_in_any_common_form_passes(written: str) -> None:
    assert check(draft(number=written, subject="Invoice INV-1042 is overdue")) == []


WRONG_NUMBERS = [
    "INV-1043",
    "inv-1043",
    "#1043",
    "no. 1043",
    "#INV-1043",
    "INV1043",
    "INV-10420",
    "SI-2026-0042",
    "INV-1042-B",
]


@pytest.mark.parametrize("written", WRONG_NUMBERS)
def test_a_wrong_invoice_number_is_rejected(written: str) -> None:
    assert "invoice_number" in kinds(check(draft(f"This replaces invoice {written}."))), written
    assert "invoice_number" in kinds(check(draft(number=written, subject="Your invoice is overdue")))


def test_the_rejection_names_the_wrong_and_the_right_number() -> None:
    violations = check(draft("See also INV-1043."))
    assert violations == [
        Violation(kind="invoice_number", detail="named invoice number INV-1043 which is not invoice INV-1042")
    ]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 999_999), st.sampled_from(["INV-{n}", "#{n}", "invoice {n}", "INV{n:05d}", "invoice no. {n}"]))
def test_any_other_invoice_number_is_rejected(n: int, shape: str) -> None:
    assume(n != 1042)
    written = shape.format(n=n)
    assert kinds(check(draft(f"This is about {written}."))) & {"invoice_number", "amount"}, written


# Found by hypothesis (n=104, shape 'INV-{n}'): the real number stands in the payment instructions, and a
# piece cut out of it passed as "re-spaced payment details". Numbers match as whole tokens only.
@pytest.mark.parametrize("written", ["INV-104", "INV-10", "NV-1042", "V-1042", "invoice 345678", "invoice 123456"])
def test_a_prefix_or_suffix_of_the_invoice_or_account_number_is_rejected(written: str) -> None:
    assert kinds(check(draft(f"This is about {written}."))) & {"invoice_number", "amount"}, written
    assert "invoice_number" in kinds(check(draft(number=written, subject="Your invoice is overdue"))), written


def test_payment_details_may_still_be_re_spaced_as_whole_tokens() -> None:
    f = facts(how_to_pay="Bank transfer, IBAN GB29 NWBK 6016 1331 9268 19, reference INV-1042")
    route = "Bank transfer to IBAN GB29NWBK60161331926819 or GB29 NWBK60161331 926819, reference INV-1042"
    assert check(draft(how_to_pay=route), f) == []
    # a piece cut out of the IBAN is a figure nobody gave the drafter
    assert kinds(check(draft("Or IBAN B29NWBK6016.", how_to_pay=route), f)) & {"invoice_number", "amount"}


def test_a_pure_digit_invoice_number_is_not_confused_with_an_amount() -> None:
    f = facts(invoice_number="1042", how_to_pay="Bank transfer, reference 1042")
    assert check(draft(number="1042", how_to_pay="Bank transfer, reference 1042"), f) == []
    assert "invoice_number" in kinds(check(draft("See invoice 1043.", how_to_pay="Bank transfer, reference 1042"), f))


# --- forbidden offers and threats ---------------------------------------------------------------

FORBIDDEN = {
    "allow_discount": [
        "We can offer a discount for prompt payment.",
        "As a goodwill gesture we will reduce the balance.",
        "We could knock something off the price.",
        "You may qualify for a rebate.",
    ],
    "allow_waiver": [
        "We are happy to waive the remaining balance.",
        "We can write off the difference.",
        "We will cancel the invoice if you prefer.",
        "You don't need to pay the shipping part.",
        "We will refund the delivery charge.",
    ],
    "allow_payment_plan": [
        "We can set up a payment plan.",
        "You may pay in instalments.",
        "We can extend the due date.",
        "We can offer a grace period.",
        "Partial payments are welcome.",
    ],
    "allow_late_fee_mention": [
        "A late fee will be added.",
        "Interest will accrue on the balance.",
        "Statutory interest may be claimed.",
        "A penalty applies to overdue accounts.",
    ],
    "allow_legal_mention": [
        "We will take legal action.",
        "We will refer the matter to our solicitors.",
        "We may take you to court.",
        "We will report this to the credit bureau.",
        "We may file a small claims case.",
    ],
}


@pytest.mark.parametrize(
    ("flag", "sentence"), [(flag, sentence) for flag, sentences in FORBIDDEN.items() for sentence in sentences]
)
def test_offers_and_threats_the_policy_does_not_allow_are_rejected(flag: str, sentence: str) -> None:
    on = facts(tone="final")
    violations = check(draft(sentence), on)
    assert kinds(violations) == {"forbidden_language"}, violations
    assert f"level {on.level} does not allow" in violations[0].detail
    assert check(draft(sentence), on.model_copy(update={flag: True})) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "This is a courtesy reminder.",
        "We are sorry for any issue this causes.",
        "In the interest of clarity, the invoice is attached.",
        "Thank you for your business over the years.",
    ],
)
def test_innocent_words_are_not_mistaken_for_offers(sentence: str) -> None:
    assert check(draft(sentence)) == []


def test_a_link_that_is_not_in_the_payment_instructions_is_rejected() -> None:
    violations = check(draft("You can also pay at https://pay-northwind.example.net/quick."))
    assert [v.kind for v in violations] == ["forbidden_language"]
    assert "pay-northwind.example.net" in violations[0].detail
    assert kinds(check(draft("Questions? Write to billing@northwind-payments.example."))) == {"forbidden_language"}


# --- tone ---------------------------------------------------------------------------------------

TONE_BREAKS = [
    ("friendly", "This is urgent."),
    ("friendly", "Please pay immediately."),
    ("friendly", "Failure to pay will have consequences."),
    ("friendly", "This is your final notice."),
    ("friendly", "Otherwise we will pass the account to collections."),
    ("firm", "This is your final notice."),
    ("firm", "We will pass the account to our collections team."),
    ("firm", "No rush, pay at your convenience."),
    ("final", "No worries, take your time."),
    ("final", "PAY THIS NOW PLEASE."),
    ("firm", "Pay now!!"),
]


@pytest.mark.parametrize(("tone", "sentence"), TONE_BREAKS)
def test_a_tone_that_does_not_fit_the_level_is_rejected(tone: str, sentence: str) -> None:
    violations = check(draft(sentence), facts(tone=tone))
    assert kinds(violations) == {"tone"}, violations


def test_a_final_reminder_may_mention_collections() -> None:
    assert check(draft("Otherwise the account will be passed to our collections team."), facts(tone="final")) == []


# --- required elements, placeholders, length -------------------------------------------------------


def test_a_draft_without_the_amount_due_is_rejected() -> None:
    violations = check(draft(amount="the outstanding balance"))
    assert violations == [Violation(kind="missing_element", detail="did not state the amount due USD 1,250.00")]


def test_a_draft_without_the_invoice_number_is_rejected() -> None:
    violations = check(draft(number="from February", subject="Your invoice is overdue"))
    assert [v.kind for v in violations] == ["missing_element"]
    assert "invoice number INV-1042" in violations[0].detail


def test_a_draft_without_how_to_pay_is_rejected() -> None:
    violations = check(draft(how_to_pay="the usual way"))
    assert [v.kind for v in violations] == ["missing_element"]
    assert "how to pay" in violations[0].detail


def test_the_payment_route_may_be_reformatted_but_not_dropped() -> None:
    iban = "Bank transfer, IBAN GB29 NWBK 6016 1331 9268 19, reference INV-1042"
    f = facts(how_to_pay=iban)
    assert check(draft(how_to_pay="transfer to IBAN GB29NWBK60161331926819 quoting INV-1042"), f) == []
    assert "missing_element" in kinds(check(draft(how_to_pay="transfer to IBAN GB29 NWBK 6016, reference INV-1042"), f))


@pytest.mark.parametrize("placeholder", ["[Your Name]", "{customer_name}", "<Company>", "[[CUSTOMER]]"])
def test_an_unfilled_placeholder_is_rejected(placeholder: str) -> None:
    violations = check(draft(f"Best, {placeholder}"))
    assert kinds(violations) == {"missing_element"}, violations


@pytest.mark.parametrize(
    ("subject", "extra", "expected"),
    [
        ("", "", "empty subject"),
        ("Invoice INV-1042\nis overdue", "", "more than one line"),
        ("Invoice INV-1042 " + "is really overdue " * 8, "", "over 120"),
        ("Invoice INV-1042 is overdue", "Thank you for your prompt attention. " * 70, "over 2500"),
    ],
)
def test_length_bounds(subject: str, extra: str, expected: str) -> None:
    violations = check((subject, draft(extra)[1]))
    assert [v.kind for v in violations] == ["length"] and expected in violations[0].detail, violations


def test_a_body_that_is_too_short_is_rejected() -> None:
    f = facts(how_to_pay="Pay at https://pay.northwind.example/x")
    violations = check_reminder("Invoice INV-1042", "INV-1042: USD 1,250.00. Pay at https://pay.northwind.example/x", f)
    assert [v.kind for v in violations] == ["length"]


# --- other figures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence", ["It is one of 3 open invoices.", "We have called you 5 times.", "This is our 4th reminder."]
)
def test_a_figure_nobody_gave_the_drafter_is_rejected(sentence: str) -> None:
    assert "amount" in kinds(check(draft(sentence))), sentence


def test_figures_from_the_payment_history_may_be_quoted() -> None:
    f = facts(history_summary="Paid 11 of the last 12 invoices on time.")
    assert check(draft("You paid 11 of your last 12 invoices on time, so this is probably an oversight."), f) == []


def test_a_rate_is_rejected() -> None:
    assert "amount" in kinds(check(draft("Interest runs at 1.5% a month.")))


def test_every_kind_is_a_declared_kind() -> None:
    everything = draft(
        "Pay USD 99.00 by 2026-05-01 for INV-9 and get a discount. FINAL NOTICE, PAY NOW!! [Name]",
        how_to_pay="somehow",
    )
    found = check((everything[0] * 10, everything[1]), facts(tone="friendly"))
    assert kinds(found) <= set(VIOLATION_KINDS)
    assert kinds(found) == set(VIOLATION_KINDS)


# --- the ways a model gets a figure past a careless check ----------------------------------------

SLIPPERY = [
    ("amount", {"amount": "EUR1250.00"}),
    ("amount", {"amount": "USD1,300.00"}),
    ("amount", {"amount": "**$1,300**"}),
    ("amount", {"amount": "$ 1,300"}),
    ("amount", {"amount": "1,300.-"}),
    ("amount", {"amount": "USD \uff11,\uff13\uff10\uff10.\uff10\uff10"}),  # full-width digits
    ("amount", {"extra": "That is twelve hundred fifty dollars."}),
    ("amount", {"extra": "We close the books in Q3."}),
    ("amount", {"extra": "Or call us on 020 7946 0000."}),
    ("invoice_number", {"number": "INV 1043", "subject": "Your invoice is overdue"}),
    ("invoice_number", {"extra": "Or pay to IBAN DE89 3704 0044 0532 0130 00."}),
    ("date", {"due": "the fifth of March"}),
    ("date", {"due": "March fifth"}),
    ("date", {"due": "2026-3-5"}),
    ("date", {"due": "Mar. 5th, 2026"}),
    ("date", {"extra": "Please pay by the end of April."}),
    ("date", {"extra": "Please pay by close of business."}),
    ("date", {"extra": "Please pay in 48 hours."}),
    ("forbidden_language", {"extra": "We are open to negotiate."}),
    ("forbidden_language", {"extra": "You could split the payment."}),
    ("forbidden_language", {"how_to_pay": HOW_TO_PAY.replace("i/INV-1042", "i/INV-1043")}),
    ("forbidden_language", {"how_to_pay": HOW_TO_PAY.replace("northwind.example", "northwind-pay.example")}),
    ("missing_element", {"how_to_pay": HOW_TO_PAY.replace("12345678", "12345679")}),
]


@pytest.mark.parametrize(("kind", "change"), SLIPPERY, ids=[str(c) for _, c in SLIPPERY])
def test_slippery_figures_are_caught(kind: str, change: dict[str, str]) -> None:
    change = dict(change)
    extra = change.pop("extra", "")
    assert kind in kinds(check(draft(extra, **change))), change


@pytest.mark.parametrize(
    "change",
    [
        {"number": "INV 1042", "subject": "Your invoice is overdue"},
        {"number": "INV1042", "subject": "Your invoice is overdue"},
        {"due": "the fourth of March"},
        {"extra": "Your March statement lists it too."},
        {"extra": "You may pay by card."},
        {"amount": "1,250.00 USD"},
    ],
)
def test_the_same_facts_written_differently_pass(change: dict[str, str]) -> None:
    change = dict(change)
    extra = change.pop("extra", "")
    assert check(draft(extra, **change)) == []


# Found by hypothesis (invoice number "16", amount due USD 1.16): the number was masked inside the amount's
# decimals, so the draft seemed to name an amount of 1 and no amount due at all.
def test_a_numeric_invoice_number_is_not_read_inside_an_amounts_decimals() -> None:
    from adapters.drafting.template import TemplateDrafter

    f = facts(invoice_number="16", amount_due=Money(amount=Decimal("1.16"), currency="USD"),
              total=Money(amount=Decimal("2.31"), currency="USD"), how_to_pay="Pay online at https://pay.example.com/i/16")
    written = TemplateDrafter().draft_reminder(f)
    assert "USD 1.16" in written.body
    assert check_reminder(written.subject, written.body, f) == []


# Found by hypothesis too (invoice number "10", due and today 2024-02-10): masked inside the date.
def test_a_numeric_invoice_number_is_not_read_inside_a_date() -> None:
    from adapters.drafting.template import TemplateDrafter

    f = facts(invoice_number="10", amount_due=Money(amount=Decimal("1"), currency="USD"),
              total=Money(amount=Decimal("1"), currency="USD"), issue_date=date(2024, 1, 11),
              due_date=date(2024, 2, 10), today=date(2024, 2, 10), how_to_pay="Pay online at https://pay.example.com/i/10")
    written = TemplateDrafter().draft_reminder(f)
    assert "2024-02-10" in written.body
    assert check_reminder(written.subject, written.body, f) == []
