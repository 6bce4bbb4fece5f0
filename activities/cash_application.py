"""Cash-application activities: match a bank line against the open invoices, apply it in the ledger,
re-read a bank line, and remember what a clerk taught (payer aliases).

Light at import time, because the CashApplication workflow imports this module for the activities'
inputs and outputs: the matching engine (rapidfuzz) is imported inside the one activity that runs it, and
the store only for type checking (the worker builds `CashActivities` with one).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import as_application_errors, hold_while_paused
from activities.ledger import connected_port
from adapters.ledger import (
    Allocation,
    BankLine,
    BankLineStatus,
    Invoice,
    InvoiceStatus,
    LedgerPort,
    Money,
    PaymentRequest,
)
from adapters.metrics import CASH_APPLICATION_DECISIONS

if TYPE_CHECKING:
    from activities.cash_matching import MatchResult
    from adapters.store import Store

# The listing a retried match resumes from travels in its heartbeat details; past this many invoices
# (about 1 MB of JSON, Temporal refuses payloads over 2 MB) it is left out and a retry lists again.
RESUMABLE_INVOICES = 4000


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


class MatchProgress(BaseModel):
    """How far a match got, sent as its heartbeat details: a retry reads none of it from the ledger again."""

    line: BankLine | None = None
    open_invoices: list[Invoice] | None = None  # without their lines: the engine does not read them


class CheckBankLineInput(BaseModel):
    ledger: str
    tenant: str
    bank_line_id: str


class BankLineCheck(BaseModel):
    bank_line_id: str
    status: str  # a BankLineStatus value
    payment_id: str | None = None

    @property
    def unmatched(self) -> bool:
        return self.status == BankLineStatus.UNMATCHED.value


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
        return connected_port(self.ledgers, ledger, tenant)

    @activity.defn
    def match_bank_line(self, request: MatchBankLineInput) -> BankLineMatch:
        """Read the line, list the open invoices, let the engine place the deposit. Listing may take
        minutes on a big ledger: it heartbeats, and a retry resumes from what the last heartbeat carried."""
        port = self._port(request.ledger, request.tenant)
        progress = _resumed_progress()
        line = progress.line
        if line is None:
            with as_application_errors():
                line = port.get_bank_line(request.bank_line_id)
            progress = MatchProgress(line=line)
            activity.heartbeat(progress)
        base = BankLineMatch(
            bank_line_id=line.id, already_matched=line.status != BankLineStatus.UNMATCHED, date=line.date,
            amount=line.amount.amount, currency=line.amount.currency, payer_name=line.payer_name,
            reference=line.reference, decision="unmatched", confidence=0.0, explanation="",
        )
        if base.already_matched:
            return base.model_copy(update={"explanation": f"bank line is already {line.status.value}"})
        open_invoices = progress.open_invoices
        if open_invoices is None:
            with _heartbeating(progress), as_application_errors():
                # Drafts are listed too (their lifecycles wait for posting); a payment never matches one.
                open_invoices = [i for i in port.list_open_invoices() if i.status != InvoiceStatus.DRAFT]
            activity.heartbeat(_listed(line, open_invoices))
        result = self._engine_match(request, line, open_invoices)
        CASH_APPLICATION_DECISIONS.labels(str(result.decision)).inc()
        return self._suggestion(port, base, result, open_invoices)

    def _engine_match(self, request: MatchBankLineInput, line: BankLine,
                      open_invoices: Sequence[Invoice]) -> MatchResult:
        from activities.cash_matching import IncomingPayment, MatchConfig, MatchingEngine, OpenInvoice

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
        return engine.match(
            IncomingPayment(payment_id=line.id, date=line.date, amount=line.amount.amount,
                            currency=line.amount.currency, payer_name=line.payer_name, reference=line.reference)
        )

    @staticmethod
    def _suggestion(port: LedgerPort, base: BankLineMatch, result: MatchResult,
                    open_invoices: Sequence[Invoice]) -> BankLineMatch:
        """The engine's answer in the ledger's words: invoice numbers, customers, balances."""
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
    def check_bank_line(self, request: CheckBankLineInput) -> BankLineCheck:
        """The bank line as the ledger has it now (a clerk may have matched it there by hand)."""
        port = self._port(request.ledger, request.tenant)
        with as_application_errors():
            line = port.get_bank_line(request.bank_line_id)
        return BankLineCheck(bank_line_id=line.id, status=line.status.value, payment_id=line.payment_id)

    @activity.defn
    def apply_payment(self, request: ApplyPaymentInput) -> AppliedPayment:
        """Record the payment the bank received and apply it; idempotent on the business key."""
        hold_while_paused(self.store.is_paused())
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


def _resumed_progress() -> MatchProgress:
    """What the previous attempt's last heartbeat carried; nothing on a first attempt."""
    details = activity.info().heartbeat_details
    # the worker hands them over decoded without a type (JSON values): the model reads them back
    return MatchProgress.model_validate(details[0]) if details else MatchProgress()


def _listed(line: BankLine, open_invoices: Sequence[Invoice]) -> MatchProgress:
    if len(open_invoices) > RESUMABLE_INVOICES:
        return MatchProgress(line=line)
    return MatchProgress(line=line, open_invoices=[i.model_copy(update={"lines": []}) for i in open_invoices])


@contextmanager
def _heartbeating(progress: MatchProgress) -> Iterator[None]:
    """Heartbeat `progress` every third of the heartbeat timeout while one long ledger call runs.

    The port lists the open invoices in one call (the ledger's pages are the adapter's business), so
    the call itself cannot report pages; this keeps a slow listing alive and lets a lost worker be
    noticed within the heartbeat timeout instead of the whole start-to-close timeout."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        yield
        return
    interval = timeout.total_seconds() / 3
    done = threading.Event()

    def beat() -> None:
        while not done.wait(interval):
            activity.heartbeat(progress)

    # the activity's context (the heartbeat it reports to) lives in contextvars: the thread runs in a copy
    beater = threading.Thread(target=contextvars.copy_context().run, args=(beat,), daemon=True,
                              name=f"heartbeat {activity.info().activity_id}")
    beater.start()
    try:
        yield
    finally:
        done.set()
        beater.join()
