"""Collectors in the loop on the web (issue 9): the collector actions API, the worklist and the invoice page.

API (a bearer token; a `viewer` may read but not act):
- `GET  /api/invoices/{invoice_id}`: the invoice's whole story, as `duecourse invoice show --json`.
- `POST /api/invoices/{invoice_id}/dispute` `{"reason"}`, `.../dispute/resolve` `{"reject", "reason"}`,
  `.../promise` `{"until", "note"}`, `.../pause` `{"until", "reason"}`, `.../assign` `{"collector"}`,
  `.../note` `{"text"}`, `.../handback` `{"note"}`, `.../plan` `{"instalments", "every_days", "first", "note"}`
  (a `payment_plan` item); `?ledger=&tenant=` pick one when several hold the id.
  400 bad input, 404 unknown invoice, 409 the invoice cannot take it (closed, already disputed, ...).
- `GET  /api/worklist[?collector=]`: the rows of the worklist page.
Pages (the form's session): `/worklist[?collector=]`, `/invoices/{invoice_id}`, and
`POST /invoices/{invoice_id}/actions`, which the approval form's buttons, the worklist and the invoice page
post to; it answers with a redirect back and a flash or an error.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client

from adapters.store import Approver
from workers.collector_actions import CollectorAction, done_text, perform
from workers.invoice_story import (
    WORKFLOW_TYPE,
    Found,
    StoryError,
    customer_today,
    find_invoice,
    find_workflow,
    invoice_story,
    last_contact,
)
from workers.web.config import WebConfig
from workers.web.deps import BearerApprover, ConfigDep, SessionApprover, TemporalDep, reads_allowed
from workers.web.pages import TEMPLATES, signin_needed
from workflows.lifecycle_messages import LifecycleState

router = APIRouter()

WORKLIST_QUERY = (f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
                  "AND (Stage = 'escalated' OR Stage = 'paused')")
NOBODY = "-"  # the collector filter for invoices nobody owns yet
API_ACTIONS = {"dispute": "dispute", "dispute/resolve": "resolve", "promise": "promise", "pause": "pause",
               "assign": "assign", "note": "note", "handback": "handback", "plan": "plan"}


def _may_act(approver: Approver) -> None:
    if approver.role == "viewer":
        raise HTTPException(403, f"{approver.email} is a viewer: collector actions need the collector, approver "
                                 "or admin role")


def _http(error: StoryError) -> HTTPException:
    return HTTPException(error.http_status, error.message)


async def _act(client: Client, config: WebConfig, found: Found, request: CollectorAction, by: str,
               source: str) -> dict[str, Any]:
    return await perform(client, config.store, found, request, by=by, source=source, clock=config.defaults.clock)


# --- API ---------------------------------------------------------------------------------------------


@router.get("/api/invoices/{invoice_id}", dependencies=[Depends(reads_allowed)])
async def story_api(invoice_id: str, client: TemporalDep, config: ConfigDep, ledger: str | None = None,
                    tenant: str | None = None) -> JSONResponse:
    try:
        found = await find_invoice(client, invoice_id, ledger, tenant)
        return JSONResponse(await invoice_story(client, config.store, found, config.defaults.clock))
    except StoryError as error:
        raise _http(error) from error


@router.post("/api/invoices/{invoice_id}/{action:path}")
async def action_api(invoice_id: str, action: str, request: Request, approver: BearerApprover, client: TemporalDep,
                     config: ConfigDep, ledger: str | None = None, tenant: str | None = None) -> JSONResponse:
    name = API_ACTIONS.get(action.strip("/"))
    if name is None:
        raise HTTPException(404, f"no collector action {action!r} (one of: {', '.join(API_ACTIONS)})")
    _may_act(approver)
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict):
            raise HTTPException(400, "the body must be a JSON object")
        fields = CollectorAction.model_validate({**data, "action": name})
    except (ValueError, ValidationError) as error:
        detail = error.errors(include_url=False) if isinstance(error, ValidationError) else str(error)
        raise HTTPException(400, f"malformed {name}: {detail}") from error
    try:
        found = await find_invoice(client, invoice_id, ledger, tenant)
        return JSONResponse(await _act(client, config, found, fields, approver.email, "api"))
    except StoryError as error:
        raise _http(error) from error


@router.get("/api/worklist", dependencies=[Depends(reads_allowed)])
async def worklist_api(client: TemporalDep, config: ConfigDep, collector: str | None = None) -> JSONResponse:
    return JSONResponse(await worklist_rows(client, config, collector))


# --- the worklist ------------------------------------------------------------------------------------


def _why(state: LifecycleState) -> str:
    if state.dispute:
        return f"disputed: {state.dispute}"
    if state.promise_until:
        return f"promised by {state.promise_until.isoformat()}"
    if state.paused_until:
        return f"paused until {state.paused_until.isoformat()}: {state.pause_reason}"
    if state.escalated:
        return "escalated"
    return state.stage.value


async def worklist_rows(client: Client, config: WebConfig, collector: str | None) -> list[dict[str, Any]]:
    """Escalated, disputed and paused invoices, oldest due first; `collector` filters by owner (`-`: nobody)."""
    from workflows.invoice_lifecycle import InvoiceLifecycle

    executions = [wf async for wf in client.list_workflows(WORKLIST_QUERY, limit=1000)]

    async def one(execution: Any) -> dict[str, Any] | None:
        try:
            state: LifecycleState = await client.get_workflow_handle(execution.id).query(InvoiceLifecycle.status)
        except Exception:
            return None  # closed between listing and asking
        invoice = state.invoice
        if invoice is None:
            return None
        attributes = {pair.key.name: pair.value for pair in execution.typed_search_attributes}
        owner = state.assigned_to or str(attributes.get("Collector") or "") or None
        today: date = customer_today(state, config.defaults.clock)
        return {"invoice_id": invoice.id, "invoice_number": invoice.number, "workflow_id": execution.id,
                "customer_name": invoice.customer_name, "customer_id": invoice.customer_id,
                "amount_due": str(invoice.balance.amount), "currency": invoice.currency,
                "due_date": invoice.due_date.isoformat(), "days_overdue": max((today - invoice.due_date).days, 0),
                "stage": state.stage.value, "why": _why(state), "collector": owner,
                "last_contact": last_contact(state),
                "next_step": state.waiting_for, "notes": len(state.notes)}

    rows = [row for row in await asyncio.gather(*(one(e) for e in executions)) if row is not None]
    if collector == NOBODY:
        rows = [row for row in rows if not row["collector"]]
    elif collector:
        rows = [row for row in rows if (row["collector"] or "").lower() == collector.strip().lower()]
    return sorted(rows, key=lambda row: (row["due_date"], row["invoice_id"]))


@router.get("/worklist", response_class=HTMLResponse)
async def worklist_page(request: Request, approver: SessionApprover, config: ConfigDep, client: TemporalDep,
                        collector: str | None = None, flash: str | None = None, error: str | None = None) -> Response:
    if approver is None and not config.open_reads:
        return signin_needed(request)
    everyone = await worklist_rows(client, config, None)
    rows = await worklist_rows(client, config, collector) if collector else everyone
    collectors = sorted({row["collector"] for row in everyone if row["collector"]})
    return TEMPLATES.TemplateResponse(request, "worklist.html", {
        "approver": approver, "rows": rows, "collector": collector or "", "collectors": collectors,
        "nobody": NOBODY, "flash": flash, "error": error,
        "back": str(request.url.path) + (f"?collector={quote(collector)}" if collector else "")})


# --- the invoice page --------------------------------------------------------------------------------


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice_page(invoice_id: str, request: Request, approver: SessionApprover, config: ConfigDep,
                       client: TemporalDep, ledger: str | None = None, tenant: str | None = None,
                       flash: str | None = None, error: str | None = None) -> Response:
    if approver is None and not config.open_reads:
        return signin_needed(request)
    try:
        found = await find_invoice(client, invoice_id, ledger, tenant)
        story = await invoice_story(client, config.store, found, config.defaults.clock)
    except StoryError as problem:
        return TEMPLATES.TemplateResponse(request, "invoice.html", {
            "approver": approver, "story": None, "problem": problem.message, "flash": None, "error": None},
            status_code=problem.http_status)
    return TEMPLATES.TemplateResponse(request, "invoice.html", {
        "approver": approver, "story": story, "problem": None, "flash": flash, "error": error,
        "back": str(request.url.path), "ui_url": config.ui_url, "namespace": config.namespace})


def _back(back: str, fallback: str) -> str:
    """Only a path on this site (never `//host` or a full URL) to go back to."""
    return back if back.startswith("/") and not back.startswith("//") and "\\" not in back else fallback


def _with(url: str, key: str, text: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{key}={quote(text[:300])}"


@router.post("/invoices/{invoice_id}/actions")
async def action_from_form(
    invoice_id: str, request: Request, approver: SessionApprover, client: TemporalDep, config: ConfigDep,
    action: str = Form(...), workflow_id: str = Form(""), back: str = Form(""), reason: str = Form(""),
    until: str = Form(""), note: str = Form(""), collector: str = Form(""), text: str = Form(""),
    reject: str = Form(""),
) -> Response:
    if approver is None:
        return signin_needed(request)
    target = _back(back, f"/invoices/{quote(invoice_id)}")
    try:
        if approver.role == "viewer":
            raise StoryError(f"{approver.email} is a viewer: collector actions need another role")
        try:
            day = date.fromisoformat(until) if until.strip() else None
        except ValueError as error:
            raise StoryError(f"not a date: {until!r} (pick one, YYYY-MM-DD)") from error
        fields = CollectorAction.model_validate({
            "action": action, "reason": reason, "until": day, "note": note, "collector": collector, "text": text,
            "reject": reject == "yes"})
        found = await find_workflow(client, workflow_id) if workflow_id else await find_invoice(client, invoice_id)
        if found.invoice_id != invoice_id:
            raise StoryError(f"{workflow_id} is not the workflow of invoice {invoice_id}")
        result = await _act(client, config, found, fields, approver.email, "web")
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return RedirectResponse(_with(target, "error", f"{invoice_id}: {problems}"), status_code=303)
    except StoryError as error:
        return RedirectResponse(_with(target, "error", error.message), status_code=303)
    return RedirectResponse(_with(target, "flash", done_text(result)), status_code=303)


__all__ = ["router", "worklist_rows"]
