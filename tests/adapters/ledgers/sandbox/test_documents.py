"""The sandbox ledger's billable documents: accepted estimates and time entries, and their announcements."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledger import EstimateStatus, EventOperation, InvoiceDraft, InvoiceLine, PermanentLedgerError
from adapters.ledgers.sandbox import SandboxLedger
from tests.adapters.ledgers.sandbox.conftest import TODAY


def announced(ledger: SandboxLedger) -> list[tuple[str, str, EventOperation]]:
    return [(event.entity, event.entity_id, event.operation) for _, event in ledger.events()]


def test_accepting_an_estimate_announces_an_estimate_update_once(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Fabrikam", credit_limit=Decimal("1000.00"))
    estimate = ledger.add_estimate(customer.id, Decimal("800.00"), issue_date=TODAY)
    before = len(ledger.events())
    assert ledger.accept_estimate(estimate.id).status == EstimateStatus.ACCEPTED
    assert ledger.accept_estimate(estimate.id).status == EstimateStatus.ACCEPTED  # again: nothing new
    assert announced(ledger)[before:] == [("Estimate", estimate.id, EventOperation.UPDATE)]
    assert ledger.get_customer(customer.id).credit_limit is not None


def test_a_rejected_estimate_cannot_be_accepted(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Fabrikam")
    estimate = ledger.add_estimate(customer.id, Decimal("800.00"), issue_date=TODAY)
    ledger.set_estimate_status(estimate.id, EstimateStatus.REJECTED)
    with pytest.raises(PermanentLedgerError, match="rejected: only a pending estimate"):
        ledger.accept_estimate(estimate.id)


def test_a_time_entry_is_stored_unbilled_and_announced(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Contoso", currency="EUR")
    entry = ledger.add_time_entry(customer.id, Decimal("2.5"), Decimal("120.00"), "  design review ", on=TODAY)
    assert (entry.id, entry.hours, entry.rate.amount, entry.rate.currency) == ("T-6001", Decimal("2.5"),
                                                                               Decimal("120.00"), "EUR")
    assert entry.description == "design review" and entry.invoice_id is None
    assert announced(ledger)[-1] == ("TimeEntry", "T-6001", EventOperation.CREATE)
    assert [e.id for e in ledger.list_time_entries(customer.id, unbilled_only=True)] == ["T-6001"]


@pytest.mark.parametrize(("hours", "rate", "message"), [
    ("0", "100", "hours must be more than 0"), ("25", "100", "at most 24"), ("1", "-5", "rate must be positive"),
    ("1", "10.005", "more decimal places"), ("x", "10", "is not a number"),
])
def test_a_bad_time_entry_is_refused(ledger: SandboxLedger, hours: str, rate: str, message: str) -> None:
    customer = ledger.add_customer("Contoso")
    with pytest.raises(PermanentLedgerError, match=message):
        ledger.add_time_entry(customer.id, hours, rate, "work", on=TODAY)
    assert ledger.list_time_entries() == []


def test_billing_time_entries_marks_them_billed_once(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Contoso")
    first = ledger.add_time_entry(customer.id, Decimal("1.5"), Decimal("100.00"), "call", on=TODAY)
    second = ledger.add_time_entry(customer.id, Decimal("3"), Decimal("80.00"), "build", on=TODAY)
    lines = [InvoiceLine(description="call", quantity=Decimal("1.5"), unit_price=Decimal("100.00"),
                         amount=Decimal("150.00")),
             InvoiceLine(description="build", quantity=Decimal("3"), unit_price=Decimal("80.00"),
                         amount=Decimal("240.00"))]
    draft = InvoiceDraft(customer_id=customer.id, currency="USD", lines=lines, issue_date=TODAY,
                         due_date=TODAY + timedelta(days=30))
    invoice = ledger.bill_time_entries(draft, [first.id, second.id], "time:key")
    again = ledger.bill_time_entries(draft, [first.id, second.id], "time:key")
    assert again.id == invoice.id and invoice.total.amount == Decimal("390.00")
    assert len(ledger.list_invoices(customer.id)) == 1
    assert ledger.list_time_entries(customer.id, unbilled_only=True) == []
    assert {e.invoice_id for e in ledger.list_time_entries(customer.id)} == {invoice.id}
    with pytest.raises(PermanentLedgerError, match="already billed"):
        ledger.bill_time_entries(draft, [first.id], "another:key")


def test_time_entries_appear_in_a_ledger_file_made_before_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    import sqlite3

    old = SandboxLedger(path)
    customer = old.add_customer("Old Co")
    old.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE time_entries")
    reopened = SandboxLedger(path)
    try:
        entry = reopened.add_time_entry(customer.id, "1", "50", "support", on=date(2025, 1, 2))
        assert reopened.list_time_entries() == [entry]
    finally:
        reopened.close()
