"""The fitting cascade: how a payment's amount pays open invoices, and how sure that makes us.

Both ways of finding the invoices ask the same question in the same order: does the amount equal a balance
(or several balances), is it within the fee/rounding tolerance, does it pay a combination, is it short (a
deduction, a partial payment), is it over (unapplied credit)? Each step answers with a `Proposal` or passes
to the next; the first answer wins. The name path (`fit_customer_invoices`) asks about the open invoices of
one customer; the reference path (`fit_named_invoices`) about the invoices a reference names. Steps only read:
the engine decides, applies and reserves (`engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from activities.cash_matching.balances import TrackedInvoice, fill, money
from activities.cash_matching.combination import find_combination
from activities.cash_matching.confidence import (
    NAME_AMBIGUOUS,
    NAME_COMBINATION,
    NAME_EXACT,
    NAME_EXACT_RECURRING,
    NAME_OVERPAID,
    NAME_SHORT,
    NAME_TOLERANCE,
    REF_EXACT,
    REF_OVERPAID,
    REF_PARTIAL,
    REF_POINTS_ELSEWHERE,
    REF_SHORT,
    REF_SUBSET,
    REF_TOLERANCE,
)
from activities.cash_matching.model import MatchConfig


@dataclass(slots=True)
class Proposal:
    """One way the payment pays open invoices: the cents per invoice, how sure, the reasons a clerk reads and
    the blockers that keep it from being applied unattended."""

    allocations: list[tuple[TrackedInvoice, int]]
    confidence: float
    customer_id: str | None
    reasons: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    deduction_reason: str | None = None
    # an amount equal to the balance of one invoice, to the cent (the strongest evidence without a reference)
    exact: bool = False
    # an amount paying one invoice, exactly or within tolerance
    fits: bool = False


@dataclass(slots=True)
class Fitting:
    """What the fitting cascade is asked: how `amount` pays open invoices of `customer_id`, and what the
    reference said of a deduction or a partial payment."""

    customer_id: str
    amount: int
    deduction: str | None
    partial: bool

    def propose(
        self,
        allocations: list[tuple[TrackedInvoice, int]],
        confidence: float,
        reason: str,
        blocker: str | None = None,
        *,
        exact: bool = False,
        fits: bool = False,
        deduction_reason: str | None = None,
    ) -> Proposal:
        """A step's answer: the allocations, how sure, why, and what keeps it from being applied unattended."""
        blockers = [blocker] if blocker is not None else []
        return Proposal(
            allocations, confidence, self.customer_id, [reason], blockers, deduction_reason, exact=exact, fits=fits
        )


@dataclass(slots=True)
class CustomerFit(Fitting):
    """What the fitting cascade is asked on the name path: how `amount` pays open invoices of one customer."""

    # the customer's invoices whose free balance is the amount, oldest due first
    exact: list[TrackedInvoice]
    # the customer's open invoices, oldest due first (not read when the amount index found an exact one)
    candidates: list[TrackedInvoice]
    # the oldest of them, which alone take part in the combination search
    pool: list[TrackedInvoice]


@dataclass(slots=True)
class NamedFit(Fitting):
    """What the fitting cascade is asked on the reference path: how `amount` pays the invoices the
    reference names (all with an open balance)."""

    # in the order the reference names them
    named: list[TrackedInvoice]
    # the remittance advice's amount per named invoice (by `id`), when it gives one
    lines: dict[int, int | None]
    in_due_order: list[TrackedInvoice]
    total: int
    # the amount less the named balances: over when positive, short when negative
    difference: int

    @property
    def balance_words(self) -> str:
        return "their balances" if len(self.named) > 1 else "its balance"


class OpenBook(Protocol):
    """What the steps look up in the open invoices (the engine)."""

    config: MatchConfig

    def tolerance(self, cents: int) -> int: ...

    def customer_single_fit(
        self, customer_id: str, amount: int, exclude: Sequence[TrackedInvoice]
    ) -> TrackedInvoice | None: ...

    def unnamed_combination(
        self, customer_id: str, named: Sequence[TrackedInvoice], surplus: int, amount: int
    ) -> list[TrackedInvoice] | None: ...


