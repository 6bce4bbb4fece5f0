"""Intacct objects <-> the vocabulary (adapters/ledgers/intacct/mapping.py), end to end through the emulator:
exact figures and dates on recorded-shape payloads, invoice state to status, amounts and dates as strings on
the way out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from adapters.ledger import (
    Customer,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    Money,
    PermanentLedgerError,
)
from adapters.ledgers.intacct.ledger import IntacctLedger
from adapters.ledgers.intacct.mapping import invoice_status
from tests.emulators.intacct import CUSTOMER, INVOICE, IntacctEmulator

from .connected import TODAY, customer_of, line, numbers_in, usd

ACME = {
    "key": "58", "id": "C-1001", "name": "Acme Ltd", "status": "active",
    "customerType": {"id": "Reseller"}, "parent": {"id": None}, "taxId": "12-3456789",
    "creditLimit": 10000, "isOnHold": False, "totalDue": "450.00", "term": {"id": "Net 30"}, "currency": "USD",
    "contacts": {"default": {"contact": {"id": "Acme Ltd(CC-1001)", "email1": "ap@acme.example",
                                         "phone1": "555-0100", "companyName": "Acme Ltd",
                                         "mailingAddress": {"addressLine1": "1 Main St", "city": "Springfield",
                                                            "state": "CA", "postCode": "94000",
                                                            "country": "United States"}}}},
    "audit": {"createdDateTime": "2024-05-01T17:00:00Z", "modifiedDateTime": "2024-05-01T17:00:00Z",
              "createdBy": "1", "modifiedBy": "1"},
    "entity": {"key": None, "id": None, "name": None}, "href": "/objects/accounts-receivable/customer/58",
}


INVOICE_0042 = {
    "key": "1234", "id": "1234", "invoiceNumber": "INV-0042", "state": "partiallyPaid",
    "invoiceDate": "2024-06-01", "dueDate": "2024-07-01", "dueInDays": 30,
    "referenceNumber": "PO 7788", "description": "June services",
    "customer": {"key": "58", "id": "C-1001", "name": "Acme Ltd", "href": "/objects/accounts-receivable/customer/58"},
    "term": {"id": "Net 30"},
    "currency": {"baseCurrency": "USD", "txnCurrency": "USD",
                 "exchangeRate": {"date": "2024-06-01", "rate": 1, "typeId": None}},
    "totalBaseAmount": "300.00", "totalBaseAmountDue": "195.00", "totalTxnAmount": "300.00",
    "totalTxnAmountDue": "195.00",
    "paymentInformation": {"fullyPaidDate": None, "totalBaseAmountPaid": "105.00", "totalTxnAmountPaid": "105.00"},
    "lines": [{"key": "5001", "glAccount": {"id": "4000"}, "txnAmount": "300.00", "memo": "Consulting",
               "dimensions": {"location": {"id": "1"}, "department": {"id": "10"}, "customer": {"id": "C-1001"}}}],
    "attachment": {"key": None, "id": None},
    "audit": {"createdDateTime": "2024-06-01T17:02:11Z", "modifiedDateTime": "2024-06-15T15:00:00Z"},
    "webURL": "https://www.intacct.com/ia/acct/ur.phtml?.r=x", "href": "/objects/accounts-receivable/invoice/1234",
}


POWER_AEROSPACE = {
    "key": "1", "id": "1", "name": "Power Aerospace Materials France", "currency": "EUR", "status": "active",
    "term": {"id": "Net 15", "key": "26"}, "creditLimit": 20000, "totalDue": "99999.99", "notes": "Sample Notes",
    "contacts": {"default": {"email1": "user@domain.com", "mailingAddress": {"city": "Paris", "country": "France"},
                             "printAs": "Mr. Sandy Tieber", "key": "394"}},
    "audit": {"createdDateTime": "2018-07-28T19:22:31Z", "modifiedDateTime": "2023-12-14T11:31:06Z"},
}


def test_recorded_customer_and_invoice_payloads_map_exactly(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    emulator.seed(CUSTOMER, ACME)
    emulator.seed(INVOICE, INVOICE_0042)
    assert ledger.get_customer("58") == Customer(id="58", name="Acme Ltd", email="ap@acme.example", currency="USD",
                                                 terms_days=30, time_zone="America/Los_Angeles",
                                                 time_zone_source="address: Springfield, CA, US", country="US",
                                                 credit_limit=usd("10000"))
    invoice = ledger.get_invoice("1234")
    assert invoice.id == "1234" and invoice.number == "INV-0042"
    assert invoice.customer_id == "58" and invoice.customer_name == "Acme Ltd"
    assert invoice.total == usd("300.00") and invoice.balance == usd("195.00")
    assert str(invoice.total.amount) == "300.00" and str(invoice.balance.amount) == "195.00"  # no float on the way
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert (invoice.issue_date, invoice.due_date) == (date(2024, 6, 1), date(2024, 7, 1))
    assert invoice.updated_at == datetime(2024, 6, 15, 15, 0, tzinfo=UTC)
    assert invoice.lines == [InvoiceLine(description="Consulting", quantity=Decimal("1"), unit_price=Decimal("300.00"),
                                         amount=Decimal("300.00"))]
    [listed] = ledger.list_open_invoices(customer_id="58")
    assert listed.model_dump(exclude={"lines"}) == invoice.model_dump(exclude={"lines"})


def test_openapi_shaped_customer_maps_contact_terms_country_and_limit(emulator: IntacctEmulator,
                                                                      ledger: IntacctLedger) -> None:
    emulator.seed(CUSTOMER, POWER_AEROSPACE)
    customer = ledger.get_customer("1")
    assert customer.email == "user@domain.com" and customer.country == "FR" and customer.terms_days == 15
    assert customer.credit_limit == Money.of("20000", "EUR") and customer.currency == "EUR"
    assert [c.id for c in ledger.list_customers()] == ["1"]


@pytest.mark.parametrize(("state", "total", "due", "status"), [
    ("posted", "300.00", "300.00", InvoiceStatus.OPEN),
    ("partiallyPaid", "300.00", "195.00", InvoiceStatus.PARTIALLY_PAID),
    ("paid", "300.00", "0.00", InvoiceStatus.PAID),
    ("selected", "300.00", "100.00", InvoiceStatus.PARTIALLY_PAID),
    ("draft", "300.00", "300.00", InvoiceStatus.DRAFT),
    ("reversed", "300.00", "300.00", InvoiceStatus.VOID),
    ("reversal", "-300.00", "0.00", InvoiceStatus.VOID),
    ("noValue", "300.00", "0.00", InvoiceStatus.PAID),
])
def test_invoice_state_maps_to_status(state: str, total: str, due: str, status: InvoiceStatus) -> None:
    assert invoice_status(state, Decimal(total), Decimal(due)) == status


def test_amounts_and_dates_travel_as_strings_and_come_back_exact(emulator: IntacctEmulator,
                                                                 ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    draft = InvoiceDraft(customer_id=customer.id, currency="USD", issue_date=TODAY, due_date=date(2026, 4, 1),
                         lines=[line("120.50", "Audit"), line("100.50", "Licences", quantity="2")])
    invoice = ledger.create_invoice(draft, "inv-strings")
    [post] = emulator.writes_to("POST", f"/objects/{INVOICE}")
    assert [ln["txnAmount"] for ln in post.body["lines"]] == ["120.50", "100.50"]
    assert (post.body["invoiceDate"], post.body["dueDate"]) == ("2026-03-02", "2026-04-01")
    assert post.body["customer"] == {"key": customer.id}
    assert numbers_in(post.body) == []
    assert emulator.objects[INVOICE][invoice.id]["totalTxnAmountDue"] == "221.00"
    assert invoice.total == usd("221.00") and invoice.balance == usd("221.00") and invoice.status == InvoiceStatus.OPEN
    assert [ln["memo"] for ln in post.body["lines"]] == ["Audit", "Licences (2 x 50.25)"]
    assert invoice.due_date == date(2026, 4, 1)


def test_an_amount_finer_than_a_cent_is_refused_before_anything_is_written(emulator: IntacctEmulator,
                                                                            ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    fine = InvoiceLine(description="Metered", quantity=Decimal("1"), unit_price=Decimal("10.005"),
                       amount=Decimal("10.005"))
    with pytest.raises(PermanentLedgerError, match="cents"):
        ledger.create_invoice(InvoiceDraft(customer_id=customer.id, currency="USD", lines=[fine], issue_date=TODAY,
                                           due_date=TODAY), "inv-fine")
    assert emulator.writes_to("POST", f"/objects/{INVOICE}") == []
