"""LedgerSync: the polling backstop. A Temporal Schedule runs it per connected ledger.

Contract
- Started by the schedule `ledger-sync:<ledger>:<tenant>` (created by `duecourse dev` and
  `duecourse setup`), input `LedgerSyncInput`.
- One activity reads the ledger's changes since the persisted cursor and sends each through the same
  signal-with-start path as the webhooks, so a missed webhook is caught and a doubled one does nothing.
- Then asks for the company's risk scores to be refreshed (patched; the activity recomputes only when the stored
  ones are stale, and a failure there never fails the sync).
- Returns how many changes it routed.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError


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
RISK_ACTIVITY = "refresh_risk_scores"
# Reading a whole book can take a while on a real ledger; a failed refresh waits for the next sync run.
RISK_TIMEOUT = timedelta(minutes=10)
RISK_RETRY = RetryPolicy(maximum_attempts=2)
PATCH_RISK_REFRESH = "risk-scores-refreshed-after-sync"


class RiskRefreshInput(BaseModel):
    """What the risk refresh activity takes (activities/risk.py `RefreshRiskInput`, the same fields)."""

    ledger: str
    tenant: str


@workflow.defn
class LedgerSync:
    @workflow.run
    async def run(self, request: LedgerSyncInput) -> LedgerSyncResult:
        result: LedgerSyncResult = await workflow.execute_activity(
            SYNC_ACTIVITY, request, result_type=LedgerSyncResult,
            start_to_close_timeout=SYNC_TIMEOUT, heartbeat_timeout=SYNC_HEARTBEAT_TIMEOUT, retry_policy=SYNC_RETRY,
        )
        if workflow.patched(PATCH_RISK_REFRESH):
            try:
                await workflow.execute_activity(
                    RISK_ACTIVITY, RiskRefreshInput(ledger=request.ledger, tenant=request.tenant),
                    start_to_close_timeout=RISK_TIMEOUT, retry_policy=RISK_RETRY)
            except ActivityError as error:
                workflow.logger.warning("risk scores of %s/%s not refreshed: %s", request.ledger, request.tenant,
                                        error.cause or error)
        return result
