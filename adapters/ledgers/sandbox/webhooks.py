"""The sandbox ledger's webhooks: the wire format, its signature, and the dispatcher that delivers them.

The scheme is QuickBooks Online's (`intuit-signature`): the header carries base64(HMAC-SHA256(secret,
raw body)). The body names what changed, never the figures: a receiver reads the ledger for those.

    POST <url>
    x-sandbox-signature: <base64 HMAC-SHA256>
    content-type: application/json

    {"events": [{"ledger": "sandbox", "tenant": "demo", "event_id": "…", "entity": "Invoice",
                 "entity_id": "I-2001", "operation": "update", "occurred_at": "…"}]}

Like a real ledger, the dispatcher retries a failed delivery with exponential backoff and never drops an
event; a receiver must therefore accept the same event twice (it dedupes on `event_id`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
from pydantic import ValidationError

from adapters.ledger import LedgerEvent
from adapters.ledgers.sandbox.ledger import SandboxLedger
from adapters.ledgers.signing import hmac_sha256_b64, json_payload, verify_hmac_sha256_b64

SIGNATURE_HEADER = "x-sandbox-signature"
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0
DELIVERY_TIMEOUT_SECONDS = 10.0

log = logging.getLogger(__name__)


def sign(secret: str, body: bytes) -> str:
    return hmac_sha256_b64(secret, body)


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    return verify_hmac_sha256_b64(secret, body, signature)


def event_body(events: list[LedgerEvent]) -> bytes:
    payload = {"events": [event.model_dump(mode="json") for event in events]}
    return json.dumps(payload, separators=(",", ":")).encode()


def parse_body(body: bytes) -> list[LedgerEvent]:
    """The events of a webhook body; ValueError naming what is wrong when it is not one."""
    payload: Any = json_payload(body)
    if not isinstance(payload, dict) or "events" not in payload:
        raise ValueError('webhook body must be a JSON object with an "events" list')
    if not isinstance(payload["events"], list):
        raise ValueError('"events" must be a list')
    events = []
    for index, item in enumerate(payload["events"]):
        try:
            events.append(LedgerEvent.model_validate(item))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'event'}: {problem['msg']}"
                for problem in error.errors()
            )
            raise ValueError(f"events[{index}] is not a ledger event: {problems}") from None
    return events


def retry_delay(consecutive_failures: int) -> float:
    """0.5 s after the first failure, doubling, at most 30 s."""
    return min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2.0 ** max(0, consecutive_failures - 1))


class WebhookDispatcher:
    """Drains the sandbox ledger's outbox into signed POSTs to one URL (the web app's
    `/webhooks/sandbox`). Marks a batch delivered on a 2xx answer; otherwise schedules it again."""

    def __init__(
        self,
        ledger: SandboxLedger,
        url: str,
        secret: str,
        *,
        batch_size: int = 50,
        poll_interval: float = 0.2,
    ) -> None:
        self.ledger = ledger
        self.url = url
        self.secret = secret
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
            while not stop.is_set():
                try:
                    delivered = await self._deliver(client)
                except Exception:
                    # The ledger file itself failed us (disk, permissions): keep the dev stack up and
                    # try again, since the outbox still holds every event.
                    log.exception("sandbox webhook dispatch failed; retrying")
                    delivered = 0
                if delivered >= self.batch_size:
                    continue  # more may be waiting
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)
                except TimeoutError:
                    pass

    async def deliver_once(self) -> int:
        """One pass: POST one batch of due events; returns how many were delivered."""
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
            return await self._deliver(client)

    async def _deliver(self, client: httpx.AsyncClient) -> int:
        """POSTs the due events as one batch; marks them delivered, or schedules them again."""
        pending = await asyncio.to_thread(self.ledger.pending_events, self.batch_size)
        if not pending:
            return 0
        seqs = [seq for seq, _ in pending]
        error = await self._post(client, event_body([event for _, event in pending]))
        if error is None:
            self._failures = 0
            await asyncio.to_thread(self.ledger.mark_delivered, seqs)
            return len(seqs)
        self._failures += 1
        delay = retry_delay(self._failures)
        log.warning("sandbox webhook to %s failed (%s); %d events again in %.1fs", self.url, error, len(seqs), delay)
        retry_at = self.ledger.now() + timedelta(seconds=delay)
        await asyncio.to_thread(self.ledger.mark_failed, seqs, error, retry_at)
        return 0

    async def _post(self, client: httpx.AsyncClient, body: bytes) -> str | None:
        """The signed POST of one body: None when the receiver took it (2xx), else what went wrong."""
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        try:
            response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as failure:
            return f"{type(failure).__name__}: {failure}"
        if not response.is_success:
            return f"HTTP {response.status_code}: {response.text[:500]}"
        return None
