"""Connecting a company that already has 300 open invoices: every one becomes a lifecycle, within the
ledger's rate limit.

For QuickBooks Online, Xero and Sage Intacct: the emulator holds 300 open invoices (20 of them overdue,
which act at once; Xero also has drafts, which wait for approval in the ledger) before duecourse is
connected. A real `duecourse dev` stack (`--no-seed`) is pointed at it and the company is connected through
the real OAuth flow; the callback starts the backfill with its default pacing (half the ledger's published
limit). The test waits until visibility counts 300 lifecycles, checks the backfill's summary, that the
emulator (which enforces the ledger's limits) never answered 429, and that `duecourse sync --full` then
starts none. It prints how long it took and the API answers the emulator counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from adapters.ledger import CustomerDraft, InvoiceDraft, InvoiceLine
from tests.emulators.xero import XeroEmulator

from .stack import DevStack, temporal, wait_until
from .test_ledgers import IntacctRig, QuickBooksRig, Rig, XeroRig, retrying

pytestmark = pytest.mark.e2e

INVOICES = 300
OVERDUE = 20
CUSTOMERS = 30
XERO_DRAFTS = 10  # of the 300


def due_dates(today: date) -> list[date]:
    """20 overdue by 2 to 5 days (each reminds at once), the rest due in 15 to 60 days (quiet for now)."""
    overdue = [today - timedelta(days=2 + n % 4) for n in range(OVERDUE)]
    return overdue + [today + timedelta(days=15 + n % 46) for n in range(INVOICES - OVERDUE)]


def amount(n: int) -> Decimal:
    return Decimal("100.00") + n


def seed_quickbooks(rig: Any, today: date) -> list[str]:
    emulator = rig.emulator
    customers = [emulator.seed("Customer", {"DisplayName": f"Backfill Customer {c}", "CompanyName": f"Backfill {c}",
                                            "PrimaryEmailAddr": {"Address": f"ap{c}@backfill-qbo.example"}})["Id"]
                 for c in range(CUSTOMERS)]
    made = []
    for n, due in enumerate(due_dates(today)):
        invoice = emulator.seed("Invoice", {
            "CustomerRef": {"value": customers[n % CUSTOMERS]}, "TxnDate": (due - timedelta(days=30)).isoformat(),
            "DueDate": due.isoformat(),
            "Line": [{"Amount": amount(n), "DetailType": "SalesItemLineDetail", "Description": "Consulting",
                      "SalesItemLineDetail": {"Qty": 1, "UnitPrice": amount(n)}}]})
        made.append(str(invoice["Id"]))
    return made


def seed_xero(rig: Any, today: date) -> list[str]:
    emulator: XeroEmulator = rig.emulator
    contacts = [emulator.add_contact(f"Backfill Customer {c}", f"ap{c}@backfill-xero.example")
                for c in range(CUSTOMERS)]
    made = []
    for n, due in enumerate(due_dates(today)):
        # The last ones are drafts nobody approved yet: their lifecycles wait (never dunned while draft).
        status = "DRAFT" if n >= INVOICES - XERO_DRAFTS else "AUTHORISED"
        made.append(emulator.add_invoice(contacts[n % CUSTOMERS], [("Consulting", "1", str(amount(n)))],
                                         issued=due - timedelta(days=30), due=due, amount_types="NoTax", status=status))
    return made


def seed_intacct(rig: Any, today: date) -> list[str]:
    books = rig.books  # the company's own back office, through the REST API (counted before connect)
    customers = [retrying(books.create_customer, CustomerDraft(name=f"Backfill Customer {c}",
                                                               email=f"ap{c}@backfill-intacct.example"),
                          f"backfill:customer:{c}").id for c in range(CUSTOMERS)]
    made = []
    for n, due in enumerate(due_dates(today)):
        line = InvoiceLine(description="Consulting", unit_price=amount(n), amount=amount(n))
        invoice = retrying(books.create_invoice, InvoiceDraft(
            customer_id=customers[n % CUSTOMERS], currency="USD", lines=[line], issue_date=due - timedelta(days=30),
            due_date=due), f"backfill:invoice:{n}")
        made.append(invoice.id)
    return made


SETUPS: dict[str, tuple[Callable[[], Any], Callable[[Any, date], list[str]]]] = {
    "quickbooks": (QuickBooksRig, seed_quickbooks),
    "xero": (XeroRig, seed_xero),
    "intacct": (IntacctRig, seed_intacct),
}


def connect(rig: Rig, stack: DevStack) -> None:
    """The real connect flow: the CLI's link, the ledger's consent, the web app's callback."""
    begun = stack.cli("connect", rig.ledger, *rig.connect_args, "--no-wait")
    consent = httpx.get(begun["authorize_url"], follow_redirects=True, timeout=60)
    assert consent.status_code == 200, f"{consent.status_code}: {consent.text}\n{stack.log()}"
    assert f"Connected {rig.ledger}" in consent.text


