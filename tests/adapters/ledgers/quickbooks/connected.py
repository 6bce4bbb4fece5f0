"""The QuickBooks adapter connected to the emulator (tests/emulators/quickbooks.py), which knows nothing of it,
and the small builders the adapter's tests drive it with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.ledger import CustomerDraft, Invoice, InvoiceDraft, InvoiceLine
from adapters.ledgers.oauth import MemoryTokenStore, TokenStore
from adapters.ledgers.quickbooks import LEDGER
from adapters.ledgers.quickbooks.ledger import QuickBooksLedger
from tests.adapters.ledgers.steps import TODAY
from tests.emulators.quickbooks import QuickBooksEmulator


def connected_ledger(emulator: QuickBooksEmulator, token_store: TokenStore | None = None,
                     realm_id: str | None = None, **options: Any) -> QuickBooksLedger:
    """An adapter pointed at the emulator (fresh tokens in a memory store unless one is given)."""
    realm = realm_id or emulator.realm_id
    if token_store is None:
        token_store = MemoryTokenStore()
        token_store.save(LEDGER, emulator.issue_tokens(realm))
    return QuickBooksLedger(realm, emulator.client_id, emulator.client_secret, token_store,
                            base_url=emulator.base_url, token_url=emulator.token_url, **options)


@contextmanager
def contract_ledger(tmp_path: Path) -> Iterator[QuickBooksLedger]:
    """The QuickBooks adapter connected to a fresh emulator (tests/adapters/ledgers/test_contract.py)."""
    with QuickBooksEmulator() as emulator:
        yield connected_ledger(emulator)


def line(amount: str, description: str = "Design work", quantity: str = "1") -> InvoiceLine:
    """An invoice line whose unit price is rounded to cents, as QuickBooks stores it (`steps.line` keeps
    the exact quotient)."""
    unit = (Decimal(amount) / Decimal(quantity)).quantize(Decimal("0.01"))
    return InvoiceLine(description=description, quantity=Decimal(quantity), unit_price=unit, amount=Decimal(amount))


def new_customer(ledger: QuickBooksLedger, name: str = "Acme Ltd", key: str = "cust-1",
                 email: str | None = "ap@acme.example") -> str:
    return ledger.create_customer(CustomerDraft(name=name, email=email), key).id


def new_invoice(ledger: QuickBooksLedger, customer_id: str, amount: str = "300.00", key: str = "inv-1",
                due: date = TODAY + timedelta(days=30)) -> Invoice:
    draft = InvoiceDraft(customer_id=customer_id, currency="USD", lines=[line(amount)],
                         issue_date=min(TODAY, due - timedelta(days=30)), due_date=due)
    return ledger.create_invoice(draft, key)


class Clock:
    """The emulator's clock, moved by hand (half past a second, so second-stamped times fall before it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=500_000)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
