"""A data dir whose stack.json points at a sandbox ledger file, as `duecourse dev` writes it, with no process
behind it: for CLI commands that act on the dev stack's ledger without Temporal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from workers.settings import StackInfo, write_stack
from workflows.calendar import LedgerClock


def fake_stack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DUECOURSE_HOME", str(home))
    write_stack(StackInfo(
        pid=1, temporal_address="127.0.0.1:1", ui_url="http://127.0.0.1:1", web_url="http://127.0.0.1:2",
        smtp_port=1, sandbox_db=str(home / "sandbox.db"), database_url=f"sqlite:///{home / 'store.db'}",
        sandbox_webhook_secret="s", company_name="Northwind Traders",
        clock=LedgerClock(epoch_date=date(2025, 3, 1), epoch_instant=datetime(2025, 3, 1, tzinfo=UTC)),
    ), home)
    return home
