"""The shadow-mode cash report: the engine's suggestions against what people then did in the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from adapters.ledger import Allocation, Money, PaymentRequest
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import AuditRecord, Store
from workers.reports import SHADOW_ACTION, shadow_cash_report

DAY = date(2026, 3, 2)


def shadow(store: Store, bank_line_id: str, suggested: list[list[str]], decision: str) -> None:
    store.record_audit(AuditRecord(idempotency_key=f"shadow-{bank_line_id}", workflow_id=f"bankline:{bank_line_id}",
                                   action=SHADOW_ACTION, inputs={"bank_line_id": bank_line_id,
                                                                 "suggested": suggested, "decision": decision}))


def apply(ledger: SandboxLedger, customer_id: str, line_id: str, invoice_id: str, amount: str) -> None:
    ledger.record_payment(PaymentRequest(customer_id=customer_id, date=DAY, amount=Money.of(amount, "USD"),
                                         allocations=[Allocation(invoice_id=invoice_id,
                                                                 amount=Money.of(amount, "USD"))],
                                         bank_line_id=line_id), f"apply-{line_id}")


def test_report_counts_agreements_disagreements_and_open_lines(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    ledger = SandboxLedger(tmp_path / "ledger.db")
    customer = ledger.add_customer("Acme Ltd", email="ap@acme.example")
    a = ledger.add_invoice(customer.id, Decimal("100.00"), due_date=DAY)
    b = ledger.add_invoice(customer.id, Decimal("50.00"), due_date=DAY)
    c = ledger.add_invoice(customer.id, Decimal("70.00"), due_date=DAY)
    right = ledger.receive(Decimal("100.00"), "ACME", on=DAY, reference=a.number)
    wrong = ledger.receive(Decimal("50.00"), "ACME", on=DAY)
    waiting = ledger.receive(Decimal("70.00"), "ACME", on=DAY)
    shadow(store, right.id, [[a.id, "100.00"]], "auto")
    shadow(store, wrong.id, [[c.id, "50.00"]], "review")
    shadow(store, waiting.id, [[c.id, "70.00"]], "auto")
    apply(ledger, customer.id, right.id, a.id, "100.00")
    apply(ledger, customer.id, wrong.id, b.id, "50.00")

    report = shadow_cash_report(store, ledger)
    assert (report.suggestions, report.decided_by_people, report.agreed, report.pending) == (3, 2, 1, 1)
    assert report.match_rate == 0.5 and report.auto_would_have_agreed == 1.0
    [disagreement] = report.disagreements
    assert disagreement.bank_line_id == wrong.id
    assert disagreement.suggested == [(c.id, "50.00")] and disagreement.people_did == [(b.id, "50.00")]
