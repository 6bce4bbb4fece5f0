"""QuickBooks Online behind the ledger port."""
