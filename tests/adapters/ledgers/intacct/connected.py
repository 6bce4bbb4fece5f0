"""The Sage Intacct adapter connected to the local Intacct emulator, as a Web Services user would connect it
(client credentials) or with the tokens of an earlier connection, and the few steps the Intacct tests take
through it (a customer, an invoice, a payment).

This is the adapter's side: the emulator (tests/emulators/intacct.py) imports nothing from the adapter, so
a wrong path or header in the adapter is caught there instead of agreed with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.ledger import (
    Allocation,
    Customer,
    CustomerDraft,
    Invoice,
    InvoiceDraft,
    Payment,
    PaymentRequest,
)
from adapters.ledgers.intacct.ledger import IntacctLedger
from adapters.ledgers.oauth import MemoryTokenStore, TokenStore
from adapters.ledgers.rate_limit import RateLimiter
from tests.adapters.ledgers.steps import TODAY, line, usd
from tests.emulators.intacct import IntacctEmulator

# The `connect` fixture (conftest.py): `connect(**options)` is `connected_ledger(emulator, **options)`, closed
# after the test.
Connect = Callable[..., IntacctLedger]


def connected_ledger(emulator: IntacctEmulator, token_store: TokenStore | None = None,
                     **options: Any) -> IntacctLedger:
    """An adapter connected to the emulator with client credentials (or the tokens in `token_store`).
    The adapter owns its HTTP client: `close()` it."""
    settings: dict[str, Any] = {"base_url": emulator.base_url, "idempotency_header": emulator.idempotency_header,
                                "username": f"duecourse@{emulator.company_id}"}
    settings.update(options)
    return IntacctLedger(emulator.company_id, emulator.client_id, emulator.client_secret,
                         token_store or MemoryTokenStore(), **settings)


@contextmanager
def contract_ledger(tmp_path: Path) -> Iterator[IntacctLedger]:
    """The contract suite's Intacct: a fresh emulator and an adapter connected with client credentials."""
    with IntacctEmulator() as emulator:
        ledger = connected_ledger(emulator, rate_limiter=RateLimiter(per_minute=100_000, concurrent=2))
        try:
            yield ledger
        finally:
            ledger.close()


# --- steps the tests take through the adapter ------------------------------------------------------------




def customer_of(port: IntacctLedger, key: str = "cust-1", name: str = "Acme Ltd") -> Customer:
    return port.create_customer(CustomerDraft(name=name, email="ap@acme.example", terms_days=30), key)


def invoice_of(port: IntacctLedger, customer_id: str, amount: str = "300.00", key: str = "inv-1",
               due: date = TODAY + timedelta(days=30)) -> Invoice:
    return port.create_invoice(InvoiceDraft(customer_id=customer_id, currency="USD", lines=[line(amount)],
                                            issue_date=min(TODAY, due), due_date=due), key)


def pay(port: IntacctLedger, customer_id: str, amount: str, allocations: list[tuple[str, str]], key: str,
        reference: str = "") -> Payment:
    return port.record_payment(PaymentRequest(customer_id=customer_id, date=TODAY, amount=usd(amount),
                                              allocations=[Allocation(invoice_id=i, amount=usd(a))
                                                           for i, a in allocations], reference=reference), key)


def numbers_in(value: Any) -> list[Any]:
    """Every JSON number in a request body (amounts must travel as strings)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return [value] if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else []
