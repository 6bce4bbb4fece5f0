"""HTTP semantics every outside system shares: how long a server asked us to wait.

One parser for `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), the millisecond variant
OpenAI-compatible endpoints send (`retry-after-ms`), and vendor headers ending in `-retry-after`. The
ledgers and the LLM drafter all read the delay here, so a 429 means the same wait everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


def retry_after_seconds(headers: Mapping[str, str] | Any | None, *,
                        now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait before trying again, as the response's headers ask; None when they do not say.

    `headers` is any mapping with case-insensitive or lower-case keys (httpx, requests, urllib3 and the
    openai client all qualify). Tried in order: `retry-after-ms`, `retry-after`, then any header whose
    name ends in `-retry-after`. A date in the past, or a negative number, means "now" (0.0); a value that
    is neither a number nor a date is ignored."""
    if headers is None:
        return None
    items = [(str(name).lower(), value) for name, value in headers.items()]
    by_name = dict(items)
    millis = _number(by_name.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    candidates = [by_name.get("retry-after")]
    candidates += [value for name, value in items if name.endswith("-retry-after")]
    for raw in candidates:
        seconds = _number(raw)
        if seconds is None:
            seconds = _until(raw, now())
        if seconds is not None:
            return seconds
    return None


def _number(raw: Any) -> float | None:
    if raw is None or not str(raw).strip():
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN and infinities say nothing
        return None
    return max(0.0, value)


def _until(raw: Any, now: datetime) -> float | None:
    if raw is None or not str(raw).strip():
        return None
    try:
        when = parsedate_to_datetime(str(raw).strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
