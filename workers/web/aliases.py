"""The payer aliases cash matching has learned: a page to review and remove them, and an API to list them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from workers.web.deps import SessionApprover, StoreDep, reads_allowed
from workers.web.pages import TEMPLATES, signin_needed

router = APIRouter()


@router.get("/aliases", response_class=HTMLResponse)
async def aliases_page(request: Request, approver: SessionApprover, store: StoreDep) -> Response:
    if approver is None:
        return signin_needed(request)
    aliases = sorted(store.aliases().items())
    return TEMPLATES.TemplateResponse(request, "aliases.html", {"approver": approver, "aliases": aliases})


@router.post("/aliases/remove")
async def remove_alias(request: Request, approver: SessionApprover, store: StoreDep,
                       payer_name: str = Form(...)) -> Response:
    if approver is None:
        return signin_needed(request)
    store.remove_alias(payer_name)
    return RedirectResponse("/aliases", status_code=303)


@router.get("/api/aliases", dependencies=[Depends(reads_allowed)])
async def list_aliases(store: StoreDep) -> JSONResponse:
    return JSONResponse([{"payer_name": p, "customer_id": c} for p, c in sorted(store.aliases().items())])
