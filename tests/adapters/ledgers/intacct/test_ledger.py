"""`IntacctLedger`'s operations against the emulator: server-computed invoice state as payments apply,
unapplied cash as advances, voids, credit notes, quotes, bank lines, notes and the polling backstop."""

from __future__ import annotations

import base64
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.ledger import (
    Allocation,
    BankLineStatus,
    CreditNoteDraft,
    CustomerDraft,
    EstimateStatus,
    EventOperation,
    InvoiceLine,
    InvoiceStatus,
    NotFound,
    PermanentLedgerError,
)
from adapters.ledgers.intacct.ledger import IntacctLedger
from tests.emulators.intacct import ADJUSTMENT, ADVANCE, ATTACHMENT, INVOICE, IntacctEmulator

from .connected import TODAY, Connect, connected_ledger, customer_of, invoice_of, line, numbers_in, pay, usd


def test_state_follows_partial_then_full_payment_across_two_invoices(emulator: IntacctEmulator,
                                                                      ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    a = invoice_of(ledger, customer.id, "300.00", key="a")
    b = invoice_of(ledger, customer.id, "120.50", key="b")
    first = pay(ledger, customer.id, "150.00", [(a.id, "150.00")], "pay-1", reference="CHK-1001")
    wire = emulator.objects[INVOICE][a.id]
    assert (wire["state"], wire["totalTxnAmountDue"]) == ("partiallyPaid", "150.00")
    assert wire["paymentInformation"]["totalTxnAmountPaid"] == "150.00"
    assert ledger.get_invoice(a.id).status == InvoiceStatus.PARTIALLY_PAID
    second = pay(ledger, customer.id, "270.50", [(a.id, "150.00"), (b.id, "120.50")], "pay-2")
    [_, post] = emulator.writes_to("POST", "/objects/accounts-receivable/payment")
    assert [d["txnCurrency"]["paymentAmount"] for d in post.body["paymentDetails"]] == ["150.00", "120.50"]
    assert post.body["paymentSummary"] == {"receiptDate": "2026-03-02"} and numbers_in(post.body) == []
    for invoice in (a, b):
        wire = emulator.objects[INVOICE][invoice.id]
        assert (wire["state"], wire["totalTxnAmountDue"], wire["paymentInformation"]["fullyPaidDate"]) == (
            "paid", "0.00", "2026-03-02")
        assert ledger.get_invoice(invoice.id).status == InvoiceStatus.PAID
    assert ledger.list_open_invoices(customer_id=customer.id) == []
    by_invoice = ledger.list_payments(a.id)
    assert [p.id for p in by_invoice] == [first.id, second.id]
    assert by_invoice[0].allocations == [Allocation(invoice_id=a.id, amount=usd("150.00"))]
    assert by_invoice[0].reference == "CHK-1001" and by_invoice[0].date == TODAY
    assert by_invoice[1].amount == usd("270.50") and by_invoice[1].unapplied == usd("0.00")
    assert [p.id for p in ledger.list_payments(b.id)] == [second.id]


def test_money_beyond_the_allocations_becomes_an_advance(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id, "300.00")
    payment = pay(ledger, customer.id, "350.00", [(invoice.id, "300.00")], "pay-over", reference="WIRE-77")
    assert payment.amount == usd("350.00") and payment.unapplied == usd("50.00")
    [advance] = emulator.objects[ADVANCE].values()
    assert advance["txnCurrency"]["totalAmount"] == "50.00" and advance["documentNumber"] == "WIRE-77"
    again = pay(ledger, customer.id, "350.00", [(invoice.id, "300.00")], "pay-over", reference="WIRE-77")
    assert again.id == payment.id and len(emulator.objects[ADVANCE]) == 1
    assert emulator.writes == {"cust-1": 1, "inv-1": 1, "pay-over": 1, "pay-over:advance": 1}
    listed = {p.id: p for p in ledger.list_payments()}
    assert listed[advance["key"]].unapplied == usd("50.00") and listed[advance["key"]].allocations == []
    assert listed[payment.id].allocations == [Allocation(invoice_id=invoice.id, amount=usd("300.00"))]


@pytest.mark.parametrize("top_level", [False, True])
def test_over_application_is_a_permanent_error_carrying_the_ledgers_message(emulator: IntacctEmulator,
                                                                            ledger: IntacctLedger,
                                                                            top_level: bool) -> None:
    emulator.faults.error_at_top_level = top_level
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id, "100.00")
    with pytest.raises(PermanentLedgerError) as refused:
        pay(ledger, customer.id, "150.00", [(invoice.id, "150.00")], "pay-too-much")
    assert "exceeds the amount due 100.00" in str(refused.value) and "422" in str(refused.value)
    assert not isinstance(refused.value, NotFound)
    assert ledger.get_invoice(invoice.id).balance == usd("100.00") and emulator.objects[ADVANCE] == {}


