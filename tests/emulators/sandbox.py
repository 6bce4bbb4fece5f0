"""The sandbox ledger needs no emulator: it is a real ledger on SQLite."""

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
