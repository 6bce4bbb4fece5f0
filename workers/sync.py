"""The polling backstop's activity and schedules.

The activity lives on the top floor, beside the webhook intake, because it does what the intake does:
it starts and signals workflows through the Temporal client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from activities.ledger import ledger_key
from adapters.ledger import LedgerPort
from adapters.store import SyncCursors
from workers.intake import LifecycleDefaults, route_event
from workflows.ledger_sync import SYNC_ACTIVITY, LedgerSync, LedgerSyncInput, LedgerSyncResult


class SyncActivities:
    def __init__(self, client: Client, ledgers: Mapping[str, LedgerPort], cursors: SyncCursors,
                 defaults: LifecycleDefaults) -> None:
        self.client = client
        self.ledgers = ledgers
        self.cursors = cursors
        self.defaults = defaults

    @activity.defn(name=SYNC_ACTIVITY)
    async def sync_ledger_changes(self, request: LedgerSyncInput) -> LedgerSyncResult:
        port = self.ledgers[ledger_key(request.ledger, request.tenant)]
        cursor = await asyncio.to_thread(self.cursors.get, request.ledger, request.tenant)
        batch = await asyncio.to_thread(port.changes_since, cursor)
        for event in batch.events:
            await route_event(self.client, event, self.defaults)
        # Only after every change was routed: a crash in between replays them, which is harmless.
        await asyncio.to_thread(self.cursors.put, request.ledger, request.tenant, batch.cursor)
        return LedgerSyncResult(routed=len(batch.events), cursor=batch.cursor)


def schedule_id(ledger: str, tenant: str) -> str:
    return f"ledger-sync:{ledger}:{tenant}"


async def ensure_sync_schedule(client: Client, ledger: str, tenant: str, task_queue: str,
                               every: timedelta) -> str:
    """Create the backstop schedule for a ledger connection, once."""
    identifier = schedule_id(ledger, tenant)
    try:
        await client.create_schedule(
            identifier,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    LedgerSync.run, LedgerSyncInput(ledger=ledger, tenant=tenant),
                    id=f"ledger-sync:{ledger}:{tenant}", task_queue=task_queue,
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
    return identifier
