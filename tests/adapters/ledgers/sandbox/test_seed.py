"""The demo company: every aging bucket filled, customers that behave, the same books from the same seed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledger import BankLineStatus, EstimateStatus, InvoiceStatus
from adapters.ledgers.sandbox import COMPANY_NAME, SandboxLedger, seed_demo_company
from adapters.ledgers.sandbox.seed import BUCKETS, HABITS, aging_bucket

from .conftest import TODAY


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxLedger, dict[str, object]]:
    ledger = SandboxLedger(tmp_path_factory.mktemp("seed") / "demo.db")
    return ledger, seed_demo_company(ledger, TODAY)


def test_seed_covers_every_aging_bucket(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, summary = seeded
    assert summary["company"] == COMPANY_NAME == "Northwind Studio"
    assert summary["seeded"] is True
    by_bucket = summary["by_bucket"]
    assert isinstance(by_bucket, dict) and list(by_bucket) == list(BUCKETS)
    assert all(by_bucket[bucket] >= 2 for bucket in BUCKETS), by_bucket
    assert 30 <= summary["customers"] <= 40  # type: ignore[operator]
    assert 80 <= summary["invoices"] <= 120  # type: ignore[operator]

    invoices = ledger.list_invoices()
    open_invoices = ledger.list_open_invoices()
    credits: dict[str, Decimal] = {}
    for note in ledger.list_credit_notes():
        assert note.invoice_id is not None
        credits[note.invoice_id] = credits.get(note.invoice_id, Decimal("0")) + note.total.amount
    assert summary["open_invoices"] == len(open_invoices) == sum(by_bucket.values())
    assert {aging_bucket(i.due_date, TODAY) for i in open_invoices} == set(BUCKETS)
    statuses = {i.status for i in invoices}
    assert {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID} <= statuses
    for invoice in invoices:
        assert invoice.total.amount == sum(line.amount for line in invoice.lines)
        assert invoice.total.amount == invoice.total.amount.quantize(Decimal("0.01"))
        paid = sum(
            (
                a.amount.amount
                for p in ledger.list_payments(invoice.id)
                for a in p.allocations
                if a.invoice_id == invoice.id
            ),
            Decimal("0"),
        )
        credited = credits.get(invoice.id, Decimal("0"))  # deductions the past settled with a credit note
        assert invoice.balance.amount == invoice.total.amount - paid - credited
        assert all(p.date <= TODAY for p in ledger.list_payments(invoice.id))
    assert any(i.total.amount % 1 != 0 for i in invoices)  # cents, not round dollars only


def test_seed_customers_behave(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, summary = seeded
    customers = ledger.list_customers()
    assert {ledger.customer_habit(c.id) for c in customers} == set(HABITS)
    names = {c.name for c in customers}
    assert {"Acme Corporation Inc", "Müller & Söhne GmbH", "O'Brien Plumbing", "Bluebird Cafe LLC"} <= names
    assert {c.country for c in customers} >= {"US", "GB", "DE", "AU", "JP"}
    assert {c.terms_days for c in customers} <= {15, 30, 45, 60}
    assert all(c.email and c.email.startswith("ap@") and c.email.endswith(".example") for c in customers)
    assert ledger.get_customer("C-1003").email == "ap@muller-sohne.example"
    disputed = [i for i in ledger.list_open_invoices() if ledger.notes("Invoice", i.id)]
    assert disputed and all(
        "disputes" in ledger.notes("Invoice", i.id)[0] or "discount" in ledger.notes("Invoice", i.id)[0]
        for i in disputed
    )
    lines = ledger.list_bank_lines(BankLineStatus.UNMATCHED)
    assert len(lines) == summary["bank_lines"] == 5
    assert len(ledger.list_estimates(EstimateStatus.PENDING)) == summary["estimates"] == 3
    # A deposit naming an open invoice's number matches that invoice's balance.
    numbered = [line for line in lines if line.reference.startswith("ACH CREDIT ")]
    number = numbered[0].reference.removeprefix("ACH CREDIT ")
    target = next(i for i in ledger.list_open_invoices() if i.number == number)
    assert target.balance == numbered[0].amount


def test_seed_is_deterministic_and_runs_once(tmp_path: Path, seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    reference, summary = seeded
    again = SandboxLedger(tmp_path / "again.db")
    assert seed_demo_company(again, TODAY) == summary

    def books(ledger: SandboxLedger) -> list[object]:
        return [
            *(c.model_dump() for c in ledger.list_customers()),
            *(i.model_dump(exclude={"updated_at"}) for i in ledger.list_invoices()),
            *(p.model_dump() for p in ledger.list_payments()),
            *(b.model_dump() for b in ledger.list_bank_lines()),
        ]

    assert books(again) == books(reference)
    rerun = seed_demo_company(again, TODAY)
    assert rerun["seeded"] is False and rerun["invoices"] == summary["invoices"]

    other = SandboxLedger(tmp_path / "other.db")
    seed_demo_company(other, TODAY, seed=8)
    assert books(other) != books(reference)


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [(-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
     (90, "61-90"), (91, "91+"), (400, "91+")],
)
def test_aging_bucket_labels_the_ports_buckets(days_late: int, bucket: str) -> None:
    assert aging_bucket(TODAY - timedelta(days=days_late), TODAY) == bucket
