"""Xero transport (adapters/ledgers/xero/transport.py): errors mapped once with no hidden retries, rate limits
on both sides, idempotency keys, paging; and the emulator's query language the transport relies on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from adapters.ledger import (
    CreditNoteDraft,
    CustomerDraft,
    NotFound,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
)
from adapters.ledgers.oauth import MemoryTokenStore, ReconsentRequired
from adapters.ledgers.rate_limit import RateLimiter
from adapters.ledgers.xero.auth import tokens_from_response
from adapters.ledgers.xero.ledger import XeroLedger
from adapters.ledgers.xero.transport import error_for_answer
from tests.emulators.xero import Where, XeroEmulator

from .connected import TODAY, connected_ledger, customer, invoice, line, pay, raw_get


def test_the_wrong_tenant_is_forbidden(emulator: XeroEmulator) -> None:
    stranger = "99999999-1111-4222-8333-944455556666"
    store = MemoryTokenStore()
    store.save("xero", tokens_from_response(emulator.issue_tokens(), stranger))
    ledger = XeroLedger(stranger, emulator.client_id, emulator.client_secret, store, api_base=emulator.api_base,
                        identity_base=emulator.identity_base)
    with pytest.raises(ReconsentRequired, match="403"):
        ledger.list_open_invoices()
    ledger.close()


# --- errors: mapped once, no hidden retries ----------------------------------------------------------------


def test_429_is_rate_limited_with_its_delay_and_no_hidden_retry(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    contact = customer(ledger)
    emulator.faults.rate_limited, emulator.faults.retry_after = 1, 7
    with pytest.raises(RateLimited) as limited:
        ledger.list_open_invoices()
    assert limited.value.retry_after_seconds == 7 and "minute" in str(limited.value)
    assert emulator.count("GET", "/Invoices") == 1  # urllib3 would have slept and tried three more times
    # PUT is retried by urllib3 too when left on: one attempt only.
    emulator.faults.rate_limited, emulator.faults.rate_limit_problem = 1, "day"
    with pytest.raises(RateLimited, match="day"):
        invoice(ledger, contact)
    assert emulator.count("PUT", "/Invoices") == 1 and not emulator.writes["inv-1"]


def test_a_429_without_retry_after_is_rate_limited_with_no_delay(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    emulator.faults.rate_limited, emulator.faults.retry_after = 1, None
    with pytest.raises(RateLimited) as limited:
        ledger.list_open_invoices()
    assert limited.value.retry_after_seconds is None and "minute" in str(limited.value)


def test_xeros_own_codes_first_then_the_shared_map() -> None:
    def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Exception:
        return error_for_answer(status, body, headers, "listing invoices", "tenant-1")

    assert isinstance(answer(401), ReconsentRequired) and isinstance(answer(403), ReconsentRequired)
    refused = answer(400, b'{"Elements":[{"ValidationErrors":[{"Message":"Date is invalid"}]}]}')
    assert type(refused) is PermanentLedgerError and "Date is invalid" in str(refused)
    unavailable = answer(503, headers={"Retry-After": "12"})
    assert isinstance(unavailable, RateLimited) and unavailable.retry_after_seconds == 12
    assert type(answer(503)) is RetryableLedgerError and type(answer(502)) is RetryableLedgerError
    assert isinstance(answer(404), NotFound)
    past = answer(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})  # a date already past: now
    assert isinstance(past, RateLimited) and past.retry_after_seconds == 0.0


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
    emulator.faults.lost_responses = 1
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
