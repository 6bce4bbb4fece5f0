"""The sandbox ledger: the embedded default ledger (SQLite), its signed webhooks and its demo company.

The same files as every ledger package where the job exists: mapping.py (rows <-> vocabulary),
ledger.py (the port), webhooks.py (signing and the dispatcher); plus models.py (its tables) and
seed.py (the demo company). No auth.py or transport.py: the sandbox is a file on this machine, with no
credentials to obtain and no wire to cross (ledger.py opens it).
"""

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
