"""The web app: the thin edge. Webhook intake, the approvals API and form, the outbox, health.

It keeps no queue of its own: pending approvals are read from Temporal visibility
(`AwaitingApproval = true`) and decisions are delivered to the workflows as updates.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Form, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.ledger import LedgerEvent
from adapters.ledgers.intacct import webhooks as intacct_webhooks
from adapters.ledgers.quickbooks import webhooks as quickbooks_webhooks
from adapters.ledgers.sandbox.webhooks import SIGNATURE_HEADER, parse_body, verify
from adapters.ledgers.xero import webhooks as xero_webhooks
from adapters.store import Approver, Store
from workers.intake import LifecycleDefaults, route_event
from workflows.approvals import AllocationChoice, ApprovalInterface, Decision, DecisionKind, PendingApproval

log = logging.getLogger("duecourse.web")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def highlight_facts(body: str, facts: list[str]) -> Markup:
    """The draft as HTML with every ledger fact it cites marked, so an approver sees at a glance which
    figures came from the ledger (anything unmarked that looks like a figure deserves a second look)."""
    text = html.escape(body)
    wanted = sorted({html.escape(f) for f in facts if f and f.strip()}, key=len, reverse=True)
    if wanted:
        pattern = re.compile("|".join(re.escape(f) for f in wanted))
        text = pattern.sub(lambda m: f'<mark class="fact">{m.group(0)}</mark>', text)
    return Markup(text.replace("\n", "<br>"))


TEMPLATES.env.filters["highlight_facts"] = highlight_facts
SESSION_COOKIE = "duecourse_session"
PENDING_QUERY = "AwaitingApproval = true AND ExecutionStatus = 'Running'"


@dataclass
class WebConfig:
    connect: Callable[[], Awaitable[Client]]
    store: Store
    defaults: LifecycleDefaults
    sandbox_webhook_secret: str | None
    public_url: str
    ui_url: str | None = None
    namespace: str = "default"
    # The embedded dev stack (bound to 127.0.0.1) lets reads through without a token; production does not.
    open_reads: bool = False
    # Where the encryption key of ledger connections lives when DUECOURSE_SECRET_KEY is unset.
    home: Path | None = None
    qbo_verifier_token: str | None = field(default_factory=lambda: os.environ.get("DUECOURSE_QBO_VERIFIER_TOKEN"))
    xero_webhook_key: str | None = field(default_factory=lambda: os.environ.get("DUECOURSE_XERO_WEBHOOK_KEY"))
    # A PEM public key (RS256) or a shared secret (HS256) that Intacct's delivery JWTs are signed with.
    intacct_webhook_key: str | None = field(default_factory=lambda: os.environ.get("DUECOURSE_INTACCT_WEBHOOK_KEY"))


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


def create_app(config: WebConfig) -> FastAPI:
    state: dict[str, Client] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["client"] = await config.connect()
        yield

    app = FastAPI(title="duecourse", lifespan=lifespan)

    def client() -> Client:
        return state["client"]

    def bearer(authorization: str | None) -> Approver | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        return config.store.approver_by_token(authorization[7:].strip())

    def require_approver(authorization: str | None) -> Approver:
        approver = bearer(authorization)
        if approver is None:
            raise HTTPException(401, "a valid approver token is required (Authorization: Bearer TOKEN)")
        return approver

    async def pending_items() -> list[PendingApproval]:
        handles = [wf.id async for wf in client().list_workflows(PENDING_QUERY, limit=500)]

        async def one(workflow_id: str) -> PendingApproval | None:
            try:
                return await client().get_workflow_handle(workflow_id).query(ApprovalInterface.pending_approval)
            except RPCError:
                return None  # closed between listing and asking: no longer pending

        items = await asyncio.gather(*(one(wid) for wid in handles))
        found = [item for item in items if item is not None]
        return sorted(found, key=lambda item: item.requested_at)

    async def deliver(workflow_id: str, approver: Approver, body: DecisionBody) -> dict[str, Any]:
        decision = Decision(
            decision=DecisionKind(body.decision), approver=approver.email, approver_limit=approver.limit,
            item_id=body.item_id, text=body.text, subject=body.subject, reason=body.reason,
            snooze_days=body.snooze_days, allocations=body.allocations, customer_id=body.customer_id,
        )
        handle = client().get_workflow_handle(workflow_id)
        try:
            result = await handle.execute_update(ApprovalInterface.decide, decision)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            message = getattr(cause, "message", None) or str(cause or error)
            raise HTTPException(409, message) from error
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise HTTPException(409, f"{workflow_id} is not running: the item is stale") from error
            raise HTTPException(503, f"Temporal is unreachable: {error.message}") from error
        return result.model_dump(mode="json")

    # --- webhooks ----------------------------------------------------------------------------------

    def reject(ledger: str, status: int, why: str) -> HTTPException:
        log.warning("%s webhook rejected (%d): %s", ledger, status, why)
        return HTTPException(status, why)

    def events_of(ledger: str, parse: Callable[[bytes], list[LedgerEvent]], body: bytes) -> list[LedgerEvent]:
        try:
            return parse(body)
        except ValueError as error:
            raise reject(ledger, 400, f"malformed webhook body: {error}") from error

    async def ingest(events: list[LedgerEvent]) -> JSONResponse:
        try:
            # A batch's events go to Temporal concurrently; one invoice's events may share a batch, and
            # Temporal orders the signals to one workflow.
            routed = await asyncio.gather(*(route_event(client(), event, config.defaults) for event in events))
        except RPCError as error:
            # 5xx makes the ledger deliver again later; duplicates are harmless.
            raise HTTPException(503, f"Temporal is unreachable: {error.message}") from error
        for outcome in routed:
            if outcome.outcome == "ignored":
                log.info("acknowledged and ignored: %s %s", outcome.entity, outcome.entity_id)
        return JSONResponse({"accepted": len(routed), "events": [r.model_dump() for r in routed]})

    @app.post("/webhooks/sandbox")
    async def sandbox_webhook(request: Request) -> JSONResponse:
        body = await request.body()
        secret = config.sandbox_webhook_secret
        if not secret or not verify(secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise reject("sandbox", 401, f"invalid signature ({SIGNATURE_HEADER})")
        return await ingest(events_of("sandbox", parse_body, body))

    @app.post("/webhooks/quickbooks")
    async def quickbooks_webhook(request: Request) -> JSONResponse:
        body = await request.body()
        token = config.qbo_verifier_token
        if not token or not quickbooks_webhooks.verify(token, body, request.headers.get("intuit-signature")):
            raise reject("quickbooks", 401, "invalid signature (intuit-signature)")
        return await ingest(events_of("quickbooks", quickbooks_webhooks.parse, body))

    @app.post("/webhooks/xero")
    async def xero_webhook(request: Request) -> Response:
        body = await request.body()
        key = config.xero_webhook_key
        # Intent to receive: Xero sends signed and mis-signed empty batches; 200 and 401, fast, no body.
        if not key or not xero_webhooks.verify(key, body, request.headers.get("x-xero-signature")):
            log.warning("xero webhook rejected (401): invalid signature (x-xero-signature)")
            return Response(status_code=401)
        await ingest(events_of("xero", xero_webhooks.parse, body))
        return Response(status_code=200)

    @app.post("/webhooks/intacct")
    async def intacct_webhook(request: Request) -> JSONResponse:
        body = await request.body()
        key = config.intacct_webhook_key
        if not key or not intacct_webhooks.verify(body, request.headers.get("authorization"), key=key):
            raise reject("intacct", 401, "invalid or missing bearer token")
        return await ingest(events_of("intacct", intacct_webhooks.parse, body))

    # --- API ---------------------------------------------------------------------------------------

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            await asyncio.wait_for(client().service_client.check_health(), timeout=5)
        except Exception as error:  # any failure to reach Temporal is "unhealthy"
            return JSONResponse({"ok": False, "temporal": f"unreachable: {error}"}, status_code=503)
        return JSONResponse({"ok": True, "temporal": "reachable"})

    @app.get("/api/approvals")
    async def list_approvals(authorization: str | None = Header(default=None)) -> JSONResponse:
        if not config.open_reads:
            require_approver(authorization)
        return JSONResponse([approval_json(item) for item in await pending_items()])

    @app.post("/api/approvals/{workflow_id:path}")
    async def decide(workflow_id: str, request: Request,
                     authorization: str | None = Header(default=None)) -> JSONResponse:
        approver = require_approver(authorization)
        try:
            body = DecisionBody.model_validate_json(await request.body())
        except ValidationError as error:
            raise HTTPException(400, f"malformed decision: {error.errors(include_url=False)}") from error
        return JSONResponse(await deliver(workflow_id, approver, body))

    @app.get("/api/outbox")
    async def outbox(authorization: str | None = Header(default=None), invoice_id: str | None = None) -> JSONResponse:
        if not config.open_reads:
            require_approver(authorization)
        messages = config.store.list_outbox(invoice_id=invoice_id)
        return JSONResponse([m.model_dump(mode="json") for m in messages if m.status == "sent"])

    # --- connecting a ledger (OAuth callback) -------------------------------------------------------

    @app.get("/oauth/{ledger}/callback", response_class=HTMLResponse)
    async def oauth_callback(ledger: str, request: Request) -> Response:
        from workers.connect import ConnectError, complete
        from workers.sync import ensure_sync_schedule

        if config.home is None:
            return HTMLResponse("<p>This web app has no data dir configured for ledger connections.</p>", 500)
        try:
            tenants = await asyncio.to_thread(complete, config.store, config.home, ledger,
                                              dict(request.query_params))
        except ConnectError as error:
            log.warning("%s connection refused: %s", ledger, error)
            return HTMLResponse(f"<p>Not connected: {html.escape(str(error))}</p>", status_code=400)
        except Exception as error:  # the ledger's token endpoint failed: say so, keep nothing
            log.exception("%s token exchange failed", ledger)
            return HTMLResponse(f"<p>Not connected: {html.escape(ledger)} refused the sign-in "
                                f"({html.escape(str(error))}).</p>", status_code=502)
        for tenant in tenants:
            await ensure_sync_schedule(client(), ledger, tenant, config.defaults.task_queue,
                                       every=timedelta(minutes=5))
        names = ", ".join(html.escape(t) for t in tenants)
        return HTMLResponse(f"<p>Connected {html.escape(ledger)}: <strong>{names}</strong>. "
                            "You can close this window.</p>")

    # --- the approval form -------------------------------------------------------------------------

    def form_approver(request: Request) -> Approver | None:
        session = request.cookies.get(SESSION_COOKIE)
        return config.store.approver_by_session(session) if session else None

    @app.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/approvals", status_code=303)

    @app.get("/signin/{signin_token}")
    async def signin(signin_token: str) -> Response:
        redeemed = config.store.redeem_signin(signin_token)
        if redeemed is None:
            return HTMLResponse("<p>This sign-in link was used already or is unknown. Ask for a new one "
                                "(<code>duecourse approver add EMAIL --limit N</code>).</p>", status_code=401)
        _, session = redeemed
        response = RedirectResponse("/approvals", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax")
        return response

    @app.get("/approvals", response_class=HTMLResponse)
    async def approvals_page(request: Request, flash: str | None = None, error: str | None = None) -> Response:
        approver = form_approver(request)
        if approver is None:
            return TEMPLATES.TemplateResponse(request, "signin_needed.html", status_code=401)
        items = await pending_items()
        return TEMPLATES.TemplateResponse(
            request, "approvals.html",
            {"approver": approver, "items": items, "flash": flash, "error": error, "ui_url": config.ui_url,
             "namespace": config.namespace},
        )

    @app.post("/approvals/{workflow_id:path}")
    async def approve_from_form(
        workflow_id: str, request: Request, decision: str = Form(...), item_id: str = Form(""),
        text: str = Form(""), subject: str = Form(""), reason: str = Form(""), snooze_days: str = Form(""),
        allocations: str = Form(""),
    ) -> Response:
        approver = form_approver(request)
        if approver is None:
            return TEMPLATES.TemplateResponse(request, "signin_needed.html", status_code=401)
        try:
            days = int(snooze_days) if snooze_days.strip() else None
            picks = parse_allocations(allocations) if allocations.strip() else None
            body = DecisionBody.model_validate({
                "decision": decision, "item_id": item_id or None, "text": text or None,
                "subject": subject or None, "reason": reason or None, "snooze_days": days, "allocations": picks,
            })
            await deliver(workflow_id, approver, body)
        except (ValueError, ValidationError) as error:
            return RedirectResponse(f"/approvals?error={_q(str(error))}", status_code=303)
        except HTTPException as error:
            return RedirectResponse(f"/approvals?error={_q(str(error.detail))}", status_code=303)
        return RedirectResponse(f"/approvals?flash={_q(f'{decision} recorded for {item_id}')}", status_code=303)

    @app.get("/outbox", response_class=HTMLResponse)
    async def outbox_page(request: Request) -> Response:
        approver = form_approver(request)
        if approver is None and not config.open_reads:
            return TEMPLATES.TemplateResponse(request, "signin_needed.html", status_code=401)
        messages = [m for m in config.store.list_outbox() if m.status == "sent"]
        return TEMPLATES.TemplateResponse(request, "outbox.html", {"messages": messages, "approver": approver})

    @app.get("/aliases", response_class=HTMLResponse)
    async def aliases_page(request: Request) -> Response:
        approver = form_approver(request)
        if approver is None:
            return TEMPLATES.TemplateResponse(request, "signin_needed.html", status_code=401)
        aliases = sorted(config.store.aliases().items())
        return TEMPLATES.TemplateResponse(request, "aliases.html", {"approver": approver, "aliases": aliases})

    @app.post("/aliases/remove")
    async def remove_alias(request: Request, payer_name: str = Form(...)) -> Response:
        if form_approver(request) is None:
            return TEMPLATES.TemplateResponse(request, "signin_needed.html", status_code=401)
        config.store.remove_alias(payer_name)
        return RedirectResponse("/aliases", status_code=303)

    @app.get("/api/aliases")
    async def list_aliases(authorization: str | None = Header(default=None)) -> JSONResponse:
        if not config.open_reads:
            require_approver(authorization)
        return JSONResponse([{"payer_name": p, "customer_id": c} for p, c in sorted(config.store.aliases().items())])

    return app


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300])


def parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {text!r}") from error
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return value
