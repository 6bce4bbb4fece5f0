"""AR aging: what is owed on a day, by how long past its due date, per currency, overall and per customer.

The buckets are the port's (`adapters.ledger.aging_bucket`, the one definition every ledger uses): `current`
(not yet past due, due that very day included), `1-30`, `31-60`, `61-90` and `90+` (more than 90) days past
due, counted from the due date to the as-of day. An invoice counts with its balance at the end of the as-of
day (`Books.open_on`). Currencies are never added together: each has its own totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from activities.reports.books import Books, money
from adapters.ledger import aging_bucket

# The port's bucket names and the labels a finance lead reads, youngest first.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("current", "current"),
    ("days_1_30", "1-30"),
    ("days_31_60", "31-60"),
    ("days_61_90", "61-90"),
    ("days_91_plus", "90+"),
)
LABELS = tuple(label for _, label in BUCKETS)
_LABEL = dict(BUCKETS)


@dataclass(slots=True)
class AgingLine:
    """One customer's open balance (or a whole currency's) by bucket label."""

    customer_id: str
    customer_name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(LABELS, Decimal(0)))
    open_invoices: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))

    def add(self, days_past_due: int, amount: Decimal) -> None:
        self.buckets[_LABEL[aging_bucket(days_past_due)]] += amount
        self.open_invoices += 1

    def to_json(self, currency: str) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "open_invoices": self.open_invoices,
            "buckets": {label: str(money(amount, currency)) for label, amount in self.buckets.items()},
            "total": str(money(self.total, currency)),
        }


@dataclass(frozen=True, slots=True)
class CurrencyAging:
    currency: str
    overall: AgingLine
    customers: tuple[AgingLine, ...]  # by name, then id

    def share(self, label: str) -> float | None:
        """The bucket's share of the currency's open AR, in percent (None when nothing is open)."""
        total = self.overall.total
        return None if total == 0 else round(float(self.overall.buckets[label] / total * 100), 1)

    def to_json(self) -> dict[str, Any]:
        overall = self.overall.to_json(self.currency)
        return {
            "currency": self.currency,
            "open_invoices": self.overall.open_invoices,
            "buckets": overall["buckets"],
            "total": overall["total"],
            "shares": {label: self.share(label) for label in LABELS},
            "customers": [c.to_json(self.currency) for c in self.customers],
        }


@dataclass(frozen=True, slots=True)
class AgingReport:
    as_of: date
    currencies: tuple[CurrencyAging, ...]  # in code order

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "buckets": list(LABELS),
                "currencies": [c.to_json() for c in self.currencies]}


def aging(books: Books, as_of: date, names: Mapping[str, str] | None = None) -> AgingReport:
    """The aging of everything open at the end of `as_of`; `names` overrides the invoices' customer names."""
    known = {**books.customer_names(), **(names or {})}
    overall: dict[str, AgingLine] = {}
    per_customer: dict[tuple[str, str], AgingLine] = {}
    for invoice, balance in books.open_on(as_of):
        days = (as_of - invoice.due_date).days
        currency = invoice.currency
        overall.setdefault(currency, AgingLine("", "all customers")).add(days, balance)
        line = per_customer.setdefault(
            (currency, invoice.customer_id),
            AgingLine(invoice.customer_id, known.get(invoice.customer_id, invoice.customer_name)),
        )
        line.add(days, balance)
    currencies = []
    for currency in sorted(overall):
        customers = sorted((line for (code, _), line in per_customer.items() if code == currency),
                           key=lambda line: (line.customer_name.casefold(), line.customer_id))
        currencies.append(CurrencyAging(currency, overall[currency], tuple(customers)))
    return AgingReport(as_of, tuple(currencies))
