"""draft_reminder: when the template stands in for an LLM endpoint that fails, attempt by attempt.

The activity runs in `ActivityEnvironment` with the attempt number Temporal would give it; the drafter is a
fake that fails the way the LLM drafter reports an unreachable, rate-limited or refusing endpoint.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.error_types import DRAFTER_RATE_LIMITED, DRAFTER_UNAVAILABLE
from activities.messaging import (
    DRAFTER_ATTEMPTS_BEFORE_TEMPLATE,
    DRAFTING_RETRY,
    DraftReminderInput,
    MessagingActivities,
)
from adapters.drafting.port import (
    Draft,
    DrafterError,
    DrafterRateLimited,
    DrafterRefused,
    DrafterUnavailable,
    ReminderFacts,
)
from adapters.ledger import Money
from adapters.mail import OutgoingMail
from adapters.store import Store

FACTS = ReminderFacts(
    company_name="Northwind Studio", customer_name="Contoso Ltd", invoice_number="INV-1042",
    amount_due=Money(amount=Decimal("1250.00"), currency="USD"), total=Money(amount=Decimal("1250.00"), currency="USD"),
    issue_date=date(2026, 2, 1), due_date=date(2026, 3, 3), today=date(2026, 3, 10), level=2, tone="friendly",
    how_to_pay="Pay by bank transfer quoting the invoice number.",
)


class FailingDrafter:
    def __init__(self, error: DrafterError) -> None:
        self.error = error
        self.calls = 0

    def draft_reminder(self, facts: ReminderFacts) -> Draft:
        self.calls += 1
        raise self.error


class NoMail:
    def send(self, mail: OutgoingMail) -> None:
        raise AssertionError("drafting sends nothing")


def draft_on_attempt(drafter: FailingDrafter, attempt: int, tmp_path: Path) -> Draft:
    messaging = MessagingActivities(Store(f"sqlite:///{tmp_path / 'store.db'}"), NoMail(), drafter, sender="ar@test")
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    draft: Draft = env.run(messaging.draft_reminder, DraftReminderInput(workflow_id="invoice:sandbox:demo:I-1",
                                                                          facts=FACTS))
    return draft


def test_the_retry_policy_leaves_room_for_the_template() -> None:
    assert DRAFTING_RETRY.maximum_attempts > DRAFTER_ATTEMPTS_BEFORE_TEMPLATE


@pytest.mark.parametrize("attempt", range(1, DRAFTER_ATTEMPTS_BEFORE_TEMPLATE))
def test_an_unreachable_endpoint_is_retried_before_the_template_answers(attempt: int, tmp_path: Path) -> None:
    with pytest.raises(ApplicationError) as failed:
        draft_on_attempt(FailingDrafter(DrafterUnavailable("503 from the endpoint")), attempt, tmp_path)
    assert failed.value.type == DRAFTER_UNAVAILABLE and not failed.value.non_retryable


def test_a_rate_limit_is_retried_after_the_delay_the_endpoint_asked_for(tmp_path: Path) -> None:
    with pytest.raises(ApplicationError) as failed:
        draft_on_attempt(FailingDrafter(DrafterRateLimited("429", retry_after_seconds=7)), 1, tmp_path)
    assert failed.value.type == DRAFTER_RATE_LIMITED
    assert failed.value.next_retry_delay == timedelta(seconds=7)


@pytest.mark.parametrize("error", [DrafterUnavailable("503 from the endpoint"), DrafterRateLimited("429")])
def test_on_the_last_llm_attempt_the_template_answers_and_says_why(error: DrafterError, tmp_path: Path) -> None:
    drafter = FailingDrafter(error)
    draft = draft_on_attempt(drafter, DRAFTER_ATTEMPTS_BEFORE_TEMPLATE, tmp_path)
    assert drafter.calls == 1
    assert draft.drafter == "template"
    assert draft.fallback_reason is not None and "LLM endpoint failed" in draft.fallback_reason
    assert "INV-1042" in draft.subject


def test_a_refusing_endpoint_gets_the_template_at_once(tmp_path: Path) -> None:
    draft = draft_on_attempt(FailingDrafter(DrafterRefused("401: bad key")), 1, tmp_path)
    assert draft.drafter == "template" and "401: bad key" in (draft.fallback_reason or "")
