"""Issue 11 on the real dev stack: a customer's statement on request is a `statement` item; approved, it arrives
in the captured mail as a PDF whose figures match the ledger (read back with pypdf, as a viewer would)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from .stack import DevStack, running_stack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-statements"), 20)


def mail_to(stack: DevStack, address: str, subject_has: str) -> list[EmailMessage]:
    found = []
    for path in sorted((stack.home / "mail").glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if isinstance(message, EmailMessage) and str(message["To"]).lower() == address \
                and subject_has in str(message["Subject"]):
            found.append(message)
    return found


def test_a_statement_on_request_is_approved_and_mailed_as_a_pdf(stack: DevStack) -> None:
    approver: dict[str, Any] = stack.cli("approver", "add", "lead@northwind.example", "--limit", "100000")
    customer = stack.cli("sandbox", "customer", "add", "Stark Fabrication", "--email", "ap@stark.example")
    first = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "1200.00",
                      "--due-in-days", "20")
    second = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "350.50",
                       "--due-in-days", "25")
    stack.cli("sandbox", "pay", first["invoice_id"], "--amount", "200.00")

    started = stack.cli("statement", "send", customer["customer_id"])
    assert started["customer_id"] == customer["customer_id"]
    item = wait_until(lambda: next((i for i in httpx.get(f"{stack.web}/api/approvals", timeout=10).json()
                                    if i["kind"] == "statement" and i["customer_id"] == customer["customer_id"]),
                                   None), timeout=60, what="the statement item")
    assert item["currency"] == "USD" and item["amount"] == "1350.50"  # what the customer owes at the end
    approved = httpx.post(f"{stack.web}/api/approvals/{item['workflow_id']}",
                          json={"decision": "approve", "item_id": item["item_id"]},
                          headers={"Authorization": f"Bearer {approver['token']}"}, timeout=30)
    assert approved.status_code == 200, approved.text

    (mail,) = wait_until(lambda: mail_to(stack, "ap@stark.example", "tatement"), timeout=60,
                         what="the statement in the captured mail")
    (attachment,) = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages)
    assert "Stark Fabrication" in text
    for figure in ("1,200.00", "350.50", "200.00", "1,350.50"):
        assert figure in text, (figure, text)
    for invoice in (first, second):
        assert invoice["invoice_number"] in text
