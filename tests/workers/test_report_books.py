"""What the reports read: a ledger's books through its port, and the lifecycles (a fake Temporal client that
answers like visibility and the status query do)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from adapters.ledger import Invoice
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import AuditRecord, Store
from workers.report_books import books_from_ledger, lifecycle_facts, read_lifecycles
from workflows.lifecycle_messages import LifecycleState, Stage

TODAY = date(2025, 7, 15)


def small_ledger(tmp_path: Path) -> tuple[SandboxLedger, dict[str, str]]:
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    acme = ledger.add_customer("Acme")
    paid = ledger.add_invoice(acme.id, Decimal("100.00"), issue_date=date(2025, 5, 1), due_date=date(2025, 5, 31))
    open_ = ledger.add_invoice(acme.id, Decimal("40.00"), issue_date=date(2025, 6, 1), due_date=date(2025, 6, 30))
    draft = ledger.add_invoice(acme.id, Decimal("70.00"), issue_date=date(2025, 6, 2), due_date=date(2025, 7, 2),
                               as_draft=True)
    void = ledger.add_invoice(acme.id, Decimal("80.00"), issue_date=date(2025, 6, 3), due_date=date(2025, 7, 3))
    ledger.void_invoice(void.id, "void-1")
    ledger.pay(paid.id, Decimal("60.00"), on=date(2025, 6, 10))
    ledger.pay(paid.id, on=date(2025, 7, 1))
    return ledger, {"paid": paid.id, "open": open_.id, "draft": draft.id, "void": void.id}


def test_books_hold_posted_invoices_and_every_payment(tmp_path: Path) -> None:
    ledger, ids = small_ledger(tmp_path)
    books = books_from_ledger(ledger, TODAY)
    assert sorted(i.invoice_id for i in books.invoices) == sorted([ids["paid"], ids["open"]])  # no draft, no void
    assert books.balances_on == TODAY
    assert [(p.invoice_id, p.date, p.amount) for p in books.payments_of(ids["paid"])] == [
        (ids["paid"], date(2025, 6, 10), Decimal("60.00")), (ids["paid"], date(2025, 7, 1), Decimal("40.00"))]
    on_june_30 = {i.invoice_id: i.balance for i in books.on(date(2025, 6, 30)).invoices}
    assert on_june_30 == {ids["paid"]: Decimal("40.00"), ids["open"]: Decimal("40.00")}


class OpenOnlyPort:
    """A ledger whose port lists only open invoices (as QuickBooks' and Xero's adapters do)."""

    def __init__(self, inner: SandboxLedger) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "list_invoices":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        return self.inner.list_open_invoices(customer_id)


def test_a_port_listing_only_open_invoices_gives_the_paid_ones_through_their_payments(tmp_path: Path) -> None:
    ledger, ids = small_ledger(tmp_path)
    port: Any = OpenOnlyPort(ledger)
    books = books_from_ledger(port, TODAY)
    assert sorted(i.invoice_id for i in books.invoices) == sorted([ids["paid"], ids["open"]])


def execution(workflow_id: str, **attributes: Any) -> Any:
    pairs = [SimpleNamespace(key=SimpleNamespace(name=k), value=v) for k, v in attributes.items()]
    return SimpleNamespace(id=workflow_id, typed_search_attributes=pairs)


class FakeTemporal:
    """Visibility lists the running lifecycles; the status query answers for the ones asked."""

    def __init__(self, executions: list[Any], states: dict[str, LifecycleState]) -> None:
        self.executions, self.states = executions, states
        self.queried: list[str] = []
        self.queries: list[str] = []

    async def list_workflows(self, query: str) -> AsyncIterator[Any]:
        self.queries.append(query)
        for item in self.executions:
            yield item

    def get_workflow_handle(self, workflow_id: str) -> Any:
        async def query(_method: Any, rpc_timeout: Any = None) -> LifecycleState:
            self.queried.append(workflow_id)
            return self.states[workflow_id]

        return SimpleNamespace(query=query)


def test_lifecycles_give_stage_owner_promise_and_dispute_age(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.record_audit(AuditRecord(idempotency_key="d1", workflow_id="invoice:sandbox:demo:I-2",
                                   invoice_id="I-2", action="dispute opened", result="damaged"))
    client = FakeTemporal(
        [execution("invoice:sandbox:demo:I-1", InvoiceId="I-1", Stage="dunning", Collector="ann@example.com"),
         execution("invoice:sandbox:demo:I-2", InvoiceId="I-2", Stage="paused"),
         execution("invoice:sandbox:other:I-3", InvoiceId="I-3", Stage="dunning")],  # another company
        {"invoice:sandbox:demo:I-2": LifecycleState(stage=Stage.PAUSED, dispute="damaged (opened by bo)",
                                                     promise_until=date(2025, 7, 20), assigned_to="bo@example.com",
                                                     broken_promises=[date(2025, 7, 1)])})
    facts = asyncio.run(lifecycle_facts(client, "sandbox", "demo", store))  # type: ignore[arg-type]
    assert sorted(facts) == ["I-1", "I-2"]
    assert "Ledger = 'sandbox'" in client.queries[0] and "ExecutionStatus = 'Running'" in client.queries[0]
    assert client.queried == ["invoice:sandbox:demo:I-2"]  # only the one a person holds is asked for details
    assert (facts["I-1"].stage, facts["I-1"].owner, facts["I-1"].dispute) == ("dunning", "ann@example.com", None)
    held = facts["I-2"]
    assert (held.stage, held.owner, held.promise_until, held.broken_promises) == (
        "paused", "bo@example.com", date(2025, 7, 20), 1)
    assert held.dispute == "damaged (opened by bo)" and held.dispute_opened == datetime.now(UTC).date()


def test_an_unreachable_temporal_leaves_the_ledger_figures_and_says_why() -> None:
    async def refuse() -> Any:
        raise RuntimeError("connection refused")

    facts, note = asyncio.run(read_lifecycles(refuse, "sandbox", "demo", None, None))
    assert facts == {} and note == "lifecycles not read (RuntimeError: connection refused)"

