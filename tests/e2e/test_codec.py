"""End to end on `duecourse dev`: the stack's workflow histories hold encrypted payloads (unreadable to a
Temporal client without the key), and the web app's `/codec/decode` (what the Temporal UI calls) reads them."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from .stack import DevStack, running_stack, wait_until, workflows_for

pytestmark = pytest.mark.e2e

CUSTOMER = "Quetzalcoatl Ceramics"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("duecourse-codec"), 4)


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload in a history event, except search attributes (indexed by the server, never encoded)."""
    for field, value in message.ListFields():
        if field.name == "search_attributes" or field.message_type is None:
            continue
        if isinstance(value, Message):
            items: list[Any] = [value]
        elif hasattr(value, "keys"):  # a map field
            items = [value[key] for key in value]
        else:  # a repeated field
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from payloads_in(item)


def stored_payloads(stack: DevStack, workflow_id: str) -> list[Payload]:
    async def read() -> list[Payload]:
        plain = await Client.connect(stack.temporal_address)  # a client without the key, as a provider sees it
        found: list[Payload] = []
        async for event in plain.get_workflow_handle(workflow_id).fetch_history_events():
            # The SDK core records `workflow.patched` markers itself, outside the codec: they hold only patch ids.
            if event.marker_recorded_event_attributes.marker_name == "core_patch":
                continue
            found.extend(payloads_in(event))
        return found

    return asyncio.run(read())


def test_history_payloads_are_encrypted_and_decode_through_the_codec_endpoint(stack: DevStack) -> None:
    key_file = stack.home / "codec.key"
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
    customer = stack.cli("sandbox", "customer", "add", CUSTOMER, "--email", "ap@quetzalcoatl.example")
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", "980.00",
                        "--due-in-days", "-5")
    [found] = wait_until(lambda: workflows_for(stack, invoice["invoice_id"]), what="the invoice workflow")

    ui = f"http://127.0.0.1:{stack.ports['ui']}"

    def decode(payloads: list[Payload]) -> httpx.Response:
        body: dict[str, Any] = {"payloads": [
            {"metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
             "data": base64.b64encode(p.data).decode()} for p in payloads]}
        return httpx.post(f"{stack.web}/codec/decode", json=body,
                          headers={"Origin": ui, "X-Namespace": "default"}, timeout=30)

    def with_the_customer() -> tuple[list[Payload], httpx.Response] | None:
        # Wait until the ledger's answer (which names the customer) is in the history, however fast it came.
        payloads = stored_payloads(stack, found.id)
        answer = decode(payloads)
        decoded = [base64.b64decode(p.get("data", "")) for p in answer.json().get("payloads", [])]
        return (payloads, answer) if any(CUSTOMER.encode() in data for data in decoded) else None

    payloads, answer = wait_until(with_the_customer, what="the customer's name in the decoded history")
    for payload in payloads:
        assert payload.metadata["encoding"] == b"binary/encrypted", payload
        assert b"Quetzalcoatl" not in payload.data
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == ui
    assert len(answer.json()["payloads"]) == len(payloads)
    assert all(base64.b64decode(p["metadata"]["encoding"]) != b"binary/encrypted" for p in answer.json()["payloads"])
