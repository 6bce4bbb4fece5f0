"""The web app: the thin edge. Webhook intake, the approvals API and form, the outbox, aliases, the
OAuth callback of ledger connections, health. One router per surface; what they share (the
configuration, the Temporal client, the store, who the approver is) comes through `workers.web.deps`.

It keeps no queue of its own: pending approvals are read from Temporal visibility
(`AwaitingApproval = true`) and decisions are delivered to the workflows as updates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from workers.web import aliases, approvals_api, codec, collectors, form, health, metrics, oauth, reports, webhooks
from workers.web.config import WebConfig


@asynccontextmanager
async def connect_temporal(app: FastAPI) -> AsyncIterator[None]:
    config: WebConfig = app.state.config
    app.state.client = await config.connect()
    yield


def create_app(config: WebConfig) -> FastAPI:
    app = FastAPI(title="duecourse", lifespan=connect_temporal)
    app.state.config = config
    for surface in (webhooks, health, approvals_api, oauth, form, aliases, collectors, reports, codec, metrics):
        app.include_router(surface.router)
    metrics.count_requests(app)
    return app
