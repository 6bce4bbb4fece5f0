"""Ledger activities: one thin activity per ledger operation the workflows need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.error_types import LEDGER_NOT_CONNECTED
from activities.errors import as_application_errors
from adapters.ledger import Customer, Invoice, LedgerPort
from workflows.policy import PolicyRead

if TYPE_CHECKING:
    from activities.policy import PolicyActivities


class FetchInvoiceInput(BaseModel):
    ledger: str
    tenant: str
    invoice_id: str
    # The digest of the collections policy the workflow follows ("" none yet): the snapshot then carries
    # the policy too when it changed, so every ledger read before a step is also a read of the policy.
    # None: the workflow does not follow a policy file (histories from before it).
    policy_digest: str | None = None


class InvoiceSnapshot(BaseModel):
    invoice: Invoice
    customer: Customer
    policy: PolicyRead | None = None


def ledger_key(ledger: str, tenant: str) -> str:
    return f"{ledger}/{tenant}"


class LedgerActivities:
    """Holds the connected ledgers, keyed by `ledger_key(ledger, tenant)`; built once per worker."""

    def __init__(self, ledgers: Mapping[str, LedgerPort], policy: PolicyActivities | None = None) -> None:
        self.ledgers = ledgers
        self.policy = policy

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
        policy = None
        if request.policy_digest is not None and self.policy is not None:
            policy = self.policy.read_policy(request.policy_digest)
        return InvoiceSnapshot(invoice=invoice, customer=customer, policy=policy)
