"""The Sage Intacct adapter against its wire-level emulator (tests/emulators/intacct.py): exact figures and
dates on recorded-shape payloads, server-computed invoice state, OAuth refresh and rotation, the error
mapping, idempotent writes, query paging, the polling backstop and webhook verification."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from adapters.ledger import (
    Allocation,
    BankLineStatus,
    CreditNoteDraft,
    Customer,
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
from adapters.ledgers.intacct.ledger import (
    ADJUSTMENT,
    ADVANCE,
    ATTACHMENT,
    CUSTOMER,
    INVOICE,
    IntacctLedger,
    authorization_url,
    error_for,
    invoice_status,
    retry_after_seconds,
)
from adapters.ledgers.intacct.webhooks import parse, trusted_context, verify
from adapters.ledgers.oauth import MemoryTokenStore, OAuthTokens, ReconsentRequired
from adapters.ledgers.rate_limit import RateLimiter
from tests.emulators.intacct import IntacctEmulator

TODAY = date(2026, 3, 2)

# Recorded-shape payloads: the `ia::result` of GET /objects/accounts-receivable/{customer,invoice}/{key}
# as LEDGER_APIS.md C3 records them (decimal strings, YYYY-MM-DD dates, ISO UTC audit times).
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
# The OpenAPI example's shape: contact fields directly under contacts.default, a JSON number credit limit.
POWER_AEROSPACE = {
    "key": "1", "id": "1", "name": "Power Aerospace Materials France", "currency": "EUR", "status": "active",
    "term": {"id": "Net 15", "key": "26"}, "creditLimit": 20000, "totalDue": "99999.99", "notes": "Sample Notes",
    "contacts": {"default": {"email1": "user@domain.com", "mailingAddress": {"city": "Paris", "country": "France"},
                             "printAs": "Mr. Sandy Tieber", "key": "394"}},
    "audit": {"createdDateTime": "2018-07-28T19:22:31Z", "modifiedDateTime": "2023-12-14T11:31:06Z"},
}


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def line(amount: str, description: str = "Design work", quantity: str = "1") -> InvoiceLine:
    return InvoiceLine(description=description, quantity=Decimal(quantity),
                       unit_price=Decimal(amount) / Decimal(quantity), amount=Decimal(amount))


@pytest.fixture
def emulator() -> Iterator[IntacctEmulator]:
    with IntacctEmulator() as running:
        yield running


@pytest.fixture
def ledger(emulator: IntacctEmulator) -> Iterator[IntacctLedger]:
    port = emulator.ledger()
    yield port
    port.close()


def customer_of(port: IntacctLedger, key: str = "cust-1", name: str = "Acme Ltd") -> Customer:
    return port.create_customer(CustomerDraft(name=name, email="ap@acme.example", terms_days=30), key)


def invoice_of(port: IntacctLedger, customer_id: str, amount: str = "300.00", key: str = "inv-1",
               due: date = TODAY + timedelta(days=30)) -> Any:
    return port.create_invoice(InvoiceDraft(customer_id=customer_id, currency="USD", lines=[line(amount)],
                                            issue_date=min(TODAY, due), due_date=due), key)


def pay(port: IntacctLedger, customer_id: str, amount: str, allocations: list[tuple[str, str]], key: str,
        reference: str = "") -> Any:
    return port.record_payment(PaymentRequest(customer_id=customer_id, date=TODAY, amount=usd(amount),
                                              allocations=[Allocation(invoice_id=i, amount=usd(a))
                                                           for i, a in allocations], reference=reference), key)


def numbers_in(value: Any) -> list[Any]:
    """Every JSON number in a request body (amounts must travel as strings)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return [value] if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else []


# --- mapping: exact figures and dates -----------------------------------------------------------------


