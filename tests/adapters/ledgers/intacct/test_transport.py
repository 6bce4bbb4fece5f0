"""The Intacct HTTP client (adapters/ledgers/intacct/transport.py): the error mapping, rate limits and
concurrency, timeouts, idempotent writes (header replay, 409, the marker lookup) and query paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.ledger import (
    CreditNoteDraft,
    NotFound,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
)
from adapters.ledgers.intacct.ledger import IntacctLedger
from adapters.ledgers.intacct.transport import error_for
from adapters.ledgers.rate_limit import RateLimiter
from tests.emulators.intacct import INVOICE, IntacctEmulator

from .connected import TODAY, Connect, connected_ledger, customer_of, invoice_of, line, pay


def test_429_is_rate_limited_with_the_servers_delay(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    ledger.list_customers()
    emulator.faults.rate_limited = 1
    emulator.faults.retry_after = 7
    with pytest.raises(RateLimited) as limited:
        ledger.list_customers()
    assert limited.value.retry_after_seconds == 7.0 and "GW-0010" in str(limited.value)
    assert ledger.list_customers() == []  # Temporal retries; the adapter did not


def test_a_429_storm_stays_rate_limited(emulator: IntacctEmulator, ledger: IntacctLedger) -> None:
    ledger.list_customers()
    emulator.faults.rate_limited = 10**6
    before = len(emulator.requests)
    for _ in range(3):
        with pytest.raises(RateLimited):
            ledger.list_customers()
    assert len(emulator.requests) - before == 3  # one request per call: no hidden retries


def _delay_asked(headers: dict[str, str]) -> float | None:
    body = _ia_error_body("GW-0010", "Rate limit exceeded", top_level=False)
    error = error_for(httpx.Response(429, json=body, headers=headers))
    assert isinstance(error, RateLimited)
    return error.retry_after_seconds


def test_retry_after_headers_are_read_in_their_forms() -> None:
    assert _delay_asked({"Retry-After": "2.5"}) == 2.5
    assert _delay_asked({"X-IA-Concurrency-Retry-After": "4"}) == 4.0
    later = (datetime.now(UTC) + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    value = _delay_asked({"Retry-After": later})
    assert value is not None and 80 <= value <= 90
    assert _delay_asked({}) is None


def test_500_and_timeouts_are_retryable(connect: Connect, emulator: IntacctEmulator) -> None:
    port = connect(timeout=0.3)
    port.list_customers()
    emulator.faults.server_errors = 1
    with pytest.raises(RetryableLedgerError, match="GW-0001"):
        port.list_customers()
    emulator.faults.slow_seconds = 1.0
    with pytest.raises(RetryableLedgerError, match="timed out"):
        port.list_customers()


def test_unknown_records_are_not_found(ledger: IntacctLedger) -> None:
    with pytest.raises(NotFound):
        ledger.get_customer("424242")
    with pytest.raises(NotFound):
        ledger.get_invoice("424242")
    with pytest.raises(NotFound):
        ledger.list_payments("424242")


def test_the_client_keeps_within_intacct_concurrency(connect: Connect, emulator: IntacctEmulator) -> None:
    emulator.faults.concurrency_limit = 2
    polite = connect(rate_limiter=RateLimiter(per_minute=1000, concurrent=2))
    polite.list_customers()  # token first
    emulator.faults.slow_seconds = 0.15
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: polite.list_customers(), range(6)))
    assert results == [[]] * 6
    greedy = connect(rate_limiter=RateLimiter(per_minute=1000, concurrent=6))
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


def test_header_replay_writes_once(connect: Connect, emulator: IntacctEmulator) -> None:
    port = connect(lookup_before_create=False)
    customer = customer_of(port)
    first = invoice_of(port, customer.id, key="same-key")
    second = invoice_of(port, customer.id, key="same-key")
    assert first.id == second.id and emulator.writes["same-key"] == 1
    posts = emulator.writes_to("POST", f"/objects/{INVOICE}")
    assert [p.headers["idempotency-key"] for p in posts] == ["same-key", "same-key"]
    assert len(emulator.objects[INVOICE]) == 1


def test_a_409_on_a_reused_key_finds_the_first_write(connect: Connect, emulator: IntacctEmulator) -> None:
    emulator.faults.idempotency = "conflict"
    port = connect(lookup_before_create=False)
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
    with (IntacctEmulator(idempotency_header="X-Request-Key") as emulator,
          closing(connected_ledger(emulator)) as port):
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


def test_open_invoices_page_through_the_query_service(connect: Connect, emulator: IntacctEmulator) -> None:
    port = connect(page_size=2)
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
    assert {"$in": {"state": ["posted", "partiallyPaid", "selected", "draft"]}} in pages[0]["filters"]
    queries = len(emulator.requests)
    overdue = port.list_overdue_invoices(TODAY + timedelta(days=25), customer_id=customer.id)
    pages = [r.body for r in emulator.requests[queries:] if r.path == "/services/core/query"]
    assert {"$in": {"state": ["posted", "partiallyPaid", "selected"]}} in pages[0]["filters"]  # drafts: never overdue
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
