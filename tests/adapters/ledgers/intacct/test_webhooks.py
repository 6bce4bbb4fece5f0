"""Intacct webhook deliveries (adapters/ledgers/intacct/webhooks.py): the emulator's signed deliveries
verify, parse and dedupe with polling; forged, expired or cross-company tokens and malformed bodies are
refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from adapters.ledger import EventOperation
from adapters.ledgers.intacct.ledger import IntacctLedger
from adapters.ledgers.intacct.webhooks import parse, trusted_context, verify
from tests.emulators.intacct import IntacctEmulator
from tests.emulators.kit import ServedApp

from .connected import customer_of, invoice_of


class Receiver:
    """The web app's side of a delivery: records each POST and answers the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()

        @self.app.post("/webhooks/intacct")
        async def receive(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        self._served = ServedApp(self.app, "intacct-webhook-receiver")
        self.url = ""

    def __enter__(self) -> Receiver:
        self.url = self._served.start() + "/webhooks/intacct"
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()


def test_a_webhook_delivery_verifies_parses_and_dedupes_with_polling(emulator: IntacctEmulator,
                                                                     ledger: IntacctLedger) -> None:
    start = ledger.changes_since(None)
    customer = customer_of(ledger)
    invoice = invoice_of(ledger, customer.id)
    with Receiver([503]) as receiver:
        assert emulator.send_webhook(receiver.url, "Invoice", invoice.id, "update") == [503, 200]
    (first_headers, first_body), (second_headers, second_body) = receiver.received
    assert first_headers["idempotency-key"] == second_headers["idempotency-key"] and first_body == second_body
    key = emulator.webhook_verification_key
    assert verify(first_body, first_headers["authorization"], key=key, audience=emulator.client_id,
                  issuer="https://api.intacct.com")
    assert trusted_context(first_headers["x-trusted-context"])["companyId"] == "ACME"
    [event] = parse(first_body)
    assert (event.ledger, event.tenant, event.entity, event.entity_id, event.operation) == (
        "intacct", "ACME", "Invoice", invoice.id, EventOperation.UPDATE)
    assert parse(second_body) == [event]
    polled = ledger.changes_since(start.cursor).events
    assert event.event_id in {e.event_id for e in polled if e.entity_id == invoice.id}


def test_verify_refuses_what_it_should(emulator: IntacctEmulator) -> None:
    body = emulator.webhook_body("Invoice", "1234", "update")
    good = f"Bearer {emulator.webhook_token()}"
    key = emulator.webhook_verification_key
    assert verify(body, good, key=key)
    assert not verify(body, None, key=key)
    assert not verify(body, "Basic abc", key=key)
    assert not verify(body, good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"), key=key)
    assert not verify(body, f"Bearer {emulator.webhook_token(lifetime=-120)}", key=key)  # expired
    assert not verify(body, good, key=key, audience="someone-else")
    assert not verify(body, good, key="a-shared-secret-long-enough-for-hs256-use")  # RS256 is not HMAC
    assert not verify(body, good, key=key, algorithms=("HS256",))
    other_company = f"Bearer {emulator.webhook_token(company_id='GLOBEX')}"
    assert not verify(body, other_company, key=key)  # a token for one company, events of another
    with IntacctEmulator(webhook_secret="an-hs256-secret-of-at-least-32-bytes") as hmac_emulator:
        hs_token = f"Bearer {hmac_emulator.webhook_token()}"
        assert verify(body, hs_token, key="an-hs256-secret-of-at-least-32-bytes")
        assert not verify(body, hs_token, key="a-wrong-secret-also-long-enough-for-hs256")
        assert not verify(body, hs_token, key=emulator.webhook_public_key_pem)  # no algorithm confusion


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty"),
    (b"not json", "not valid JSON"),
    (b"[]", "non-empty list"),
    (b"[1]", "not a JSON object"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "update", "companyId": "ACME",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "missing 'key'"),
    (json.dumps({"object": "general-ledger/journal", "event": "update", "key": "1", "companyId": "ACME",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "is not one duecourse follows"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "explode", "key": "1", "companyId": "ACME",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "'explode' is not one of"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "set", "key": "1", "companyId": "ACME",
                 "timestamp": "last tuesday"}).encode(), "not an ISO 8601"),
    (json.dumps({"object": "accounts-receivable/invoice", "event": "set", "key": "1",
                 "timestamp": "2024-06-15T15:00:00Z"}).encode(), "missing 'companyId'"),
])
def test_parse_explains_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(body)


def test_parse_accepts_lists_envelopes_and_legacy_names() -> None:
    items = [{"objectName": "ARPYMT", "action": "add", "recordKey": "77", "companyId": "ACME",
              "occurredAt": "2024-06-15T15:00:00"},
             {"object": "order-entry/document::Sales Quote", "event": "delete", "key": "9", "companyId": "ACME",
              "timestamp": "2024-06-15T15:00:01Z"}]
    payment, quote = parse(json.dumps({"events": items}).encode())
    assert (payment.entity, payment.entity_id, payment.operation) == ("Payment", "77", EventOperation.CREATE)
    assert payment.occurred_at == datetime(2024, 6, 15, 15, 0, tzinfo=UTC)
    assert (quote.entity, quote.operation) == ("Estimate", EventOperation.DELETE)
    assert parse(json.dumps(items).encode())[0].event_id == payment.event_id
    with pytest.raises(ValueError, match="not base64"):
        trusted_context("%%%")
