"""One place that turns adapter failures into Temporal's retry vocabulary.

Temporal owns retries: client libraries' own retries are off, and every failure leaves an activity as
an `ApplicationError` that says whether to retry and, for rate limits, when (`next_retry_delay`). The
error type names themselves live in `activities/error_types.py`, which workflows import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from activities.error_types import (
    DRAFTER_RATE_LIMITED,
    DRAFTER_REFUSED,
    DRAFTER_UNAVAILABLE,
    LEDGER_NOT_FOUND,
    LEDGER_RATE_LIMITED,
    LEDGER_RECONSENT,
    LEDGER_RETRYABLE,
    LEDGER_STALE,
    LEDGER_VALIDATION,
    MAIL_PERMANENT,
    MAIL_RETRYABLE,
    OUTBOUND_PAUSED,
)
from adapters.drafting.port import DrafterError, DrafterRateLimited, DrafterRefused
from adapters.ledger import (
    LedgerError,
    NotFound,
    PermanentLedgerError,
    RateLimited,
    StaleVersion,
)
from adapters.ledgers.oauth import ReconsentRequired
from adapters.mail import MailError


def application_error(error: Exception) -> ApplicationError:
    if isinstance(error, ReconsentRequired):
        # Retrying cannot help until a human runs `duecourse connect <ledger>` again.
        return ApplicationError(str(error), type=LEDGER_RECONSENT, non_retryable=True)
    if isinstance(error, RateLimited):
        delay = timedelta(seconds=error.retry_after_seconds) if error.retry_after_seconds else None
        return ApplicationError(str(error), type=LEDGER_RATE_LIMITED, next_retry_delay=delay)
    if isinstance(error, NotFound):
        return ApplicationError(str(error), type=LEDGER_NOT_FOUND, non_retryable=True)
    if isinstance(error, PermanentLedgerError):
        return ApplicationError(str(error), type=LEDGER_VALIDATION, non_retryable=True)
    if isinstance(error, StaleVersion):
        return ApplicationError(str(error), type=LEDGER_STALE)
    if isinstance(error, LedgerError):
        return ApplicationError(str(error), type=LEDGER_RETRYABLE)
    if isinstance(error, DrafterRateLimited):
        delay = timedelta(seconds=error.retry_after_seconds) if error.retry_after_seconds else None
        return ApplicationError(str(error), type=DRAFTER_RATE_LIMITED, next_retry_delay=delay)
    if isinstance(error, DrafterRefused):
        return ApplicationError(str(error), type=DRAFTER_REFUSED, non_retryable=True)
    if isinstance(error, DrafterError):
        return ApplicationError(str(error), type=DRAFTER_UNAVAILABLE)
    if isinstance(error, MailError):
        kind = MAIL_PERMANENT if error.permanent else MAIL_RETRYABLE
        return ApplicationError(str(error), type=kind, non_retryable=error.permanent)
    return ApplicationError(f"{type(error).__name__}: {error}", type=type(error).__name__)


@contextmanager
def as_application_errors() -> Iterator[None]:
    try:
        yield
    except (LedgerError, MailError, DrafterError, ReconsentRequired) as error:
        raise application_error(error) from error


def hold_while_paused(paused: bool) -> None:
    """The kill switch holds every outbound action (a send, a ledger write): a retryable `OUTBOUND_PAUSED` that
    Temporal retries until `duecourse resume`, after which the same call goes through once."""
    if paused:
        raise ApplicationError("outbound actions are paused (kill switch); `duecourse resume` releases them",
                               type=OUTBOUND_PAUSED, next_retry_delay=timedelta(seconds=5))
