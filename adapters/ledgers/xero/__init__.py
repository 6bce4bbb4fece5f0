"""Xero behind the ledger port."""
