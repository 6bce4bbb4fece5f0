"""Fixtures of the QuickBooks adapter tests: a running emulator, a token store holding its tokens, and the
adapter connected to both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.ledgers.oauth import MemoryTokenStore
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from tests.adapters.ledgers.quickbooks.connected import (
    connected_ledger,
)
from tests.emulators.quickbooks import QuickBooksEmulator


@pytest.fixture
def emulator() -> Iterator[QuickBooksEmulator]:
    with QuickBooksEmulator() as running:
        yield running


@pytest.fixture
def store(emulator: QuickBooksEmulator) -> MemoryTokenStore:
    tokens = MemoryTokenStore()
    tokens.save("quickbooks", emulator.issue_tokens())
    return tokens


@pytest.fixture
def ledger(emulator: QuickBooksEmulator, store: MemoryTokenStore) -> QuickBooksLedger:
    return connected_ledger(emulator, store)
