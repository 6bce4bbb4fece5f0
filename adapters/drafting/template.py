"""The deterministic drafter: the words are ours, every figure comes straight from the ledger's facts.

It is always there: it answers when no LLM endpoint is configured, and whenever an LLM's text fails its
checks (the text then says why, in `fallback_reason`). Besides reminders it writes the dispute summary
an AR team reads, and keeps invoice lines as they were entered.
"""

from __future__ import annotations

import re

from adapters.drafting.port import DisputeFacts, DisputeSummary, Draft, LineDescriptions, ReminderFacts
from adapters.ledger import InvoiceLine


def _when(facts: ReminderFacts) -> str:
    days = facts.days_overdue
    if days < 0:
        return f"is due on {facts.due_date.isoformat()}"
    if days == 0:
        return f"is due today ({facts.due_date.isoformat()})"
    return f"was due on {facts.due_date.isoformat()}"


class TemplateDrafter:
    """Deterministic reminders: one template per tone, figures straight from the ledger."""

    prompt_id = "reminder-template"
    prompt_version = "1"

    def draft_reminder(self, facts: ReminderFacts, fallback_reason: str | None = None) -> Draft:
        amount = str(facts.amount_due)
        number = facts.invoice_number
        when = _when(facts)
        if facts.tone == "friendly":
            subject = f"Reminder: invoice {number} {when}"
            opening = f"Dear {facts.customer_name},\n\nA friendly reminder that invoice {number} for {amount} {when}."
        elif facts.tone == "firm":
            subject = f"Overdue: invoice {number}, {amount} outstanding"
            opening = (
                f"Dear {facts.customer_name},\n\n"
                f"Invoice {number} {when} and {amount} is still outstanding. "
                "Please arrange payment now."
            )
        else:
            subject = f"Final notice: invoice {number}, {amount} overdue"
            opening = (
                f"Dear {facts.customer_name},\n\n"
                f"This is our final reminder: invoice {number} {when} and {amount} remains unpaid. "
                "If we do not receive payment, the account will be passed to our collections team."
            )
        body = (
            f"{opening}\n\nHow to pay: {facts.how_to_pay}\n\n"
            "If you have already paid, thank you, and please ignore this message. "
            "If something on the invoice is wrong, reply to this email and we will look into it.\n\n"
            f"Kind regards,\n{facts.company_name} accounts receivable"
        )
        return Draft(
            subject=subject,
            body=body,
            drafter="template",
            prompt_id=self.prompt_id,
            prompt_version=self.prompt_version,
            fallback_reason=fallback_reason,
            facts_used=[number, amount, facts.due_date.isoformat()],
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
