"""Workflow modules import only light modules: messages, error names, pure rules.

The worker's sandbox re-imports a workflow's modules for every run it caches, so whatever a workflow
module pulls in (an SDK, a database layer, an HTTP client) costs memory per sleeping invoice and can
break determinism. Each module is imported in a fresh interpreter, so nothing another test loaded
hides what it brings in.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import workflows

HEAVY = ("openai", "sqlmodel", "sqlalchemy", "httpx", "rapidfuzz", "fastapi", "requests", "quickbooks",
         "xero_python")
ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_MODULES = sorted(f"workflows.{module.name}" for module in pkgutil.iter_modules(workflows.__path__))


def test_the_workflow_modules_are_found() -> None:
    assert {"workflows.invoice_lifecycle", "workflows.cash_application", "workflows.ledger_sync"} <= set(
        WORKFLOW_MODULES)


@pytest.mark.parametrize("module", WORKFLOW_MODULES)
def test_importing_a_workflow_module_loads_no_sdk_database_or_http_library(module: str) -> None:
    probe = (f"import sys, {module}\n"
             f"print(' '.join(sorted(name for name in {HEAVY!r} if name in sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True).stdout.split()
    assert loaded == [], f"importing {module} loads {', '.join(loaded)}"


MUTABLE = (dict, list, set, bytearray)


@pytest.mark.parametrize("module", WORKFLOW_MODULES)
def test_a_workflow_module_keeps_no_mutable_state(module: str) -> None:
    """The worker shares workflow modules between cached runs (`workers.worker.workflow_runner`): a dict or
    list at module level would carry one invoice's state into another's run."""
    loaded = importlib.import_module(module)
    mutable = sorted(name for name, value in vars(loaded).items()
                     if not name.startswith("__") and isinstance(value, MUTABLE))
    assert mutable == [], f"{module} holds mutable module-level state: {', '.join(mutable)}"
