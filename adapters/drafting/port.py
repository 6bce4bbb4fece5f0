"""The drafter port: who writes the words a customer will read.

`TemplateDrafter` is the deterministic drafter; it is always there, answers when no LLM endpoint is
configured, and is the fallback whenever an LLM draft fails its checks (the draft then says why).
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from adapters.ledger import Money

Tone = Literal["friendly", "firm", "final"]


class ReminderFacts(BaseModel):
    """Everything a reminder may state. A draft may cite these figures and no others."""

    company_name: str
    customer_name: str
    invoice_number: str
    amount_due: Money
    total: Money
    issue_date: date
    due_date: date
    today: date
    level: int
    tone: Tone
    how_to_pay: str
    history_summary: str = ""
    # What the policy of this level allows the message to offer.
    allow_payment_plan: bool = False
    allow_late_fee_mention: bool = False
    allow_discount: bool = False
    allow_waiver: bool = False
    allow_legal_mention: bool = False
    # How the customer reads numeric dates ("DMY": 04/03/2026 is 4 March). Unset: a numeric date that
    # reads two ways is refused as ambiguous rather than guessed.
    date_order: Literal["DMY", "MDY"] | None = None

    @property
    def days_overdue(self) -> int:
        return (self.today - self.due_date).days


class Draft(BaseModel):
    subject: str
    body: str
    drafter: Literal["template", "llm"]
    prompt_id: str
    prompt_version: str
    model: str | None = None
    # Set when a template answered in place of the LLM: the reason a human should see.
    fallback_reason: str | None = None
    facts_used: list[str] = Field(default_factory=list)
    # The facts the LLM was given (after minimisation) and what the guardrails refused on the way
    # ("kind: detail"), so an approver and the audit log can see both.
    facts_given: dict[str, str] = Field(default_factory=dict)
    rejections: list[str] = Field(default_factory=list)
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Drafter(Protocol):
    def draft_reminder(self, facts: ReminderFacts) -> Draft: ...


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
            opening = (
                f"Dear {facts.customer_name},\n\n"
                f"A friendly reminder that invoice {number} for {amount} {when}."
            )
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
