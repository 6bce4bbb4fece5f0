"""The Xero adapter against the local Xero emulator (tests/emulators/xero.py): the wire format, Xero's status
rules, OAuth with rotating refresh tokens, the error mapping, idempotency, paging, incremental sync and
webhooks. Everything talks to 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from xero_python.accounting import models as accounting_models
from xero_python.accounting.models import Invoice as XInvoice
from xero_python.accounting.models import Invoices as XInvoices
from xero_python.accounting.models import PaymentDelete
from xero_python.api_client import ModelFinder
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.serializer import serialize, serialize_date_ms

from adapters.ledger import (
    Allocation,
    BankLineStatus,
    CreditNoteDraft,
    CustomerDraft,
    EstimateStatus,
    EventOperation,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    Money,
    NotFound,
    PaymentRequest,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
)
from adapters.ledgers.oauth import MemoryTokenStore, OAuthTokens, ReconsentRequired
from adapters.ledgers.rate_limit import RateLimiter
from adapters.ledgers.xero import webhooks as xero_webhooks
from adapters.ledgers.xero.ledger import (
    XeroLedger,
    authorization_url,
    connect,
    pkce_pair,
    tokens_from_response,
)
from tests.emulators.xero import Where, XeroEmulator, connected_ledger, ms_date, parse_wire_date, serve

TODAY = date(2026, 3, 2)


@pytest.fixture
def emulator() -> Iterator[XeroEmulator]:
    with XeroEmulator() as running:
        yield running


@pytest.fixture
def ledger(emulator: XeroEmulator) -> Iterator[XeroLedger]:
    port = connected_ledger(emulator)
    yield port
    port.close()


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def line(amount: str, description: str = "Design work", quantity: str = "1") -> InvoiceLine:
    unit = Decimal(amount) / Decimal(quantity)
    return InvoiceLine(description=description, quantity=Decimal(quantity), unit_price=unit,
                       amount=Decimal(amount))


def customer(port: XeroLedger, name: str = "Acme Ltd", email: str | None = "ap@acme.example") -> str:
    return port.create_customer(CustomerDraft(name=name, email=email, terms_days=30), f"cust-{name}").id


def invoice(port: XeroLedger, customer_id: str, amount: str = "300.00", key: str = "inv-1",
            due: date = TODAY + timedelta(days=30), issued: date = TODAY) -> str:
    draft = InvoiceDraft(customer_id=customer_id, currency="USD", lines=[line(amount)], issue_date=issued,
                         due_date=due)
    return port.create_invoice(draft, key).id


def pay(port: XeroLedger, customer_id: str, allocations: dict[str, str], key: str, total: str | None = None) -> Any:
    amount = total or str(sum(Decimal(a) for a in allocations.values()))
    return port.record_payment(PaymentRequest(
        customer_id=customer_id, date=TODAY, amount=usd(amount),
        allocations=[Allocation(invoice_id=i, amount=usd(a)) for i, a in allocations.items()], reference="REM-1"), key)


def raw_get(emulator: XeroEmulator, path: str, **params: str) -> httpx.Response:
    token = emulator.issue_tokens()["access_token"]
    return httpx.get(f"{emulator.api_base}{path}", params=params,
                     headers={"Authorization": f"Bearer {token}", "xero-tenant-id": emulator.tenant_id,
                              "Accept": "application/json"})


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


def test_recorded_invoice_maps_exactly(ledger: XeroLedger) -> None:
    # A response of the recorded shape, read by xero-python exactly as off the wire (floats as Decimals).
    data = json.loads(RECORDED_INVOICE, parse_float=Decimal)
    parsed = deserialize("Invoices", data, ModelFinder(accounting_models))
    mapped = ledger._invoice(parsed.invoices[0])
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


def test_recorded_contact_maps_exactly(ledger: XeroLedger) -> None:
    (contact,) = read_recorded("Contacts", RECORDED_CONTACT).contacts
    mapped = ledger._customer(contact)
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


# --- OAuth: refresh, rotation, re-consent ------------------------------------------------------------------


def stored(store: MemoryTokenStore, tenant: str) -> OAuthTokens:
    tokens = store.load("xero", tenant)
    assert tokens is not None
    return tokens


def test_refresh_before_expiry_rotates_and_persists(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    first = stored(store, emulator.tenant_id)
    # Four minutes left: inside the five-minute margin, so the next call refreshes first.
    store.save("xero", first.model_copy(update={"expires_at": datetime.now(UTC) + timedelta(minutes=4)}))
    ledger.list_open_invoices()
    second = stored(store, emulator.tenant_id)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    assert second.expires_at > datetime.now(UTC) + timedelta(minutes=29)
    form = emulator.token_requests[-1]
    assert form["grant_type"] == "refresh_token" and form["client_id"] == emulator.client_id
    assert form["refresh_token"] == first.refresh_token and "accounting.transactions" in form["scope"]
    refreshes = len(emulator.token_requests)
    ledger.list_open_invoices()
    assert len(emulator.token_requests) == refreshes  # a fresh token is not refreshed again
    ledger.close()


def test_rotation_grace_and_invalid_grant(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    original = stored(store, emulator.tenant_id)
    expired = original.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    store.save("xero", expired)
    ledger.list_open_invoices()
    # Another worker still holding the previous refresh token: Xero's grace period lets it refresh once more.
    other = connected_ledger(emulator, token_store=MemoryTokenStore())
    other._store.save("xero", expired)
    other.list_open_invoices()
    # Past the grace period the old token is refused: a person must connect Xero again.
    emulator.refresh_grace_seconds = 0
    late = connected_ledger(emulator, token_store=MemoryTokenStore())
    late._store.save("xero", expired)
    with pytest.raises(ReconsentRequired, match="invalid_grant"):
        late.get_invoice("4074292c-09b3-456d-84e7-add864c6c39b")
    for port in (ledger, other, late):
        port.close()


def test_revoked_connection_needs_reconsent(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    tokens = stored(store, emulator.tenant_id)
    store.save("xero", tokens.model_copy(update={"expires_at": datetime.now(UTC)}))
    emulator.revoke_refresh_tokens()
    with pytest.raises(ReconsentRequired) as refused:
        ledger.list_open_invoices()
    assert refused.value.ledger == "xero" and refused.value.tenant == emulator.tenant_id
    empty = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, MemoryTokenStore(),
                       api_base=emulator.api_base, identity_base=emulator.identity_base)
    with pytest.raises(ReconsentRequired, match="no Xero tokens"):
        empty.list_open_invoices()
    ledger.close()


def test_a_rejected_access_token_is_refreshed_once(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    emulator.faults.stale_tokens = True
    assert ledger.get_customer(contact).name == "Acme Ltd"
    assert emulator.count("GET", "/Contacts") == 2  # the 401, then the retry with the refreshed token
    assert emulator.token_requests[-1]["grant_type"] == "refresh_token"


def test_a_rotated_refresh_token_is_saved_for_every_tenant_of_the_grant(emulator: XeroEmulator) -> None:
    second = "0b5b6d1e-1111-4222-8333-944455556666"
    emulator.add_tenant(second, "Second Co")
    store = MemoryTokenStore()
    response = emulator.issue_tokens([emulator.tenant_id, second])
    for tenant in (emulator.tenant_id, second):
        store.save("xero", tokens_from_response(response, tenant, [emulator.tenant_id, second],
                                                now=datetime.now(UTC) - timedelta(hours=1)))
    ledger = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                        api_base=emulator.api_base, identity_base=emulator.identity_base)
    ledger.list_open_invoices()
    first, other = stored(store, emulator.tenant_id), stored(store, second)
    assert first.refresh_token == other.refresh_token != response["refresh_token"]
    assert other.tenant == second
    ledger.close()


def test_the_wrong_tenant_is_forbidden(emulator: XeroEmulator) -> None:
    stranger = "99999999-1111-4222-8333-944455556666"
    store = MemoryTokenStore()
    store.save("xero", tokens_from_response(emulator.issue_tokens(), stranger))
    ledger = XeroLedger(stranger, emulator.client_id, emulator.client_secret, store, api_base=emulator.api_base,
                        identity_base=emulator.identity_base)
    with pytest.raises(ReconsentRequired, match="403"):
        ledger.list_open_invoices()
    ledger.close()


def test_identity_outages_are_retryable_not_reconsent(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    ledger = connected_ledger(emulator, token_store=store)
    tokens = stored(store, emulator.tenant_id)
    store.save("xero", tokens.model_copy(update={"expires_at": datetime.now(UTC)}))
    emulator.faults.token_errors = 1
    with pytest.raises(RetryableLedgerError, match="500"):
        ledger.list_open_invoices()
    assert stored(store, emulator.tenant_id).refresh_token == tokens.refresh_token  # nothing lost
    assert ledger.list_open_invoices() == []  # Xero identity is back: the same refresh token still works
    ledger.close()


def test_a_custom_connection_asks_for_a_new_token_instead_of_refreshing(emulator: XeroEmulator) -> None:
    response = emulator.issue_tokens(scope="accounting.transactions accounting.contacts")  # no offline_access
    assert "refresh_token" not in response
    store = MemoryTokenStore()
    tokens = tokens_from_response(response, emulator.tenant_id, now=datetime.now(UTC) - timedelta(hours=1))
    assert tokens.extra["grant"] == "client_credentials"
    store.save("xero", tokens)
    ledger = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                        api_base=emulator.api_base, identity_base=emulator.identity_base)
    assert ledger.list_open_invoices() == []
    assert emulator.token_requests[-1]["grant_type"] == "client_credentials"
    assert stored(store, emulator.tenant_id).access_token != tokens.access_token
    ledger.close()


@pytest.mark.parametrize(("pkce", "secret"), [(False, True), (True, False), (True, True)])
def test_authorization_code_flow_connects_the_organisation(emulator: XeroEmulator, pkce: bool,
                                                           secret: bool) -> None:
    verifier, challenge = pkce_pair() if pkce else (None, None)
    redirect = "http://127.0.0.1:9/callback"
    url = authorization_url(emulator.client_id, redirect, "state-123", login_base=emulator.base_url,
                            code_challenge=challenge)
    consent = httpx.get(url, follow_redirects=False)
    assert consent.status_code == 302
    returned = parse_qs(urlparse(consent.headers["location"]).query)
    assert returned["state"] == ["state-123"]
    store = MemoryTokenStore()
    tenants = connect(returned["code"][0], redirect, emulator.client_id, emulator.client_secret if secret else None,
                      store, code_verifier=verifier, identity_base=emulator.identity_base,
                      connections_base=emulator.base_url)
    assert tenants == [emulator.tenant_id]
    tokens = stored(store, emulator.tenant_id)
    assert tokens.refresh_token and tokens.extra["tenant_ids"] == [emulator.tenant_id]
    ledger = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                        api_base=emulator.api_base, identity_base=emulator.identity_base)
    assert ledger.list_open_invoices() == []
    # A code is good once.
    with pytest.raises(ReconsentRequired):
        connect(returned["code"][0], redirect, emulator.client_id, emulator.client_secret, store,
                identity_base=emulator.identity_base, connections_base=emulator.base_url)
    ledger.close()


def test_a_wrong_client_secret_is_a_configuration_error(emulator: XeroEmulator) -> None:
    redirect = "http://127.0.0.1:9/callback"
    verifier, challenge = pkce_pair()
    consent = httpx.get(authorization_url(emulator.client_id, redirect, "s", login_base=emulator.base_url,
                                          code_challenge=challenge), follow_redirects=False)
    code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
    with pytest.raises(PermanentLedgerError, match="invalid_client"):
        connect(code, redirect, emulator.client_id, "not the secret", MemoryTokenStore(), code_verifier=verifier,
                identity_base=emulator.identity_base, connections_base=emulator.base_url)


# --- errors: mapped once, no hidden retries ----------------------------------------------------------------


def test_429_is_rate_limited_with_its_delay_and_no_hidden_retry(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    emulator.faults.rate_limit_storm, emulator.faults.retry_after = 1, 7
    with pytest.raises(RateLimited) as limited:
        ledger.list_open_invoices()
    assert limited.value.retry_after_seconds == 7 and "minute" in str(limited.value)
    assert emulator.count("GET", "/Invoices") == 1  # urllib3 would have slept and tried three more times
    # PUT is retried by urllib3 too when left on: one attempt only.
    emulator.faults.rate_limit_storm, emulator.faults.rate_limit_problem = 1, "day"
    with pytest.raises(RateLimited, match="day"):
        invoice(ledger, contact)
    assert emulator.count("PUT", "/Invoices") == 1 and not emulator.writes["inv-1"]


def test_the_real_minute_limit_answers_429_with_its_headers(emulator: XeroEmulator) -> None:
    emulator.minute_limit = 2
    ledger = connected_ledger(emulator, rate_limiter=RateLimiter(per_minute=100, concurrent=5))
    ledger.list_open_invoices()
    ledger.list_open_invoices()
    with pytest.raises(RateLimited) as limited:
        ledger.list_open_invoices()
    assert limited.value.retry_after_seconds is not None and 0 < limited.value.retry_after_seconds <= 60
    wire = raw_get(emulator, "/Invoices")
    assert wire.status_code == 429 and wire.headers["X-Rate-Limit-Problem"] == "minute"
    assert wire.headers["X-MinLimit-Remaining"] == "0" and "X-DayLimit-Remaining" in wire.headers
    ledger.close()


def test_the_client_side_limit_stops_calls_before_xero_sees_them(emulator: XeroEmulator) -> None:
    ledger = connected_ledger(emulator, rate_limiter=RateLimiter(per_minute=2, concurrent=5, max_wait=0))
    ledger.list_open_invoices()
    ledger.list_open_invoices()
    with pytest.raises(RateLimited, match="per-minute"):
        ledger.list_open_invoices()
    assert emulator.count("GET", "/Invoices") == 2
    ledger.close()


def test_server_errors_and_timeouts_are_retryable(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    emulator.faults.server_errors = 1
    with pytest.raises(RetryableLedgerError, match="500"):
        ledger.list_open_invoices()
    assert emulator.count("GET", "/Invoices") == 1
    emulator.faults.server_errors, emulator.faults.server_error_status = 1, 503
    with pytest.raises(RetryableLedgerError, match="503"):
        ledger.list_open_invoices()
    slow = connected_ledger(emulator, timeout=0.2)
    emulator.faults.slow_seconds = 0.6
    with pytest.raises(RetryableLedgerError, match="Timeout"):
        slow.list_open_invoices()
    emulator.faults.slow_seconds = 0
    slow.close()


def test_an_unreachable_xero_is_retryable(emulator: XeroEmulator) -> None:
    store = MemoryTokenStore()
    store.save("xero", tokens_from_response(emulator.issue_tokens(), emulator.tenant_id))
    gone = XeroLedger(emulator.tenant_id, emulator.client_id, emulator.client_secret, store,
                      api_base="http://127.0.0.1:9/api.xro/2.0", identity_base=emulator.identity_base, timeout=2)
    with pytest.raises(RetryableLedgerError):
        gone.list_open_invoices()


def test_validation_errors_carry_xeros_message(ledger: XeroLedger) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "100.00")
    with pytest.raises(PermanentLedgerError,
                       match="Payment amount exceeds the amount outstanding on this document") as refused:
        pay(ledger, contact, {inv: "150.00"}, "over")
    assert not isinstance(refused.value, NotFound)
    with pytest.raises(PermanentLedgerError, match="already assigned to another contact"):
        ledger.create_customer(CustomerDraft(name="Acme Ltd"), "dupe-contact")
    with pytest.raises(NotFound):
        ledger.get_invoice("999999")
    with pytest.raises(NotFound):
        ledger.list_payments(invoice_id='x") OR Status!=("')


def test_an_error_body_that_is_not_json_still_maps(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    emulator.faults.server_errors, emulator.faults.server_error_status = 1, 400
    emulator.faults.server_error_body = "<html>Bad Request</html>"
    with pytest.raises(PermanentLedgerError, match="Bad Request"):
        ledger.list_open_invoices()
    emulator.faults.server_errors, emulator.faults.server_error_status = 1, 502
    with pytest.raises(RetryableLedgerError, match="502"):
        ledger.list_open_invoices()


# --- idempotency ---------------------------------------------------------------------------------------------


def test_a_lost_response_is_replayed_not_written_twice(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    emulator.faults.lose_responses = 1
    with pytest.raises(RetryableLedgerError):
        invoice(ledger, contact, key="lost-1")
    assert emulator.writes["lost-1"] == 1
    again = invoice(ledger, contact, key="lost-1")  # Temporal's retry, with the same key
    assert emulator.writes["lost-1"] == 1 and emulator.replays["lost-1"] == 1
    assert [i.id for i in ledger.list_open_invoices(customer_id=contact)] == [again]


def test_every_write_carries_an_idempotency_key(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    a, b = invoice(ledger, contact, key="a"), invoice(ledger, contact, "50.00", key="b")
    pay(ledger, contact, {a: "100.00", b: "50.00"}, "batch-1")
    ledger.add_note("Invoice", a, "duecourse: reminder sent", "note-1")
    ledger.send_invoice(a, "send-1")
    ledger.create_credit_note(CreditNoteDraft(customer_id=contact, currency="USD", lines=[line("10.00")],
                                              issue_date=TODAY, invoice_id=a), "cn-1")
    ledger.void_invoice(invoice(ledger, contact, key="c"), "void-1")
    assert emulator.unkeyed_writes == 0 and all(count == 1 for count in emulator.writes.values())
    assert {"batch-1", "note-1", "send-1", "cn-1", "cn-1:allocation", "void-1"} <= set(emulator.writes)


def test_a_long_key_is_hashed_within_xeros_limit(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    key = "InvoiceLifecycle/xero/tenant/" + "x" * 200 + ":send-reminder-3"
    invoice(ledger, contact, key=key)
    invoice(ledger, contact, key=key)
    (used,) = [k for k in emulator.writes if k.startswith("dc-")]
    assert len(used) <= 128 and emulator.writes[used] == 1


# --- reads: paging, customers, estimates, payments, bank lines ----------------------------------------------


def test_open_invoices_are_read_page_by_page(emulator: XeroEmulator) -> None:
    ledger = connected_ledger(emulator, page_size=3)
    contact = customer(ledger)
    ids = [invoice(ledger, contact, f"{10 + n}.00", key=f"p{n}", due=TODAY + timedelta(days=30 - n))
           for n in range(7)]
    paid = ids.pop(0)
    pay(ledger, contact, {paid: "10.00"}, "pay-p0")
    before = emulator.count("GET", "/Invoices")
    listed = ledger.list_open_invoices()
    assert [i.id for i in listed] == list(reversed(ids))  # oldest due date first
    assert emulator.count("GET", "/Invoices") - before == 2  # 6 open invoices, 3 a page
    assert ledger.list_open_invoices(customer_id=customer(ledger, "Other Co")) == []


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


# --- webhooks --------------------------------------------------------------------------------------------------

WEBHOOK_KEY = "duecourse-test-webhook-key"
B7_SAMPLE = (b'{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/4074292c-09b3-456d-84e7-add864c6c39b",'
             b'"resourceId":"4074292c-09b3-456d-84e7-add864c6c39b","eventDateUtc":"2024-06-15T00:00:00.456",'
             b'"eventType":"UPDATE","eventCategory":"INVOICE","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",'
             b'"tenantType":"ORGANISATION"}],"firstEventSequence":17,"lastEventSequence":17,'
             b'"entropy":"S0M3R4ND0MT3XT"}')


def test_signature_is_checked_over_the_raw_bytes() -> None:
    signature = xero_webhooks.sign(WEBHOOK_KEY, B7_SAMPLE)
    assert xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE, signature)
    assert not xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE.replace(b"17", b"18"), signature)
    assert not xero_webhooks.verify("another key", B7_SAMPLE, signature)
    assert not xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE, None)
    assert not xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE, "not base64 at all ✓")
    reformatted = json.dumps(json.loads(B7_SAMPLE)).encode()  # same JSON, other bytes
    assert not xero_webhooks.verify(WEBHOOK_KEY, reformatted, signature)


def test_the_b7_payload_parses_to_ledger_events() -> None:
    (event,) = xero_webhooks.parse(B7_SAMPLE)
    assert (event.ledger, event.tenant, event.entity, event.entity_id, event.operation) == (
        "xero", "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f", "Invoice", "4074292c-09b3-456d-84e7-add864c6c39b",
        EventOperation.UPDATE)
    assert event.occurred_at == datetime(2024, 6, 15, 0, 0, 0, 456000, tzinfo=UTC)
    assert [e.event_id for e in xero_webhooks.parse(B7_SAMPLE)] == [event.event_id]  # redelivery: same id
    assert xero_webhooks.parse(b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"X"}') == []


def test_categories_and_credit_note_data() -> None:
    def body(*events: dict[str, Any]) -> bytes:
        base = {"resourceId": "r1", "eventDateUtc": "2024-06-15T10:00:00.1234567", "eventType": "CREATE",
                "tenantId": "t1", "tenantType": "ORGANISATION"}
        return json.dumps({"events": [{**base, **e} for e in events]}).encode()

    events = xero_webhooks.parse(body({"eventCategory": "CONTACT"},
                                      {"eventCategory": "CREDITNOTE", "eventType": "UPDATE",
                                       "data": {"Type": "ACCRECCREDIT", "Status": "VOIDED"}},
                                      {"eventCategory": "SUBSCRIPTION", "tenantType": "APPLICATION"},
                                      {"eventCategory": "SOMETHINGNEW"}))
    assert [(e.entity, e.operation) for e in events] == [("Customer", EventOperation.CREATE),
                                                         ("CreditNote", EventOperation.VOID)]
    assert events[0].occurred_at == datetime(2024, 6, 15, 10, 0, 0, 123456, tzinfo=UTC)
    assert events[0].event_id != events[1].event_id


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty"), (b"\xff\xfe", "UTF-8"), (b"{not json", "not valid JSON"), (b"[]", '"events" list'),
    (b'{"events": {}}', "must be a list"), (b'{"events": [1]}', "events[0] is not an object"),
    (b'{"events": [{"eventCategory": "INVOICE"}]}', "eventType"),
    (b'{"events": [{"eventCategory": "INVOICE", "eventType": "UPDATE", "resourceId": "r", "tenantId": "t",'
     b' "eventDateUtc": "yesterday"}]}', "eventDateUtc"),
    (b'{"events": [{"eventCategory": "INVOICE", "eventType": "DELETE", "resourceId": "r", "tenantId": "t",'
     b' "eventDateUtc": "2024-06-15T00:00:00"}]}', "not CREATE or UPDATE"),
])
def test_malformed_bodies_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        xero_webhooks.parse(body)


def receiver(key: str, received: list[Any]) -> FastAPI:
    """The receiving side as the web app does it: verify the raw bytes, then parse; empty bodies always."""
    app = FastAPI()

    @app.post("/webhooks/xero")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not xero_webhooks.verify(key, body, request.headers.get(xero_webhooks.SIGNATURE_HEADER)):
            return Response(status_code=401)
        received.extend(xero_webhooks.parse(body))
        return Response(status_code=200)

    return app


def test_intent_to_receive_and_delivery(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    received: list[Any] = []
    with serve(receiver(emulator.webhook_key, received)) as url:
        assert emulator.intent_to_receive(f"{url}/webhooks/xero") == (200, 401)
        assert emulator.last_intent_seconds is not None and emulator.last_intent_seconds < 5
        contact = customer(ledger)
        inv = invoice(ledger, contact)
        pay(ledger, contact, {inv: "100.00"}, "pay-hook")
        assert emulator.send_webhook(f"{url}/webhooks/xero") == 200
        assert emulator.send_webhook(f"{url}/webhooks/xero", key="wrong key") == 401
    kinds = [(e.entity, e.entity_id, e.operation) for e in received]
    assert ("Customer", contact, EventOperation.CREATE) in kinds
    assert ("Invoice", inv, EventOperation.CREATE) in kinds and ("Invoice", inv, EventOperation.UPDATE) in kinds
    assert len({e.event_id for e in received}) == len(received)


# --- the emulator's query language ------------------------------------------------------------------------------


@pytest.mark.parametrize(("clause", "expected"), [
    ('Type=="ACCREC" AND Status=="AUTHORISED"', True),
    ('Type=="ACCREC" && AmountDue>0 && DueDate<DateTime(2024,06,01)', True),
    ('Status=="PAID" OR (AmountDue>=195 AND Contact.Name.StartsWith("Ac"))', True),
    ('Contact.ContactID==Guid("9B9BA9E5-E907-4B4E-8210-54D82B0AA479")', True),
    ('Reference!=null AND Reference.Contains("77")', True),
    ('Contact.Name.ToLower()=="acme ltd" AND NOT (AmountDue<100)', True),
    ('FullyPaidOnDate>DateTime(2024,01,01)', False),
    ('Total<=345.00 AND Total>345', False),
])
def test_where_clauses(clause: str, expected: bool) -> None:
    record = {"Type": "ACCREC", "Status": "AUTHORISED", "AmountDue": Decimal("195.00"), "Total": Decimal("345.00"),
              "DueDate": date(2024, 5, 1), "Reference": "PO 7788", "FullyPaidOnDate": None,
              "Contact": {"ContactID": "9b9ba9e5-e907-4b4e-8210-54d82b0aa479", "Name": "Acme Ltd"}}
    assert Where(clause).matches(record) is expected


def test_a_bad_where_clause_is_a_400(emulator: XeroEmulator) -> None:
    wire = raw_get(emulator, "/Invoices", where='Type=="ACCREC" AND (')
    assert wire.status_code == 400 and wire.json()["Type"] == "QueryParseException"
    missing_tenant = httpx.get(f"{emulator.api_base}/Invoices",
                               headers={"Authorization": f"Bearer {emulator.issue_tokens()['access_token']}"})
    assert missing_tenant.status_code == 403 and missing_tenant.json()["Title"] == "Forbidden"


def test_summarize_errors_false_keeps_the_good_elements(emulator: XeroEmulator) -> None:
    contact = emulator.add_contact("Acme Ltd")
    token = emulator.issue_tokens()["access_token"]
    good = {"Type": "ACCREC", "Contact": {"ContactID": contact}, "Date": "/Date(1772409600000)/",
            "DueDate": "2026-04-01", "Status": "AUTHORISED",
            "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}]}
    bad = {**good, "Contact": {"ContactID": "00000000-0000-0000-0000-000000000000"}}
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": emulator.tenant_id}
    answer = httpx.put(f"{emulator.api_base}/Invoices", params={"summarizeErrors": "false"}, headers=headers,
                       json={"Invoices": [good, bad]})
    assert answer.status_code == 200
    first, second = answer.json()["Invoices"]
    assert first["HasErrors"] is False and first["Date"] == "/Date(1772409600000+0000)/"
    assert (first["SubTotal"], first["TotalTax"], first["Total"]) == (10.0, 1.5, 11.5)  # Exclusive, 15% on 200
    assert second["HasErrors"] is True and "could not be found" in second["ValidationErrors"][0]["Message"]
    summarized = httpx.put(f"{emulator.api_base}/Invoices", headers=headers, json={"Invoices": [good, bad]})
    assert summarized.status_code == 400 and summarized.json()["Type"] == "ValidationException"
    assert len(emulator.orgs[emulator.tenant_id].invoices) == 1  # all or nothing


def test_a_deleted_payment_reopens_a_paid_invoice(ledger: XeroLedger) -> None:
    contact = customer(ledger)
    inv = invoice(ledger, contact, "100.00")
    payment = pay(ledger, contact, {inv: "100.00"}, "pay-all")
    assert ledger.get_invoice(inv).status == InvoiceStatus.PAID
    ledger._call("deleting a payment", ledger._api.delete_payment, payment.id, PaymentDelete(status="DELETED"))
    reopened = ledger.get_invoice(inv)
    assert reopened.status == InvoiceStatus.OPEN and reopened.balance == usd("100.00")
    assert ledger.list_payments(invoice_id=inv) == []
