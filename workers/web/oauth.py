"""`GET /oauth/<ledger>/callback`: where a ledger sends the person back after they allowed the connection.

The code is traded for tokens (kept encrypted), and each connected company gets its polling-backstop
schedule and its backfill (every invoice already open gets its lifecycle). The page says what happened;
nothing is kept when the ledger refuses.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from workers.backfill import start_backfill
from workers.connect import ConnectError, complete
from workers.sync import ensure_sync_schedule
from workers.web.deps import ConfigDep, TemporalDep
from workflows.backfill import BackfillInput

log = logging.getLogger("duecourse.web")
router = APIRouter()


@router.get("/oauth/{ledger}/callback", response_class=HTMLResponse)
async def oauth_callback(ledger: str, request: Request, config: ConfigDep, client: TemporalDep) -> Response:
    if config.home is None:
        return HTMLResponse("<p>This web app has no data dir configured for ledger connections.</p>", 500)
    try:
        tenants = await asyncio.to_thread(complete, config.store, config.home, ledger, dict(request.query_params))
    except ConnectError as error:
        log.warning("%s connection refused: %s", ledger, error)
        return HTMLResponse(f"<p>Not connected: {html.escape(str(error))}</p>", status_code=400)
    except Exception as error:  # the ledger's token endpoint failed: say so, keep nothing
        log.exception("%s token exchange failed", ledger)
        return HTMLResponse(f"<p>Not connected: {html.escape(ledger)} refused the sign-in "
                            f"({html.escape(str(error))}).</p>", status_code=502)
    for tenant in tenants:
        await ensure_sync_schedule(client, ledger, tenant, config.defaults.task_queue, every=timedelta(minutes=5))
        # Every invoice already open in the company gets its lifecycle (the change feed starts from now).
        await start_backfill(client, BackfillInput(ledger=ledger, tenant=tenant), config.defaults.task_queue)
    names = ", ".join(html.escape(t) for t in tenants)
    return HTMLResponse(f"<p>Connected {html.escape(ledger)}: <strong>{names}</strong>. "
                        "You can close this window.</p>")
