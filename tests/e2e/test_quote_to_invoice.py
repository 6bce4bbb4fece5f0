"""Quote to invoice on the real dev stack: a customer with a credit limit, an estimate accepted in the sandbox
ledger, a `credit` item and an `invoice` item approved through the approvals API, and exactly one invoice in
the ledger whose InvoiceLifecycle runs, even when the acceptance webhook is delivered again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.ledgers.sandbox import SandboxLedger
from adapters.ledgers.sandbox.webhooks import SIGNATURE_HEADER, event_body, sign
from workers.settings import read_stack
from workflows.invoice_lifecycle import invoice_workflow_id

from .stack import DevStack, running_stack, wait_until, workflows_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-quotes"), 30)


def item_of(stack: DevStack, estimate_id: str, kind: str) -> dict[str, Any] | None:
    items = httpx.get(f"{stack.web}/api/approvals", timeout=10).json()
    return next((item for item in items if item["workflow_id"].endswith(f":{estimate_id}") and item["kind"] == kind),
                None)


def approve(stack: DevStack, token: str, item: dict[str, Any]) -> None:
    answer = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", timeout=30,
                        headers={"Authorization": f"Bearer {token}"},
                        json={"decision": "approve", "item_id": item["item_id"], "reason": "checked"})
    assert answer.status_code == 200, answer.text


def test_an_accepted_estimate_over_the_limit_becomes_one_invoice_after_two_approvals(stack: DevStack) -> None:
    token = stack.cli("approver", "add", "controller@northwind.example", "--limit", "100000")["token"]
    customer = stack.cli("sandbox", "customer", "add", "Fabrikam", "--email", "ap@fabrikam.example",
                         "--credit-limit", "2000")
    estimate = stack.cli("sandbox", "estimate", "add", "--customer", customer["customer_id"], "--amount", "7500")
    stack.cli("sandbox", "estimate", "accept", estimate["estimate_id"])
    estimate_id = estimate["estimate_id"]

    credit = wait_until(lambda: item_of(stack, estimate_id, "credit"), 60, what="the credit item")
    assert (credit["amount"], credit["currency"], credit["customer_name"]) == ("7500.00", "USD", "Fabrikam")
    assert "over the credit limit of USD 2,000.00 by USD 5,500.00" in credit["why"]
    approve(stack, token, credit)
    invoice_item = wait_until(lambda: item_of(stack, estimate_id, "invoice"), 60, what="the invoice item")
    approve(stack, token, invoice_item)

    info = read_stack(stack.home)
    assert info is not None
    ledger = SandboxLedger(info.sandbox_db, tenant=info.tenant)
    try:
        [invoice] = wait_until(lambda: ledger.list_invoices(customer["customer_id"]), 60, what="the posted invoice")
        assert invoice.total.amount == 7500 and invoice.total.currency == "USD"
        # Its own lifecycle carries it on (started by the invoice's ledger event, as for every invoice).
        lifecycles = wait_until(lambda: workflows_for(stack, invoice.id), 60, what="the invoice's lifecycle")
        assert [wf.id for wf in lifecycles] == [invoice_workflow_id("sandbox", info.tenant, invoice.id)]
        # The acceptance delivered again, signed as the ledger signs it: nothing new anywhere.
        accepted = next(event for _, event in ledger.events()
                        if (event.entity, event.entity_id, event.operation) == ("Estimate", estimate_id, "update"))
        body = event_body([accepted])
        replay = httpx.post(f"{stack.web}/webhooks/sandbox", content=body, timeout=30,
                            headers={"content-type": "application/json",
                                     SIGNATURE_HEADER: sign(info.sandbox_webhook_secret, body)})
        assert replay.status_code == 200, replay.text
        assert [i.id for i in ledger.list_invoices(customer["customer_id"])] == [invoice.id]
        assert item_of(stack, estimate_id, "invoice") is None and item_of(stack, estimate_id, "credit") is None
    finally:
        ledger.close()
