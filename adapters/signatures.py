"""The webhook signature scheme QuickBooks, Xero and the sandbox ledger share:
base64(HMAC-SHA256(secret, raw body)), compared in constant time before anything parses the body."""

from __future__ import annotations

import base64
import hashlib
import hmac


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
