"""Pending approvals and decisions, as the API and the form both see them.

There is no queue here: pending items are read from Temporal visibility (`AwaitingApproval = true`) and
asked of each workflow; a decision is delivered to the workflow as an update, whichever kind it is,
through `ApprovalInterface`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import HTTPException
from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.store import Approver
from workers.web.metrics import count_decision
from workflows.approvals import AllocationChoice, ApprovalInterface, Decision, DecisionKind, PendingApproval

PENDING_QUERY = "AwaitingApproval = true AND ExecutionStatus = 'Running'"


class DecisionBody(BaseModel):
    decision: Literal["approve", "reject", "edit", "snooze"]
    text: str | None = None
    subject: str | None = None
    reason: str | None = None
    item_id: str | None = None
    snooze_days: int | None = None
    # payment matches: the invoices (and amounts) a clerk picked instead of the suggestion
    allocations: list[AllocationChoice] | None = None
    customer_id: str | None = None


async def pending_items(client: Client) -> list[PendingApproval]:
    """Every item awaiting a decision, oldest first."""
    handles = [wf.id async for wf in client.list_workflows(PENDING_QUERY, limit=500)]

    async def one(workflow_id: str) -> PendingApproval | None:
        try:
            return await client.get_workflow_handle(workflow_id).query(ApprovalInterface.pending_approval)
        except RPCError:
            return None  # closed between listing and asking: no longer pending

    items = await asyncio.gather(*(one(wid) for wid in handles))
    found = [item for item in items if item is not None]
    return sorted(found, key=lambda item: item.requested_at)


async def refuse_other_currency(client: Client, workflow_id: str, approver: Approver) -> None:
    """409 when the pending item is in a currency the approver's limit is not (issue 14: a limit of 10,000 USD
    does not allow 9,000 KWD); admins, and approvers whose limit predates currencies, are not restricted."""
    if approver.currency is None or approver.role == "admin":
        return
    try:
        pending = await client.get_workflow_handle(workflow_id).query(ApprovalInterface.pending_approval)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(409, f"{workflow_id} is not running: the item is stale") from error
        raise HTTPException(503, f"Temporal is unreachable: {error.message}") from error
    if pending is not None and pending.currency.upper() != approver.currency.upper():
        raise HTTPException(
            409, f"{pending.currency} {pending.amount} is in {pending.currency}, but {approver.email}'s approval "
                 f"limit is in {approver.currency}: an approver with a {pending.currency} limit or an admin must "
                 f"decide it")


async def deliver(client: Client, workflow_id: str, approver: Approver, body: DecisionBody) -> dict[str, Any]:
    """The approver's decision as an update; a refusal by the workflow (stale, over the limit) or an item in
    another currency than the approver's limit is a 409."""
    await refuse_other_currency(client, workflow_id, approver)
    decision = Decision(
        decision=DecisionKind(body.decision), approver=approver.email, approver_limit=approver.limit,
        item_id=body.item_id, text=body.text, subject=body.subject, reason=body.reason,
        snooze_days=body.snooze_days, allocations=body.allocations, customer_id=body.customer_id,
    )
    handle = client.get_workflow_handle(workflow_id)
    try:
        result = await handle.execute_update(ApprovalInterface.decide, decision)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = getattr(cause, "message", None) or str(cause or error)
        count_decision(body.decision, "refused")
        raise HTTPException(409, message) from error
    except RPCError as error:
        count_decision(body.decision, "stale" if error.status == RPCStatusCode.NOT_FOUND else "unavailable")
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(409, f"{workflow_id} is not running: the item is stale") from error
        raise HTTPException(503, f"Temporal is unreachable: {error.message}") from error
    count_decision(body.decision, "applied")
    return result.model_dump(mode="json")
