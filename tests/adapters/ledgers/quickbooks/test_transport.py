"""The QuickBooks transport against the emulator: the wire format of writes, every error mapped once,
rate limits, timeouts, stale SyncTokens, requestid idempotency, query paging, and python-quickbooks itself
running unmodified. Everything talks to 127.0.0.1."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.ledger import (
    Allocation,
    CustomerDraft,
    InvoiceDraft,
    InvoiceStatus,
    NotFound,
    PaymentRequest,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
    StaleVersion,
)
from adapters.ledgers.oauth import MemoryTokenStore
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from adapters.ledgers.quickbooks.transport import request_id
from adapters.ledgers.quickbooks.webhooks import sign
from adapters.ledgers.rate_limit import RateLimiter
from tests.adapters.ledgers.quickbooks.connected import connected_ledger, line, new_customer, new_invoice
from tests.adapters.ledgers.quickbooks.recorded import (
    CUSTOMER_58,
    INVOICE_130,
)
from tests.adapters.ledgers.steps import TODAY, usd
from tests.emulators.quickbooks import Assumptions, Limits, QuickBooksEmulator


def test_writes_send_amounts_as_json_numbers_and_void_moves_the_sync_token(emulator: QuickBooksEmulator,
                                                                           ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    invoice = ledger.create_invoice(InvoiceDraft(
        customer_id=customer_id, currency="USD", lines=[line("120.50", "Hosting", "2"), line("0.10", "Fee")],
        issue_date=TODAY, due_date=TODAY + timedelta(days=14), number="INV-77"), "inv-wire")
    path, body = next((p, b) for p, b in emulator.bodies if "/invoice?" in p)
    sent = json.loads(body, parse_float=Decimal)
    assert b'"Amount":120.50' in body and b'"UnitPrice":60.25' in body and b'"120.50"' not in body
    assert sent["TxnDate"] == "2026-03-02" and sent["DocNumber"] == "INV-77" and "requestid=invoice-inv-wire" in path
    assert invoice.total == usd("120.60") and invoice.number == "INV-77" and invoice.due_date == date(2026, 3, 16)
    assert emulator.entity("Invoice", invoice.id)["SyncToken"] == "0"

    voided = ledger.void_invoice(invoice.id, "void-wire")
    assert voided.status == InvoiceStatus.VOID and voided.total == usd("0.00")
    assert emulator.entity("Invoice", invoice.id)["SyncToken"] == "1"
    void_body = json.loads(next(b for p, b in emulator.bodies if "operation=void" in p))
    assert void_body == {"Id": invoice.id, "SyncToken": "0"}
    # Voiding again reads the invoice, sees it void, and writes nothing.
    assert ledger.void_invoice(invoice.id, "void-wire-again").status == InvoiceStatus.VOID
    assert sum("operation=void" in p for p, _ in emulator.bodies) == 1


# --- errors, mapped once ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "retry_after", "expected"), [("json", None, 60.0), ("xml", None, 60.0),
                                                               ("json", 7.0, 7.0)])
def test_429_is_rate_limited_with_a_delay(body: str, retry_after: float | None, expected: float) -> None:
    assumptions = Assumptions(throttle_body=body)  # type: ignore[arg-type]
    with QuickBooksEmulator(assumptions=assumptions) as emulator:
        ledger = connected_ledger(emulator)
        emulator.faults.retry_after = retry_after  # None, as Intuit sends: the adapter's own back-off
        emulator.faults.rate_limited = 2
        with pytest.raises(RateLimited) as limited:
            ledger.list_customers()
        assert limited.value.retry_after_seconds == expected and "3001" in str(limited.value)
        with pytest.raises(RateLimited):
            ledger.get_invoice("1")
        assert ledger.list_customers() == []


@pytest.mark.parametrize(("retry_after", "expected"), [(None, 60.0), ("5", 5.0)])
def test_the_emulators_own_limits_answer_429(retry_after: str | None, expected: float) -> None:
    with QuickBooksEmulator(limits=Limits(per_minute=3), assumptions=Assumptions(retry_after=retry_after)) as emulator:
        ledger = connected_ledger(emulator)
        for _ in range(3):
            ledger.list_customers()
        with pytest.raises(RateLimited) as limited:
            ledger.list_customers()
        assert limited.value.retry_after_seconds == expected


def test_the_client_side_limiter_stops_calls_before_quickbooks_sees_them(emulator: QuickBooksEmulator) -> None:
    ledger = connected_ledger(emulator, rate_limiter=RateLimiter(per_minute=2, concurrent=10, max_wait=0))
    ledger.list_customers()
    ledger.list_customers()
    with pytest.raises(RateLimited) as limited:
        ledger.list_customers()
    assert limited.value.retry_after_seconds is not None and limited.value.retry_after_seconds > 50
    assert len(emulator.calls) == 2


def test_concurrent_calls_stay_within_the_realms_concurrency_limit() -> None:
    with QuickBooksEmulator(limits=Limits(concurrent=3)) as emulator:
        emulator.faults.slow_seconds = 0.15

        def burst(ledger: QuickBooksLedger) -> list[BaseException]:
            failures: list[BaseException] = []

            def call() -> None:
                try:
                    ledger.list_customers()
                except RateLimited as error:
                    failures.append(error)

            threads = [threading.Thread(target=call) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return failures

        assert burst(connected_ledger(emulator, rate_limiter=RateLimiter(per_minute=500, concurrent=3))) == []
        assert emulator.max_in_flight == 3
        # Without the client-side cap QuickBooks itself refuses the surplus with 429.
        assert burst(connected_ledger(emulator, rate_limiter=RateLimiter(per_minute=500, concurrent=10)))
        emulator.faults.slow_seconds = 0


@pytest.mark.parametrize("fault", ["server_errors", "unavailable_next"])
def test_5xx_is_retryable(emulator: QuickBooksEmulator, ledger: QuickBooksLedger, fault: str) -> None:
    setattr(emulator.faults, fault, 1)
    with pytest.raises(RetryableLedgerError) as failed:
        ledger.list_customers()
    assert not isinstance(failed.value, RateLimited)
    assert ledger.list_customers() == []


def test_a_timeout_is_retryable(emulator: QuickBooksEmulator, store: MemoryTokenStore) -> None:
    ledger = connected_ledger(emulator, store, timeout=0.2)
    emulator.faults.slow_seconds = 0.6
    with pytest.raises(RetryableLedgerError, match="timed out"):
        ledger.list_customers()
    emulator.faults.slow_seconds = 0


def test_a_stale_sync_token_is_re_read_and_retried_once(emulator: QuickBooksEmulator,
                                                        ledger: QuickBooksLedger) -> None:
    invoice = new_invoice(ledger, new_customer(ledger))
    emulator.faults.stale_next = 1  # someone saves the invoice just before our void lands
    assert ledger.void_invoice(invoice.id, "void-1").status == InvoiceStatus.VOID
    voids = [parse_qs(urlsplit(p).query) for p, _ in emulator.bodies if "operation=void" in p]
    # The retry carries its own requestid: the refused attempt wrote nothing.
    assert [v["requestid"] for v in voids] == [["void-void-1"], ["void-void-1-r1"]]
    assert emulator.entity("Invoice", invoice.id)["SyncToken"] == "2"

    other = new_invoice(ledger, ledger.get_invoice(invoice.id).customer_id, key="inv-2")
    emulator.faults.stale_next = 2
    with pytest.raises(StaleVersion, match="5010"):
        ledger.void_invoice(other.id, "void-2")
    assert ledger.get_invoice(other.id).status == InvoiceStatus.OPEN


def test_validation_faults_carry_the_ledgers_message(emulator: QuickBooksEmulator,
                                                     ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    with pytest.raises(PermanentLedgerError, match="Duplicate Name Exists Error") as duplicate:
        new_customer(ledger, key="cust-2")
    assert not isinstance(duplicate.value, NotFound) and "6240" in str(duplicate.value)
    invoice = new_invoice(ledger, customer_id, "100.00")
    with pytest.raises(PermanentLedgerError, match="exceeds its open balance") as refused:
        ledger.record_payment(PaymentRequest(customer_id=customer_id, date=TODAY, amount=usd("150.00"),
                                             allocations=[Allocation(invoice_id=invoice.id, amount=usd("150.00"))]),
                              "pay-over")
    assert "Business Validation Error" in str(refused.value)
    with pytest.raises(NotFound):  # 2500: the customer does not exist
        new_invoice(ledger, "4242", key="inv-nobody")
    with pytest.raises(NotFound):  # 610
        ledger.get_customer("4242")


# --- requestid: one write however often it is sent ----------------------------------------------------------------


def test_a_replayed_requestid_writes_once(emulator: QuickBooksEmulator, ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    first = new_invoice(ledger, customer_id, key="dup")
    second = new_invoice(ledger, customer_id, key="dup")
    assert first == second
    assert emulator.requestid_arrivals["invoice-dup"] == 2 and emulator.writes["invoice-dup"] == 1
    assert len(ledger.list_open_invoices(customer_id)) == 1


def test_a_write_whose_answer_was_lost_is_not_repeated(emulator: QuickBooksEmulator,
                                                       ledger: QuickBooksLedger) -> None:
    customer_id = new_customer(ledger)
    invoice = new_invoice(ledger, customer_id)
    emulator.faults.lost_responses = 1
    request = PaymentRequest(customer_id=customer_id, date=TODAY, amount=usd("100.00"),
                             allocations=[Allocation(invoice_id=invoice.id, amount=usd("100.00"))])
    with pytest.raises(RetryableLedgerError):
        ledger.record_payment(request, "pay-lost")
    payment = ledger.record_payment(request, "pay-lost")  # Temporal's retry, same key
    assert emulator.writes["payment-pay-lost"] == 1 and len(ledger.list_payments()) == 1
    assert ledger.get_invoice(invoice.id).balance == usd("200.00") and payment.amount == usd("100.00")


def test_long_idempotency_keys_are_hashed_to_fifty_characters(emulator: QuickBooksEmulator,
                                                              ledger: QuickBooksLedger) -> None:
    key = "invoice-lifecycle/ACME-2026-000123/reminder-level-2/" + "x" * 40
    rid = request_id("customer", key)
    assert len(rid) <= 50 and rid == request_id("customer", key) and rid != request_id("invoice", key)
    first = ledger.create_customer(CustomerDraft(name="Globex"), key)
    assert ledger.create_customer(CustomerDraft(name="Globex"), key) == first
    assert all(len(r) <= 50 for r in emulator.requestid_arrivals) and emulator.writes[rid] == 1
    # The same business key for two kinds of write does not collide in QuickBooks' one requestid space.
    invoice = new_invoice(ledger, first.id, key=key)
    assert invoice.customer_id == first.id


# --- queries and paging -----------------------------------------------------------------------------------------


def test_open_invoices_are_paged_past_a_thousand_rows(emulator: QuickBooksEmulator,
                                                      ledger: QuickBooksLedger) -> None:
    emulator.put_raw("Customer", CUSTOMER_58)
    template = json.loads(INVOICE_130, parse_float=Decimal)["Invoice"]
    for number in range(1, 1006):
        emulator.put_raw("Invoice", {**template, "Id": str(1000 + number), "DocNumber": f"D-{number}"})
    emulator.put_raw("Invoice", {**template, "Id": "5000", "Balance": Decimal("0")})  # paid: not open

    invoices = ledger.list_open_invoices()
    assert len({i.id for i in invoices}) == 1005 and "5000" not in {i.id for i in invoices}
    pages = [q for q in emulator.queries if "FROM Invoice" in q]
    assert [q.split("STARTPOSITION ")[1].split()[0] for q in pages] == ["1", "1001"]
    assert all("MAXRESULTS 1000" in q for q in pages)

    small = connected_ledger(emulator, page_size=400)
    assert len(small.list_open_invoices(customer_id="58")) == 1005
    assert len(small.list_overdue_invoices(date(2024, 7, 2))) == 1005
    assert small.list_overdue_invoices(date(2024, 7, 1)) == []


def test_query_language_refuses_or_and_accepts_both_order_by_spellings(emulator: QuickBooksEmulator) -> None:
    token = emulator.issue_tokens().access_token
    url = f"{emulator.base_url}/v3/company/{emulator.realm_id}/query"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def run(sql: str) -> httpx.Response:
        return httpx.get(url, params={"query": sql, "minorversion": "75"}, headers=headers)

    refused = run("SELECT * FROM Term WHERE Name = 'Net 15' OR Name = 'Net 30'")
    assert refused.status_code == 400 and refused.json()["Fault"]["Error"][0]["code"] == "4000"
    terms = run("select * from Term where DueDays >= '15' ORDER BY DueDays DESC maxresults 2").json()
    assert [t["Name"] for t in terms["QueryResponse"]["Term"]] == ["Net 60", "Net 30"]
    terms = run("SELECT * FROM Term WHERE Name LIKE 'Net%' ORDERBY Name STARTPOSITION 2 MAXRESULTS 5").json()
    assert [t["Name"] for t in terms["QueryResponse"]["Term"]] == ["Net 30", "Net 60"]
    assert run("SELECT COUNT(*) FROM Term WHERE Id IN ('1', '3')").json()["QueryResponse"] == {"totalCount": 2}
    assert run("SELECT * FROM Term STARTPOSITION 50").json()["QueryResponse"] == {}
    assert run("SELECT * FROM term").status_code == 400  # entity names are case-sensitive (assumed)


# --- the SDK, unmodified, against the emulator ---------------------------------------------------------------


def test_python_quickbooks_and_intuit_oauth_run_unmodified(emulator: QuickBooksEmulator,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from intuitlib.client import AuthClient
    from quickbooks import QuickBooks
    from quickbooks.cdc import change_data_capture
    from quickbooks.exceptions import ValidationException
    from quickbooks.objects.base import Ref
    from quickbooks.objects.customer import Customer as QBCustomer
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice as QBInvoice

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # requests-oauthlib refuses http:// otherwise
    refresh = emulator.issue_tokens().refresh_token
    auth = AuthClient(emulator.client_id, emulator.client_secret, "http://127.0.0.1/callback",
                      environment=emulator.discovery_url, refresh_token=refresh)
    qb = QuickBooks(auth_client=auth, refresh_token=refresh, company_id=emulator.realm_id, minorversion=75,
                    use_decimal=True)
    assert emulator.token_grants == ["refresh_token"] and auth.refresh_token != refresh
    qb.api_url_v3 = f"{emulator.base_url}/v3"

    customer = QBCustomer()
    customer.DisplayName = "Globex"
    saved = customer.save(qb=qb, request_id="sdk-cust-1")
    assert QBCustomer().save(qb=qb, request_id="sdk-cust-1").Id == saved.Id  # the SDK's own replay test

    invoice = QBInvoice()
    invoice.CustomerRef = saved.to_ref()
    item_line = SalesItemLine()
    item_line.Amount = Decimal("120.50")  # the SDK sends Decimals as "120.50": accepted
    item_line.SalesItemLineDetail = SalesItemLineDetail()
    item_line.SalesItemLineDetail.ItemRef = Ref()
    item_line.SalesItemLineDetail.ItemRef.value = "1"
    invoice.Line.append(item_line)
    created = invoice.save(qb=qb, request_id="sdk-inv-1")
    assert created.TotalAmt == Decimal("120.5") and isinstance(created.Balance, Decimal)

    assert [i.Id for i in QBInvoice.where("Balance > '0'", order_by="DueDate", start_position=1, max_results=1000,
                                          qb=qb)] == [created.Id]
    assert [i.Id for i in QBInvoice.filter(CustomerRef=saved.Id, qb=qb)] == [created.Id]
    assert QBInvoice.count("Balance > '0'", qb=qb) == 1 and len(QBInvoice.all(qb=qb)) == 1
    with pytest.raises(ValidationException):
        QBInvoice.where("Balance > '0' OR DocNumber = '1'", qb=qb)

    created.send(qb=qb, send_to="ap@globex.example")
    assert emulator.outbox[-1].to == "ap@globex.example"
    fresh = QBInvoice.get(created.Id, qb=qb)
    voided = fresh.void(qb=qb)
    assert voided["Invoice"]["PrivateNote"].startswith("Voided") and voided["Invoice"]["TotalAmt"] == 0
    assert qb.download_pdf("Invoice", created.Id).startswith(b"%PDF")

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")  # with its offset, as documented
    changes = change_data_capture([QBInvoice, QBCustomer], since, qb=qb)
    assert [i.Id for i in changes.Invoice] == [created.Id] and [c.Id for c in changes.Customer] == [saved.Id]
    report = qb.get_report("AgedReceivables", qs={"report_date": TODAY.isoformat()})
    assert report["Header"]["ReportName"] == "AgedReceivables"
    body = b'{"eventNotifications": []}'
    assert qb.validate_webhook_signature(body.decode(), sign("tok", body), "tok")
