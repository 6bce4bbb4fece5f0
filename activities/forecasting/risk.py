"""The customer risk score: how likely a customer is to pay late, from its payment behaviour only.

A scorecard in log-odds, the shape credit scoring has used for decades because each point can be explained:
score = sigmoid(w x behaviour + overdue now + exposure), where each term is one thing a collector checks.

Behaviour (from invoices paid in full, shrunk toward "no opinion" for a new customer):
- `delay`: days paid after the due date on average, i.e. days-to-pay against the terms (-1.0 at the due date,
  0 at 10 days late, +2.0 at 30 days late or more; early payers down to -1.5);
- `late`: the share paid more than `GRACE_DAYS` after due (1.5 x (share - 0.3));
- `very_late`: the share paid more than 30 days after due (1.5 x share);
- `trend`: the recent third of its invoices against the older ones, once there are three of each
  (+1 for every 12 days slower, from -1.0 to +1.5; ignored under 5 days);
- `short`: short-paid closes (a deduction, a credit, a write-off) 2.0 x share, instalments 0.6 x share.
They are multiplied by w = n / (n + `CREDIBILITY_INVOICES`), n = invoices paid in full: a customer with no
history scores 0.5, the middle, until it has shown its habit ("new customer = uncertain").
Now (facts, not shrunk):
- `overdue`: the age of what it owes past due, averaged over its overdue invoices (each weighs the share of
  it still unpaid): +2.2 x min(1, age / 75 days), so one invoice three months overdue alone makes it high;
- `exposure`: what it owes against its usual monthly billing over the last year, +0.4 per month above two
  (at most +1.6), once the relationship is three months old.

Calibrated on constructed habits (tests/activities/forecasting/test_risk.py): an on-time payer with a year
of history scores about 0.2, a customer two months late every time above 0.9, one invoice 120 days overdue
with no history about 0.9, a new customer with nothing overdue exactly 0.5.
Grades (`GRADES`): A below 0.2, B below 0.4, C below 0.6, D below 0.8, E from 0.8.
Reasons: the three terms that moved the log-odds most (either way), in the customer's own figures.

Why hand-written and not fitted (scikit-learn's logistic regression or boosting): the terms are few and each
needs its own sentence; a small company's book has too few customers to fit weights on, and weights fitted on
our synthetic history would only learn our own generator. The backtest reports the score's AUC for "paid more
than 30 days after due" on the synthetic history, so a change to the weights is measured, not guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from activities.forecasting.forecast import money
from activities.forecasting.history import Book, InvoiceHistory

GRACE_DAYS = 5
VERY_LATE_DAYS = 30
CREDIBILITY_INVOICES = 3.0
OVERDUE_FULL_DAYS = 75
RELATIONSHIP_FOR_EXPOSURE_DAYS = 90
GRADES = ((0.2, "A"), (0.4, "B"), (0.6, "C"), (0.8, "D"))  # score below the bound -> grade; else "E"
SHOWN_REASONS = 3
_LATE_NEUTRAL_SHARE = 0.3  # paying late this often moves the score neither way
_NEGLIGIBLE = 0.15  # a term that moved the log-odds less than this is not worth a reason


@dataclass(slots=True, frozen=True)
class RiskScore:
    customer_id: str
    score: float
    grade: str
    reasons: tuple[str, ...]
    factors: dict[str, float] = field(default_factory=dict)  # term -> log-odds it added (after shrinkage)

    def to_json(self) -> dict[str, Any]:
        """One entry of `RISK.json`, exactly the fixed interface."""
        return {
            "customer_id": self.customer_id,
            "score": self.score,
            "grade": self.grade,
            "reasons": list(self.reasons),
        }


@dataclass(slots=True, frozen=True)
class _Term:
    name: str
    logit: float
    reason: str


def grade_of(score: float) -> str:
    for bound, grade in GRADES:
        if score < bound:
            return grade
    return "E"


def risk_scores(book: Book) -> list[RiskScore]:
    """One score per customer with an invoice in the book, riskiest first (then by customer id). A customer
    with nothing but credit notes has no behaviour to judge and scores as a new one."""
    scores = [score_customer(c, book.by_customer.get(c, ()), book.as_of) for c in book.customers]
    return sorted(scores, key=lambda s: (-s.score, s.customer_id))


def score_customer(customer_id: str, invoices: Sequence[InvoiceHistory], as_of: date) -> RiskScore:
    paid = sorted((i for i in invoices if i.delay_days is not None), key=lambda i: (i.due_date, i.invoice_id))
    weight = len(paid) / (len(paid) + CREDIBILITY_INVOICES)
    behaviour = [t for t in _behaviour(paid) if t.logit]
    shrunk = [_Term(t.name, weight * t.logit, t.reason) for t in behaviour]
    now = [t for t in (_overdue(invoices, as_of), _exposure(invoices, as_of)) if t is not None]
    terms = [*shrunk, *now]
    logit = sum(t.logit for t in terms)
    score = round(1.0 / (1.0 + math.exp(-logit)), 4)
    ranked = sorted((t for t in terms if abs(t.logit) >= _NEGLIGIBLE), key=lambda t: (-abs(t.logit), t.name))
    if len(paid) < CREDIBILITY_INVOICES:
        held = (1.0 - weight) * abs(sum(t.logit for t in behaviour))
        count = "no invoice paid yet" if not paid else f"only {_count(len(paid), 'invoice')} paid so far"
        new = _Term("new", max(held, 0.5), f"new customer: {count}, so its habit is not known yet")
        ranked = sorted([*ranked, new], key=lambda t: (-abs(t.logit), t.name))
    return RiskScore(
        customer_id=customer_id,
        score=score,
        grade=grade_of(score),
        reasons=tuple(t.reason for t in ranked[:SHOWN_REASONS]),
        factors={t.name: round(t.logit, 4) for t in terms},
    )


def _behaviour(paid: Sequence[InvoiceHistory]) -> list[_Term]:
    if not paid:
        return []
    n = len(paid)
    delays = [float(i.delay_days or 0) for i in paid]
    mean_delay = sum(delays) / n
    terms_days = round(sum(i.terms_days for i in paid) / n)
    late = [d for d in delays if d > GRACE_DAYS]
    very_late = [d for d in delays if d > VERY_LATE_DAYS]
    days_to_pay = round(mean_delay) + terms_days
    terms = [
        _Term(
            "delay",
            min(max(mean_delay, -5.0), 30.0) / 10.0 - 1.0,
            f"takes {_count(days_to_pay, 'day')} on average to pay {terms_days}-day terms ({_when(mean_delay)})",
        ),
        _Term(
            "late",
            1.5 * (len(late) / n - _LATE_NEUTRAL_SHARE),
            _late_reason(n, late),
        ),
        _Term(
            "very_late",
            1.5 * len(very_late) / n,
            f"{len(very_late)} of {_count(n, 'invoice')} paid more than {VERY_LATE_DAYS} days after due",
        ),
    ]
    trend = _trend(delays)
    if trend is not None:
        terms.append(trend)
    short = _short(paid)
    if short is not None:
        terms.append(short)
    return terms


def _late_reason(n: int, late: Sequence[float]) -> str:
    if len(late) / n > _LATE_NEUTRAL_SHARE:
        return (
            f"paid {len(late)} of {_count(n, 'invoice')} late (over {GRACE_DAYS} days past due), "
            f"on average {round(sum(late) / len(late))} days after due"
        )
    if not late:
        return f"paid {'its only invoice' if n == 1 else f'all {n} invoices'} within {GRACE_DAYS} days of due"
    return f"paid {n - len(late)} of {_count(n, 'invoice')} within {GRACE_DAYS} days of due"


def _trend(delays: Sequence[float]) -> _Term | None:
    recent_count = max(3, len(delays) // 3)
    if len(delays) - recent_count < 3:
        return None
    recent, older = delays[-recent_count:], delays[:-recent_count]
    recent_mean, older_mean = sum(recent) / len(recent), sum(older) / len(older)
    change = recent_mean - older_mean
    if abs(change) < 5:
        return None
    word = "getting slower" if change > 0 else "getting faster"
    return _Term(
        "trend",
        min(max(change / 12.0, -1.0), 1.5),
        f"{word}: its last {recent_count} invoices were paid {_when(recent_mean)} on average, "
        f"against {_when(older_mean)} before",
    )


def _short(paid: Sequence[InvoiceHistory]) -> _Term | None:
    short = [i for i in paid if i.short_paid]
    split = [i for i in paid if i.instalments and not i.short_paid]
    if not short and not split:
        return None
    n = len(paid)
    parts = []
    if short:
        unpaid = _amounts((i.currency, i.total - i.paid) for i in short)
        parts.append(f"short-paid {len(short)} of {_count(n, 'invoice')} ({unpaid} left unpaid)")
    if split:
        parts.append(f"paid {len(split)} of {_count(n, 'invoice')} in instalments")
    return _Term("short", 2.0 * len(short) / n + 0.6 * len(split) / n, "; ".join(parts))


def _overdue(invoices: Sequence[InvoiceHistory], as_of: date) -> _Term | None:
    overdue = [i for i in invoices if i.is_open and i.due_date < as_of]
    if not overdue:
        return None
    weights = [float(min(i.balance / i.total, Decimal(1))) for i in overdue]
    ages = [i.days_overdue(as_of) for i in overdue]
    age = sum(w * a for w, a in zip(weights, ages, strict=True)) / max(sum(weights), 1e-9)
    owed = _amounts((i.currency, i.balance) for i in overdue)
    return _Term(
        "overdue",
        2.2 * min(1.0, age / OVERDUE_FULL_DAYS),
        f"{_count(len(overdue), 'invoice')} overdue now ({owed}), the oldest {max(ages)} days past due",
    )


def _exposure(invoices: Sequence[InvoiceHistory], as_of: date) -> _Term | None:
    first = min((i.issue_date for i in invoices), default=as_of)
    if (as_of - first).days < RELATIONSHIP_FOR_EXPOSURE_DAYS:
        return None
    since = max(first, as_of - timedelta(days=365))
    months = max((as_of - since).days, 1) / 30.4
    worst: tuple[float, str, Decimal] | None = None
    for currency in sorted({i.currency for i in invoices}):
        mine = [i for i in invoices if i.currency == currency]
        billed = sum((i.total for i in mine if i.issue_date > since), Decimal(0))
        owed = sum((i.balance for i in mine if i.is_open), Decimal(0))
        if billed <= 0 or owed <= 0:
            continue
        ratio = float(owed / billed) * months
        if worst is None or ratio > worst[0]:
            worst = (ratio, currency, owed)
    if worst is None:
        return None
    ratio, currency, owed = worst
    return _Term(
        "exposure",
        0.4 * min(max(ratio - 2.0, 0.0), 4.0),
        f"owes {ratio:.1f} months of its usual billing ({_amounts([(currency, owed)])} open)",
    )


def _when(delay: float) -> str:
    days = round(delay)
    if days == 0:
        return "on the due date"
    if days > 0:
        return f"{_count(days, 'day')} after due"
    return f"{_count(-days, 'day')} before due"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _amounts(pairs: Iterable[tuple[str, Decimal]]) -> str:
    totals: dict[str, Decimal] = {}
    for currency, amount in pairs:
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return " + ".join(f"{money(amount, currency):,} {currency}" for currency, amount in sorted(totals.items()))
