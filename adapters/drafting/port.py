"""The drafter port: who writes the words a customer will read, from which facts, and how it fails.

Two drafters implement it: `adapters.drafting.template.TemplateDrafter`, deterministic and always there,
and `adapters.drafting.llm.LlmDrafter`, a model behind the guardrails with the template behind both.
Light on purpose (pydantic and the ledger vocabulary only): workflows import these records, and
`activities.errors` imports the error types, without loading the openai client.
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
    # A late fee posted in the ledger as its own invoice (issue 12): only then may a reminder mention it.
    late_fee: Money | None = None
    late_fee_invoice: str | None = None
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


# --- the other uses: dispute summaries for the AR team, invoice line descriptions ----------------


class DisputePayment(BaseModel):
    date: date
    amount: Money
    reference: str = ""


class DisputeFacts(BaseModel):
    """What a dispute summary may state: the invoice, its payments, and what the customer wrote."""

    company_name: str
    customer_name: str
    invoice_number: str
    invoice_total: Money
    amount_due: Money
    issue_date: date
    due_date: date
    today: date
    customer_message: str
    payments: list[DisputePayment] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Provenance(BaseModel):
    """Who wrote a text and what it cost: the model or a template (and why), the prompt, the tries."""

    drafter: Literal["template", "llm"]
    prompt_id: str
    prompt_version: str
    model: str | None = None
    fallback_reason: str | None = None
    facts_given: dict[str, str] = Field(default_factory=dict)
    rejections: list[str] = Field(default_factory=list)
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class DisputeSummary(Provenance):
    summary: str
    customer_claim: str
    open_questions: list[str] = Field(default_factory=list)


class LineDescriptions(Provenance):
    descriptions: list[str]


class Drafter(Protocol):
    def draft_reminder(self, facts: ReminderFacts) -> Draft: ...


# --- failures to reach a model -------------------------------------------------------------------


class DrafterError(Exception):
    """Base of every failure to reach the model (never raised for a bad draft: the template answers)."""


class DrafterUnavailable(DrafterError):
    """5xx, timeouts, refused connections: try again later (the activity's retry policy)."""


class DrafterRateLimited(DrafterUnavailable):
    """429: try again after `retry_after_seconds` (None when the endpoint did not say)."""

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DrafterRefused(DrafterError):
    """A request the endpoint will never accept as configured (bad key, unknown model, quota gone)."""


# Error type names a Temporal retry policy lists as non-retryable.
NON_RETRYABLE_DRAFTER_ERRORS = ("DrafterRefused",)
