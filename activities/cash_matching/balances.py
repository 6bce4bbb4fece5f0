"""An open invoice as the engine tracks it through a batch, and the whole-cents arithmetic around it.

Money is whole cents here (an `int`): `Decimal` stays at the boundary (`model`), so the hot paths of a batch
of ten thousand payments never do decimal arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from activities.cash_matching.model import OpenInvoice
from activities.cash_matching.references import invoice_number_keys

_NUMBER_PARTS = re.compile(r"\d+|\D+")


def number_order(invoice_number: str) -> tuple[tuple[int, int, str], ...]:
    """A sort key that orders invoice numbers as people read them: digit runs by value, the rest as text."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.upper()) for part in _NUMBER_PARTS.findall(invoice_number)
    )


def money(cents: int) -> str:
    """Cents as a clerk writes the amount: `1,250.00`."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d}"


def whole_cents(amount: Decimal) -> int:
    """A `Decimal` amount in whole cents."""
    return int((amount * 100).to_integral_value())


class TrackedInvoice:
    """An invoice as the engine tracks it. `remaining` is the balance not yet auto-applied in this batch;
    `reserved` is what review suggestions propose. A guess from amount and name only uses the `free` part
    (remaining less reserved), so two payments are not steered to one invoice; a reference naming the
    invoice outranks a suggestion and sees all of `remaining`."""

    __slots__ = (
        "currency",
        "customer_id",
        "digits",
        "due",
        "invoice",
        "issue",
        "key",
        "number",
        "original",
        "remaining",
        "reserved",
    )

    def __init__(self, invoice: OpenInvoice) -> None:
        self.invoice = invoice
        self.number = invoice.invoice_number
        keys = invoice_number_keys(invoice.invoice_number)
        self.key = keys[0]
        self.digits = keys[-1]
        self.customer_id = invoice.customer_id
        self.currency = invoice.currency.upper()
        self.original = max(0, whole_cents(invoice.balance))
        self.remaining = self.original
        self.reserved = 0
        # equal candidates are taken by due date, then invoice number (as numbers: INV-999 before INV-1000),
        # then id so that the order never depends on the file's
        self.due = (invoice.due_date, number_order(invoice.invoice_number), invoice.invoice_id)
        self.issue = invoice.issue_date

    @property
    def free(self) -> int:
        return max(0, self.remaining - self.reserved)


def fill(invoices: Sequence[TrackedInvoice], amount: int, free: bool = False) -> list[tuple[TrackedInvoice, int]]:
    """Allocate `amount` over `invoices` in the given order, each up to its remaining (or free) balance."""
    allocations = []
    left = amount
    for tracked in invoices:
        if left <= 0:
            break
        cents = min(tracked.free if free else tracked.remaining, left)
        if cents > 0:
            allocations.append((tracked, cents))
            left -= cents
    return allocations