def lifecycles(stack: DevStack, ledger: str) -> int:
    async def action(client: Any) -> int:
        query = f"WorkflowType = 'InvoiceLifecycle' AND Ledger = '{ledger}'"
        return int((await client.count_workflows(query)).count)

    count: int = temporal(stack, action)
    return count


def awaiting_approval(stack: DevStack, ledger: str) -> int:
    async def action(client: Any) -> int:
        query = f"WorkflowType = 'InvoiceLifecycle' AND Ledger = '{ledger}' AND AwaitingApproval = true"
        return int((await client.count_workflows(query)).count)

    count: int = temporal(stack, action)
    return count


def backfill_result(stack: DevStack, ledger: str, tenant: str) -> Any:
    from workflows.backfill import BackfillSummary, backfill_workflow_id

    async def action(client: Any) -> BackfillSummary | None:
        handle = client.get_workflow_handle(backfill_workflow_id(ledger, tenant), result_type=BackfillSummary)
        if (await handle.describe()).status != WorkflowExecutionStatus.COMPLETED:
            return None
        result: BackfillSummary = await handle.result()
        return result

    return temporal(stack, action)


def stage_of(stack: DevStack, workflow_id: str) -> str | None:
    from workflows.invoice_lifecycle import InvoiceLifecycle

    async def action(client: Any) -> str | None:
        state = await client.get_workflow_handle(workflow_id).query(InvoiceLifecycle.status)
        return str(state.stage.value) if state.waiting_for else None

    stage: str | None = temporal(stack, action)
    return stage


@pytest.mark.parametrize("ledger", list(SETUPS))
def test_every_open_invoice_becomes_a_lifecycle_within_the_rate_limit(ledger: str, tmp_path: Path) -> None:
    make_rig, seed = SETUPS[ledger]
    rig = make_rig()
    # A ledger day of 20 s: the overdue invoices reach their send window within one, the quiet ones (their
    # first reminder 12 days away at least) stay quiet for the whole test.
    stack = DevStack(home=tmp_path, day_seconds=20, extra_env=rig.env())
    try:
        today = datetime.now(UTC).date()
        invoice_ids = seed(rig, today)
        assert len(invoice_ids) == INVOICES
        before = Counter(rig.faults.answered)
        stack.start()
        started = time.monotonic()
        connect(rig, stack)
        wait_until(lambda: lifecycles(stack, ledger) >= INVOICES, timeout=240, interval=1,
                   what=f"{INVOICES} lifecycles in visibility")
        all_visible = time.monotonic() - started
        summary = wait_until(lambda: backfill_result(stack, ledger, rig.tenant), timeout=60, interval=0.5,
                             what="the backfill to finish")
        finished = time.monotonic() - started
        # The overdue ones re-read the ledger and drafted their reminder: each awaits an approver.
        wait_until(lambda: awaiting_approval(stack, ledger) >= OVERDUE, timeout=120, interval=1,
                   what=f"the {OVERDUE} overdue invoices' reminders to await approval")
        reminded = time.monotonic() - started
        answered = rig.faults.answered - before

        assert (summary.total, summary.started, summary.already_running, summary.closed, summary.gone) == (
            INVOICES, INVOICES, 0, 0, 0)
        assert lifecycles(stack, ledger) == INVOICES
        assert answered[429] == 0, f"the ledger answered 429: {dict(answered)}"
        if ledger == "xero":
            draft_ids = invoice_ids[-XERO_DRAFTS:]
            stages = {stage_of(stack, f"invoice:xero:{rig.tenant}:{i}") for i in draft_ids}
            assert stages <= {"draft", None} and "draft" in stages, stages

        # Later, by hand: a full sync finds every lifecycle running and starts none.
        again = stack.cli("sync", "--full", ledger, rig.tenant)
        assert (again["total"], again["started"], again["already_running"]) == (INVOICES, 0, INVOICES)
        assert again["phase"] == "done"
        assert lifecycles(stack, ledger) == INVOICES
        print(f"\n[{ledger}] {INVOICES} open invoices ({OVERDUE} overdue) -> {INVOICES} lifecycles visible in "
              f"{all_visible:.1f} s, backfill done in {finished:.1f} s ({summary.batches} batches), the overdue "
              f"ones' reminders awaiting approval after {reminded:.1f} s; ledger API answers from connect to "
              f"then: {sum(answered.values())} {dict(sorted(answered.items()))}, 429s: {answered[429]}")
    finally:
        try:
            code = stack.stop()
        finally:
            rig.stop()
        assert code == 0, f"duecourse dev did not stop cleanly ({code}):\n{stack.log()}"


