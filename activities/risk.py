"""The risk refresh: every customer's risk score of one ledger company, from its books (issue 11).

Scores come from payment behaviour only (activities/forecasting/risk.py, the same model as `duecourse risk`), and
are stored (adapters/risk_store.py) for every lifecycle to read with its invoice. The polling backstop asks for a
refresh on each of its runs; the activity computes again only when the stored scores are older than
`REFRESH_EVERY`, so a company's book is read at most that often whatever the sync interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel
from temporalio import activity

from activities.errors import as_application_errors
from activities.forecasting.history import build_book
from activities.forecasting.risk import risk_scores
from activities.ledger import ledger_key
from activities.reports.ledger_books import books_from_ledger
from adapters.ledger import LedgerPort
from adapters.risk import CustomerRisk
from adapters.risk_store import RiskScores

REFRESH_EVERY = timedelta(minutes=10)


class RefreshRiskInput(BaseModel):
    ledger: str
    tenant: str
    today: date | None = None  # None: the ledger's own today (the dev stack's demo clock runs fast), else UTC


class RefreshRiskResult(BaseModel):
    customers: int
    refreshed: bool  # False: the stored scores were fresh enough


class RiskActivities:
    def __init__(self, ledgers: Mapping[str, LedgerPort], scores: RiskScores,
                 refresh_every: timedelta = REFRESH_EVERY) -> None:
        self.ledgers = ledgers
        self.scores = scores
        self.refresh_every = refresh_every

    @activity.defn
    def refresh_risk_scores(self, request: RefreshRiskInput) -> RefreshRiskResult:
        port = self.ledgers.get(ledger_key(request.ledger, request.tenant))
        if port is None:
            return RefreshRiskResult(customers=0, refreshed=False)
        now = datetime.now(UTC)
        last = self.scores.computed_at(request.ledger, request.tenant)
        if last is not None and now - last < self.refresh_every:
            return RefreshRiskResult(customers=0, refreshed=False)
        today = request.today or _ledger_today(port)
        with as_application_errors():
            standing = books_from_ledger(port, today).on(today)
        book = build_book(standing.invoices, standing.payments, today)
        scores = [CustomerRisk(customer_id=s.customer_id, score=s.score, grade=s.grade, reasons=list(s.reasons),
                               computed_at=now) for s in risk_scores(book)]
        self.scores.replace(request.ledger, request.tenant, scores)
        activity.logger.info("risk scores of %s/%s: %d customers", request.ledger, request.tenant, len(scores))
        return RefreshRiskResult(customers=len(scores), refreshed=True)


def _ledger_today(port: LedgerPort) -> date:
    """The ledger's own today where it keeps a clock of its own (the sandbox's demo clock), else UTC's."""
    clock = getattr(port, "now", None)
    moment = clock() if callable(clock) else None
    return moment.date() if isinstance(moment, datetime) else datetime.now(UTC).date()


__all__ = ["REFRESH_EVERY", "RefreshRiskInput", "RefreshRiskResult", "RiskActivities"]