def test_a_validation_error_names_the_field(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id)
    stranger = ledger.create_customer(CustomerDraft(name="Globex"), "cust-2")
    with pytest.raises(PermanentLedgerError, match="belongs to another customer"):
        pay(ledger, stranger.id, "10.00", [(invoice.id, "10.00")], "pay-wrong-customer")


def test_void_reverses_the_invoice(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id, "80.00")
    voided = ledger.void_invoice(invoice.id, "void-1")
    assert voided.status == InvoiceStatus.VOID and voided.balance == usd("0.00") and voided.is_settled
    states = sorted(r["state"] for r in emulator.objects[INVOICE].values())
    assert states == ["reversal", "reversed"]
    assert ledger.list_open_invoices() == []
    assert ledger.void_invoice(invoice.id, "void-1").status == InvoiceStatus.VOID
    assert len(emulator.writes_to("POST", "/workflows/accounts-receivable/invoice/reverse")) == 1


def test_a_paid_invoice_cannot_be_voided(ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id, "80.00")
    pay(ledger, customer.id, "10.00", [(invoice.id, "10.00")], "pay-some")
    with pytest.raises(PermanentLedgerError, match="has payments applied"):
        ledger.void_invoice(invoice.id, "void-paid")
    assert ledger.get_invoice(invoice.id).status == InvoiceStatus.PARTIALLY_PAID


def test_credit_notes_are_adjustments_with_negative_lines(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id, "200.00")
    note = ledger.create_credit_note(CreditNoteDraft(customer_id=customer.id, currency="USD",
                                                     lines=[line("25.00", "Damaged box")], issue_date=TODAY,
                                                     invoice_id=invoice.id, reason="damaged"), "cn-1")
    [post] = emulator.writes_to("POST", f"/objects/{ADJUSTMENT}")
    assert post.body["lines"][0]["txnCurrency"]["amount"] == "-25.00" and post.body["createdDate"] == "2026-03-02"
    assert post.body["description"].startswith(f"Credit for invoice {invoice.number}: damaged [duecourse ")
    assert (note.total, note.remaining, note.status, note.invoice_id) == (usd("25.00"), usd("25.00"), "open",
                                                                          invoice.id)
    emulator.seed(ADJUSTMENT, {"key": "900", "adjustmentNumber": "DM-1", "state": "posted",
                               "customer": {"key": customer.id}, "description": "Late fee", "documentNumber": "X",
                               "txnCurrency": {"currency": "USD", "totalEntered": "15.00", "totalDue": "15.00"}})
    assert [n.id for n in ledger.list_credit_notes(customer_id=customer.id)] == [note.id]  # debit memos are not
    assert ledger.list_credit_notes(customer_id="424242") == []
    with pytest.raises(PermanentLedgerError, match="belongs to customer"):
        other = ledger.create_customer(CustomerDraft(name="Globex"), "cust-2")
        ledger.create_credit_note(CreditNoteDraft(customer_id=other.id, currency="USD", lines=[line("5.00")],
                                                  issue_date=TODAY, invoice_id=invoice.id), "cn-2")


