"""What every surface of the web app shares, as FastAPI dependencies: the configuration, the Temporal
client (connected once, in the app's lifespan), the store, and who the approver is (a bearer token for
the API, a session cookie for the form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from temporalio.client import Client

from adapters.store import Approver, Store
from workers.web.config import WebConfig

SESSION_COOKIE = "duecourse_session"


def web_config(request: Request) -> WebConfig:
    config: WebConfig = request.app.state.config
    return config


def temporal_client(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


def store(request: Request) -> Store:
    return web_config(request).store


ConfigDep = Annotated[WebConfig, Depends(web_config)]
TemporalDep = Annotated[Client, Depends(temporal_client)]
StoreDep = Annotated[Store, Depends(store)]


def bearer_approver(store: StoreDep, authorization: str | None = Header(default=None)) -> Approver:
    """The approver whose API token is in `Authorization: Bearer TOKEN`; 401 without one."""
    approver = None
    if authorization and authorization.lower().startswith("bearer "):
        approver = store.approver_by_token(authorization[7:].strip())
    if approver is None:
        raise HTTPException(401, "a valid approver token is required (Authorization: Bearer TOKEN)")
    return approver


def reads_allowed(config: ConfigDep, authorization: str | None = Header(default=None)) -> None:
    """Reads need a token, except on the embedded dev stack (`open_reads`)."""
    if not config.open_reads:
        bearer_approver(config.store, authorization)


def session_approver(request: Request, store: StoreDep) -> Approver | None:
    """The approver signed in to the form (through a one-time link), or None."""
    session = request.cookies.get(SESSION_COOKIE)
    return store.approver_by_session(session) if session else None


BearerApprover = Annotated[Approver, Depends(bearer_approver)]
SessionApprover = Annotated[Approver | None, Depends(session_approver)]
