"""The receivables as they stood on a day: what every report reads.

`Books` holds every invoice (a ledger's, or `INVOICES.csv`'s rows) with its balance on `balances_on`, and the
payments applied to them (`PAID.csv`'s lines, or the ledger's payment allocations). `on(day)` gives the books
as they stood at the end of `day`: invoices issued after it are not there, payments dated after it have not
happened, so their amounts are back on the balances they paid. That is how `--as-of` reads the past from
today's ledger.

Only receivables count: an invoice with a total of zero or less is a credit, not something to collect, and a
negative balance (an overpayment) is nobody's debt; both are left out of every figure. A payment naming an
invoice the books do not hold is ignored (`unknown_payments` counts them).

What a rewind cannot see: a credit note or write-off applied after `day` (the ledger port gives credit notes
no date, so their effect stays on the balance); the payments that paid the invoice are rewound exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from adapters.ledger import minor_unit


def money(amount: Decimal, currency: str) -> Decimal:
    """An amount rounded half-up to the currency's own minor unit (cents, whole yen, mils)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Books:
    """Every invoice with its balance at the end of `balances_on`, and the payments applied to them.

    Build it with `Books.of`, which keeps only receivables and the payments made on them."""

    invoices: tuple[OpenInvoice, ...]
    payments: tuple[AppliedPayment, ...]
    balances_on: date
    _by_invoice: dict[str, tuple[AppliedPayment, ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[AppliedPayment]] = defaultdict(list)
        for payment in self.payments:
            grouped[payment.invoice_id].append(payment)
        by_invoice = {k: tuple(sorted(v, key=lambda p: (p.date, p.payment_id))) for k, v in grouped.items()}
        object.__setattr__(self, "_by_invoice", by_invoice)  # frozen: set once, here

    @classmethod
    def of(cls, invoices: Iterable[OpenInvoice], payments: Iterable[AppliedPayment], balances_on: date) -> Books:
        kept = tuple(i for i in invoices if i.total > 0)
        known = {i.invoice_id for i in kept}
        return cls(kept, tuple(p for p in payments if p.invoice_id in known), balances_on)

    def payments_of(self, invoice_id: str) -> tuple[AppliedPayment, ...]:
        return self._by_invoice.get(invoice_id, ())

    def balance_on(self, invoice: OpenInvoice, day: date) -> Decimal:
        """The invoice's balance at the end of `day`: today's, plus what was paid on it after `day`."""
        if day >= self.balances_on:
            return invoice.balance
        later = sum((p.amount for p in self.payments_of(invoice.invoice_id) if day < p.date <= self.balances_on),
                    Decimal(0))
        return invoice.balance + later

    def on(self, day: date) -> Books:
        """The books as they stood at the end of `day` (balances rewound from the payments made since)."""
        invoices = tuple(replace(i, balance=self.balance_on(i, day)) for i in self.invoices if i.issue_date <= day)
        known = {i.invoice_id for i in invoices}
        # Past the day the balances are given for, nothing is known to have been paid since.
        cutoff = min(day, self.balances_on)
        payments = [p for p in self.payments if p.invoice_id in known and p.date <= cutoff]
        return Books.of(invoices, payments, day)

    def open_on(self, day: date) -> list[tuple[OpenInvoice, Decimal]]:
        """The invoices issued by `day` with something still owed at its end, and what was owed."""
        found = []
        for invoice in self.invoices:
            if invoice.issue_date > day:
                continue
            balance = self.balance_on(invoice, day)
            if balance > 0:
                found.append((invoice, balance))
        return found

    @property
    def first_issue(self) -> date | None:
        return min((i.issue_date for i in self.invoices), default=None)

    def customer_names(self) -> dict[str, str]:
        """Each customer's name as its latest invoice gives it (a ledger may rename a customer)."""
        names: dict[str, str] = {}
        for invoice in sorted(self.invoices, key=lambda i: (i.issue_date, i.invoice_id)):
            names[invoice.customer_id] = invoice.customer_name
        return names


def unknown_payments(invoices: Iterable[OpenInvoice], payments: Iterable[AppliedPayment]) -> int:
    """Payment lines naming an invoice that is not a receivable in the books (ignored by every report)."""
    known = {i.invoice_id for i in invoices if i.total > 0}
    return sum(1 for p in payments if p.invoice_id not in known)
