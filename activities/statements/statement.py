"""A customer's statement for a period, computed: what they owed, what was billed, paid and credited, what
they owe, and how old it is. A pure function on `Books` (activities/reports/books.py): no I/O, no clock.

Per currency (currencies are never added together), with every amount rounded half-up to the currency's own
minor unit (`adapters.ledger.minor_unit`):
- opening balance: what the customer owed at the end of the day before the period (balances rewound from the
  payments made since, as `Books.balance_on` does);
- invoices: every invoice issued in the period, at its total;
- payments: every payment applied to the customer's invoices and dated in the period;
- credits: credit notes and write-offs on the invoices issued in the period. The ledger port gives a credit
  no date (see books.py), so a credit counts where its invoice does: on an invoice issued before the period it
  is already inside the opening balance, on one issued in it, it shows here. That keeps the one identity a
  reader checks: opening + invoices - payments - credits = closing;
- closing balance: what the customer owed at the end of the period's last day;
- aging of what is open at the end: the port's buckets (`aging_bucket`) counted from each due date to the
  last day, and the open invoices themselves.
An overpaid invoice (negative balance) counts in the balances as the credit it is, never in the aging.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from adapters.ledger import aging_bucket, minor_unit

if TYPE_CHECKING:  # the books bring the cash-matching engine; the workflow that imports these records does not
    from activities.reports.books import Books

# The port's bucket names and the labels a reader sees (as activities/reports/aging.py shows them).
_LABEL = {"current": "current", "days_1_30": "1-30", "days_31_60": "31-60", "days_61_90": "61-90",
          "days_91_plus": "90+"}


def money(amount: Decimal, currency: str) -> Decimal:
    """An amount rounded half-up to the currency's own minor unit."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
LineKind = Literal["invoice", "payment", "credit"]


class StatementLine(BaseModel):
    """One movement on the account: an invoice adds to what is owed, a payment or a credit takes from it."""

    day: date
    kind: LineKind
    reference: str  # the invoice number (for a payment: the invoice it paid)
    detail: str  # "due 2026-03-31", the payment's id
    amount: Decimal  # positive; `kind` says which way it moves the balance


class OpenItem(BaseModel):
    invoice_number: str
    issue_date: date
    due_date: date
    days_past_due: int  # 0 or less: not yet due
    balance: Decimal


class CurrencyStatement(BaseModel):
    currency: str
    opening: Decimal
    invoiced: Decimal
    paid: Decimal
    credited: Decimal
    closing: Decimal
    lines: list[StatementLine]  # by day, invoices before payments on the same day
    aging: dict[str, Decimal]  # bucket label (current, 1-30, 31-60, 61-90, 90+) -> open amount
    open_items: list[OpenItem]  # oldest due first


class Statement(BaseModel):
    customer_id: str
    customer_name: str
    period_start: date
    period_end: date
    currencies: list[CurrencyStatement]  # in code order; none when the customer had nothing to say

    @property
    def is_empty(self) -> bool:
        return not self.currencies


class StatementPeriodError(ValueError):
    """A period that ends before it starts."""


def statement(books: Books, customer_id: str, customer_name: str, period_start: date,
              period_end: date) -> Statement:
    """The customer's statement from `period_start` to `period_end`, both days included."""
    if period_end < period_start:
        raise StatementPeriodError(f"the period ends ({period_end}) before it starts ({period_start})")
    before = period_start - timedelta(days=1)
    invoices = [i for i in books.invoices if i.customer_id == customer_id and i.issue_date <= period_end]
    currencies = []
    for currency in sorted({i.currency for i in invoices}):
        mine = [i for i in invoices if i.currency == currency]
        opening = sum((books.balance_on(i, before) for i in mine if i.issue_date <= before), Decimal(0))
        closing = sum((books.balance_on(i, period_end) for i in mine), Decimal(0))
        lines: list[StatementLine] = []
        credited = Decimal(0)
        for invoice in mine:
            paid_by_end = [p for p in books.payments_of(invoice.invoice_id) if p.date <= period_end]
            lines += [StatementLine(day=p.date, kind="payment", reference=invoice.invoice_number,
                                    detail=p.payment_id, amount=money(p.amount, currency))
                      for p in paid_by_end if p.date >= period_start]
            if invoice.issue_date < period_start:
                continue
            lines.append(StatementLine(day=invoice.issue_date, kind="invoice", reference=invoice.invoice_number,
                                       detail=f"due {invoice.due_date.isoformat()}",
                                       amount=money(invoice.total, currency)))
            credit = invoice.total - books.balance_on(invoice, period_end) - sum(
                (p.amount for p in paid_by_end), Decimal(0))
            if credit != 0:
                credited += credit
                lines.append(StatementLine(day=invoice.issue_date, kind="credit", reference=invoice.invoice_number,
                                           detail="credit note or write-off", amount=money(credit, currency)))
        order = {"invoice": 0, "credit": 1, "payment": 2}
        lines.sort(key=lambda line: (line.day, order[line.kind], line.reference, line.detail))
        aging = dict.fromkeys(_LABEL.values(), Decimal(0))
        items = []
        for invoice in mine:
            balance = books.balance_on(invoice, period_end)
            if balance <= 0:
                continue
            days = (period_end - invoice.due_date).days
            aging[_LABEL[aging_bucket(days)]] += balance
            items.append(OpenItem(invoice_number=invoice.invoice_number, issue_date=invoice.issue_date,
                                  due_date=invoice.due_date, days_past_due=days, balance=money(balance, currency)))
        if opening == 0 and closing == 0 and not lines:
            continue  # settled long before the period and nothing moved in it: nothing to tell
        items.sort(key=lambda item: (item.due_date, item.invoice_number))
        invoiced = sum((line.amount for line in lines if line.kind == "invoice"), Decimal(0))
        paid = sum((line.amount for line in lines if line.kind == "payment"), Decimal(0))
        currencies.append(CurrencyStatement(
            currency=currency, opening=money(opening, currency), invoiced=money(invoiced, currency),
            paid=money(paid, currency),
            credited=money(credited, currency), closing=money(closing, currency), lines=lines,
            aging={label: money(amount, currency) for label, amount in aging.items()}, open_items=items,
        ))
    return Statement(customer_id=customer_id, customer_name=customer_name, period_start=period_start,
                     period_end=period_end, currencies=currencies)


def month_period(period: str) -> tuple[date, date]:
    """The first and last day of a `YYYY-MM` period; ValueError naming the period when it is not one."""
    try:
        year, month = (int(part) for part in period.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise ValueError(f"period {period!r} is not a month (write it as YYYY-MM, e.g. 2026-03)") from None
    if len(period) != 7:
        raise ValueError(f"period {period!r} is not a month (write it as YYYY-MM, e.g. 2026-03)")
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def previous_month(day: date) -> str:
    """The `YYYY-MM` of the month before `day`'s."""
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def customers_with_activity(books: Books, period_start: date, period_end: date) -> list[str]:
    """Who gets a statement for the period: an invoice issued or a payment made in it, or something owed at
    its end. Sorted by id."""
    found: set[str] = set()
    for invoice in books.invoices:
        if invoice.issue_date > period_end:
            continue
        paid_in = any(period_start <= p.date <= period_end for p in books.payments_of(invoice.invoice_id))
        if period_start <= invoice.issue_date or paid_in or books.balance_on(invoice, period_end) > 0:
            found.add(invoice.customer_id)
    return sorted(found)
