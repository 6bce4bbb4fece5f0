"""CashApplication on the real Temporal dev server, and its match activity alone.

A `CashDesk` is one company's cash desk: the sandbox ledger and the store on SQLite files, the production
worker, and deposits started the way the webhook intake starts them (signal-with-start). The dev server,
not the time-skipping one: clerks decide through the `decide` update, which has gaps on the time-skipping
server (sdk-python #826, #675). The recorder of the committed CashApplication history uses it too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.cash_application import CashActivities, MatchBankLineInput, MatchProgress
from adapters.drafting.template import TemplateDrafter
from adapters.ledger import (
    Allocation,
    BankLine,
    BankLineStatus,
    Invoice,
    LedgerPort,
    Payment,
    PaymentRequest,
)
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_invoice_lifecycle import RecordingMailer
from tests.workflows.test_replay import HISTORIES, load, patches
from workers.intake import LifecycleDefaults, Routed, route_event
from workers.web.decisions import pending_items
from workers.worker import build_worker
from workflows.approvals import Decision, DecisionKind, PendingApproval
from workflows.cash_application import (
    RECHECK_ON_LEDGER_EVENT,
    CashApplication,
    CashApplicationState,
    bank_line_workflow_id,
)
from workflows.lifecycle_messages import LedgerEventSignal

CLERK = "clerk@northwind.example"


@dataclass
class CashDesk:
    """A sandbox ledger and a store in one directory, served by the production worker on `env`."""

    env: WorkflowEnvironment
    ledger: SandboxLedger
    store: Store
    task_queue: str = field(default_factory=lambda: f"cash-{uuid.uuid4().hex[:8]}")

    @property
    def defaults(self) -> LifecycleDefaults:
        return LifecycleDefaults(task_queue=self.task_queue, company_name="Northwind Studio")

    @classmethod
    def in_directory(cls, env: WorkflowEnvironment, directory: Path) -> CashDesk:
        return cls(env=env, ledger=SandboxLedger(directory / "sandbox.db", tenant="demo"),
                   store=Store(f"sqlite:///{directory / 'store.db'}"))

    def worker(self, ledger: LedgerPort | None = None, store: Any = None) -> Worker:
        return build_worker(self.env.client, task_queue=self.task_queue,
                            ledgers={"sandbox/demo": ledger or self.ledger}, store=store or self.store,
                            mailer=RecordingMailer(), drafter=TemplateDrafter(), sender="ar@test",
                            defaults=self.defaults, strict_sandbox=True)

    def receive(self, amount: str, payer: str, reference: str = "") -> BankLine:
        return self.ledger.receive(Decimal(amount), payer, on=date.today(), reference=reference)

    async def announce(self, entity: str | None = None) -> list[Routed]:
        """Deliver the ledger's pending events (of one entity, when given) through the webhook intake, as
        the dispatcher does: a new bank line signal-with-starts its CashApplication, a new invoice its
        lifecycle. The others stay undelivered."""
        routed = []
        for seq, event in self.ledger.pending_events():
            if entity is None or event.entity == entity:
                routed.append(await route_event(self.env.client, event, self.defaults))
                self.ledger.mark_delivered([seq])
        return routed

    async def forward_bank_line_events(self, handle: WorkflowHandle[Any, Any]) -> None:
        """The ledger's pending bank-line events (a line matched there by hand), through the webhook intake:
        it signals the deposit's running workflow and starts nothing."""
        for routed in await self.announce("BankLine"):
            assert routed.workflow_id == handle.id and routed.outcome == "signalled", routed

    def deposit(self, line: BankLine) -> WorkflowHandle[CashApplication, CashApplicationState]:
        return self.env.client.get_workflow_handle_for(CashApplication.run,
                                                       bank_line_workflow_id("sandbox", "demo", line.id))

    async def pending(self, handle: WorkflowHandle[Any, Any]) -> PendingApproval | None:
        item: PendingApproval | None = await handle.query(CashApplication.pending_approval)
        return item

    async def until_pending(self, handle: WorkflowHandle[Any, Any], timeout: float = 30) -> PendingApproval:
        item = await eventually(lambda: self.pending(handle), timeout, "the deposit awaiting approval")
        assert item is not None
        return item

    def close(self) -> None:
        self.ledger.close()


