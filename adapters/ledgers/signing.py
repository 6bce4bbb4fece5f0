"""What every ledger's webhooks share on the wire.

The signature scheme of QuickBooks, Xero and the sandbox ledger, base64(HMAC-SHA256(secret, raw body)),
compared in constant time before anything parses the body; and the decoding of a body into JSON with an
error that says what is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def hmac_sha256_b64(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_hmac_sha256_b64(secret: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the secret's HMAC of exactly these bytes; False for a missing secret or
    signature, or one that is not base64."""
    if not secret or not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except ValueError:  # binascii.Error is a ValueError
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


def json_payload(body: bytes) -> Any:
    """The body's JSON; ValueError naming the problem when it is empty, not UTF-8, or not JSON."""
    if not body or not body.strip():
        raise ValueError("webhook body is empty")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("webhook body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"webhook body is not valid JSON: {error}") from None