def latest_backfill(stack: DevStack, other_than: str | None) -> tuple[str, Any] | None:
    """The sandbox backfill's latest run once it is finished and is not the run `other_than`."""
    from workflows.backfill import BackfillSummary, backfill_workflow_id

    async def action(client: Any) -> tuple[str, Any] | None:
        handle = client.get_workflow_handle(backfill_workflow_id("sandbox", "demo"), result_type=BackfillSummary)
        try:
            description = await handle.describe()
        except Exception:  # not started yet on a fresh server
            return None
        if description.run_id == other_than or description.status != WorkflowExecutionStatus.COMPLETED:
            return None
        return description.run_id, await handle.result()

    found: tuple[str, Any] | None = temporal(stack, action)
    return found


def test_a_dev_data_dir_whose_workflows_were_lost_gets_them_back(tmp_path: Path) -> None:
    from adapters.ledgers.sandbox import SandboxLedger

    # The sandbox company's books hold 12 open invoices and 2 drafts before the stack ever ran.
    books = SandboxLedger(tmp_path / "sandbox.db")
    today = datetime.now(UTC).date()
    customers = [books.add_customer(f"Sandbox Customer {c}", email=f"ap{c}@sandbox.example") for c in range(3)]
    for n in range(14):
        books.add_invoice(customers[n % 3].id, amount(n), due_date=today + timedelta(days=20 + n), as_draft=n >= 12)
    books.close()
    stack = DevStack(home=tmp_path, day_seconds=60)
    try:
        stack.start()
        wait_until(lambda: lifecycles(stack, "sandbox") >= 14, what="14 lifecycles")
        first_run, first = wait_until(lambda: latest_backfill(stack, None), what="the first backfill")
        assert first.total == 14 and first.started + first.already_running == 14  # the webhooks may come first

        # A normal restart finds every lifecycle running and starts none.
        assert stack.stop() == 0
        stack.start()
        _, second = wait_until(lambda: latest_backfill(stack, first_run), what="the backfill at restart")
        assert (second.total, second.started, second.already_running) == (14, 0, 14)
        assert lifecycles(stack, "sandbox") == 14

        # The Temporal data is lost (the ledger and the store are not): the next start gets every one back.
        assert stack.stop() == 0
        for lost in tmp_path.glob("temporal.db*"):
            lost.unlink()
        stack.start()
        _, third = wait_until(lambda: latest_backfill(stack, None), what="the backfill on a lost data dir")
        assert (third.total, third.started, third.already_running) == (14, 14, 0)
        wait_until(lambda: lifecycles(stack, "sandbox") >= 14, what="14 lifecycles again")
        assert lifecycles(stack, "sandbox") == 14
    finally:
        assert stack.stop() == 0, stack.log()
