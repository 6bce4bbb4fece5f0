"""Sage Intacct webhook deliveries (Platform Services triggers, "Use webhook delivery"): verify and parse.

Pure functions, no I/O: the web app's `POST /webhooks/intacct` calls `verify` on the raw request, then
`parse` on the body, then signals the workflows the events name. Events only name what changed; the
receiver reads the ledger for figures.

What is documented (LEDGER_APIS.md C7) and what we assume (Part E #22):

* A delivery carries `Authorization: Bearer <JWT issued by Sage>` and an `X-Trusted-Context` header
  (base64 JSON naming the client id and company). There is no HMAC over the body.
* **Assumption: how the JWT is checked.** `verify` checks the signature with a configured key (a PEM
  public key for RS256, or a shared secret for HS256, for the emulator and for proxies that re-sign),
  requires `exp`, and checks `aud`/`iss` when given. How Sage publishes its signing keys (JWKS URL or
  a key in the developer portal) is not confirmed; fetching a JWKS is the caller's business, this
  module takes the key it is given. Algorithm confusion is refused: a PEM key only verifies
  asymmetric algorithms, a secret only HMAC ones.
* The JWT authenticates the sender, not the body (TLS protects the body). When the token names a
  company (`companyId` claim, assumed), every event in the body must name the same company, so a token
  for one company cannot announce events of another.
* **Assumption: the payload shape.** The admin chooses the fields of a trigger, so there is no fixed
  schema. We expect the template the emulator sends and LEDGER_APIS.md recommends:
  `{"object": "accounts-receivable/invoice", "event": "update", "key": "1234", "id": "1234",
  "companyId": "ACME", "timestamp": "2024-06-15T15:00:00Z"}`, one such object, a list of them, or
  `{"events": [...]}`; common aliases (`objectName`, `recordKey`, `operation`, `action`, `occurredAt`) are
  accepted. Configure the trigger to include a timestamp (the record's modified time): event ids derive
  from it.
* Event ids are stable: a hash of company, object, key and timestamp, the same function the adapter's
  polling backstop (`IntacctLedger.changes_since`) uses, so one change seen by both channels dedupes.
  The per-delivery idempotency key Sage sends (header name unconfirmed) stays the same across retries;
  the web layer may dedupe deliveries on it too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import jwt

from adapters.ledger import EventOperation, LedgerEvent
from adapters.ledgers.signing import json_payload

LEDGER = "intacct"
TRUSTED_CONTEXT_HEADER = "X-Trusted-Context"
COMPANY_CLAIM = "companyId"

# REST object names (and the XML API's names, which older Smart Events use) -> our entity names.
ENTITY_BY_OBJECT: dict[str, str] = {
    "accounts-receivable/customer": "Customer",
    "accounts-receivable/invoice": "Invoice",
    "accounts-receivable/payment": "Payment",
    "accounts-receivable/advance": "Payment",
    "accounts-receivable/adjustment": "CreditNote",
    "cash-management/bank-txn": "BankLine",
    "customer": "Customer",
    "arinvoice": "Invoice",
    "arpymt": "Payment",
    "aradvance": "Payment",
    "aradjustment": "CreditNote",
}

OPERATIONS: dict[str, EventOperation] = {
    "add": EventOperation.CREATE,
    "create": EventOperation.CREATE,
    "insert": EventOperation.CREATE,
    "set": EventOperation.UPDATE,
    "update": EventOperation.UPDATE,
    "modify": EventOperation.UPDATE,
    "delete": EventOperation.DELETE,
    "remove": EventOperation.DELETE,
    "reverse": EventOperation.VOID,
    "void": EventOperation.VOID,
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "object": ("object", "objectName", "object_name"),
    "key": ("key", "recordKey", "recordNo", "RECORDNO"),
    "event": ("event", "operation", "action", "eventType"),
    "companyId": ("companyId", "company", "companyID"),
    "timestamp": ("timestamp", "occurredAt", "eventTime", "modifiedDateTime"),
}
_ASYMMETRIC = ("RS", "PS", "ES", "Ed")


def change_event_id(company: str, obj: str, key: str, timestamp: datetime) -> str:
    """The id of one change to one record, the same whether a webhook or a poll reported it."""
    moment = timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return hashlib.sha256(f"{LEDGER}|{company}|{obj}|{key}|{moment}".encode()).hexdigest()[:32]


def entity_for(obj: str) -> str | None:
    """Our entity name for an Intacct object name; Order Entry quote documents are estimates."""
    name = obj.strip()
    lowered = name.lower()
    if lowered.startswith("order-entry/document::") and "quote" in lowered:
        return "Estimate"
    return ENTITY_BY_OBJECT.get(name) or ENTITY_BY_OBJECT.get(lowered)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _companies(body: bytes) -> set[str] | None:
    try:
        return {event.tenant for event in parse(body)}
    except ValueError:
        return None


def verify(
    body: bytes,
    authorization: str | None,
    *,
    key: str,
    algorithms: Sequence[str] = ("HS256", "RS256"),
    audience: str | None = None,
    issuer: str | None = None,
    leeway_seconds: float = 30.0,
) -> bool:
    """True when `authorization` is `Bearer <JWT>` signed with `key`, unexpired, for `audience`/`issuer`
    when given, and naming (if it names one) the company of every event in `body`."""
    token = _bearer(authorization)
    if token is None or not key:
        return False
    is_public_key = key.lstrip().startswith("-----BEGIN")
    allowed = [a for a in algorithms if a.startswith(_ASYMMETRIC) == is_public_key]
    if not allowed:
        return False
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=allowed,
            audience=audience,
            issuer=issuer,
            leeway=leeway_seconds,
            options={"require": ["exp"], "verify_aud": audience is not None},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return False
    company = claims.get(COMPANY_CLAIM)
    if company is not None:
        companies = _companies(body)
        if companies is None or companies - {str(company)}:
            return False
    return True


def trusted_context(header: str | None) -> dict[str, Any]:
    """The decoded `X-Trusted-Context` header (base64 JSON naming the client id and company)."""
    if not header or not header.strip():
        raise ValueError(f"{TRUSTED_CONTEXT_HEADER} header is missing")
    raw = header.strip()
    padded = raw + "=" * (-len(raw) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded) if "-" in raw or "_" in raw else base64.b64decode(padded)
        value = json.loads(decoded.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{TRUSTED_CONTEXT_HEADER} is not base64-encoded JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{TRUSTED_CONTEXT_HEADER} must encode a JSON object")
    return value


def _field(item: Mapping[str, Any], name: str, index: int) -> str:
    for alias in _ALIASES[name]:
        value = item.get(alias)
        if value is not None and str(value).strip():
            return str(value).strip()
    names = " / ".join(repr(a) for a in _ALIASES[name])
    raise ValueError(f"event {index}: missing {names}; include it in the trigger's webhook template")


def _timestamp(value: str, index: int) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"event {index}: timestamp {value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse(body: bytes) -> list[LedgerEvent]:
    """The events of a delivery; ValueError naming what is wrong when the body is not one."""
    payload: Any = json_payload(body)
    if isinstance(payload, dict) and "events" in payload:
        payload = payload["events"]
    items = [payload] if isinstance(payload, dict) else payload
    if not isinstance(items, list) or not items:
        raise ValueError('webhook body must be an event object, a non-empty list of them, or {"events": [...]}')
    events: list[LedgerEvent] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"event {index} is not a JSON object")
        obj = _field(item, "object", index)
        entity = entity_for(obj)
        if entity is None:
            known = ", ".join(sorted(k for k in ENTITY_BY_OBJECT if "/" in k))
            raise ValueError(f"event {index}: object {obj!r} is not one duecourse follows "
                             f"({known}, Order Entry quotes)")
        verb = _field(item, "event", index)
        operation = OPERATIONS.get(verb.lower())
        if operation is None:
            raise ValueError(f"event {index}: event {verb!r} is not one of {', '.join(sorted(OPERATIONS))}")
        key = _field(item, "key", index)
        company = _field(item, "companyId", index)
        occurred_at = _timestamp(_field(item, "timestamp", index), index)
        events.append(
            LedgerEvent(
                ledger=LEDGER,
                tenant=company,
                event_id=change_event_id(company, obj, key, occurred_at),
                entity=entity,
                entity_id=key,
                operation=operation,
                occurred_at=occurred_at,
            )
        )
    return events