_Fit = TypeVar("_Fit", bound=Fitting)
# One step of the fitting cascade: a proposal, or None to let the next step try.
_Step = Callable[[OpenBook, _Fit], "Proposal | None"]


def fit_customer_invoices(book: OpenBook, fit: CustomerFit, identified: bool) -> Proposal | None:
    """How the amount pays open invoices of one customer. Unless the name `identified` the customer, only a
    single-invoice fit is worth suggesting: a combination, a short or an overpayment guessed for a
    half-recognised name would be a guess on a guess."""
    return _first_fit(_CUSTOMER_STEPS if identified else _GUESS_STEPS, book, fit)


def fit_named_invoices(book: OpenBook, fit: NamedFit) -> Proposal:
    """How the amount pays the invoices a reference names; there is always an answer."""
    return _first_fit(_NAMED_STEPS, book, fit) or _short_without_reason(book, fit)


def _first_fit(steps: Sequence[_Step[_Fit]], book: OpenBook, fit: _Fit) -> Proposal | None:
    """The first answer of `steps`, tried in order."""
    for step in steps:
        proposal = step(book, fit)
        if proposal is not None:
            return proposal
    return None


# The reference path: the steps of `_NAMED_STEPS`.


def _remittance_lines(book: OpenBook, fit: NamedFit) -> Proposal | None:
    """A remittance advice gave an amount per invoice, adding up to the payment: apply each line, capped
    at the balance."""
    lines = fit.lines
    if not lines or len(lines) != len(fit.named):
        return None
    listed = sum(v for v in lines.values() if v is not None)
    if abs(listed - fit.amount) > book.tolerance(fit.amount):
        return None
    allocations: list[tuple[TrackedInvoice, int]] = []
    short_lines: list[str] = []
    over = 0
    left = fit.amount
    for tracked in fit.named:
        line = lines[id(tracked)] or 0
        applied = min(line, tracked.remaining, left)
        if applied > 0:
            allocations.append((tracked, applied))
            left -= applied
        if tracked.remaining - line > book.tolerance(tracked.remaining):
            short_lines.append(f"{tracked.number} {money(line)} of {money(tracked.remaining)}")
        elif line > tracked.remaining:
            over += line - tracked.remaining
    reasons = ["remittance lists an amount per invoice"]
    blockers: list[str] = []
    confidence = REF_EXACT
    reason: str | None = None
    if short_lines:
        reasons.append("short lines: " + "; ".join(short_lines))
        if fit.deduction or not fit.partial:
            deduction = fit.deduction
            blockers.append("remittance pays less than the balance" + (f": '{deduction}'" if deduction else ""))
            confidence = REF_SHORT
            reason = deduction
        else:
            confidence = REF_PARTIAL
    else:
        reasons.append("each line equals the invoice balance")
    if over:
        reasons.append(f"{money(over)} above the balances left as unapplied credit")
        confidence = min(confidence, REF_OVERPAID)
    return Proposal(allocations, confidence, fit.customer_id, reasons, blockers, deduction_reason=reason)


def _named_exactly(book: OpenBook, fit: NamedFit) -> Proposal | None:
    if fit.difference != 0:
        return None
    return fit.propose(fill(fit.in_due_order, fit.amount), REF_EXACT, f"amount equals {fit.balance_words}")


def _named_within_tolerance(book: OpenBook, fit: NamedFit) -> Proposal | None:
    difference = fit.difference
    if abs(difference) > book.tolerance(fit.total):
        return None
    side = "over" if difference > 0 else "short"
    why = "left unapplied" if difference > 0 else "bank fee or rounding within tolerance"
    return fit.propose(
        fill(fit.in_due_order, fit.amount),
        REF_TOLERANCE,
        f"amount {money(fit.amount)} is {money(abs(difference))} {side} of {fit.balance_words} "
        f"{money(fit.total)} ({why})",
    )


