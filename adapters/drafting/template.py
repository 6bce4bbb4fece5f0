"""The deterministic drafter: the words are ours, every figure comes straight from the ledger's facts.

Each reminder says which notice it is (a note before the due date, the third reminder, the final notice),
from its level, tone and days past due, so no two levels of a ladder read alike.

It is always there: it answers when no LLM endpoint is configured, and whenever an LLM's text fails its
checks (the text then says why, in `fallback_reason`). Besides reminders it writes the dispute summary
an AR team reads, and keeps invoice lines as they were entered.
"""

from __future__ import annotations

import re

from adapters.drafting.port import DisputeFacts, DisputeSummary, Draft, LineDescriptions, ReminderFacts
from adapters.ledger import InvoiceLine

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def _ordinal(n: int) -> str | None:
    """'third' for 3, '12th' for 12; None for a level below 1 (not a position in a ladder)."""
    if n < 1:
        return None
    if n <= len(_ORDINALS):
        return _ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _when(facts: ReminderFacts) -> str:
    days = facts.days_overdue
    if days < 0:
        return f"is due on {facts.due_date.isoformat()}"
    if days == 0:
        return f"is due today ({facts.due_date.isoformat()})"
    return f"was due on {facts.due_date.isoformat()}"


def _label(facts: ReminderFacts) -> str:
    """Which notice this is, as its subject opens: "Payment due soon" (a note before the due date),
    "Second reminder", "Final notice (sixth reminder)". The level (the reminder's position in the ladder)
    numbers it; the tone and the days to or past the due date say what kind of notice it is."""
    nth = _ordinal(facts.level)
    if facts.tone == "final":
        return f"Final notice ({nth} reminder)" if nth else "Final notice"
    if facts.days_overdue <= 0:
        kind = "payment due soon" if facts.days_overdue < 0 else "payment due today"
        return kind.capitalize() if facts.level <= 1 or nth is None else f"{nth.capitalize()} reminder, {kind}"
    if nth is None:
        return "Payment reminder"
    return f"{nth.capitalize()} reminder"


def _subject(facts: ReminderFacts) -> str:
    number, amount, days = facts.invoice_number, str(facts.amount_due), facts.days_overdue
    if days <= 0:
        tail = f"invoice {number} for {amount} {_when(facts)}"
    elif facts.tone == "final":
        tail = f"invoice {number}, {amount} overdue"
    elif facts.tone == "firm":
        tail = f"invoice {number} is {_days(days)} overdue, {amount} outstanding"
    else:
        tail = f"invoice {number} {_when(facts)}"
    return f"{_label(facts)}: {tail}"


def _introduction(facts: ReminderFacts) -> str:
    """The body's first sentence: which notice this is, in words a customer reads as its place in line."""
    nth = _ordinal(facts.level)
    ours = f"our {nth} reminder" if nth else "a reminder"
    days = facts.days_overdue
    if facts.tone == "final":
        return "This is our final notice about this invoice" + (f" ({ours})." if nth else ".")
    if days <= 0:
        moment = "ahead of the due date" if days < 0 else "on the due date"
        if facts.level <= 1 or nth is None:
            note = "a friendly note" if facts.tone == "friendly" else "a note"
            return f"This is {note} {moment}."
        return f"This is {ours}, sent {moment}."
    return f"This is {ours} about this invoice, now that its due date has passed."


def _situation(facts: ReminderFacts) -> str:
    """The figures (invoice, amount, due date, days to or past it) and what we ask, in the level's tone."""
    days = facts.days_overdue
    stated = f"Invoice {facts.invoice_number} for {facts.amount_due} {_when(facts)}"
    if days < 0:
        stated += f", in {_days(-days)}."
    elif days == 0:
        stated += "."
    else:
        stated += f" and is now {_days(days)} overdue."
    if facts.tone == "final":
        ask = "It remains unpaid. If we do not receive payment, the account will be passed to our collections team."
    elif facts.tone == "firm":
        ask = (
            "This amount is still outstanding. Please arrange payment now."
            if days > 0
            else "Please make sure payment reaches us by the due date."
        )
    elif days > 0:
        ask = "It may simply have been missed, so the details are below."
    else:
        ask = "Nothing is late yet; the details are below to make paying easy."
    return f"{stated} {ask}"


def _late_fee(facts: ReminderFacts) -> str:
    """A posted late fee, named by its own invoice; nothing when none is posted (the guardrail forbids it then)."""
    if facts.late_fee is None or not facts.late_fee_invoice or not facts.allow_late_fee_mention:
        return ""
    return (f"A late payment charge of {facts.late_fee} has been added to your account as invoice "
            f"{facts.late_fee_invoice}; please pay it with this one.\n\n")


class TemplateDrafter:
    """Deterministic reminders: each level says which notice it is, figures straight from the ledger."""

    prompt_id = "reminder-template"
    prompt_version = "2"

    def draft_reminder(self, facts: ReminderFacts, fallback_reason: str | None = None) -> Draft:
        body = (
            f"Dear {facts.customer_name},\n\n{_introduction(facts)} {_situation(facts)}\n\n"
            f"{_late_fee(facts)}"
            f"How to pay: {facts.how_to_pay}\n\n"
            "If you have already paid, thank you, and please ignore this message. "
            "If something on the invoice is wrong, reply to this email and we will look into it.\n\n"
            f"Kind regards,\n{facts.company_name} accounts receivable"
        )
        return Draft(
            subject=_subject(facts),
            body=body,
            drafter="template",
            prompt_id=self.prompt_id,
            prompt_version=self.prompt_version,
            fallback_reason=fallback_reason,
            facts_used=[facts.invoice_number, str(facts.amount_due), facts.due_date.isoformat()],
        )


def template_dispute_summary(facts: DisputeFacts, fallback_reason: str | None = None) -> DisputeSummary:
    """The deterministic summary: the ledger's figures and the customer's words, quoted."""
    paid = "; ".join(f"{p.amount} on {p.date.isoformat()}" for p in facts.payments) or "no payments recorded"
    message = re.sub(r"\s+", " ", facts.customer_message).strip().replace('"', "'")
    return DisputeSummary(
        summary=(
            f"{facts.customer_name} disputes invoice {facts.invoice_number} (total {facts.invoice_total}, "
            f"{facts.amount_due} outstanding, due {facts.due_date.isoformat()}). The ledger shows {paid}. "
            f'The customer wrote: "{message}"'
        ),
        customer_claim=f'"{message}"',
        open_questions=["Which part of the invoice is disputed, and is the rest undisputed?"],
        drafter="template",
        prompt_id="dispute-summary-template",
        prompt_version="1",
        fallback_reason=fallback_reason,
    )


def lines_as_entered(lines: list[InvoiceLine], fallback_reason: str | None = None) -> LineDescriptions:
    """The lines' own descriptions, as whoever entered them wrote them."""
    return LineDescriptions(
        descriptions=[x.description for x in lines],
        drafter="template",
        prompt_id="invoice-lines-as-entered",
        prompt_version="1",
        fallback_reason=fallback_reason,
    )
