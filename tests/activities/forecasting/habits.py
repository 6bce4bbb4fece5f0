"""Constructed customers with known payment habits, for the forecasting tests.

`Ledger.customer(...)` bills a customer every `every_days` and pays each invoice the given number of days after
its due date (None = never); payments that would fall after `AS_OF` have not happened, so those invoices are
open with their whole balance. Everything is hand-checkable: the figures the tests assert come from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment, Book, build_book

AS_OF = date(2025, 6, 30)


@dataclass
class Ledger:
    invoices: list[OpenInvoice] = field(default_factory=list)
    payments: list[AppliedPayment] = field(default_factory=list)
    _next: int = 0

    def invoice(
        self,
        customer_id: str,
        issued: date,
        *,
        terms: int = 30,
        total: str = "1000.00",
        currency: str = "USD",
        paid: Sequence[tuple[int, str]] = (),
        written_off: bool = False,
    ) -> OpenInvoice:
        """One invoice; `paid` = (days after due, amount) parts, those after AS_OF not yet made.

        `written_off`: once the parts are paid, what is left is credited away (a short payment)."""
        self._next += 1
        invoice_id = f"{customer_id}-{self._next:03d}"
        due = issued + timedelta(days=terms)
        balance = Decimal(total)
        made = 0
        for day, amount in paid:
            on = due + timedelta(days=day)
            if on <= AS_OF:
                self.payments.append(AppliedPayment(f"P-{invoice_id}-{made}", invoice_id, on, Decimal(amount)))
                balance -= Decimal(amount)
                made += 1
        if written_off and made == len(paid):
            balance = Decimal(0)
        invoice = OpenInvoice(
            invoice_id=invoice_id,
            invoice_number=f"INV-{invoice_id}",
            customer_id=customer_id,
            customer_name=f"Customer {customer_id}",
            currency=currency,
            total=Decimal(total),
            balance=balance,
            issue_date=issued,
            due_date=due,
        )
        self.invoices.append(invoice)
        return invoice

    def customer(
        self,
        customer_id: str,
        delays: Sequence[int | None],
        *,
        first_issue: date = date(2024, 3, 1),
        every_days: int = 30,
        terms: int = 30,
        total: str = "1000.00",
        currency: str = "USD",
    ) -> list[OpenInvoice]:
        """One invoice per delay, `every_days` apart, each paid in full `delay` days after due (None: never)."""
        made = []
        for n, delay in enumerate(delays):
            issued = first_issue + timedelta(days=n * every_days)
            paid = () if delay is None else ((delay, total),)
            made.append(self.invoice(customer_id, issued, terms=terms, total=total, currency=currency, paid=paid))
        return made

    def book(self, as_of: date = AS_OF) -> Book:
        return build_book(self.invoices, self.payments, as_of)
