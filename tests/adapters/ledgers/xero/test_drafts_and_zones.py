"""Xero drafts (DRAFT, SUBMITTED) are listed as open work with status DRAFT, never a bill or a deleted one;
customers carry the organisation's zone and say so. Against the emulator."""

from __future__ import annotations

from datetime import timedelta

from adapters.ledger import InvoiceStatus
from adapters.ledgers.xero.ledger import XeroLedger
from tests.emulators.xero import XeroEmulator

from .connected import TODAY, connected_ledger, customer, invoice


def test_drafts_and_submitted_invoices_are_listed_with_status_draft(ledger: XeroLedger,
                                                                     emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    approved = invoice(ledger, contact, "300.00", due=TODAY + timedelta(days=30))
    draft = emulator.add_invoice(contact, [("Draft work", "1", "80.00")], issued=TODAY,
                                 due=TODAY + timedelta(days=10), status="DRAFT")
    submitted = emulator.add_invoice(contact, [("Awaiting approval", "2", "25.00")], issued=TODAY,
                                     due=TODAY + timedelta(days=20), status="SUBMITTED", amount_types="NoTax")
    deleted = emulator.add_invoice(contact, [("Scrapped", "1", "10.00")], issued=TODAY, due=TODAY, status="DRAFT")
    ledger.void_invoice(deleted, "void-scrapped")  # a draft is deleted, not voided
    bill = emulator.add_invoice(contact, [("Supplier bill", "1", "40.00")], issued=TODAY, due=TODAY,
                                status="DRAFT", kind="ACCPAY")

    listed = ledger.list_open_invoices()
    assert [i.id for i in listed] == [draft, submitted, approved]  # soonest due first
    statuses = {i.id: i.status for i in listed}
    assert statuses == {draft: InvoiceStatus.DRAFT, submitted: InvoiceStatus.DRAFT, approved: InvoiceStatus.OPEN}
    assert {i.id: str(i.balance.amount) for i in listed}[submitted] == "50.00"
    assert deleted not in statuses and bill not in statuses
    assert [i.id for i in ledger.list_open_invoices(customer_id=contact)] == [draft, submitted, approved]
    assert ledger.list_open_invoices(customer_id=customer(ledger, "Other Co")) == []

    emulator.set_invoice_status(submitted, "AUTHORISED")  # approved: now open work to collect
    assert {i.id: i.status for i in ledger.list_open_invoices()}[submitted] == InvoiceStatus.OPEN
    assert ledger.get_invoice(draft).status == InvoiceStatus.DRAFT


def test_customers_carry_the_organisation_zone_and_say_where_it_came_from(ledger: XeroLedger,
                                                                          emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    found = ledger.get_customer(contact)
    assert (found.time_zone, found.time_zone_source) == (
        "America/New_York", "Xero organisation time zone EASTERNSTANDARDTIME (America/New_York)")

    emulator.orgs[emulator.tenant_id].timezone = "TOKYOSTANDARDTIME"
    other = connected_ledger(emulator)
    try:
        unknown = other.get_customer(contact)
    finally:
        other.close()
    assert unknown.time_zone == "UTC"
    assert unknown.time_zone_source == (
        "UTC: the Xero organisation's time zone 'TOKYOSTANDARDTIME' has no IANA name here")
