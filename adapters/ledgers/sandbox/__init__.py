"""The sandbox ledger: the embedded default ledger (SQLite), its signed webhooks and its demo company."""

from adapters.ledgers.sandbox.ledger import SandboxLedger
from adapters.ledgers.sandbox.seed import COMPANY_NAME, seed_demo_company
from adapters.ledgers.sandbox.webhooks import SIGNATURE_HEADER, WebhookDispatcher, event_body, parse_body, sign, verify

__all__ = [
    "COMPANY_NAME",
    "SIGNATURE_HEADER",
    "SandboxLedger",
    "WebhookDispatcher",
    "event_body",
    "parse_body",
    "seed_demo_company",
    "sign",
    "verify",
]
