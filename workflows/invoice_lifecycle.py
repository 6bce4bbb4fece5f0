"""InvoiceLifecycle: one long-lived workflow per invoice, from posted to closed.

Contract
- Started by signal-with-start from the webhook intake (and the polling backstop) with id
  `invoice_workflow_id(ledger, tenant, invoice_id)`, so a duplicated or replayed event never starts a
  second one. The first signal is usually `ledger_event`.
- Signals: `ledger_event` (the ledger changed something: re-read the invoice), `payment_applied`
  (cash application paid it), `dispute` / `resolve_dispute`, `promise_to_pay`, and `operator_decision`
  (an approval decision from the Temporal CLI/UI).
- Update: `decide` — an approver's decision on the pending item, validated (wrong state, stale item,
  unknown approver, amount over the approver's limit are rejected with a clear message).
- Queries: `status` (the whole state) and `pending_approval` (the item awaiting a human, or None).
- Returns the final `LifecycleState` when the invoice is paid, voided or deleted in the ledger.

Every figure comes from the ledger (`fetch_invoice`), re-read right before each send. Every state
change upserts the search attributes and the current details shown in the Temporal UI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import LEDGER_NOT_FOUND, LEDGER_RECONSENT
    from activities.ledger import FetchInvoiceInput, InvoiceSnapshot, LedgerActivities
    from activities.messaging import (
        AuditInput,
        DraftReminderInput,
        MessagingActivities,
        SendReminderInput,
    )
    from adapters.drafting.port import Draft, ReminderFacts
    from adapters.ledger import Invoice, InvoiceStatus
    from workflows import search_attributes as sa
    from workflows.approvals import ApprovalInterface
    from workflows.dunning import (
        DunningLadder,
        Escalate,
        NoAction,
        SendLevel,
        WaitUntil,
        ladder_for,
        next_step,
        reminder_needs_approval,
    )
    from workflows.lifecycle_messages import (
        Decision,
        DecisionKind,
        DecisionResult,
        DisputeSignal,
        LedgerEventSignal,
        LifecycleInput,
        LifecycleState,
        PaymentAppliedSignal,
        PendingApproval,
        PromiseToPaySignal,
        ReminderRecord,
        ResolveDisputeSignal,
        Stage,
    )

RULES_VERSION = "dunning-rules/1"
# `workflow.patched` markers: every change to code that running workflows may replay gets one.
PATCH_RECIPIENT_BEFORE_DRAFT = "recipient-checked-before-drafting"
HISTORY_LIMIT = 5_000
SEEN_EVENTS_KEPT = 200

LEDGER_READ_TIMEOUT = timedelta(seconds=60)
LEDGER_READ_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
DRAFTING_TIMEOUT = timedelta(seconds=120)
DRAFTING_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=2))
# No attempt limit: a held kill switch or an SMTP outage waits; the outbox makes every retry idempotent.
SENDING_TIMEOUT = timedelta(seconds=60)
SENDING_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5))
RECORDING_TIMEOUT = timedelta(seconds=60)
RECORDING_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


def invoice_workflow_id(ledger: str, tenant: str, invoice_id: str) -> str:
    return f"invoice:{ledger}:{tenant}:{invoice_id}"


class _Interrupted(Exception):
    """A payment, dispute or ledger change arrived while a reminder was being prepared."""


class _InvoiceGone(Exception):
    """The invoice was deleted in the ledger: the workflow ends (its state already says so)."""


@workflow.defn
class InvoiceLifecycle(ApprovalInterface):
    def __init__(self) -> None:
        self.state = LifecycleState()
        self._input: LifecycleInput | None = None
        self._wake = 0  # bumped by every signal that may change what run() should do
        self._refresh_needed = False
        self._decision: Decision | None = None

    # --- messages: handlers only change state; run() acts ------------------------------------------

    @workflow.signal
    def ledger_event(self, event: LedgerEventSignal) -> None:
        if event.event_id in self.state.seen_events:
            return  # a replayed or duplicated webhook: nothing new to do
        self.state.seen_events = [*self.state.seen_events, event.event_id][-SEEN_EVENTS_KEPT:]
        self._refresh_needed = True
        self._wake += 1

    @workflow.signal
    def payment_applied(self, payment: PaymentAppliedSignal) -> None:
        key = f"payment:{payment.payment_id}"
        if key in self.state.seen_events:
            return
        self.state.seen_events = [*self.state.seen_events, key][-SEEN_EVENTS_KEPT:]
        self._refresh_needed = True
        self._wake += 1

    @workflow.signal
    def dispute(self, dispute: DisputeSignal) -> None:
        self.state.dispute = f"{dispute.reason} (opened by {dispute.opened_by})"
        self._wake += 1

    @workflow.signal
    def resolve_dispute(self, resolution: ResolveDisputeSignal) -> None:
        self.state.dispute = None
        self._wake += 1

    @workflow.signal
    def promise_to_pay(self, promise: PromiseToPaySignal) -> None:
        self.state.promise_until = promise.until
        self._wake += 1

    def _take_decision(self, decision: Decision) -> DecisionResult:
        pending = self.state.pending
        if pending is None:  # the validator and the signal handler refuse a decision with nothing pending
            raise ApplicationError("a decision arrived with nothing awaiting approval", non_retryable=True)
        self._decision = decision
        self._wake += 1
        return DecisionResult(
            item_id=pending.item_id, decision=decision.decision, stage=self.state.stage.value,
            message=f"{decision.decision.value} recorded for {pending.item_id}",
        )

    @workflow.query
    def status(self) -> LifecycleState:
        return self.state

    def _pending_item(self) -> PendingApproval | None:
        return self.state.pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending = self.state.pending
        if pending is None or self._decision is not None:
            return f"nothing is awaiting approval on this invoice (stage: {self.state.stage.value})"
        if decision.item_id and decision.item_id != pending.item_id:
            return f"stale decision: item {decision.item_id} is no longer pending (pending now: {pending.item_id})"
        if not decision.approver.strip():
            return "unknown approver: a decision must name who made it"
        if decision.approver_limit is not None and pending.amount > decision.approver_limit:
            return (
                f"{pending.currency} {pending.amount} is over {decision.approver}'s approval limit "
                f"of {decision.approver_limit}"
            )
        if decision.decision == DecisionKind.EDIT and not (decision.text or "").strip():
            return "an edit needs the new text"
        if decision.decision == DecisionKind.REJECT and not (decision.reason or "").strip():
            return "a rejection needs a reason"
        if decision.decision == DecisionKind.SNOOZE and not (decision.snooze_days and decision.snooze_days > 0):
            return "a snooze needs a positive number of days"
        return None

    # --- the process ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: LifecycleInput) -> LifecycleState:
        self._input = request
        if request.state is not None:
            self.state = request.state
            self.state.runs += 1
        if self.state.invoice is None or request.state is None:
            if not await self._refresh():
                return self.state
        while True:
            if self._refresh_needed:
                if not await self._refresh():
                    return self.state
            invoice = self._invoice()
            if invoice.is_settled:
                await self._close(invoice)
                return self.state
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(request.model_copy(update={"state": self.state}))
            if self.state.dispute:
                await self._hold(Stage.PAUSED, f"dispute: {self.state.dispute}", None)
                continue
            promise_until = self.state.promise_until
            if promise_until is not None and self._today() <= promise_until:
                until = self._instant(promise_until + timedelta(days=1))
                await self._hold(Stage.PAUSED, f"promise to pay by {promise_until.isoformat()}", until)
                continue
            snoozed = self.state.snoozed_until
            if snoozed is not None and workflow.now() < snoozed:
                await self._hold(self._dunning_stage(), f"snoozed until {snoozed.isoformat()}", snoozed)
                continue
            step = next_step(
                self._ladder(),
                due_date=invoice.due_date,
                balance=invoice.balance.amount,
                done_levels=frozenset(self.state.done_levels),
                escalated=self.state.escalated,
                now=workflow.now(),
                clock=request.clock,
                tz=self._customer_tz(),
                country=self._customer_country(),
            )
            if isinstance(step, SendLevel):
                try:
                    await self._remind(step)
                except _Interrupted:
                    continue
                except _InvoiceGone:
                    return self.state
            elif isinstance(step, WaitUntil):
                await self._hold(self._dunning_stage(), step.reason, step.instant)
            elif isinstance(step, Escalate):
                await self._escalate(step.after_level)
            elif isinstance(step, NoAction):
                stage = Stage.ESCALATED if self.state.escalated else self._dunning_stage()
                await self._hold(stage, f"payment ({step.reason})", None)

    # --- steps ---------------------------------------------------------------------------------------

    async def _remind(self, step: SendLevel) -> None:
        request = self._request()
        level = step.level
        for skipped in step.skipped:
            self._mark_done(ReminderRecord(level=skipped, outcome="skipped", at=workflow.now(),
                                           reason=f"its time passed unsent (downtime, a pause or a slow approval); "
                                                  f"level {level.level} is due now"))
            await self._audit(f"reminder-skipped:L{skipped}", "reminder skipped",
                              f"level {skipped} skipped (catch-up: level {level.level} is due now)")
        # Re-check the ledger right before drafting: paid or voided means no reminder.
        await self._refresh_or_gone()
        invoice = self._invoice()
        if invoice.is_settled:
            raise _Interrupted()
        customer = self.state.customer
        assert customer is not None
        # Patched: histories recorded before this check drafted first and escalated at the send step.
        if self._recipient() is None and workflow.patched(PATCH_RECIPIENT_BEFORE_DRAFT):
            # Nobody to write to: the level is recorded as skipped and a human collector takes over.
            self._mark_done(ReminderRecord(level=level.level, outcome="skipped", at=workflow.now(),
                                           reason=f"no billing email for {customer.name}"))
            await self._escalate(level.level, reason=f"no billing email for {customer.name}")
            return
        facts = ReminderFacts(
            company_name=request.company_name, customer_name=customer.name, invoice_number=invoice.number,
            amount_due=invoice.balance, total=invoice.total, issue_date=invoice.issue_date,
            due_date=invoice.due_date, today=self._today(), level=level.level, tone=level.tone,
            how_to_pay=request.how_to_pay, history_summary=self._history_summary(),
        )
        self._set_stage(self._dunning_stage(), f"drafting level {level.level} reminder")
        draft: Draft = await workflow.execute_activity_method(
            MessagingActivities.draft_reminder,
            DraftReminderInput(workflow_id=workflow.info().workflow_id, facts=facts),
            start_to_close_timeout=DRAFTING_TIMEOUT, retry_policy=DRAFTING_RETRY,
        )
        reminder_number = self.state.reminders_sent + 1
        approved_by: str | None = None
        subject, body = draft.subject, draft.body
        if reminder_needs_approval(reminder_number):
            decision = await self._await_approval(level.level, reminder_number, draft, invoice)
            if decision is None:
                raise _Interrupted()
            approved_by = decision.approver
            if decision.decision == DecisionKind.REJECT:
                self._mark_done(ReminderRecord(level=level.level, outcome="rejected", at=workflow.now(),
                                               approver=decision.approver, reason=decision.reason))
                await self._audit(f"reminder-rejected:L{level.level}", "reminder rejected",
                                  f"level {level.level}: {decision.reason}", approver=decision.approver,
                                  draft=draft)
                return
            if decision.decision == DecisionKind.SNOOZE:
                days = decision.snooze_days or 1
                self.state.snoozed_until = workflow.now() + request.clock.days(days)
                await self._audit(f"reminder-snoozed:L{level.level}:{self.state.approvals_requested}",
                                  "reminder snoozed", f"level {level.level} snoozed {days} days",
                                  approver=decision.approver, draft=draft)
                return
            if decision.decision == DecisionKind.EDIT:
                body = decision.text or body
                subject = decision.subject or subject
            # Approval may have taken days: look again before anything leaves.
            await self._refresh_or_gone()
            if self._invoice().is_settled:
                raise _Interrupted()
        to = self._recipient()
        if to is None:  # only on histories from before PATCH_RECIPIENT_BEFORE_DRAFT
            await self._escalate(level.level, reason=f"no billing email for {customer.name}")
            return
        result = await workflow.execute_activity_method(
            MessagingActivities.send_reminder,
            SendReminderInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:{request.invoice_id}:reminder:L{level.level}",
                workflow_id=workflow.info().workflow_id, ledger=request.ledger, tenant=request.tenant,
                invoice_id=request.invoice_id, level=level.level, to=to, subject=subject, body=body,
                drafter=draft.drafter, approved_by=approved_by,
            ),
            start_to_close_timeout=SENDING_TIMEOUT, retry_policy=SENDING_RETRY,
        )
        self.state.reminders_sent += 1
        self._mark_done(ReminderRecord(level=level.level, outcome="sent", at=workflow.now(),
                                       message_id=result.message_id, approver=approved_by))
        await self._audit(f"reminder-sent:L{level.level}", "reminder sent",
                          f"level {level.level} ({level.tone}) to {to} for {self._invoice().balance}",
                          approver=approved_by, draft=draft)
        self._set_stage(self._dunning_stage(), "next dunning level")

    async def _await_approval(self, level: int, reminder_number: int, draft: Draft,
                              invoice: Invoice) -> Decision | None:
        """Put the draft in front of a human; None when a payment or dispute made the question moot."""
        request = self._request()
        self.state.approvals_requested += 1
        first = reminder_number == 1
        why = "the first reminder for an invoice" if first else f"reminder #{reminder_number} (after the second)"
        if draft.fallback_reason:
            why += f"; drafted by template: {draft.fallback_reason}"
        self.state.pending = PendingApproval(
            item_id=f"{request.invoice_id}:L{level}:{self.state.approvals_requested}",
            workflow_id=workflow.info().workflow_id, invoice_id=invoice.id, invoice_number=invoice.number,
            customer_id=invoice.customer_id, customer_name=invoice.customer_name,
            amount=invoice.balance.amount, currency=invoice.currency, due_date=invoice.due_date,
            level=level, reminder_number=reminder_number, to=self._recipient() or "(no billing email)", draft=draft,
            requested_at=workflow.now(), why=why,
        )
        self._decision = None
        self._set_stage(Stage.AWAITING_APPROVAL, f"approval of the level {level} reminder ({why})")
        while True:
            await workflow.wait_condition(
                lambda: self._decision is not None or self._refresh_needed or bool(self.state.dispute)
            )
            if self._decision is not None or self.state.dispute:
                break
            # Something changed in the ledger: the draft stands unless the invoice is settled or its
            # balance moved (then the figures in the draft are stale and it is drafted again).
            await self._refresh_or_gone()
            current = self._invoice()
            if current.is_settled or current.balance != invoice.balance:
                break
            self._set_stage(Stage.AWAITING_APPROVAL, f"approval of the level {level} reminder ({why})")
        decision = self._decision
        self._decision = None
        self.state.pending = None
        if decision is None:
            self._set_stage(self._dunning_stage(), "re-checking after a ledger change")
            return None
        await self._audit(f"decision:{self.state.approvals_requested}", f"reminder {decision.decision.value}",
                          f"level {level} {decision.decision.value}" + (f": {decision.reason}" if decision.reason
                                                                         else ""),
                          approver=decision.approver, draft=draft)
        return decision

    async def _escalate(self, after_level: int, reason: str | None = None) -> None:
        self.state.escalated = True
        why = reason or f"no payment after level {after_level}"
        self._set_stage(Stage.ESCALATED, f"a human collector ({why})")
        await self._audit("escalated", "escalated to collector", f"{why}; balance {self._invoice().balance}")

    async def _hold(self, stage: Stage, waiting_for: str, until: datetime | None) -> None:
        """Wait until `until` (or forever) unless a signal arrives first."""
        self._set_stage(stage, waiting_for)
        wake = self._wake
        timeout = None if until is None else max(until - workflow.now(), timedelta(0))
        if timeout is not None and timeout == timedelta(0):
            return
        try:
            await workflow.wait_condition(lambda: self._wake != wake or self._history_is_long(), timeout=timeout)
        except TimeoutError:
            pass

    async def _refresh(self) -> bool:
        """Re-read invoice and customer from the ledger. False when the invoice no longer exists."""
        request = self._request()
        while True:
            self._refresh_needed = False
            try:
                snapshot: InvoiceSnapshot = await workflow.execute_activity_method(
                    LedgerActivities.fetch_invoice,
                    FetchInvoiceInput(ledger=request.ledger, tenant=request.tenant, invoice_id=request.invoice_id),
                    start_to_close_timeout=LEDGER_READ_TIMEOUT, retry_policy=LEDGER_READ_RETRY,
                )
                break
            except ActivityError as error:
                cause = error.cause
                kind = cause.type if isinstance(cause, ApplicationError) else None
                if kind == LEDGER_NOT_FOUND:
                    self.state.pending = None
                    self.state.closed_reason = "deleted in the ledger"
                    self._set_stage(Stage.CLOSED, "nothing (the invoice was deleted in the ledger)")
                    return False
                if kind != LEDGER_RECONSENT or self.state.invoice is None:
                    raise
                # The ledger connection needs a human to connect it again: nothing is lost, the invoice
                # waits and looks again every hour (or at once on the next signal).
                stage = self.state.stage
                await self._hold(Stage.PAUSED, f"re-consent of the {request.ledger} connection", workflow.now()
                                 + timedelta(hours=1))
                self.state.stage = stage
        self.state.invoice = snapshot.invoice
        self.state.customer = snapshot.customer
        self._publish()
        return True

    async def _refresh_or_gone(self) -> None:
        if not await self._refresh():
            raise _InvoiceGone()

    async def _close(self, invoice: Invoice) -> None:
        self.state.pending = None
        if invoice.status == InvoiceStatus.VOID:
            self.state.closed_reason = "voided in the ledger"
            self._set_stage(Stage.VOID, "nothing (voided)")
        else:
            self.state.closed_reason = "paid in full"
            self._set_stage(Stage.PAID, "nothing (paid)")
        await self._audit("closed", "invoice closed", self.state.closed_reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._set_stage(Stage.CLOSED, f"nothing ({self.state.closed_reason})")

    async def _audit(self, step: str, action: str, result: str, *, approver: str | None = None,
                     draft: Draft | None = None) -> None:
        request = self._request()
        invoice = self.state.invoice
        await workflow.execute_activity_method(
            MessagingActivities.record_audit,
            AuditInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:{request.invoice_id}:{step}",
                workflow_id=workflow.info().workflow_id, invoice_id=request.invoice_id, action=action,
                inputs={
                    "balance": str(invoice.balance) if invoice else None,
                    "due_date": invoice.due_date.isoformat() if invoice else None,
                    "stage": self.state.stage.value,
                    "prompt": f"{draft.prompt_id}@{draft.prompt_version}" if draft else None,
                    "drafter": draft.drafter if draft else None,
                },
                rule_version=RULES_VERSION, model=draft.model if draft else None, approver=approver,
                result=result, ledger=request.ledger, tenant=request.tenant,
            ),
            start_to_close_timeout=RECORDING_TIMEOUT, retry_policy=RECORDING_RETRY,
        )

    # --- state and what the Temporal UI shows --------------------------------------------------------

    def _mark_done(self, record: ReminderRecord) -> None:
        if record.level not in self.state.done_levels:
            self.state.done_levels = sorted([*self.state.done_levels, record.level])
        self.state.reminders = [*self.state.reminders, record]

    def _set_stage(self, stage: Stage, waiting_for: str) -> None:
        self.state.stage = stage
        self.state.waiting_for = waiting_for
        self._publish()

    def _publish(self) -> None:
        invoice = self.state.invoice
        if invoice is None:
            return
        level = max((r.level for r in self.state.reminders if r.outcome == "sent"), default=0)
        workflow.upsert_search_attributes([
            sa.LEDGER.value_set(self._request().ledger),
            sa.INVOICE_ID.value_set(invoice.id),
            sa.INVOICE_NUMBER.value_set(invoice.number),
            sa.CUSTOMER_ID.value_set(invoice.customer_id),
            sa.CUSTOMER_NAME.value_set(invoice.customer_name),
            sa.STAGE.value_set(self.state.stage.value),
            # Visibility stores doubles; the exact Decimal lives in the state and the ledger.
            sa.AMOUNT_DUE.value_set(float(str(invoice.balance.amount))),
            sa.DUE_DATE.value_set(datetime.combine(invoice.due_date, time(0), tzinfo=UTC)),
            sa.DUNNING_LEVEL.value_set(level),
            sa.AWAITING_APPROVAL.value_set(self.state.pending is not None),
        ])
        pending = self.state.pending
        lines = [
            f"**{invoice.number}** · {invoice.customer_name} · {self.state.stage.value.replace('_', ' ')}",
            f"Amount due {invoice.balance} of {invoice.total}, due {invoice.due_date.isoformat()}",
            f"Dunning level {level}; reminders sent {self.state.reminders_sent}",
            f"Waiting for: {self.state.waiting_for or '-'}",
        ]
        if pending is not None:
            lines.append(f"Awaiting approval: {pending.item_id} ({pending.why})")
        if self.state.dispute:
            lines.append(f"Dispute: {self.state.dispute}")
        workflow.set_current_details("\n\n".join(lines))

    def _dunning_stage(self) -> Stage:
        invoice = self._invoice()
        if self.state.escalated:
            return Stage.ESCALATED
        if invoice.status == InvoiceStatus.PARTIALLY_PAID:
            return Stage.PARTIALLY_PAID
        if self.state.reminders_sent == 0 and self._today() <= invoice.due_date:
            return Stage.AWAITING_DUE_DATE
        return Stage.DUNNING

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT

    def _history_summary(self) -> str:
        sent = [r for r in self.state.reminders if r.outcome == "sent"]
        if not sent:
            return "no reminders sent yet for this invoice"
        return f"{len(sent)} reminder(s) sent, the last at level {sent[-1].level}"

    def _request(self) -> LifecycleInput:
        assert self._input is not None
        return self._input

    def _invoice(self) -> Invoice:
        assert self.state.invoice is not None
        return self.state.invoice

    def _ladder(self) -> DunningLadder:
        customer = self.state.customer
        return ladder_for(customer.dunning_profile if customer else None, self._request().ladder_overrides)

    def _customer_tz(self) -> str:
        return self.state.customer.time_zone if self.state.customer else "UTC"

    def _customer_country(self) -> str:
        return self.state.customer.country if self.state.customer else "US"

    def _today(self) -> date:
        return self._request().clock.today(workflow.now(), self._customer_tz())

    def _instant(self, day: date) -> datetime:
        return self._request().clock.instant_of(day, time(0), self._customer_tz())

    def _recipient(self) -> str | None:
        invoice, customer = self._invoice(), self.state.customer
        return invoice.email or (customer.email if customer else None)