def test_recorded_customer_and_invoice_payloads_map_exactly(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    emulator.seed(CUSTOMER, ACME)
    emulator.seed(INVOICE, INVOICE_0042)
    assert ledger.get_customer("58") == Customer(id="58", name="Acme Ltd", email="ap@acme.example", currency="USD",
                                                 terms_days=30, country="US", credit_limit=usd("10000"))
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


# --- payments: server-side state ------------------------------------------------------------------------


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


# --- OAuth ---------------------------------------------------------------------------------------------------


def stored_tokens(emulator: IntacctEmulator, expires_in: float) -> tuple[MemoryTokenStore, dict[str, Any]]:
    issued = emulator.issue_tokens()
    store = MemoryTokenStore()
    store.save("intacct", OAuthTokens(access_token=issued["access_token"], refresh_token=issued["refresh_token"],
                                      expires_at=datetime.now(UTC) + timedelta(seconds=expires_in), tenant="ACME"))
    return store, issued


def test_tokens_are_refreshed_before_expiry_and_the_rotated_refresh_token_is_saved(emulator: IntacctEmulator) -> None:
    store, issued = stored_tokens(emulator, expires_in=60)  # inside the 300 s margin
    port = emulator.ledger(token_store=store, username=None)
    port.list_customers()
    saved = store.load("intacct", "ACME")
    assert saved is not None and emulator.token_grants == ["refresh_token"]
    assert saved.refresh_token != issued["refresh_token"]
    assert emulator.live_refresh_tokens() == {saved.refresh_token}  # the old one died on rotation
    assert saved.expires_at > datetime.now(UTC) + timedelta(seconds=3000)
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {saved.access_token}"
    port.list_customers()
    assert emulator.token_grants == ["refresh_token"]  # fresh now: no second refresh


def test_a_token_far_from_expiry_is_used_as_is(emulator: IntacctEmulator) -> None:
    store, issued = stored_tokens(emulator, expires_in=3000)
    emulator.ledger(token_store=store, username=None).list_customers()
    assert emulator.token_grants == []
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {issued['access_token']}"


def test_authorization_code_connects_and_a_stale_token_is_renewed_once(emulator: IntacctEmulator) -> None:
    store = MemoryTokenStore()
    port = emulator.ledger(token_store=store, username=None)
    url = authorization_url("duecourse-client", "https://duecourse.example/callback", "st4te",
                            base_url=emulator.base_url, code_challenge="abc")
    assert url.startswith(f"{emulator.base_url}/oauth2/authorize?") and "scope=offline_access" in url
    assert "code_challenge_method=S256" in url and "state=st4te" in url
    tokens = port.connect_with_code(emulator.issue_code(), "https://duecourse.example/callback")
    assert store.load("intacct", "ACME") == tokens and tokens.extra["grant"] == "authorization_code"
    emulator.faults.stale_tokens = True  # e.g. someone approved a new connection for the same user
    assert port.list_customers() == []
    assert emulator.token_grants == ["authorization_code", "refresh_token"]
    statuses = [r.status for r in emulator.requests if r.path == "/services/core/query"]
    assert statuses == [401, 200]
    renewed = store.load("intacct", "ACME")
    assert renewed is not None and renewed.extra["grant"] == "authorization_code"


def test_invalid_grant_asks_for_reconsent(emulator: IntacctEmulator) -> None:
    store, _ = stored_tokens(emulator, expires_in=-10)
    emulator.faults.reject_refresh = True
    port = emulator.ledger(token_store=store, username=None)
    with pytest.raises(ReconsentRequired, match="invalid_grant") as refused:
        port.list_customers()
    assert refused.value.ledger == "intacct" and refused.value.tenant == "ACME"
    assert emulator.requests == []  # no API call went out with a dead token


def test_no_stored_tokens_without_a_web_services_user_asks_for_reconsent(emulator: IntacctEmulator) -> None:
    with pytest.raises(ReconsentRequired, match="connect"):
        emulator.ledger(username=None).list_customers()


def test_client_credentials_mint_and_store_tokens(emulator: IntacctEmulator) -> None:
    store = MemoryTokenStore()
    emulator.ledger(token_store=store).list_customers()
    saved = store.load("intacct", "ACME")
    assert emulator.token_grants == ["client_credentials"]
    assert saved is not None and saved.tenant == "ACME" and saved.extra["grant"] == "client_credentials"


class RacingStore(MemoryTokenStore):
    """A token store shared with another worker process that rotates the refresh token first."""

    def __init__(self, stale: OAuthTokens, fresh: OAuthTokens) -> None:
        super().__init__()
        self.loads = [stale, fresh]

    def load(self, ledger: str, tenant: str) -> OAuthTokens | None:
        return self.loads.pop(0) if self.loads else super().load(ledger, tenant)


def test_a_refresh_token_rotated_by_another_process_is_picked_up(emulator: IntacctEmulator) -> None:
    first, second = emulator.issue_tokens(), emulator.issue_tokens()
    emulator.revoke_refresh_tokens()  # the other process already used `first` ...
    soon = datetime.now(UTC)
    stale = OAuthTokens(access_token=first["access_token"], refresh_token=first["refresh_token"],
                        expires_at=soon, tenant="ACME")
    fresh = OAuthTokens(access_token=second["access_token"], refresh_token="rotated-elsewhere",
                        expires_at=soon + timedelta(hours=1), tenant="ACME")  # ... and saved its result
    port = emulator.ledger(token_store=RacingStore(stale, fresh), username=None)
    assert port.list_customers() == []
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {second['access_token']}"


# --- errors and limits --------------------------------------------------------------------------------------------


def test_429_is_rate_limited_with_the_servers_delay(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    ledger.list_customers()
    emulator.faults.rate_limited_requests = 1
    emulator.faults.retry_after = 7
    with pytest.raises(RateLimited) as limited:
        ledger.list_customers()
    assert limited.value.retry_after_seconds == 7.0 and "GW-0010" in str(limited.value)
    assert ledger.list_customers() == []  # Temporal retries; the adapter did not


def test_a_429_storm_stays_rate_limited(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    ledger.list_customers()
    emulator.faults.rate_limited_requests = 10**6
    before = len(emulator.requests)
    for _ in range(3):
        with pytest.raises(RateLimited):
            ledger.list_customers()
    assert len(emulator.requests) - before == 3  # one request per call: no hidden retries


def test_retry_after_headers_are_read_in_their_forms() -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": "2.5"})) == 2.5
    assert retry_after_seconds(httpx.Headers({"X-IA-Concurrency-Retry-After": "4"})) == 4.0
    later = (datetime.now(UTC) + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    value = retry_after_seconds(httpx.Headers({"Retry-After": later}))
    assert value is not None and 80 <= value <= 90
    assert retry_after_seconds(httpx.Headers({})) is None


def test_500_and_timeouts_are_retryable(emulator: IntacctEmulator) -> None:
    port = emulator.ledger(timeout=0.3)
    port.list_customers()
    emulator.faults.server_errors = 1
    with pytest.raises(RetryableLedgerError, match="GW-0001"):
        port.list_customers()
    emulator.faults.delay_seconds = 1.0
    with pytest.raises(RetryableLedgerError, match="timed out"):
        port.list_customers()


def test_unknown_records_are_not_found(ledger: IntacctLedger) -> None:
    with pytest.raises(NotFound):
        ledger.get_customer("424242")
    with pytest.raises(NotFound):
        ledger.get_invoice("424242")
    with pytest.raises(NotFound):
        ledger.list_payments("424242")


def test_the_client_keeps_within_intacct_concurrency(emulator: IntacctEmulator) -> None:
    emulator.faults.concurrency_limit = 2
    polite = emulator.ledger(rate_limiter=RateLimiter(per_minute=1000, concurrent=2))
    polite.list_customers()  # token first
    emulator.faults.delay_seconds = 0.15
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: polite.list_customers(), range(6)))
    assert results == [[]] * 6
    greedy = emulator.ledger(rate_limiter=RateLimiter(per_minute=1000, concurrent=6))
    greedy.list_customers()
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda _: _outcome(greedy), range(6)))
    assert "RateLimited" in outcomes


