"""Cash application never matches a payment to a draft invoice, though `list_open_invoices` lists drafts (their
lifecycles wait for posting): the match activity against the Sage Intacct adapter and its emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.testing import ActivityEnvironment

from activities.cash_application import CashActivities, MatchBankLineInput
from adapters.ledger import InvoiceStatus
from adapters.ledgers.intacct.ledger import IntacctLedger
from adapters.store import Store
from tests.adapters.ledgers.intacct.connected import connected_ledger
from tests.emulators.intacct import IntacctEmulator


@pytest.fixture
def books() -> Iterator[tuple[IntacctEmulator, IntacctLedger]]:
    with IntacctEmulator() as emulator:
        ledger = connected_ledger(emulator)
        try:
            yield emulator, ledger
        finally:
            ledger.close()


def match(ledger: IntacctLedger, emulator: IntacctEmulator, bank_line_id: str) -> tuple[str, list[str]]:
    found = ActivityEnvironment().run(CashActivities({f"intacct/{emulator.company_id}": ledger},
                                                     Store("sqlite://")).match_bank_line,
                                      MatchBankLineInput(ledger="intacct", tenant=emulator.company_id,
                                                         bank_line_id=bank_line_id))
    return found.decision, [a.invoice_id for a in found.allocations]


def test_a_deposit_the_size_of_a_draft_only_is_left_unmatched(books: tuple[IntacctEmulator, IntacctLedger]) -> None:
    emulator, ledger = books
    wayne = emulator.add_customer("Wayne Enterprises", mailing_address={"country": "US", "state": "NJ"})
    draft = emulator.add_invoice(wayne, "410.00", state="draft")
    assert [i.status for i in ledger.list_open_invoices()] == [InvoiceStatus.DRAFT]

    line = emulator.add_bank_txn("410.00", "WAYNE ENTERPRISES")
    decision, allocations = match(ledger, emulator, line)
    assert decision == "unmatched" and draft not in allocations


def test_the_posted_invoice_is_matched_and_its_draft_twin_is_not(books: tuple[IntacctEmulator, IntacctLedger]) -> None:
    emulator, ledger = books
    wayne = emulator.add_customer("Wayne Enterprises", mailing_address={"country": "US", "state": "NJ"})
    emulator.add_invoice(wayne, "410.00", state="draft", due_date="2026-03-10")
    posted = emulator.add_invoice(wayne, "410.00", due_date="2026-03-31")

    line = emulator.add_bank_txn("410.00", "WAYNE ENTERPRISES")
    decision, allocations = match(ledger, emulator, line)
    assert decision != "unmatched" and allocations == [posted]
