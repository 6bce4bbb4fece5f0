"""The payment facts of each invoice, as they were known on one day: what the forecast and the risk score learn from.

The inputs are the invoice records (`INVOICES.csv` in batch, the ledger's invoices in the product), with their
balance as of some day, and the payments applied to them. `build_book` turns them into one `InvoiceHistory` per
invoice as known at `as_of`: nothing issued or paid after `as_of` is used, so the same answer comes out whether
or not later rows are present. `balances_on` lets the backtest rewind: the balance on an earlier day is the
balance given plus whatever was paid after that day.

Each invoice's payments are kept as fractions of its billed amount, dated in days after its due date: a
payment of 400.00 on a 1,000.00 invoice 12 days late is the event "0.4 paid on day 12". The delay model counts
invoices this way (in invoice-equivalents, whatever their size), so a customer's habit weighs by how many
invoices show it, and partial payments and short-paid closes are seen for what they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


class InvoiceRecord(Protocol):
    """What the models read of an invoice: `activities.cash_matching.model.OpenInvoice` (the batch row) has it."""

    @property
    def invoice_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def balance(self) -> Decimal: ...
    @property
    def issue_date(self) -> date: ...
    @property
    def due_date(self) -> date: ...


@dataclass(slots=True, frozen=True)
class AppliedPayment:
    """One line of `PAID.csv`: part of a payment applied to one invoice (a payment may pay several)."""

    payment_id: str
    invoice_id: str
    date: date
    amount: Decimal


@dataclass(slots=True, frozen=True)
class PaymentEvent:
    """A payment on one invoice: `day` after the due date (negative = early), `fraction` of the billed amount."""

    date: date
    day: int
    amount: Decimal
    fraction: float


@dataclass(slots=True, frozen=True)
class InvoiceHistory:
    """One invoice as known on the book's `as_of`: its balance then, and the payments made until then."""

    invoice_id: str
    customer_id: str
    currency: str
    total: Decimal
    balance: Decimal
    issue_date: date
    due_date: date
    payments: tuple[PaymentEvent, ...]

    @property
    def is_open(self) -> bool:
        return self.balance > 0

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))

    @property
    def settled_on(self) -> date | None:
        """The day the last payment closed it (None while open, or when it was closed without any payment)."""
        if self.is_open or not self.payments:
            return None
        return self.payments[-1].date

    @property
    def delay_days(self) -> int | None:
        """Days after the due date it was paid in full (negative = early); None unless settled by a payment."""
        settled = self.settled_on
        return None if settled is None else (settled - self.due_date).days

    @property
    def terms_days(self) -> int:
        return max((self.due_date - self.issue_date).days, 0)

    @property
    def short_paid(self) -> bool:
        """Closed by payments that fell short of the bill: a deduction, a credit or a write-off took the rest."""
        return self.settled_on is not None and self.paid < self.total

    @property
    def instalments(self) -> bool:
        return len({p.date for p in self.payments}) > 1

    def days_overdue(self, on: date) -> int:
        return max((on - self.due_date).days, 0)


@dataclass(slots=True, frozen=True)
class Book:
    """Every invoice known on `as_of`, and what was left out because it lies after it."""

    as_of: date
    invoices: tuple[InvoiceHistory, ...]
    invoices_after_as_of: int = 0  # issued after as_of: ignored
    payments_after_as_of: int = 0  # dated after as_of (or on an invoice issued after it): ignored
    payments_unknown_invoice: int = 0  # name an invoice that is not in the file at all
    not_receivables: int = 0  # a total of zero or less: a credit note, nothing to collect
    customers_with_credits_only: tuple[str, ...] = ()  # whose every invoice is such a credit note
    by_customer: dict[str, tuple[InvoiceHistory, ...]] = field(default_factory=dict, compare=False)

    @property
    def open_invoices(self) -> tuple[InvoiceHistory, ...]:
        return tuple(i for i in self.invoices if i.is_open)

    @property
    def customers(self) -> tuple[str, ...]:
        """Every customer with an invoice issued by as-of, credit notes included, in id order."""
        return tuple(sorted({*self.by_customer, *self.customers_with_credits_only}))


def build_book(
    invoices: Iterable[InvoiceRecord],
    payments: Iterable[AppliedPayment],
    as_of: date,
    balances_on: date | None = None,
) -> Book:
    """The book as known at the end of `as_of`.

    `balances_on` is the day the invoices' `balance` is given for (default `as_of`); when it is later, as in a
    backtest, the balance on `as_of` is rebuilt as that balance plus the payments dated after `as_of` up to
    `balances_on`. Invoice order is kept; payments are ordered by date (then payment id).
    """
    balances_on = as_of if balances_on is None else balances_on
    if balances_on < as_of:
        raise ValueError(f"balances given on {balances_on} cannot be rewound forward to {as_of}")
    kept: list[InvoiceRecord] = []
    later_ids: set[str] = set()
    credits: list[InvoiceRecord] = []
    for invoice in invoices:
        if invoice.issue_date > as_of:
            later_ids.add(invoice.invoice_id)
        elif invoice.total <= 0:
            credits.append(invoice)
        else:
            kept.append(invoice)
    known = {i.invoice_id for i in kept}
    by_invoice: dict[str, list[AppliedPayment]] = defaultdict(list)
    paid_after: dict[str, Decimal] = defaultdict(Decimal)
    after = unknown = 0
    for payment in payments:
        if payment.invoice_id in later_ids:
            after += 1
        elif payment.invoice_id not in known:
            unknown += 1
        elif payment.date > as_of:
            if payment.date <= balances_on:
                paid_after[payment.invoice_id] += payment.amount
            after += 1
        else:
            by_invoice[payment.invoice_id].append(payment)
    histories = tuple(_history(i, by_invoice.get(i.invoice_id, []), paid_after[i.invoice_id]) for i in kept)
    grouped: dict[str, list[InvoiceHistory]] = defaultdict(list)
    for history in histories:
        grouped[history.customer_id].append(history)
    return Book(
        as_of=as_of,
        invoices=histories,
        invoices_after_as_of=len(later_ids),
        payments_after_as_of=after,
        payments_unknown_invoice=unknown,
        not_receivables=len(credits),
        customers_with_credits_only=tuple(sorted({i.customer_id for i in credits} - set(grouped))),
        by_customer={customer: tuple(items) for customer, items in grouped.items()},
    )


def _history(invoice: InvoiceRecord, payments: Sequence[AppliedPayment], paid_later: Decimal) -> InvoiceHistory:
    balance = invoice.balance + paid_later
    ordered = sorted(payments, key=lambda p: (p.date, p.payment_id))
    paid = sum((p.amount for p in ordered), Decimal(0))
    # The billed amount the fractions are of: the total, or more when fees or an overpayment raised it.
    billed = max(invoice.total, paid + max(balance, Decimal(0)))
    events = tuple(
        PaymentEvent(
            date=p.date,
            day=(p.date - invoice.due_date).days,
            amount=p.amount,
            fraction=float(p.amount / billed),
        )
        for p in ordered
    )
    return InvoiceHistory(
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        total=invoice.total,
        balance=balance,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        payments=events,
    )
