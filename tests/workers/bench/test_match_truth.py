"""The benchmark's truth where the evidence cannot tell invoices apart, and how the bench scores against it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from activities.cash_matching.model import IncomingPayment, MatchAllocation, MatchResult
from workers.bench.match import _against_truth
from workers.bench.match_data import LabelledPayment, generate_dataset

_PAYMENT = IncomingPayment("p1", date(2025, 3, 20), Decimal("499.00"), "USD", "ACME INC", "PAYMENT")


def _labelled(interchangeable: tuple[tuple[str, ...], ...]) -> LabelledPayment:
    truth = (MatchAllocation("in_a", Decimal("499.00")),)
    return LabelledPayment(_PAYMENT, "recurring", truth, True, interchangeable)


def _result(*invoice_ids: str, amount: str = "499.00") -> MatchResult:
    allocations = [MatchAllocation(i, Decimal(amount)) for i in invoice_ids]
    return MatchResult("p1", "auto", 0.97, allocations, "")


def test_an_interchangeable_invoice_counts_as_right_once() -> None:
    claimed: set[str] = set()
    assert _against_truth(_labelled((("in_b", "in_c"),)), _result("in_b"), claimed) == (True, True)
    assert claimed == {"in_b"}
    # a second payment with the same label cannot be right on the invoice the first one stood in with
    assert _against_truth(_labelled((("in_b", "in_c"),)), _result("in_b"), claimed) == (False, False)
    assert _against_truth(_labelled((("in_b", "in_c"),)), _result("in_c"), claimed) == (True, True)


def test_without_interchangeable_invoices_only_the_labelled_one_is_right() -> None:
    assert _against_truth(_labelled(()), _result("in_b"), set()) == (False, False)
    assert _against_truth(_labelled(()), _result("in_a"), set()) == (True, True)
    # the right invoice with another amount names the invoice but is not exact
    assert _against_truth(_labelled((("in_b",),)), _result("in_b", amount="498.00"), set()) == (False, True)


def test_the_generator_lists_only_equal_unnamed_invoices_open_on_the_payment_date() -> None:
    data = generate_dataset(payments=600, invoices=3_000, seed=5)
    invoices = {i.invoice_id: i for i in data.invoices}
    named = set()
    for labelled in data.payments:
        for allocation, others in zip(
            labelled.truth, labelled.interchangeable or ((),) * len(labelled.truth), strict=True
        ):
            if not others:
                continue
            own = invoices[allocation.invoice_id]
            for other in map(invoices.__getitem__, others):
                assert (other.customer_id, other.balance) == (own.customer_id, own.balance)
                assert other.issue_date <= labelled.payment.date
                named.add(other.invoice_number.split("-")[-1])
    # no payment's reference names an invoice another payment may stand in with
    stood_in = [p for p in data.payments if p.interchangeable]
    assert stood_in, "the seed should make some payments of equal balances"
    for labelled in data.payments:
        for digits in named:
            assert digits not in labelled.payment.reference
