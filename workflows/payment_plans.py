"""Payment plans (issue 12): a balance split into dated instalments, and where a customer stands on it.

Pure rules, no I/O and no clock. `split_balance` makes instalments that add up exactly to the balance in the
currency's own minor unit: every instalment but the last is the balance divided evenly and rounded down, the
last takes the remainder (so it is never less than the others, and nothing is lost or invented by rounding).
`plan_position` says, from what has been paid since the plan began, which instalment is next and whether one
was missed: an instalment is missed once its date has passed (the customer's day after it) and the amount paid
since the plan began is below the plan's running total up to it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.ledger import minor_unit

MAX_INSTALMENTS = 60
MAX_EVERY_DAYS = 366


class PlanError(ValueError):
    """The plan cannot be made as asked (the message says which input and why)."""


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    due_date: date
    amount: Decimal
    running_total: Decimal  # what the customer has paid under the plan by this instalment, all told


class PaymentPlan(BaseModel):
    """An approved plan on one invoice; `balance_at_start` is the balance the instalments add up to."""

    number: int  # the n-th plan proposed on this invoice: keys its item
    currency: str
    balance_at_start: Decimal
    instalments: tuple[Instalment, ...]
    proposed_by: str
    approved_by: str = ""
    status: Literal["active", "completed", "broken"] = "active"
    ended_on: date | None = None
    missed: int | None = None  # the instalment that was missed, when broken


class PlanPosition(BaseModel):
    model_config = ConfigDict(frozen=True)

    paid: Decimal  # since the plan began
    next: Instalment | None  # the first instalment not yet covered by what was paid; None: all covered
    missed: Instalment | None  # an instalment whose date passed uncovered: the plan is broken


def split_balance(balance: Decimal, currency: str, instalments: int, first: date, every_days: int) -> tuple[
        Instalment, ...]:
    """`instalments` amounts adding up exactly to `balance`, the first on `first`, then every `every_days`."""
    if not 2 <= instalments <= MAX_INSTALMENTS:
        raise PlanError(f"a plan has 2 to {MAX_INSTALMENTS} instalments, not {instalments} (one payment by a date "
                        "is a promise to pay)")
    if not 1 <= every_days <= MAX_EVERY_DAYS:
        raise PlanError(f"instalments fall 1 to {MAX_EVERY_DAYS} days apart, not {every_days}")
    unit = minor_unit(currency)
    if not balance.is_finite() or balance <= 0 or balance != balance.quantize(unit):
        raise PlanError(f"a plan splits a positive balance in whole {currency} minor units, not {balance}")
    if balance < unit * instalments:
        raise PlanError(f"{balance} {currency} cannot be split into {instalments} instalments of at least {unit}")
    share = (balance / instalments).quantize(unit, rounding=ROUND_DOWN)
    amounts = [share] * (instalments - 1) + [balance - share * (instalments - 1)]
    plan: list[Instalment] = []
    total = Decimal(0)
    for n, amount in enumerate(amounts, start=1):
        total += amount
        plan.append(Instalment(number=n, due_date=first + timedelta(days=every_days * (n - 1)), amount=amount,
                               running_total=total))
    return tuple(plan)


def plan_position(plan: PaymentPlan, balance_now: Decimal, today: date) -> PlanPosition:
    """Where the customer stands on `today` (their own day) with `balance_now` still owed on the invoice."""
    paid = plan.balance_at_start - balance_now
    upcoming = next((i for i in plan.instalments if paid < i.running_total), None)
    missed = upcoming if upcoming is not None and upcoming.due_date < today else None
    return PlanPosition(paid=paid, next=upcoming, missed=missed)


__all__ = ["MAX_EVERY_DAYS", "MAX_INSTALMENTS", "Instalment", "PaymentPlan", "PlanError", "PlanPosition",
           "plan_position", "split_balance"]
