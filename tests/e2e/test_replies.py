"""Issue 13 on the real dev stack: a customer answers a captured reminder through the stack's SMTP port, and
the reply drives the invoice: a promise pauses dunning until its date, an unclear question becomes a `reply`
item that an approver settles through the approvals API."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

import httpx
import pytest

from workers.settings import read_stack

from .stack import DevStack, pending_for, running_stack, status, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-replies"), 4)


@pytest.fixture(scope="module")
def approver(stack: DevStack) -> dict[str, Any]:
    return stack.cli("approver", "add", "desk@northwind.example", "--limit", "50000")


def ledger_today(stack: DevStack) -> date:
    info = read_stack(stack.home)
    assert info is not None
    today: date = info.clock.today(datetime.now(UTC), "UTC")
    return today


def reminder_sent(stack: DevStack, approver: dict[str, Any], name: str, email: str) -> tuple[str, str, Message]:
    customer = stack.cli("sandbox", "customer", "add", name, "--email", email)
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "720.00",
                        "--due-in-days", "-5")
    item = wait_until(lambda: pending_for(stack, invoice["invoice_id"]), what="the reminder's approval")
    approved = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}",
                          json={"decision": "approve", "item_id": item["item_id"]},
                          headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert approved.status_code == 200, approved.text

    def captured() -> list[Message]:
        paths = sorted((stack.home / "mail").glob("*.eml"))
        mails = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]
        return [m for m in mails if str(m["To"]).lower() == email]

    (mail,) = wait_until(captured, timeout=60, what="the reminder in the captured mail")
    return invoice["invoice_id"], item["workflow_id"], mail


def reply(stack: DevStack, reminder: Message, words: str, *, by_reply_to: bool = False) -> None:
    answer = EmailMessage()
    answer["From"] = str(reminder["To"])
    answer["To"] = str(reminder["Reply-To"] if by_reply_to else reminder["From"])
    answer["Subject"] = f"Re: {reminder['Subject']}"
    if not by_reply_to:
        answer["In-Reply-To"] = str(reminder["Message-ID"])
    quoted = "\n".join(f"> {line}" for line in reminder.get_content().splitlines()[:6]) if isinstance(
        reminder, EmailMessage) else ""
    answer.set_content(f"{words}\n\n{quoted}\n")
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp"], timeout=10) as smtp:
        smtp.send_message(answer)


def test_a_reply_with_a_promise_pauses_the_invoice_until_that_day(stack: DevStack, approver: dict[str, Any]) -> None:
    invoice_id, workflow_id, reminder = reminder_sent(stack, approver, "Pendant Publishing", "ap@pendant.example")
    assert str(reminder["Reply-To"]).startswith("reply+")
    promised = ledger_today(stack) + timedelta(days=40)
    reply(stack, reminder, f"Apologies for the delay. We will pay on {promised.isoformat()}.")
    state = wait_until(lambda: (s := status(stack, workflow_id)).promise_until and s, timeout=30,
                       what="the promise from the reply")
    assert state.promise_until == promised and state.stage == "paused"
    story = stack.cli("invoice", "show", invoice_id)
    assert any(a["action"] == "reply read" and str(promised) in a["result"] for a in story["audit"])


def test_an_unclear_reply_waits_for_a_person_who_reads_it_as_a_dispute(
    stack: DevStack, approver: dict[str, Any],
) -> None:
    invoice_id, workflow_id, reminder = reminder_sent(stack, approver, "Kramerica LLC", "ap@kramerica.example")
    reply(stack, reminder, "Could you tell me which purchase order this is for?", by_reply_to=True)
    item = wait_until(lambda: (p := pending_for(stack, invoice_id)) and p["kind"] == "reply" and p, timeout=30,
                      what="the reply item")
    assert "purchase order" in item["draft"]["text"]
    decided = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}",
                         json={"decision": "edit", "item_id": item["item_id"],
                               "text": "dispute they have no purchase order for it"},
                         headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert decided.status_code == 200, decided.text
    state = wait_until(lambda: (s := status(stack, workflow_id)).dispute and s, timeout=30, what="the dispute")
    assert "no purchase order" in (state.dispute or "") and state.stage == "paused"
