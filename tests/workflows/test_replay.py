"""Replays every recorded workflow history against today's workflow code.

A change that would make a running workflow decide differently from its history fails here instead of in
production; such a change belongs behind `workflow.patched`. The InvoiceLifecycle histories are recorded
by `tests/workflows/histories/record.py`; each file is the code of its day, so both sides of a patch stay
covered.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.worker import workflow_runner
from workflows.cash_application import CashApplication
from workflows.invoice_lifecycle import (
    PATCH_AUDITS_BEHIND,
    PATCH_CHANGED_SEARCH_ATTRIBUTES,
    InvoiceLifecycle,
    invoice_workflow_id,
)
from workflows.lifecycle_messages import LifecycleInput

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
WORKFLOWS = [InvoiceLifecycle, CashApplication]


def lifecycle_id(payloads: Payloads) -> str:
    (request,) = pydantic_data_converter.payload_converter.from_payloads(payloads.payloads, [LifecycleInput])
    return invoice_workflow_id(request.ledger, request.tenant, request.invoice_id)


# The JSON holds the events only; a workflow whose code reads its own id gets it back from its input, as
# the intake derives it. Other types replay under a stand-in id.
WORKFLOW_ID_FROM_INPUT: dict[str, Callable[[Payloads], str]] = {"InvoiceLifecycle": lifecycle_id}


def load(path: Path) -> WorkflowHistory:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    started = history.events[0].workflow_execution_started_event_attributes
    id_from_input = WORKFLOW_ID_FROM_INPUT.get(started.workflow_type.name)
    if id_from_input is None:
        return history
    return dataclasses.replace(history, workflow_id=id_from_input(started.input))


def patches(history: WorkflowHistory) -> set[str]:
    """The `workflow.patched` ids a history recorded markers for."""
    found = set()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = event.marker_recorded_event_attributes.details
            if "patch-data" in details:
                found.add(json.loads(details["patch-data"].payloads[0].data)["id"])
    return found


def test_there_are_histories_to_replay() -> None:
    assert HISTORIES, "tests/workflows/histories/ holds no recorded history; run tests/workflows/histories/record.py"


@pytest.mark.parametrize("patch", [PATCH_CHANGED_SEARCH_ATTRIBUTES, PATCH_AUDITS_BEHIND])
def test_the_histories_cover_both_sides_of_a_patch(patch: str) -> None:
    lifecycles = [load(path) for path in HISTORIES if "invoice_lifecycle" in path.name]
    marked = [patch in patches(history) for history in lifecycles]
    assert True in marked and False in marked, "record a history with today's code: tests/workflows/histories/record.py"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.name)
async def test_recorded_history_replays_without_nondeterminism(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner(strict=True))
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None
