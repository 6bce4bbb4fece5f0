"""A customer's risk score as the vocabulary carries it: light (pydantic only), so workflows may hold one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CustomerRisk(BaseModel):
    customer_id: str
    score: float  # 0..1, 1 = most likely to pay late
    grade: str  # A (best) .. E
    reasons: list[str]  # the three that moved the score most, in a collector's words
    computed_at: datetime


__all__ = ["CustomerRisk"]
