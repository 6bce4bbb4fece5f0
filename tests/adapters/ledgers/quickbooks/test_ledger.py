"""The QuickBooks ledger's operations against the emulator: change data capture, sending invoices, notes,
credit notes, estimates, paying bank lines and the aging report. Everything talks to 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

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
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from tests.adapters.ledgers.quickbooks.connected import Clock, connected_ledger, line, new_customer, new_invoice
from tests.adapters.ledgers.quickbooks.recorded import (
    CUSTOMER_58,
    DEPOSIT_300,
)
from tests.adapters.ledgers.steps import TODAY, usd
from tests.emulators.quickbooks import Limits, QuickBooksEmulator

# --- changes (CDC) ------------------------------------------------------------------------------------------------


def test_changes_since_reports_creates_voids_deletes_and_bank_lines() -> None:
    clock = Clock()
    with QuickBooksEmulator(clock=clock) as emulator:
        ledger = connected_ledger(emulator, cdc_overlap=timedelta(0))
        start = ledger.changes_since(None)
        assert start.events == [] and start.cursor.endswith("-07:00")
        clock.advance(1)
        customer_id = new_customer(ledger)
        kept = new_invoice(ledger, customer_id, key="kept")
        paid = ledger.record_payment(PaymentRequest(customer_id=customer_id, date=TODAY, amount=usd("5.00"),
                                                    allocations=[]), "on-account")
        voided = new_invoice(ledger, customer_id, key="voided")
        doomed = new_invoice(ledger, customer_id, key="doomed")
        deposit = emulator.seed("Deposit", {
            "DepositToAccountRef": {"value": "35"}, "TxnDate": "2026-03-01",
            "Line": [{"Amount": "80.00", "DetailType": "DepositLineDetail",
                      "DepositLineDetail": {"AccountRef": {"value": "80"}, "Entity": {"value": customer_id}}},
                     {"Amount": "20.00", "DetailType": "DepositLineDetail",
                      "DepositLineDetail": {"AccountRef": {"value": "81"}}},
                     {"Amount": "5.00", "LinkedTxn": [{"TxnId": paid.id, "TxnType": "Payment"}]}]})
        memo = ledger.create_credit_note(CreditNoteDraft(customer_id=customer_id, currency="USD",
                                                         lines=[line("10.00")], issue_date=TODAY), "cn")
        clock.advance(1)
        ledger.void_invoice(voided.id, "void")
        emulator.remove("Invoice", doomed.id)
        clock.advance(1)

        batch = ledger.changes_since(start.cursor)
        seen = {(e.entity, e.entity_id): e.operation for e in batch.events}
        assert seen == {
            ("Customer", customer_id): EventOperation.CREATE,
            ("Invoice", kept.id): EventOperation.CREATE,
            ("Invoice", voided.id): EventOperation.VOID,
            ("Invoice", doomed.id): EventOperation.DELETE,
            ("BankLine", f"{deposit['Id']}-1"): EventOperation.CREATE,
            ("BankLine", f"{deposit['Id']}-2"): EventOperation.CREATE,
            ("BankLine", f"{deposit['Id']}-3"): EventOperation.UPDATE,  # already matched: nothing to apply
            ("Payment", paid.id): EventOperation.CREATE,
            ("CreditNote", memo.id): EventOperation.CREATE,
        }
        assert {(e.ledger, e.tenant) for e in batch.events} == {("quickbooks", emulator.realm_id)}
        assert len({e.event_id for e in batch.events}) == len(batch.events)
        assert ledger.changes_since(batch.cursor).events == []
        # Asking again from the same cursor names the same changes with the same event ids.
        assert [e.event_id for e in ledger.changes_since(start.cursor).events] == [e.event_id for e in batch.events]


def test_a_change_in_the_same_second_as_the_cursor_is_not_lost() -> None:
    clock = Clock()
    with QuickBooksEmulator(clock=clock) as emulator:
        ledger = connected_ledger(emulator, cdc_overlap=timedelta(0))
        cursor = ledger.changes_since(None).cursor  # hh:mm:ss.500
        clock.advance(0.2)  # stamped hh:mm:ss, before the cursor
        customer_id = new_customer(ledger)
        assert [e.entity_id for e in ledger.changes_since(cursor).events] == [customer_id]
        stale = ledger.changes_since("2000-01-01T00:00:00Z")  # older than CDC's 30 days: clamped, not refused
        assert [e.entity_id for e in stale.events] == [customer_id]


def test_cdc_answers_capped_at_its_limit_resume_from_the_newest_object() -> None:
    clock = Clock()
    with QuickBooksEmulator(clock=clock, limits=Limits(cdc_max_objects=3)) as emulator:
        ledger = connected_ledger(emulator, cdc_overlap=timedelta(0), cdc_max_objects=3)
        cursor = ledger.changes_since(None).cursor
        ids = []
        for n in range(5):
            clock.advance(1)
            ids.append(new_customer(ledger, name=f"Customer {n}", key=f"c{n}"))
        first = ledger.changes_since(cursor)
        assert [e.entity_id for e in first.events] == ids[:3]
        second = ledger.changes_since(first.cursor)
        assert {e.entity_id for e in second.events} == set(ids[2:])


# --- invoices, payments, credits, bank lines, aging ---------------------------------------------------------------


def test_send_invoice_mails_through_quickbooks_once_per_key(emulator: QuickBooksEmulator,
                                                            ledger: QuickBooksLedger) -> None:
    invoice = new_invoice(ledger, new_customer(ledger))
    assert ledger.send_invoice(invoice.id, "send-1") is True
    assert ledger.send_invoice(invoice.id, "send-1") is True
    assert [(m.entity_id, m.to) for m in emulator.outbox] == [(invoice.id, "ap@acme.example")]
    sent = emulator.entity("Invoice", invoice.id)
    assert sent["EmailStatus"] == "EmailSent" and sent["DeliveryInfo"]["DeliveryType"] == "Email"
    assert ledger.get_invoice(invoice.id).email == "ap@acme.example"
    no_mail = new_invoice(ledger, new_customer(ledger, "Mute Co", "cust-mute", email=None), key="inv-mute")
    with pytest.raises(PermanentLedgerError, match="no billing email"):
        ledger.send_invoice(no_mail.id, "send-2")


def test_notes_are_attachables_and_change_no_figures(emulator: QuickBooksEmulator,
                                                     ledger: QuickBooksLedger) -> None:
    invoice = new_invoice(ledger, new_customer(ledger))
    ledger.add_note("Invoice", invoice.id, "duecourse: reminder 1 sent", "note-1")
    ledger.add_note("Invoice", invoice.id, "duecourse: reminder 1 sent", "note-1")
    [note] = emulator.realms[emulator.realm_id].entities["Attachable"].values()
    assert note["Note"] == "duecourse: reminder 1 sent"
    assert note["AttachableRef"][0]["EntityRef"] == {"type": "Invoice", "value": invoice.id}
    assert emulator.entity("Invoice", invoice.id)["SyncToken"] == "0"
    with pytest.raises(NotFound):
        ledger.add_note("Invoice", "4242", "lost", "note-2")
    with pytest.raises(PermanentLedgerError):
        ledger.add_note("Vendor", "1", "no", "note-3")


def test_a_credit_note_for_an_invoice_is_applied_to_it(emulator: QuickBooksEmulator,
                                                       ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    invoice = new_invoice(ledger, customer_id, "200.00")
    draft = CreditNoteDraft(customer_id=customer_id, currency="USD", lines=[line("25.00")], issue_date=TODAY,
                            invoice_id=invoice.id, reason="damaged")
    note = ledger.create_credit_note(draft, "cn-1")
    assert (note.total, note.remaining, note.status, note.invoice_id) == (usd("25.00"), usd("0.00"), "applied",
                                                                           invoice.id)
    assert ledger.create_credit_note(draft, "cn-1") == note
    assert ledger.get_invoice(invoice.id).balance == usd("175.00")
    assert ledger.list_credit_notes(customer_id) == [note]
    [applying] = ledger.list_payments(invoice.id)
    assert applying.amount == usd("0.00") and applying.allocations[0].amount == usd("25.00")


def test_invoicing_an_estimate_closes_it(emulator: QuickBooksEmulator, ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    estimate = emulator.seed("Estimate", {"CustomerRef": {"value": customer_id}, "TxnDate": "2026-02-20",
                                          "Line": [{"Amount": "300.00", "DetailType": "SalesItemLineDetail",
                                                    "SalesItemLineDetail": {"Qty": "3", "UnitPrice": "100.00"}}]})
    assert [e.id for e in ledger.list_estimates(EstimateStatus.PENDING)] == [estimate["Id"]]
    ledger.create_invoice(InvoiceDraft(customer_id=customer_id, currency="USD", lines=[line("300.00")],
                                       issue_date=TODAY, due_date=TODAY, estimate_id=estimate["Id"]), "from-est")
    assert ledger.get_estimate(estimate["Id"]).status == EstimateStatus.CLOSED


def test_paying_a_bank_line_records_the_payment_and_matches_the_deposit_line(
        emulator: QuickBooksEmulator, ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    invoice = new_invoice(ledger, customer_id, "300.00")
    deposit = emulator.seed("Deposit", {
        "DepositToAccountRef": {"value": "35"}, "TxnDate": "2026-03-01", "PrivateNote": "Wire ACME LTD INV 1001",
        "Line": [{"Amount": "350.00", "DetailType": "DepositLineDetail",
                  "DepositLineDetail": {"AccountRef": {"value": "80"}, "Entity": {"value": customer_id}}}]})
    bank_line = f"{deposit['Id']}-1"
    assert ledger.get_bank_line(bank_line).status == BankLineStatus.UNMATCHED
    assert ledger.get_bank_line(bank_line).payer_name == "Acme Ltd"
    request = PaymentRequest(customer_id=customer_id, date=TODAY, amount=usd("300.00"), reference="WIRE-88",
                             allocations=[Allocation(invoice_id=invoice.id, amount=usd("300.00"))],
                             bank_line_id=bank_line)
    emulator.faults.stale_next = 1  # the bookkeeper touched the deposit meanwhile: re-read, retry once
    payment = ledger.record_payment(request, "cash-1")
    assert payment.reference == "WIRE-88" and ledger.get_invoice(invoice.id).status == InvoiceStatus.PAID
    lines = ledger.bank_lines_of_deposit(deposit["Id"])
    assert [(b.id, b.amount, b.status) for b in lines] == [
        (bank_line, usd("300.00"), BankLineStatus.MATCHED),
        (f"{deposit['Id']}-2", usd("50.00"), BankLineStatus.UNMATCHED)]  # the rest waits for cash application
    assert ledger.record_payment(request, "cash-1") == payment  # replay: nothing new
    assert emulator.writes["payment-cash-1"] == 1 and len(ledger.list_payments()) == 1
    with pytest.raises(PermanentLedgerError, match="already matched"):
        ledger.record_payment(request, "cash-2")
    ignoring = connected_ledger(emulator, unmatched_account_ids=["80"])
    assert ignoring.get_bank_line(f"{deposit['Id']}-2").status == BankLineStatus.UNMATCHED
    ledger.add_note("BankLine", bank_line, "matched by duecourse", "note-bank")
    [note] = emulator.realms[emulator.realm_id].entities["Attachable"].values()
    assert note["AttachableRef"][0]["EntityRef"] == {"type": "Deposit", "value": deposit["Id"]}


def test_deposit_lines_outside_the_suspense_accounts_are_ignored(emulator: QuickBooksEmulator) -> None:
    emulator.put_raw("Customer", CUSTOMER_58)
    emulator.put_raw("Deposit", DEPOSIT_300)
    ledger = connected_ledger(emulator, unmatched_account_ids=["80"])
    assert [b.status for b in ledger.list_bank_lines()] == [BankLineStatus.MATCHED, BankLineStatus.IGNORED]


def test_aging_report_buckets_from_quickbooks(emulator: QuickBooksEmulator, ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    new_invoice(ledger, customer_id, "300.00", key="a", due=TODAY - timedelta(days=45))
    new_invoice(ledger, customer_id, "100.00", key="b", due=TODAY - timedelta(days=120))
    new_invoice(ledger, customer_id, "40.00", key="c", due=TODAY + timedelta(days=3))
    ledger.create_credit_note(CreditNoteDraft(customer_id=customer_id, currency="USD", lines=[line("15.00")],
                                              issue_date=TODAY), "credit")
    [row] = ledger.aging_report(TODAY) or []
    assert (row.customer_id, row.customer_name, row.currency) == (customer_id, "Acme Ltd", "USD")
    assert (row.current, row.days_1_30, row.days_31_60, row.days_61_90, row.days_91_plus) == (
        Decimal("25.00"), 0, Decimal("300.00"), 0, Decimal("100.00"))
    assert row.total == Decimal("425.00")
    assert connected_ledger(emulator).aging_report(TODAY - timedelta(days=400)) == []
