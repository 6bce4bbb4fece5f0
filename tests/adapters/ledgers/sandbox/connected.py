"""The sandbox as the contract suite meets it (tests/adapters/ledgers/test_contract.py: `contract_ledger`).

The sandbox needs no emulator, unlike the other ledgers: it is a real ledger on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.ledgers.sandbox import SandboxLedger


@contextmanager
def contract_ledger(tmp_path: Path) -> Iterator[SandboxLedger]:
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="contract")
    try:
        yield ledger
    finally:
        ledger.close()
