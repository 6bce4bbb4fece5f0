"""QuickBooks Online webhooks: the `intuit-signature` check and both payload formats, as pure functions.

Intuit POSTs a notification naming what changed, never the figures: the receiver reads the ledger (or CDC)
for those. Two formats arrive at the same endpoint during Intuit's migration:

* classic: `{"eventNotifications": [{"realmId": "…", "dataChangeEvent": {"entities": [
  {"name": "Invoice", "id": "130", "operation": "Create", "lastUpdated": "2024-06-01T17:02:11.000Z"}]}}]}`
* CloudEvents 1.0: a JSON array of `{"specversion": "1.0", "id": "…", "type": "qbo.invoice.created.v1",
  "time": "…", "intuitentityid": "130", "intuitaccountid": "<realm>", "data": {}}`

Both are signed the same way: `intuit-signature` = base64(HMAC-SHA256(webhook verifier token, raw body)).
Intuit retries and may deliver out of order, so every event gets an `event_id` that is the same each time
the same notification arrives: a hash of (realm, entity, id, operation, lastUpdated) for the classic format
(the dedupe key Intuit's guide recommends), the CloudEvents `id` for the new one.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from adapters.ledger import EventOperation, LedgerEvent
from adapters.ledgers.quickbooks import LEDGER
from adapters.ledgers.signing import hmac_sha256_b64, json_payload, verify_hmac_sha256_b64

SIGNATURE_HEADER = "intuit-signature"

# QuickBooks entity names that the ledger-neutral vocabulary calls something else. A Deposit is not mapped:
# duecourse's bank lines are Deposit *lines* (mapping.py), whose ids a webhook cannot name.
VOCABULARY_NAMES = {"CreditMemo": "CreditNote"}

# Classic `operation` and CloudEvents action words. Merge and Emailed change the entity a receiver re-reads,
# so they are updates; a word Intuit adds later is treated as an update too (the event only says "re-read").
_OPERATIONS = {
    "create": EventOperation.CREATE,
    "created": EventOperation.CREATE,
    "update": EventOperation.UPDATE,
    "updated": EventOperation.UPDATE,
    "delete": EventOperation.DELETE,
    "deleted": EventOperation.DELETE,
    "void": EventOperation.VOID,
    "voided": EventOperation.VOID,
    "merge": EventOperation.UPDATE,
    "merged": EventOperation.UPDATE,
    "emailed": EventOperation.UPDATE,
}

# CloudEvents types carry the entity in lower case; these are the names QuickBooks spells in CamelCase.
_ENTITY_CASE = {
    name.lower(): name
    for name in (
        "Account", "Attachable", "Bill", "BillPayment", "Class", "CreditMemo", "Customer", "Department",
        "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalEntry", "Payment", "PaymentMethod",
        "Preferences", "Purchase", "PurchaseOrder", "RefundReceipt", "SalesReceipt", "TaxAgency", "Term",
        "TimeActivity", "Transfer", "Vendor", "VendorCredit", "Budget", "Currency", "JournalCode",
    )
}

_CLOUDEVENT_TYPE = re.compile(r"^qbo\.(?P<entity>[a-z]+)\.(?P<action>[a-z]+)\.v\d+$")


def sign(verifier_token: str, body: bytes) -> str:
    return hmac_sha256_b64(verifier_token, body)


def verify(verifier_token: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` (the `intuit-signature` header) is this body's HMAC under the verifier token."""
    return verify_hmac_sha256_b64(verifier_token, body, signature)


def vocabulary_entity(qbo_name: str) -> str:
    return VOCABULARY_NAMES.get(qbo_name, qbo_name)


def operation_of(word: str) -> EventOperation:
    return _OPERATIONS.get(word.strip().lower(), EventOperation.UPDATE)


