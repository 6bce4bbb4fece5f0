"""`GET /metrics`: the web app's figures in Prometheus' text format.

What the edge sees: webhook intake by ledger and result, decisions delivered by decision and outcome, HTTP
requests by route and status, and (read from Temporal visibility when scraped, like the approvals listing)
the approvals pending by kind with the age of the oldest. The business counters of `adapters.metrics` are in
the same registry; in `duecourse dev` the worker shares this process, so its counters show here too.

Webhook results: `accepted` (the event's workflow was signalled or started), `duplicate` (its workflow has
already closed: a replayed or late event, nothing started), `ignored` (nothing to do for that entity),
`bad_signature` (401), `malformed` (400), `unavailable` (503: Temporal or the ledger unreachable; the ledger
delivers again). A replay to a workflow that still runs counts as accepted: the workflow itself folds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import get_args

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, Counter, Gauge, generate_latest
from temporalio.client import Client

from workers.intake import Routed
from workers.web.deps import TemporalDep
from workflows.approvals import ApprovalKind, PendingApproval

log = logging.getLogger("duecourse.web")
router = APIRouter()

# A scrape must answer within Prometheus' own timeout (10 s by default) even when visibility is slow.
PENDING_READ_SECONDS = 3.0

WEBHOOKS = Counter("duecourse_webhook_events", "Webhook intake by ledger and result (see workers/web/metrics.py).",
                   ["ledger", "result"])
DECISIONS = Counter("duecourse_decisions_delivered", "Approval decisions delivered to workflows, by decision "
                    "(approve, reject, edit, snooze) and outcome (applied, refused, stale, unavailable).",
                    ["decision", "outcome"])
HTTP_REQUESTS = Counter("duecourse_http_requests", "HTTP requests to the web app, by route template and status.",
                        ["method", "route", "status"])
APPROVALS_PENDING = Gauge("duecourse_approvals_pending", "Items awaiting a human decision, by kind (read from "
                          "Temporal visibility at scrape time).", ["kind"])
APPROVALS_OLDEST_AGE = Gauge("duecourse_approvals_pending_oldest_age_seconds", "Age of the oldest item awaiting a "
                             "decision, by kind (0 when none).", ["kind"])
APPROVALS_READ_OK = Gauge("duecourse_approvals_pending_read_ok", "1 when the last scrape read the pending "
                          "approvals in time; 0 when it did not (the pending figures are then the previous ones).")

# What the intake's routing outcome means to an operator.
INTAKE_RESULTS = {"signalled": "accepted", "closed": "duplicate", "ignored": "ignored"}
REFUSALS = {401: "bad_signature", 400: "malformed", 503: "unavailable"}


@router.get("/metrics", include_in_schema=False)
async def metrics(client: TemporalDep) -> Response:
    await refresh_pending(client)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_PLAIN_0_0_4)


async def refresh_pending(client: Client) -> None:
    from workers.web.decisions import pending_items  # what the approvals listing reads, read the same way

    try:
        items = await asyncio.wait_for(pending_items(client), PENDING_READ_SECONDS)
    except Exception as error:  # a slow or unreachable Temporal must not fail the scrape of everything else
        log.warning("metrics: pending approvals not read: %s", error or type(error).__name__)
        APPROVALS_READ_OK.set(0)
        return
    set_pending(items, datetime.now(UTC))
    APPROVALS_READ_OK.set(1)


def set_pending(items: Iterable[PendingApproval], now: datetime) -> None:
    """Count and oldest age per kind; every kind gets a series (0 when none), so a dashboard never shows a gap."""
    counts: dict[str, int] = dict.fromkeys(get_args(ApprovalKind), 0)
    oldest: dict[str, float] = dict.fromkeys(get_args(ApprovalKind), 0.0)
    for item in items:
        requested = item.requested_at if item.requested_at.tzinfo else item.requested_at.replace(tzinfo=UTC)
        counts[item.kind] = counts.get(item.kind, 0) + 1
        oldest[item.kind] = max(oldest.get(item.kind, 0.0), (now - requested).total_seconds())
    for kind, count in counts.items():
        APPROVALS_PENDING.labels(kind).set(count)
        APPROVALS_OLDEST_AGE.labels(kind).set(round(oldest[kind], 3))


def count_intake(ledger: str, routed: Iterable[Routed]) -> None:
    for outcome in routed:
        WEBHOOKS.labels(ledger, INTAKE_RESULTS.get(outcome.outcome, outcome.outcome)).inc()


def count_refusal(ledger: str, status: int) -> None:
    WEBHOOKS.labels(ledger, REFUSALS.get(status, str(status))).inc()


def count_decision(decision: str, outcome: str) -> None:
    DECISIONS.labels(decision, outcome).inc()


def count_requests(app: FastAPI) -> None:
    """Every request by its route's template (`/api/approvals/{workflow_id}`, never the raw path, so the series
    stay few); a path no route matched is `unmatched`."""

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        status = 500  # an exception that escapes the app is answered 500 by the server
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(request.method, template, str(status)).inc()
