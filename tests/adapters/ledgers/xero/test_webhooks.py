"""Xero webhooks (adapters/ledgers/xero/webhooks.py): the signature over the raw bytes, the B7 payload, and the
emulator's intent-to-receive check and deliveries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from adapters.ledger import (
    EventOperation,
)
from adapters.ledgers.xero import webhooks as xero_webhooks
from adapters.ledgers.xero.ledger import XeroLedger
from tests.emulators.kit import serve
from tests.emulators.xero import XeroEmulator

from .connected import customer, invoice, pay

# --- webhooks --------------------------------------------------------------------------------------------------

WEBHOOK_KEY = "duecourse-test-webhook-key"


B7_SAMPLE = (b'{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/4074292c-09b3-456d-84e7-add864c6c39b",'
             b'"resourceId":"4074292c-09b3-456d-84e7-add864c6c39b","eventDateUtc":"2024-06-15T00:00:00.456",'
             b'"eventType":"UPDATE","eventCategory":"INVOICE","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",'
             b'"tenantType":"ORGANISATION"}],"firstEventSequence":17,"lastEventSequence":17,'
             b'"entropy":"S0M3R4ND0MT3XT"}')


def test_signature_is_checked_over_the_raw_bytes() -> None:
    signature = xero_webhooks.sign(WEBHOOK_KEY, B7_SAMPLE)
    assert xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE, signature)
    assert not xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE.replace(b"17", b"18"), signature)
    assert not xero_webhooks.verify("another key", B7_SAMPLE, signature)
    assert not xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE, None)
    assert not xero_webhooks.verify(WEBHOOK_KEY, B7_SAMPLE, "not base64 at all ✓")
    reformatted = json.dumps(json.loads(B7_SAMPLE)).encode()  # same JSON, other bytes
    assert not xero_webhooks.verify(WEBHOOK_KEY, reformatted, signature)


def test_the_b7_payload_parses_to_ledger_events() -> None:
    (event,) = xero_webhooks.parse(B7_SAMPLE)
    assert (event.ledger, event.tenant, event.entity, event.entity_id, event.operation) == (
        "xero", "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f", "Invoice", "4074292c-09b3-456d-84e7-add864c6c39b",
        EventOperation.UPDATE)
    assert event.occurred_at == datetime(2024, 6, 15, 0, 0, 0, 456000, tzinfo=UTC)
    assert [e.event_id for e in xero_webhooks.parse(B7_SAMPLE)] == [event.event_id]  # redelivery: same id
    assert xero_webhooks.parse(b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"X"}') == []


def test_categories_and_credit_note_data() -> None:
    def body(*events: dict[str, Any]) -> bytes:
        base = {"resourceId": "r1", "eventDateUtc": "2024-06-15T10:00:00.1234567", "eventType": "CREATE",
                "tenantId": "t1", "tenantType": "ORGANISATION"}
        return json.dumps({"events": [{**base, **e} for e in events]}).encode()

    events = xero_webhooks.parse(body({"eventCategory": "CONTACT"},
                                      {"eventCategory": "CREDITNOTE", "eventType": "UPDATE",
                                       "data": {"Type": "ACCRECCREDIT", "Status": "VOIDED"}},
                                      {"eventCategory": "SUBSCRIPTION", "tenantType": "APPLICATION"},
                                      {"eventCategory": "SOMETHINGNEW"}))
    assert [(e.entity, e.operation) for e in events] == [("Customer", EventOperation.CREATE),
                                                         ("CreditNote", EventOperation.VOID)]
    assert events[0].occurred_at == datetime(2024, 6, 15, 10, 0, 0, 123456, tzinfo=UTC)
    assert events[0].event_id != events[1].event_id


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty"), (b"\xff\xfe", "UTF-8"), (b"{not json", "not valid JSON"), (b"[]", '"events" list'),
    (b'{"events": {}}', "must be a list"), (b'{"events": [1]}', "events[0] is not an object"),
    (b'{"events": [{"eventCategory": "INVOICE"}]}', "eventType"),
    (b'{"events": [{"eventCategory": "INVOICE", "eventType": "UPDATE", "resourceId": "r", "tenantId": "t",'
     b' "eventDateUtc": "yesterday"}]}', "eventDateUtc"),
    (b'{"events": [{"eventCategory": "INVOICE", "eventType": "DELETE", "resourceId": "r", "tenantId": "t",'
     b' "eventDateUtc": "2024-06-15T00:00:00"}]}', "not CREATE or UPDATE"),
])
def test_malformed_bodies_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        xero_webhooks.parse(body)


def receiver(key: str, received: list[Any]) -> FastAPI:
    """The receiving side as the web app does it: verify the raw bytes, then parse; empty bodies always."""
    app = FastAPI()

    @app.post("/webhooks/xero")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not xero_webhooks.verify(key, body, request.headers.get(xero_webhooks.SIGNATURE_HEADER)):
            return Response(status_code=401)
        received.extend(xero_webhooks.parse(body))
        return Response(status_code=200)

    return app


def test_intent_to_receive_and_delivery(ledger: XeroLedger, emulator: XeroEmulator) -> None:
    received: list[Any] = []
    with serve(receiver(emulator.webhook_key, received)) as url:
        assert emulator.intent_to_receive(f"{url}/webhooks/xero") == (200, 401)
        assert emulator.last_intent_seconds is not None and emulator.last_intent_seconds < 5
        contact = customer(ledger)
        inv = invoice(ledger, contact)
        pay(ledger, contact, {inv: "100.00"}, "pay-hook")
        assert emulator.send_webhook(f"{url}/webhooks/xero") == 200
        assert emulator.send_webhook(f"{url}/webhooks/xero", key="wrong key") == 401
    kinds = [(e.entity, e.entity_id, e.operation) for e in received]
    assert ("Customer", contact, EventOperation.CREATE) in kinds
    assert ("Invoice", inv, EventOperation.CREATE) in kinds and ("Invoice", inv, EventOperation.UPDATE) in kinds
    assert len({e.event_id for e in received}) == len(received)
