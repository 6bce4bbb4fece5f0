"""Ledger activities: one thin activity per ledger operation the workflows need."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.error_types import LEDGER_NOT_CONNECTED
from activities.errors import as_application_errors
from adapters.ledger import Customer, Invoice, LedgerPort


class FetchInvoiceInput(BaseModel):
    ledger: str
    tenant: str
    invoice_id: str


class InvoiceSnapshot(BaseModel):
    invoice: Invoice
    customer: Customer


def ledger_key(ledger: str, tenant: str) -> str:
    return f"{ledger}/{tenant}"


class LedgerActivities:
    """Holds the connected ledgers, keyed by `ledger_key(ledger, tenant)`; built once per worker."""

    def __init__(self, ledgers: Mapping[str, LedgerPort]) -> None:
        self.ledgers = ledgers

    def port(self, ledger: str, tenant: str) -> LedgerPort:
        try:
            return self.ledgers[ledger_key(ledger, tenant)]
        except KeyError:
            raise ApplicationError(
                f"no connection to ledger {ledger!r} tenant {tenant!r} on this worker", type=LEDGER_NOT_CONNECTED
            ) from None

    @activity.defn
    def fetch_invoice(self, request: FetchInvoiceInput) -> InvoiceSnapshot:
        """The invoice's current state and its customer; the workflow never trusts a webhook for figures."""
        port = self.port(request.ledger, request.tenant)
        with as_application_errors():
            invoice = port.get_invoice(request.invoice_id)
            customer = port.get_customer(invoice.customer_id)
        return InvoiceSnapshot(invoice=invoice, customer=customer)
