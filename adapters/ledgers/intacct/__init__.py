"""Sage Intacct behind the ledger port."""