def test_quotes_are_estimates(connect: Connect, emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    pending = emulator.add_quote(customer.id, [("Design", "2", "150.00"), ("Travel", "1", "45.50")])
    emulator.add_quote(customer.id, [("Audit", "1", "99.00")], state="converted")
    estimate = ledger.get_estimate(pending)
    assert estimate.total == usd("345.50") and estimate.status == EstimateStatus.PENDING
    assert estimate.lines[0] == InvoiceLine(description="Design", quantity=Decimal("2"), unit_price=Decimal("150.00"),
                                            amount=Decimal("300.00"))
    assert (estimate.number, estimate.issue_date, estimate.customer_id) == ("Q0001", date(2026, 3, 1), customer.id)
    assert [e.id for e in ledger.list_estimates(EstimateStatus.PENDING)] == [pending]
    assert [e.status for e in ledger.list_estimates()] == [EstimateStatus.PENDING, EstimateStatus.CLOSED]
    without = connect(quote_object=None)
    assert without.list_estimates() == []
    with pytest.raises(NotFound, match="not configured"):
        without.get_estimate(pending)


def test_bank_feed_deposits_are_bank_lines(connect: Connect, emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    deposit = emulator.add_bank_txn("420.50", "ACME LTD", reference="INV-00001")
    emulator.add_bank_txn("-75.00", "Office rent")
    matched = emulator.add_bank_txn("10.00", "Globex", state="matched")
    line_ = ledger.get_bank_line(deposit)
    assert (line_.amount, line_.payer_name, line_.reference, line_.date, line_.status) == (
        usd("420.50"), "ACME LTD", "INV-00001", TODAY, BankLineStatus.UNMATCHED)
    assert [b.id for b in ledger.list_bank_lines()] == [deposit, matched]
    assert [b.id for b in ledger.list_bank_lines(BankLineStatus.UNMATCHED)] == [deposit]
    assert connect(bank_line_object=None).list_bank_lines() == []


def test_notes_land_once_in_the_invoices_attachment(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id)
    ledger.add_note("Invoice", invoice.id, "duecourse: reminder sent (level 1)", "note-1")
    ledger.add_note("Invoice", invoice.id, "duecourse: reminder sent (level 1)", "note-1")
    ledger.add_note("Invoice", invoice.id, "duecourse: reminder sent (level 2)", "note-2")
    [attachment] = emulator.objects[ATTACHMENT].values()
    assert emulator.objects[INVOICE][invoice.id]["attachment"]["key"] == attachment["key"]
    assert attachment["folder"] == {"id": "duecourse"} and attachment["id"] == f"DC-I-{invoice.id}"
    texts = [base64.b64decode(f["data"]).decode() for f in attachment["files"]]
    assert texts == ["duecourse: reminder sent (level 1)", "duecourse: reminder sent (level 2)"]
    ledger.add_note("Customer", customer.id, "credit hold lifted", "note-3")
    assert len(emulator.objects[ATTACHMENT]) == 2
    with pytest.raises(PermanentLedgerError, match="cannot add a note to 'BankLine'"):
        ledger.add_note("BankLine", "1", "x", "note-4")
    with pytest.raises(NotFound):
        ledger.add_note("Invoice", "424242", "x", "note-5")


def test_intacct_mails_nothing_and_has_no_aging_report(ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id)
    assert ledger.send_invoice(invoice.id, "send-1") is False
    assert ledger.aging_report(TODAY) is None


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_changes_since_a_cursor(tmp_path: Any) -> None:
    clock = Clock(datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC))
    with IntacctEmulator(clock=clock) as emulator, closing(connected_ledger(emulator, clock=clock)) as port:
        start = port.changes_since(None)
        assert start.events == [] and start.cursor == "2026-03-02T09:59:30Z"
        customer = customer_of(port)
        invoice = invoice_of(port, customer.id)
        first = port.changes_since(start.cursor)
        assert [(e.entity, e.entity_id, e.operation) for e in first.events] == [
            ("Customer", customer.id, EventOperation.CREATE), ("Invoice", invoice.id, EventOperation.CREATE)]
        assert all(e.ledger == "intacct" and e.tenant == "ACME" for e in first.events)
        assert first.cursor == "2026-03-02T10:00:00Z"  # that second is not settled yet: read it again
        assert [e.event_id for e in port.changes_since(first.cursor).events] == [e.event_id for e in first.events]
        clock.now += timedelta(minutes=1)
        settled = port.changes_since(first.cursor)
        assert settled.cursor == "2026-03-02T10:00:01Z" and len(settled.events) == 2
        assert port.changes_since(settled.cursor).events == []
        pay(port, customer.id, "100.00", [(invoice.id, "100.00")], "pay-1")
        other = invoice_of(port, customer.id, "50.00", key="inv-2")
        clock.now += timedelta(seconds=5)
        port.void_invoice(other.id, "void-2")
        later = port.changes_since(settled.cursor)
        seen = {(e.entity, e.entity_id, e.operation) for e in later.events}
        assert ("Invoice", invoice.id, EventOperation.UPDATE) in seen
        assert ("Invoice", other.id, EventOperation.VOID) in seen
        assert any(e.entity == "Payment" and e.operation == EventOperation.CREATE for e in later.events)
        assert all(e.entity_id != customer.id for e in later.events)
        with pytest.raises(PermanentLedgerError, match="cursor"):
            port.changes_since("yesterday")
