"""The sandbox's webhooks: signatures and bodies, and the dispatcher against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters.ledger import EventOperation, LedgerEvent
from adapters.ledgers.sandbox import (
    SIGNATURE_HEADER,
    SandboxLedger,
    WebhookDispatcher,
    event_body,
    parse_body,
    sign,
    verify,
)
from adapters.ledgers.sandbox.webhooks import retry_delay

from .conftest import TODAY, Clock


def sample_events(count: int = 2) -> list[LedgerEvent]:
    return [
        LedgerEvent(
            ledger="sandbox",
            tenant="demo",
            event_id=f"{n:032x}",
            entity="Invoice",
            entity_id=f"I-{2000 + n}",
            operation=EventOperation.UPDATE,
            occurred_at=datetime(2025, 3, 14, 9, n, tzinfo=UTC),
        )
        for n in range(1, count + 1)
    ]


def test_signatures() -> None:
    body = event_body(sample_events())
    signature = sign("s3cret", body)
    assert verify("s3cret", body, signature)
    assert not verify("s3cret", body.replace(b"I-2001", b"I-2999"), signature)  # tampered body
    assert not verify("other", body, signature)
    assert not verify("s3cret", body, None) and not verify("s3cret", body, "")
    assert not verify("s3cret", body, "ünïcode")
    # The QuickBooks scheme: base64 of the raw HMAC-SHA256 digest.
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="


def test_body_round_trips() -> None:
    events = sample_events(3)
    assert parse_body(event_body(events)) == events
    assert json.loads(event_body(events))["events"][0]["operation"] == "update"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"", "empty"),
        (b"[]", 'JSON object with an "events" list'),
        (b'{"event": []}', 'JSON object with an "events" list'),
        (b'{"events": {}}', '"events" must be a list'),
        (b'{"events": [1]}', r"events\[0\] is not a ledger event"),
        (b'{"events": [{"ledger": "sandbox"}]}', r"events\[0\] is not a ledger event: tenant: Field required"),
    ],
)
def test_malformed_bodies_are_refused_clearly(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_body(body)


def test_malformed_field_names_the_field() -> None:
    bad = json.loads(event_body(sample_events(2)))
    bad["events"][1]["operation"] = "explode"
    with pytest.raises(ValueError, match=r"events\[1\] is not a ledger event: operation: Input should be"):
        parse_body(json.dumps(bad).encode())


def test_retry_schedule() -> None:
    assert [retry_delay(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


class Receiver:
    """A webhook endpoint on 127.0.0.1: answers with the scripted statuses, then 200."""

    def __init__(self, secret: str, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status == 200 and not verify(receiver.secret, body, self.headers.get(SIGNATURE_HEADER)):
                        status = 401
                    receiver.requests.append((status, {k.lower(): v for k, v in self.headers.items()}, body))
                payload = b'{"error": "boom"}' if status >= 400 else b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/sandbox"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[LedgerEvent]:
        with self.lock:
            return [event for status, _, body in self.requests if status == 200 for event in parse_body(body)]


async def test_dispatcher_retries_after_a_500_without_losing_or_duplicating(
    ledger: SandboxLedger, clock: Clock
) -> None:
    customer = ledger.add_customer("Acme")
    invoice = ledger.add_invoice(customer.id, Decimal("10.00"), due_date=TODAY)
    ledger.pay(invoice.id, on=TODAY)
    everything = [event for _, event in ledger.events()]

    with Receiver("s3cret", statuses=[500]) as receiver:
        dispatcher = WebhookDispatcher(ledger, receiver.url, "s3cret", batch_size=3)
        assert await dispatcher.deliver_once() == 0  # 500: kept for later
        assert await dispatcher.deliver_once() == 1  # the next batch goes on meanwhile
        assert await dispatcher.deliver_once() == 0  # the failed one is not due yet: nothing sent
        assert len(receiver.requests) == 2
        clock.advance(0.5)
        assert await dispatcher.deliver_once() == 3
        assert await dispatcher.deliver_once() == 0

    statuses = [status for status, _, _ in receiver.requests]
    assert statuses == [500, 200, 200]
    first, retried = receiver.requests[0][2], receiver.requests[2][2]
    assert first == retried  # the same events, re-sent
    for _, headers, body in receiver.requests:
        assert verify("s3cret", body, headers[SIGNATURE_HEADER])
        assert headers["content-type"] == "application/json"
    accepted = receiver.accepted()
    # Each exactly once; like a real ledger's, delivery order is not the order of the changes.
    assert sorted(accepted, key=lambda e: e.event_id) == sorted(everything, key=lambda e: e.event_id)
    assert accepted == [everything[3], *everything[:3]]
    assert ledger.pending_events(now=clock.now + timedelta(days=1)) == []


async def test_dispatcher_backs_off_while_the_receiver_is_down(ledger: SandboxLedger, clock: Clock) -> None:
    ledger.add_customer("Acme")
    with Receiver("s3cret") as receiver:
        closed_url = receiver.url
    dispatcher = WebhookDispatcher(ledger, closed_url, "s3cret")
    for expected_wait in (0.5, 1.0, 2.0):
        assert await dispatcher.deliver_once() == 0
        clock.advance(expected_wait - 0.01)
        assert ledger.pending_events() == []
        clock.advance(0.01)
        assert len(ledger.pending_events()) == 1


async def test_dispatcher_run_delivers_everything_signed(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "live.db")
    customer = ledger.add_customer("Acme")
    with Receiver("s3cret", statuses=[500, 503]) as receiver:
        stop = asyncio.Event()
        dispatcher = WebhookDispatcher(ledger, receiver.url, "s3cret", batch_size=4, poll_interval=0.05)
        task = asyncio.create_task(dispatcher.run(stop))
        for n in range(10):
            ledger.add_invoice(customer.id, Decimal(f"{n + 1}.25"), due_date=TODAY)
        for _ in range(200):
            if not ledger.pending_events(now=datetime.now(UTC) + timedelta(days=1)):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    accepted = receiver.accepted()
    assert sorted(e.event_id for e in accepted) == sorted(e.event_id for _, e in ledger.events())
    assert len(accepted) == 11 == len({e.event_id for e in accepted})
    assert [status for status, _, _ in receiver.requests][:2] == [500, 503]