async def eventually(probe: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """The first truthy answer of the coroutine `probe()`, asked every 0.2 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- the tests ---------------------------------------------------------------------------------------------


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[CashDesk]:
    env = await start_dev_server()
    desk = CashDesk.in_directory(env, tmp_path)
    try:
        yield desk
    finally:
        desk.close()
        await env.shutdown()


def wayne_owes(desk: CashDesk) -> Invoice:
    """Wayne Enterprises, with one open invoice of 410.00."""
    customer = desk.ledger.add_customer("Wayne Enterprises", email="ap@wayne.example")
    return desk.ledger.add_invoice(customer.id, Decimal("410.00"), due_date=date.today() + timedelta(days=15))


@dataclass
class Review:
    invoice: Invoice
    line: BankLine
    handle: WorkflowHandle[CashApplication, CashApplicationState]
    item: PendingApproval


@asynccontextmanager
async def deposit_in_review(desk: CashDesk) -> AsyncIterator[Review]:
    """Wayne Enterprises owes 410.00; a deposit of 405.00 from 'WAYNE ENT' waits for a clerk. Only the
    bank line's event is delivered: the invoice has no lifecycle running."""
    invoice = wayne_owes(desk)
    line = desk.receive("405.00", "WAYNE ENT")
    async with desk.worker():
        await desk.announce(entity="BankLine")
        handle = desk.deposit(line)
        yield Review(invoice, line, handle, await desk.until_pending(handle))


def match_by_hand(desk: CashDesk, line: BankLine, invoice: Invoice) -> Payment:
    """What a clerk does in the ledger itself: the deposit recorded as a payment of the invoice."""
    amount = line.amount
    return desk.ledger.record_payment(PaymentRequest(
        customer_id=invoice.customer_id, date=line.date, amount=amount,
        allocations=[Allocation(invoice_id=invoice.id, amount=amount)], bank_line_id=line.id,
    ), idempotency_key=f"by-hand-in-the-ledger-{line.id}")


async def listed_for_approval(desk: CashDesk, workflow_id: str) -> bool:
    """Whether the approvals API (`GET /api/approvals`) lists this workflow's item."""
    return any(item.workflow_id == workflow_id for item in await pending_items(desk.env.client))


async def test_a_deposit_matched_in_the_ledger_while_awaiting_approval_is_withdrawn(desk: CashDesk) -> None:
    async with deposit_in_review(desk) as review:
        handle, invoice = review.handle, review.invoice
        assert review.item.kind == "payment_match" and review.item.invoice_id == invoice.id
        await eventually(lambda: listed_for_approval(desk, handle.id), what="the item in the approvals API")

        # A clerk matches the line by hand in the ledger; the ledger announces the bank line's change.
        by_hand = match_by_hand(desk, review.line, invoice)
        await desk.forward_bank_line_events(handle)
        state = await handle.result()

        assert state.stage == "withdrawn" and state.pending is None and state.applied is None
        assert f"to payment {by_hand.id}" in state.note and "nothing is applied" in state.note
        assert [p.id for p in desk.ledger.list_payments() if p.amount.amount == Decimal("405.00")] == [by_hand.id]
        assert desk.ledger.get_invoice(invoice.id).balance.amount == Decimal("5.00")
        assert "cash match withdrawn" in [entry.action for entry in desk.store.list_audit(handle.id)]
        await eventually(lambda: _not(listed_for_approval(desk, handle.id)), what="the item gone from the API")


async def test_a_ledger_event_on_a_line_still_unmatched_leaves_the_item_for_the_clerk(desk: CashDesk) -> None:
    """The recheck finds the line unmatched: the clerk's approval then applies it. The invoice's lifecycle
    is not running, so telling it of the payment fails, harmlessly."""
    async with deposit_in_review(desk) as review:
        handle = review.handle
        await handle.signal(CashApplication.ledger_event,
                            LedgerEventSignal(event_id="evt-webhook-retried", entity="BankLine", operation="update"))
        await eventually(lambda: _checked(handle), what="the bank line read again")
        assert await desk.pending(handle) == review.item
        await handle.execute_update(CashApplication.decide, Decision(
            decision=DecisionKind.APPROVE, approver=CLERK, approver_limit=Decimal("50000"),
            item_id=review.item.item_id))
        state = await handle.result()
    assert state.stage == "applied" and state.applied is not None
    assert state.applied.invoice_ids == [review.invoice.id]
    assert desk.ledger.get_bank_line(review.line.id).status == BankLineStatus.MATCHED
    assert desk.store.aliases("sandbox") == {"WAYNE ENT": review.invoice.customer_id}


class ListingThatWaits:
    """The sandbox ledger, whose listing of open invoices is read and then held until the test releases it:
    what the ledger does meanwhile happens while the match runs."""

    def __init__(self, ledger: SandboxLedger) -> None:
        self.sandbox = ledger
        self.listed = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sandbox, name)

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        invoices = self.sandbox.list_open_invoices(customer_id)
        self.listed.set()
        self.release.wait(30)
        return invoices


async def test_a_line_matched_in_the_ledger_while_it_is_being_matched_is_withdrawn_at_once(desk: CashDesk) -> None:
    """The event arrives before anything awaits a clerk: the line is read again as soon as the item would
    wait for one."""
    invoice = wayne_owes(desk)
    line = desk.receive("405.00", "WAYNE ENT")
    ledger = ListingThatWaits(desk.ledger)
    async with desk.worker(ledger=ledger):
        await desk.announce(entity="BankLine")
        handle = desk.deposit(line)
        assert await asyncio.to_thread(ledger.listed.wait, 30)
        match_by_hand(desk, line, invoice)
        await desk.forward_bank_line_events(handle)
        ledger.release.set()
        state = await handle.result()
    assert state.match is not None and state.match.decision == "review"
    assert state.stage == "withdrawn" and state.applied is None


