"""QuoteToInvoice on the real Temporal dev server: an accepted estimate through credit review and invoice
approval to one posted invoice, started the way the webhook intake starts it (signal-with-start).

The dev server, not the time-skipping one: approvers decide through the `decide` update, which has gaps on the
time-skipping server (sdk-python #826, #675).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from adapters.drafting.template import TemplateDrafter
from adapters.ledger import EstimateStatus, LedgerEvent, Money
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_cash_application import eventually
from tests.workflows.test_invoice_lifecycle import RecordingMailer
from workers.intake import LifecycleDefaults, Routed, route_event
from workers.web.decisions import pending_items
from workers.worker import build_worker
from workflows.approvals import Decision, DecisionKind, PendingApproval
from workflows.quote_messages import QuoteState, estimate_workflow_id
from workflows.quote_to_invoice import QuoteToInvoice

APPROVER = "controller@northwind.example"


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    server = await start_dev_server()
    try:
        yield server
    finally:
        await server.shutdown()


@dataclass
class Books:
    """A sandbox ledger and a store in one directory, served by the production worker on `env`."""

    env: WorkflowEnvironment
    ledger: SandboxLedger
    store: Store
    task_queue: str = field(default_factory=lambda: f"quote-{uuid.uuid4().hex[:8]}")
    routed: list[LedgerEvent] = field(default_factory=list)

    @property
    def ledgers(self) -> dict[str, SandboxLedger]:
        return {f"sandbox/{self.ledger.tenant}": self.ledger}

    @property
    def defaults(self) -> LifecycleDefaults:
        return LifecycleDefaults(task_queue=self.task_queue, company_name="Northwind Studio")

    def worker(self) -> Worker:
        return build_worker(self.env.client, task_queue=self.task_queue, ledgers=self.ledgers,
                            store=self.store, mailer=RecordingMailer(), drafter=TemplateDrafter(), sender="ar@test",
                            defaults=self.defaults, strict_sandbox=True)

    async def announce(self, entity: str = "Estimate") -> list[Routed]:
        """The ledger's pending events of `entity` through the webhook intake, as the dispatcher delivers them."""
        routed = []
        for seq, event in self.ledger.pending_events():
            if event.entity == entity:
                routed.append(await self.route(event))
                self.ledger.mark_delivered([seq])
        return routed

    async def route(self, event: LedgerEvent) -> Routed:
        self.routed.append(event)
        return await route_event(self.env.client, event, self.defaults, self.ledgers)

    def handle(self, estimate_id: str) -> WorkflowHandle[QuoteToInvoice, QuoteState]:
        return self.env.client.get_workflow_handle_for(QuoteToInvoice.run,
                                                       estimate_workflow_id("sandbox", self.ledger.tenant,
                                                                            estimate_id))

    async def item(self, estimate_id: str, kind: str) -> PendingApproval:
        """The item as the approvals API lists it (visibility, then the workflow's query)."""
        async def listed() -> PendingApproval | None:
            for item in await pending_items(self.env.client):
                if item.workflow_id == self.handle(estimate_id).id and item.kind == kind:
                    return item
            return None

        found: PendingApproval = await eventually(listed, 30, f"a {kind} item for {estimate_id}")
        return found

    async def decide(self, item: PendingApproval, decision: DecisionKind, **extra: Any) -> None:
        await self.handle(item.item_id.split(":")[0]).execute_update(
            QuoteToInvoice.decide, Decision(decision=decision, approver=APPROVER, item_id=item.item_id, **extra))


@pytest.fixture
def books(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Books]:
    # A tenant of its own: the dev server is shared by the module's tests, and workflow ids name the tenant.
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant=f"t{uuid.uuid4().hex[:8]}")
    yield Books(env=env, ledger=ledger, store=Store(f"sqlite:///{tmp_path / 'store.db'}"))
    ledger.close()


def accepted_estimate(books: Books, amount: str, limit: str | None, currency: str = "USD") -> tuple[str, str]:
    customer = books.ledger.add_customer("Fabrikam", email="ap@fabrikam.example", terms_days=15,
                                         credit_limit=None if limit is None else Decimal(limit), currency=currency)
    estimate = books.ledger.add_estimate(customer.id, Decimal(amount), issue_date=date.today())
    books.ledger.accept_estimate(estimate.id)
    return customer.id, estimate.id


