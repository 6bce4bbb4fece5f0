"""Fixtures of the workflow tests: one invoice's life on the time-skipping server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflows.test_invoice_lifecycle import Life


@pytest.fixture
def life(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[Life]:
    life = Life.in_directory(time_skipping_env, tmp_path)
    yield life
    life.ledger.close()
