"""Late fees in the collections policy (issue 12): the `[fees]` section and the fee a lifecycle proposes.

The section, company-wide, with an override per ladder (a ladder is a segment: its `match` says which
customers it is for):

    [fees]
    kind = "statutory"          # "none" | "flat" | "percentage" | "statutory"
    jurisdiction = "GB"         # statutory only: "GB" (Late Payment of Commercial Debts Act) or "EU" (2011/7/EU)
    after_days = 30             # overdue this many days before a fee is proposed
    [[fees.rates]]              # the reference rate's history (Bank Rate for GB, the ECB MRO rate for EU)
    effective_date = 2023-08-03
    rate_percent = 5.25
    [fees.ladders.trade]        # customers on the ladder "trade" pay a flat fee instead
    kind = "flat"
    amount = 25                 # in the invoice's own currency
    after_days = 14

One fee per invoice: a lifecycle proposes it once the invoice is `after_days` late and never again, whether a
human approves or rejects it. Statutory interest is computed up to the day it is proposed (days late, the
rate of SI 2002/1675 or the directive, the fixed compensation) and claimed in that one item: running a new
interest invoice every month would bill interest a customer could settle in one payment as many small debts,
and an approver deciding on one clear figure is the point of the item. `late_fee_for` is the pure rule
(`workflows.late_fees` does the arithmetic); no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.late_fees import (
    LateFeeError,
    RateChange,
    ReferenceRates,
    UnpaidDebt,
    flat_fee,
    percentage_fee,
    statutory_interest,
)

FeeKind = Literal["none", "flat", "percentage", "statutory"]
Percent = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)]
FEE_RULES_VERSION = "late-fee-rules/1"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeeProblem(BaseModel):
    """A logic problem in the `[fees]` section: the path of keys below `fees`, and what is wrong."""

    model_config = ConfigDict(frozen=True)

    loc: tuple[str | int, ...]
    message: str


class FeeRule(_Strict):
    """Which fee, and from how many days late it is proposed."""

    kind: FeeKind = "none"
    amount: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] | None = None  # flat, in the invoice's currency
    percent: Percent | None = None  # percentage: a one-off share of the unpaid balance (1.5 = 1.5 %)
    jurisdiction: Literal["GB", "EU"] | None = None  # statutory
    after_days: int = Field(default=30, ge=0)

    def problems(self) -> Iterator[FeeProblem]:
        needs = {"flat": "amount", "percentage": "percent", "statutory": "jurisdiction"}
        wanted = needs.get(self.kind)
        if wanted is not None and getattr(self, wanted) is None:
            example = {"amount": "amount = 25", "percent": "percent = 1.5", "jurisdiction": 'jurisdiction = "GB"'}
            yield FeeProblem(loc=("kind",), message=f'kind = "{self.kind}" needs `{wanted}` ({example[wanted]})')
        for key in ("amount", "percent", "jurisdiction"):
            if key != wanted and getattr(self, key) is not None:
                owner = next(kind for kind, field in needs.items() if field == key)
                yield FeeProblem(loc=(key,), message=f'`{key}` only applies to kind = "{owner}" (this rule is '
                                                     f'kind = "{self.kind}")')


class FeeRate(_Strict):
    """One row of the reference rate's history: the rate becomes `rate_percent` on `effective_date`."""

    effective_date: date
    rate_percent: Annotated[Decimal, Field(allow_inf_nan=False)]


