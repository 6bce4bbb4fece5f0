"""Replays every recorded InvoiceLifecycle history against today's workflow code.

A change that would make a running invoice workflow decide differently from its history fails here
instead of in production; such a change belongs behind `workflow.patched`. The histories are recorded
by `tests/histories/record.py`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.worker import workflow_runner
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.lifecycle_messages import LifecycleInput

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    """The history with the workflow id it ran under (the JSON holds the events only; the id follows from
    the input, as the intake derives it)."""
    history = WorkflowHistory.from_json("unknown", path.read_text())
    started = history.events[0].workflow_execution_started_event_attributes
    (request,) = pydantic_data_converter.payload_converter.from_payloads(started.input.payloads, [LifecycleInput])
    return dataclasses.replace(history, workflow_id=invoice_workflow_id(request.ledger, request.tenant,
                                                                        request.invoice_id))


def test_there_are_histories_to_replay() -> None:
    assert HISTORIES, "tests/histories/ holds no recorded history; run tests/histories/record.py"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.name)
async def test_recorded_history_replays_without_nondeterminism(path: Path) -> None:
    replayer = Replayer(workflows=[InvoiceLifecycle], data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None
