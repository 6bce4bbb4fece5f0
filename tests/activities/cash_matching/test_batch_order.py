"""Issue 13, cash application that holds up: the batch is decided surest evidence first, equal balances are
taken by due date then number, and an approximate amount without a reference is only suggested."""

from __future__ import annotations

from datetime import timedelta

from activities.cash_matching import MatchingEngine, match_payments
from tests.activities.cash_matching.sample_ledger import ACME, GLOBEX, TODAY, allocated, invoice, payment


def test_file_order_no_longer_lets_a_guess_take_the_invoice_a_later_reference_names() -> None:
    # two open 500.00 invoices of Acme; INV-2001 is due first. p1 (earlier, no reference) used to take INV-2001
    # as the oldest due, and p2, naming INV-2001, found it paid and fell back to a guess
    invoices = [invoice("INV-2001", "500.00", due_in=0), invoice("INV-2002", "500.00", due_in=30)]
    results = match_payments(
        [
            payment("500.00", payment_id="p1", on=TODAY - timedelta(days=3)),
            payment("500.00", reference="INV-2001", payment_id="p2", on=TODAY),
        ],
        invoices,
    )
    assert [r.payment_id for r in results] == ["p1", "p2"]  # the input order
    assert (results[1].decision, allocated(results[1])) == ("auto", {"id-INV-2001": "500.00"})
    assert (results[0].decision, allocated(results[0])) == ("auto", {"id-INV-2002": "500.00"})


def test_an_exact_amount_is_decided_before_a_name_only_guess() -> None:
    # p1 (earlier) is 700.00 for Globex, less than either balance: a short-payment guess on the oldest, INV-3001.
    # p2 pays INV-3001's 800.00 exactly. The exact amount is decided first; the guess does not hold INV-3001.
    invoices = [invoice("INV-3001", "800.00", GLOBEX, due_in=0), invoice("INV-3002", "900.00", GLOBEX, due_in=10)]
    results = match_payments(
        [
            payment("700.00", "GLOBEX GMBH", payment_id="p1", on=TODAY - timedelta(days=5)),
            payment("800.00", "GLOBEX GMBH", payment_id="p2", on=TODAY),
        ],
        invoices,
    )
    assert (results[1].decision, allocated(results[1])) == ("auto", {"id-INV-3001": "800.00"})
    assert results[0].decision == "review"
    assert allocated(results[0]) == {"id-INV-3002": "700.00"}


def test_equal_balances_are_paid_by_due_date_then_invoice_number() -> None:
    # same amount three times: INV-999 and INV-1000 are due the same day, INV-0998 a week later; issued on other
    # days, which does not matter. Numbers compare as numbers: INV-999 comes before INV-1000.
    invoices = [
        invoice("INV-1000", "250.00", due_in=0, issued_days_ago=50),
        invoice("INV-0998", "250.00", due_in=12, issued_days_ago=45),
        invoice("INV-999", "250.00", due_in=-5, issued_days_ago=45),
    ]
    engine = MatchingEngine(invoices)
    first, second, third = (engine.match(payment("250.00", payment_id=f"p{n}")) for n in range(1, 4))
    # due dates: INV-1000 and INV-999 both TODAY - 20 (issued 50 and 45 days ago on 30 and 25 days' terms)
    assert allocated(first) == {"id-INV-999": "250.00"}
    assert allocated(second) == {"id-INV-1000": "250.00"}
    assert allocated(third) == {"id-INV-0998": "250.00"}
    assert {first.decision, second.decision, third.decision} == {"auto"}


def test_an_approximate_amount_without_a_reference_is_only_suggested() -> None:
    # 1,248.50 is 1.50 short of INV-4001's 1,250.00: a bank fee within tolerance, but nothing names the invoice
    invoices = [invoice("INV-4001", "1250.00"), invoice("INV-4002", "310.50", due_in=5)]
    result = match_payments([payment("1248.50", "ACME CORPORATION")], invoices)[0]
    assert result.decision == "review"
    assert allocated(result) == {"id-INV-4001": "1248.50"}
    assert "no reference naming the invoice" in result.explanation
    # the same amount naming the invoice is applied: the reference makes the fee an explanation
    named = match_payments([payment("1248.50", "ACME CORPORATION", "INV-4001")], invoices)[0]
    assert (named.decision, allocated(named)) == ("auto", {"id-INV-4001": "1248.50"})


def test_the_same_batch_in_another_file_order_gives_the_same_decisions() -> None:
    invoices = [invoice("INV-2001", "500.00", due_in=0), invoice("INV-2002", "500.00", due_in=30, customer=ACME)]
    batch = [
        payment("500.00", payment_id="p1", on=TODAY - timedelta(days=3)),
        payment("500.00", reference="INV-2001", payment_id="p2", on=TODAY),
    ]
    forward = {r.payment_id: r for r in match_payments(batch, invoices)}
    backward = {r.payment_id: r for r in match_payments(list(reversed(batch)), invoices)}
    assert forward == backward
