"""Invoice drafts from billable work: pure rules, no I/O, for the quote-to-invoice workflow.

An accepted estimate becomes a draft with its lines as accepted; a week of time entries becomes one draft with
a line per entry (hours x the hourly rate, rounded half-up to the currency's minor unit). The customer's terms
give the due date and the customer's currency is the invoice's (a source in another currency is a guardrail
finding, never silently converted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal

from adapters.ledger import Customer, Estimate, InvoiceDraft, InvoiceLine, Money, TimeEntry, minor_unit


def due_date(customer: Customer, issue_date: date) -> date:
    """The day payment is due on the customer's terms (net N days from the issue date)."""
    return issue_date + timedelta(days=customer.terms_days)


def draft_from_estimate(estimate: Estimate, customer: Customer, issue_date: date) -> InvoiceDraft:
    """The invoice for an accepted estimate: its lines as the customer accepted them, the customer's terms
    and currency, and the estimate named so the ledger links (and closes) it."""
    return InvoiceDraft(customer_id=customer.id, currency=customer.currency,
                        lines=[line.model_copy() for line in estimate.lines], issue_date=issue_date,
                        due_date=due_date(customer, issue_date), estimate_id=estimate.id)


def time_line(entry: TimeEntry) -> InvoiceLine:
    """One entry as an invoice line: its date and note, hours x rate rounded half-up to the minor unit."""
    amount = (entry.hours * entry.rate.amount).quantize(minor_unit(entry.rate.currency), rounding=ROUND_HALF_UP)
    return InvoiceLine(description=f"{entry.date.isoformat()} {entry.description}", quantity=entry.hours,
                       unit_price=entry.rate.amount, amount=amount)


def draft_from_time_entries(entries: Iterable[TimeEntry], customer: Customer, issue_date: date) -> InvoiceDraft:
    """One invoice for these entries of one customer, oldest work first."""
    ordered = sorted(entries, key=lambda entry: (entry.date, entry.id))
    if not ordered:
        raise ValueError("an invoice for time needs at least one time entry")
    others = {entry.customer_id for entry in ordered} - {customer.id}
    if others:
        raise ValueError(f"time entries of {', '.join(sorted(others))} cannot go on {customer.id}'s invoice")
    return InvoiceDraft(customer_id=customer.id, currency=customer.currency,
                        lines=[time_line(entry) for entry in ordered], issue_date=issue_date,
                        due_date=due_date(customer, issue_date))


def iso_week(day: date) -> str:
    """The ISO 8601 week a day belongs to, as `YYYY-Www` (2025-12-29 is in 2026-W01)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


BillingPeriod = Literal["weekly", "monthly"]


def billing_period_key(day: date, period: BillingPeriod) -> str:
    """The billing period a day of work falls in: its ISO week (`2026-W01`) or its month (`2026-01`)."""
    return iso_week(day) if period == "weekly" else f"{day.year:04d}-{day.month:02d}"


def period_days(key: str) -> tuple[date, date]:
    """The first and last day of a billing period key (`YYYY-Www` or `YYYY-MM`); ValueError for anything else."""
    try:
        if len(key) == 8 and key[4:6] == "-W":
            first = date.fromisocalendar(int(key[:4]), int(key[6:]), 1)
            return first, first + timedelta(days=6)
        if len(key) == 7 and key[4] == "-":
            first = date(int(key[:4]), int(key[5:]), 1)
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return first, following - timedelta(days=1)
    except ValueError:
        pass
    raise ValueError(f"{key!r} is no billing period (an ISO week such as 2026-W01 or a month such as 2026-01)")


def next_period_key(key: str) -> str:
    """The period after `key`, of the same kind (2025-W52 -> 2026-W01, 2025-12 -> 2026-01)."""
    last = period_days(key)[1] + timedelta(days=1)
    return billing_period_key(last, "weekly" if "W" in key else "monthly")


def weekly_batches(entries: Iterable[TimeEntry]) -> Mapping[tuple[str, str], tuple[TimeEntry, ...]]:
    """Unbilled entries grouped per (customer, ISO week): each group becomes one invoice."""
    groups: dict[tuple[str, str], list[TimeEntry]] = {}
    for entry in entries:
        if entry.invoice_id is None:
            groups.setdefault((entry.customer_id, iso_week(entry.date)), []).append(entry)
    return MappingProxyType({key: tuple(sorted(group, key=lambda e: (e.date, e.id)))
                             for key, group in sorted(groups.items())})


def draft_total(draft: InvoiceDraft) -> Money:
    """The sum of the lines, at the currency's own decimals ("7500" reads 7500.00 in USD)."""
    total = sum((line.amount for line in draft.lines), Decimal("0"))
    return Money(amount=total.quantize(minor_unit(draft.currency), rounding=ROUND_HALF_UP), currency=draft.currency)
