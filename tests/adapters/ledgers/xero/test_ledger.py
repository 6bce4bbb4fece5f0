"""The XeroLedger operations (adapters/ledgers/xero/ledger.py) against the emulator: Xero's status rules,
estimates, payments and batches, bank lines, notes, mail, credit notes, incremental sync and aging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from xero_python.accounting.models import PaymentDelete

from adapters.ledger import (
    Allocation,
    BankLineStatus,
    CreditNoteDraft,
    EstimateStatus,
    EventOperation,
    InvoiceDraft,
    InvoiceStatus,
    NotFound,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.xero.ledger import XeroLedger
from tests.emulators.xero import XeroEmulator

from .connected import TODAY, connected_ledger, customer, invoice, line, pay, usd

# --- Xero's status flow ------------------------------------------------------------------------------------


def test_payments_only_on_authorised_invoices(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    draft = emulator.add_invoice(contact, [("Draft work", "1", "80.00")], issued=TODAY, due=TODAY, status="DRAFT")
    assert ledger.get_invoice(draft).status == InvoiceStatus.DRAFT
    with pytest.raises(PermanentLedgerError, match="AUTHORISED"):
        pay(ledger, contact, {draft: "80.00"}, "pay-draft")


def test_paid_then_void_is_refused_with_xeros_message(ledger: XeroLedger) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "100.00")
    pay(ledger, contact, {inv: "40.00"}, "pay-part")
    assert ledger.get_invoice(inv).status == InvoiceStatus.PARTIALLY_PAID
    with pytest.raises(PermanentLedgerError,
                       match="cannot be edited as it has a payment or credit note allocated to it"):
        ledger.void_invoice(inv, "void-paid")
    pay(ledger, contact, {inv: "60.00"}, "pay-rest")
    paid = ledger.get_invoice(inv)
    assert paid.status == InvoiceStatus.PAID and paid.balance == usd("0.00") and paid.is_settled


def test_a_draft_is_deleted_and_a_void_invoice_stays_void(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    draft = emulator.add_invoice(contact, [("Draft work", "1", "80.00")], issued=TODAY, due=TODAY, status="DRAFT")
    gone = ledger.void_invoice(draft, "void-draft")
    assert gone.status == InvoiceStatus.VOID and emulator.invoice(draft)["Status"] == "DELETED"
    live = invoice(ledger, contact)
    assert ledger.void_invoice(live, "void-live").balance == usd("0.00")
    assert emulator.invoice(live)["Status"] == "VOIDED"
    writes = sum(emulator.writes.values())
    assert ledger.void_invoice(live, "void-again").status == InvoiceStatus.VOID  # already void: nothing written
    assert sum(emulator.writes.values()) == writes


def test_bills_are_not_receivables(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    bill = emulator.add_invoice(contact, [("Supplies", "1", "10.00")], issued=TODAY, due=TODAY, kind="ACCPAY")
    with pytest.raises(NotFound):
        ledger.get_invoice(bill)
    assert bill not in {i.id for i in ledger.list_open_invoices()}


def test_estimates_from_quotes(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    sent = emulator.add_quote(contact, "1000.00", issued=TODAY)
    accepted = emulator.add_quote(contact, "250.00", issued=TODAY)
    emulator.set_quote_status(accepted, "ACCEPTED")
    assert ledger.get_estimate(sent).status == EstimateStatus.PENDING
    assert ledger.get_estimate(sent).total == usd("1000.00")
    assert [e.id for e in ledger.list_estimates(EstimateStatus.ACCEPTED)] == [accepted]
    draft = InvoiceDraft(customer_id=contact, currency="USD", lines=[line("250.00")], issue_date=TODAY,
                         due_date=TODAY + timedelta(days=30), estimate_id=accepted)
    ledger.create_invoice(draft, "from-quote")
    assert ledger.get_estimate(accepted).status == EstimateStatus.CLOSED
    assert {e.id for e in ledger.list_estimates()} == {sent, accepted}


def test_one_payment_for_several_invoices_is_one_batch(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    a, b = invoice(ledger, contact, "300.00", key="a"), invoice(ledger, contact, "120.50", key="b")
    single = pay(ledger, contact, {a: "150.00"}, "pay-1")
    batch = pay(ledger, contact, {a: "150.00", b: "120.50"}, "pay-2")
    assert emulator.count("PUT", "/BatchPayments") == 1
    listed = {p.id: p for p in ledger.list_payments()}
    assert set(listed) == {single.id, batch.id}
    assert {x.invoice_id: x.amount for x in listed[batch.id].allocations} == {a: usd("150.00"), b: usd("120.50")}
    for_b = ledger.list_payments(invoice_id=b)
    assert [p.id for p in for_b] == [batch.id] and for_b[0].amount == usd("270.50")
    ledger.add_note("Payment", batch.id, "duecourse: remittance REM-1 applied", "note-batch")


def test_money_beyond_the_invoices_becomes_an_overpayment(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "300.00")
    payment = pay(ledger, contact, {inv: "300.00"}, "pay-over", total="350.00")
    assert payment.unapplied == usd("50.00") and payment.amount == usd("350.00")
    assert ledger.get_invoice(inv).status == InvoiceStatus.PAID
    (over,) = emulator.orgs[emulator.tenant_id].overpayments.values()
    assert over["Total"] == Decimal("50.00") and over["ContactID"] == contact
    assert emulator.writes["pay-over:overpayment"] == 1


def test_bank_lines_are_money_received(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "300.00")
    deposit = emulator.add_bank_transaction(contact, "300.00", on=TODAY, reference="ACME REM 55")
    emulator.add_bank_transaction(contact, "12.00", on=TODAY, reference="Old", reconciled=True)
    emulator.add_bank_transaction(contact, "40.00", on=TODAY, kind="SPEND")
    line_ = ledger.get_bank_line(deposit)
    assert (line_.amount, line_.payer_name, line_.reference, line_.status) == (
        usd("300.00"), "Acme Ltd", "ACME REM 55", BankLineStatus.UNMATCHED)
    assert [b.id for b in ledger.list_bank_lines(BankLineStatus.UNMATCHED)] == [deposit]
    assert len(ledger.list_bank_lines()) == 2
    ledger.record_payment(PaymentRequest(customer_id=contact, date=TODAY, amount=usd("300.00"),
                                         allocations=[Allocation(invoice_id=inv, amount=usd("300.00"))],
                                         bank_line_id=deposit), "pay-deposit")
    assert any("applied as payment" in h["Details"] for h in emulator.history("banktransactions", deposit))
    with pytest.raises(PermanentLedgerError, match="exceeds the deposit"):
        ledger.record_payment(PaymentRequest(customer_id=contact, date=TODAY, amount=usd("400.00"), allocations=[],
                                             bank_line_id=deposit), "pay-too-much")


def test_notes_land_in_the_history(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact)
    ledger.add_note("Invoice", inv, "duecourse: reminder 1 sent", "n1")
    ledger.add_note("Invoice", inv, "duecourse: reminder 1 sent", "n1")
    ledger.add_note("Customer", contact, "duecourse: dispute opened", "n2")
    notes = [h["Details"] for h in emulator.history("invoices", inv) if h["Changes"] == "Note"]
    assert notes == ["duecourse: reminder 1 sent"]
    assert [h["Details"] for h in emulator.history("contacts", contact)] == ["duecourse: dispute opened"]
    with pytest.raises(PermanentLedgerError, match="cannot add a note"):
        ledger.add_note("Shipment", inv, "x", "n3")


def test_xero_emails_the_invoice_itself(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    inv = invoice(ledger, customer(ledger))
    assert ledger.send_invoice(inv, "send-1") is True
    assert ledger.send_invoice(inv, "send-1") is True
    assert [e["to"] for e in emulator.emails()] == ["ap@acme.example"]
    assert emulator.invoice(inv)["SentToContact"] is True
    silent = invoice(ledger, customer(ledger, "No Mail Co", email=None), key="inv-2")
    with pytest.raises(PermanentLedgerError, match="email address"):
        ledger.send_invoice(silent, "send-2")


def test_credit_note_is_allocated_to_its_invoice(ledger: XeroLedger) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "200.00")
    note = ledger.create_credit_note(CreditNoteDraft(customer_id=contact, currency="USD", lines=[line("25.00")],
                                                     issue_date=TODAY, invoice_id=inv, reason="damaged"), "cn-1")
    assert (note.total, note.remaining, note.status, note.invoice_id) == (usd("25.00"), usd("0.00"), "applied", inv)
    after = ledger.get_invoice(inv)
    assert after.balance == usd("175.00") and after.status == InvoiceStatus.PARTIALLY_PAID
    spare = ledger.create_credit_note(CreditNoteDraft(customer_id=contact, currency="USD", lines=[line("5.00")],
                                                      issue_date=TODAY), "cn-2")
    assert spare.status == "open" and spare.remaining == usd("5.00")
    assert {n.id for n in ledger.list_credit_notes(customer_id=contact)} == {note.id, spare.id}


# --- incremental sync: If-Modified-Since --------------------------------------------------------------------


def test_changes_since_reads_only_what_changed(emulator: XeroEmulator) -> None:
    ledger = connected_ledger(emulator, change_overlap_seconds=0)
    emulator.clock = lambda: datetime.now(UTC) - timedelta(hours=1)
    contact = customer(ledger)
    old = invoice(ledger, contact, key="old")  # last changed an hour ago
    emulator.clock = lambda: datetime.now(UTC)
    start = ledger.changes_since(None)
    assert start.events == []
    new = invoice(ledger, contact, key="new")
    batch = ledger.changes_since(start.cursor)
    # Xero itself left out what If-Modified-Since excludes: the contact and the old invoice.
    assert {(e.entity, e.entity_id) for e in batch.events} == {("Invoice", new)}
    assert datetime.fromisoformat(batch.cursor) == batch.events[0].occurred_at
    assert batch.events[0].ledger == "xero" and batch.events[0].tenant == emulator.tenant_id
    payment = pay(ledger, contact, {new: "100.00"}, "pay-s")
    deposit = emulator.add_bank_transaction(contact, "5.00", on=TODAY)
    later = ledger.changes_since(batch.cursor)
    seen = {(e.entity, e.entity_id): e for e in later.events}
    assert ("Invoice", old) not in seen and ("Customer", contact) not in seen
    assert seen[("Invoice", new)].event_id != batch.events[0].event_id  # paid: a new version, a new event
    assert ("Payment", payment.id) in seen and seen[("BankLine", deposit)].operation == EventOperation.CREATE
    assert datetime.fromisoformat(later.cursor) > datetime.fromisoformat(batch.cursor)
    # Nothing changed since: at most the last second's events again, under the ids already given.
    again = ledger.changes_since(later.cursor)
    assert {e.event_id for e in again.events} <= {e.event_id for e in later.events}
    ledger.close()


def test_the_overlap_repeats_event_ids_never_new_ones(ledger: XeroLedger) -> None:
    start = ledger.changes_since(None)
    invoice(ledger, customer(ledger))
    once = ledger.changes_since(start.cursor)
    twice = ledger.changes_since(once.cursor)
    assert {e.event_id for e in twice.events} <= {e.event_id for e in once.events}
    assert twice.cursor == once.cursor


# --- aging ---------------------------------------------------------------------------------------------------


def test_aging_report_buckets_by_days_past_due(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    acme, globex = customer(ledger), customer(ledger, "Globex")
    invoice(ledger, acme, "300.00", key="old", due=TODAY - timedelta(days=45), issued=TODAY - timedelta(days=75))
    invoice(ledger, acme, "100.00", key="new", due=TODAY + timedelta(days=10), issued=TODAY - timedelta(days=20))
    late = invoice(ledger, globex, "80.00", key="late", due=TODAY - timedelta(days=100),
                   issued=TODAY - timedelta(days=130))
    # Paid after the aging date: still owed on that date.
    emulator.pay(late, "80.00", on=TODAY + timedelta(days=1))
    rows = {r.customer_name: r for r in ledger.aging_report(TODAY) or []}
    assert rows["Acme Ltd"].days_31_60 == Decimal("300.00") and rows["Acme Ltd"].current == Decimal("100.00")
    assert rows["Globex"].days_91_plus == Decimal("80.00") and rows["Globex"].total == Decimal("80.00")
    assert emulator.count("GET", "/Reports/AgedReceivablesByContact") == 2


def test_aging_with_too_many_customers_is_left_to_the_caller(emulator: XeroEmulator) -> None:
    ledger = connected_ledger(emulator, aging_contact_limit=1)
    invoice(ledger, customer(ledger), key="a")
    invoice(ledger, customer(ledger, "Globex"), key="b")
    assert ledger.aging_report(TODAY) is None
    assert emulator.count("GET", "/Reports") == 0
    ledger.close()


def test_a_deleted_payment_reopens_a_paid_invoice(ledger: XeroLedger) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "100.00")
    payment = pay(ledger, contact, {inv: "100.00"}, "pay-all")
    assert ledger.get_invoice(inv).status == InvoiceStatus.PAID
    ledger._call("deleting a payment", ledger._api.delete_payment, payment.id, PaymentDelete(status="DELETED"))
    reopened = ledger.get_invoice(inv)
    assert reopened.status == InvoiceStatus.OPEN and reopened.balance == usd("100.00")
    assert ledger.list_payments(invoice_id=inv) == []
