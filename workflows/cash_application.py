"""CashApplication: one workflow per bank line (a deposit cash application must place).

Contract
- Started by signal-with-start from the webhook intake when the ledger announces a new bank line, with
  id `bank_line_workflow_id(ledger, tenant, bank_line_id)`; replays never start a second one.
- Matches the line against the open invoices (activity; the engine is pure). Then, by mode:
  `shadow` records the suggestion and never writes; `auto` applies a confident match within the amount
  limit and sends everything else to a human; `draft` sends every match to a human.
- Update `decide` (and signal `operator_decision`): approve the suggestion, `edit` with the clerk's own
  allocations (and customer), or `reject` (not a customer payment: nothing is applied).
- Signal `ledger_event`: the bank line changed in the ledger. While a match awaits a human, the line is
  read again: matched there meanwhile (by hand, or by another tool), the pending item is withdrawn (stage
  `withdrawn`, audited) and nothing is applied.
- Query `status` and `pending_approval`.
- After applying (idempotent, keyed by the bank line), it teaches the payer alias when a human confirmed
  or corrected the match, and signals `payment_applied` to each invoice's lifecycle so dunning stops at once.
- Returns the final `CashApplicationState`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.cash_application import (
        AppliedPayment,
        ApplyPaymentInput,
        BankLineCheck,
        BankLineMatch,
        CashActivities,
        CheckBankLineInput,
        LearnAliasInput,
        MatchBankLineInput,
    )
    from activities.messaging import AuditInput, MessagingActivities
    from workflows import search_attributes as sa
    from workflows.approvals import ApprovalInterface, Decision, DecisionKind, DecisionResult, PendingApproval
    from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
    from workflows.lifecycle_messages import LEDGER_EVENT_SIGNAL, LedgerEventSignal, PaymentAppliedSignal

Mode = Literal["shadow", "draft", "auto"]
RULES_VERSION = "cash-application/1"
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# Matching lists every open invoice: on Xero (100 a page, 60 calls a minute, shared with everything else)
# tens of thousands take minutes. It heartbeats while it lists, so a lost worker shows within a minute.
MATCH_TIMEOUT = timedelta(minutes=30)
MATCH_HEARTBEAT = timedelta(minutes=1)
LEDGER_CALLS_TIMEOUT = timedelta(minutes=2)  # a read, or a payment written (and the invoice it names read)
STORE_TIMEOUT = timedelta(minutes=1)  # one row in the store: an audit entry, an alias
# Runs started before a ledger event re-read the bank line only noted the event.
RECHECK_ON_LEDGER_EVENT = "cash-application-recheck-bank-line-on-ledger-event"


def bank_line_workflow_id(ledger: str, tenant: str, bank_line_id: str) -> str:
    return f"bankline:{ledger}:{tenant}:{bank_line_id}"


class CashApplicationInput(BaseModel):
    ledger: str
    tenant: str
    bank_line_id: str
    mode: Mode = "auto"
    auto_threshold: float = 0.9
    # Largest deposit applied without a human, in the deposit's currency.
    auto_limit: Decimal = Decimal("25000")


class CashApplicationState(BaseModel):
    stage: Literal["matching", "awaiting_approval", "applying", "applied", "not_a_payment", "shadowed",
                   "already_matched", "withdrawn"] = "matching"
    match: BankLineMatch | None = None
    pending: PendingApproval | None = None
    decided_by: str | None = None
    applied: AppliedPayment | None = None
    note: str = ""
    seen_events: list[str] = Field(default_factory=list)


@workflow.defn
class CashApplication(ApprovalInterface):
    def __init__(self) -> None:
        self.state = CashApplicationState()
        self._decision: Decision | None = None
        self._matching = False  # from the moment the match reads the line, a change to it may matter
        self._recheck = False
        self._ledger = ""

    @workflow.signal(name=LEDGER_EVENT_SIGNAL)
    def ledger_event(self, event: LedgerEventSignal) -> None:
        """The bank line changed in the ledger. A replayed event is dropped; a new one after the match read
        the line, and before a human decided, has the line read again while the match awaits them
        (applying a line matched meanwhile would fail). The event that started the workflow is only noted."""
        if event.event_id in self.state.seen_events:
            return
        self.state.seen_events = [*self.state.seen_events, event.event_id][-100:]
        if self._matching and self._decision is None:
            self._recheck = True

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self.state.pending, self.state.stage)
        self._decision = decision
        return result

    @workflow.query
    def status(self) -> CashApplicationState:
        return self.state

    def _pending_item(self) -> PendingApproval | None:
        return self.state.pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending, match = self.state.pending, self.state.match
        if pending is None or match is None or self._decision is not None:
            return f"nothing is awaiting approval on this deposit (stage: {self.state.stage})"
        problem = self._common_problem(decision, pending, match.amount, match.currency)
        if problem:
            return problem
        if decision.decision == DecisionKind.SNOOZE:
            return "a payment match cannot be snoozed: approve, edit or reject it"
        if decision.decision == DecisionKind.REJECT and not (decision.reason or "").strip():
            return "a rejection needs a reason (for example: not a customer payment)"
        if decision.decision == DecisionKind.APPROVE and not match.allocations:
            return "there is no suggestion to approve: edit with the invoices this deposit pays, or reject it"
        if decision.decision == DecisionKind.EDIT:
            return _edit_problem(decision, match)
        return None

    @workflow.run
    async def run(self, request: CashApplicationInput) -> CashApplicationState:
        self._ledger = request.ledger
        await self._place(request)
        # A decision or a ledger event still in its handler finishes before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _place(self, request: CashApplicationInput) -> None:
        """Match the deposit, then apply it, shadow it or ask a human, as the mode and the match say."""
        self._matching = True
        match: BankLineMatch = await workflow.execute_activity_method(
            CashActivities.match_bank_line,
            MatchBankLineInput(ledger=request.ledger, tenant=request.tenant, bank_line_id=request.bank_line_id,
                               auto_threshold=request.auto_threshold),
            start_to_close_timeout=MATCH_TIMEOUT, heartbeat_timeout=MATCH_HEARTBEAT, retry_policy=RETRY,
        )
        self.state.match = match
        self._publish()
        if match.already_matched:
            self.state.stage = "already_matched"
            self._publish()
            return
        summary = f"{match.decision} ({match.confidence:.2f}): {match.explanation}"
        if request.mode == "shadow":
            self.state.stage = "shadowed"
            self.state.note = "shadow mode: suggestion recorded, nothing written"
            await self._audit(request, "shadow-suggestion", "cash match suggested (shadow)", summary)
            self._publish()
            return
        confident = match.decision == "auto" and match.amount <= request.auto_limit
        if request.mode == "auto" and confident:
            allocations = [(a.invoice_id, a.amount) for a in match.allocations]
            customer_id = match.customer_id or match.allocations[0].customer_id
            await self._audit(request, "auto-applied", "cash match auto-applied", summary)
            await self._apply(request, match, customer_id, allocations)
            return
        decision = await self._ask(request, match)
        if decision is not None:
            await self._follow(request, match, decision)

    async def _follow(self, request: CashApplicationInput, match: BankLineMatch, decision: Decision) -> None:
        """Do what the clerk decided: nothing for a rejection, else apply their pick and learn the payer."""
        self.state.decided_by = decision.approver
        if decision.decision == DecisionKind.REJECT:
            self.state.stage = "not_a_payment"
            self.state.note = decision.reason or "not a customer payment"
            await self._audit(request, "rejected", "cash match rejected", decision.reason or "", decision.approver)
            self._publish()
            return
        if decision.decision == DecisionKind.EDIT:
            allocations = [(a.invoice_id, a.amount) for a in decision.allocations or []]
        else:
            allocations = [(a.invoice_id, a.amount) for a in match.allocations]
        # The clerk's customer, else the customer whose invoices the allocations name (the activity reads it).
        payer = decision.customer_id or (match.customer_id if decision.decision == DecisionKind.APPROVE else None)
        await self._audit(request, "confirmed", f"cash match {decision.decision.value}",
                          f"{allocations} by {decision.approver}", decision.approver)
        applied = await self._apply(request, match, payer, allocations)
        # A human confirmed who this payer is: next time the name alone is enough.
        await workflow.execute_activity_method(
            CashActivities.learn_alias,
            LearnAliasInput(ledger=request.ledger, payer_name=match.payer_name, customer_id=applied.customer_id,
                            learned_from=workflow.info().workflow_id),
            start_to_close_timeout=STORE_TIMEOUT, retry_policy=RETRY,
        )

    async def _ask(self, request: CashApplicationInput, match: BankLineMatch) -> Decision | None:
        """Wait for a clerk's decision; None when the line was matched in the ledger meanwhile."""
        self.state.pending = _pending_match(request, match)
        self.state.stage = "awaiting_approval"
        self._publish()
        while True:
            await workflow.wait_condition(lambda: self._decision is not None or self._recheck)
            if not self._recheck:
                break
            self._recheck = False
            check = await self._line_matched_meanwhile(request)
            if check is not None:
                await self._withdraw(request, check)
                return None
        decision = self._decision
        if decision is None:  # the loop above leaves only with a decision
            raise ApplicationError("no decision after the wait for one", non_retryable=True)
        self.state.pending = None
        self.state.stage = "applying"
        self._publish()
        return decision

    async def _line_matched_meanwhile(self, request: CashApplicationInput) -> BankLineCheck | None:
        """The bank line as the ledger has it now, when it is no longer unmatched; else None."""
        if not workflow.patched(RECHECK_ON_LEDGER_EVENT):
            return None
        check: BankLineCheck = await workflow.execute_activity_method(
            CashActivities.check_bank_line,
            CheckBankLineInput(ledger=request.ledger, tenant=request.tenant, bank_line_id=request.bank_line_id),
            start_to_close_timeout=LEDGER_CALLS_TIMEOUT, retry_policy=RETRY,
        )
        return None if check.unmatched else check

    async def _withdraw(self, request: CashApplicationInput, check: BankLineCheck) -> None:
        by = f" to payment {check.payment_id}" if check.payment_id else ""
        self.state.pending = None
        self.state.stage = "withdrawn"
        self.state.note = (f"bank line {check.bank_line_id} was {check.status}{by} in the ledger while awaiting "
                           "approval: the suggestion is withdrawn and nothing is applied")
        self._publish()
        await self._audit(request, "withdrawn", "cash match withdrawn", self.state.note)

    async def _apply(self, request: CashApplicationInput, match: BankLineMatch, customer_id: str | None,
                     allocations: list[tuple[str, Decimal]]) -> AppliedPayment:
        self.state.stage = "applying"
        self._publish()
        applied: AppliedPayment = await workflow.execute_activity_method(
            CashActivities.apply_payment,
            ApplyPaymentInput(
                ledger=request.ledger, tenant=request.tenant, bank_line_id=request.bank_line_id,
                customer_id=customer_id, date=match.date, amount=match.amount, currency=match.currency,
                reference=match.reference, allocations=allocations,
                idempotency_key=f"{request.ledger}:{request.tenant}:bankline:{request.bank_line_id}:apply",
            ),
            start_to_close_timeout=LEDGER_CALLS_TIMEOUT, retry_policy=RETRY,
        )
        self.state.applied = applied
        self.state.stage = "applied"
        self._publish()
        await self._tell_lifecycles(request, match, applied, dict(allocations))
        return applied

    async def _tell_lifecycles(self, request: CashApplicationInput, match: BankLineMatch, applied: AppliedPayment,
                               amounts: dict[str, Decimal]) -> None:
        """Each paid invoice's lifecycle hears of the payment at once, so no reminder goes out meanwhile."""
        for invoice_id in applied.invoice_ids:
            handle: workflow.ExternalWorkflowHandle[InvoiceLifecycle] = workflow.get_external_workflow_handle_for(
                InvoiceLifecycle.run, invoice_workflow_id(request.ledger, request.tenant, invoice_id))
            try:
                await handle.signal(InvoiceLifecycle.payment_applied, PaymentAppliedSignal(
                    payment_id=applied.payment_id, amount=amounts.get(invoice_id, Decimal("0")),
                    currency=match.currency))
            except ApplicationError:
                # No lifecycle for that invoice (closed, or never started): the ledger event covers it.
                workflow.logger.info("no running lifecycle for invoice %s", invoice_id)

    async def _audit(self, request: CashApplicationInput, step: str, action: str, result: str,
                     approver: str | None = None) -> None:
        match = self.state.match
        await workflow.execute_activity_method(
            MessagingActivities.record_audit,
            AuditInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:bankline:{request.bank_line_id}:{step}",
                workflow_id=workflow.info().workflow_id, invoice_id=None, action=action,
                inputs={"bank_line_id": request.bank_line_id, "mode": request.mode,
                        "decision": match.decision if match else None,
                        "suggested": [[a.invoice_id, str(a.amount)] for a in match.allocations] if match else [],
                        "amount": str(match.amount) if match else None, "payer": match.payer_name if match else None,
                        "reference": match.reference if match else None,
                        "confidence": match.confidence if match else None},
                rule_version=RULES_VERSION, approver=approver, result=result,
            ),
            start_to_close_timeout=STORE_TIMEOUT, retry_policy=RETRY,
        )

    def _publish(self) -> None:
        match = self.state.match
        if match is None:
            return
        workflow.upsert_search_attributes([
            sa.LEDGER.value_set(self._ledger),
            sa.STAGE.value_set(self.state.stage),
            sa.CUSTOMER_NAME.value_set(match.customer_name or match.payer_name),
            sa.AMOUNT_DUE.value_set(float(str(match.amount))),
            sa.AWAITING_APPROVAL.value_set(self.state.pending is not None),
            *([sa.CUSTOMER_ID.value_set(match.customer_id)] if match.customer_id else []),
        ])
        lines = [f"Deposit {match.currency} {match.amount} from {match.payer_name!r} ref {match.reference!r}",
                 f"Match: {match.decision} ({match.confidence:.2f}) {match.explanation}",
                 f"Stage: {self.state.stage}"]
        if self.state.applied:
            lines.append(f"Applied as {self.state.applied.payment_id}: {self.state.applied.applied} "
                         f"(unapplied {self.state.applied.unapplied})")
        workflow.set_current_details("\n\n".join(lines))


