"""Xero mapping (adapters/ledgers/xero/mapping.py): recorded wire shapes to the vocabulary exactly, MS dates and
Decimals both ways, lines checked before sending, customers with IANA time zones."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from xero_python.accounting import models as accounting_models
from xero_python.accounting.models import Invoice as XInvoice
from xero_python.accounting.models import Invoices as XInvoices
from xero_python.api_client import ModelFinder
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.serializer import serialize, serialize_date_ms

from adapters.ledger import (
    Allocation,
    CustomerDraft,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    Money,
    NotFound,
    PermanentLedgerError,
)
from adapters.ledgers.xero import mapping
from adapters.ledgers.xero.ledger import XeroLedger
from tests.emulators.xero import XeroEmulator, ms_date, parse_wire_date

from .connected import TODAY, customer, invoice, line, raw_get, usd

# The emulator's organisation: a US company on Eastern time.
US_ORGANISATION = mapping.Organisation(base_currency="USD", country="US", time_zone="America/New_York")


# --- the wire format: MS dates and Decimals -------------------------------------------------------------------

# An invoice as Xero writes it (LEDGER_APIS.md B3): money with two decimals, MS dates with their *String twins.
RECORDED_INVOICE = b"""{"Id":"5e3b4c1a-0000-4000-8000-000000000000","Status":"OK","ProviderName":"duecourse",
"DateTimeUTC":"/Date(1718409600456)/","Invoices":[{"Type":"ACCREC",
"InvoiceID":"4074292c-09b3-456d-84e7-add864c6c39b","InvoiceNumber":"INV-0042","Reference":"PO 7788",
"Contact":{"ContactID":"9b9ba9e5-e907-4b4e-8210-54d82b0aa479","Name":"Acme Ltd","EmailAddress":"ap@acme.example"},
"Date":"/Date(1717200000000+0000)/","DateString":"2024-06-01T00:00:00",
"DueDate":"/Date(1719792000000+0000)/","DueDateString":"2024-07-01T00:00:00",
"Status":"AUTHORISED","LineAmountTypes":"Exclusive",
"LineItems":[{"LineItemID":"2a6c0f93-0000-4000-8000-000000000001","Description":"Consulting","Quantity":3.0000,
"UnitAmount":100.00,"AccountCode":"200","TaxType":"OUTPUT2","TaxAmount":45.00,"LineAmount":300.00,"Tracking":[]}],
"SubTotal":300.00,"TotalTax":45.00,"Total":345.00,"AmountDue":195.00,"AmountPaid":150.00,"AmountCredited":0.00,
"CurrencyCode":"NZD","CurrencyRate":1.000000,"SentToContact":true,
"Payments":[{"PaymentID":"61ed71fc-01bf-4eb8-8419-8a18789ff45f","Date":"/Date(1718409600000+0000)/",
"Amount":150.00,"Reference":"CHK-1001"}],"CreditNotes":[],"Overpayments":[],"Prepayments":[],
"IsDiscounted":false,"HasAttachments":false,"HasErrors":false,"UpdatedDateUTC":"/Date(1718409600456+0000)/"}]}"""


def test_recorded_invoice_maps_exactly() -> None:
    # A response of the recorded shape, read by xero-python exactly as off the wire (floats as Decimals).
    data = json.loads(RECORDED_INVOICE, parse_float=Decimal)
    parsed = deserialize("Invoices", data, ModelFinder(accounting_models))
    mapped = mapping.invoice_from_wire(parsed.invoices[0], "USD")
    assert mapped.issue_date == date(2024, 6, 1) and mapped.due_date == date(2024, 7, 1)
    assert mapped.total == Money.of("345.00", "NZD") and mapped.balance == Money.of("195.00", "NZD")
    assert isinstance(mapped.total.amount, Decimal) and str(mapped.balance.amount) == "195.00"
    assert mapped.status == InvoiceStatus.PARTIALLY_PAID and mapped.number == "INV-0042"
    assert mapped.lines == [InvoiceLine(description="Consulting", quantity=Decimal("3"), unit_price=Decimal("100"),
                                        amount=Decimal("300"))]
    assert mapped.updated_at == datetime(2024, 6, 15, 0, 0, 0, 456000, tzinfo=UTC)
    assert mapped.email == "ap@acme.example"


# The documented Contact and Payment samples (B3): terms of a kind with no day count, an invoice summary with
# neither contact nor currency.
RECORDED_CONTACT = b"""{"Contacts":[{"ContactID":"9b9ba9e5-e907-4b4e-8210-54d82b0aa479","ContactNumber":"C-1001",
"AccountNumber":"ACME","ContactStatus":"ACTIVE","Name":"Acme Ltd","FirstName":"Ann","LastName":"Lee",
"EmailAddress":"ap@acme.example","ContactPersons":[{"FirstName":"Bo","EmailAddress":"bo@acme.example",
"IncludeInEmails":true},{"FirstName":"Cy","EmailAddress":"cy@acme.example","IncludeInEmails":false}],
"Addresses":[{"AddressType":"POBOX","AddressLine1":"PO Box 1","City":"Wellington","PostalCode":"6011",
"Country":"New Zealand"},{"AddressType":"STREET"}],"Phones":[{"PhoneType":"DEFAULT","PhoneNumber":"555-0100"}],
"IsSupplier":false,"IsCustomer":true,"DefaultCurrency":"NZD",
"Balances":{"AccountsReceivable":{"Outstanding":450.00,"Overdue":150.00}},
"PaymentTerms":{"Sales":{"Day":20,"Type":"OFFOLLOWINGMONTH"}},
"UpdatedDateUTC":"/Date(1717236000123+0000)/","HasAttachments":false,"HasValidationErrors":false}]}"""


def recorded_payment(invoice_id: str) -> bytes:
    return ("""{"Payments":[{"PaymentID":"61ed71fc-01bf-4eb8-8419-8a18789ff45f",
"Invoice":{"InvoiceID":"INVOICE_ID","InvoiceNumber":"INV-0001","Type":"ACCREC"},
"Account":{"AccountID":"5690f1e8-0000-4000-8000-000000000000","Code":"090"},
"Date":"/Date(1718409600000+0000)/","Amount":150.00,"BankAmount":150.00,"CurrencyRate":1.000000,
"Reference":"CHK-1001","IsReconciled":false,"Status":"AUTHORISED","PaymentType":"ACCRECPAYMENT",
"UpdatedDateUTC":"/Date(1718409600456+0000)/","HasAccount":true}]}""").replace("INVOICE_ID", invoice_id).encode()


def read_recorded(kind: str, text: bytes) -> Any:
    return deserialize(kind, json.loads(text, parse_float=Decimal), ModelFinder(accounting_models))


def test_recorded_contact_maps_exactly() -> None:
    (contact,) = read_recorded("Contacts", RECORDED_CONTACT).contacts
    mapped = mapping.customer_from_wire(contact, US_ORGANISATION)
    assert (mapped.id, mapped.name, mapped.email, mapped.currency) == (
        "9b9ba9e5-e907-4b4e-8210-54d82b0aa479", "Acme Ltd", "ap@acme.example", "NZD")
    assert mapped.alternate_emails == ["bo@acme.example"]  # only the people Xero includes in emails
    assert mapped.terms_days == 30  # "20th of the following month" has no fixed day count


def test_recorded_payment_maps_exactly(ledger: XeroLedger) -> None:
    inv = invoice(ledger, customer(ledger), "300.00")
    contact = ledger.get_invoice(inv).customer_id
    found = read_recorded("Payments", recorded_payment(inv)).payments
    (payment,) = ledger._payments(found, whole_batches=False)
    assert (payment.id, payment.customer_id, payment.date) == (
        "61ed71fc-01bf-4eb8-8419-8a18789ff45f", contact, date(2024, 6, 15))
    assert payment.amount == usd("150.00") and str(payment.amount.amount) == "150.00"
    assert payment.allocations == [Allocation(invoice_id=inv, amount=usd("150.00"))]
    assert payment.reference == "CHK-1001" and payment.unapplied == usd("0.00")


def test_ms_dates_both_ways() -> None:
    # Xero answers /Date(ms+0000)/ (00:00 UTC of the day); xero-python sends /Date(ms)/: the same day both ways.
    sent = serialize(XInvoices(invoices=[XInvoice(date=date(2024, 6, 1))]))
    assert sent["Invoices"][0]["Date"] == "/Date(1717200000000)/"
    assert ms_date(date(2024, 6, 1)) == "/Date(1717200000000+0000)/"
    for day in (date(2024, 6, 1), date(1999, 12, 31), date(2026, 3, 2), date(1969, 7, 20), date(2024, 2, 29)):
        assert parse_wire_date(serialize_date_ms(day)) == day
        assert deserialize("date[ms-format]", ms_date(day), None) == day
    assert parse_wire_date("2024-06-01") == parse_wire_date("2024-06-01T00:00:00") == date(2024, 6, 1)
    stamp = deserialize("datetime[ms-format]", "/Date(1718409600456+0000)/", None)
    assert stamp == datetime(2024, 6, 15, 0, 0, 0, 456000, tzinfo=UTC)


def test_decimals_round_trip_over_the_wire(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    lines = [line("0.10", "Stamp"), line("0.20", "Envelope"), line("99.99", "Widgets", quantity="3")]
    created = ledger.create_invoice(InvoiceDraft(customer_id=contact, currency="USD", lines=lines, issue_date=TODAY,
                                                 due_date=TODAY + timedelta(days=30)), "dec-1")
    read = ledger.get_invoice(created.id)
    assert read.total == usd("100.29") and str(read.total.amount) == "100.29"
    assert [(li.quantity, li.unit_price, li.amount) for li in read.lines] == [
        (Decimal("1"), Decimal("0.10"), Decimal("0.10")), (Decimal("1"), Decimal("0.20"), Decimal("0.20")),
        (Decimal("3"), Decimal("33.33"), Decimal("99.99"))]
    wire = raw_get(emulator, f"/Invoices/{created.id}")
    assert '"Total":100.29' in wire.text and '"Date":"/Date(1772409600000+0000)/"' in wire.text
    assert '"DateString":"2026-03-02T00:00:00"' in wire.text


def test_inclusive_lines_keep_the_drafts_total_whatever_the_tax(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    # The emulator's sales account carries 15% tax: Inclusive lines keep the total the draft asked for.
    read = ledger.get_invoice(invoice(ledger, customer(ledger), "300.00"))
    raw = emulator.invoice(read.id)
    assert read.total == usd("300.00") and raw["LineAmountTypes"] == "Inclusive"
    assert raw["TotalTax"] == Decimal("39.13") and raw["SubTotal"] == Decimal("260.87")


def test_a_line_whose_amount_is_not_quantity_times_price_is_refused_before_sending(
        ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    before = emulator.count("PUT", "/Invoices")
    bad = InvoiceLine(description="Oops", quantity=Decimal("2"), unit_price=Decimal("10"), amount=Decimal("25"))
    with pytest.raises(PermanentLedgerError, match="not quantity"):
        ledger.create_invoice(InvoiceDraft(customer_id=contact, currency="USD", lines=[bad], issue_date=TODAY,
                                           due_date=TODAY), "bad-1")
    assert emulator.count("PUT", "/Invoices") == before


def test_customer_mapping(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    created = ledger.create_customer(CustomerDraft(name="Globex", email="ar@globex.example", currency="EUR",
                                                   terms_days=14), "cust-globex")
    assert (created.currency, created.terms_days, created.country, created.time_zone) == (
        "EUR", 14, "US", "America/New_York")
    plain = emulator.add_contact("Initech")  # made in Xero's own screens: no currency, no terms
    read = ledger.get_customer(plain)
    assert read.currency == "USD" and read.terms_days == 30 and read.email is None
    assert {c.name for c in ledger.list_customers()} == {"Globex", "Initech"}
    with pytest.raises(NotFound):
        ledger.get_customer("00000000-0000-0000-0000-000000000000")


def test_a_windows_zone_without_an_iana_name_falls_back_to_utc() -> None:
    def organisation(zone: str | None) -> mapping.Organisation:
        return mapping.organisation_from_wire(SimpleNamespace(timezone=zone, base_currency="NZD", country_code="NZ"))

    assert organisation("NEWZEALANDSTANDARDTIME").time_zone == "Pacific/Auckland"
    for unknown in ("ATLANTICSTANDARDTIME", "", None):
        assert organisation(unknown).time_zone == "UTC"
    (contact,) = read_recorded("Contacts", RECORDED_CONTACT).contacts
    assert mapping.customer_from_wire(contact, organisation("MARSSTANDARDTIME")).time_zone == "UTC"