def _some_of_named(book: OpenBook, fit: NamedFit) -> Proposal | None:
    """Short of several invoices named: the amount pays a combination of them, or one within tolerance."""
    if fit.difference > 0 or len(fit.named) < 2:
        return None
    in_due_order, amount = fit.in_due_order, fit.amount
    balances = [t.remaining for t in in_due_order]
    subset = find_combination(balances, amount, book.tolerance(amount), len(in_due_order))
    single = [t for t in in_due_order if abs(t.remaining - amount) <= book.tolerance(t.remaining)]
    chosen = [in_due_order[i] for i in subset] if subset else single[:1]
    if not chosen:
        return None
    return fit.propose(
        fill(chosen, amount),
        REF_SUBSET,
        f"amount {money(amount)} pays only {', '.join(t.number for t in chosen)} of those named",
        "which of the named invoices are paid is inferred from the amount",
    )


def _amount_points_elsewhere(book: OpenBook, fit: NamedFit) -> Proposal | None:
    """The amount is exactly another open invoice of the customer: a mistyped number, most likely (unless
    a short payment says why it is short)."""
    if fit.difference < 0 and (fit.deduction or fit.partial):
        return None
    own = book.customer_single_fit(fit.customer_id, fit.amount, exclude=fit.named)
    if own is None:
        return None
    return fit.propose(
        [(own, fit.amount)],  # its free balance is the amount
        REF_POINTS_ELSEWHERE,
        f"amount equals the balance of {own.number}, not of the invoices named",
        "the amount points at an invoice the reference does not name",
    )


def _named_and_unnamed(book: OpenBook, fit: NamedFit) -> Proposal | None:
    """Over what the reference names by exactly other open invoices of the customer."""
    if fit.difference <= 0:
        return None
    extra = book.unnamed_combination(fit.customer_id, fit.named, fit.difference, fit.amount)
    if extra is None:
        return None
    allocations = [(t, t.remaining) for t in fit.in_due_order] + [(t, t.free) for t in extra]
    return fit.propose(
        allocations,
        REF_SUBSET,
        f"amount {money(fit.amount)} also covers {', '.join(t.number for t in extra)}",
        "pays invoices the reference does not name",
    )


def _named_overpaid(book: OpenBook, fit: NamedFit) -> Proposal | None:
    if fit.difference <= 0:
        return None
    return fit.propose(
        [(t, t.remaining) for t in fit.in_due_order],
        REF_OVERPAID,
        f"amount {money(fit.amount)} exceeds {fit.balance_words} {money(fit.total)}; "
        f"{money(fit.difference)} left as unapplied credit",
    )


# Every amount over the invoices named has been answered by now (`_named_overpaid`): the steps below see
# only amounts short of them.


def _short_with_deduction(book: OpenBook, fit: NamedFit) -> Proposal | None:
    deduction = fit.deduction
    if not deduction:
        return None
    short = -fit.difference
    return fit.propose(
        fill(fit.in_due_order, fit.amount),
        REF_SHORT,
        f"short by {money(short)}: deduction '{deduction}'",
        f"deduction of {money(short)} needs a decision",
        deduction_reason=deduction,
    )


def _partial_as_announced(book: OpenBook, fit: NamedFit) -> Proposal | None:
    if not fit.partial:
        return None
    return fit.propose(
        fill(fit.in_due_order, fit.amount),
        REF_PARTIAL,
        f"partial payment as the memo says; {money(-fit.difference)} stays open",
    )


def _short_without_reason(book: OpenBook, fit: NamedFit) -> Proposal:
    """The last word of the reference path: it always answers."""
    short = -fit.difference
    return fit.propose(
        fill(fit.in_due_order, fit.amount),
        REF_SHORT,
        f"short by {money(short)} with no reason given",
        f"short payment of {money(short)} without a reason",
    )


# The name path: the steps of `_CUSTOMER_STEPS` (`_GUESS_STEPS` when the name only hints at the customer).


def _one_balance_exactly(book: OpenBook, fit: CustomerFit) -> Proposal | None:
    if not fit.exact:
        return None
    chosen = fit.exact[0]
    if len(fit.exact) > 1:
        confidence = NAME_EXACT_RECURRING
        why = f"amount equals the balance of {len(fit.exact)} invoices; oldest due first: {chosen.number}"
    else:
        confidence = NAME_EXACT
        why = f"amount equals the balance of {chosen.number}"
    return fit.propose([(chosen, fit.amount)], confidence, why, exact=True, fits=True)


