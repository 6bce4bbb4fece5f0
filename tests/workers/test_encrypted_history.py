"""Payload encryption through a real Temporal server (the time-skipping test server): with keys configured,
the client `workers.client.connect` builds writes histories whose payloads do not contain the customer's name,
reads them back decoded, and still reads a history recorded before encryption was turned on."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.conftest import start_time_skipping
from workers.client import connect

CUSTOMER = "Zanzibar Widget Traders"
KEY = base64.b64encode(bytes(range(32))).decode()
QUEUE = "codec-history"


class Reminder(BaseModel):
    customer_name: str
    amount: str


@activity.defn
async def draft_reminder(reminder: Reminder) -> str:
    return f"Dear {reminder.customer_name}, {reminder.amount} is due."


@workflow.defn(sandboxed=False)  # a test-local workflow: the codec is under test, not the sandbox
class RemindOnce:
    @workflow.run
    async def run(self, reminder: Reminder) -> str:
        return await workflow.execute_activity(draft_reminder, reminder, start_to_close_timeout=timedelta(seconds=30))


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_time_skipping()
    try:
        yield environment
    finally:
        await environment.shutdown()


async def run_reminder(client: Client) -> WorkflowHandle[RemindOnce, str]:
    async with Worker(client, task_queue=QUEUE, workflows=[RemindOnce], activities=[draft_reminder]):
        handle = await client.start_workflow(RemindOnce.run, Reminder(customer_name=CUSTOMER, amount="USD 1250.00"),
                                             id=f"remind-{uuid.uuid4()}", task_queue=QUEUE)
        await handle.result()
    return handle


async def history_payloads(handle: WorkflowHandle[RemindOnce, str]) -> list[Payload]:
    """Every payload the server stored for the run (input, activity input and result, workflow result)."""
    found: list[Payload] = []
    async for event in handle.fetch_history_events():
        for attributes in (event.workflow_execution_started_event_attributes.input,
                           event.activity_task_scheduled_event_attributes.input,
                           event.activity_task_completed_event_attributes.result,
                           event.workflow_execution_completed_event_attributes.result):
            found.extend(attributes.payloads)
    return found


async def test_history_payloads_are_encrypted_and_still_decode(env: WorkflowEnvironment,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUECOURSE_CODEC_KEYS", f"k1:{KEY}")
    monkeypatch.delenv("DUECOURSE_CODEC_KEY_FILE", raising=False)
    client = await connect(env.client.service_client.config.target_host, env.client.namespace)
    handle = await run_reminder(client)

    stored = await history_payloads(handle)
    assert len(stored) == 4
    for payload in stored:
        assert payload.metadata["encoding"] == b"binary/encrypted"
        assert payload.metadata["encryption-key-id"] == b"k1"
        assert CUSTOMER.encode() not in payload.data and b"Zanzibar" not in payload.SerializeToString()

    assert await handle.result() == f"Dear {CUSTOMER}, USD 1250.00 is due."
    # Without the key the same history is unreadable: the plain converter meets binary/encrypted.
    plain = env.client.get_workflow_handle(handle.id, result_type=str)
    with pytest.raises(KeyError, match="Unknown payload encoding binary/encrypted"):
        await plain.result()


async def test_a_history_recorded_before_encryption_still_reads(env: WorkflowEnvironment,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUECOURSE_CODEC_KEYS", raising=False)
    monkeypatch.delenv("DUECOURSE_CODEC_KEY_FILE", raising=False)
    target = env.client.service_client.config.target_host
    before = await run_reminder(await connect(target, env.client.namespace))
    assert CUSTOMER.encode() in (await history_payloads(before))[0].data  # no keys: plain, as before

    monkeypatch.setenv("DUECOURSE_CODEC_KEYS", f"k1:{KEY}")
    after = await connect(target, env.client.namespace)
    result = await after.get_workflow_handle(before.id, result_type=str).result()
    assert result == f"Dear {CUSTOMER}, USD 1250.00 is due."
