"""The polling backstop's activity heartbeats its progress, and a retry goes on from it.

The ledger is the real sandbox; the Temporal client is a fake that records the workflows it is asked to
signal-with-start (and can fail part-way, as a lost connection would); the cursor store is a dict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from adapters.ledger import ChangeBatch
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import SyncCursors
from workers.intake import LifecycleDefaults
from workers.sync import SyncActivities, SyncProgress, resume_point
from workflows.ledger_sync import LedgerSyncInput

REQUEST = LedgerSyncInput(ledger="sandbox", tenant="demo")


class FlakyClient:
    """Records every workflow id it starts; raises on the start numbered `fail_on` (1-based)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.started: list[str] = []
        self.fail_on = fail_on

    async def start_workflow(self, run: Any, request: Any, *, id: str, **options: Any) -> None:
        if self.fail_on is not None and len(self.started) + 1 == self.fail_on:
            raise ConnectionError("Temporal frontend unreachable")
        self.started.append(id)


class Cursors:
    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], str] = {}

    def get(self, ledger: str, tenant: str) -> str | None:
        return self.saved.get((ledger, tenant))

    def put(self, ledger: str, tenant: str, cursor: str) -> None:
        self.saved[(ledger, tenant)] = cursor


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SandboxLedger]:
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="demo")
    yield ledger
    ledger.close()


def sync(client: FlakyClient, ledger: SandboxLedger, cursors: Cursors) -> SyncActivities:
    return SyncActivities(cast(Client, client), {"sandbox/demo": ledger}, cast(SyncCursors, cursors),
                          LifecycleDefaults(task_queue="sync-test", company_name="Northwind Studio"))


def invoices(ledger: SandboxLedger, n: int) -> list[str]:
    customer = ledger.add_customer("Vandelay Industries", email="ap@vandelay.example")
    return [ledger.add_invoice(customer.id, Decimal("100.00") + i, due_date=date.today() + timedelta(days=30)).id
            for i in range(n)]


async def test_a_retried_sync_routes_only_what_the_failed_attempt_had_not(ledger: SandboxLedger) -> None:
    cursors = Cursors()
    cursors.put("sandbox", "demo", ledger.changes_since(None).cursor)
    ids = invoices(ledger, 4)
    beats: list[SyncProgress] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details[0])

    flaky = FlakyClient(fail_on=3)
    with pytest.raises(ConnectionError):
        await env.run(sync(flaky, ledger, cursors).sync_ledger_changes, REQUEST)
    assert len(flaky.started) == 2
    assert beats[-1].routed >= 1 and cursors.get("sandbox", "demo") == beats[-1].cursor

    # Temporal hands the last heartbeat back to the next attempt, as JSON.
    env.info = dataclasses.replace(env.info, attempt=2, heartbeat_details=[beats[-1].model_dump(mode="json")])
    steady = FlakyClient()
    result = await env.run(sync(steady, ledger, cursors).sync_ledger_changes, REQUEST)
    assert sorted(flaky.started + steady.started) == sorted(f"invoice:sandbox:demo:{i}" for i in ids)
    assert not set(flaky.started) & set(steady.started)
    assert result.cursor == cursors.get("sandbox", "demo") != beats[-1].cursor


async def test_progress_from_another_cursor_is_ignored_and_everything_is_routed(ledger: SandboxLedger) -> None:
    cursors = Cursors()
    cursors.put("sandbox", "demo", ledger.changes_since(None).cursor)
    ids = invoices(ledger, 2)
    env = ActivityEnvironment()
    stale = SyncProgress(cursor="0", batch_cursor="3", routed=1, last_event_id="evt-old")
    env.info = dataclasses.replace(env.info, attempt=2, heartbeat_details=[stale.model_dump(mode="json")])
    client = FlakyClient()
    await env.run(sync(client, ledger, cursors).sync_ledger_changes, REQUEST)
    assert sorted(client.started) == sorted(f"invoice:sandbox:demo:{i}" for i in ids)


def test_resume_point_counts_progress_only_for_the_same_batch(ledger: SandboxLedger) -> None:
    start = ledger.changes_since(None).cursor
    invoices(ledger, 3)
    batch = ledger.changes_since(start)
    second = batch.events[1].event_id
    done = SyncProgress(cursor=start, batch_cursor=batch.cursor, routed=2, last_event_id=second)
    assert resume_point(done, start, batch) == 2
    assert resume_point(None, start, batch) == 0
    assert resume_point(done, "another cursor", batch) == 0
    assert resume_point(done.model_copy(update={"batch_cursor": "a longer batch"}), start, batch) == 0
    assert resume_point(done.model_copy(update={"last_event_id": "another event"}), start, batch) == 0
    assert resume_point(done.model_copy(update={"routed": 99}), start, batch) == 0
    assert resume_point(SyncProgress(cursor=start), start, ChangeBatch(events=[], cursor=start)) == 0
