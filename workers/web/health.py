"""`GET /healthz`: 200 when the app can reach Temporal, 503 when it cannot."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from workers.web.deps import temporal_client

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    try:
        await asyncio.wait_for(temporal_client(request).service_client.check_health(), timeout=5)
    except Exception as error:  # any failure to reach Temporal is "unhealthy"
        return JSONResponse({"ok": False, "temporal": f"unreachable: {error}"}, status_code=503)
    return JSONResponse({"ok": True, "temporal": "reachable"})
