"""Issue 9 on the real dev stack, as a finance team would live it: a draft is never dunned until posted, a
policy edited while invoices run applies at their next step, a reminder held by the kill switch never leaves
once the invoice is paid meanwhile, and a customer whose every contact bounces lands on the worklist.

Driven through the CLI, the approvals API and the policy file; what is checked is what a user would look at:
the outbox, the approvals queue, the worklist and the lifecycle's own status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .stack import DevStack, outbox_for, pending_for, running_stack, status, wait_until, workflows_for

pytestmark = pytest.mark.e2e

DAY = 3  # real seconds per ledger day


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-day-one"), DAY)


@pytest.fixture(scope="module")
def approver(stack: DevStack) -> dict[str, Any]:
    return stack.cli("approver", "add", "desk@northwind.example", "--limit", "50000")


def lifecycle_of(stack: DevStack, invoice_id: str) -> str:
    found = wait_until(lambda: workflows_for(stack, invoice_id), what=f"the lifecycle of {invoice_id}")
    workflow_id: str = found[0].id
    return workflow_id


def approve(stack: DevStack, approver: dict[str, Any], invoice_id: str) -> None:
    item = wait_until(lambda: pending_for(stack, invoice_id), timeout=60, what=f"an approval for {invoice_id}")
    response = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", json={"decision": "approve"},
                          headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert response.status_code == 200, response.text


def customer(stack: DevStack, name: str, email: str, *alternates: str) -> str:
    extra = [arg for alternate in alternates for arg in ("--alternate-email", alternate)]
    customer_id: str = stack.cli("sandbox", "customer", "add", name, "--email", email, *extra)["customer_id"]
    return customer_id


def test_a_draft_is_never_dunned_until_it_is_posted(stack: DevStack) -> None:
    who = customer(stack, "Draftwell Ltd", "ap@draftwell.example")
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", who, "--amount", "700.00", "--due-in-days", "-4",
                        "--draft")
    assert invoice["status"] == "draft"
    workflow_id = lifecycle_of(stack, invoice["invoice_id"])
    wait_until(lambda: status(stack, workflow_id).stage == "draft", what="the draft stage")
    time.sleep(4 * DAY)  # four ledger days overdue and then some: a posted invoice would be dunned by now
    assert pending_for(stack, invoice["invoice_id"]) is None
    assert outbox_for(stack, invoice["invoice_id"]) == []
    assert status(stack, workflow_id).stage == "draft"

    stack.cli("sandbox", "invoice", "post", invoice["invoice_id"])
    item = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), timeout=60, what="dunning once posted")
    assert item["level"] >= 2  # overdue: the catch-up level, never the pre-due notice


def test_a_policy_edit_applies_to_a_running_lifecycle_at_its_next_step(stack: DevStack) -> None:
    policy = stack.home / "policy.toml"
    written = policy.read_text()
    assert stack.cli("policy", "check", str(policy))["ok"] is True
    who = customer(stack, "Policyholm AB", "ap@policyholm.example")
    # The first reminder is three ledger days before the due date: the lifecycle sleeps until then.
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", who, "--amount", "1200.00", "--due-in-days", "6")
    workflow_id = lifecycle_of(stack, invoice["invoice_id"])
    wait_until(lambda: status(stack, workflow_id).stage == "awaiting_due_date", what="the lifecycle asleep")
    try:
        # The business decides no reminder needs a human: the sleeping lifecycle sends its first one unasked.
        assert 'reminders = "all"' in written
        policy.write_text(written.replace('reminders = "all"', 'reminders = "none"'))
        assert stack.cli("policy", "show")["policy"]["approval"]["reminders"] == "none"
        sent = wait_until(lambda: outbox_for(stack, invoice["invoice_id"]), timeout=12 * DAY,
                          what="the first reminder sent without approval")
        assert sent[0]["approved_by"] is None
        assert pending_for(stack, invoice["invoice_id"]) is None
        assert status(stack, workflow_id).policy_digest == stack.cli("policy", "show")["digest"]
    finally:
        policy.write_text(written)


def test_a_reminder_held_by_the_kill_switch_never_leaves_once_the_invoice_is_paid(
    stack: DevStack, approver: dict[str, Any],
) -> None:
    who = customer(stack, "Holdfast GmbH", "ap@holdfast.example")
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", who, "--amount", "880.00", "--due-in-days", "1")
    workflow_id = lifecycle_of(stack, invoice["invoice_id"])
    stack.cli("pause")
    try:
        approve(stack, approver, invoice["invoice_id"])
        time.sleep(2 * DAY)
        assert outbox_for(stack, invoice["invoice_id"]) == []
        stack.cli("sandbox", "pay", invoice["invoice_id"])
    finally:
        stack.cli("resume")
    wait_until(lambda: status(stack, workflow_id).stage == "closed", timeout=60, what="the lifecycle closed as paid")
    assert status(stack, workflow_id).closed_reason == "paid in full"
    assert outbox_for(stack, invoice["invoice_id"]) == []


def test_a_customer_whose_every_contact_bounces_lands_on_the_worklist(
    stack: DevStack, approver: dict[str, Any],
) -> None:
    who = customer(stack, "Nowhere Supplies", "reject-ap@bounce.test", "reject-billing@bounce.test")
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", who, "--amount", "515.00", "--due-in-days", "1")
    workflow_id = lifecycle_of(stack, invoice["invoice_id"])
    approve(stack, approver, invoice["invoice_id"])
    wait_until(lambda: status(stack, workflow_id).stage == "escalated", timeout=60, what="the escalation")
    state = status(stack, workflow_id)
    assert sorted(state.bad_addresses) == ["reject-ap@bounce.test", "reject-billing@bounce.test"]
    # One reminder, refused at each contact in turn; nothing was sent anywhere.
    assert [r.to for r in state.reminders if r.outcome == "bounced"] == ["reject-ap@bounce.test",
                                                                         "reject-billing@bounce.test"]
    assert not [r for r in state.reminders if r.outcome == "sent"]
    rows = httpx.get(f"{stack.web}/api/worklist", timeout=30).json()
    row = next(row for row in rows if row["invoice_id"] == invoice["invoice_id"])
    assert row["stage"] == "escalated" and row["collector"] is None
    assert "bounced" in row["next_step"]
