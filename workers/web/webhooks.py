"""`POST /webhooks/<ledger>`: ledger events in.

Every delivery takes one path, whichever ledger sent it: verify its signature (401 and nothing started
when it fails), parse its body (400 with the reason when it is malformed), and signal-with-start the
workflow each event concerns (a replayed event signals the workflow that already runs). The ledgers
differ only in where their secret is configured, how a delivery is signed and how its body reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.ledger import LedgerError, LedgerEvent, LedgerPort
from adapters.ledgers.intacct import webhooks as intacct_webhooks
from adapters.ledgers.quickbooks import webhooks as quickbooks_webhooks
from adapters.ledgers.sandbox import webhooks as sandbox_webhooks
from adapters.ledgers.sandbox.webhooks import SIGNATURE_HEADER
from adapters.ledgers.xero import webhooks as xero_webhooks
from workers.intake import LifecycleDefaults, Routed, route_event
from workers.web.config import WebConfig
from workers.web.deps import ConfigDep, TemporalDep
from workers.web.metrics import count_intake, count_refusal

log = logging.getLogger("duecourse.web")
router = APIRouter()


@dataclass(frozen=True)
class WebhookSource:
    ledger: str
    secret: Callable[[WebConfig], str | None]
    signed: Callable[[str, bytes, Mapping[str, str]], bool]  # (secret, body, headers)
    parse: Callable[[bytes], list[LedgerEvent]]
    refusal: str  # what a 401 says was wrong


SANDBOX = WebhookSource(
    "sandbox", lambda config: config.sandbox_webhook_secret,
    lambda secret, body, headers: sandbox_webhooks.verify(secret, body, headers.get(SIGNATURE_HEADER)),
    sandbox_webhooks.parse_body, f"invalid signature ({SIGNATURE_HEADER})",
)
QUICKBOOKS = WebhookSource(
    "quickbooks", lambda config: config.qbo_verifier_token,
    lambda token, body, headers: quickbooks_webhooks.verify(token, body, headers.get("intuit-signature")),
    quickbooks_webhooks.parse, "invalid signature (intuit-signature)",
)
XERO = WebhookSource(
    "xero", lambda config: config.xero_webhook_key,
    lambda key, body, headers: xero_webhooks.verify(key, body, headers.get("x-xero-signature")),
    xero_webhooks.parse, "invalid signature (x-xero-signature)",
)
INTACCT = WebhookSource(
    "intacct", lambda config: config.intacct_webhook_key,
    lambda key, body, headers: intacct_webhooks.verify(body, headers.get("authorization"), key=key),
    intacct_webhooks.parse, "invalid or missing bearer token",
)


@router.post("/webhooks/sandbox")
async def sandbox_webhook(request: Request, config: ConfigDep, client: TemporalDep) -> JSONResponse:
    return accepted(await receive(SANDBOX, request, config, client))


@router.post("/webhooks/quickbooks")
async def quickbooks_webhook(request: Request, config: ConfigDep, client: TemporalDep) -> JSONResponse:
    return accepted(await receive(QUICKBOOKS, request, config, client))


@router.post("/webhooks/xero")
async def xero_webhook(request: Request, config: ConfigDep, client: TemporalDep) -> Response:
    # Intent to receive: Xero sends signed and mis-signed empty batches; 200 and 401, fast, no body.
    try:
        await receive(XERO, request, config, client)
    except HTTPException as error:
        if error.status_code != 401:
            raise
        return Response(status_code=401)
    return Response(status_code=200)


@router.post("/webhooks/intacct")
async def intacct_webhook(request: Request, config: ConfigDep, client: TemporalDep) -> JSONResponse:
    return accepted(await receive(INTACCT, request, config, client))


async def receive(source: WebhookSource, request: Request, config: WebConfig, client: Client) -> list[Routed]:
    """Verify, parse, route: one delivery from `source`."""
    body = await request.body()
    secret = source.secret(config)
    if not secret or not source.signed(secret, body, request.headers):
        raise reject(source.ledger, 401, source.refusal)
    try:
        events = source.parse(body)
    except ValueError as error:
        raise reject(source.ledger, 400, f"malformed webhook body: {error}") from error
    from workers.web.reports import report_ledgers  # the web app's read-only ledgers (built once)

    try:
        routed = await route_all(client, events, config.defaults, report_ledgers(request))
    except HTTPException as unavailable:
        count_refusal(source.ledger, unavailable.status_code)
        raise
    count_intake(source.ledger, routed)
    return routed


def reject(ledger: str, status: int, why: str) -> HTTPException:
    log.warning("%s webhook rejected (%d): %s", ledger, status, why)
    count_refusal(ledger, status)
    return HTTPException(status, why)


async def route_all(client: Client, events: list[LedgerEvent], defaults: LifecycleDefaults,
                    ledgers: Mapping[str, LedgerPort] | None = None) -> list[Routed]:
    try:
        # A batch's events go to Temporal concurrently; one invoice's events may share a batch, and
        # Temporal orders the signals to one workflow.
        routed = await asyncio.gather(*(route_event(client, event, defaults, ledgers) for event in events))
    except RPCError as error:
        # 5xx makes the ledger deliver again later; duplicates are harmless.
        raise HTTPException(503, f"Temporal is unreachable: {error.message}") from error
    except LedgerError as error:
        # Reading an announced estimate failed: 5xx, so the ledger delivers the event again later.
        raise HTTPException(503, f"the ledger could not be read: {error}") from error
    for outcome in routed:
        if outcome.outcome == "ignored":
            log.info("acknowledged and ignored: %s %s", outcome.entity, outcome.entity_id)
    return list(routed)


def accepted(routed: list[Routed]) -> JSONResponse:
    return JSONResponse({"accepted": len(routed), "events": [r.model_dump() for r in routed]})
