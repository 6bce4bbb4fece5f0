"""The sandbox ledger against a real SQLite file: the port, the commands, the outbox, several writers."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledger import (
    AgingRow,
    Allocation,
    BankLineStatus,
    EstimateStatus,
    EventOperation,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    LedgerPort,
    Money,
    NotFound,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.sandbox import SandboxLedger

from .conftest import TODAY, Clock

ROOT = Path(__file__).resolve().parents[4]

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
    with pytest.raises(PermanentLedgerError, match=r"payment amount 10\.001 has more decimal places than USD has"):
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


def test_amounts_are_whole_minor_units_of_their_currency(ledger: SandboxLedger) -> None:
    yen = ledger.add_customer("Sakura Design KK", currency="JPY")
    dinar = ledger.add_customer("Gulf Traders", currency="KWD")
    with pytest.raises(PermanentLedgerError, match=r"invoice amount 1200\.50 has more decimal places than JPY has"):
        ledger.add_invoice(yen.id, Decimal("1200.50"), due_date=TODAY)
    assert ledger.add_invoice(yen.id, Decimal("1200"), due_date=TODAY).total == Money.of("1200", "JPY")
    invoice = ledger.add_invoice(dinar.id, Decimal("12.345"), due_date=TODAY)
    assert invoice.total == Money.of("12.345", "KWD")
    with pytest.raises(PermanentLedgerError, match=r"deposit amount 5\.5 has more decimal places than JPY has"):
        ledger.receive(Decimal("5.5"), "SAKURA", on=TODAY, currency="JPY")
    with pytest.raises(PermanentLedgerError, match=r"credit limit 10\.001 has more decimal places than USD has"):
        ledger.add_customer("Acme", credit_limit=Decimal("10.001"))


def test_aging_report_puts_each_open_balance_in_its_bucket(ledger: SandboxLedger) -> None:
    acme = ledger.add_customer("Acme")
    bluebird = ledger.add_customer("Bluebird")
    for days_late, amount in ((0, "10.00"), (1, "20.00"), (30, "30.00"), (31, "40.00"), (61, "50.00"), (91, "60.00")):
        ledger.add_invoice(acme.id, Decimal(amount), due_date=TODAY - timedelta(days=days_late))
    partly = ledger.add_invoice(bluebird.id, Decimal("100.00"), due_date=TODAY - timedelta(days=45))
    ledger.pay(partly.id, Decimal("25.00"), on=TODAY)
    ledger.pay(ledger.add_invoice(bluebird.id, Decimal("5.00"), due_date=TODAY).id, on=TODAY)  # settled: not aged
    ledger.add_invoice(bluebird.id, Decimal("7.00"), due_date=TODAY + timedelta(days=40),
                       issue_date=TODAY + timedelta(days=10))  # issued after the report date

    assert ledger.aging_report(TODAY) == [
        AgingRow(customer_id=acme.id, customer_name="Acme", currency="USD", current=Decimal("10.00"),
                 days_1_30=Decimal("50.00"), days_31_60=Decimal("40.00"), days_61_90=Decimal("50.00"),
                 days_91_plus=Decimal("60.00")),
        AgingRow(customer_id=bluebird.id, customer_name="Bluebird", currency="USD", days_31_60=Decimal("75.00")),
    ]


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


def test_a_draft_is_listed_as_open_work_but_is_not_due_until_it_is_posted(ledger: SandboxLedger) -> None:
    customer = ledger.add_customer("Draftwell Ltd", email="ap@draftwell.example")
    draft = ledger.add_invoice(customer.id, Decimal("700.00"), due_date=date(2026, 3, 1), as_draft=True)
    assert draft.status == InvoiceStatus.DRAFT
    # A backfill sees it (its lifecycle waits for posting); aging and payments do not.
    assert [(i.id, i.status) for i in ledger.list_open_invoices()] == [(draft.id, InvoiceStatus.DRAFT)]
    assert ledger.aging_report(date(2026, 4, 1)) == []
    with pytest.raises(PermanentLedgerError, match="draft: post it before paying it"):
        ledger.pay(draft.id, on=date(2026, 3, 2))
    before = last_seq(ledger)

    posted = ledger.post_invoice(draft.id)
    assert posted.status == InvoiceStatus.OPEN and posted.balance == usd("700.00")
    assert entity_events(ledger, since=before) == [("Invoice", draft.id, EventOperation.UPDATE)]
    assert [row.customer_id for row in ledger.aging_report(date(2026, 4, 1))] == [customer.id]
    with pytest.raises(PermanentLedgerError, match="is not a draft"):
        ledger.post_invoice(draft.id)
