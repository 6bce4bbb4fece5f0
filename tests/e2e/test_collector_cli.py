"""Collectors in the loop from the CLI, on the real dev stack (issue 9): dispute, resolve, promise (kept and
broken), hold, assign, note, hand back, and `invoice show`; every refusal a clear message and exit 1 or 2.
A ledger day lasts 8 seconds, so a promise "until the day after tomorrow" passes within the test (and
still lies ahead when the CLI, starting on a busy machine, checks it)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.ledgers.sandbox import SandboxLedger
from workers.settings import read_stack

from .stack import DUECOURSE, DevStack, pending_for, running_stack, wait_until, workflows_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-collectors"), 8)


def run(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DUECOURSE, *args], env=stack.env, capture_output=True, text=True, timeout=90)


def ledger_today(stack: DevStack) -> date:
    info = read_stack(stack.home)
    assert info is not None
    today: date = info.clock.today(datetime.now(UTC), "UTC")
    return today


def overdue_invoice(stack: DevStack, name: str, amount: str, email: bool = True) -> dict[str, Any]:
    contact = ["--email", f"ap@{name.split()[0].lower()}.example"] if email else []
    customer = stack.cli("sandbox", "customer", "add", name, *contact)
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", amount,
                        "--due-in-days", "-10")
    wait_until(lambda: workflows_for(stack, invoice["invoice_id"]), what="the invoice's lifecycle")
    return invoice


def story(stack: DevStack, invoice_id: str) -> dict[str, Any]:
    return stack.cli("invoice", "show", invoice_id)


def visible_stage(stack: DevStack, invoice_id: str) -> str:
    runs = workflows_for(stack, invoice_id)
    values = {pair.key.name: pair.value for pair in runs[0].typed_search_attributes} if runs else {}
    return str(values.get("Stage", ""))


def test_dispute_resolve_and_a_broken_promise(stack: DevStack) -> None:
    invoice = overdue_invoice(stack, "Globex Corporation", "1250.00")
    invoice_id = invoice["invoice_id"]
    wait_until(lambda: pending_for(stack, invoice_id), what="the first reminder to await approval")

    # A dispute pauses dunning: the pending reminder is withdrawn and visibility says paused.
    disputed = stack.cli("dispute", "open", invoice_id, "--reason", "line 2 was never delivered", "--by", "sam")
    assert disputed["taken"] and disputed["stage"] == "paused"
    assert "line 2 was never delivered" in disputed["dispute"]
    wait_until(lambda: visible_stage(stack, invoice_id) == "paused", what="Stage = 'paused' in visibility")
    assert pending_for(stack, invoice_id) is None
    again = run(stack, "dispute", "open", invoice_id, "--reason", "twice")
    assert again.returncode == 1 and "already disputed" in again.stderr

    # A credit note for more than the balance, or two outcomes at once: a clear answer, exit 2, nothing changes.
    credit = run(stack, "dispute", "resolve", invoice_id, "--credit-note", "1250.01")
    assert credit.returncode == 2 and "more than invoice" in credit.stderr
    both = run(stack, "dispute", "resolve", invoice_id, "--credit-note", "100.00", "--write-off")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    assert story(stack, invoice_id)["dispute"] and pending_for(stack, invoice_id) is None

    # Resolved: dunning again (the reminder is drafted again and awaits approval).
    resolved = stack.cli("dispute", "resolve", invoice_id, "--by", "sam")
    assert resolved["taken"] and resolved["dispute"] is None
    wait_until(lambda: pending_for(stack, invoice_id), what="dunning again after the dispute is resolved")
    assert visible_stage(stack, invoice_id) != "paused"
    none_open = run(stack, "dispute", "resolve", invoice_id)
    assert none_open.returncode == 1 and "no open dispute" in none_open.stderr

    # A promise for the day after tomorrow pauses dunning; it passes unpaid: dunning resumes, the broken
    # promise shows.
    tomorrow = ledger_today(stack) + timedelta(days=2)
    promised = stack.cli("promise", invoice_id, "--until", tomorrow.isoformat(), "--by", "sam")
    assert promised["taken"] and promised["stage"] == "paused" and promised["promise_until"] == tomorrow.isoformat()
    broken = wait_until(lambda: (s := story(stack, invoice_id))["broken_promises"] and s, timeout=60,
                        what="the promise to be broken")
    assert broken["broken_promises"] == [tomorrow.isoformat()] and broken["promise_until"] is None
    wait_until(lambda: story(stack, invoice_id)["stage"] != "paused", what="dunning to resume after the promise")

    # The whole story: reminders with their outcome, the audit log, the notes written to the ledger.
    final = story(stack, invoice_id)
    assert final["invoice_number"] == invoice["invoice_number"] and final["amount_due"] == "1250.00"
    assert final["currency"] == "USD" and final["time_zone"] == "UTC" and final["time_zone_source"]
    assert final["days_overdue"] >= 10 and final["customer_name"] == "Globex Corporation"
    assert final["reminders"] and {r["outcome"] for r in final["reminders"]} >= {"skipped"}
    actions = [a["action"] for a in final["audit"]]
    assert {"dispute opened", "dispute resolved", "promise to pay", "promise broken"} <= set(actions)
    opened = next(a for a in final["audit"] if a["action"] == "dispute opened")
    assert opened["approver"] == "sam" and opened["source"] == "cli" and not opened["to_ledger"]
    assert any("promise broken" in note for note in final["ledger_notes"])
    ledger = SandboxLedger(stack.home / "sandbox.db")
    assert any("promise broken" in note for note in ledger.notes("Invoice", invoice_id))

    human = run(stack, "invoice", "show", invoice_id)
    assert human.returncode == 0, human.stderr
    for text in (invoice["invoice_number"], "Globex Corporation", "broken promises: " + tomorrow.isoformat(),
                 "Reminders:", "Audit log:", "Ledger notes written:"):
        assert text in human.stdout, (text, human.stdout)


def test_hold_assign_note_and_hand_back(stack: DevStack) -> None:
    invoice = overdue_invoice(stack, "Initech Limited", "640.00")
    invoice_id = invoice["invoice_id"]
    item = wait_until(lambda: pending_for(stack, invoice_id), what="the first reminder to await approval")
    lead = stack.cli("approver", "add", "lead@northwind.example", "--limit", "5000")
    approved = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", json={"decision": "approve"},
                          headers={"Authorization": f"Bearer {lead['token']}"}, timeout=30)
    assert approved.status_code == 200, approved.text
    # The sent reminder in the story: its draft, its recipient, who approved it.
    sent = wait_until(lambda: [r for r in story(stack, invoice_id)["reminders"] if r["outcome"] == "sent"],
                      what="the approved reminder sent")
    assert sent[0]["to"] == "ap@initech.example" and sent[0]["approver"] == "lead@northwind.example"
    assert invoice["invoice_number"] in sent[0]["subject"] and "640.00" in sent[0]["body"]
    told = story(stack, invoice_id)
    assert told["last_contact"] == [r for r in told["reminders"] if r["outcome"] == "sent"][-1]["at"]
    until = ledger_today(stack) + timedelta(days=60)
    held = stack.cli("hold", invoice_id, "--until", until.isoformat(), "--reason", "customer in administration")
    assert held["taken"] and held["stage"] == "paused" and held["paused_until"] == until.isoformat()

    assigned = stack.cli("assign", invoice_id, "rita@northwind.example")
    assert assigned["taken"] and assigned["assigned_to"] == "rita@northwind.example"

    def collector_attribute() -> str:
        runs = workflows_for(stack, invoice_id)
        return str({p.key.name: p.value for p in runs[0].typed_search_attributes}.get("Collector", ""))

    wait_until(lambda: collector_attribute() == "rita@northwind.example", what="Collector in visibility")

    noted = stack.cli("note", invoice_id, "Spoke to their AP: payment run on Friday", "--by", "rita")
    assert noted["taken"] and noted["notes"] == 1
    ledger = SandboxLedger(stack.home / "sandbox.db")
    wait_until(lambda: any("payment run on Friday" in n for n in ledger.notes("Invoice", invoice_id)),
               what="the note written to the ledger")

    handed = stack.cli("handback", invoice_id, "--by", "rita")
    assert handed["taken"] and handed["paused_until"] is None and handed["assigned_to"] is None
    wait_until(lambda: story(stack, invoice_id)["stage"] != "paused", what="dunning to resume after hand back")
    final = story(stack, invoice_id)
    assert [n["text"] for n in final["notes"]] == ["Spoke to their AP: payment run on Friday"]
    assert {"dunning paused", "assigned to collector", "collector note", "handed back to automation"} <= {
        a["action"] for a in final["audit"]}
    nothing = run(stack, "handback", invoice_id)
    assert nothing.returncode == 1 and "nothing to hand back" in nothing.stderr


def test_refusals_are_clear_and_change_nothing(stack: DevStack) -> None:
    unknown = run(stack, "dispute", "open", "I-404404", "--reason", "x")
    assert unknown.returncode == 1 and "no invoice workflow found for invoice 'I-404404'" in unknown.stderr
    assert run(stack, "invoice", "show", "I-404404").returncode == 1

    invoice = overdue_invoice(stack, "Hooli Services", "55.00")
    invoice_id = invoice["invoice_id"]
    bad_date = run(stack, "promise", invoice_id, "--until", "31/12/2026")
    assert bad_date.returncode == 2 and "not a date: '31/12/2026' (write it as YYYY-MM-DD)" in bad_date.stderr
    past = (ledger_today(stack) - timedelta(days=3)).isoformat()
    in_the_past = run(stack, "promise", invoice_id, "--until", past)
    assert in_the_past.returncode == 2 and f"the date {past} is in the past" in in_the_past.stderr
    blank = run(stack, "dispute", "open", invoice_id, "--reason", "   ")
    assert blank.returncode == 2 and "a dispute needs a reason" in blank.stderr
    reason_alone = run(stack, "dispute", "resolve", invoice_id, "--reason", "because")
    assert reason_alone.returncode == 2 and "--reason goes with --reject" in reason_alone.stderr
    state = story(stack, invoice_id)
    assert state["dispute"] is None and state["promise_until"] is None and state["paused_until"] is None

    # A closed workflow keeps its story but takes no action.
    stack.cli("sandbox", "pay", invoice_id)
    wait_until(lambda: story(stack, invoice_id)["stage"] == "closed", what="the paid invoice to close")
    closed = run(stack, "dispute", "open", invoice_id, "--reason", "too late")
    assert closed.returncode == 1 and "workflow is closed" in closed.stderr
    shown = json.loads(run(stack, "invoice", "show", invoice_id, "--json").stdout)
    assert shown["closed_reason"] == "paid in full" and shown["amount_due"] == "0.00"


def test_a_dispute_settled_by_a_credit_note_then_the_rest_written_off(stack: DevStack) -> None:
    invoice = overdue_invoice(stack, "Umbrella Trading", "900.00")
    invoice_id = invoice["invoice_id"]
    wait_until(lambda: pending_for(stack, invoice_id), what="the first reminder to await approval")
    stack.cli("dispute", "open", invoice_id, "--reason", "two units arrived broken", "--by", "sam@northwind.example")

    proposed = stack.cli("dispute", "resolve", invoice_id, "--credit-note", "150.00", "--reason",
                         "credit for the two broken units", "--by", "sam@northwind.example")
    assert proposed["taken"] and proposed["pending"]["kind"] == "credit_note"
    item = wait_until(lambda: pending_for(stack, invoice_id), what="the credit note to await approval")
    assert (item["kind"], item["amount"], item["currency"]) == ("credit_note", "150.00", "USD")
    assert item["draft"]["balance_after"] == "750.00"
    # Nothing is posted before a human approves, and the proposer cannot approve it.
    ledger = SandboxLedger(stack.home / "sandbox.db")
    assert ledger.get_invoice(invoice_id).balance.amount == Decimal("900.00")
    small = stack.cli("approver", "add", "junior@northwind.example", "--limit", "100")
    sam = stack.cli("approver", "add", "sam@northwind.example", "--limit", "100000")
    cfo = stack.cli("approver", "add", "cfo@northwind.example", "--limit", "100000")
    url = f"{stack.web}/api/approvals/{item['workflow_id']}"
    for who, status_code, words in ((small, 409, "approval limit"), (sam, 409, "maker-checker")):
        refused = httpx.post(url, json={"decision": "approve", "item_id": item["item_id"]},
                             headers={"Authorization": f"Bearer {who['token']}"}, timeout=30)
        assert refused.status_code == status_code and words in refused.text, refused.text
    approved = httpx.post(url, json={"decision": "approve", "item_id": item["item_id"]},
                          headers={"Authorization": f"Bearer {cfo['token']}"}, timeout=30)
    assert approved.status_code == 200, approved.text

    # Posted once, allocated against the invoice: the balance drops, the dispute ends, dunning goes on the rest.
    credited = wait_until(lambda: (s := story(stack, invoice_id))["amount_due"] == "750.00" and s,
                          what="the credit note posted")
    assert credited["dispute"] is None and len(credited["credit_notes"]) == 1
    notes = ledger.list_credit_notes(invoice["customer_id"])
    assert [(n.total.amount, n.invoice_id) for n in notes] == [(Decimal("150.00"), invoice_id)]
    assert {"credit note proposed", "credit note posted"} <= {a["action"] for a in credited["audit"]}
    reminder = wait_until(lambda: (p := pending_for(stack, invoice_id)) and p["kind"] == "reminder" and p,
                          what="dunning on the rest")
    assert reminder["amount"] == "750.00"

    # The rest is written off: the balance is gone, the lifecycle closes saying how.
    stack.cli("dispute", "open", invoice_id, "--reason", "customer in liquidation", "--by", "sam@northwind.example")
    stack.cli("dispute", "resolve", invoice_id, "--write-off", "--by", "sam@northwind.example")
    item = wait_until(lambda: (p := pending_for(stack, invoice_id)) and p["kind"] == "write_off" and p,
                      what="the write-off to await approval")
    assert item["amount"] == "750.00"
    approved = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}",
                          json={"decision": "approve", "item_id": item["item_id"]},
                          headers={"Authorization": f"Bearer {cfo['token']}"}, timeout=30)
    assert approved.status_code == 200, approved.text
    closed = wait_until(lambda: (s := story(stack, invoice_id))["stage"] == "closed" and s, timeout=60,
                        what="the lifecycle closed by the write-off")
    assert closed["amount_due"] == "0.00" and closed["closed_reason"] == "settled by write-off"
    assert len(ledger.list_credit_notes(invoice["customer_id"])) == 2
