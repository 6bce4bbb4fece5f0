"""The fixtures every Xero test shares: a running emulator, and the adapter connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.ledgers.xero.ledger import XeroLedger
from tests.emulators.xero import XeroEmulator

from .connected import connected_ledger


@pytest.fixture
def emulator() -> Iterator[XeroEmulator]:
    with XeroEmulator() as running:
        yield running


@pytest.fixture
def ledger(emulator: XeroEmulator) -> Iterator[XeroLedger]:
    port = connected_ledger(emulator)
    yield port
    port.close()
