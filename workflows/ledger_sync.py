"""LedgerSync: the polling backstop. A Temporal Schedule runs it per connected ledger.

Contract
- Started by the schedule `ledger-sync:<ledger>:<tenant>` (created by `duecourse dev` and
  `duecourse setup`), input `LedgerSyncInput`.
- One activity reads the ledger's changes since the persisted cursor and sends each through the same
  signal-with-start path as the webhooks, so a missed webhook is caught and a doubled one does nothing.
- Returns how many changes it routed.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy


class LedgerSyncInput(BaseModel):
    ledger: str
    tenant: str


class LedgerSyncResult(BaseModel):
    routed: int
    cursor: str


SYNC_ACTIVITY = "sync_ledger_changes"
# One read of the change feed (the adapter pages it) and a signal-with-start per change. The activity
# heartbeats while it reads and after every change it routes, so a lost worker is noticed within the
# heartbeat timeout and the retry goes on from the heartbeat's progress instead of the start.
SYNC_TIMEOUT = timedelta(minutes=5)
SYNC_HEARTBEAT_TIMEOUT = timedelta(seconds=30)
SYNC_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))


@workflow.defn
class LedgerSync:
    @workflow.run
    async def run(self, request: LedgerSyncInput) -> LedgerSyncResult:
        result: LedgerSyncResult = await workflow.execute_activity(
            SYNC_ACTIVITY, request, result_type=LedgerSyncResult,
            start_to_close_timeout=SYNC_TIMEOUT, heartbeat_timeout=SYNC_HEARTBEAT_TIMEOUT, retry_policy=SYNC_RETRY,
        )
        return result
