"""The business counters every process exposes in Prometheus' text format (prometheus-client's default registry).

They live on the lowest floor because the activities and the ledger adapters count into them; the worker
serves them on its metrics port (`workers.worker_metrics`) and the web app on `GET /metrics`
(`workers.web.metrics`, which adds the web app's own). Counting is process-local: with N worker replicas,
Prometheus sums the replicas, so nothing here assumes one process.

Straight-through rate of cash application, for a dashboard:
`sum(rate(duecourse_cash_application_decisions_total{decision="auto"}[1h]))
 / sum(rate(duecourse_cash_application_decisions_total[1h]))`.
"""

from __future__ import annotations

from prometheus_client import Counter

REMINDERS_SENT = Counter(
    "duecourse_reminders_sent", "Reminders handed to the mail server, by dunning level (a skip-if-sent replay "
    "is not counted again).", ["level"])
LEDGER_CALLS = Counter(
    "duecourse_ledger_calls", "Activities that call a ledger, by ledger, activity and status (ok, or the error "
    "type the activity failed with, e.g. LedgerRateLimited).", ["ledger", "activity", "status"])
LEDGER_HTTP_ERRORS = Counter(
    "duecourse_ledger_http_errors", "Failed HTTP answers from a ledger's API, by ledger and HTTP status (none: no "
    "answer at all, a timeout or a reset).", ["ledger", "status"])
CASH_APPLICATION_DECISIONS = Counter(
    "duecourse_cash_application_decisions", "Bank lines placed by the matching engine, by decision (auto, "
    "review, unmatched).", ["decision"])

HTTP_LEDGERS = ("quickbooks", "xero", "intacct")


def ledger_named_in(message: str) -> str:
    """The ledger an error message is about: each adapter's messages start with its ledger's name
    ("QuickBooks: ...", "Xero identity ...", "Intacct 400 ..."); "other" when one does not."""
    first = message.split(maxsplit=1)[0].rstrip(":").lower() if message.strip() else ""
    return first if first in HTTP_LEDGERS else "other"