class FlakyStore:
    """The store, whose alias read fails the first time (a database blip right after a long listing)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.alias_reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def aliases(self, ledger: str | None = None) -> dict[str, str]:
        self.alias_reads += 1
        if self.alias_reads == 1:
            raise ConnectionError("the store went away for a moment")
        return self.store.aliases(ledger)


class CountingLedger:
    """The sandbox ledger, counting the reads a match makes."""

    def __init__(self, ledger: SandboxLedger) -> None:
        self.sandbox = ledger
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sandbox, name)

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        self.calls["get_bank_line"] += 1
        return self.sandbox.get_bank_line(bank_line_id)

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        self.calls["list_open_invoices"] += 1
        return self.sandbox.list_open_invoices(customer_id)


async def test_a_match_retried_after_its_listing_resumes_from_the_heartbeat(desk: CashDesk) -> None:
    """Temporal retries the match (the store failed after the listing); the retry lists nothing again."""
    invoice = wayne_owes(desk)
    line = desk.receive("410.00", "WAYNE ENTERPRISES LLC")
    ledger, store = CountingLedger(desk.ledger), FlakyStore(desk.store)
    async with desk.worker(ledger=ledger, store=store):
        await desk.announce(entity="BankLine")
        state = await desk.deposit(line).result()
    assert store.alias_reads == 2, "the first attempt was meant to fail and be retried"
    assert ledger.calls == {"get_bank_line": 1, "list_open_invoices": 1}
    assert state.stage == "applied" and state.match is not None and state.match.decision == "auto"
    assert [a.invoice_id for a in state.match.allocations] == [invoice.id]


# --- the match activity alone, for what a worker cannot be made to do on cue -------------------------------


def match_input(line: BankLine) -> MatchBankLineInput:
    return MatchBankLineInput(ledger="sandbox", tenant="demo", bank_line_id=line.id)


class NoListing(CountingLedger):
    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        raise AssertionError("a resumed match must not list the open invoices again")


def test_a_resumed_match_answers_as_a_fresh_one_without_reading_the_ledger(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="demo")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    customer = ledger.add_customer("Wayne Enterprises")
    ledger.add_invoice(customer.id, Decimal("410.00"), due_date=date.today() + timedelta(days=15))
    ledger.add_invoice(customer.id, Decimal("275.25"), due_date=date.today() + timedelta(days=40))
    line = ledger.receive(Decimal("685.25"), "WAYNE ENT", on=date.today())
    beats: list[Any] = []
    fresh_env = ActivityEnvironment()
    fresh_env.on_heartbeat = lambda *details: beats.append(details[0])
    fresh = fresh_env.run(CashActivities({"sandbox/demo": ledger}, store).match_bank_line, match_input(line))
    progress = beats[-1]
    assert isinstance(progress, MatchProgress) and progress.open_invoices is not None
    assert len(progress.open_invoices) == 2 and all(not i.lines for i in progress.open_invoices)

    resumed_env = ActivityEnvironment()
    # as a worker hands them to the next attempt: decoded without a type hint, JSON values
    details = [progress.model_dump(mode="json")]
    resumed_env.info = dataclasses.replace(resumed_env.info, heartbeat_details=details, attempt=2)
    not_listing = NoListing(ledger)
    resumed = resumed_env.run(CashActivities({"sandbox/demo": not_listing}, store).match_bank_line,
                              match_input(line))
    assert resumed == fresh and fresh.decision != "unmatched"
    assert not_listing.calls == {}
    ledger.close()


class SlowListing(CountingLedger):
    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        time.sleep(0.5)
        return super().list_open_invoices(customer_id)


def test_a_slow_listing_keeps_heartbeating_with_its_progress(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="demo")
    customer = ledger.add_customer("Wayne Enterprises")
    ledger.add_invoice(customer.id, Decimal("410.00"), due_date=date.today() + timedelta(days=15))
    line = ledger.receive(Decimal("410.00"), "WAYNE ENT", on=date.today())
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(seconds=0.15))
    beats: list[MatchProgress] = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    env.run(CashActivities({"sandbox/demo": SlowListing(ledger)}, Store("sqlite://")).match_bank_line,
            match_input(line))
    while_listing = [b for b in beats if b.line is not None and b.open_invoices is None]
    # one when the line is read, then one every 0.05 s of the 0.5 s listing; the last carries the listing
    assert len(while_listing) >= 5, beats
    assert beats[-1].open_invoices is not None and len(beats[-1].open_invoices) == 1
    ledger.close()


async def _not(probe: Awaitable[bool]) -> bool:
    return not await probe


async def _checked(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow has read the bank line again (its check activity completed)."""
    async for event in handle.fetch_history_events():
        attributes = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and \
                attributes.activity_type.name == "check_bank_line":
            return True
    return False


def test_the_cash_histories_cover_both_sides_of_the_recheck_patch() -> None:
    deposits = [load(path) for path in HISTORIES if path.name.startswith("cash_application")]
    marked = [RECHECK_ON_LEDGER_EVENT in patches(history) for history in deposits]
    assert True in marked and False in marked, "record both: tests/workflows/histories/record_cash_application.py"
