"""The Xero adapter connected to the local Xero emulator, as after `duecourse connect xero`, and the few
steps the Xero tests take through it (a customer, an invoice, a payment, a raw API read).

This is the adapter's side: the emulator (tests/emulators/xero.py) imports nothing from the adapter, so a
wrong path or header in the adapter is caught there instead of agreed with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from adapters.ledger import Allocation, CustomerDraft, InvoiceDraft, PaymentRequest
from adapters.ledgers.oauth import MemoryTokenStore
from adapters.ledgers.rate_limit import RateLimiter
from adapters.ledgers.xero.auth import tokens_from_response
from adapters.ledgers.xero.ledger import XeroLedger
from tests.adapters.ledgers.steps import TODAY, line, usd
from tests.emulators.xero import XeroEmulator


def connected_ledger(emulator: XeroEmulator, *, tenant: str | None = None, **options: Any) -> XeroLedger:
    """An adapter connected to the emulator, as after `duecourse connect xero`: tokens in a TokenStore."""
    store = options.pop("token_store", None) or MemoryTokenStore()
    tenant_id = tenant or emulator.tenant_id
    store.save("xero", tokens_from_response(emulator.issue_tokens([tenant_id]), tenant_id, [tenant_id]))
    options.setdefault("rate_limiter", RateLimiter(per_minute=60, concurrent=5, per_day=5000, max_wait=5))
    return XeroLedger(tenant_id, emulator.client_id, emulator.client_secret, store, api_base=emulator.api_base,
                      identity_base=emulator.identity_base, **options)


@contextmanager
def contract_ledger(tmp_path: Path) -> Iterator[XeroLedger]:
    """The contract suite's Xero: a fresh emulator and an adapter connected to it."""
    with XeroEmulator() as emulator:
        ledger = connected_ledger(emulator)
        try:
            yield ledger
        finally:
            ledger.close()


# --- steps the tests take through the adapter ------------------------------------------------------------




def customer(port: XeroLedger, name: str = "Acme Ltd", email: str | None = "ap@acme.example") -> str:
    return port.create_customer(CustomerDraft(name=name, email=email, terms_days=30), f"cust-{name}").id


def invoice(port: XeroLedger, customer_id: str, amount: str = "300.00", key: str = "inv-1",
            due: date = TODAY + timedelta(days=30), issued: date = TODAY) -> str:
    draft = InvoiceDraft(customer_id=customer_id, currency="USD", lines=[line(amount)], issue_date=issued,
                         due_date=due)
    return port.create_invoice(draft, key).id


def pay(port: XeroLedger, customer_id: str, allocations: dict[str, str], key: str, total: str | None = None) -> Any:
    amount = total or str(sum(Decimal(a) for a in allocations.values()))
    return port.record_payment(PaymentRequest(
        customer_id=customer_id, date=TODAY, amount=usd(amount),
        allocations=[Allocation(invoice_id=i, amount=usd(a)) for i, a in allocations.items()], reference="REM-1"), key)


def raw_get(emulator: XeroEmulator, path: str, **params: str) -> httpx.Response:
    """An API read past the adapter, to see the wire as Xero writes it."""
    token = emulator.issue_tokens()["access_token"]
    return httpx.get(f"{emulator.api_base}{path}", params=params,
                     headers={"Authorization": f"Bearer {token}", "xero-tenant-id": emulator.tenant_id,
                              "Accept": "application/json"})
