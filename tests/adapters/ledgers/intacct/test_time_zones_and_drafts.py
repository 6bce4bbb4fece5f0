"""Sage Intacct customers get their time zone from their contact's mailing address, else the company's zone,
else UTC said out loud; draft invoices are listed as open work with status DRAFT. Against the emulator."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.ledger import InvoiceStatus
from adapters.ledgers.intacct.ledger import IntacctLedger
from tests.adapters.ledgers.intacct.connected import Connect
from tests.emulators.intacct import IntacctEmulator


def test_the_mailing_address_gives_the_zone_and_the_country(emulator: IntacctEmulator,
                                                              ledger: IntacctLedger) -> None:
    springfield = emulator.add_customer("Acme Ltd", email="ap@acme.example", mailing_address={
        "addressLine1": "1 Main St", "city": "Springfield", "state": "CA", "postCode": "94000",
        "country": "United States"})
    winnipeg = emulator.add_customer("Prairie Co", mailing_address={"city": "Winnipeg", "state": "Manitoba",
                                                                     "country": "Canada"})
    paris = emulator.add_customer("Lutece SARL", mailing_address={"city": "Paris", "country": "FR"})
    jakarta = emulator.add_customer("Nusantara PT", mailing_address={"city": "Jakarta", "country": "Indonesia"})

    listed = {c.id: c for c in ledger.list_customers()}  # query rows
    for key in (springfield, winnipeg, paris, jakarta):
        assert ledger.get_customer(key) == listed[key]  # full objects map the same
    assert (listed[springfield].time_zone, listed[springfield].time_zone_source, listed[springfield].country) == (
        "America/Los_Angeles", "address: Springfield, CA, US", "US")
    assert (listed[winnipeg].time_zone, listed[winnipeg].country) == ("America/Winnipeg", "CA")
    assert (listed[paris].time_zone, listed[paris].country) == ("Europe/Paris", "FR")
    assert listed[jakarta].time_zone == "Asia/Jakarta"


def test_no_zone_in_the_address_takes_the_configured_company_zone(emulator: IntacctEmulator,
                                                                   connect: Connect) -> None:
    ledger = connect(company_time_zone="Europe/London")
    default = emulator.add_customer("Country Only")  # the emulator's default address: "United States" alone
    bare = emulator.add_customer("No Address", mailing_address={})
    moscow = emulator.add_customer("Volga LLC", mailing_address={"country": "Russia"})

    assert (ledger.get_customer(default).time_zone, ledger.get_customer(default).time_zone_source) == (
        "Europe/London", "company zone Europe/London (address gives none: US)")
    assert ledger.get_customer(bare).time_zone_source == "company zone Europe/London (no address)"
    assert (ledger.get_customer(moscow).time_zone, ledger.get_customer(moscow).country) == ("Europe/London", "RU")


def test_without_a_company_zone_it_is_utc_and_says_so(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    bare = emulator.add_customer("No Address", mailing_address={})
    found = ledger.get_customer(bare)
    assert found.time_zone == "UTC"
    assert found.time_zone_source == ("UTC: no address, and the company's zone is unknown "
                                      "(set DUECOURSE_COMPANY_TIME_ZONE)")


def test_a_company_zone_that_is_no_zone_is_refused_by_name(connect: Connect) -> None:
    with pytest.raises(ValueError, match=r"company_time_zone='Europe/Atlantis' is not an IANA time zone name"):
        connect(company_time_zone="Europe/Atlantis")


def test_drafts_are_listed_open_with_status_draft_until_posted(emulator: IntacctEmulator,
                                                                ledger: IntacctLedger) -> None:
    customer = emulator.add_customer("Acme Ltd", mailing_address={"country": "US", "state": "NY"})
    posted = emulator.add_invoice(customer, "300.00", due_date="2026-03-31")
    draft = emulator.add_invoice(customer, "120.00", state="draft", due_date="2026-03-15")

    listed = {i.id: i for i in ledger.list_open_invoices()}
    assert set(listed) == {posted, draft}
    assert listed[draft].status == InvoiceStatus.DRAFT and str(listed[draft].balance.amount) == "120.00"
    assert listed[posted].status == InvoiceStatus.OPEN
    assert {i.id for i in ledger.list_open_invoices(customer_id=customer)} == {posted, draft}
    assert ledger.get_invoice(draft).status == InvoiceStatus.DRAFT
    # A draft is never overdue: only posted invoices are.
    assert [i.id for i in ledger.list_overdue_invoices(date(2026, 4, 30))] == [posted]

    emulator.post_invoice(draft)
    assert ledger.get_invoice(draft).status == InvoiceStatus.OPEN
    assert {i.id for i in ledger.list_overdue_invoices(date(2026, 4, 30))} == {posted, draft}
