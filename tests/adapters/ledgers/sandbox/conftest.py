"""The fixtures every sandbox test shares: a ledger in a fresh SQLite file, on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.ledgers.sandbox import SandboxLedger

TODAY = date(2025, 3, 14)


class Clock:
    """A ledger clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Iterator[SandboxLedger]:
    sandbox = SandboxLedger(tmp_path / "sandbox.db", clock=clock)
    yield sandbox
    sandbox.close()
