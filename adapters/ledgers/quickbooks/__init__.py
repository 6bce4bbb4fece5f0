"""QuickBooks Online behind the ledger port: auth, transport, mapping, ledger, webhooks."""

LEDGER = "quickbooks"  # the name this ledger's events, tokens and connections carry
