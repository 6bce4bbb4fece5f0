"""A reminder mentions a late fee only once it is posted, and then with the posted figure and invoice number."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from adapters.drafting.guardrails import check_reminder
from adapters.drafting.port import ReminderFacts
from adapters.drafting.template import TemplateDrafter
from adapters.ledger import Money

FACTS = ReminderFacts(company_name="Northwind", customer_name="Albion Trading Ltd", invoice_number="INV-1042",
                      amount_due=Money(amount=Decimal("1250.00"), currency="GBP"),
                      total=Money(amount=Decimal("1250.00"), currency="GBP"), issue_date=date(2026, 1, 1),
                      due_date=date(2026, 1, 31), today=date(2026, 3, 22), level=2, tone="firm",
                      how_to_pay="Pay by bank transfer quoting the invoice number.")
POSTED = FACTS.model_copy(update={"allow_late_fee_mention": True, "late_fee": Money(amount=Decimal("90.42"),
                                                                                      currency="GBP"),
                                  "late_fee_invoice": "INV-1077"})


def test_the_template_names_the_posted_fee_and_passes_the_guardrails() -> None:
    draft = TemplateDrafter().draft_reminder(POSTED)
    assert "GBP 90.42" in draft.body and "INV-1077" in draft.body
    assert check_reminder(draft.subject, draft.body, POSTED) == []


def test_no_fee_is_mentioned_before_it_is_posted() -> None:
    draft = TemplateDrafter().draft_reminder(FACTS)
    assert "charge" not in draft.body.lower()
    fee_line = draft.body.replace("How to pay:", "A late payment charge of GBP 90.42 has been added. How to pay:")
    assert check_reminder(draft.subject, fee_line, FACTS) != []
