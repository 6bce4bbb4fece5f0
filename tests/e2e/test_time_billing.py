"""Time billing on the real dev stack with short demo days: three `sandbox time add` entries in one week wait
for the week to end, become one invoice with three lines, which after approval is the one invoice in the ledger
for their sum, the entries billed by it, and its InvoiceLifecycle runs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.ledgers.sandbox import SandboxLedger
from workers.settings import read_stack
from workflows.invoice_lifecycle import invoice_workflow_id

from .stack import DevStack, running_stack, wait_until, workflows_for

pytestmark = pytest.mark.e2e
DAY_SECONDS = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-time"), DAY_SECONDS)


def item_of(stack: DevStack, customer_id: str, kind: str) -> dict[str, Any] | None:
    items = httpx.get(f"{stack.web}/api/approvals", timeout=10).json()
    return next((item for item in items
                 if item["workflow_id"].startswith("time:sandbox:") and f":{customer_id}:" in item["workflow_id"]
                 and item["kind"] == kind), None)


def approve(stack: DevStack, token: str, item: dict[str, Any]) -> None:
    answer = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", timeout=30,
                        headers={"Authorization": f"Bearer {token}"},
                        json={"decision": "approve", "item_id": item["item_id"], "reason": "hours checked"})
    assert answer.status_code == 200, answer.text


def test_a_week_of_time_entries_becomes_one_approved_invoice(stack: DevStack) -> None:
    token = stack.cli("approver", "add", "controller@northwind.example", "--limit", "100000")["token"]
    customer = stack.cli("sandbox", "customer", "add", "Adatum", "--email", "ap@adatum.example",
                         "--credit-limit", "50000")["customer_id"]
    # All on the ledger's today: one week, whatever weekday the demo calendar is on.
    entries = [stack.cli("sandbox", "time", "add", "--customer", customer, "--hours", hours, "--rate", rate,
                         "--description", text)["time_entry_id"]
               for hours, rate, text in (("10", "200", "Workshop"), ("12", "200", "Build"),
                                         ("7.5", "150", "Handover notes"))]
    info = read_stack(stack.home)
    assert info is not None
    ledger = SandboxLedger(info.sandbox_db, tenant=info.tenant)
    try:
        # A new customer: the credit review first; then the invoice itself, over the 5000 threshold.
        credit = wait_until(lambda: item_of(stack, customer, "credit"), 7 * DAY_SECONDS + 90, what="the credit item")
        assert all(entry.invoice_id is None for entry in ledger.list_time_entries(customer))
        approve(stack, token, credit)
        item = wait_until(lambda: item_of(stack, customer, "invoice"), 60, what="the invoice item")
        assert (item["amount"], item["currency"], item["customer_name"]) == ("5525.00", "USD", "Adatum")
        lines = item["draft"]["lines"]
        assert [Decimal(line["amount"]) for line in lines] == [Decimal("2000"), Decimal("2400"), Decimal("1125")]
        assert [line["description"].split(" ", 1)[1] for line in lines] == ["Workshop", "Build", "Handover notes"]
        approve(stack, token, item)

        [invoice] = wait_until(lambda: ledger.list_invoices(customer), 60, what="the posted invoice")
        assert invoice.total.amount == Decimal("5525.00") and invoice.total.currency == "USD"
        billed = {entry.id: entry.invoice_id for entry in ledger.list_time_entries(customer)}
        assert billed == {entry: invoice.id for entry in entries}
        lifecycles = wait_until(lambda: workflows_for(stack, invoice.id), 60, what="the invoice's lifecycle")
        assert [wf.id for wf in lifecycles] == [invoice_workflow_id("sandbox", info.tenant, invoice.id)]
    finally:
        ledger.close()