class Fees(FeeRule):
    """The company-wide rule, the reference rates statutory interest reads, and the rule of each ladder."""

    rates: tuple[FeeRate, ...] = ()
    ladders: dict[str, FeeRule] = Field(default_factory=dict)

    def problems(self) -> Iterator[FeeProblem]:
        yield from super().problems()
        seen: dict[date, int] = {}
        for n, change in enumerate(self.rates):
            if change.effective_date in seen:
                yield FeeProblem(loc=("rates", n, "effective_date"),
                                 message=f"{change.effective_date.isoformat()} is given twice (rates "
                                         f"{seen[change.effective_date] + 1} and {n + 1}); one rate per date")
            seen.setdefault(change.effective_date, n)
            if change.rate_percent < 0:
                yield FeeProblem(loc=("rates", n, "rate_percent"), message="a reference rate is zero or more")
        statutory: list[tuple[str, ...]] = [("kind",)] if self.kind == "statutory" else []
        statutory += [("ladders", name, "kind") for name, rule in self.ladders.items() if rule.kind == "statutory"]
        if statutory and not self.rates:
            yield FeeProblem(loc=statutory[0], message="statutory interest needs the reference rate table: add "
                                                       "[[fees.rates]] rows (effective_date, rate_percent)")
        for name, rule in self.ladders.items():
            for problem in rule.problems():
                yield FeeProblem(loc=("ladders", name, *problem.loc), message=problem.message)

    def rule_for(self, ladder: str | None) -> FeeRule:
        """The rule of the customer's ladder when it has one, else the company-wide rule."""
        if ladder is not None and ladder in self.ladders:
            return self.ladders[ladder]
        return FeeRule(kind=self.kind, amount=self.amount, percent=self.percent, jurisdiction=self.jurisdiction,
                       after_days=self.after_days)

    def reference_rates(self) -> ReferenceRates:
        changes = (RateChange(effective_date=row.effective_date, rate_percent=row.rate_percent) for row in self.rates)
        return ReferenceRates.from_changes(changes, name="the reference rate")


class ProposedFee(BaseModel):
    """What a `late_fee` item asks a human to approve: the figure and how it was reached."""

    model_config = ConfigDict(frozen=True)

    kind: FeeKind
    currency: str
    amount: Decimal  # the whole fee (interest + compensation for statutory)
    balance: Decimal  # the unpaid balance it was computed on
    due_date: date
    as_of: date
    days_late: int
    basis: str
    rate_percent: Decimal | None = None  # statutory: the annual rate applied (reference + 8)
    interest: Decimal | None = None
    compensation: Decimal | None = None
    note: str | None = None  # e.g. why the fixed compensation is not included

    def suggestion(self) -> dict[str, Any]:
        """The item's `suggestion`: every figure as a string, as the approvals API shows it."""
        return {key: (str(value) if isinstance(value, Decimal) else value.isoformat() if isinstance(value, date)
                      else value) for key, value in self.model_dump().items()} | {"rules": FEE_RULES_VERSION}


def fee_due_on(rule: FeeRule, due_date: date) -> date | None:
    """The first day a fee is proposed (`after_days` after the due date, and at least one day late); None when
    the rule charges nothing."""
    if rule.kind == "none":
        return None
    return due_date + timedelta(days=max(rule.after_days, 1))


def late_fee_for(rule: FeeRule, rates: ReferenceRates, balance: Decimal, currency: str, due_date: date,
                 as_of: date) -> ProposedFee | None:
    """The fee `rule` charges on an unpaid `balance` on `as_of`; None when there is none to propose (not late
    enough, nothing owed, a zero figure). Raises `LateFeeError` when the rates do not reach back far enough."""
    due_on = fee_due_on(rule, due_date)
    if due_on is None or as_of < due_on or balance <= 0:
        return None
    debt = UnpaidDebt(currency=currency, amount=balance, due_date=due_date)
    days = (as_of - due_date).days
    common: dict[str, Any] = {"kind": rule.kind, "currency": debt.currency, "balance": balance, "due_date": due_date,
                              "as_of": as_of, "days_late": days}
    if rule.kind == "flat" and rule.amount is not None:
        fee = ProposedFee(amount=flat_fee(rule.amount, debt.currency),
                          basis=f"flat late fee of {rule.amount} {debt.currency} (collections policy)", **common)
    elif rule.kind == "percentage" and rule.percent is not None:
        fee = ProposedFee(amount=percentage_fee(debt, rule.percent),
                          basis=f"{rule.percent}% of the unpaid balance {balance} {debt.currency}, once "
                                "(collections policy)", **common)
    elif rule.kind == "statutory" and rule.jurisdiction is not None:
        charge = statutory_interest(debt, as_of, rule.jurisdiction, rates)
        if charge is None:
            return None
        fee = ProposedFee(amount=charge.total, basis=charge.basis, rate_percent=charge.rate_percent,
                          interest=charge.interest, compensation=charge.compensation, note=charge.compensation_note,
                          **common)
    else:
        raise LateFeeError(f"the fee rule {rule.kind!r} is missing its figure")
    return fee if fee.amount > 0 else None


__all__ = [
    "FEE_RULES_VERSION",
    "FeeKind",
    "FeeProblem",
    "FeeRate",
    "FeeRule",
    "Fees",
    "ProposedFee",
    "fee_due_on",
    "late_fee_for",
]
