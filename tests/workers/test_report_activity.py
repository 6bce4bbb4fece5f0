"""The activity report read from a real store: the audit rows and replies the workflows leave behind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from activities.reports.books import Books
from adapters.store import AuditRecord, AuditRow, InboundRecord, Store
from workers.report_activity import activity_report

AS_OF = date(2025, 3, 31)


def _audit(store: Store, key: str, action: str, at: datetime, invoice_id: str | None = "I-1",
           workflow_id: str = "invoice-sandbox-demo-I-1", **inputs: str) -> None:
    store.record_audit(AuditRecord(idempotency_key=key, workflow_id=workflow_id, invoice_id=invoice_id,
                                   action=action, inputs=inputs))
    with Session(store.engine) as session:  # the store stamps rows with now: put them back in March
        row = session.exec(select(AuditRow).where(AuditRow.idempotency_key == key)).one()
        row.at = at
        session.add(row)
        session.commit()


def test_activity_from_the_audit_log_replies_and_ledger_payments(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    march = datetime(2025, 3, 3, 9, tzinfo=UTC)
    _audit(store, "sandbox:demo:I-1:decision:1", "reminder approve", march,
           requested_at=(march - timedelta(hours=6)).isoformat())
    _audit(store, "sandbox:demo:I-1:reminder-sent:L1", "reminder sent", march)
    _audit(store, "sandbox:demo:I-1:reminder-sent:L2", "reminder sent", march + timedelta(days=10))
    _audit(store, "sandbox:demo:I-1:closed", "invoice closed", march + timedelta(days=12))
    for line, action in (("B-1", "cash match auto-applied"), ("B-2", "cash match approve"),
                         ("B-3", "cash match rejected"), ("B-4", "cash match auto-applied"),
                         ("B-5", "cash match suggested (shadow)")):
        _audit(store, f"sandbox:demo:bankline:{line}:step", action, march, invoice_id=None,
               workflow_id=f"cash-{line}", bank_line_id=line)
    store.record_inbound(InboundRecord(received_at=march + timedelta(days=2), message_id="<r1@x>", kind="reply",
                                       original_message_id="<m1@x>", address=None, status=None,
                                       workflow_id="invoice-sandbox-demo-I-1", outcome="signalled", detail=""),
                         b"")
    invoice = OpenInvoice("I-1", "INV-1001", "C-1", "Acme", "USD", Decimal("100.00"), Decimal("0.00"),
                          date(2025, 1, 1), date(2025, 1, 31))
    books = Books.of([invoice], [AppliedPayment("P-1", "I-1", date(2025, 3, 15), Decimal("100.00"))], AS_OF)

    document = activity_report(store, books, date(2025, 3, 1), AS_OF).to_json()

    # L1 on 03-03: the reply of 03-05 is its; L2 on 03-13: the payment of 03-15 is its.
    assert [(r["level"], r["sent"], r["replied"], r["paid"]) for r in document["levels"]] == [(1, 1, 1, 0),
                                                                                              (2, 1, 0, 1)]
    assert document["approvals"]["decisions"] == 1 and document["approvals"]["median_hours"] == 6.0
    assert document["approvals"]["by_kind"] == {"reminder": document["approvals"]["by_kind"]["reminder"]}
    cash = document["cash_application"]
    assert (cash["deposits"], cash["auto_applied"], cash["shadow_suggestions"]) == (4, 2, 1)
    assert cash["straight_through_rate"] == 0.5