async def test_over_the_limit_a_credit_review_then_invoice_approval_then_one_invoice(books: Books) -> None:
    customer_id, estimate_id = accepted_estimate(books, "6000.00", limit="1000.00")
    async with books.worker():
        # Both events are delivered after the acceptance, so both read it: one workflow, started and signalled.
        [created, accepted] = await books.announce()
        assert (created.outcome, accepted.outcome) == ("signalled", "signalled")
        assert created.workflow_id == accepted.workflow_id == books.handle(estimate_id).id
        credit = await books.item(estimate_id, "credit")
        assert (credit.amount, credit.currency, credit.customer_name) == (Decimal("6000.00"), "USD", "Fabrikam")
        assert "exposure USD 6,000.00 (open AR USD 0.00 + this invoice USD 6,000.00), over the credit limit of " \
               "USD 1,000.00 by USD 5,000.00" in credit.why
        assert credit.suggestion is not None and credit.suggestion["credit"]["recommendation"] == "decline"
        # Over the approver's own limit: refused, nothing decided.
        with pytest.raises(WorkflowUpdateFailedError):
            await books.handle(estimate_id).execute_update(QuoteToInvoice.decide, Decision(
                decision=DecisionKind.APPROVE, approver=APPROVER, approver_limit=Decimal("100"),
                item_id=credit.item_id))
        await books.decide(credit, DecisionKind.APPROVE, reason="limit raised by phone")
        invoice_item = await books.item(estimate_id, "invoice")
        assert "over the approval threshold of 5000" in invoice_item.why
        with pytest.raises(WorkflowUpdateFailedError):  # the credit item is stale now
            await books.decide(credit, DecisionKind.APPROVE)
        await books.decide(invoice_item, DecisionKind.APPROVE)
        state = await books.handle(estimate_id).result()
        # The acceptance delivered again after the workflow closed, and the billing's close: nothing new.
        again = await books.route(books.routed[1])
        later = await books.announce()
    assert state.stage == "posted" and state.invoice is not None
    assert (state.credit_decided_by, state.invoice_decided_by) == (APPROVER, APPROVER)
    [invoice] = books.ledger.list_invoices(customer_id)
    assert invoice.id == state.invoice.id and invoice.total == Money.of("6000.00", "USD")
    assert (invoice.issue_date, invoice.due_date) == (date.today(), date.today() + timedelta(days=15))
    assert books.ledger.get_estimate(estimate_id).status == EstimateStatus.CLOSED
    assert again.outcome == "ignored" and [r.outcome for r in later] == ["ignored"]
    actions = [record.action for record in books.store.list_audit(books.handle(estimate_id).id)]
    assert actions == ["invoice assembled from quote", "credit approved", "invoice approved",
                       "invoice posted from quote"]


async def test_a_declined_credit_review_posts_nothing(books: Books) -> None:
    customer_id, estimate_id = accepted_estimate(books, "800.00", limit="500.00")
    async with books.worker():
        await books.announce()
        credit = await books.item(estimate_id, "credit")
        with pytest.raises(WorkflowUpdateFailedError):  # an edit is not how a quote's invoice changes
            await books.decide(credit, DecisionKind.EDIT, text="make it 400")
        await books.decide(credit, DecisionKind.REJECT, reason="over the limit")
        state = await books.handle(estimate_id).result()
    assert state.stage == "declined" and state.invoice is None
    assert "nothing posted" in state.note
    assert books.ledger.list_invoices(customer_id) == []


async def test_a_known_good_customer_within_limit_and_threshold_is_invoiced_without_a_human(books: Books) -> None:
    customer_id, estimate_id = accepted_estimate(books, "1250.00", limit="5000.00")
    earlier = books.ledger.add_invoice(customer_id, Decimal("300.00"), due_date=date.today() - timedelta(days=20))
    books.ledger.pay(earlier.id, on=date.today() - timedelta(days=18))
    async with books.worker():
        await books.announce()
        state = await books.handle(estimate_id).result()
    assert state.stage == "posted" and state.findings == [] and state.credit is not None
    assert not state.credit.needed
    assert [i.total.amount for i in books.ledger.list_invoices(customer_id)] == [Decimal("300.00"),
                                                                               Decimal("1250.00")]


async def test_a_rejected_estimate_starts_nothing(books: Books) -> None:
    customer = books.ledger.add_customer("Contoso")
    estimate = books.ledger.add_estimate(customer.id, Decimal("90.00"), issue_date=date.today())
    books.ledger.set_estimate_status(estimate.id, EstimateStatus.REJECTED)
    routed = await books.announce()
    assert [r.outcome for r in routed] == ["ignored", "ignored"]
    assert [wf.id async for wf in books.env.client.list_workflows(f"WorkflowId = '{books.handle(estimate.id).id}'")] \
        == []
