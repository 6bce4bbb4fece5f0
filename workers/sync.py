"""The polling backstop's activity and schedules.

The activity lives on the top floor, beside the webhook intake, because it does what the intake does:
it starts and signals workflows through the Temporal client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ValidationError
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
from adapters.ledger import ChangeBatch, LedgerPort
from adapters.store import SyncCursors
from workers.intake import LifecycleDefaults, route_event
from workflows.ledger_sync import SYNC_ACTIVITY, LedgerSync, LedgerSyncInput, LedgerSyncResult

# Well inside the workflow's heartbeat timeout (SYNC_HEARTBEAT_TIMEOUT): a long read of the change feed
# still says it is alive.
READING_HEARTBEAT_EVERY = timedelta(seconds=10)


class SyncProgress(BaseModel):
    """What a sync attempt heartbeats: the cursor it read from, and how far it routed the batch it read
    (`batch_cursor` None: still reading). A retry reads that cursor again and goes on from there."""

    cursor: str | None
    batch_cursor: str | None = None
    routed: int = 0
    last_event_id: str | None = None


def resume_point(previous: SyncProgress | None, cursor: str | None, batch: ChangeBatch) -> int:
    """How many changes of `batch` an earlier attempt already routed: its progress counts only when it read
    the same batch (same cursor in and out, and the same change where it stopped), else routing starts over,
    which is harmless (every workflow drops an event id it has seen)."""
    if previous is None or previous.cursor != cursor or previous.batch_cursor != batch.cursor:
        return 0
    done = previous.routed
    if 0 < done <= len(batch.events) and batch.events[done - 1].event_id == previous.last_event_id:
        return done
    return 0


def previous_progress() -> SyncProgress | None:
    details = activity.info().heartbeat_details
    if not details:
        return None
    try:
        return SyncProgress.model_validate(details[0])
    except ValidationError:
        activity.logger.warning("ignoring unreadable sync progress %r", details[0])
        return None


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
        batch = await self._read_changes(port, cursor)
        start = resume_point(previous_progress(), cursor, batch)
        for routed, event in enumerate(batch.events[start:], start=start + 1):
            await route_event(self.client, event, self.defaults, self.ledgers)
            activity.heartbeat(SyncProgress(cursor=cursor, batch_cursor=batch.cursor, routed=routed,
                                            last_event_id=event.event_id))
        # Only after every change was routed: a crash in between replays them, which is harmless.
        await asyncio.to_thread(self.cursors.put, request.ledger, request.tenant, batch.cursor)
        return LedgerSyncResult(routed=len(batch.events), cursor=batch.cursor)

    async def _read_changes(self, port: LedgerPort, cursor: str | None) -> ChangeBatch:
        """The ledger's changes since `cursor`, heartbeating while the adapter pages through them."""
        reading = asyncio.ensure_future(asyncio.to_thread(port.changes_since, cursor))
        while not reading.done():
            activity.heartbeat(SyncProgress(cursor=cursor))
            await asyncio.wait({reading}, timeout=READING_HEARTBEAT_EVERY.total_seconds())
        return reading.result()


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
