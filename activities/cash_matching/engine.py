"""The cash-application matching engine: which open invoices one incoming payment pays, and how sure we are.

Pure computation: no Temporal, no database. The engine is built once from the open invoices and the learned
payer aliases; its indexes (invoice numbers, customers, amounts, customer-name tokens) give each payment a
handful of candidates, so a batch costs about the same per payment whatever the size of the ledger.

Evidence, strongest first:
1. the reference names invoices (any of the shapes `references.read_reference` reads);
2. the amount equals their open balance, within a fee/rounding tolerance, or a remittance line per invoice;
3. the payer's name is the customer's (fuzzy, see `names`), or a learned alias of it;
4. without a reference: the amount equals one open invoice of the payer's customer (the oldest due when
   several have the same amount), or a combination of them (subset sum).

Safety rules: a payment is never auto-applied when it is in another currency than the invoice, names
another customer's invoice, is short without saying it is partial (a deduction), or pays several
invoices none of which it names. Those go to review with the best suggestion.

How the amount pays the invoices found (exact, within tolerance, combination, short, over) is the fitting
cascade of `fitting`, the same for a reference and for a name; its confidences are in `confidence`.

A batch is decided surest evidence first (`MatchingEngine._certainty`: a reference the amount and the payer
agree with, then other references to the payer's invoices, then an amount equal to an open balance, then the
rest), then in date order, then payment id; results keep the input order. An auto decision consumes the
invoice balances it applies, so no balance is applied twice in a batch. A review suggestion only reserves what
it proposes: later guesses by name and amount leave it alone, but a later payment whose reference names the
invoice may take it, and the suggestion is then trimmed (`match_all`), so that even suggestions never add up to
more than a balance.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from operator import attrgetter

from activities.cash_matching.balances import TrackedInvoice, fill, money, whole_cents
from activities.cash_matching.combination import find_combination
from activities.cash_matching.confidence import (
    MAX_CONFIDENCE,
    NAME_AMBIGUOUS,
    NAME_SLOPE,
    NAME_SLOPE_DISTINCT,
    NAME_WITHOUT_FIT,
    NEAR_MISS,
    NEAR_MISS_SURE,
    PAYERS_OWN_INSTEAD,
    REF_FOREIGN_CURRENCY,
    REF_TOLERANCE,
    UNKNOWN_PAYER_PENALTY,
    WEAK_NAME_GUESS_PENALTY,
    WEAK_NAME_PENALTY,
    WEAK_REFERENCE_PENALTY,
)
from activities.cash_matching.fitting import (
    CustomerFit,
    NamedFit,
    Proposal,
    fit_customer_invoices,
    fit_named_invoices,
)
from activities.cash_matching.model import (
    IncomingPayment,
    MatchAllocation,
    MatchConfig,
    MatchDecision,
    MatchResult,
    OpenInvoice,
    paused_gc,
)
from activities.cash_matching.names import CustomerNameIndex, NameCandidate, normalise_name
from activities.cash_matching.references import (
    InvoiceMention,
    ReferenceReading,
    one_slip_keys,
    read_reference,
)

# An exact amount shared by at most this many open invoices of the ledger is distinctive.
_DISTINCT_AMOUNT_SHARERS = 2
# More open invoices than this with the payment's amount: find the customer by name instead.
_MAX_AMOUNT_HITS = 60
# Numbers shorter than this are not read for slips: one digit off a short number names too many invoices.
_NEAR_MISS_DIGITS = 4
# Up to this many customers owed the amount, each is scored; more go through rapidfuzz's batch comparison.
_SCORE_EACH_UP_TO = 4


@dataclass(slots=True)
class _NamedEvidence:
    """What the reference and the payer's name say before the amount is compared with the named balances."""

    numbers: str
    customer_id: str
    # the payer name's similarity to the (best of the) customers named
    fit: float
    # the payer is clearly another customer than the one the reference names
    conflict: bool
    name_adjust: float
    reasons: list[str]
    blockers: list[str]


class _Payer:
    """Who paid, as far as the name tells: a learned alias, and the customers whose names are close,
    looked up only when a decision needs them (a reference with a consistent name does not)."""

    __slots__ = ("_candidates", "_floor", "_names", "_owed", "_scores", "alias_customer", "name")

    def __init__(self, name: str, alias_customer: str | None, names: CustomerNameIndex, floor: float) -> None:
        self.name = name
        self.alias_customer = alias_customer
        self._names = names
        self._floor = floor
        self._candidates: tuple[NameCandidate, ...] | None = None
        self._scores: dict[str, float] = {}
        self._owed: tuple[frozenset[str], tuple[NameCandidate, ...]] | None = None

    def rank(self, customer_ids: frozenset[str]) -> tuple[NameCandidate, ...]:
        """The customers among `customer_ids` (those owed the amount) whose names are close, best first."""
        if self._owed is None or self._owed[0] != customer_ids:
            if not self.name.strip():
                ranked: list[NameCandidate] = []
            elif len(customer_ids) <= _SCORE_EACH_UP_TO:
                scored = ((cid, self.fit(cid)) for cid in customer_ids)
                ranked = sorted(
                    (NameCandidate(cid, score) for cid, score in scored if score >= self._floor),
                    key=lambda c: (-c.score, c.customer_id),
                )
            else:
                ranked = self._names.rank(self.name, customer_ids, floor=self._floor, limit=3)
            self._owed = (customer_ids, tuple(ranked))
        return self._owed[1]

    @property
    def candidates(self) -> tuple[NameCandidate, ...]:
        if self._candidates is None:
            self._candidates = (
                self._names.candidates(self.name, floor=self._floor, limit=5) if self.name.strip() else ()
            )
        return self._candidates

    @property
    def identified(self) -> str | None:
        return self.alias_customer or (self.candidates[0].customer_id if self.candidates else None)

    def fit(self, customer_id: str) -> float:
        """Similarity of the payer's name to the customer's (1.0 for a learned alias)."""
        if self.alias_customer == customer_id:
            return 1.0
        score = self._scores.get(customer_id)
        if score is None:
            score = self._names.score(self.name, customer_id) if self.name.strip() else 0.0
            self._scores[customer_id] = score
        return score


