"""The records cash application works on: open invoices, incoming payments, and what was decided.

Money is `Decimal` at this boundary (the engine counts whole cents internally); a confidence is a float
because it is a probability, not money.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

# the engine's outcome for one payment (not a human's verdict: that is `workflows.approvals.Decision`)
MatchDecision = Literal["auto", "review", "unmatched"]

CENT = Decimal("0.01")


@dataclass(slots=True, frozen=True)
class OpenInvoice:
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    currency: str
    total: Decimal
    balance: Decimal
    issue_date: date
    due_date: date


@dataclass(slots=True, frozen=True)
class IncomingPayment:
    """A bank line or receipt: `reference` is the free-text memo or remittance advice, possibly empty."""

    payment_id: str
    date: date
    amount: Decimal
    currency: str
    payer_name: str
    reference: str = ""


@dataclass(slots=True, frozen=True)
class MatchAllocation:
    """Part of a payment applied to one invoice, in the payment's currency (the ledger port's `Allocation`
    carries `Money`; the engine works in one currency per payment)."""

    invoice_id: str
    amount: Decimal

    def to_json(self) -> dict[str, str]:
        return {"invoice_id": self.invoice_id, "amount": str(self.amount.quantize(CENT))}


@dataclass(slots=True, frozen=True)
class MatchResult:
    """One payment's outcome. For `review` the allocations are the best suggestion; whatever part of the
    payment is not allocated is unapplied credit."""

    payment_id: str
    decision: MatchDecision
    confidence: float
    allocations: list[MatchAllocation]
    explanation: str
    customer_id: str | None = None
    deduction_reason: str | None = None

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal("0.00"))

    def to_json(self) -> dict[str, Any]:
        """Exactly the `MATCHES.json` object of the batch cash-application interface."""
        return {
            "payment_id": self.payment_id,
            "decision": self.decision,
            "confidence": round(self.confidence, 4),
            "allocations": [a.to_json() for a in self.allocations],
            "explanation": self.explanation,
        }


@dataclass(slots=True, frozen=True)
class MatchConfig:
    """Thresholds of the matching engine.

    A payment is within tolerance of a balance when it differs by at most the *lower* of the absolute and
    the relative limit (as ledger tolerance groups do): a 2.00 bank fee passes on a 1,000.00 invoice but
    not on a 40.00 one, where it would be a tenth of the bill.
    """

    auto_threshold: float = 0.9
    # Below this the best suggestion is too weak to show a clerk: the payment is `unmatched`.
    review_floor: float = 0.5
    fee_tolerance_abs: Decimal = Decimal("2.00")
    fee_tolerance_rel: Decimal = Decimal("0.005")
    # Largest combination searched for one payment paying several invoices without naming them.
    max_subset_size: int = 4
    # Only the oldest-due open invoices of a customer take part in the combination search.
    max_subset_candidates: int = 40
    # Payer-name similarity (0..1) from which a name alone identifies a customer.
    name_strong: float = 0.88
    # ... or when the amount equals, to the cent, an invoice balance that at most two open invoices share.
    name_strong_distinct: float = 0.8
    # Similarity from which a customer is a candidate at all.
    name_candidate: float = 0.7
    # How far ahead of the runner-up the best customer must be for a name to be unambiguous.
    name_margin: float = 0.05

    def tolerance_cents(self, balance_cents: int) -> int:
        """Whole cents a payment may differ from `balance_cents` and still pay it; a cent of rounding always."""
        numerator, denominator = self.fee_tolerance_rel.as_integer_ratio()
        return max(1, min(int(self.fee_tolerance_abs * 100), balance_cents * numerator // denominator))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while reading, indexing or matching a batch: each allocates tens of
    thousands of long-lived objects without cycles, and each collection would walk all of them again.
    Reference counting still frees everything; the previous collector state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
