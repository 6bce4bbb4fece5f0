"""Where things live: the data dir, the database, the Temporal connection, and the running dev stack.

The dev stack writes `stack.json` in the data dir; every other command finds the running stack there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from workflows.calendar import LedgerClock

TASK_QUEUE = "duecourse"
DEFAULT_TENANT = "demo"


def data_dir() -> Path:
    return Path(os.environ.get("DUECOURSE_HOME") or Path.cwd() / ".duecourse").resolve()


class StackInfo(BaseModel):
    """What `duecourse dev` is running, written to `$DUECOURSE_HOME/stack.json`."""

    pid: int
    temporal_address: str
    namespace: str = "default"
    ui_url: str
    web_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int
    sandbox_db: str
    database_url: str
    sandbox_webhook_secret: str
    tenant: str = DEFAULT_TENANT
    company_name: str
    clock: LedgerClock


def stack_file(home: Path | None = None) -> Path:
    return (home or data_dir()) / "stack.json"


def read_stack(home: Path | None = None) -> StackInfo | None:
    path = stack_file(home)
    if not path.exists():
        return None
    return StackInfo.model_validate_json(path.read_text())


def write_stack(info: StackInfo, home: Path | None = None) -> None:
    path = stack_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(info.model_dump_json(indent=2))
    tmp.replace(path)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    temporal_address: str
    namespace: str
    task_queue: str = TASK_QUEUE

    @classmethod
    def load(cls) -> Settings:
        """Environment first (production), then the running dev stack, then local defaults."""
        home = data_dir()
        stack = read_stack(home)
        database_url = os.environ.get("DUECOURSE_DATABASE_URL") or (
            stack.database_url if stack else f"sqlite:///{home / 'duecourse.db'}"
        )
        address = os.environ.get("TEMPORAL_ADDRESS") or (stack.temporal_address if stack else "127.0.0.1:7233")
        namespace = os.environ.get("TEMPORAL_NAMESPACE") or (stack.namespace if stack else "default")
        return cls(home=home, database_url=database_url, temporal_address=address, namespace=namespace)
