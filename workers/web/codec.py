"""The codec server: Temporal's remote codec protocol on the web app, so the Temporal UI and CLI show the
stack's encrypted payloads decoded to the people allowed to see them.

`POST /codec/encode` and `POST /codec/decode` take and answer the JSON form of
`temporal.api.common.v1.Payloads`: `{"payloads": [{"metadata": {key: base64}, "data": base64}]}`. They use the
very codec of the web app's own Temporal client (`workers.client.connect`), so what they decode is what the
worker encrypted.

Who may call them: an approver with an API token (`Authorization: Bearer TOKEN`, any role: decoded payloads
are reads); on the embedded dev stack (open reads, loopback) also the Temporal UI without a token. Browsers
reach them only from the Temporal UI's origin (CORS): the dev stack's UI URL, plus any origins listed in
`DUECOURSE_CODEC_CORS_ORIGINS` (comma-separated, for a UI elsewhere).
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from adapters.codec import PayloadDecryptionError
from workers.web.config import WebConfig
from workers.web.deps import ConfigDep, bearer_approver

router = APIRouter()

# Temporal's UI batches a page of history into one request; 4 MiB is the gRPC message limit's order.
MAX_BODY_BYTES = 4 * 1024 * 1024
CORS_ORIGINS_VARIABLE = "DUECOURSE_CODEC_CORS_ORIGINS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def allowed_origins(config: WebConfig) -> set[str]:
    """The Temporal UI's origin (the dev stack's UI URL) and the operator's extra origins."""
    urls = [config.ui_url or "", *os.environ.get(CORS_ORIGINS_VARIABLE, "").split(",")]
    return {origin for origin in (origin_of(url) for url in urls if url.strip()) if origin}


def cors_headers(origin: str | None, config: WebConfig) -> dict[str, str]:
    if origin is None or origin.lower() not in allowed_origins(config):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        # The UI's "include cross-origin credentials" setting sends cookies or an Authorization header.
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def codec_caller(request: Request, config: ConfigDep, authorization: str | None = Header(default=None),
                 origin: str | None = Header(default=None)) -> None:
    """An approver's token; or, on the dev stack's open reads over loopback, the UI (or no browser at all)."""
    open_dev_read = config.open_reads and from_loopback(request) and (
        origin is None or origin.lower() in allowed_origins(config))
    if authorization or not open_dev_read:
        bearer_approver(config.store, authorization)


def payload_codec(request: Request) -> PayloadCodec | None:
    """The codec of the web app's own Temporal client: the same converter as the worker's."""
    client = request.app.state.client
    codec: PayloadCodec | None = client.data_converter.payload_codec
    return codec


CodecCaller = Annotated[None, Depends(codec_caller)]


async def read_payloads(request: Request) -> Payloads:
    """The request's Payloads; 413 past MAX_BODY_BYTES (checked before and while reading), 400 when malformed."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the body is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        return json_format.Parse(bytes(body).decode("utf-8"), Payloads())
    except (json_format.ParseError, UnicodeDecodeError) as error:
        raise HTTPException(
            400, f"the body must be JSON Payloads ({{\"payloads\": [{{\"metadata\": {{}}, \"data\": \"base64\"}}]}}): "
                 f"{error}") from None


def payloads_response(payloads: Payloads, headers: dict[str, str]) -> Response:
    answer: dict[str, Any] = json_format.MessageToDict(payloads)
    answer.setdefault("payloads", [])
    return Response(json.dumps(answer), media_type="application/json", headers=headers)


@router.options("/codec/{operation}", include_in_schema=False)
async def preflight(operation: str, config: ConfigDep, origin: str | None = Header(default=None)) -> Response:
    headers = cors_headers(origin, config)
    if operation not in ("encode", "decode") or not headers:
        return Response(status_code=403)
    return Response(status_code=204, headers=headers)


@router.post("/codec/encode")
async def encode(request: Request, config: ConfigDep, _caller: CodecCaller,
                 origin: str | None = Header(default=None)) -> Response:
    headers = cors_headers(origin, config)
    payloads = await read_payloads(request)
    codec = payload_codec(request)
    if codec is None:
        raise HTTPException(503, "payload encryption is not configured (DUECOURSE_CODEC_KEYS or "
                                 "DUECOURSE_CODEC_KEY_FILE)", headers=headers)
    encoded = await codec.encode(list(payloads.payloads))
    return payloads_response(Payloads(payloads=encoded), headers)


@router.post("/codec/decode")
async def decode(request: Request, config: ConfigDep, _caller: CodecCaller,
                 origin: str | None = Header(default=None)) -> Response:
    headers = cors_headers(origin, config)
    payloads = await read_payloads(request)
    codec = payload_codec(request)
    if codec is None:  # nothing is encrypted by this app: plain payloads read as they are
        return payloads_response(payloads, headers)
    try:
        decoded = await codec.decode(list(payloads.payloads))
    except PayloadDecryptionError as error:
        raise HTTPException(422, str(error), headers=headers) from None
    return payloads_response(Payloads(payloads=decoded), headers)