def _outcome(port: IntacctLedger) -> str:
    try:
        port.list_customers()
    except RateLimited:
        return "RateLimited"
    return "ok"


# --- idempotency --------------------------------------------------------------------------------------------------


def test_header_replay_writes_once(emulator: IntacctEmulator) -> None:
    port = emulator.ledger(lookup_before_create=False)
    customer = customer_of(port)
    first = invoice_of(port, customer.id, key="same-key")
    second = invoice_of(port, customer.id, key="same-key")
    assert first.id == second.id and emulator.writes["same-key"] == 1
    posts = emulator.writes_to("POST", f"/objects/{INVOICE}")
    assert [p.headers["idempotency-key"] for p in posts] == ["same-key", "same-key"]
    assert len(emulator.objects[INVOICE]) == 1


def test_a_409_on_a_reused_key_finds_the_first_write(emulator: IntacctEmulator) -> None:
    emulator.faults.idempotency = "conflict"
    port = emulator.ledger(lookup_before_create=False)
    customer = customer_of(port)
    first = pay(port, customer.id, "50.00", [(invoice_of(port, customer.id).id, "50.00")], "pay-once")
    second = pay(port, customer.id, "50.00", [(first.allocations[0].invoice_id, "50.00")], "pay-once")
    assert second.id == first.id and emulator.writes["pay-once"] == 1
    assert [p.status for p in emulator.writes_to("POST", "/objects/accounts-receivable/payment")] == [201, 409]


