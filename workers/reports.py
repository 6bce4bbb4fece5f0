"""Reports for finance leads and for deciding when to trust automation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from adapters.ledger import BankLineStatus, LedgerPort, NotFound
from adapters.store import Store

SHADOW_ACTION = "cash match suggested (shadow)"


class ShadowComparison(BaseModel):
    bank_line_id: str
    suggested: list[tuple[str, str]]
    engine_decision: str | None
    people_did: list[tuple[str, str]] | None  # None: not applied in the ledger yet
    agrees: bool | None


class ShadowCashReport(BaseModel):
    suggestions: int
    decided_by_people: int
    agreed: int
    match_rate: float | None  # agreed / decided_by_people
    auto_would_have_agreed: float | None  # of the engine's `auto` suggestions people decided, the share right
    disagreements: list[ShadowComparison]
    pending: int


def shadow_cash_report(store: Store, ledger: LedgerPort) -> ShadowCashReport:
    """Compare the engine's shadow-mode suggestions with what people then recorded in the ledger."""
    comparisons: list[ShadowComparison] = []
    for entry in store.list_audit(limit=100_000):
        if entry.action != SHADOW_ACTION:
            continue
        inputs: dict[str, Any] = entry.inputs
        suggested = [(str(i), str(a)) for i, a in inputs.get("suggested") or []]
        people: list[tuple[str, str]] | None = None
        try:
            line = ledger.get_bank_line(str(inputs["bank_line_id"]))
        except NotFound:
            continue
        if line.status == BankLineStatus.MATCHED and line.payment_id:
            payment = next((p for p in ledger.list_payments() if p.id == line.payment_id), None)
            if payment is not None:
                people = [(a.invoice_id, str(a.amount.amount)) for a in payment.allocations]
        agrees = None if people is None else sorted(people) == sorted(suggested)
        comparisons.append(ShadowComparison(bank_line_id=line.id, suggested=suggested,
                                            engine_decision=inputs.get("decision"), people_did=people, agrees=agrees))
    decided = [c for c in comparisons if c.agrees is not None]
    agreed = [c for c in decided if c.agrees]
    autos = [c for c in decided if c.engine_decision == "auto"]
    return ShadowCashReport(
        suggestions=len(comparisons), decided_by_people=len(decided), agreed=len(agreed),
        match_rate=len(agreed) / len(decided) if decided else None,
        auto_would_have_agreed=sum(1 for c in autos if c.agrees) / len(autos) if autos else None,
        disagreements=[c for c in decided if not c.agrees], pending=len(comparisons) - len(decided),
    )
