"""Collectors in the loop on the web app (issue 9), on the real dev stack and in a real browser (Debian's
chromium): the approval form's dispute / promise / pause buttons, the worklist (assign, note, hand back,
filter by collector, hostile customer names shown as text), the invoice page, and the actions API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.ledgers.sandbox import SandboxLedger
from tests.e2e.stack import DevStack, pending_for, running_stack, wait_until
from workers.settings import read_stack

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
HOSTILE = '<img src=x onerror="document.title=1"> Evil & "Co"'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-collectors-web"), 4)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            yield launched
        finally:
            launched.close()


def ledger_today(stack: DevStack) -> date:
    info = read_stack(stack.home)
    assert info is not None
    today: date = info.clock.today(datetime.now(UTC), "UTC")
    return today


def overdue_invoice(stack: DevStack, name: str, amount: str, email: str | None) -> dict[str, Any]:
    customer = stack.cli("sandbox", "customer", "add", name, *(["--email", email] if email else []))
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", amount,
                        "--due-in-days", "-10")
    # Through the story API only: the browser's event loop is running in this thread (no asyncio.run here).
    wait_until(lambda: httpx.get(f"{stack.web}/api/invoices/{invoice['invoice_id']}", timeout=30).status_code == 200,
               what="the invoice's lifecycle")
    return invoice


def story(stack: DevStack, invoice_id: str) -> dict[str, Any]:
    response = httpx.get(f"{stack.web}/api/invoices/{invoice_id}", timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.browser
def test_dispute_promise_and_pause_from_the_approval_form(stack: DevStack, browser: Any) -> None:
    approver = stack.cli("approver", "add", "ar.lead@northwind.example", "--limit", "10000")
    invoices = [overdue_invoice(stack, name, amount, f"ap@{name.split()[0].lower()}.example")
                for name, amount in (("Umbrella Health", "432.10"), ("Stark Fabrication", "980.00"),
                                     ("Wayne Enterprises", "77.00"))]
    for invoice in invoices:
        wait_until(lambda invoice=invoice: pending_for(stack, invoice["invoice_id"]), what="approval item")
    disputed, promised, paused = invoices
    page = browser.new_page()
    page.goto(approver["sign_in_url"])

    card = page.locator("section.approval", has_text=disputed["invoice_number"])
    card.wait_for(timeout=15000)
    page.screenshot(path=str(stack.home / "approvals-buttons.png"), full_page=True)
    card.locator("input[name=reason][placeholder='dispute reason']").fill("the goods arrived damaged")
    card.locator("button[value=dispute]").click()
    page.wait_for_url("**/approvals?flash=*")
    assert "disputed" in page.locator(".flash").inner_text()
    after = story(stack, disputed["invoice_id"])
    assert after["stage"] == "paused" and "the goods arrived damaged" in after["dispute"]
    assert "ar.lead@northwind.example" in after["dispute"]
    # The withdrawn reminder is off the approvals page.
    assert page.locator("section.approval", has_text=disputed["invoice_number"]).count() == 0

    until = (ledger_today(stack) + timedelta(days=40)).isoformat()
    card = page.locator("section.approval", has_text=promised["invoice_number"])
    card.locator("form:has(input[value=promise]) input[name=until]").fill(until)
    card.locator("button[value=promise]").click()
    page.wait_for_url("**/approvals?flash=*")
    assert f"promised by {until}" in page.locator(".flash").inner_text()
    after = story(stack, promised["invoice_id"])
    assert after["stage"] == "paused" and after["promise_until"] == until

    card = page.locator("section.approval", has_text=paused["invoice_number"])
    card.locator("form:has(input[value=pause]) input[name=until]").fill(until)
    card.locator("input[name=reason][placeholder='why (optional)']").fill("waiting for their new PO")
    card.locator("button[value=pause]").click()
    page.wait_for_url("**/approvals?flash=*")
    after = story(stack, paused["invoice_id"])
    assert after["stage"] == "paused" and after["paused_until"] == until
    assert "waiting for their new PO" in after["pause_reason"]

    # A date in the past is refused on the page, and nothing changes.
    page.goto(f"{stack.web}/invoices/{paused['invoice_id']}")
    page.locator("#actions form:has(input[value=promise]) input[name=until]").fill("2001-01-01")
    page.locator("#actions button[value=promise]").click()
    page.wait_for_url("**/invoices/*?error=*")
    assert "is in the past" in page.locator(".error").inner_text()
    assert story(stack, paused["invoice_id"])["promise_until"] is None
    page.screenshot(path=str(stack.home / "invoice-page.png"))


@pytest.mark.browser
def test_worklist_assign_note_and_hand_back(stack: DevStack, browser: Any) -> None:
    collector = stack.cli("approver", "add", "rita@northwind.example", "--limit", "5000", "--role", "collector")
    # No billing email: the first reminder cannot go and the invoice lands on the worklist.
    invoice = overdue_invoice(stack, HOSTILE, "1500.00", email=None)
    invoice_id, number = invoice["invoice_id"], invoice["invoice_number"]
    wait_until(lambda: story(stack, invoice_id)["stage"] == "escalated", what="the invoice to escalate")

    page = browser.new_page()
    page.goto(collector["sign_in_url"])
    page.goto(f"{stack.web}/worklist")
    row = page.locator("section.worklist-row", has_text=number)
    row.wait_for(timeout=15000)
    # The hostile name is text, not markup.
    assert HOSTILE in row.inner_text() and row.locator("img").count() == 0 and page.title() != "1"
    assert "days overdue" in row.locator(".age").inner_text() and "1500.00" in row.inner_text()
    assert row.locator(".owner").inner_text() == "nobody" and "escalated" in row.locator(".stage").inner_text()

    row.locator("button[value=assign]").click()
    page.wait_for_url("**/worklist?flash=*")
    row = page.locator("section.worklist-row", has_text=number)
    assert row.locator(".owner").inner_text() == "rita@northwind.example"
    page.goto(f"{stack.web}/worklist?collector=rita@northwind.example")
    assert page.locator("section.worklist-row", has_text=number).count() == 1
    page.goto(f"{stack.web}/worklist?collector=-")
    assert page.locator("section.worklist-row", has_text=number).count() == 0
    page.goto(f"{stack.web}/worklist?collector=rita@northwind.example")

    row = page.locator("section.worklist-row", has_text=number)
    row.locator("input[name=text]").fill("Phoned their controller: <b>cheque</b> in the post")
    row.locator("button[value=note]").click()
    page.wait_for_url("**/worklist?collector=*&flash=*")
    ledger = SandboxLedger(stack.home / "sandbox.db")
    wait_until(lambda: any("cheque</b> in the post" in n for n in ledger.notes("Invoice", invoice_id)),
               what="the note written to the ledger")

    # The invoice page tells the whole story.
    page.locator("section.worklist-row", has_text=number).locator("h2 a").click()
    page.wait_for_url(f"**/invoices/{invoice_id}")
    assert number in page.locator("h1").inner_text()
    assert HOSTILE in page.locator("#figures").inner_text() and page.locator("main img").count() == 0
    assert "escalated" in page.locator("#figures").inner_text()
    assert "skipped" in page.locator("#reminders").inner_text()
    assert "no billing email" in page.locator("#reminders").inner_text()
    assert "collector note" in page.locator("#audit").inner_text()
    assert "<b>cheque</b>" in page.locator("#ledger-notes").inner_text()

    page.goto(f"{stack.web}/worklist")
    page.locator("section.worklist-row", has_text=number).locator("button[value=handback]").click()
    page.wait_for_url("**/worklist?flash=*")
    assert "handed back to automation" in page.locator(".flash").inner_text()
    after = story(stack, invoice_id)
    assert after["assigned_to"] is None
    assert "handed back to automation" in [a["action"] for a in after["audit"]]
    page.screenshot(path=str(stack.home / "worklist.png"))


def test_actions_api(stack: DevStack) -> None:
    approver = stack.cli("approver", "add", "api@northwind.example", "--limit", "5000")
    viewer = stack.cli("approver", "add", "viewer@northwind.example", "--limit", "1", "--role", "viewer")
    invoice = overdue_invoice(stack, "Hooli Services", "55.00", "ap@hooli.example")
    invoice_id = invoice["invoice_id"]
    base = f"{stack.web}/api/invoices/{invoice_id}"
    auth = {"Authorization": f"Bearer {approver['token']}"}

    assert httpx.post(f"{base}/dispute", json={"reason": "x"}, timeout=30).status_code == 401
    as_viewer = httpx.post(f"{base}/dispute", json={"reason": "x"}, timeout=30,
                           headers={"Authorization": f"Bearer {viewer['token']}"})
    assert as_viewer.status_code == 403 and "viewer" in as_viewer.json()["detail"]
    assert httpx.post(f"{base}/dispute", content=b"{nope", headers=auth, timeout=30).status_code == 400
    assert httpx.post(f"{base}/dispute", json={"reason": "  "}, headers=auth, timeout=30).status_code == 400
    assert httpx.post(f"{base}/promise", json={"until": "soon"}, headers=auth, timeout=30).status_code == 400
    assert httpx.post(f"{base}/shred", json={}, headers=auth, timeout=30).status_code == 404
    unknown = httpx.post(f"{stack.web}/api/invoices/I-999999/note", json={"text": "x"}, headers=auth, timeout=30)
    assert unknown.status_code == 404 and "no invoice workflow found" in unknown.json()["detail"]
    # A credit note settles a dispute: with none open it is refused, and nothing is proposed.
    early = httpx.post(f"{base}/dispute/resolve", json={"credit_note": "10.00"}, headers=auth, timeout=30)
    assert early.status_code == 409 and "no open dispute" in early.json()["detail"]
    both = httpx.post(f"{base}/dispute/resolve", json={"credit_note": "10.00", "write_off": True}, headers=auth,
                      timeout=30)
    assert both.status_code == 400 and "choose one way" in both.json()["detail"]

    opened = httpx.post(f"{base}/dispute", json={"reason": "not ordered"}, headers=auth, timeout=30)
    assert opened.status_code == 200 and opened.json()["stage"] == "paused", opened.text
    twice = httpx.post(f"{base}/dispute", json={"reason": "again"}, headers=auth, timeout=30)
    assert twice.status_code == 409 and "already disputed" in twice.json()["detail"]
    rejected = httpx.post(f"{base}/dispute/resolve", json={"reject": True, "reason": "PO 4471 signed"},
                          headers=auth, timeout=30)
    assert rejected.status_code == 200 and rejected.json()["dispute"] is None
    assigned = httpx.post(f"{base}/assign", json={"collector": "sam@northwind.example"}, headers=auth, timeout=30)
    assert assigned.json()["assigned_to"] == "sam@northwind.example"
    assert [row["invoice_id"] for row in httpx.get(f"{stack.web}/api/worklist", timeout=30).json()
            if row["collector"] == "sam@northwind.example"] == []  # assigned, but dunning: not on the worklist

    told = story(stack, invoice_id)
    assert {"dispute opened", "dispute rejected", "assigned to collector"} <= {a["action"] for a in told["audit"]}
    assert next(a for a in told["audit"] if a["action"] == "dispute rejected")["approver"] == "api@northwind.example"
    assert told["assigned_to"] == "sam@northwind.example"
    assert httpx.get(f"{stack.web}/invoices/I-999999", timeout=30).status_code == 404
