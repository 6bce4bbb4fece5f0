"""The collector worklist: the open invoices that need a person, ranked by expected loss and urgency.

On the list: every invoice open at the end of the as-of day that is past due, or that its lifecycle shows
promised, disputed or escalated. Each is ranked by

    priority = at stake x urgency
    at stake = amount due x the customer's risk score (`activities.forecasting.risk`, 0..1, 1 = riskiest)
    urgency  = 1 + min(days overdue, 120) / 30  (halved while a promise to pay is not yet due)
                 + 1 when a promise to pay falls due that day
                 + 2 when a promise was broken (its date passed unpaid, or the lifecycle recorded one)
                 + days disputed / 30           (an ageing dispute needs resolving)

so a month overdue doubles an invoice's urgency and a risky customer's big old invoice tops the list. Age stops
adding urgency at four months: debt that old is a write-off or legal decision, and a collector's calls do more
on a large invoice that is slipping now than on one lost a year ago (its risk keeps it on the list). Amounts
in different currencies cannot be compared without an exchange rate, so each currency has its own ranking.
Stage, owner, promise and dispute come from the invoices' lifecycles (`LifecycleFacts`, read from Temporal
where a stack runs); without them the ranking stands on the ledger alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from activities.forecasting.history import build_book
from activities.forecasting.risk import RiskScore, risk_scores, score_customer
from activities.reports.books import Books, money

OVERDUE_MONTH_DAYS = 30
OVERDUE_CAP_DAYS = 120
PENDING_PROMISE_FACTOR = 0.5
PROMISE_DUE_TODAY = 1.0
PROMISE_BROKEN = 2.0
DISPUTE_MONTH_DAYS = 30
NOBODY = "-"  # the owner filter for invoices nobody owns yet
RANKING = ("priority = amount due x risk score x urgency; urgency = 1 + min(days overdue, 120) / 30 (halved while "
           "a promise is not yet due) + 1 if a promise falls due today + 2 if a promise was broken "
           "+ days disputed / 30")


@dataclass(frozen=True, slots=True)
class LifecycleFacts:
    """What an invoice's lifecycle shows now."""

    workflow_id: str
    stage: str
    owner: str | None = None
    promise_until: date | None = None
    broken_promises: int = 0
    dispute: str | None = None
    dispute_opened: date | None = None  # None: the dispute's start is not on record
    escalated: bool = False


@dataclass(frozen=True, slots=True)
class WorklistRow:
    rank: int
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    currency: str
    amount_due: Decimal
    due_date: date
    days_overdue: int
    risk: RiskScore
    at_stake: Decimal
    urgency: float
    why: tuple[str, ...]
    lifecycle: LifecycleFacts | None

    @property
    def priority(self) -> float:
        return float(self.at_stake) * self.urgency

    def to_json(self) -> dict[str, Any]:
        facts = self.lifecycle
        return {
            "rank": self.rank,
            "invoice_id": self.invoice_id,
            "invoice_number": self.invoice_number,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "currency": self.currency,
            "amount_due": str(money(self.amount_due, self.currency)),
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "risk_score": self.risk.score,
            "risk_grade": self.risk.grade,
            "risk_reasons": list(self.risk.reasons),
            "at_stake": str(self.at_stake),
            "urgency": round(self.urgency, 3),
            "priority": round(self.priority, 2),
            "why": list(self.why),
            "workflow_id": facts.workflow_id if facts else None,
            "stage": facts.stage if facts else None,
            "owner": facts.owner if facts else None,
            "promise_until": facts.promise_until.isoformat() if facts and facts.promise_until else None,
            "dispute": facts.dispute if facts else None,
        }


@dataclass(frozen=True, slots=True)
class CurrencyWorklist:
    currency: str
    rows: tuple[WorklistRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "invoices": [r.to_json() for r in self.rows]}


@dataclass(frozen=True, slots=True)
class Worklist:
    as_of: date
    currencies: tuple[CurrencyWorklist, ...]

    @property
    def rows(self) -> list[WorklistRow]:
        return [row for currency in self.currencies for row in currency.rows]

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "ranking": RANKING,
                "currencies": [c.to_json() for c in self.currencies]}


