"""The sandbox ledger against a real SQLite file, its webhooks against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters.ledger import (
    Allocation,
    BankLineStatus,
    EstimateStatus,
    EventOperation,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    LedgerEvent,
    LedgerPort,
    Money,
    NotFound,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.sandbox import (
    COMPANY_NAME,
    SIGNATURE_HEADER,
    SandboxLedger,
    WebhookDispatcher,
    event_body,
    parse_body,
    seed_demo_company,
    sign,
    verify,
)
from adapters.ledgers.sandbox.seed import BUCKETS, HABITS, aging_bucket
from adapters.ledgers.sandbox.webhooks import retry_delay

TODAY = date(2025, 3, 14)
ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """A ledger clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Iterator[SandboxLedger]:
    sandbox = SandboxLedger(tmp_path / "sandbox.db", clock=clock)
    yield sandbox
    sandbox.close()


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def entity_events(ledger: SandboxLedger, since: int = 0) -> list[tuple[str, str, EventOperation]]:
    return [(e.entity, e.entity_id, e.operation) for _, e in ledger.events(since)]


def last_seq(ledger: SandboxLedger) -> int:
    events = ledger.events()
    return events[-1][0] if events else 0


# --- the port --------------------------------------------------------------------------------------


def test_it_is_a_ledger_port(ledger: SandboxLedger) -> None:
    port: LedgerPort = ledger
    assert (port.ledger, port.tenant) == ("sandbox", "demo")


def test_money_round_trips_exactly_through_the_file(tmp_path: Path) -> None:
    first = SandboxLedger(tmp_path / "books.db")
    customer = first.add_customer(
        "Müller & Söhne GmbH", email="ap@muller.example", currency="EUR", credit_limit=Decimal("12500.50")
    )
    draft = InvoiceDraft(
        customer_id=customer.id,
        currency="EUR",
        lines=[
            InvoiceLine(
                description="Design hours", quantity=Decimal("3"), unit_price=Decimal("19.99"), amount=Decimal("59.97")
            ),
            InvoiceLine(
                description="Licence", quantity=Decimal("0.5"), unit_price=Decimal("0.10"), amount=Decimal("0.05")
            ),
        ],
        issue_date=TODAY,
        due_date=TODAY + timedelta(days=30),
    )
    created = first.create_invoice(draft, "inv-1")
    first.close()

    reopened = SandboxLedger(tmp_path / "books.db")
    invoice = reopened.get_invoice(created.id)
    assert invoice.total == Money(amount=Decimal("60.02"), currency="EUR")
    assert isinstance(invoice.total.amount, Decimal) and str(invoice.total.amount) == "60.02"
    assert invoice.balance == invoice.total and invoice.currency == "EUR"
    assert [line.amount for line in invoice.lines] == [Decimal("59.97"), Decimal("0.05")]
    assert invoice.lines[1].quantity == Decimal("0.5") and invoice.lines[0].unit_price == Decimal("19.99")
    assert invoice.customer_name == "Müller & Söhne GmbH" and invoice.email == "ap@muller.example"
    assert invoice.status == InvoiceStatus.OPEN and invoice.number.startswith("INV-")
    stored = reopened.get_customer(customer.id)
    assert stored.credit_limit == Money(amount=Decimal("12500.50"), currency="EUR")
    assert reopened.list_open_invoices(customer.id) == [invoice]


def test_ids_and_numbers_increase(ledger: SandboxLedger) -> None:
    first = ledger.add_customer("Acme Corporation Inc")
    second = ledger.add_customer("Bluebird Cafe LLC")
    assert (first.id, second.id) == ("C-1001", "C-1002")
    one = ledger.add_invoice(first.id, Decimal("100.00"), due_date=TODAY)
    two = ledger.add_invoice(second.id, Decimal("200.00"), due_date=TODAY)
    assert (one.id, one.number, two.id, two.number) == ("I-2001", "INV-1001", "I-2002", "INV-1002")
    assert [c.id for c in ledger.list_customers()] == ["C-1001", "C-1002"]


