"""What every ledger's transport shares: one map from an HTTP answer to the port's typed errors.

Each ledger first handles what only it says (QuickBooks Fault codes, Xero's 401/403 as re-consent, Intacct's
409 conflict), then hands the rest here, so a 429, a 503 with Retry-After, a 5xx, a timeout or a 404 means
the same thing on every ledger. Temporal owns retrying: a `RateLimited` carries the delay the ledger asked
for (or the ledger's own default back-off), which the activity layer turns into `next_retry_delay`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.http import retry_after_seconds
from adapters.ledger import LedgerError, NotFound, PermanentLedgerError, RateLimited, RetryableLedgerError
from adapters.metrics import LEDGER_HTTP_ERRORS, ledger_named_in


def error_for_status(status: int | None, text: str, headers: Mapping[str, str] | Any | None = None, *,
                     default_retry_after: float | None = None) -> LedgerError:
    """The port's error for an HTTP answer with status `status` (None or 0: no answer at all).

    429 -> RateLimited (the Retry-After delay, else `default_retry_after`); 503 with a Retry-After ->
    RateLimited too (the server said when); other 5xx, 408 and no answer -> RetryableLedgerError;
    404 -> NotFound; anything else -> PermanentLedgerError. `text` is the message, already naming the
    ledger and the call."""
    LEDGER_HTTP_ERRORS.labels(ledger_named_in(text), str(status or "none")).inc()
    delay = retry_after_seconds(headers)
    if status == 429:
        return RateLimited(text, retry_after_seconds=delay if delay is not None else default_retry_after)
    if status == 503 and delay is not None:
        return RateLimited(text, retry_after_seconds=delay)
    if not status or status >= 500 or status == 408:
        return RetryableLedgerError(text)
    if status == 404:
        return NotFound(text)
    return PermanentLedgerError(text)
