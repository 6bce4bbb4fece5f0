"""One package per ledger, each with the same files (auth, transport, mapping, ledger, webhooks), and what
they share."""