def test_add_invoice_defaults_from_customer_terms(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme", email="ap@acme.example", terms_days=45)
    invoice = ledger.add_invoice(customer.id, Decimal("1250.00"), due_date=TODAY, description="Brand refresh")
    assert invoice.issue_date == TODAY - timedelta(days=45)
    assert invoice.lines == [
        InvoiceLine(
            description="Brand refresh", quantity=Decimal("1"), unit_price=Decimal("1250.00"), amount=Decimal("1250.00")
        )
    ]
    assert invoice.balance == usd("1250.00") and invoice.status == InvoiceStatus.OPEN


def test_create_invoice_is_idempotent_and_validates(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    line = InvoiceLine(description="Work", quantity=Decimal("2"), unit_price=Decimal("50.00"), amount=Decimal("100.00"))
    draft = InvoiceDraft(customer_id=customer.id, currency="USD", lines=[line], issue_date=TODAY, due_date=TODAY)
    seq = last_seq(ledger)
    first = ledger.create_invoice(draft, "lifecycle:Q-1:create")
    again = ledger.create_invoice(draft, "lifecycle:Q-1:create")
    assert again == first
    assert len(ledger.list_open_invoices()) == 1
    assert entity_events(ledger, seq) == [("Invoice", first.id, EventOperation.CREATE)]

    wrong = line.model_copy(update={"amount": Decimal("90.00")})
    with pytest.raises(PermanentLedgerError, match=r"amount 90.00 is not quantity 2 x unit price 50.00"):
        ledger.create_invoice(draft.model_copy(update={"lines": [wrong]}), "k2")
    with pytest.raises(PermanentLedgerError, match="before the issue date"):
        ledger.create_invoice(draft.model_copy(update={"due_date": TODAY - timedelta(days=1)}), "k3")
    with pytest.raises(PermanentLedgerError, match="already used"):
        ledger.create_invoice(draft.model_copy(update={"number": first.number}), "k4")
    with pytest.raises(NotFound, match="customer 'C-9999' not found"):
        ledger.create_invoice(draft.model_copy(update={"customer_id": "C-9999"}), "k5")
    assert len(ledger.list_open_invoices()) == 1


def test_create_invoice_from_an_estimate_closes_it(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    estimate = ledger.add_estimate(customer.id, Decimal("800.00"), issue_date=TODAY)
    assert ledger.get_estimate(estimate.id).status == EstimateStatus.PENDING
    ledger.set_estimate_status(estimate.id, EstimateStatus.ACCEPTED)
    draft = InvoiceDraft(
        customer_id=customer.id,
        currency="USD",
        lines=estimate.lines,
        issue_date=TODAY,
        due_date=TODAY + timedelta(days=30),
        estimate_id=estimate.id,
    )
    invoice = ledger.create_invoice(draft, "estimate:E:invoice")
    assert invoice.total == usd("800.00")
    assert ledger.get_estimate(estimate.id).status == EstimateStatus.CLOSED
    assert ("Estimate", estimate.id, EventOperation.UPDATE) in entity_events(ledger)


def test_pay_partially_then_fully(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("1000.00"), due_date=TODAY)

    partial = ledger.pay(invoice.id, Decimal("400.10"), on=TODAY, reference="ACH 1")
    after = ledger.get_invoice(invoice.id)
    assert after.balance == usd("599.90") and after.status == InvoiceStatus.PARTIALLY_PAID
    assert partial.allocations == [Allocation(invoice_id=invoice.id, amount=usd("400.10"))]
    assert partial.unapplied == usd("0") and partial.customer_id == customer.id

    rest = ledger.pay(invoice.id, on=TODAY + timedelta(days=3))
    settled = ledger.get_invoice(invoice.id)
    assert rest.amount == usd("599.90")
    assert settled.balance == usd("0.00") and settled.status == InvoiceStatus.PAID and settled.is_settled
    assert ledger.list_open_invoices() == []
    assert [p.id for p in ledger.list_payments(invoice.id)] == [partial.id, rest.id]


def test_overpaying_is_rejected_naming_the_balance(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("100.00"), due_date=TODAY)
    seq = last_seq(ledger)
    with pytest.raises(
        PermanentLedgerError, match=r"cannot pay USD 100.01 on invoice INV-1001 .*balance is USD 100.00"
    ):
        ledger.pay(invoice.id, Decimal("100.01"), on=TODAY)
    with pytest.raises(PermanentLedgerError, match="must be positive"):
        ledger.pay(invoice.id, Decimal("0"), on=TODAY)
    with pytest.raises(PermanentLedgerError, match="more than two decimal places"):
        ledger.pay(invoice.id, Decimal("10.001"), on=TODAY)
    with pytest.raises(PermanentLedgerError, match="is not a number"):
        ledger.pay(invoice.id, "ten", on=TODAY)  # type: ignore[arg-type]
    ledger.pay(invoice.id, on=TODAY)
    with pytest.raises(PermanentLedgerError, match=r"nothing left to pay: its balance is USD 0\.00"):
        ledger.pay(invoice.id, on=TODAY)
    with pytest.raises(NotFound, match="invoice 'I-404' not found"):
        ledger.pay("I-404", on=TODAY)
    assert len(ledger.list_payments()) == 1
    assert [entity for entity, _, _ in entity_events(ledger, seq)] == ["Payment", "Invoice"]


def test_record_payment_is_idempotent(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("500.00"), due_date=TODAY)
    request = PaymentRequest(
        customer_id=customer.id,
        date=TODAY,
        amount=usd("500.00"),
        allocations=[Allocation(invoice_id=invoice.id, amount=usd("500.00"))],
        reference="INV-1001",
    )
    seq = last_seq(ledger)
    first = ledger.record_payment(request, "cash:B-1:apply")
    second = ledger.record_payment(request, "cash:B-1:apply")
    assert second == first
    assert len(ledger.list_payments()) == 1
    assert entity_events(ledger, seq) == [
        ("Payment", first.id, EventOperation.CREATE),
        ("Invoice", invoice.id, EventOperation.UPDATE),
    ]
    assert ledger.get_invoice(invoice.id).status == InvoiceStatus.PAID


def test_record_payment_across_two_invoices_leaves_the_rest_unapplied(ledger: SandboxLedger) -> None:
    acme = ledger.add_customer("Acme")
    sister = ledger.add_customer("Acme Holdings")
    one = ledger.add_invoice(acme.id, Decimal("300.00"), due_date=TODAY)
    two = ledger.add_invoice(sister.id, Decimal("250.50"), due_date=TODAY)
    line = ledger.receive(Decimal("600.00"), "ACME CORP", on=TODAY, reference="INV-1001 INV-1002")
    assert line.status == BankLineStatus.UNMATCHED and line.amount == usd("600.00")
    seq = last_seq(ledger)

    payment = ledger.record_payment(
        PaymentRequest(
            customer_id=acme.id,
            date=TODAY,
            amount=usd("600.00"),
            allocations=[
                Allocation(invoice_id=one.id, amount=usd("300.00")),
                Allocation(invoice_id=two.id, amount=usd("200.00")),
            ],
            reference=line.reference,
            bank_line_id=line.id,
        ),
        "cash:B-4001:apply",
    )
    assert payment.unapplied == usd("100.00")
    assert [(a.invoice_id, a.amount) for a in payment.allocations] == [(one.id, usd("300.00")), (two.id, usd("200.00"))]
    assert ledger.get_invoice(one.id).status == InvoiceStatus.PAID
    assert ledger.get_invoice(two.id).balance == usd("50.50")
    assert ledger.get_invoice(two.id).status == InvoiceStatus.PARTIALLY_PAID
    assert ledger.get_bank_line(line.id).status == BankLineStatus.MATCHED
    assert ledger.list_bank_lines(BankLineStatus.UNMATCHED) == []
    assert entity_events(ledger, seq) == [
        ("Payment", payment.id, EventOperation.CREATE),
        ("Invoice", one.id, EventOperation.UPDATE),
        ("Invoice", two.id, EventOperation.UPDATE),
        ("BankLine", line.id, EventOperation.UPDATE),
    ]
    assert ledger.list_payments(two.id) == [payment]


def test_record_payment_rejects_bad_requests_and_writes_nothing(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("100.00"), due_date=TODAY)
    euro = ledger.add_invoice(customer.id, Decimal("100.00"), due_date=TODAY, currency="EUR")
    line = ledger.receive(Decimal("50.00"), "ACME", on=TODAY)
    seq = last_seq(ledger)

    def request(amount: str, *allocations: tuple[str, str], bank_line_id: str | None = None) -> PaymentRequest:
        return PaymentRequest(
            customer_id=customer.id,
            date=TODAY,
            amount=usd(amount),
            allocations=[Allocation(invoice_id=i, amount=usd(a)) for i, a in allocations],
            bank_line_id=bank_line_id,
        )

    cases: list[tuple[PaymentRequest, type[Exception], str]] = [
        (
            request("120.00", (invoice.id, "60.00"), (invoice.id, "60.00")),
            PermanentLedgerError,
            "exceeds its balance USD 100.00",
        ),
        (
            request("50.00", (invoice.id, "60.00")),
            PermanentLedgerError,
            "allocations total USD 60.00 exceeds the payment USD 50.00",
        ),
        (request("50.00", (euro.id, "50.00")), PermanentLedgerError, "is in EUR, the payment in USD"),
        (request("50.00", ("I-404", "50.00")), NotFound, "invoice 'I-404' not found"),
        (request("0.00"), PermanentLedgerError, "must be positive"),
        (
            request("60.00", (invoice.id, "60.00"), bank_line_id=line.id),
            PermanentLedgerError,
            "exceeds the deposit USD 50.00",
        ),
        (request("10.00", bank_line_id="B-404"), NotFound, "bank line 'B-404' not found"),
    ]
    for bad, error, message in cases:
        with pytest.raises(error, match=message):
            ledger.record_payment(bad, f"key-{message}")
    with pytest.raises(PermanentLedgerError, match="idempotency key"):
        ledger.record_payment(request("10.00", (invoice.id, "10.00")), "")

    assert ledger.get_invoice(invoice.id).balance == usd("100.00")
    assert ledger.list_payments() == [] and ledger.get_bank_line(line.id).status == BankLineStatus.UNMATCHED
    assert ledger.events(seq) == []

    ledger.record_payment(request("50.00", (invoice.id, "50.00"), bank_line_id=line.id), "ok")
    with pytest.raises(PermanentLedgerError, match=r"bank line B-4001 is already matched to payment P-3001"):
        ledger.record_payment(request("50.00", (invoice.id, "50.00"), bank_line_id=line.id), "again")


def test_void_invoice(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("100.00"), due_date=TODAY)
    paid = ledger.add_invoice(customer.id, Decimal("100.00"), due_date=TODAY)
    ledger.pay(paid.id, Decimal("10.00"), on=TODAY)
    seq = last_seq(ledger)

    voided = ledger.void_invoice(invoice.id, "void:I-2001")
    assert voided.status == InvoiceStatus.VOID and voided.is_settled
    assert ledger.void_invoice(invoice.id, "void:I-2001") == voided
    assert entity_events(ledger, seq) == [("Invoice", invoice.id, EventOperation.VOID)]
    with pytest.raises(PermanentLedgerError, match=r"INV-1002 \(I-2002\) has payments applied \(P-3001\)"):
        ledger.void_invoice(paid.id, "void:I-2002")
    with pytest.raises(PermanentLedgerError, match="is void"):
        ledger.pay(invoice.id, Decimal("1.00"), on=TODAY)
    assert [i.id for i in ledger.list_open_invoices()] == [paid.id]


def test_customers_and_bank_lines(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer(
        "O'Brien Plumbing",
        email="ap@obrien.example",
        terms_days=15,
        time_zone="Europe/Dublin",
        country="ie",
        alternate_emails=["billing@obrien.example"],
        dunning_profile="gentle",
        habit="late",
    )
    assert customer.country == "IE" and customer.alternate_emails == ["billing@obrien.example"]
    assert ledger.customer_habit(customer.id) == "late"
    seq = last_seq(ledger)
    updated = ledger.set_customer_email(customer.id, "accounts@obrien.example")
    assert updated.email == "accounts@obrien.example" == ledger.get_customer(customer.id).email
    assert entity_events(ledger, seq) == [("Customer", customer.id, EventOperation.UPDATE)]
    with pytest.raises(PermanentLedgerError, match="not an email address"):
        ledger.set_customer_email(customer.id, "nobody")
    with pytest.raises(PermanentLedgerError, match="unknown time zone"):
        ledger.add_customer("X", time_zone="Mars/Olympus")
    with pytest.raises(PermanentLedgerError, match="needs a name"):
        ledger.add_customer("  ")
    with pytest.raises(NotFound, match="customer 'C-1' not found"):
        ledger.get_customer("C-1")

    line = ledger.receive(Decimal("99.95"), "J SMITH", on=TODAY, reference="memo", currency="gbp")
    assert line.amount == Money.of("99.95", "GBP") and line.id == "B-4001"
    assert ledger.list_bank_lines() == [line] == ledger.list_bank_lines(BankLineStatus.UNMATCHED)
    with pytest.raises(NotFound, match="bank line"):
        ledger.get_bank_line("B-1")
    with pytest.raises(NotFound, match="estimate"):
        ledger.get_estimate("E-1")


def test_notes_are_idempotent(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("10.00"), due_date=TODAY)
    seq = last_seq(ledger)
    ledger.add_note("Invoice", invoice.id, "Reminder 1 sent (approved by ana@example.com)", "audit:1")
    ledger.add_note("Invoice", invoice.id, "Reminder 1 sent (approved by ana@example.com)", "audit:1")
    ledger.add_note("Invoice", invoice.id, "Reminder 2 sent", "audit:2")
    assert ledger.notes("Invoice", invoice.id) == ["Reminder 1 sent (approved by ana@example.com)", "Reminder 2 sent"]
    assert ledger.events(seq) == []  # notes are not changes a webhook announces
    with pytest.raises(NotFound, match="Invoice 'I-404' not found"):
        ledger.add_note("Invoice", "I-404", "x", "audit:3")
    with pytest.raises(PermanentLedgerError, match="cannot add a note to 'Planet'"):
        ledger.add_note("Planet", "x", "x", "audit:4")


# --- the outbox -------------------------------------------------------------------------------------


def test_each_write_announces_itself_in_order(ledger: SandboxLedger, clock: Clock) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("10.00"), due_date=TODAY)
    assert entity_events(ledger) == [
        ("Customer", customer.id, EventOperation.CREATE),
        ("Invoice", invoice.id, EventOperation.CREATE),
    ]
    seq = last_seq(ledger)
    payment = ledger.pay(invoice.id, on=TODAY)
    assert entity_events(ledger, seq) == [
        ("Payment", payment.id, EventOperation.CREATE),
        ("Invoice", invoice.id, EventOperation.UPDATE),
    ]
    events = [event for _, event in ledger.events()]
    assert all(e.ledger == "sandbox" and e.tenant == "demo" and e.occurred_at == clock.now for e in events)
    assert len({e.event_id for e in events}) == len(events) == 4
    assert [seq for seq, _ in ledger.events()] == sorted(seq for seq, _ in ledger.events())


def test_pending_events_delivered_and_failed(ledger: SandboxLedger, clock: Clock) -> None:
    customer = ledger.add_customer("Acme")
    for _ in range(3):
        ledger.add_invoice(customer.id, Decimal("10.00"), due_date=TODAY)
    pending = ledger.pending_events(limit=2)
    assert [seq for seq, _ in pending] == [1, 2]
    ledger.mark_delivered([1])
    ledger.mark_failed([2, 3], "HTTP 503", clock.now + timedelta(seconds=5))
    assert [seq for seq, _ in ledger.pending_events()] == [4]
    assert [seq for seq, _ in ledger.pending_events(now=clock.now + timedelta(seconds=5))] == [2, 3, 4]
    ledger.mark_delivered([2, 3, 4])
    assert ledger.pending_events(now=clock.now + timedelta(days=1)) == []
    assert [seq for seq, _ in ledger.events(since_seq=2)] == [3, 4]  # the backstop still sees everything


# --- webhooks ---------------------------------------------------------------------------------------


def sample_events(count: int = 2) -> list[LedgerEvent]:
    return [
        LedgerEvent(
            ledger="sandbox",
            tenant="demo",
            event_id=f"{n:032x}",
            entity="Invoice",
            entity_id=f"I-{2000 + n}",
            operation=EventOperation.UPDATE,
            occurred_at=datetime(2025, 3, 14, 9, n, tzinfo=UTC),
        )
        for n in range(1, count + 1)
    ]


def test_signatures() -> None:
    body = event_body(sample_events())
    signature = sign("s3cret", body)
    assert verify("s3cret", body, signature)
    assert not verify("s3cret", body.replace(b"I-2001", b"I-2999"), signature)  # tampered body
    assert not verify("other", body, signature)
    assert not verify("s3cret", body, None) and not verify("s3cret", body, "")
    assert not verify("s3cret", body, "ünïcode")
    # The QuickBooks scheme: base64 of the raw HMAC-SHA256 digest.
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="


def test_body_round_trips() -> None:
    events = sample_events(3)
    assert parse_body(event_body(events)) == events
    assert json.loads(event_body(events))["events"][0]["operation"] == "update"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"", "empty"),
        (b"[]", 'JSON object with an "events" list'),
        (b'{"event": []}', 'JSON object with an "events" list'),
        (b'{"events": {}}', '"events" must be a list'),
        (b'{"events": [1]}', r"events\[0\] is not a ledger event"),
        (b'{"events": [{"ledger": "sandbox"}]}', r"events\[0\] is not a ledger event: tenant: Field required"),
    ],
)
def test_malformed_bodies_are_refused_clearly(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_body(body)


def test_malformed_field_names_the_field() -> None:
    bad = json.loads(event_body(sample_events(2)))
    bad["events"][1]["operation"] = "explode"
    with pytest.raises(ValueError, match=r"events\[1\] is not a ledger event: operation: Input should be"):
        parse_body(json.dumps(bad).encode())


def test_retry_schedule() -> None:
    assert [retry_delay(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


class Receiver:
    """A webhook endpoint on 127.0.0.1: answers with the scripted statuses, then 200."""

    def __init__(self, secret: str, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status == 200 and not verify(receiver.secret, body, self.headers.get(SIGNATURE_HEADER)):
                        status = 401
                    receiver.requests.append((status, {k.lower(): v for k, v in self.headers.items()}, body))
                payload = b'{"error": "boom"}' if status >= 400 else b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/sandbox"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[LedgerEvent]:
        with self.lock:
            return [event for status, _, body in self.requests if status == 200 for event in parse_body(body)]


async def test_dispatcher_retries_after_a_500_without_losing_or_duplicating(
    ledger: SandboxLedger, clock: Clock
) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("10.00"), due_date=TODAY)
    ledger.pay(invoice.id, on=TODAY)
    everything = [event for _, event in ledger.events()]

    with Receiver("s3cret", statuses=[500]) as receiver:
        dispatcher = WebhookDispatcher(ledger, receiver.url, "s3cret", batch_size=3)
        assert await dispatcher.deliver_once() == 0  # 500: kept for later
        assert await dispatcher.deliver_once() == 1  # the next batch goes on meanwhile
        assert await dispatcher.deliver_once() == 0  # the failed one is not due yet: nothing sent
        assert len(receiver.requests) == 2
        clock.advance(0.5)
        assert await dispatcher.deliver_once() == 3
        assert await dispatcher.deliver_once() == 0

    statuses = [status for status, _, _ in receiver.requests]
    assert statuses == [500, 200, 200]
    first, retried = receiver.requests[0][2], receiver.requests[2][2]
    assert first == retried  # the same events, re-sent
    for _, headers, body in receiver.requests:
        assert verify("s3cret", body, headers[SIGNATURE_HEADER])
        assert headers["content-type"] == "application/json"
    accepted = receiver.accepted()
    # Each exactly once; like a real ledger's, delivery order is not the order of the changes.
    assert sorted(accepted, key=lambda e: e.event_id) == sorted(everything, key=lambda e: e.event_id)
    assert accepted == [everything[3], *everything[:3]]
    assert ledger.pending_events(now=clock.now + timedelta(days=1)) == []


async def test_dispatcher_backs_off_while_the_receiver_is_down(ledger: SandboxLedger, clock: Clock) -> None:
    ledger.add_customer("Acme")
    with Receiver("s3cret") as receiver:
        closed_url = receiver.url
    dispatcher = WebhookDispatcher(ledger, closed_url, "s3cret")
    for expected_wait in (0.5, 1.0, 2.0):
        assert await dispatcher.deliver_once() == 0
        clock.advance(expected_wait - 0.01)
        assert ledger.pending_events() == []
        clock.advance(0.01)
        assert len(ledger.pending_events()) == 1


async def test_dispatcher_run_delivers_everything_signed(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "live.db")
    customer = ledger.add_customer("Acme")
    with Receiver("s3cret", statuses=[500, 503]) as receiver:
        stop = asyncio.Event()
        dispatcher = WebhookDispatcher(ledger, receiver.url, "s3cret", batch_size=4, poll_interval=0.05)
        task = asyncio.create_task(dispatcher.run(stop))
        for n in range(10):
            ledger.add_invoice(customer.id, Decimal(f"{n + 1}.25"), due_date=TODAY)
        for _ in range(200):
            if not ledger.pending_events(now=datetime.now(UTC) + timedelta(days=1)):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    accepted = receiver.accepted()
    assert sorted(e.event_id for e in accepted) == sorted(e.event_id for _, e in ledger.events())
    assert len(accepted) == 11 == len({e.event_id for e in accepted})
    assert [status for status, _, _ in receiver.requests][:2] == [500, 503]


# --- the demo company ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxLedger, dict[str, object]]:
    ledger = SandboxLedger(tmp_path_factory.mktemp("seed") / "demo.db")
    return ledger, seed_demo_company(ledger, TODAY)


def test_seed_covers_every_aging_bucket(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, summary = seeded
    assert summary["company"] == COMPANY_NAME == "Northwind Studio"
    assert summary["seeded"] is True
    by_bucket = summary["by_bucket"]
    assert isinstance(by_bucket, dict) and list(by_bucket) == list(BUCKETS)
    assert all(by_bucket[bucket] >= 2 for bucket in BUCKETS), by_bucket
    assert 30 <= summary["customers"] <= 40  # type: ignore[operator]
    assert 80 <= summary["invoices"] <= 120  # type: ignore[operator]

    invoices = ledger.list_invoices()
    open_invoices = ledger.list_open_invoices()
    assert summary["open_invoices"] == len(open_invoices) == sum(by_bucket.values())
    assert {aging_bucket(i.due_date, TODAY) for i in open_invoices} == set(BUCKETS)
    statuses = {i.status for i in invoices}
    assert {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID} <= statuses
    for invoice in invoices:
        assert invoice.total.amount == sum(line.amount for line in invoice.lines)
        assert invoice.total.amount == invoice.total.amount.quantize(Decimal("0.01"))
        paid = sum(
            (
                a.amount.amount
                for p in ledger.list_payments(invoice.id)
                for a in p.allocations
                if a.invoice_id == invoice.id
            ),
            Decimal("0"),
        )
        assert invoice.balance.amount == invoice.total.amount - paid
        assert all(p.date <= TODAY for p in ledger.list_payments(invoice.id))
    assert any(i.total.amount % 1 != 0 for i in invoices)  # cents, not round dollars only


def test_seed_customers_behave(seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    ledger, summary = seeded
    customers = ledger.list_customers()
    assert {ledger.customer_habit(c.id) for c in customers} == set(HABITS)
    names = {c.name for c in customers}
    assert {"Acme Corporation Inc", "Müller & Söhne GmbH", "O'Brien Plumbing", "Bluebird Cafe LLC"} <= names
    assert {c.country for c in customers} >= {"US", "GB", "DE", "AU", "JP"}
    assert {c.terms_days for c in customers} <= {15, 30, 45, 60}
    assert all(c.email and c.email.startswith("ap@") and c.email.endswith(".example") for c in customers)
    assert ledger.get_customer("C-1003").email == "ap@muller-sohne.example"
    disputed = [i for i in ledger.list_open_invoices() if ledger.notes("Invoice", i.id)]
    assert disputed and all(
        "disputes" in ledger.notes("Invoice", i.id)[0] or "discount" in ledger.notes("Invoice", i.id)[0]
        for i in disputed
    )
    lines = ledger.list_bank_lines(BankLineStatus.UNMATCHED)
    assert len(lines) == summary["bank_lines"] == 5
    assert len(ledger.list_estimates(EstimateStatus.PENDING)) == summary["estimates"] == 3
    # A deposit naming an open invoice's number matches that invoice's balance.
    numbered = [line for line in lines if line.reference.startswith("ACH CREDIT ")]
    number = numbered[0].reference.removeprefix("ACH CREDIT ")
    target = next(i for i in ledger.list_open_invoices() if i.number == number)
    assert target.balance == numbered[0].amount


def test_seed_is_deterministic_and_runs_once(tmp_path: Path, seeded: tuple[SandboxLedger, dict[str, object]]) -> None:
    reference, summary = seeded
    again = SandboxLedger(tmp_path / "again.db")
    assert seed_demo_company(again, TODAY) == summary

    def books(ledger: SandboxLedger) -> list[object]:
        return [
            *(c.model_dump() for c in ledger.list_customers()),
            *(i.model_dump(exclude={"updated_at"}) for i in ledger.list_invoices()),
            *(p.model_dump() for p in ledger.list_payments()),
            *(b.model_dump() for b in ledger.list_bank_lines()),
        ]

    assert books(again) == books(reference)
    rerun = seed_demo_company(again, TODAY)
    assert rerun["seeded"] is False and rerun["invoices"] == summary["invoices"]

    other = SandboxLedger(tmp_path / "other.db")
    seed_demo_company(other, TODAY, seed=8)
    assert books(other) != books(reference)


# --- several writers at once ---------------------------------------------------------------------------


def test_concurrent_writers_do_not_lock_each_other_out(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    setup = SandboxLedger(path)
    customer = setup.add_customer("Acme")
    errors: list[BaseException] = []
    rounds = 25

    def write() -> None:
        ledger = SandboxLedger(path)  # an engine of its own: like another process
        try:
            for _ in range(rounds):
                invoice = ledger.add_invoice(customer.id, Decimal("10.00"), due_date=TODAY)
                ledger.pay(invoice.id, Decimal("4.00"), on=TODAY)
                ledger.list_open_invoices()
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        ledger = SandboxLedger(path)
        try:
            for _ in range(rounds * 2):
                ledger.pending_events()
                ledger.mark_delivered([seq for seq, _ in ledger.pending_events(limit=5)])
        except BaseException as error:
            errors.append(error)

    # A real second process writes at the same time as the threads.
    script = (
        "import sys; from datetime import date; from decimal import Decimal;"
        "from adapters.ledgers.sandbox import SandboxLedger;"
        "ledger = SandboxLedger(sys.argv[1]);"
        f"[ledger.add_invoice('{customer.id}', Decimal('1.00'), due_date=date(2025, 3, 14)) for _ in range({rounds})]"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT, stderr=subprocess.PIPE)
    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, stderr = process.communicate(timeout=60)

    assert errors == []
    assert process.returncode == 0, stderr.decode()
    invoices = setup.list_invoices()
    assert len(invoices) == 3 * rounds + rounds
    assert len({i.number for i in invoices}) == len(invoices)
    assert len(setup.list_payments()) == 3 * rounds
    assert len(setup.events()) == 1 + len(invoices) + 2 * 3 * rounds