def test_writes_stay_single_when_the_header_is_ignored(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    emulator.faults.idempotency = "ignore"  # the real header name may differ: the marker lookup still holds
    customer = customer_of(ledger)
    assert customer_of(ledger).id == customer.id
    invoice = invoice_of(ledger, customer.id)
    assert invoice_of(ledger, customer.id).id == invoice.id
    note = CreditNoteDraft(customer_id=customer.id, currency="USD", lines=[line("25.00")], issue_date=TODAY,
                           invoice_id=invoice.id, reason="damaged")
    assert ledger.create_credit_note(note, "cn-1").id == ledger.create_credit_note(note, "cn-1").id
    assert emulator.writes == {"cust-1": 1, "inv-1": 1, "cn-1": 1}


def _ia_error_body(code: str, message: str, top_level: bool) -> dict[str, Any]:
    error = {"code": code, "message": message, "errorId": "REST-1064",
             "details": [{"code": code, "message": f"{message} (detail)", "target": "customer"}]}
    meta = {"totalCount": 1, "totalSuccess": 0, "totalError": 1}
    if top_level:
        return {"ia::error": error, "ia::meta": meta}
    return {"ia::result": {"ia::error": error}, "ia::meta": meta}


@pytest.mark.parametrize("top_level", [False, True])
@pytest.mark.parametrize(("status", "kind"), [
    (400, PermanentLedgerError), (403, PermanentLedgerError), (404, NotFound), (405, PermanentLedgerError),
    (409, PermanentLedgerError), (422, PermanentLedgerError), (408, RetryableLedgerError),
    (429, RateLimited), (500, RetryableLedgerError), (502, RetryableLedgerError), (503, RetryableLedgerError),
    (504, RetryableLedgerError),
])
def test_each_status_maps_to_one_error_type_with_the_ledgers_words(status: int, kind: type[Exception],
                                                                  top_level: bool) -> None:
    response = httpx.Response(status, json=_ia_error_body("invalidRequest", "A required field is missing", top_level),
                              headers={"Retry-After": "3"} if status == 429 else {})
    error = error_for(response)
    assert type(error) is kind or (status == 409 and isinstance(error, kind))
    assert "A required field is missing" in str(error) and "(detail)" in str(error) and str(status) in str(error)
    if status == 429:
        assert isinstance(error, RateLimited) and error.retry_after_seconds == 3.0
    gateway = error_for(httpx.Response(status, text="<html>Bad Gateway</html>"))
    assert isinstance(gateway, kind) and "Bad Gateway" in str(gateway)


def test_every_write_carries_the_configured_idempotency_header() -> None:
    with IntacctEmulator(idempotency_header="X-Request-Key") as emulator:
        port = emulator.ledger()
        customer = customer_of(port)
        invoice = invoice_of(port, customer.id, "80.00", key="inv-a")
        other = invoice_of(port, customer.id, "90.00", key="inv-b")
        pay(port, customer.id, "100.00", [(invoice.id, "80.00")], "pay-a")
        port.add_note("Invoice", other.id, "duecourse: reminder sent (level 1)", "note-a")
        port.void_invoice(other.id, "void-b")
        port.create_credit_note(CreditNoteDraft(customer_id=customer.id, currency="USD", lines=[line("5.00")],
                                                issue_date=TODAY), "cn-a")
        writes = [r for r in emulator.requests if r.method in ("POST", "PATCH", "DELETE")
                  and not r.path.startswith("/services/")]
        assert len(writes) >= 9 and emulator.unkeyed_writes == []
        assert all(r.headers.get("x-request-key") for r in writes)
        assert "idempotency-key" not in writes[0].headers


# --- queries and paging -------------------------------------------------------------------------------------------


def test_open_invoices_page_through_the_query_service(emulator: IntacctEmulator) -> None:
    port = emulator.ledger(page_size=2)
    customer = customer_of(port)
    dues = [TODAY + timedelta(days=d) for d in (40, 10, 30, 20, 50)]
    created = [invoice_of(port, customer.id, f"{100 + n}.00", key=f"inv-{n}", due=due) for n, due in enumerate(dues)]
    paid = created[4]
    pay(port, customer.id, str(paid.total.amount), [(paid.id, str(paid.total.amount))], "pay-all")
    queries = len(emulator.requests)
    open_now = port.list_open_invoices(customer_id=customer.id)
    assert [i.due_date for i in open_now] == sorted(dues[:4])
    pages = [r.body for r in emulator.requests[queries:] if r.path == "/services/core/query"]
    assert [(p["start"], p["size"]) for p in pages] == [(1, 2), (3, 2)]
    assert {"$in": {"state": ["posted", "partiallyPaid", "selected"]}} in pages[0]["filters"]
    overdue = port.list_overdue_invoices(TODAY + timedelta(days=25), customer_id=customer.id)
    assert [i.due_date for i in overdue] == [TODAY + timedelta(days=10), TODAY + timedelta(days=20)]


def test_the_query_service_speaks_the_documented_dialect(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    customer = customer_of(ledger)
    for n, amount in enumerate(["10.00", "20.00", "30.00", "40.00"]):
        invoice_of(ledger, customer.id, amount, key=f"q-{n}")
    token = emulator.issue_tokens()["access_token"]
    with httpx.Client(base_url=emulator.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        body = {"object": INVOICE, "fields": ["invoiceNumber", "totalTxnAmount", "customer.name"],
                "filters": [{"$lt": {"totalTxnAmount": "15"}}, {"$gte": {"totalTxnAmount": "30"}},
                            {"$startsWith": {"customer.name": "acme"}}],
                "filterExpression": "(1 or 2) and 3", "filterParameters": {"caseSensitiveComparison": False},
                "orderBy": [{"totalTxnAmount": "desc"}], "start": 1, "size": 2}
        answer = client.post("/services/core/query", json=body).json()
        assert [r["totalTxnAmount"] for r in answer["ia::result"]] == ["40.00", "30.00"]
        assert answer["ia::result"][0]["customer.name"] == "Acme Ltd"
        assert answer["ia::meta"] == {"totalCount": 3, "start": 1, "pageSize": 2, "next": 3, "previous": None}
        too_big = client.post("/services/core/query", json={**body, "size": 4001})
        assert too_big.status_code == 400
        assert too_big.json()["ia::result"]["ia::error"]["details"][0]["target"] == "size"
        refs = client.get(f"/objects/{INVOICE}").json()
        assert set(refs["ia::result"][0]) == {"key", "id", "href"} and refs["ia::meta"]["totalCount"] == 4
        assert client.patch(f"/objects/accounts-receivable/payment/{refs['ia::result'][0]['key']}",
                            json={"description": "x"}).status_code == 405


# --- void, credit notes, estimates, bank lines, notes -------------------------------------------------------------


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


def test_quotes_are_estimates(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
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
    without = emulator.ledger(quote_object=None)
    assert without.list_estimates() == []
    with pytest.raises(NotFound, match="not configured"):
        without.get_estimate(pending)


def test_bank_feed_deposits_are_bank_lines(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    deposit = emulator.add_bank_txn("420.50", "ACME LTD", reference="INV-00001")
    emulator.add_bank_txn("-75.00", "Office rent")
    matched = emulator.add_bank_txn("10.00", "Globex", state="matched")
    line_ = ledger.get_bank_line(deposit)
    assert (line_.amount, line_.payer_name, line_.reference, line_.date, line_.status) == (
        usd("420.50"), "ACME LTD", "INV-00001", TODAY, BankLineStatus.UNMATCHED)
    assert [b.id for b in ledger.list_bank_lines()] == [deposit, matched]
    assert [b.id for b in ledger.list_bank_lines(BankLineStatus.UNMATCHED)] == [deposit]
    assert emulator.ledger(bank_line_object=None).list_bank_lines() == []


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


# --- the polling backstop -----------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_changes_since_a_cursor(tmp_path: Any) -> None:
    clock = Clock(datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC))
    with IntacctEmulator(clock=clock) as emulator:
        port = emulator.ledger(clock=clock)
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


# --- webhooks -----------------------------------------------------------------------------------------------------


class Receiver:
    """The web app's side of a delivery: records each POST and answers the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/intacct"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_delivery_verifies_parses_and_dedupes_with_polling(emulator: IntacctEmulator,
                                                                     ledger: IntacctLedger) -> None:
    start = ledger.changes_since(None)
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id)
    with Receiver([503]) as receiver:
        assert emulator.send_webhook(receiver.url, "Invoice", invoice.id, "update") == [503, 200]
    (first_headers, first_body), (second_headers, second_body) = receiver.received
    assert first_headers["idempotency-key"] == second_headers["idempotency-key"] and first_body == second_body
    key = emulator.webhook_verification_key
    assert verify(first_body, first_headers["authorization"], key=key, audience=emulator.client_id,
                  issuer="https://api.intacct.com")
    assert trusted_context(first_headers["x-trusted-context"])["companyId"] == "ACME"
    [event] = parse(first_body)
    assert (event.ledger, event.tenant, event.entity, event.entity_id, event.operation) == (
        "intacct", "ACME", "Invoice", invoice.id, EventOperation.UPDATE)
    assert parse(second_body) == [event]
    polled = ledger.changes_since(start.cursor).events
    assert event.event_id in {e.event_id for e in polled if e.entity_id == invoice.id}


def test_verify_refuses_what_it_should(emulator: IntacctEmulator) -> None:
    body = emulator.webhook_body("Invoice", "1234", "update")
    good = f"Bearer {emulator.webhook_token()}"
    key = emulator.webhook_verification_key
    assert verify(body, good, key=key)
    assert not verify(body, None, key=key)
    assert not verify(body, "Basic abc", key=key)
    assert not verify(body, good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"), key=key)
    assert not verify(body, f"Bearer {emulator.webhook_token(lifetime=-120)}", key=key)  # expired
    assert not verify(body, good, key=key, audience="someone-else")
    assert not verify(body, good, key="a-shared-secret-long-enough-for-hs256-use")  # RS256 is not HMAC
    assert not verify(body, good, key=key, algorithms=("HS256",))
    other_company = f"Bearer {emulator.webhook_token(company_id='GLOBEX')}"
    assert not verify(body, other_company, key=key)  # a token for one company, events of another
    with IntacctEmulator(webhook_secret="an-hs256-secret-of-at-least-32-bytes") as hmac_emulator:
        hs_token = f"Bearer {hmac_emulator.webhook_token()}"
        assert verify(body, hs_token, key="an-hs256-secret-of-at-least-32-bytes")
        assert not verify(body, hs_token, key="a-wrong-secret-also-long-enough-for-hs256")
        assert not verify(body, hs_token, key=emulator.webhook_public_key_pem)  # no algorithm confusion


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty"),
    (b"not json", "not valid JSON"),
    (b"[]", "non-empty list"),
    (b"[1]", "not a JSON object"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "update", "companyId": "ACME",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "missing 'key'"),
    (json.dumps({"object": "general-ledger/journal", "event": "update", "key": "1", "companyId": "ACME",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "is not one duecourse follows"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "explode", "key": "1", "companyId": "ACME",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "'explode' is not one of"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "set", "key": "1", "companyId": "ACME",
                 "timestamp": "last tuesday"}).encode(), "not an ISO 8601"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "set", "key": "1",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "missing 'companyId'"),
])
def test_parse_explains_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(body)


def test_parse_accepts_lists_envelopes_and_legacy_names() -> None:
    items = [{"objectName": "ARPYMT", "action": "add", "recordKey": "77", "companyId": "ACME",
              "occurredAt": "2024-06-15T15:00:00"},
             {"object": "order-entry/document::Sales Quote", "event": "delete", "key": "9", "companyId": "ACME",
              "timestamp": "2024-06-15T15:00:01Z"}]
    payment, quote = parse(json.dumps({"events": items}).encode())
    assert (payment.entity, payment.entity_id, payment.operation) == ("Payment", "77", EventOperation.CREATE)
    assert payment.occurred_at == datetime(2024, 6, 15, 15, 0, tzinfo=UTC)
    assert (quote.entity, quote.operation) == ("Estimate", EventOperation.DELETE)
    assert parse(json.dumps(items).encode())[0].event_id == payment.event_id
    with pytest.raises(ValueError, match="not base64"):
        trusted_context("%%%")
