"""The fixtures every Intacct test shares: a running emulator, and adapters connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.ledgers.intacct.ledger import IntacctLedger
from tests.emulators.intacct import IntacctEmulator

from .connected import Connect, connected_ledger


@pytest.fixture
def emulator() -> Iterator[IntacctEmulator]:
    with IntacctEmulator() as running:
        yield running


@pytest.fixture
def connect(emulator: IntacctEmulator) -> Iterator[Connect]:
    """`connect(**options)`: another adapter connected to the emulator, closed after the test."""
    ports: list[IntacctLedger] = []

    def connected(**options: Any) -> IntacctLedger:
        ports.append(connected_ledger(emulator, **options))
        return ports[-1]

    yield connected
    for port in ports:
        port.close()


@pytest.fixture
def ledger(connect: Connect) -> IntacctLedger:
    return connect()
