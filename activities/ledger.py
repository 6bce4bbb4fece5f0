"""Ledger activities: one thin activity per ledger operation the workflows need."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.error_types import LEDGER_NOT_CONNECTED
from activities.errors import as_application_errors, hold_while_paused
from adapters.ledger import CreditNote, CreditNoteDraft, Customer, Invoice, InvoiceDraft, InvoiceLine, LedgerPort
from adapters.risk import CustomerRisk
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
    risk: CustomerRisk | None = None  # the customer's risk score as last computed (None: not yet)


class PostCreditInput(BaseModel):
    """An approved credit note or write-off against one invoice (issue 12)."""

    ledger: str
    tenant: str
    invoice_id: str
    customer_id: str
    currency: str
    amount: Decimal
    kind: Literal["credit_note", "write_off"]
    reason: str
    issue_date: date
    # `{ledger}:{tenant}:{invoice}:{kind}:{n}`: a retry after a lost answer finds the note already posted.
    idempotency_key: str


class PostLateFeeInput(BaseModel):
    """An approved late fee (or statutory interest and compensation) on one invoice (issue 12)."""

    ledger: str
    tenant: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    currency: str
    amount: Decimal
    description: str  # what the fee is for, as the customer reads it on the fee invoice
    issue_date: date
    due_date: date
    # `{ledger}:{tenant}:{invoice}:late-fee:{n}`: a retry after a lost answer finds the fee invoice already made.
    idempotency_key: str


def ledger_key(ledger: str, tenant: str) -> str:
    return f"{ledger}/{tenant}"


def connected_port(ports: Mapping[str, LedgerPort], ledger: str, tenant: str) -> LedgerPort:
    """The connected ledger company `ledger/tenant` on this worker, or the `LEDGER_NOT_CONNECTED` error."""
    port = ports.get(ledger_key(ledger, tenant))
    if port is None:
        raise ApplicationError(f"no connection to ledger {ledger!r} tenant {tenant!r} on this worker",
                               type=LEDGER_NOT_CONNECTED)
    return port


class LedgerActivities:
    """Holds the connected ledgers, keyed by `ledger_key(ledger, tenant)`; built once per worker."""

    def __init__(self, ledgers: Mapping[str, LedgerPort], policy: PolicyActivities | None = None,
                 outbound_paused: Callable[[], bool] | None = None,
                 risk_of: Callable[[str, str, str], CustomerRisk | None] | None = None) -> None:
        self.ledgers = ledgers
        self.policy = policy
        self.outbound_paused = outbound_paused or (lambda: False)
        self.risk_of = risk_of  # (ledger, tenant, customer id) -> the stored score

    def port(self, ledger: str, tenant: str) -> LedgerPort:
        return connected_port(self.ledgers, ledger, tenant)

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
        risk = self.risk_of(request.ledger, request.tenant, customer.id) if self.risk_of else None
        return InvoiceSnapshot(invoice=invoice, customer=customer, policy=policy, risk=risk)


    @activity.defn
    def post_credit_note(self, request: PostCreditInput) -> CreditNote:
        """Posts an approved credit note (or a write-off, which every ledger books as a credit note to bad debt)
        allocated against its invoice. Money-moving: the kill switch holds it until `duecourse resume`."""
        hold_while_paused(self.outbound_paused())
        port = self.port(request.ledger, request.tenant)
        description = ("Write-off (bad debt)" if request.kind == "write_off" else "Credit note") + f": {request.reason}"
        draft = CreditNoteDraft(
            customer_id=request.customer_id, currency=request.currency, issue_date=request.issue_date,
            invoice_id=request.invoice_id, reason=request.reason[:500],
            lines=[InvoiceLine(description=description[:4000], unit_price=request.amount, amount=request.amount)],
        )
        with as_application_errors():
            return port.create_credit_note(draft, idempotency_key=request.idempotency_key)

    @activity.defn
    def post_late_fee(self, request: PostLateFeeInput) -> Invoice:
        """Posts an approved late fee as a new invoice to the same customer, naming the late invoice (how the
        sandbox and Xero book it; QuickBooks and Intacct take the same invoice with a late-fee item/account).
        Money-moving: the kill switch holds it until `duecourse resume`."""
        hold_while_paused(self.outbound_paused())
        port = self.port(request.ledger, request.tenant)
        draft = InvoiceDraft(
            customer_id=request.customer_id, currency=request.currency, issue_date=request.issue_date,
            due_date=request.due_date,
            lines=[InvoiceLine(description=request.description[:4000], unit_price=request.amount,
                               amount=request.amount)],
        )
        with as_application_errors():
            return port.create_invoice(draft, idempotency_key=request.idempotency_key)