class MatchingEngine:
    """Built once from the open invoices and the learned aliases (payer name -> customer id); then `match`
    each payment. Not thread-safe: matching consumes invoice balances."""

    def __init__(
        self,
        invoices: Iterable[OpenInvoice],
        aliases: Mapping[str, str] | None = None,
        config: MatchConfig | None = None,
    ) -> None:
        self.config = config or MatchConfig()
        with paused_gc():
            self._index(invoices, aliases or {})

    def _index(self, invoices: Iterable[OpenInvoice], aliases: Mapping[str, str]) -> None:
        # the tolerance in whole cents, without Decimal arithmetic in the hot path
        self._fee_abs = int(self.config.fee_tolerance_abs * 100)
        self._fee_rel = self.config.fee_tolerance_rel.as_integer_ratio()
        self._by_key: dict[str, list[TrackedInvoice]] = defaultdict(list)
        self._by_customer: dict[str, list[TrackedInvoice]] = {}
        self._by_amount: dict[tuple[str, int], list[TrackedInvoice]] = defaultdict(list)
        self._by_id: dict[str, TrackedInvoice] = {}
        names: dict[str, str] = {}
        # local names: this loop runs once per open invoice of the ledger
        by_id, by_key, by_customer, by_amount = self._by_id, self._by_key, self._by_customer, self._by_amount
        for invoice in invoices:
            tracked = TrackedInvoice(invoice)
            by_id[invoice.invoice_id] = tracked
            # indexed by the digits alone; the full key on the invoice tells INV-1042 from CN-1042
            by_key[tracked.digits].append(tracked)
            customer_id = tracked.customer_id
            customer_invoices = by_customer.get(customer_id)
            if customer_invoices is None:
                by_customer[customer_id] = [tracked]
                names[customer_id] = invoice.customer_name
            else:
                customer_invoices.append(tracked)
            if tracked.remaining > 0:
                by_amount[(tracked.currency, tracked.remaining)].append(tracked)
        self._sorted: set[str] = set()  # customers whose invoices are in due order (sorted when first read)
        # sorted open amounts per currency, for "a fee was taken off one of these" look-ups
        amounts: dict[str, set[int]] = defaultdict(set)
        for currency, cents in self._by_amount:
            amounts[currency].add(cents)
        self._amounts = {currency: sorted(values) for currency, values in amounts.items()}
        self._names = CustomerNameIndex(names.items())
        self._aliases: dict[str, str] = {}
        for payer_name, customer_id in aliases.items():
            key = normalise_name(payer_name, payer=True).core
            if key:
                self._aliases[key] = customer_id

    def tolerance(self, cents: int) -> int:
        """`MatchConfig.tolerance_cents` in integer arithmetic."""
        numerator, denominator = self._fee_rel
        return max(1, min(self._fee_abs, cents * numerator // denominator))

    # ------------------------------------------------------------------ public API

    def match_all(
        self, payments: Iterable[IncomingPayment], progress: Callable[[int], None] | None = None
    ) -> list[MatchResult]:
        """Results in the order of `payments`. Balances are consumed across the whole batch surest first
        (`_certainty`), then in date order, then payment id: an early guess by amount never takes an invoice
        away from a later payment whose reference names it."""
        listed = list(payments)
        decided: list[tuple[MatchResult, list[tuple[TrackedInvoice, int]]]] = []
        with paused_gc():
            # read each reference and payer once: the ranking and the decision both need them
            readings = [read_reference(p.reference) for p in listed]
            payers = [self._payer(p.payer_name) for p in listed]
            ranks = [self._certainty(p, r, y) for p, r, y in zip(listed, readings, payers, strict=True)]
            order = sorted(range(len(listed)), key=lambda i: (ranks[i], listed[i].date, listed[i].payment_id))
            for done, index in enumerate(order, start=1):
                decided.append(self._match(listed[index], readings[index], payers[index]))
                if progress is not None and (done % 250 == 0 or done == len(listed)):
                    progress(done)
        results: list[MatchResult | None] = [None] * len(listed)
        for index, result in zip(order, self._settle(decided), strict=True):
            results[index] = result
        return [r for r in results if r is not None]

    def _certainty(self, payment: IncomingPayment, reading: ReferenceReading, payer: _Payer) -> int:
        """How sure a payment's evidence is before any balance is consumed, surest first: 0 a reference naming
        invoices of the payer's customer whose balances the amount pays; 1 a reference naming the payer's
        invoices for another amount (partial, short, over); 2 an amount equal (or within the fee tolerance) to some
        open balance; 3 the rest
        (names alone, references naming another customer's invoice, strangers)."""
        amount = whole_cents(payment.amount)
        if amount <= 0:
            return 3
        currency = payment.currency.upper()
        hits = self._resolve(reading.mentions, amount, payer)[0] if reading.mentions else []
        if hits:
            named = [t for t, _, _ in hits]
            customers = {t.customer_id for t in named}
            if len(customers) == 1 and all(t.currency == currency for t in named):
                customer_id = next(iter(customers))
                if not payer.name.strip() or payer.fit(customer_id) >= self.config.name_candidate:
                    total = sum(t.remaining for t in named)
                    lines = [m.amount_cents for _, m, _ in hits]
                    listed = sum(c for c in lines if c is not None) if None not in lines else None
                    pays = abs(amount - total) <= self.tolerance(total) or (
                        listed is not None and abs(listed - amount) <= self.tolerance(amount)
                    )
                    return 0 if pays else 1
            return 3
        # equal to an open balance or within the fee tolerance of one; a combination, a short or an
        # overpayment found by name alone comes last
        amounts = self._amounts.get(currency, ())
        tolerance = self.tolerance(amount)
        near = bisect.bisect_left(amounts, amount - tolerance)
        return 2 if near < len(amounts) and amounts[near] <= amount + tolerance else 3

    def _settle(self, decided: list[tuple[MatchResult, list[tuple[TrackedInvoice, int]]]]) -> list[MatchResult]:
        """A reference may auto-apply an invoice an earlier review only suggested: trim such suggestions so
        that no invoice balance is allocated twice over the whole batch, suggestions included."""
        # what the auto decisions left of each balance is what they did not apply
        settled = []
        suggested: dict[int, int] = defaultdict(int)
        for result, cents_applied in decided:
            if result.decision != "review":
                settled.append(result)
                continue
            kept: list[MatchAllocation] = []
            trimmed: list[str] = []
            for tracked, wanted in cents_applied:
                cents = min(wanted, tracked.remaining - suggested[id(tracked)])
                if cents > 0:
                    suggested[id(tracked)] += cents
                    kept.append(MatchAllocation(tracked.invoice.invoice_id, Decimal(cents).scaleb(-2)))
                if cents < wanted:
                    trimmed.append(tracked.number)
            if trimmed:
                note = f"; {', '.join(trimmed)} since applied to another payment, suggestion reduced"
                result = replace(result, allocations=kept, explanation=result.explanation + note)
            settled.append(result)
        return settled

    def match(self, payment: IncomingPayment) -> MatchResult:
        """Decide one payment and consume the invoice balances it is allocated to."""
        return self._match(payment)[0]

    def _match(
        self, payment: IncomingPayment, reading: ReferenceReading | None = None, payer: _Payer | None = None
    ) -> tuple[MatchResult, list[tuple[TrackedInvoice, int]]]:
        """The decision, and the cents it allocates to each invoice (`reading` and `payer` when already known)."""
        amount = whole_cents(payment.amount)
        currency = payment.currency.upper()
        if amount <= 0:
            explanation = f"amount {money(amount)} is not a receipt (refunds and reversals are not applied to invoices)"
            return MatchResult(payment.payment_id, "unmatched", 0.0, [], explanation), []
        if payer is None:
            payer = self._payer(payment.payer_name)
        if reading is None:
            reading = read_reference(payment.reference)
        hits, ignored = self._resolve(reading.mentions, amount, payer) if reading.mentions else ([], [])
        if hits:
            proposal = self._by_reference(payment, amount, currency, payer, reading, hits)
        else:
            proposal = self._by_name(payment, amount, currency, payer, reading.deduction_reason, reading.partial)
            near = self._near_misses(reading.mentions, currency) if reading.mentions else []
            if near:
                proposal = self._weigh_near_miss(amount, payer, near, proposal)
            foreign = [(t, m) for t, m in ignored if t.customer_id != proposal.customer_id]
            if foreign and proposal.allocations:
                tracked, mention = foreign[0]
                owner = self._names.display_name(tracked.customer_id)
                proposal.reasons.append(f"number {mention.text} in the reference is {tracked.number} of '{owner}'")
                proposal.blockers.append(f"the reference may name another customer's invoice ({tracked.number})")
        return self._decide(payment, amount, proposal)

    def open_balance(self, invoice_id: str) -> Decimal:
        """What is left of an invoice's balance after the allocations made so far (for tests and reports)."""
        return Decimal(self._by_id[invoice_id].remaining).scaleb(-2)

    # ------------------------------------------------------------------ evidence

    def _payer(self, payer_name: str) -> _Payer:
        alias = self._aliases.get(self._names.payer(payer_name).core) if payer_name and self._aliases else None
        return _Payer(payer_name, alias, self._names, self.config.name_candidate)

    def _payer_phrase(self, payer: _Payer, customer_id: str, score: float) -> str:
        customer_name = self._names.display_name(customer_id)
        if payer.alias_customer == customer_id:
            return f"payer '{payer.name}' is a learned alias of '{customer_name}'"
        if not payer.name.strip():
            return "no payer name"
        return f"payer '{payer.name}' ~ '{customer_name}' {score:.2f}"

    def _resolve(
        self, mentions: Sequence[InvoiceMention], amount: int, payer: _Payer
    ) -> tuple[list[tuple[TrackedInvoice, InvoiceMention, bool]], list[tuple[TrackedInvoice, InvoiceMention]]]:
        """The invoices the mentions name, each with whether the mention is trusted on its own (`strong`),
        and the invoices of bare numbers that neither the payer nor the amount supports (`ignored`).
        Several invoices under one key are narrowed by payer."""
        hits: list[tuple[TrackedInvoice, InvoiceMention, bool]] = []
        ignored: list[tuple[TrackedInvoice, InvoiceMention]] = []
        seen: set[int] = set()
        floor = self.config.name_candidate
        for mention in mentions:
            if mention.near:
                continue  # an OCR reading is weighed with the mistyped numbers (`_near_misses`)
            groups: list[tuple[list[TrackedInvoice], bool]] = []
            found = self._by_key.get(mention.keys[-1])
            if found:
                # the same digits under other letters (INV-1042, CN-1042): the letters written decide
                written = [o for o in found if o.key == mention.keys[0]]
                if written:
                    groups.append((written, any(ch.isalpha() for ch in mention.keys[0])))
                else:
                    groups.append((found, False))
            else:
                for part in mention.parts:
                    found = self._by_key.get(part)
                    if found:
                        groups.append((found, False))
            for found, via_letters in groups:
                if len(found) > 1:
                    found = [o for o in found if payer.fit(o.customer_id) >= floor] or found
                strong = mention.marked or via_letters
                for tracked in found:
                    if not strong:
                        agrees = (
                            tracked.remaining == amount
                            or payer.fit(tracked.customer_id) >= floor
                            or (mention.amount_cents is not None and mention.amount_cents == tracked.remaining)
                        )
                        if not agrees:
                            ignored.append((tracked, mention))
                            continue
                    if id(tracked) not in seen:
                        seen.add(id(tracked))
                        hits.append((tracked, mention, strong))
        return hits, ignored

    def _near_misses(
        self, mentions: Sequence[InvoiceMention], currency: str
    ) -> list[tuple[TrackedInvoice, InvoiceMention]]:
        """Open invoices one slip away from a number the reference writes that names no open invoice (a
        swapped, wrong, dropped or doubled digit; an OCR confusion read as the digit meant)."""
        found: list[tuple[TrackedInvoice, InvoiceMention]] = []
        seen: set[int] = set()
        for mention in mentions:
            digits = mention.keys[-1]
            if not digits.isdigit() or len(digits) < _NEAR_MISS_DIGITS:
                continue
            if mention.near:
                keys = [digits]
            elif any(t.remaining > 0 for t in self._by_key.get(digits, ())):
                continue  # the number is an open invoice: exact, not a near miss (`_resolve` decided on it)
            else:
                keys = one_slip_keys(digits)
            for key in keys:
                for tracked in self._by_key.get(key, ()):
                    if tracked.remaining > 0 and tracked.currency == currency and id(tracked) not in seen:
                        seen.add(id(tracked))
                        found.append((tracked, mention))
        return found

    def _weigh_near_miss(
        self, amount: int, payer: _Payer, near: list[tuple[TrackedInvoice, InvoiceMention]], by_name: Proposal
    ) -> Proposal:
        """A number one slip from open invoices is evidence, weighed with the amount and the payer: it picks
        among equal balances the name found, or suggests an invoice the name alone would not. It is applied
        unattended only when the amount is its balance to the cent, the payer is its customer and no other
        invoice is as near; otherwise it is a suggestion."""
        config = self.config

        def weight(tracked: TrackedInvoice) -> int:
            amount_fit = (
                2 if tracked.free == amount else 1 if abs(tracked.free - amount) <= self.tolerance(amount) else 0
            )
            name = payer.fit(tracked.customer_id)
            name_fit = 2 if name >= config.name_strong else 1 if name >= config.name_candidate else 0
            return amount_fit * 3 + name_fit

        ranked = sorted(((weight(t), t, m) for t, m in near), key=lambda w: (-w[0], w[1].due))
        best_weight, tracked, mention = ranked[0]
        if best_weight < 3:
            return by_name  # neither the amount nor the payer supports any of them
        unique = len(ranked) == 1 or ranked[1][0] < best_weight
        chosen = by_name.allocations[0][0] if len(by_name.allocations) == 1 else None
        slip = f"reference {mention.text} is one slip from {tracked.number}"
        if chosen is tracked:
            by_name.reasons.append(slip)
            return by_name
        sure = (
            unique
            and best_weight == 8
            and (
                # the name found nothing, or an equal balance of the same customer the number now tells apart
                chosen is None or (chosen.customer_id == tracked.customer_id and chosen.free == tracked.free)
            )
        )
        if not sure and by_name.confidence >= config.auto_threshold and not by_name.blockers:
            # the amount and the name agree on another invoice: the slip only casts a doubt
            by_name.blockers.append(f"{slip}, not the invoice the amount and the name point at")
            return by_name
        blockers = [] if sure else [f"{slip}; the number is not written exactly"]
        confidence = NEAR_MISS_SURE if sure else NEAR_MISS if unique else NAME_AMBIGUOUS
        return Proposal(
            [(tracked, min(amount, tracked.free))],
            confidence,
            tracked.customer_id,
            [self._payer_phrase(payer, tracked.customer_id, payer.fit(tracked.customer_id)), slip],
            blockers,
            exact=tracked.free == amount,
            fits=True,
        )

    def _by_reference(
        self,
        payment: IncomingPayment,
        amount: int,
        currency: str,
        payer: _Payer,
        reading: ReferenceReading,
        hits: list[tuple[TrackedInvoice, InvoiceMention, bool]],
    ) -> Proposal:
        """The reference names invoices: weigh the payer and the currency against them, then let the fitting
        cascade say how the amount pays them."""
        named = [tracked for tracked, _, _ in hits]
        evidence = self._named_evidence(payer, named, weak_only=not any(strong for _, _, strong in hits))
        foreign = [t for t in named if t.currency != currency]
        if foreign:
            evidence.blockers.append(
                f"payment in {currency}, {', '.join(t.number for t in foreign)} in {foreign[0].currency}"
                " (needs a currency conversion)"
            )
        open_named = [t for t in named if t.remaining > 0]
        if not open_named:
            paid = ", ".join(t.number for t in named)
            fallback = self._by_name(payment, amount, currency, payer, reading.deduction_reason, reading.partial)
            fallback.reasons.insert(0, f"reference names {paid}, which has no open balance left")
            fallback.blockers.append(f"{paid} is already paid or allocated")
            return fallback
        if evidence.conflict:
            own = self._own_invoice_for_amount(payer, amount, currency, payment)
            fits_named = not foreign and self._single_fit(open_named, amount)
            if own is not None and not fits_named:
                tracked, cents = own
                return Proposal(
                    [(tracked, cents)],
                    PAYERS_OWN_INSTEAD,
                    tracked.customer_id,
                    [*evidence.reasons, f"amount matches the payer's own {tracked.number} instead"],
                    evidence.blockers,
                )
        if len(foreign) == len(named):
            in_due_order = sorted(open_named, key=lambda o: o.due)
            return Proposal(
                fill(in_due_order, amount),
                REF_FOREIGN_CURRENCY + evidence.name_adjust,
                evidence.customer_id,
                [
                    *evidence.reasons,
                    f"amount {money(amount)} {currency} not compared with the balance "
                    f"{money(sum(t.remaining for t in open_named))} {foreign[0].currency}",
                ],
                evidence.blockers,
            )
        return self._fit_named(open_named, hits, amount, reading, evidence)

    def _named_evidence(self, payer: _Payer, named: list[TrackedInvoice], weak_only: bool) -> _NamedEvidence:
        """The reasons and blockers of the payer against the customer(s) the reference names."""
        config = self.config
        numbers = ", ".join(t.number for t in named)
        reasons = [f"reference names {numbers}"]
        blockers: list[str] = []
        customers = list(dict.fromkeys(t.customer_id for t in named))
        if len(customers) > 1:
            blockers.append("the reference names invoices of several customers")
        customer_id = customers[0]
        fit = max(payer.fit(c) for c in customers)
        someone_else = self._payer_is_someone_else(payer, customers, fit)
        if someone_else is not None:
            blockers.append(
                f"{numbers} belongs to '{self._names.display_name(customer_id)}', but the payer "
                f"'{payer.name}' is '{self._names.display_name(someone_else)}'"
            )
        name_adjust = 0.0
        if fit >= config.name_strong:
            reasons.append(self._payer_phrase(payer, customer_id, fit))
        elif fit >= config.name_candidate:
            reasons.append(self._payer_phrase(payer, customer_id, fit))
            name_adjust = -0.01
        elif someone_else is None:
            name_adjust = -UNKNOWN_PAYER_PENALTY
            reasons.append(
                f"payer '{payer.name}' not recognised as '{self._names.display_name(customer_id)}' ({fit:.2f})"
                if payer.name.strip()
                else "no payer name"
            )
        if weak_only:
            name_adjust -= WEAK_REFERENCE_PENALTY
        conflict = someone_else is not None
        return _NamedEvidence(numbers, customer_id, fit, conflict, name_adjust, reasons, blockers)

    def _payer_is_someone_else(self, payer: _Payer, customers: list[str], fit: float) -> str | None:
        """The customer the payer clearly is when that is not one the reference names ("Falcon Footwear"
        paying with the number of an "Opal Footwear" invoice), however much the two names share."""
        config = self.config
        identified = payer.identified if fit < config.name_strong else None
        if identified is None or identified in customers:
            return None
        identified_score = 1.0 if payer.alias_customer else payer.candidates[0].score
        if identified_score >= config.name_strong and identified_score >= fit + config.name_margin:
            return identified
        return None

    def _fit_named(
        self,
        open_named: list[TrackedInvoice],
        hits: list[tuple[TrackedInvoice, InvoiceMention, bool]],
        amount: int,
        reading: ReferenceReading,
        evidence: _NamedEvidence,
    ) -> Proposal:
        """How `amount` pays the invoices the reference names (all with an open balance), with what the
        reference and the payer said."""
        in_due_order = sorted(open_named, key=lambda o: o.due)
        total = sum(t.remaining for t in open_named)
        fit = NamedFit(
            evidence.customer_id,
            amount,
            reading.deduction_reason,
            reading.partial,
            open_named,
            {id(t): m.amount_cents for t, m, _ in hits if m.amount_cents is not None and t.remaining > 0},
            in_due_order,
            total,
            amount - total,
        )
        proposal = fit_named_invoices(self, fit)
        proposal.reasons[:0] = evidence.reasons
        blockers = evidence.blockers
        touched = [t.number for t in open_named if t.remaining < t.original]
        if touched and proposal.confidence < REF_TOLERANCE:
            blockers.append(f"{', '.join(touched)} already received another payment in this batch")
        if evidence.fit < self.config.name_candidate and proposal.confidence < REF_TOLERANCE:
            # a mistyped number can name a stranger's invoice: only the exact amount vouches for it then
            blockers.append("payer not recognised and the amount is not the balance")
        proposal.blockers.extend(blockers)
        proposal.confidence += evidence.name_adjust
        return proposal

    def _by_name(
        self,
        payment: IncomingPayment,
        amount: int,
        currency: str,
        payer: _Payer,
        deduction: str | None,
        partial: bool,
    ) -> Proposal:
        """No usable reference: the payer's customer(s), and their open invoices the amount fits.

        Customers owed this very amount (or within the fee tolerance of it) come from the amount index and
        are ranked by name; a single-invoice match can only come from them. Only when none of them fits are
        the payer's name candidates asked for a weaker guess (a combination, a short or an overpayment)."""
        scores: dict[str, float] = {}
        if payer.alias_customer:
            scores[payer.alias_customer] = 1.0
        # a price hundreds of invoices share (a subscription) says nothing about who paid: ask the name
        hits: dict[str, list[TrackedInvoice]] = defaultdict(list)
        for tracked in self._amount_hits(currency, amount, _MAX_AMOUNT_HITS):
            hits[tracked.customer_id].append(tracked)
        owed = frozenset(hits)
        if owed:
            for candidate in payer.rank(owed):
                scores.setdefault(candidate.customer_id, candidate.score)
        # An amount few open invoices share is itself evidence; a common one (a subscription price) is not,
        # and then the name has to carry the identification.
        distinctive = len(self._by_amount.get((currency, amount), ())) <= _DISTINCT_AMOUNT_SHARERS
        proposals = self._customer_proposals(
            payment, amount, currency, payer, scores, distinctive, deduction, partial, hits
        )
        if not any(p.fits for p in proposals):
            guesses = {c.customer_id: c.score for c in payer.candidates[:5] if c.customer_id not in scores}
            scores.update(guesses)
            proposals += self._customer_proposals(
                payment, amount, currency, payer, guesses, distinctive, deduction, partial, hits
            )
        if not scores:
            return self._no_customer(payment, amount, currency, payer)
        if not proposals:
            best_id = max(scores, key=lambda c: scores[c])
            return Proposal(
                [],
                NAME_WITHOUT_FIT,
                best_id,
                [
                    self._payer_phrase(payer, best_id, scores[best_id]),
                    "no open invoice in this currency fits the amount",
                ],
            )
        return self._best_of(payment, proposals, scores)

    def _no_customer(self, payment: IncomingPayment, amount: int, currency: str, payer: _Payer) -> Proposal:
        reason = (
            "no invoice number in the reference" if not payment.reference.strip() else "reference names no open invoice"
        )
        who = f"payer '{payer.name}' matches no customer" if payer.name.strip() else "no payer name"
        same = len(self._by_amount.get((currency, amount), ()))
        tail = f"; {same} open invoice(s) of other customers have this amount" if same else ""
        return Proposal([], 0.0, None, [f"{reason}; {who}{tail}"])

    def _best_of(self, payment: IncomingPayment, proposals: list[Proposal], scores: Mapping[str, float]) -> Proposal:
        """The most confident proposal, held back when another customer's name or proposal is as good."""
        config = self.config
        proposals.sort(key=lambda p: -p.confidence)
        best = proposals[0]
        best_name = max(scores.values())
        if best.customer_id is not None and scores.get(best.customer_id, 0.0) < best_name - config.name_margin:
            # the amount fits a customer whose name fits less well than another's
            closer = max(scores, key=lambda c: scores[c])
            best.blockers.append(f"the payer's name is closer to '{self._names.display_name(closer)}'")
            best.confidence = min(best.confidence, NAME_AMBIGUOUS)
        if not payment.reference.strip():
            best.reasons.insert(0, "no reference")
        if len(proposals) > 1:
            runner_up = proposals[1]
            if runner_up.confidence >= best.confidence - config.name_margin:
                best.blockers.append(f"'{self._names.display_name(runner_up.customer_id or '')}' fits almost as well")
                best.confidence -= 0.2
        return best

    def _customer_proposals(
        self,
        payment: IncomingPayment,
        amount: int,
        currency: str,
        payer: _Payer,
        scores: Mapping[str, float],
        distinctive: bool,
        deduction: str | None,
        partial: bool,
        hits: Mapping[str, Sequence[TrackedInvoice]],
    ) -> list[Proposal]:
        config = self.config
        proposals: list[Proposal] = []
        for customer_id, score in scores.items():
            identified = score >= config.name_strong
            proposal = self._fit_customer(
                payment, customer_id, amount, currency, deduction, partial, identified, hits.get(customer_id)
            )
            if proposal is None:
                continue
            held = [t.number for t, _ in proposal.allocations if t.reserved]
            if held and proposal.fits:
                # the amount fits what a suggestion under review leaves of the balance, not the balance
                proposal.blockers.append(f"part of {', '.join(held)} is suggested for a payment under review")
            slope = NAME_SLOPE_DISTINCT if proposal.exact and distinctive else NAME_SLOPE
            proposal.confidence -= slope * (1.0 - score)
            proposal.reasons.insert(0, self._payer_phrase(payer, customer_id, score))
            strong_enough = config.name_strong_distinct if proposal.exact and distinctive else config.name_strong
            if score < strong_enough:
                proposal.blockers.append("payer name is not a confident match")
                proposal.confidence -= WEAK_NAME_PENALTY if proposal.exact else WEAK_NAME_GUESS_PENALTY
            proposals.append(proposal)
        return proposals

    def _fit_customer(
        self,
        payment: IncomingPayment,
        customer_id: str,
        amount: int,
        currency: str,
        deduction: str | None,
        partial: bool,
        identified: bool = True,
        hits: Sequence[TrackedInvoice] | None = None,
    ) -> Proposal | None:
        """The best way `amount` pays open invoices of one customer (`fitting.fit_customer_invoices`)."""
        found = self._customer_invoices(payment, customer_id, amount, currency, identified, hits)
        if found is None:
            return None
        exact, candidates = found
        fit = CustomerFit(
            customer_id, amount, deduction, partial, exact, candidates, candidates[: self.config.max_subset_candidates]
        )
        return fit_customer_invoices(self, fit, identified)

    def _customer_invoices(
        self,
        payment: IncomingPayment,
        customer_id: str,
        amount: int,
        currency: str,
        identified: bool,
        hits: Sequence[TrackedInvoice] | None,
    ) -> tuple[list[TrackedInvoice], list[TrackedInvoice]] | None:
        """The customer's invoices whose free balance is the amount, and its open invoices; None when there is
        nothing worth fitting. `hits` are the customer's invoices the amount index found; an exact fit among
        them spares reading all the customer's invoices (a big account has hundreds)."""
        if hits:
            on = payment.date
            usable = [t for t in hits if t.currency == currency and t.issue <= on and t.remaining > t.reserved]
            exact = sorted((t for t in usable if t.free == amount), key=lambda t: t.due)
            if not exact and not identified and not any(abs(t.free - amount) <= self.tolerance(t.free) for t in usable):
                return None
        elif not identified:
            return None
        else:
            exact = []
        candidates = [] if exact else self._open_for(customer_id, currency, payment)
        if not exact and not candidates:
            return None
        if not exact:
            exact = [t for t in candidates if t.free == amount]
        return exact, candidates

    # ------------------------------------------------------------------ what the steps look up

    def _open_for(self, customer_id: str, currency: str, payment: IncomingPayment | None) -> list[TrackedInvoice]:
        """Open invoices a guess may pick: free balance, the payment's currency, issued by the payment date
        (when known), and not already cleared within tolerance."""
        on_or_before = payment.date if payment is not None else date.max
        invoices = self._by_customer.get(customer_id, [])
        if customer_id not in self._sorted:
            invoices.sort(key=_DUE)
            self._sorted.add(customer_id)
        return [
            t
            for t in invoices
            if t.remaining > t.reserved
            and t.currency == currency
            and t.issue <= on_or_before
            # cents left by a payment within tolerance are a write-off, not a debt
            and not (t.remaining < t.original and t.remaining <= self.tolerance(t.original))
        ]

    def _single_fit(self, invoices: Sequence[TrackedInvoice], amount: int) -> bool:
        total = sum(t.remaining for t in invoices)
        return abs(total - amount) <= self.tolerance(total)

    def customer_single_fit(
        self, customer_id: str, amount: int, exclude: Sequence[TrackedInvoice]
    ) -> TrackedInvoice | None:
        skip = {id(t) for t in exclude}
        for tracked in self._open_for(customer_id, exclude[0].currency, None):
            if id(tracked) not in skip and tracked.free == amount:
                return tracked
        return None

    def _own_invoice_for_amount(
        self, payer: _Payer, amount: int, currency: str, payment: IncomingPayment
    ) -> tuple[TrackedInvoice, int] | None:
        identified = payer.identified
        if identified is None:
            return None
        candidates = self._open_for(identified, currency, payment)
        exact = [t for t in candidates if t.free == amount]
        near = exact or [t for t in candidates if abs(t.free - amount) <= self.tolerance(t.free)]
        if not near:
            return None
        tracked = min(near, key=lambda t: (abs(t.free - amount), t.due))
        return tracked, min(tracked.free, amount)

    def unnamed_combination(
        self, customer_id: str, named: Sequence[TrackedInvoice], surplus: int, amount: int
    ) -> list[TrackedInvoice] | None:
        """Open invoices of the customer, not named, whose balances make up `surplus` exactly."""
        skip = {id(t) for t in named}
        others = [t for t in self._open_for(customer_id, named[0].currency, None) if id(t) not in skip]
        others = others[: self.config.max_subset_candidates]
        # to the cent: with a tolerance, some small invoices of a big account nearly always add up by chance
        for tracked in others:
            if tracked.free == surplus:
                return [tracked]
        found = find_combination([t.free for t in others], surplus, 0, 3)
        return [others[i] for i in found] if found else None

    def _amount_hits(self, currency: str, amount: int, limit: int) -> list[TrackedInvoice]:
        """Open invoices whose remaining balance is this amount, or within the fee tolerance of it; none
        when more than `limit` are."""
        hits = list(self._by_amount.get((currency, amount), ()))
        amounts = self._amounts.get(currency)
        if amounts and len(hits) <= limit:
            tolerance = self.tolerance(amount)
            start = bisect.bisect_left(amounts, amount - tolerance)
            stop = bisect.bisect_right(amounts, amount + tolerance)
            for cents in amounts[start:stop]:
                if cents != amount:
                    hits.extend(self._by_amount.get((currency, cents), ()))
        return hits if len(hits) <= limit else []

    def _reindex(self, tracked: TrackedInvoice, before: int) -> None:
        """Keep the amount index on remaining balances as payments are applied."""
        same = self._by_amount.get((tracked.currency, before))
        if same is not None and tracked in same:
            same.remove(tracked)
        if tracked.remaining > 0:
            key = (tracked.currency, tracked.remaining)
            if not self._by_amount.get(key):
                amounts = self._amounts.setdefault(tracked.currency, [])
                position = bisect.bisect_left(amounts, tracked.remaining)
                if position == len(amounts) or amounts[position] != tracked.remaining:
                    amounts.insert(position, tracked.remaining)
            self._by_amount[key].append(tracked)

    # ------------------------------------------------------------------ decision

    def _decide(
        self, payment: IncomingPayment, amount: int, proposal: Proposal
    ) -> tuple[MatchResult, list[tuple[TrackedInvoice, int]]]:
        """Auto, review or unmatched for the best proposal; applies (auto) or reserves (review) its allocations."""
        config = self.config
        confidence = max(0.0, min(MAX_CONFIDENCE, proposal.confidence))
        currency = payment.currency.upper()
        if not proposal.blockers and any(t.currency != currency for t, _ in proposal.allocations):
            # a backstop: every path above already blocks an invoice in another currency
            proposal.blockers.append("invoice in another currency")
        decision: MatchDecision
        if not proposal.allocations or confidence < config.review_floor:
            decision = "unmatched"
        elif proposal.blockers or confidence < config.auto_threshold:
            decision = "review"
            confidence = min(confidence, max(config.review_floor, config.auto_threshold - 0.01))
        else:
            decision = "auto"
        allocations = [] if decision == "unmatched" else proposal.allocations
        applied, cents_applied, left = self._allocate(decision, amount, allocations)
        result = MatchResult(
            payment_id=payment.payment_id,
            decision=decision,
            confidence=round(confidence, 4),
            allocations=applied,
            explanation=_explanation(decision, proposal, left),
            customer_id=proposal.customer_id,
            deduction_reason=proposal.deduction_reason,
        )
        return result, cents_applied

    def _allocate(
        self, decision: MatchDecision, amount: int, allocations: list[tuple[TrackedInvoice, int]]
    ) -> tuple[list[MatchAllocation], list[tuple[TrackedInvoice, int]], int]:
        """Apply (auto) or reserve (review) each allocation, capped by the balance and what is left of the
        payment; the allocations made, their cents per invoice, and what is left unapplied."""
        applied: list[MatchAllocation] = []
        cents_applied: list[tuple[TrackedInvoice, int]] = []
        left = amount
        for tracked, wanted in allocations:
            cents = min(wanted, tracked.remaining, left)
            if cents <= 0:
                continue
            if decision == "auto":
                before = tracked.remaining
                tracked.remaining -= cents
                self._reindex(tracked, before)
            else:
                tracked.reserved += cents
            left -= cents
            cents_applied.append((tracked, cents))
            applied.append(MatchAllocation(tracked.invoice.invoice_id, Decimal(cents).scaleb(-2)))
        return applied, cents_applied, left


def _explanation(decision: MatchDecision, proposal: Proposal, left: int) -> str:
    """The reasons of the proposal, and why it was decided so, as a clerk reads them."""
    parts = list(proposal.reasons)
    if decision == "review":
        parts.append("review: " + "; ".join(proposal.blockers or ["confidence below the auto threshold"]))
    elif decision == "auto" and left > 0 and not any("unapplied" in reason for reason in parts):
        parts.append(f"{money(left)} unapplied credit")
    elif decision == "unmatched" and proposal.allocations:
        parts.append("unmatched: too little evidence to suggest an invoice")
    return "; ".join(p for p in parts if p)


_DUE = attrgetter("due")


def match_payments(
    payments: Iterable[IncomingPayment],
    invoices: Iterable[OpenInvoice],
    aliases: Mapping[str, str] | None = None,
    config: MatchConfig | None = None,
) -> list[MatchResult]:
    """Match a batch in one call: results in the order of `payments`."""
    return MatchingEngine(invoices, aliases or {}, config or MatchConfig()).match_all(payments)
