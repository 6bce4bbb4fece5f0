"""Properties of the matching engine over random ledgers and bank lines: no balance allocated twice, and no
auto decision that breaks a safety rule."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.cash_matching import IncomingPayment, MatchConfig, OpenInvoice, match_payments
from tests.activities.cash_matching.sample_ledger import ACME, GLOBEX, INDUSTRIAL, MULLER, OBRIEN, TODAY, ZENITH

_CUSTOMERS = [
    ACME,
    GLOBEX,
    INDUSTRIAL,
    OBRIEN,
    MULLER,
    ZENITH,
    ("C-APX", "Apex Logistics Inc"),
    ("C-APF", "Apex Foods Inc"),
]


_PAYERS = [name.upper() for _, name in _CUSTOMERS] + ["JOHN SMITH", "ACME", "APEX", "GLOBEX CORP", ""]


_CURRENCIES = ["USD", "EUR"]


amounts = st.integers(min_value=1, max_value=300_000).map(lambda cents: Decimal(cents).scaleb(-2))


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[OpenInvoice], list[IncomingPayment]]:
    invoice_count = draw(st.integers(min_value=1, max_value=25))
    common = draw(st.lists(amounts, min_size=1, max_size=3))
    invoices = []
    for n in range(invoice_count):
        customer = draw(st.sampled_from(_CUSTOMERS))
        balance = draw(st.one_of(amounts, st.sampled_from(common)))
        invoices.append(
            OpenInvoice(
                invoice_id=f"i{n}",
                invoice_number=f"INV-{1000 + n}",
                customer_id=customer[0],
                customer_name=customer[1],
                currency=draw(st.sampled_from(_CURRENCIES)),
                total=balance,
                balance=balance,
                issue_date=TODAY - timedelta(days=draw(st.integers(0, 90))),
                due_date=TODAY + timedelta(days=draw(st.integers(-60, 30))),
            )
        )
    payments = []
    for n in range(draw(st.integers(min_value=1, max_value=20))):
        referenced = draw(st.lists(st.sampled_from(invoices), max_size=3))
        balances = [i.balance for i in referenced]
        amount = draw(
            st.one_of(
                amounts,
                st.just(sum(balances, Decimal(0)) or Decimal("1.00")),
                st.sampled_from([i.balance for i in invoices]),
                st.sampled_from([i.balance - Decimal("1.00") for i in invoices]),
                st.just(Decimal("0.00")),
            )
        )
        words = draw(st.sampled_from(["", "partial payment", "less 20.00 damaged", "THANK YOU", "PO 1001"]))
        numbers = " ".join(draw(st.sampled_from([i.invoice_number, i.invoice_number[4:]])) for i in referenced)
        payments.append(
            IncomingPayment(
                payment_id=f"p{n}",
                date=TODAY - timedelta(days=draw(st.integers(0, 20))),
                amount=amount,
                currency=draw(st.sampled_from(_CURRENCIES)),
                payer_name=draw(st.sampled_from(_PAYERS)),
                reference=f"{numbers} {words}".strip(),
            )
        )
    return invoices, payments


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_allocations_never_exceed_a_payment_or_an_invoice_balance(
    batch: tuple[list[OpenInvoice], list[IncomingPayment]],
) -> None:
    invoices, payments = batch
    results = match_payments(payments, invoices)
    assert [r.payment_id for r in results] == [p.payment_id for p in payments]
    balance = {i.invoice_id: i.balance for i in invoices}
    applied: dict[str, Decimal] = defaultdict(Decimal)
    for pay, result in zip(payments, results, strict=True):
        assert 0.0 <= result.confidence <= 1.0
        assert all(a.amount > 0 for a in result.allocations)
        assert result.allocated <= max(pay.amount, Decimal(0))
        if result.decision == "unmatched":
            assert result.allocations == []
        for allocation in result.allocations:
            applied[allocation.invoice_id] += allocation.amount
    for invoice_id, total in applied.items():
        assert total <= balance[invoice_id]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_auto_decisions_never_break_a_safety_rule(batch: tuple[list[OpenInvoice], list[IncomingPayment]]) -> None:
    invoices, payments = batch
    by_id = {i.invoice_id: i for i in invoices}
    tolerance = MatchConfig().tolerance_cents
    results = {r.payment_id: r for r in match_payments(payments, invoices)}
    remaining = {i.invoice_id: int(i.balance * 100) for i in invoices}
    # replay in the engine's order (date, then payment id) to know each invoice's balance at the time
    for pay in sorted(payments, key=lambda p: (p.date, p.payment_id)):
        result = results[pay.payment_id]
        if result.decision != "auto":
            continue
        paid = [by_id[a.invoice_id] for a in result.allocations]
        assert result.confidence >= MatchConfig().auto_threshold
        # never into another currency, never across customers
        assert all(i.currency == pay.currency for i in paid)
        assert len({i.customer_id for i in paid}) == 1
        # a deduction is never applied unattended
        assert result.deduction_reason is None
        # several invoices only when the reference names each of them
        if len(paid) > 1:
            assert all(i.invoice_number[4:] in pay.reference for i in paid)
        # short of the balances beyond the tolerance only when the payer said the payment is partial
        before = sum(remaining[i.invoice_id] for i in paid)
        short = before - int(result.allocated * 100)
        if short > tolerance(before):
            assert "partial" in pay.reference
        for allocation in result.allocations:
            remaining[allocation.invoice_id] -= int(allocation.amount * 100)
