"""The demo company's two settled years: quiet (no webhook, no lifecycle), settled, and shaped by each payer's habit."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledger import InvoiceDraft, InvoiceLine, InvoiceStatus, PermanentLedgerError
from adapters.ledgers.sandbox import SandboxLedger, seed_demo_company
from adapters.ledgers.sandbox.ledger import PastInvoice
from adapters.ledgers.sandbox.seed import PAST_DAYS, PAST_HABITS, past_habits

from .conftest import TODAY


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxLedger, dict[str, object]]:
    ledger = SandboxLedger(tmp_path_factory.mktemp("past") / "demo.db")
    return ledger, seed_demo_company(ledger, TODAY)


def _delays(ledger: SandboxLedger) -> dict[str, list[tuple[date, int]]]:
    """Per customer: (due date, days after due the invoice was settled) of every past invoice."""
    past = ledger.past_invoice_ids()
    settled: dict[str, date] = {}
    for payment in ledger.list_payments():
        for allocation in payment.allocations:
            if allocation.invoice_id in past:
                settled[allocation.invoice_id] = max(settled.get(allocation.invoice_id, payment.date), payment.date)
    found: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for invoice in ledger.list_invoices():
        if invoice.id in past:
            found[invoice.customer_id].append((invoice.due_date, (settled[invoice.id] - invoice.due_date).days))
    return found


def test_the_past_is_settled_and_announced_to_nobody(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, summary = seeded
    past = ledger.past_invoice_ids()
    assert summary["past_invoices"] == len(past) >= 24 * 36 // 2  # about one invoice a month per customer
    announced = {event.entity_id for _, event in ledger.events() if event.entity == "Invoice"}
    assert summary["invoices"] == len(announced) == len(ledger.list_invoices()) - len(past)
    assert not past & announced
    # No event names a past payment or credit either: the intake hears of none of it.
    past_payments = {p.id for p in ledger.list_payments() if all(a.invoice_id in past for a in p.allocations)}
    assert past_payments and not past_payments & {e.entity_id for _, e in ledger.events()}
    invoices = [i for i in ledger.list_invoices() if i.id in past]
    assert all(i.status == InvoiceStatus.PAID and i.balance.amount == 0 for i in invoices)
    assert min(i.issue_date for i in invoices) >= TODAY - timedelta(days=PAST_DAYS)
    assert all(p.date < TODAY for p in ledger.list_payments() if p.id in past_payments)
    assert all(i.id not in past for i in ledger.list_open_invoices())


def test_invoice_numbers_follow_issue_dates(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, _ = seeded
    issued = [i.issue_date for i in ledger.list_invoices()]  # in number order
    assert issued == sorted(issued)


def test_each_payer_keeps_its_pattern(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, _ = seeded
    customers = ledger.list_customers()
    patterns = dict(zip((c.id for c in customers),
                        past_habits([str(ledger.customer_habit(c.id)) for c in customers]), strict=True))
    assert set(patterns.values()) == set(PAST_HABITS)
    delays = _delays(ledger)
    by_pattern: dict[str, list[int]] = defaultdict(list)
    for customer_id, pattern in patterns.items():
        by_pattern[pattern].extend(days for _, days in delays[customer_id])
    median = {pattern: statistics.median(days) for pattern, days in by_pattern.items()}
    assert median["early"] < -2
    assert -2 <= median["on_time"] <= 2
    assert 10 <= median["steady_late"] <= 25
    assert median["chronic_late"] >= 35
    for customer_id in [c for c, p in patterns.items() if p == "worsening"]:
        ordered = sorted(delays[customer_id])
        first, last = ordered[: len(ordered) // 3], ordered[-len(ordered) // 3:]
        assert statistics.mean(d for _, d in last) - statistics.mean(d for _, d in first) > 20
    for customer_id in [c for c, p in patterns.items() if p == "seasonal"]:
        holiday = [d for due, d in delays[customer_id] if due.month in (7, 8, 12, 1)]
        other = [d for due, d in delays[customer_id] if due.month not in (7, 8, 12, 1)]
        assert statistics.mean(holiday) > 25 > 8 > statistics.mean(other)


def test_disputers_pay_in_parts_and_short_payers_get_credits(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, _ = seeded
    past = ledger.past_invoice_ids()
    habit = {c.id: ledger.customer_habit(c.id) for c in ledger.list_customers()}
    parts: dict[str, int] = defaultdict(int)
    for payment in ledger.list_payments():
        for allocation in payment.allocations:
            if allocation.invoice_id in past:
                parts[allocation.invoice_id] += 1
    split = {i.customer_id for i in ledger.list_invoices() if parts.get(i.id, 0) == 2}
    assert split and {habit[c] for c in split} == {"disputer"}
    credited = {note.customer_id for note in ledger.list_credit_notes() if note.invoice_id in past}
    assert credited and {habit[c] for c in credited} == {"short_payer"}


def _draft(ledger: SandboxLedger, customer_id: str, amount: str) -> InvoiceDraft:
    value = Decimal(amount)
    return InvoiceDraft(customer_id=customer_id, currency="USD", issue_date=date(2024, 1, 5), due_date=date(2024, 2, 4),
                        lines=[InvoiceLine(description="Design hours", unit_price=value, amount=value)])


def test_record_past_refuses_an_unsettled_invoice_and_writes_nothing(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "past.db")
    customer = ledger.add_customer("Acme Corporation Inc")
    settled = PastInvoice(_draft(ledger, customer.id, "100.00"), ((date(2024, 2, 1), Decimal("100.00"), "ACH"),))
    short = PastInvoice(_draft(ledger, customer.id, "250.00"), ((date(2024, 2, 9), Decimal("240.00"), "ACH"),))
    with pytest.raises(PermanentLedgerError, match=r"INV-1002 .* not settled by its past: 10.00 left"):
        ledger.record_past([settled, short])
    assert ledger.list_invoices() == [] and ledger.list_payments() == []
    overpaid = PastInvoice(_draft(ledger, customer.id, "50.00"), ((date(2024, 2, 1), Decimal("60.00"), "ACH"),))
    with pytest.raises(PermanentLedgerError, match="does not fit"):
        ledger.record_past([overpaid])

    credited = PastInvoice(short.draft, short.payments, (Decimal("10.00"), "bank fee accepted", date(2024, 2, 16)))
    assert ledger.record_past([settled, credited]) == 2
    first, second = ledger.list_invoices()
    assert (first.number, first.status, second.number, second.status) == ("INV-1001", "paid", "INV-1002", "paid")
    assert [p.amount.amount for p in ledger.list_payments()] == [Decimal("100.00"), Decimal("240.00")]
    assert [(n.invoice_id, n.total.amount) for n in ledger.list_credit_notes()] == [(second.id, Decimal("10.00"))]
    assert ledger.past_invoice_ids() == {first.id, second.id}
    assert [e.entity for _, e in ledger.events()] == ["Customer"]  # the past announced nothing
    # The next invoice someone enters is announced, and numbered after the past.
    later = ledger.add_invoice(customer.id, Decimal("75.00"), due_date=date(2024, 3, 1))
    assert later.number == "INV-1003" and ledger.past_invoice_ids() == {first.id, second.id}