def _edit_problem(decision: Decision, match: BankLineMatch) -> str | None:
    chosen = decision.allocations or []
    if not chosen:
        return "an edit needs the invoices and amounts this deposit pays"
    if any(a.amount <= 0 for a in chosen):
        return "every allocation needs a positive amount"
    total = sum((a.amount for a in chosen), Decimal("0"))
    if total > match.amount:
        return f"the allocations add up to {total}, more than the deposit of {match.amount}"
    return None


def _pending_match(request: CashApplicationInput, match: BankLineMatch) -> PendingApproval:
    """The review item a clerk sees: the deposit, why it needs them, and the engine's suggestion."""
    why = {"review": "the match is not certain enough to apply alone",
           "unmatched": "no open invoice fits this deposit",
           "auto": "confident, but over the auto-apply limit or the mode asks for a human"}[match.decision]
    if match.deduction_reason:
        why += f"; deduction: {match.deduction_reason}"
    first = match.allocations[0] if match.allocations else None
    return PendingApproval(
        item_id=f"{request.bank_line_id}:match", kind="payment_match", workflow_id=workflow.info().workflow_id,
        invoice_id=first.invoice_id if first else "", invoice_number=first.invoice_number if first else "",
        customer_id=match.customer_id or "", customer_name=match.customer_name or match.payer_name,
        amount=match.amount, currency=match.currency, requested_at=workflow.now(), why=why,
        suggestion={
            "bank_line_id": match.bank_line_id, "payer_name": match.payer_name, "reference": match.reference,
            "date": match.date.isoformat(), "decision": match.decision, "confidence": match.confidence,
            "explanation": match.explanation,
            "allocations": [{"invoice_id": a.invoice_id, "invoice_number": a.invoice_number,
                             "customer_name": a.customer_name, "amount": str(a.amount),
                             "balance": str(a.balance)} for a in match.allocations],
        },
    )
