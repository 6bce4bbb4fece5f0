"""The approvals API (what the form uses, and what chat integrations can use) and the outbox API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from workers.web.decisions import DecisionBody, deliver, pending_items
from workers.web.deps import BearerApprover, StoreDep, TemporalDep, reads_allowed
from workflows.approvals import PendingApproval

router = APIRouter()


def approval_json(item: PendingApproval) -> dict[str, Any]:
    return {
        "workflow_id": item.workflow_id,
        "item_id": item.item_id,
        "kind": item.kind,
        "invoice_id": item.invoice_id,
        "invoice_number": item.invoice_number,
        "customer_id": item.customer_id,
        "customer_name": item.customer_name,
        "amount": str(item.amount),
        "currency": item.currency,
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "level": item.level,
        "reminder_number": item.reminder_number,
        "to": item.to,
        "why": item.why,
        "requested_at": item.requested_at.isoformat(),
        # For a reminder the draft message; for a payment match the engine's suggestion.
        "draft": item.draft.model_dump(mode="json") if item.draft else item.suggestion,
    }


@router.get("/api/approvals", dependencies=[Depends(reads_allowed)])
async def list_approvals(client: TemporalDep) -> JSONResponse:
    return JSONResponse([approval_json(item) for item in await pending_items(client)])


@router.post("/api/approvals/{workflow_id:path}")
async def decide(workflow_id: str, request: Request, approver: BearerApprover, client: TemporalDep) -> JSONResponse:
    try:
        body = DecisionBody.model_validate_json(await request.body())
    except ValidationError as error:
        raise HTTPException(400, f"malformed decision: {error.errors(include_url=False)}") from error
    return JSONResponse(await deliver(client, workflow_id, approver, body))


@router.get("/api/outbox", dependencies=[Depends(reads_allowed)])
async def outbox(store: StoreDep, invoice_id: str | None = None) -> JSONResponse:
    messages = store.list_outbox(invoice_id=invoice_id)
    return JSONResponse([m.model_dump(mode="json") for m in messages if m.status == "sent"])
