"""A seeded two-year receivables history with customers of known habits, for the backtest, the tests and demos.

Each customer gets one habit and keeps it (except the ones whose habit is to change):
`early` pays well before the due date; `on_time` around it; `steady_late` a steady 10-25 days late;
`chronic_late` 40-75 days late, sometimes never; `worsening` drifts from on time to two months late over the
two years; `seasonal` pays late when the due date falls in the summer or year-end holidays; `disputer` disputes
a quarter of its invoices, pays those months late and sometimes only after a credit note; `short_payer`
deducts a few percent from many payments; `instalments` pays in three parts a month apart; `defaulter` pays
normally until one day it stops paying at all; `new` arrived in the last three months.
The same seed gives the same files, byte for byte. Amounts are in each customer's currency (USD, EUR, GBP,
JPY), rounded to that currency's minor unit; a customer paying several invoices on one day pays them with one
payment (one `payment_id` on several `PAID.csv` lines).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from adapters.ledger import minor_unit

HABITS = (
    "early",
    "on_time",
    "steady_late",
    "chronic_late",
    "worsening",
    "seasonal",
    "disputer",
    "short_payer",
    "instalments",
    "defaulter",
    "new",
)
# How many of each in a book of 60 customers (scaled for other sizes).
_MIX = {
    "early": 7,
    "on_time": 12,
    "steady_late": 8,
    "chronic_late": 6,
    "worsening": 5,
    "seasonal": 5,
    "disputer": 5,
    "short_payer": 4,
    "instalments": 3,
    "defaulter": 2,
    "new": 3,
}
_CURRENCIES = (("USD", 0.65), ("EUR", 0.17), ("GBP", 0.12), ("JPY", 0.06))
_TO_CURRENCY = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "JPY": Decimal(150)}
_TERMS = (14, 30, 30, 30, 30, 45, 60)


@dataclass(slots=True, frozen=True)
class SyntheticBook:
    as_of: date
    invoices: tuple[OpenInvoice, ...]  # balance as of `as_of`
    payments: tuple[AppliedPayment, ...]  # dated on or before `as_of`
    habits: dict[str, str]  # customer id -> habit


@dataclass(slots=True)
class _Customer:
    customer_id: str
    name: str
    habit: str
    currency: str
    terms: int
    invoices_per_month: float
    typical_amount: float
    lateness: float  # the habit's own parameter (days late, or the day it stops paying)
    joined: date
    stops_paying: date | None


@dataclass(slots=True)
class _Settlement:
    """How one invoice gets paid: (days after due, amount) parts, and whether the rest is credited away."""

    parts: list[tuple[int, Decimal]]


def synthetic_history(seed: int = 7, customers: int = 60, as_of: date = date(2025, 6, 30)) -> SyntheticBook:
    """Two years of invoices up to `as_of` and the payments made on them by then."""
    rng = random.Random(seed)
    start = as_of - timedelta(days=730)
    people = _customers(rng, customers, start, as_of)
    invoices: list[OpenInvoice] = []
    paid_lines: list[tuple[date, str, str, Decimal]] = []  # (date, customer, invoice, amount)
    number = 1000
    for customer in people:
        day = customer.joined
        while day <= as_of:
            if rng.random() < customer.invoices_per_month / 30.0:
                number += 1
                invoice, lines = _invoice(rng, customer, day, number, start, as_of)
                invoices.append(invoice)
                paid_lines.extend(lines)
            day += timedelta(days=1)
    invoices.sort(key=lambda i: (i.issue_date, i.invoice_id))
    return SyntheticBook(
        as_of=as_of,
        invoices=tuple(invoices),
        payments=_payments(paid_lines),
        habits={c.customer_id: c.habit for c in people},
    )


def _customers(rng: random.Random, count: int, start: date, as_of: date) -> list[_Customer]:
    habits = [habit for habit, n in _MIX.items() for _ in range(max(1, round(n * count / 60)))]
    rng.shuffle(habits)
    habits = habits[:count]
    people = []
    for index, habit in enumerate(habits, start=1):
        currency = rng.choices([c for c, _ in _CURRENCIES], weights=[w for _, w in _CURRENCIES])[0]
        joined = start + timedelta(days=rng.randint(0, 60))
        if habit == "new":
            joined = as_of - timedelta(days=rng.randint(30, 95))
        lateness = {
            "steady_late": rng.uniform(10, 25),
            "chronic_late": rng.uniform(40, 75),
            "worsening": rng.uniform(45, 65),
            "new": rng.choice([0.0, 55.0]),
        }.get(habit, 0.0)
        people.append(
            _Customer(
                customer_id=f"C{index:03d}",
                name=f"Customer {index:03d} ({habit.replace('_', ' ')})",
                habit=habit,
                currency=currency,
                terms=rng.choice(_TERMS),
                invoices_per_month=rng.uniform(0.8, 4.0),
                typical_amount=math.exp(rng.uniform(math.log(300), math.log(20000))),
                lateness=lateness,
                joined=joined,
                stops_paying=as_of - timedelta(days=rng.randint(60, 270)) if habit == "defaulter" else None,
            )
        )
    return people


def _invoice(
    rng: random.Random, customer: _Customer, issued: date, number: int, start: date, as_of: date
) -> tuple[OpenInvoice, list[tuple[date, str, str, Decimal]]]:
    unit = minor_unit(customer.currency)
    amount = customer.typical_amount * math.exp(rng.gauss(0, 0.5)) * float(_TO_CURRENCY[customer.currency])
    total = max(Decimal(str(amount)).quantize(unit, rounding=ROUND_HALF_UP), unit * 100)
    due = issued + timedelta(days=customer.terms)
    invoice_id = f"in_{number}"
    settlement = _settlement(rng, customer, total, issued, due, start)
    lines = []
    balance = total
    for day, part in settlement.parts:
        paid_on = max(due + timedelta(days=day), issued)
        if paid_on <= as_of:
            lines.append((paid_on, customer.customer_id, invoice_id, part))
            balance -= part
    last_day = max((max(due + timedelta(days=d), issued) for d, _ in settlement.parts), default=None)
    if settlement.parts and last_day is not None and last_day <= as_of:
        balance = Decimal(0)  # the last part settled it; anything unpaid was credited or written off
    invoice = OpenInvoice(
        invoice_id=invoice_id,
        invoice_number=f"INV-{number}",
        customer_id=customer.customer_id,
        customer_name=customer.name,
        currency=customer.currency,
        total=total,
        balance=balance,
        issue_date=issued,
        due_date=due,
    )
    return invoice, lines


def _settlement(
    rng: random.Random, customer: _Customer, total: Decimal, issued: date, due: date, start: date
) -> _Settlement:
    """The habit decides when (days after due) and how much is paid."""
    habit, unit = customer.habit, minor_unit(customer.currency)
    whole = [(_days(rng.gauss(2, 2.5)), total)]
    if habit == "early":
        return _Settlement([(-_days(customer.terms * rng.uniform(0.25, 0.8)), total)])
    if habit == "on_time":
        late = rng.random() < 0.05
        return _Settlement([(_days(rng.uniform(4, 10)) if late else _days(rng.gauss(0, 1.5)), total)])
    if habit == "steady_late":
        return _Settlement([(_days(customer.lateness + rng.gauss(0, 3)), total)])
    if habit in ("chronic_late", "new") and customer.lateness > 0:
        if rng.random() < 0.04:
            return _Settlement([])  # never paid
        return _Settlement([(_days(customer.lateness * math.exp(rng.gauss(0, 0.35))), total)])
    if habit == "worsening":
        progress = max((due - start).days, 0) / 730
        return _Settlement([(_days(2 + customer.lateness * progress + rng.gauss(0, 4)), total)])
    if habit == "seasonal":
        holiday = due.month in (7, 8, 12, 1)
        return _Settlement([(_days(rng.gauss(35, 6) if holiday else rng.gauss(3, 3)), total)])
    if habit == "disputer" and rng.random() < 0.25:
        paid = total
        if rng.random() < 0.4:
            paid = (total * Decimal(str(1 - rng.uniform(0.1, 0.4)))).quantize(unit, rounding=ROUND_HALF_UP)
        return _Settlement([(_days(rng.uniform(45, 100)), paid)])
    if habit == "short_payer" and rng.random() < 0.45:
        kept = (total * Decimal(str(1 - rng.uniform(0.02, 0.08)))).quantize(unit, rounding=ROUND_HALF_UP)
        return _Settlement([(_days(rng.gauss(3, 3)), kept)])
    if habit == "instalments":
        first = (total * Decimal("0.4")).quantize(unit, rounding=ROUND_HALF_UP)
        second = (total * Decimal("0.3")).quantize(unit, rounding=ROUND_HALF_UP)
        begin = _days(rng.gauss(0, 2))
        return _Settlement([(begin, first), (begin + 30, second), (begin + 60, total - first - second)])
    if habit == "defaulter" and customer.stops_paying is not None:
        payment_day = _days(rng.gauss(5, 4))
        if due + timedelta(days=payment_day) >= customer.stops_paying:
            return _Settlement([])
        return _Settlement([(payment_day, total)])
    return _Settlement(whole)


def _days(value: float) -> int:
    return round(value)


def _payments(lines: list[tuple[date, str, str, Decimal]]) -> tuple[AppliedPayment, ...]:
    """One payment per customer and day, applied to each invoice it pays."""
    by_payer_day: dict[tuple[date, str], list[tuple[str, Decimal]]] = defaultdict(list)
    for paid_on, customer, invoice_id, amount in lines:
        by_payer_day[(paid_on, customer)].append((invoice_id, amount))
    payments = []
    for number, (paid_on, customer) in enumerate(sorted(by_payer_day), start=1):
        for invoice_id, amount in sorted(by_payer_day[(paid_on, customer)]):
            payments.append(AppliedPayment(f"P{number:05d}", invoice_id, paid_on, amount))
    return tuple(payments)
