"""The approval form: the one-time sign-in link, the pending approvals page and its decisions, and the
outbox page. A decision goes the same way as through the API; its outcome comes back as a flash or an
error on the approvals page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from workers.web.decisions import DecisionBody, deliver, pending_items
from workers.web.deps import SESSION_COOKIE, ConfigDep, SessionApprover, StoreDep, TemporalDep
from workers.web.pages import TEMPLATES, signin_needed
from workflows.approvals import AllocationChoice

router = APIRouter()


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/approvals", status_code=303)


@router.get("/signin/{signin_token}")
async def signin(signin_token: str, store: StoreDep) -> Response:
    redeemed = store.redeem_signin(signin_token)
    if redeemed is None:
        return HTMLResponse("<p>This sign-in link was used already or is unknown. Ask for a new one "
                            "(<code>duecourse approver add EMAIL --limit N</code>).</p>", status_code=401)
    _, session = redeemed
    response = RedirectResponse("/approvals", status_code=303)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax")
    return response


@router.get("/approvals", response_class=HTMLResponse)
async def approvals_page(request: Request, approver: SessionApprover, config: ConfigDep, client: TemporalDep,
                         flash: str | None = None, error: str | None = None) -> Response:
    if approver is None:
        return signin_needed(request)
    items = await pending_items(client)
    return TEMPLATES.TemplateResponse(
        request, "approvals.html",
        {"approver": approver, "items": items, "flash": flash, "error": error, "ui_url": config.ui_url,
         "namespace": config.namespace},
    )


@router.post("/approvals/{workflow_id:path}")
async def approve_from_form(
    workflow_id: str, request: Request, approver: SessionApprover, client: TemporalDep,
    decision: str = Form(...), item_id: str = Form(""), text: str = Form(""), subject: str = Form(""),
    reason: str = Form(""), snooze_days: str = Form(""), allocations: str = Form(""),
) -> Response:
    if approver is None:
        return signin_needed(request)
    try:
        days = int(snooze_days) if snooze_days.strip() else None
        picks = parse_allocations(allocations) if allocations.strip() else None
        body = DecisionBody.model_validate({
            "decision": decision, "item_id": item_id or None, "text": text or None,
            "subject": subject or None, "reason": reason or None, "snooze_days": days, "allocations": picks,
        })
        await deliver(client, workflow_id, approver, body)
    except (ValueError, ValidationError) as error:
        return RedirectResponse(f"/approvals?error={_q(str(error))}", status_code=303)
    except HTTPException as error:
        return RedirectResponse(f"/approvals?error={_q(str(error.detail))}", status_code=303)
    return RedirectResponse(f"/approvals?flash={_q(f'{decision} recorded for {item_id}')}", status_code=303)


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(request: Request, approver: SessionApprover, config: ConfigDep) -> Response:
    if approver is None and not config.open_reads:
        return signin_needed(request)
    messages = [m for m in config.store.list_outbox() if m.status == "sent"]
    return TEMPLATES.TemplateResponse(request, "outbox.html", {"messages": messages, "approver": approver})


def parse_allocations(text: str) -> list[AllocationChoice]:
    """A clerk's pick, one `INVOICE_ID AMOUNT` per line or separated by commas/semicolons."""
    picks: list[AllocationChoice] = []
    for chunk in text.replace(";", "\n").replace(",", "\n").splitlines():
        words = chunk.split()
        if not words:
            continue
        if len(words) != 2:
            raise ValueError(f"write each allocation as 'INVOICE_ID AMOUNT', not {chunk.strip()!r}")
        picks.append(AllocationChoice(invoice_id=words[0], amount=parse_amount(words[1])))
    return picks


def parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {text!r}") from error
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return value


def _q(text: str) -> str:
    return quote(text[:300])
