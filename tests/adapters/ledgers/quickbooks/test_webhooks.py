"""QuickBooks webhooks: the intuit-signature check, both payload formats, malformed bodies, and the
emulator's signed deliveries parsing back to the changes."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adapters.ledger import (
    EventOperation,
)
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from adapters.ledgers.quickbooks.webhooks import parse, sign, verify
from tests.adapters.ledgers.quickbooks.connected import (
    new_customer,
    new_invoice,
)
from tests.emulators.quickbooks import Change, QuickBooksEmulator

# --- webhooks ------------------------------------------------------------------------------------------------------

CLASSIC = {"eventNotifications": [{"realmId": "9130350000000000", "dataChangeEvent": {"entities": [
    {"name": "Invoice", "id": "130", "operation": "Create", "lastUpdated": "2024-06-01T17:02:11.000Z"},
    {"name": "CreditMemo", "id": "150", "operation": "Void", "lastUpdated": "2015-10-05T14:42:19-0700"},
    {"name": "Payment", "id": "201", "operation": "Emailed", "lastUpdated": "2024-06-15T15:00:00.000Z"}]}}]}

CLOUDEVENTS: list[dict[str, Any]] = [{"specversion": "1.0", "id": "6f1c8c0e-6a55-4d43-9a2a-2f8b4d8c2a11",
                "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=", "type": "qbo.invoice.created.v1",
                "datacontenttype": "application/json", "time": "2024-06-01T17:02:11.179851517Z",
                "intuitentityid": "130", "intuitaccountid": "9130350000000000", "data": {}},
               {"specversion": "1.0", "id": "0b7e…-2", "source": "intuit.x", "type": "qbo.creditmemo.deleted.v1",
                "time": "2024-06-02T08:00:00Z", "intuitentityid": "150", "intuitaccountid": "9130350000000000"}]


def test_webhook_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = json.dumps(CLASSIC).encode()
    signature = sign("verifier", body)
    assert len(base64.b64decode(signature)) == 32
    assert verify("verifier", body, signature)
    assert not verify("verifier", body + b" ", signature)  # tampered body
    assert not verify("other-token", body, signature)
    assert not verify("verifier", body, None) and not verify("verifier", body, "")
    assert not verify("verifier", body, "not base64 at all!")


def test_classic_payload_maps_to_ledger_events_with_stable_ids() -> None:
    body = json.dumps(CLASSIC).encode()
    events = parse(body)
    assert [(e.entity, e.entity_id, e.operation) for e in events] == [
        ("Invoice", "130", EventOperation.CREATE), ("CreditNote", "150", EventOperation.VOID),
        ("Payment", "201", EventOperation.UPDATE)]
    assert {(e.ledger, e.tenant) for e in events} == {("quickbooks", "9130350000000000")}
    assert events[0].occurred_at == datetime(2024, 6, 1, 17, 2, 11, tzinfo=UTC)
    assert events[1].occurred_at == datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)
    again = parse(json.dumps(CLASSIC, indent=2).encode())  # Intuit's retry of the same notification
    assert [e.event_id for e in again] == [e.event_id for e in events]
    assert len({e.event_id for e in events}) == 3


def test_cloudevents_payload_maps_to_ledger_events() -> None:
    events = parse(json.dumps(CLOUDEVENTS).encode())
    assert [(e.entity, e.entity_id, e.operation, e.event_id) for e in events] == [
        ("Invoice", "130", EventOperation.CREATE, "6f1c8c0e-6a55-4d43-9a2a-2f8b4d8c2a11"),
        ("CreditNote", "150", EventOperation.DELETE, "0b7e…-2")]
    assert events[0].occurred_at == datetime(2024, 6, 1, 17, 2, 11, 179851, tzinfo=UTC)
    without_realm = [{k: v for k, v in CLOUDEVENTS[0].items() if k != "intuitaccountid"}]
    assert parse(json.dumps(without_realm).encode(), tenant_hint="123")[0].tenant == "123"


@pytest.mark.parametrize(("body", "complaint"), [
    (b"", "empty"),
    (b"\xff\xfe", "UTF-8"),
    (b"{not json", "not valid JSON"),
    (b'{"events": []}', "neither"),
    (b'{"eventNotifications": {}}', "must be a JSON list"),
    (b'{"eventNotifications": [{"dataChangeEvent": {"entities": []}}]}', "realmId"),
    (b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{"name": "Invoice", '
     b'"operation": "Create", "lastUpdated": "2024-06-01T00:00:00Z"}]}}]}', "'id' is missing"),
    (b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{"name": "Invoice", "id": "1", '
     b'"operation": "Create", "lastUpdated": "yesterday"}]}}]}', "ISO 8601"),
    (b'[{"id": "x", "type": "invoice.created", "time": "2024-06-01T00:00:00Z", "intuitentityid": "1", '
     b'"intuitaccountid": "1"}]', "qbo.<entity>"),
    (b'[{"type": "qbo.invoice.created.v1", "time": "2024-06-01T00:00:00Z", "intuitentityid": "1", '
     b'"intuitaccountid": "1"}]', "'id' is missing"),
    (b"[42]", "must be a JSON object"),
])
def test_malformed_webhook_bodies_are_refused_clearly(body: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse(body)


@contextmanager
def receiver(failures: int = 0) -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook endpoint on 127.0.0.1 that records what it gets and fails the first `failures` times."""
    received: list[tuple[dict[str, str], bytes]] = []
    left = [failures]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 500 if left[0] > 0 else 200
            left[0] -= 1
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/quickbooks", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["classic", "cloudevents"])
def test_emulator_webhooks_are_signed_and_parse_back_to_the_changes(emulator: QuickBooksEmulator,
                                                                    ledger: QuickBooksLedger, kind: str) -> None:
    customer_id = new_customer(ledger)
    invoice = new_invoice(ledger, customer_id)
    ledger.void_invoice(invoice.id, "void")
    with receiver(failures=1) as (url, received):
        answer = emulator.send_webhook(url, kind)  # type: ignore[arg-type]
    assert answer.status_code == 200 and len(received) == 2  # failed once, retried
    headers, body = received[-1]
    assert received[0][1] == body  # a retry sends the very same bytes
    assert verify(emulator.verifier_token, body, headers["intuit-signature"])
    assert not verify(emulator.verifier_token, body.replace(b'"1"', b'"2"'), headers["intuit-signature"])
    events = parse(body)
    assert [(e.entity, e.entity_id, e.operation) for e in events] == [
        ("Customer", customer_id, EventOperation.CREATE), ("Invoice", invoice.id, EventOperation.CREATE),
        ("Invoice", invoice.id, EventOperation.VOID)]
    assert {e.tenant for e in events} == {emulator.realm_id}
    with receiver() as (url, received):
        emulator.send_webhook(url, kind, changes=[Change("Invoice", invoice.id, "Void", emulator.clock())])  # type: ignore[arg-type]
    assert parse(received[0][1])[0].operation == EventOperation.VOID
