"""The `ApplicationError` types activities raise and workflows inspect, named once.

Importing nothing on purpose: workflow modules import these names, and a workflow module loads no SDK,
database or HTTP library (`activities/errors.py` maps the adapters' exceptions to them).
"""

LEDGER_NOT_FOUND = "LedgerNotFound"
LEDGER_VALIDATION = "LedgerValidationError"
LEDGER_STALE = "LedgerStaleVersion"
LEDGER_RETRYABLE = "LedgerUnavailable"
LEDGER_RATE_LIMITED = "LedgerRateLimited"
LEDGER_RECONSENT = "LedgerReconsentRequired"
LEDGER_NOT_CONNECTED = "LedgerNotConnected"
MAIL_PERMANENT = "MailRejected"
MAIL_RETRYABLE = "MailUnavailable"
OUTBOUND_PAUSED = "OutboundPaused"
DRAFTER_RATE_LIMITED = "DrafterRateLimited"
DRAFTER_REFUSED = "DrafterRefused"
DRAFTER_UNAVAILABLE = "DrafterUnavailable"