@dataclass(frozen=True, slots=True)
class WorklistFilter:
    """Who is asking: an owner (`NOBODY` for unowned), a lifecycle stage, risk grades; empty = everyone."""

    owner: str | None = None
    stage: str | None = None
    grades: frozenset[str] = frozenset()

    def keeps(self, row: WorklistRow) -> bool:
        facts = row.lifecycle
        owner = (facts.owner if facts else None) or ""
        if self.owner == NOBODY and owner:
            return False
        if self.owner and self.owner != NOBODY and owner.casefold() != self.owner.strip().casefold():
            return False
        if self.stage and (facts is None or facts.stage != self.stage.strip()):
            return False
        return not self.grades or row.risk.grade in self.grades


def urgency(days_overdue: int, as_of: date, facts: LifecycleFacts | None) -> tuple[float, list[str]]:
    """The urgency of one invoice and the words that explain it."""
    why = [f"{days_overdue} days overdue" if days_overdue > 0 else "not yet due"]
    overdue = min(days_overdue, OVERDUE_CAP_DAYS) / OVERDUE_MONTH_DAYS
    value = 1.0
    if facts is None:
        return value + overdue, why
    promise = facts.promise_until
    broken = facts.broken_promises + (1 if promise is not None and promise < as_of else 0)
    if promise is not None and promise > as_of:
        overdue *= PENDING_PROMISE_FACTOR
        why.append(f"promised to pay by {promise.isoformat()}")
    if promise == as_of:
        value += PROMISE_DUE_TODAY
        why.append("promise to pay falls due today")
    if broken:
        value += PROMISE_BROKEN
        why.append("promise to pay broken" + (f" ({broken} times)" if broken > 1 else ""))
    if facts.dispute:
        if facts.dispute_opened is not None:
            days = max((as_of - facts.dispute_opened).days, 0)
            value += days / DISPUTE_MONTH_DAYS
            why.append(f"disputed for {days} days: {facts.dispute}")
        else:
            why.append(f"disputed: {facts.dispute}")
    if facts.escalated:
        why.append("escalated to a collector")
    return value + overdue, why


def worklist(
    books: Books,
    as_of: date,
    lifecycles: Mapping[str, LifecycleFacts] | None = None,
    which: WorklistFilter | None = None,
    names: Mapping[str, str] | None = None,
) -> Worklist:
    """The ranked worklist at the end of `as_of`; `lifecycles` by invoice id, `names` by customer id."""
    standing = books.on(as_of)
    book = build_book(standing.invoices, standing.payments, as_of)
    scores = {score.customer_id: score for score in risk_scores(book)}
    known = {**standing.customer_names(), **(names or {})}
    facts_of = lifecycles or {}
    which = which or WorklistFilter()
    candidates: dict[str, list[WorklistRow]] = {}
    for invoice, balance in standing.open_on(as_of):
        days = max((as_of - invoice.due_date).days, 0)
        facts = facts_of.get(invoice.invoice_id)
        flagged = facts is not None and bool(facts.promise_until or facts.dispute or facts.escalated)
        if days <= 0 and not flagged:
            continue
        risk = scores.get(invoice.customer_id) or score_customer(invoice.customer_id, (), as_of)
        value, why = urgency(days, as_of, facts)
        why.insert(1, f"risk {risk.score:.2f} ({risk.grade})" + (f": {risk.reasons[0]}" if risk.reasons else ""))
        row = WorklistRow(
            rank=0, invoice_id=invoice.invoice_id, invoice_number=invoice.invoice_number,
            customer_id=invoice.customer_id, customer_name=known.get(invoice.customer_id, invoice.customer_name),
            currency=invoice.currency, amount_due=balance, due_date=invoice.due_date, days_overdue=days, risk=risk,
            at_stake=money(balance * Decimal(str(risk.score)), invoice.currency), urgency=value, why=tuple(why),
            lifecycle=facts,
        )
        if which.keeps(row):
            candidates.setdefault(invoice.currency, []).append(row)
    currencies = []
    for currency in sorted(candidates):
        ordered = sorted(candidates[currency], key=lambda r: (-r.priority, -r.days_overdue, r.invoice_id))
        ranked = tuple(_ranked(row, rank) for rank, row in enumerate(ordered, start=1))
        currencies.append(CurrencyWorklist(currency, ranked))
    return Worklist(as_of, tuple(currencies))


def _ranked(row: WorklistRow, rank: int) -> WorklistRow:
    return replace(row, rank=rank)