def event_id(realm_id: str, qbo_entity: str, entity_id: str, operation: EventOperation, occurred_at: datetime) -> str:
    """The same id for the same change however often (or in whichever format) it is announced; the adapter's
    CDC polling uses it too, so a change seen by webhook and by polling dedupes."""
    stamp = occurred_at.astimezone(UTC).isoformat(timespec="seconds")
    key = "|".join((realm_id, qbo_entity, entity_id, operation.value, stamp))
    return "qbo-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def parse_time(value: Any, where: str) -> datetime:
    """QuickBooks timestamps: `2024-06-01T17:02:11.000Z`, `2015-10-05T14:42:19-0700`, nanosecond CloudEvents
    times. Naive times are UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: a timestamp is required, got {value!r}")
    text = value.strip()
    # Python wants at most six fractional digits; CloudEvents times carry nine.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 timestamp") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} is missing or empty")
    return value.strip()


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a JSON list, got {type(value).__name__}")
    return value


def _classic(payload: dict[str, Any], tenant_hint: str | None) -> list[LedgerEvent]:
    events: list[LedgerEvent] = []
    for n, raw in enumerate(_list(payload["eventNotifications"], "eventNotifications")):
        where = f"eventNotifications[{n}]"
        notification = _object(raw, where)
        realm = notification.get("realmId") or tenant_hint
        if not realm:
            raise ValueError(f"{where}: 'realmId' is missing and no tenant was given")
        change = _object(notification.get("dataChangeEvent"), f"{where}.dataChangeEvent")
        entities = _list(change.get("entities"), f"{where}.dataChangeEvent.entities")
        for m, raw_entity in enumerate(entities):
            at = f"{where}.dataChangeEvent.entities[{m}]"
            entity = _object(raw_entity, at)
            name = _text(entity, "name", at)
            entity_id = _text(entity, "id", at)
            operation = operation_of(_text(entity, "operation", at))
            occurred_at = parse_time(entity.get("lastUpdated"), f"{at}.lastUpdated")
            events.append(
                LedgerEvent(
                    ledger=LEDGER,
                    tenant=str(realm),
                    event_id=event_id(str(realm), name, entity_id, operation, occurred_at),
                    entity=vocabulary_entity(name),
                    entity_id=entity_id,
                    operation=operation,
                    occurred_at=occurred_at,
                )
            )
    return events


def _cloudevents(items: list[Any], tenant_hint: str | None) -> list[LedgerEvent]:
    events: list[LedgerEvent] = []
    for n, raw in enumerate(items):
        where = f"[{n}]"
        item = _object(raw, f"CloudEvent {where}")
        kind = _text(item, "type", where)
        match = _CLOUDEVENT_TYPE.match(kind)
        if match is None:
            raise ValueError(f"{where}: type {kind!r} is not of the form qbo.<entity>.<action>.v<n>")
        lower = match["entity"]
        name = _ENTITY_CASE.get(lower, lower[:1].upper() + lower[1:])
        realm = item.get("intuitaccountid") or tenant_hint
        if not realm:
            raise ValueError(f"{where}: 'intuitaccountid' is missing and no tenant was given")
        events.append(
            LedgerEvent(
                ledger=LEDGER,
                tenant=str(realm),
                event_id=_text(item, "id", where),
                entity=vocabulary_entity(name),
                entity_id=_text(item, "intuitentityid", where),
                operation=operation_of(match["action"]),
                occurred_at=parse_time(item.get("time"), f"{where}.time"),
            )
        )
    return events


def parse(body: bytes, tenant_hint: str | None = None) -> list[LedgerEvent]:
    """The events of a webhook body in either format; ValueError saying what is wrong when it is neither.

    `tenant_hint` stands in for a realm id the body leaves out (the web app knows which connection it is).
    """
    payload: Any = json_payload(body)
    if isinstance(payload, dict) and "eventNotifications" in payload:
        return _classic(payload, tenant_hint)
    if isinstance(payload, dict) and "specversion" in payload:
        return _cloudevents([payload], tenant_hint)  # a single CloudEvent rather than a batch
    if isinstance(payload, list):
        return _cloudevents(payload, tenant_hint)
    raise ValueError(
        'webhook body is neither a classic notification ({"eventNotifications": [...]}) '
        "nor a list of CloudEvents"
    )
