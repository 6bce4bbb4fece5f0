"""QuickBooks customers get their time zone from their billing address, else the company's own zone (set in
configuration, else read from CompanyInfo), else UTC said out loud: against the emulator, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from tests.adapters.ledgers.quickbooks.connected import connected_ledger
from tests.emulators.quickbooks import QuickBooksEmulator


def customer(emulator: QuickBooksEmulator, name: str, **addresses: Any) -> str:
    """A customer as someone types it into QuickBooks, with the addresses given (BillAddr, ShipAddr)."""
    return str(emulator.seed("Customer", {"DisplayName": name, "PrimaryEmailAddr": {"Address": "ap@x.example"},
                                          **addresses})["Id"])


def test_the_billing_address_gives_the_zone_and_the_country(emulator: QuickBooksEmulator,
                                                              ledger: QuickBooksLedger) -> None:
    springfield = customer(emulator, "Acme Ltd", BillAddr={"Line1": "1 Main St", "City": "Springfield",
                                                           "CountrySubDivisionCode": "CA", "PostalCode": "94000",
                                                           "Country": "USA"})
    el_paso = customer(emulator, "Border Supply", BillAddr={"City": "El Paso", "CountrySubDivisionCode": "TX",
                                                            "Country": "United States"})
    london = customer(emulator, "Thames Ltd", BillAddr={"City": "London", "Country": "United Kingdom"})
    shipped = customer(emulator, "Only Shipping", ShipAddr={"City": "Perth", "CountrySubDivisionCode": "WA",
                                                            "Country": "AU"})

    found = {c.id: c for c in ledger.list_customers()}
    assert (found[springfield].time_zone, found[springfield].time_zone_source, found[springfield].country) == (
        "America/Los_Angeles", "address: Springfield, CA, US", "US")
    assert (found[el_paso].time_zone, found[el_paso].time_zone_source) == (
        "America/Denver", "address: El Paso, TX, US")
    assert (found[london].time_zone, found[london].country) == ("Europe/London", "GB")
    assert (found[shipped].time_zone, found[shipped].country) == ("Australia/Perth", "AU")
    assert ledger.get_customer(springfield) == found[springfield]


def test_an_address_that_resolves_alone_never_reads_companyinfo(emulator: QuickBooksEmulator,
                                                                 ledger: QuickBooksLedger) -> None:
    known = customer(emulator, "Acme Ltd", BillAddr={"City": "Boston", "CountrySubDivisionCode": "MA",
                                                     "Country": "US"})
    bare = customer(emulator, "No Address Co")
    other = customer(emulator, "Another Bare Co")
    ledger.get_customer(known)  # reads the terms once too
    calls = emulator.faults.calls
    ledger.get_customer(known)
    assert emulator.faults.calls - calls == 1  # the customer, nothing else

    calls = emulator.faults.calls
    ledger.get_customer(bare)
    assert emulator.faults.calls - calls == 2  # the customer and CompanyInfo, once
    calls = emulator.faults.calls
    ledger.get_customer(other)
    assert emulator.faults.calls - calls == 1


def test_no_address_takes_the_zone_of_the_companys_own_address(emulator: QuickBooksEmulator,
                                                               ledger: QuickBooksLedger) -> None:
    emulator.set_company_address({"Line1": "2700 Coast Ave", "City": "Mountain View",
                                  "CountrySubDivisionCode": "CA", "Country": "US"})
    bare = customer(emulator, "No Address Co")
    vague = customer(emulator, "Somewhere In Russia", BillAddr={"Country": "Russia"})
    no_country = customer(emulator, "Austin Tools", BillAddr={"City": "Austin", "CountrySubDivisionCode": "TX"})
    unknown = customer(emulator, "Atlantis Trading", BillAddr={"City": "Poseidonia", "Country": "Atlantis"})

    found = {c.id: c for c in ledger.list_customers()}
    assert (found[bare].time_zone, found[bare].time_zone_source) == (
        "America/Los_Angeles", "company zone America/Los_Angeles (no address)")
    assert (found[vague].time_zone, found[vague].time_zone_source, found[vague].country) == (
        "America/Los_Angeles", "company zone America/Los_Angeles (address gives none: RU)", "RU")
    # A US address without its country (QuickBooks leaves Country out often) is read in the company's country.
    assert (found[no_country].time_zone, found[no_country].country) == ("America/Chicago", "US")
    assert found[no_country].time_zone_source == "address: Austin, TX, US (country taken as the company's, US)"
    assert found[unknown].time_zone == "America/Los_Angeles"
    assert found[unknown].time_zone_source == (
        "company zone America/Los_Angeles (address gives none: Poseidonia, Atlantis)")


def test_the_configured_company_zone_wins_over_companyinfo(emulator: QuickBooksEmulator,
                                                           store: Any) -> None:
    emulator.set_company_address({"City": "Mountain View", "CountrySubDivisionCode": "CA", "Country": "US"})
    ledger = connected_ledger(emulator, store, company_time_zone="Europe/London")
    bare = customer(emulator, "No Address Co")
    assert (ledger.get_customer(bare).time_zone, ledger.get_customer(bare).time_zone_source) == (
        "Europe/London", "company zone Europe/London (no address)")


def test_legal_address_or_country_alone_when_the_company_address_says_nothing(emulator: QuickBooksEmulator,
                                                                              store: Any) -> None:
    emulator.set_company_address({"Line1": "somewhere"}, legal={"City": "Toronto", "CountrySubDivisionCode": "ON",
                                                                "Country": "CA"})
    bare = customer(emulator, "No Address Co")
    assert connected_ledger(emulator, store).get_customer(bare).time_zone == "America/Toronto"

    emulator.set_company_address(None, country="GB")
    assert connected_ledger(emulator, store).get_customer(bare).time_zone_source == (
        "company zone Europe/London (no address)")


def test_when_nobody_knows_the_zone_it_is_utc_and_says_so(emulator: QuickBooksEmulator,
                                                          ledger: QuickBooksLedger) -> None:
    # The emulator's company says only "US": several zones, no address.
    bare = customer(emulator, "No Address Co")
    found = ledger.get_customer(bare)
    assert found.time_zone == "UTC"
    assert found.time_zone_source == ("UTC: no address, and the company's zone is unknown "
                                      "(set DUECOURSE_COMPANY_TIME_ZONE)")
    assert found.country == "US"


def test_a_company_zone_that_is_no_zone_is_refused_by_name(emulator: QuickBooksEmulator, store: Any) -> None:
    with pytest.raises(ValueError, match=r"company_time_zone='Mars/Olympus' is not an IANA time zone name"):
        connected_ledger(emulator, store, company_time_zone="Mars/Olympus")
