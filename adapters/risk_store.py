"""Customers' risk scores as last computed, per ledger company: what every lifecycle reads with its invoice.

The risk refresh (activities/risk.py) replaces a company's scores at once; `fetch_invoice` reads one customer's
(a primary-key lookup), so each lifecycle upserts `RiskScore` without computing anything itself. The table is
its own (created when first used), so a data dir from before it opens unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Field, SQLModel, col, delete, select

from adapters.risk import CustomerRisk
from adapters.store import Store


class RiskRow(SQLModel, table=True):
    __tablename__ = "risk_scores"
    ledger: str = Field(primary_key=True)
    tenant: str = Field(primary_key=True)
    customer_id: str = Field(primary_key=True)
    score: float
    grade: str
    reasons: str  # JSON list of sentences
    computed_at: datetime


def _table() -> Any:
    return RiskRow.__table__  # type: ignore[attr-defined]


class RiskScores:
    def __init__(self, store: Store) -> None:
        self.store = store
        SQLModel.metadata.create_all(store.engine, tables=[_table()])

    def replace(self, ledger: str, tenant: str, scores: Sequence[CustomerRisk]) -> None:
        """The company's scores are these now (one transaction: a reader sees the old set or the new one)."""
        with self.store.session() as session:
            session.exec(delete(RiskRow).where(col(RiskRow.ledger) == ledger, col(RiskRow.tenant) == tenant))
            for risk in scores:
                session.add(RiskRow(ledger=ledger, tenant=tenant, customer_id=risk.customer_id, score=risk.score,
                                    grade=risk.grade, reasons=json.dumps(risk.reasons), computed_at=risk.computed_at))
            session.commit()

    def get(self, ledger: str, tenant: str, customer_id: str) -> CustomerRisk | None:
        with self.store.session() as session:
            row = session.get(RiskRow, (ledger, tenant, customer_id))
            return None if row is None else _risk(row)

    def computed_at(self, ledger: str, tenant: str) -> datetime | None:
        """When the company's scores were last computed (None: never)."""
        with self.store.session() as session:
            row = session.exec(select(RiskRow).where(col(RiskRow.ledger) == ledger, col(RiskRow.tenant) == tenant)
                               .limit(1)).first()
            return None if row is None else _aware(row.computed_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _risk(row: RiskRow) -> CustomerRisk:
    return CustomerRisk(customer_id=row.customer_id, score=row.score, grade=row.grade,
                        reasons=list(json.loads(row.reasons)), computed_at=_aware(row.computed_at))


__all__ = ["CustomerRisk", "RiskScores"]