def _one_balance_within_tolerance(book: OpenBook, fit: CustomerFit) -> Proposal | None:
    amount = fit.amount
    near = [t for t in fit.candidates if abs(t.free - amount) <= book.tolerance(t.free)]
    if not near or find_combination([t.free for t in fit.pool], amount, 0, book.config.max_subset_size):
        # an exact combination is likelier than a fee off one invoice that happens to be close
        return None
    chosen = min(near, key=lambda t: (abs(t.free - amount), t.due))
    difference = amount - chosen.free
    side = "over" if difference > 0 else "short"
    proposal = fit.propose(
        [(chosen, min(amount, chosen.free))],
        NAME_TOLERANCE,
        f"amount is {money(abs(difference))} {side} of the balance of {chosen.number} "
        f"{money(chosen.free)} (within tolerance)",
        # a fee or rounding explains the difference only once the invoice is known: without a reference
        # naming it, an amount near a balance is a guess a person confirms
        "approximate amount and no reference naming the invoice",
        fits=True,
    )
    others = sorted({t.free for t in near} - {chosen.free})
    if others:
        # a fee off 499.00 or rounding on 497.72: the amount alone cannot tell
        proposal.blockers.append(
            f"other open balances are as close to the amount ({', '.join(money(c) for c in others[:3])})"
        )
        proposal.confidence = min(proposal.confidence, NAME_AMBIGUOUS)
    return proposal


def _several_balances(book: OpenBook, fit: CustomerFit) -> Proposal | None:
    amount, pool = fit.amount, fit.pool
    balances = [t.free for t in pool]
    combination = find_combination(balances, amount, book.tolerance(amount), book.config.max_subset_size)
    if not combination:
        return None
    chosen = [pool[i] for i in combination]
    return fit.propose(
        fill(chosen, amount, free=True),
        NAME_COMBINATION,
        f"amount equals the sum of {', '.join(t.number for t in chosen)}",
        "several invoices found by amount alone, none named in the reference",
    )


def _short_of_the_oldest(book: OpenBook, fit: CustomerFit) -> Proposal | None:
    larger = [t for t in fit.candidates if t.free > fit.amount]
    if not larger:
        return None
    chosen = larger[0]
    short = chosen.free - fit.amount
    if fit.deduction:
        why = f"short by {money(short)} of {chosen.number}: deduction '{fit.deduction}'"
    elif fit.partial:
        why = f"partial payment towards the oldest open invoice {chosen.number}"
    else:
        why = f"less than any open balance; {money(short)} short of the oldest, {chosen.number}"
    return fit.propose(
        [(chosen, fit.amount)],
        NAME_SHORT,
        why,
        "part-payment of an invoice the reference does not name",
        deduction_reason=fit.deduction,
    )


def _over_every_balance(book: OpenBook, fit: CustomerFit) -> Proposal | None:
    """The last word of the name path for an identified customer: it always answers."""
    allocations = fill(fit.candidates, fit.amount, free=True)
    paid = sum(c for _, c in allocations)
    return fit.propose(
        allocations,
        NAME_OVERPAID,
        f"amount exceeds every open balance; oldest invoices first, {money(fit.amount - paid)} unapplied",
        "overpayment without a reference",
    )


# Exact, within tolerance, combination, short, over: what a half-recognised name may only suggest stops
# after the single-invoice fits.
_GUESS_STEPS: tuple[_Step[CustomerFit], ...] = (
    _one_balance_exactly,
    _one_balance_within_tolerance,
)
_CUSTOMER_STEPS: tuple[_Step[CustomerFit], ...] = (
    *_GUESS_STEPS,
    _several_balances,
    _short_of_the_oldest,
    _over_every_balance,
)
# The same order for the invoices a reference names; an amount over them may pay unnamed ones too, one short
# of several may pay only some; `_short_without_reason` has the last word.
_NAMED_STEPS: tuple[_Step[NamedFit], ...] = (
    _remittance_lines,
    _named_exactly,
    _named_within_tolerance,
    _some_of_named,
    _amount_points_elsewhere,
    _named_and_unnamed,
    _named_overpaid,
    _short_with_deduction,
    _partial_as_announced,
)
