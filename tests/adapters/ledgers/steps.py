"""What the ledger tests write again and again, once: money in dollars, an invoice line, the day they run on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from adapters.ledger import InvoiceLine, Money

TODAY = date(2026, 3, 2)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def line(amount: str, description: str = "Design work", quantity: str = "1") -> InvoiceLine:
    """One invoice line of `amount` in all; the unit price is what `quantity` of them cost each."""
    return InvoiceLine(description=description, quantity=Decimal(quantity),
                       unit_price=Decimal(amount) / Decimal(quantity), amount=Decimal(amount))
