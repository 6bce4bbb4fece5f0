"""Cash-application activities: match a bank line against the open invoices, apply it in the ledger,
and remember what a clerk taught (payer aliases)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.cash_matching import IncomingPayment, MatchConfig, MatchingEngine, OpenInvoice
from activities.errors import OUTBOUND_PAUSED, as_application_errors
from activities.ledger import ledger_key
from adapters.ledger import Allocation, BankLineStatus, LedgerPort, Money, PaymentRequest
from adapters.store import Store


class MatchBankLineInput(BaseModel):
    ledger: str
    tenant: str
    bank_line_id: str
    auto_threshold: float = 0.9


class SuggestedAllocation(BaseModel):
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    amount: Decimal
    balance: Decimal
    due_date: date


class BankLineMatch(BaseModel):
    bank_line_id: str
    already_matched: bool
    date: date
    amount: Decimal
    currency: str
    payer_name: str
    reference: str
    decision: str  # "auto" | "review" | "unmatched"
    confidence: float
    explanation: str
    customer_id: str | None = None
    customer_name: str | None = None
    allocations: list[SuggestedAllocation] = Field(default_factory=list)
    deduction_reason: str | None = None


class ApplyPaymentInput(BaseModel):
    ledger: str
    tenant: str
    bank_line_id: str
    customer_id: str | None  # None: the customer whose invoices the allocations name
    date: date
    amount: Decimal
    currency: str
    reference: str
    allocations: list[tuple[str, Decimal]]  # (invoice id, amount)
    idempotency_key: str


class AppliedPayment(BaseModel):
    payment_id: str
    customer_id: str
    applied: Decimal
    unapplied: Decimal
    invoice_ids: list[str]


class LearnAliasInput(BaseModel):
    ledger: str
    payer_name: str
    customer_id: str
    learned_from: str


class CashActivities:
    def __init__(self, ledgers: Mapping[str, LedgerPort], store: Store) -> None:
        self.ledgers = ledgers
        self.store = store

    def _port(self, ledger: str, tenant: str) -> LedgerPort:
        port = self.ledgers.get(ledger_key(ledger, tenant))
        if port is None:
            raise ApplicationError(f"no connection to ledger {ledger!r} tenant {tenant!r} on this worker",
                                   type="LedgerNotConnected")
        return port

    @activity.defn
    def match_bank_line(self, request: MatchBankLineInput) -> BankLineMatch:
        port = self._port(request.ledger, request.tenant)
        with as_application_errors():
            line = port.get_bank_line(request.bank_line_id)
            open_invoices = port.list_open_invoices()
        base = BankLineMatch(
            bank_line_id=line.id, already_matched=line.status != BankLineStatus.UNMATCHED, date=line.date,
            amount=line.amount.amount, currency=line.amount.currency, payer_name=line.payer_name,
            reference=line.reference, decision="unmatched", confidence=0.0, explanation="",
        )
        if base.already_matched:
            return base.model_copy(update={"explanation": f"bank line is already {line.status.value}"})
        engine = MatchingEngine(
            [
                OpenInvoice(
                    invoice_id=i.id, invoice_number=i.number, customer_id=i.customer_id,
                    customer_name=i.customer_name, currency=i.currency, total=i.total.amount,
                    balance=i.balance.amount, issue_date=i.issue_date, due_date=i.due_date,
                )
                for i in open_invoices
            ],
            aliases=self.store.aliases(request.ledger),
            config=MatchConfig(auto_threshold=request.auto_threshold),
        )
        result = engine.match(
            IncomingPayment(payment_id=line.id, date=line.date, amount=line.amount.amount,
                            currency=line.amount.currency, payer_name=line.payer_name, reference=line.reference)
        )
        by_id = {i.id: i for i in open_invoices}
        allocations = [
            SuggestedAllocation(
                invoice_id=a.invoice_id, invoice_number=by_id[a.invoice_id].number,
                customer_id=by_id[a.invoice_id].customer_id, customer_name=by_id[a.invoice_id].customer_name,
                amount=a.amount, balance=by_id[a.invoice_id].balance.amount, due_date=by_id[a.invoice_id].due_date,
            )
            for a in result.allocations
        ]
        customer_id = result.customer_id or (allocations[0].customer_id if allocations else None)
        customer_name = next((a.customer_name for a in allocations if a.customer_id == customer_id), None)
        if customer_id and customer_name is None:
            with as_application_errors():
                customer_name = port.get_customer(customer_id).name
        return base.model_copy(update={
            "decision": result.decision, "confidence": result.confidence, "explanation": result.explanation,
            "customer_id": customer_id, "customer_name": customer_name, "allocations": allocations,
            "deduction_reason": result.deduction_reason,
        })

    @activity.defn
    def apply_payment(self, request: ApplyPaymentInput) -> AppliedPayment:
        """Record the payment the bank received and apply it; idempotent on the business key."""
        if self.store.is_paused():
            raise ApplicationError("ledger writes are paused (kill switch); `duecourse resume` releases them",
                                   type=OUTBOUND_PAUSED, next_retry_delay=timedelta(seconds=5))
        port = self._port(request.ledger, request.tenant)
        with as_application_errors():
            customer_id = request.customer_id
            if customer_id is None:
                if not request.allocations:
                    raise ApplicationError("a payment with no allocations needs the customer it came from",
                                           type="CustomerUnknown", non_retryable=True)
                customer_id = port.get_invoice(request.allocations[0][0]).customer_id
            payment = port.record_payment(
                PaymentRequest(
                    customer_id=customer_id, date=request.date,
                    amount=Money(amount=request.amount, currency=request.currency),
                    allocations=[Allocation(invoice_id=invoice_id, amount=Money(amount=amount,
                                                                                currency=request.currency))
                                 for invoice_id, amount in request.allocations],
                    reference=request.reference, bank_line_id=request.bank_line_id,
                ),
                request.idempotency_key,
            )
        applied = sum((a.amount.amount for a in payment.allocations), Decimal("0.00"))
        return AppliedPayment(payment_id=payment.id, customer_id=payment.customer_id, applied=applied,
                              unapplied=payment.unapplied.amount,
                              invoice_ids=[a.invoice_id for a in payment.allocations])

    @activity.defn
    def learn_alias(self, request: LearnAliasInput) -> None:
        self.store.add_alias(request.payer_name, request.customer_id, request.ledger, request.learned_from)
