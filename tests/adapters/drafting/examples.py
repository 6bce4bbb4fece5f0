"""The invoice the drafting tests write about: INV-1042 from Northwind Traders to Maple & Finch Bakery,
USD 1,250.00 due on Wednesday 4 March 2026, 14 days overdue, and a dispute of it."""

from __future__ import annotations

from datetime import date

from adapters.drafting.port import DisputeFacts, DisputePayment, ReminderFacts
from adapters.ledger import Money

HOW_TO_PAY = (
    "Pay online at https://pay.northwind.example/i/INV-1042 or by bank transfer to account 12345678, sort code 12-34-56"
)
FACTS = ReminderFacts(
    company_name="Northwind Traders Ltd",
    customer_name="Maple & Finch Bakery",
    invoice_number="INV-1042",
    amount_due=Money.of("1250.00", "USD"),
    total=Money.of("1250.00", "USD"),
    issue_date=date(2026, 2, 2),
    due_date=date(2026, 3, 4),  # a Wednesday
    today=date(2026, 3, 18),  # 14 days overdue
    level=2,
    tone="firm",
    how_to_pay=HOW_TO_PAY,
)


def facts(**changes: object) -> ReminderFacts:
    return FACTS.model_copy(update=changes)


DISPUTE = DisputeFacts(
    company_name="Northwind Traders Ltd",
    customer_name="Maple & Finch Bakery",
    invoice_number="INV-1042",
    invoice_total=Money.of("1250.00", "USD"),
    amount_due=Money.of("750.00", "USD"),
    issue_date=date(2026, 2, 2),
    due_date=date(2026, 3, 4),
    today=date(2026, 3, 18),
    customer_message="We were quoted $1,100 for this order, not 1,250. We paid 500 on 1 March 2026 and "
    "will not pay the rest until the price is corrected.",
    payments=[DisputePayment(date=date(2026, 3, 1), amount=Money.of("500.00", "USD"), reference="ACH 77812")],
)
