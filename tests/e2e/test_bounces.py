"""Bounces on the real dev stack: the capture refuses `reject-*@bounce.test` at RCPT TO and answers other
addresses there with a DSN, which the inbound reader turns into a bad address and a signal to the lifecycle.

Driven as a user would: the CLI makes the customer (with an alternate contact) and the invoice, an approver
approves through the API; what is checked is the captured mail, the store's outbox and bad-address list and
the lifecycle's own status."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.store import Store

from .stack import DevStack, pending_for, running_stack, status, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-bounces"), 4)


def captured(home: Path, to: str) -> list[Message]:
    messages = [message_from_bytes(path.read_bytes()) for path in sorted((home / "mail").glob("*.eml"))]
    return [m for m in messages if str(m["To"]).lower() == to]


def approved_reminder(stack: DevStack, name: str, email: str, alternates: list[str]) -> dict[str, Any]:
    extra = [arg for alternate in alternates for arg in ("--alternate-email", alternate)]
    customer = stack.cli("sandbox", "customer", "add", name, "--email", email, *extra)
    assert customer["alternate_emails"] == alternates
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "410.00",
                        "--due-in-days", "1")
    approver = stack.cli("approver", "add", f"desk-{customer['customer_id'].lower()}@northwind.example",
                         "--limit", "5000")
    item = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="the first reminder's approval")
    response = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}", json={"decision": "approve"},
                          headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert response.status_code == 200, response.text
    return {"invoice": invoice, "workflow_id": item["workflow_id"]}


def test_a_refused_first_contact_is_marked_bad_and_the_alternate_gets_the_reminder(stack: DevStack) -> None:
    store = Store(f"sqlite:///{stack.home / 'duecourse.db'}")
    case = approved_reminder(stack, "Initech Corp", "reject-ap@bounce.test", ["billing@initech.example"])
    alternate = wait_until(lambda: captured(stack.home, "billing@initech.example"), timeout=90,
                           what="the reminder at the alternate contact")
    assert case["invoice"]["invoice_number"] in str(alternate[0]["Subject"])
    assert captured(stack.home, "reject-ap@bounce.test") == []  # refused at RCPT: nothing was accepted
    bad = store.bad_address("reject-ap@bounce.test")
    assert bad is not None and bad.source == "smtp" and "5.1.1" in bad.reason
    outcomes = {m.to: m.status for m in store.list_outbox(invoice_id=case["invoice"]["invoice_id"])}
    assert outcomes == {"reject-ap@bounce.test": "bounced", "billing@initech.example": "sent"}
    assert "reject-ap@bounce.test" in status(stack, case["workflow_id"]).bad_addresses


def test_a_dsn_after_delivery_marks_the_address_bad_and_tells_the_lifecycle(stack: DevStack) -> None:
    store = Store(f"sqlite:///{stack.home / 'duecourse.db'}")
    case = approved_reminder(stack, "Vandelay Industries", "nobody@bounce.test", ["ar@vandelay.example"])
    first = wait_until(lambda: captured(stack.home, "nobody@bounce.test"), timeout=90, what="the reminder")[0]
    records = wait_until(lambda: [r for r in store.list_inbound() if r.workflow_id == case["workflow_id"]],
                         timeout=30, what="the DSN at the inbound reader")
    # At four seconds a ledger day the next level may reach the address before the first DSN is back: each
    # reminder that went there gets its own DSN, and each is read the same way.
    assert records[-1].original_message_id == first["Message-ID"]
    assert {(r.kind, r.outcome, r.address, r.status) for r in records} == {
        ("dsn", "signalled", "nobody@bounce.test", "5.1.1")}
    dsn = [m for m in captured(stack.home, "ar@duecourse.local") if m.get_content_type() == "multipart/report"]
    assert dsn and all(m["Subject"] == "Undelivered Mail Returned to Sender" for m in dsn)
    sent_there = {m.message_id for m in store.list_outbox(invoice_id=case["invoice"]["invoice_id"])
                  if m.to == "nobody@bounce.test"}
    assert {r.original_message_id for r in store.list_inbound() if r.workflow_id == case["workflow_id"]} <= sent_there
    bad = store.bad_address("nobody@bounce.test")
    assert bad is not None and bad.source == "dsn"
    wait_until(lambda: "nobody@bounce.test" in status(stack, case["workflow_id"]).bad_addresses, timeout=30,
               what="the lifecycle to know the address is bad")
