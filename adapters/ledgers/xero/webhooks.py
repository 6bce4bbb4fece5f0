"""Xero's webhooks: the signature check and the payload, as pure functions (no I/O).

Xero POSTs `{"events": [...], "firstEventSequence": n, "lastEventSequence": m, "entropy": "..."}` with
`x-xero-signature: base64(HMAC-SHA256(webhook key, raw body))`. An empty `events` list is the
"intent to receive" check: the receiver answers 200 with an empty body when the signature is valid and 401
when it is not, within 5 seconds, and the same rules hold for every later delivery.

Events name a record, never its figures (a receiver reads the ledger for those): `eventCategory` INVOICE,
CONTACT or CREDITNOTE (SUBSCRIPTION events concern App Store billing, not the books, and are skipped), with
`eventType` CREATE or UPDATE; a deletion or void arrives as an UPDATE (CREDITNOTE events may say so in
their `data`). Xero retries failed deliveries and may send one event twice or out of order: `event_id`
is stable per event so the workflows drop the repeats.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from adapters.ledger import EventOperation, LedgerEvent
from adapters.ledgers.signing import hmac_sha256_b64, json_payload, verify_hmac_sha256_b64

LEDGER = "xero"
SIGNATURE_HEADER = "x-xero-signature"
ENTITIES = {"INVOICE": "Invoice", "CONTACT": "Customer", "CREDITNOTE": "CreditNote"}
OPERATIONS = {"CREATE": EventOperation.CREATE, "UPDATE": EventOperation.UPDATE}
SKIPPED_CATEGORIES = {"SUBSCRIPTION"}
_FRACTION = re.compile(r"\.(\d+)")


def sign(webhook_key: str, body: bytes) -> str:
    return hmac_sha256_b64(webhook_key, body)


def verify(webhook_key: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the webhook key's HMAC of exactly these bytes (checked before any parsing)."""
    return verify_hmac_sha256_b64(webhook_key, body, signature)


def _moment(value: Any, index: int) -> datetime:
    """`eventDateUtc`: ISO without a zone (UTC), with up to seven fractional digits."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"events[{index}].eventDateUtc must be an ISO date-time string")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip().replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"events[{index}].eventDateUtc {value!r} is not an ISO date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _field(event: dict[str, Any], name: str, index: int) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"events[{index}].{name} is missing or not a string")
    return value.strip()


def parse(body: bytes) -> list[LedgerEvent]:
    """The ledger events of a verified delivery; [] for an intent-to-receive check (an empty batch).
    ValueError, naming what is wrong, when the body is not a Xero webhook payload."""
    payload: Any = json_payload(body)
    if not isinstance(payload, dict) or "events" not in payload:
        raise ValueError('webhook body must be a JSON object with an "events" list')
    items = payload["events"]
    if not isinstance(items, list):
        raise ValueError('"events" must be a list')
    events: list[LedgerEvent] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"events[{index}] is not an object")
        category = _field(item, "eventCategory", index).upper()
        kind = _field(item, "eventType", index).upper()
        resource = _field(item, "resourceId", index)
        tenant = _field(item, "tenantId", index)
        raw_date = _field(item, "eventDateUtc", index)
        occurred = _moment(raw_date, index)
        if category in SKIPPED_CATEGORIES:
            continue
        if category not in ENTITIES:
            # Xero adds categories over time; one we do not know names nothing we keep.
            continue
        if kind not in OPERATIONS:
            raise ValueError(f"events[{index}].eventType {kind!r} is not CREATE or UPDATE")
        operation = OPERATIONS[kind]
        data = item.get("data")
        if isinstance(data, dict) and str(data.get("Status", "")).upper() in ("VOIDED", "DELETED"):
            operation = EventOperation.VOID
        events.append(LedgerEvent(
            ledger=LEDGER, tenant=tenant,
            # Stable across Xero's redeliveries of the same event, distinct for the same record's next change.
            event_id=f"xero:{tenant}:{category}:{resource}:{kind}:{raw_date}",
            entity=ENTITIES[category], entity_id=resource, operation=operation, occurred_at=occurred))
    return events
