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
- Continues as new when its history grows long (also while a reminder awaits approval), carrying the
  whole `LifecycleState`: the pending item, the decision in flight and the reminders sent go along.

Every figure comes from the ledger (`fetch_invoice`), re-read right before each send. Every state
change upserts the search attributes that changed and the current details shown in the Temporal UI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.error_types import LEDGER_NOT_FOUND, LEDGER_RECONSENT
    from activities.ledger import (
        FetchInvoiceInput,
        InvoiceSnapshot,
        LedgerActivities,
        PostCreditInput,
        PostLateFeeInput,
    )
    from activities.messaging import (
        DRAFTING_RETRY,
        AuditInput,
        DraftReminderInput,
        MessagingActivities,
        SendReminderInput,
        SendReminderResult,
    )
    from adapters.drafting.port import Draft, ReminderFacts
    from adapters.ledger import Customer, Invoice, InvoiceStatus, Money
    from workflows import search_attributes as sa
    from workflows.approvals import ApprovalInterface
    from workflows.dunning import (
        DunningLadder,
        DunningLevel,
        Escalate,
        NextStep,
        NoAction,
        SendLevel,
        WaitUntil,
        ladder_for,
        next_step,
        reminder_needs_approval,
    )
    from workflows.fee_policy import FeeRule, fee_due_on, late_fee_for
    from workflows.late_fees import LateFeeError
    from workflows.lifecycle_messages import (
        LEDGER_EVENT_SIGNAL,
        AssignSignal,
        BouncedSignal,
        CollectorNote,
        CreditResolution,
        Decision,
        DecisionKind,
        DecisionResult,
        DisputeSignal,
        HandBackSignal,
        LateFeeRecord,
        LedgerEventSignal,
        LifecycleInput,
        LifecycleState,
        NoteSignal,
        PauseSignal,
        PaymentAppliedSignal,
        PendingApproval,
        PlanRequest,
        PromiseToPaySignal,
        ProposePlanSignal,
        ReminderRecord,
        ResolveDisputeSignal,
        Stage,
    )
    from workflows.payment_plans import Instalment, PaymentPlan, PlanError, plan_position, split_balance
    from workflows.policy import Policy, PolicyRead, shared_policy

RULES_VERSION = "dunning-rules/1"
# `workflow.patched` markers: every change to code that running workflows may replay gets one.
PATCH_RECIPIENT_BEFORE_DRAFT = "recipient-checked-before-drafting"
PATCH_CHANGED_SEARCH_ATTRIBUTES = "only-changed-search-attributes-upserted"
PATCH_CONTINUE_AS_NEW_WHILE_WAITING = "continue-as-new-while-awaiting-approval-or-reconsent"
# Issue 9: drafts wait to be posted; pause, assign, notes, hand back, broken promises; bounces move to the
# next contact; a send held by the kill switch gives way to a dispute or pause that arrives meanwhile.
PATCH_DAY_ONE = "day-one-collectors-drafts-bounces"
# The audit log is written behind the life, in order: a ledger note held by the kill switch no longer holds
# the lifecycle with it (a reminder is still drafted and put to a human while outbound actions are held).
PATCH_AUDITS_BEHIND = "audit-written-behind-the-life"
# Issue 11: the customer's risk score read with the invoice and upserted as `RiskScore` (asked only once a score
# exists, so a life without one records no marker).
PATCH_RISK_SCORE = "risk-score-upserted"
# Issue 12: a late fee proposed once the policy's `[fees]` say so (asked only when the policy has a fee rule, so a
# life without one records no marker), and payment plans (asked only when a plan is proposed).
PATCH_LATE_FEES = "late-fee-proposed-by-policy"
PATCH_PAYMENT_PLANS = "payment-plan-holds-dunning"
HISTORY_LIMIT = 5_000
SEEN_EVENTS_KEPT = 200

# Timeouts fit each activity's work: a ledger read is two API calls, a draft may be an LLM round trip,
# a send is one SMTP exchange, an audit line is a database row and maybe a note in the ledger. The
# drafting retry policy lives with the template fallback it must leave room for (activities/messaging.py).
LEDGER_READ_TIMEOUT = timedelta(seconds=60)
LEDGER_READ_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
DRAFTING_TIMEOUT = timedelta(seconds=120)
# No attempt limit: a held kill switch or an SMTP outage waits; the outbox makes every retry idempotent.
SENDING_TIMEOUT = timedelta(seconds=60)
SENDING_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5))
# A ledger write is one API call; a permanent refusal (validation) fails it at once, anything else retries, and
# the idempotency key makes every retry the same write.
LEDGER_WRITE_TIMEOUT = timedelta(seconds=60)
LEDGER_WRITE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5))
RECORDING_TIMEOUT = timedelta(seconds=60)
RECORDING_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


def invoice_workflow_id(ledger: str, tenant: str, invoice_id: str) -> str:
    return f"invoice:{ledger}:{tenant}:{invoice_id}"


def _plan_text(instalments: tuple[Instalment, ...], currency: str) -> str:
    return f"{len(instalments)} instalments: " + ", ".join(
        f"{currency} {i.amount} by {i.due_date.isoformat()}" for i in instalments)


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
        self._day_one = False  # PATCH_DAY_ONE, decided once at the start of each run
        self._policy: Policy | None = None  # the collections policy, read with the first ledger read of a run
        self._policy_changed = False  # since the step being taken was worked out
        self._published_collector: str | None = None  # the owner the search attributes last showed
        self._audits_behind = False  # PATCH_AUDITS_BEHIND, decided once at the start of each run
        self._audit_backlog: list[AuditInput] = []  # in order; written one by one by `_write_audits`
        self._audit_writer: asyncio.Task[None] | None = None

    # --- messages: handlers only change state; run() acts ------------------------------------------

    @workflow.signal(name=LEDGER_EVENT_SIGNAL)
    def ledger_event(self, event: LedgerEventSignal) -> None:
        if event.event_id in self.state.seen_events:
            return  # a replayed or duplicated webhook: nothing new to do
        self.state.seen_events = [*self.state.seen_events, event.event_id][-SEEN_EVENTS_KEPT:]
        self.state.refresh_needed = True
        self._wake += 1

    @workflow.signal
    def payment_applied(self, payment: PaymentAppliedSignal) -> None:
        key = f"payment:{payment.payment_id}"
        if key in self.state.seen_events:
            return
        self.state.seen_events = [*self.state.seen_events, key][-SEEN_EVENTS_KEPT:]
        self.state.refresh_needed = True
        self._wake += 1

    @workflow.signal
    def dispute(self, dispute: DisputeSignal) -> None:
        self.state.dispute = f"{dispute.reason} (opened by {dispute.opened_by})"
        self._wake += 1

    @workflow.signal
    def resolve_dispute(self, resolution: ResolveDisputeSignal) -> None:
        if resolution.credit_note is not None or resolution.write_off:
            # Settled by credit: the dispute holds until a human approves the credit note and it is posted.
            self.state.resolutions += 1
            self.state.resolution = CreditResolution(
                kind="write_off" if resolution.write_off else "credit_note", amount=resolution.credit_note,
                proposed_by=resolution.by, note=resolution.note, number=self.state.resolutions)
        else:
            self.state.dispute = None
            self.state.resolution = None
        self._wake += 1

    @workflow.signal
    def propose_plan(self, proposal: ProposePlanSignal) -> None:
        # The workflow splits the balance it reads from the ledger, so the plan adds up to what is owed then.
        self.state.plans_proposed += 1
        self.state.plan_request = PlanRequest(
            number=self.state.plans_proposed, instalments=proposal.instalments, every_days=proposal.every_days,
            first=proposal.first, proposed_by=proposal.by, note=proposal.note)
        self._wake += 1

    @workflow.signal
    def promise_to_pay(self, promise: PromiseToPaySignal) -> None:
        self.state.promise_until = promise.until
        self._wake += 1

    @workflow.signal
    def pause_dunning(self, pause: PauseSignal) -> None:
        self.state.paused_until = pause.until
        self.state.pause_reason = f"{pause.reason or 'paused'} (by {pause.by})"
        self._wake += 1

    @workflow.signal
    def assign(self, assignment: AssignSignal) -> None:
        self.state.assigned_to = assignment.collector.strip() or None
        self._wake += 1

    @workflow.signal
    def add_note(self, note: NoteSignal) -> None:
        self.state.notes = [*self.state.notes, CollectorNote(at=workflow.now(), by=note.by, text=note.text)]
        self._wake += 1

    @workflow.signal
    def hand_back(self, hand_back: HandBackSignal) -> None:
        self.state.handed_back = True
        self._wake += 1

    @workflow.signal
    def bounced(self, bounce: BouncedSignal) -> None:
        address = bounce.address.strip().lower()
        if address and address not in self.state.bad_addresses:
            self.state.bad_addresses = [*self.state.bad_addresses, address]
            self._wake += 1

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self.state.pending, self.state.stage.value)
        self.state.decision = decision
        self._wake += 1
        return result

    @workflow.query
    def status(self) -> LifecycleState:
        return self.state

    def _pending_item(self) -> PendingApproval | None:
        return self.state.pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending = self.state.pending
        if pending is None or self.state.decision is not None:
            return f"nothing is awaiting approval on this invoice (stage: {self.state.stage.value})"
        problem = self._common_problem(decision, pending, pending.amount, pending.currency)
        if problem:
            return problem
        resolution = self.state.resolution
        if pending.kind in ("credit_note", "write_off") and resolution is not None:
            label = pending.kind.replace("_", "-")
            if decision.decision not in (DecisionKind.APPROVE, DecisionKind.REJECT):
                return (f"a {label} is approved or rejected; to change the amount, resolve the dispute again "
                        "with the new amount")
            if decision.approver.strip().lower() == resolution.proposed_by.strip().lower():
                return f"maker-checker: {decision.approver} proposed this {label} and cannot also approve it"
        if pending.kind in ("late_fee", "payment_plan"):
            label = pending.kind.replace("_", " ")
            if decision.decision not in (DecisionKind.APPROVE, DecisionKind.REJECT):
                return f"a {label} is approved or rejected (propose a new one to change it)"
            request = self.state.plan_request
            if (pending.kind == "payment_plan" and request is not None
                    and decision.approver.strip().lower() == request.proposed_by.strip().lower()):
                return f"maker-checker: {decision.approver} proposed this payment plan and cannot also approve it"
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
        self._day_one = workflow.patched(PATCH_DAY_ONE)
        self._audits_behind = self._day_one and workflow.patched(PATCH_AUDITS_BEHIND)
        if request.state is not None:
            self.state = request.state
            self.state.runs += 1
        if request.state is None and request.initial_invoice is not None and request.initial_customer is not None:
            # A backfill read the invoice and its customer in the ledger's paged queries a moment ago.
            self.state.invoice = request.initial_invoice
            self.state.customer = request.initial_customer
            self._publish()
        elif self.state.invoice is None or request.state is None:
            if not await self._refresh():
                await self._audits_written()
                return self.state
        while await self._turn():
            pass
        await self._audits_written()
        return self.state

    async def _turn(self) -> bool:
        """One turn of the life: act on what changed, then send, wait, escalate or hold. False once the
        invoice's life is over (paid, voided or deleted)."""
        if self.state.pending is not None and self.state.pending.kind == "reminder":
            # Continued as new while a reminder awaited approval.
            return await self._dun(self._resume_approval(self.state.pending))
        if self.state.refresh_needed and not await self._refresh():
            return False
        invoice = self._invoice()
        if invoice.is_settled:
            await self._close(invoice)
            return False
        if self._history_is_long():
            await self._continue_as_new()
        resolution = self.state.resolution
        if resolution is not None and self.state.dispute:
            return await self._dun(self._settle_by_credit(resolution))
        if self.state.plan_request is not None:
            return await self._dun(self._propose_plan(self.state.plan_request))
        if self.state.pending is not None and self.state.pending.kind == "late_fee":
            return await self._dun(self._charge_late_fee(None))  # continued as new while it awaited a human
        if self._day_one:
            await self._collector_work()
            if any(r.outcome == "sent" and r.to and r.to.lower() in self.state.bad_addresses
                   for r in self.state.reminders):
                return await self._dun(self._resend_bounced())
            if self.state.escalated and self._recipient() is None:
                # Nobody left to write to: the collector has it until the ledger gives a contact or they hand it back.
                await self._hold(Stage.ESCALATED, f"a human collector ({self.state.escalation_reason or 'no contact'})",
                                 None)
                return True
            if invoice.status == InvoiceStatus.DRAFT:
                # Never dunned while draft or awaiting approval in the ledger: posting it is a ledger change.
                await self._hold(Stage.DRAFT, "the invoice to be posted in the ledger (it is a draft)", None)
                return True
        if self.state.dispute:
            await self._hold(Stage.PAUSED, f"dispute: {self.state.dispute}", None)
            return True
        promise_until = self.state.promise_until
        if promise_until is not None and self._today() <= promise_until:
            until = self._instant(promise_until + timedelta(days=1))
            await self._hold(Stage.PAUSED, f"promise to pay by {promise_until.isoformat()}", until)
            return True
        if self._day_one and promise_until is not None:
            await self._promise_broken(promise_until)
        paused_until = self.state.paused_until
        if self._day_one and paused_until is not None:
            if self._today() <= paused_until:
                until = self._instant(paused_until + timedelta(days=1))
                await self._hold(Stage.PAUSED, f"dunning paused until {paused_until.isoformat()}: "
                                               f"{self.state.pause_reason}", until)
                return True
            self.state.paused_until = None
            await self._audit(f"pause-ended:{paused_until.isoformat()}", "pause ended",
                              f"dunning paused until {paused_until.isoformat()} resumes")
        plan = self.state.plan
        if plan is not None and plan.status == "active" and await self._follow_plan(plan, invoice):
            return True
        snoozed = self.state.snoozed_until
        if snoozed is not None and workflow.now() < snoozed:
            await self._hold(self._dunning_stage(), f"snoozed until {snoozed.isoformat()}", snoozed)
            return True
        rule = self._fee_rule()
        fee_day = fee_due_on(rule, invoice.due_date) if rule is not None else None
        if fee_day is not None and self._today() >= fee_day:
            return await self._dun(self._charge_late_fee(rule))
        return await self._follow(self._next_step(invoice))

    def _next_step(self, invoice: Invoice) -> NextStep:
        policy = self._policy if self._day_one else None
        country = self._customer_country()
        return next_step(
            self._ladder(),
            due_date=invoice.due_date,
            balance=invoice.balance.amount,
            done_levels=frozenset(self.state.done_levels),
            escalated=self.state.escalated,
            now=workflow.now(),
            clock=self._request().clock,
            tz=self._customer_tz(),
            country=policy.calendar_for(country) if policy else country,
            extra_holidays=policy.closed_days(country) if policy else frozenset(),
        )

    async def _take_policy(self, read: PolicyRead | None) -> bool:
        """The collections policy as the ledger read before this step found it: a changed file applies from
        here on (it comes with an activity's result, so a replay reads the recorded answer, never the file).
        True when it is not the one the step being taken was worked out with."""
        if read is None or read.policy is None:
            return False
        before = self.state.policy_digest if self._policy is not None else None
        self._policy, self.state.policy_digest = shared_policy(read.policy), read.digest
        if before == read.digest:
            return False
        if before:  # a new version of the file, not this run's first read
            await self._audit(f"policy:{read.digest}", "policy applied",
                              f"collections policy {read.digest} applies from now on")
        return True

    def _needs_human(self, reminder_number: int, level: DunningLevel) -> bool:
        policy = self._policy if self._day_one else None
        if policy is None:
            return reminder_needs_approval(reminder_number)
        return policy.needs_human(reminder_number, level, self._ladder())

    async def _follow(self, step: NextStep) -> bool:
        """Do what the dunning ladder says; False when the invoice turned out to be gone."""
        if isinstance(step, SendLevel):
            return await self._dun(self._remind(step))
        if isinstance(step, WaitUntil):
            await self._hold(self._dunning_stage(), step.reason, self._fee_wake(step.instant))
        elif isinstance(step, Escalate):
            handed_back = self.state.handed_back_on
            if self._day_one and handed_back is not None:
                # Handed back after an escalation: the automation has the ladder's grace again first.
                again = handed_back + timedelta(days=self._ladder().escalate_after_days)
                if self._today() < again:
                    await self._hold(self._dunning_stage(), f"payment (handed back; escalation again on "
                                                            f"{again.isoformat()})", self._instant(again))
                    return True
            await self._escalate(step.after_level)
        elif isinstance(step, NoAction):
            stage = Stage.ESCALATED if self.state.escalated else self._dunning_stage()
            waiting = f"payment ({step.reason})"
            if self.state.escalated and self.state.escalation_reason:
                waiting = f"a human collector ({self.state.escalation_reason})"
            await self._hold(stage, waiting, self._fee_wake(None))
        return True

    async def _dun(self, reminder: Awaitable[None]) -> bool:
        """A reminder step; an interruption sends the life round again, a deleted invoice ends it."""
        try:
            await reminder
        except _Interrupted:
            return True
        except _InvoiceGone:
            return False
        return True

    # --- one reminder: skip the passed levels, draft, decide, send -----------------------------------

    async def _remind(self, step: SendLevel) -> None:
        level = step.level
        if self._day_one:
            # Re-check the ledger (and the policy with it) before anything is recorded or drafted: paid or
            # voided means no reminder; a changed policy works the step out again; a quiet period waits.
            self._policy_changed = False
            invoice = await self._invoice_still_open()
            if self._policy_changed and self._next_step(invoice) != step:
                raise _Interrupted()  # the policy now says something else: work the step out again
            quiet_until = self._policy.quiet_until(self._today()) if self._policy else None
            if quiet_until is not None:
                await self._hold(self._dunning_stage(), f"the quiet period to end ({quiet_until.isoformat()})",
                                 self._instant(quiet_until))
                raise _Interrupted()
        await self._skip_passed(step)
        # Re-check the ledger right before drafting: paid or voided means no reminder.
        invoice = self._invoice() if self._day_one else await self._invoice_still_open()
        customer = self._customer()
        # Patched: histories recorded before this check drafted first and escalated at the send step.
        if self._recipient() is None and workflow.patched(PATCH_RECIPIENT_BEFORE_DRAFT):
            # Nobody to write to: the level is recorded as skipped and a human collector takes over.
            self._mark_done(ReminderRecord(level=level.level, outcome="skipped", at=workflow.now(),
                                           reason=f"no billing email for {customer.name}"))
            await self._escalate(level.level, reason=f"no billing email for {customer.name}")
            return
        draft = await self._draft(level, invoice, customer)
        reminder_number = self.state.reminders_sent + 1
        if not self._needs_human(reminder_number, level):
            await self._send(level, draft, draft.subject, draft.body, approved_by=None)
            return
        self._ask_approval(level.level, reminder_number, draft, invoice)
        await self._decide_and_send(level, draft)

    async def _resume_approval(self, pending: PendingApproval) -> None:
        """The run before continued as new while this item awaited a human: the same item, the same draft,
        the same wait; then on as if no new run had begun."""
        level = next((rung for rung in self._ladder().levels if rung.level == pending.level), None)
        if level is None or pending.draft is None:
            # The customer's ladder changed under the pending item: dunning looks again from the top.
            self.state.pending = None
            self.state.decision = None
            raise _Interrupted()
        self._set_stage(Stage.AWAITING_APPROVAL, self._awaiting(pending))
        await self._decide_and_send(level, pending.draft)

    async def _skip_passed(self, step: SendLevel) -> None:
        level = step.level
        for skipped in step.skipped:
            self._mark_done(ReminderRecord(level=skipped, outcome="skipped", at=workflow.now(),
                                           reason=f"its time passed unsent (downtime, a pause or a slow approval); "
                                                  f"level {level.level} is due now"))
            await self._audit(f"reminder-skipped:L{skipped}", "reminder skipped",
                              f"level {skipped} skipped (catch-up: level {level.level} is due now)")

    async def _draft(self, level: DunningLevel, invoice: Invoice, customer: Customer) -> Draft:
        request = self._request()
        facts = ReminderFacts(
            company_name=request.company_name, customer_name=customer.name, invoice_number=invoice.number,
            amount_due=invoice.balance, total=invoice.total, issue_date=invoice.issue_date,
            due_date=invoice.due_date, today=self._today(), level=level.level, tone=level.tone,
            how_to_pay=request.how_to_pay, history_summary=self._history_summary(),
        )
        posted = self.state.fees_posted
        if posted:
            # The reminder may mention the late fee only once it is posted in the ledger, and then cites it exactly.
            fee = posted[-1]
            facts = facts.model_copy(update={
                "allow_late_fee_mention": True, "late_fee": Money(amount=fee.amount, currency=fee.currency),
                "late_fee_invoice": fee.fee_invoice_number})
        self._set_stage(self._dunning_stage(), f"drafting level {level.level} reminder")
        draft: Draft = await workflow.execute_activity_method(
            MessagingActivities.draft_reminder,
            DraftReminderInput(workflow_id=workflow.info().workflow_id, facts=facts),
            start_to_close_timeout=DRAFTING_TIMEOUT, retry_policy=DRAFTING_RETRY,
        )
        return draft

    async def _decide_and_send(self, level: DunningLevel, draft: Draft) -> None:
        """Wait for the human on the pending item, then act on the verdict."""
        decision = await self._await_decision(draft)
        if decision is None:
            raise _Interrupted()
        if decision.decision == DecisionKind.REJECT:
            self._mark_done(ReminderRecord(level=level.level, outcome="rejected", at=workflow.now(),
                                           approver=decision.approver, reason=decision.reason))
            await self._audit(f"reminder-rejected:L{level.level}", "reminder rejected",
                              f"level {level.level}: {decision.reason}", approver=decision.approver, draft=draft)
            return
        if decision.decision == DecisionKind.SNOOZE:
            days = decision.snooze_days or 1
            self.state.snoozed_until = workflow.now() + self._request().clock.days(days)
            await self._audit(f"reminder-snoozed:L{level.level}:{self.state.approvals_requested}",
                              "reminder snoozed", f"level {level.level} snoozed {days} days",
                              approver=decision.approver, draft=draft)
            return
        subject, body = draft.subject, draft.body
        if decision.decision == DecisionKind.EDIT:
            body = decision.text or body
            subject = decision.subject or subject
        # Approval may have taken days: look again before anything leaves.
        await self._invoice_still_open()
        await self._send(level, draft, subject, body, approved_by=decision.approver)

    async def _send(self, level: DunningLevel, draft: Draft, subject: str, body: str,
                    approved_by: str | None) -> None:
        """Send the level to the first good contact; a bounce moves to the next one, none left escalates."""
        request = self._request()
        while True:
            if self._day_one and self._collector_hold() is not None:
                await self._audit(f"reminder-withdrawn:L{level.level}:{self.state.approvals_requested}",
                                  "reminder withdrawn", f"level {level.level}: {self._collector_hold()}")
                raise _Interrupted()
            to = self._recipient()
            if to is None:
                name = self._customer().name
                reason = (f"every contact of {name} bounced" if self.state.bad_addresses
                          else f"no billing email for {name}")
                await self._escalate(level.level, reason=reason)
                return
            # The first contact keeps the key it always had; each further contact gets one of its own.
            key = f"{request.ledger}:{request.tenant}:{request.invoice_id}:reminder:L{level.level}"
            if self.state.bad_addresses:
                key += f":alt{len(self.state.bad_addresses)}"
            result = await self._deliver(SendReminderInput(
                idempotency_key=key, workflow_id=workflow.info().workflow_id, ledger=request.ledger,
                tenant=request.tenant, invoice_id=request.invoice_id, level=level.level, to=to, subject=subject,
                body=body, drafter=draft.drafter, approved_by=approved_by,
            ))
            if result is None:  # held, and a dispute, promise or pause arrived meanwhile: it never leaves
                await self._audit(f"reminder-withdrawn:L{level.level}:{self.state.approvals_requested}",
                                  "reminder withdrawn", f"level {level.level} was held; {self._collector_hold()}")
                raise _Interrupted()
            if result.outcome == "not_sent":
                await self._audit(f"reminder-not-sent:L{level.level}", "reminder not sent",
                                  f"level {level.level}: {result.reason or 'settled while held'}")
                self.state.refresh_needed = True
                raise _Interrupted()
            if result.outcome == "bounced":
                self._mark_bad(to)
                self._mark_done(ReminderRecord(level=level.level, outcome="bounced", at=workflow.now(), to=to,
                                               reason=result.reason, subject=subject, body=body,
                                               drafter=draft.drafter, approver=approved_by))
                await self._audit(f"reminder-bounced:L{level.level}:{to}", "reminder bounced",
                                  f"level {level.level} to {to}: {result.reason or 'address refused'}")
                continue
            break
        self.state.reminders_sent += 1
        self._mark_done(ReminderRecord(level=level.level, outcome="sent", at=workflow.now(),
                                       message_id=result.message_id, approver=approved_by, to=to, subject=subject,
                                       body=body, drafter=draft.drafter))
        await self._audit(f"reminder-sent:L{level.level}", "reminder sent",
                          f"level {level.level} ({level.tone}) to {to} for {self._invoice().balance}",
                          approver=approved_by, draft=draft)
        self._set_stage(self._dunning_stage(), "next dunning level")

    async def _deliver(self, send: SendReminderInput) -> SendReminderResult | None:
        """The send activity. A send held by the kill switch or an SMTP outage retries until released; a
        dispute, promise or pause arriving meanwhile withdraws it (None). The activity itself re-reads the
        ledger when released, so a paid or voided invoice answers "not_sent"."""
        if not self._day_one:
            result: SendReminderResult = await workflow.execute_activity_method(
                MessagingActivities.send_reminder, send,
                start_to_close_timeout=SENDING_TIMEOUT, retry_policy=SENDING_RETRY,
            )
            return result
        handle = workflow.start_activity_method(
            MessagingActivities.send_reminder, send, start_to_close_timeout=SENDING_TIMEOUT,
            retry_policy=SENDING_RETRY, cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.wait_condition(lambda: handle.done() or self._collector_hold() is not None)
        withdrawn = not handle.done()
        if withdrawn:
            handle.cancel()
        try:
            return await handle
        except ActivityError as error:
            if withdrawn and isinstance(error.cause, CancelledError):
                return None
            raise
        except asyncio.CancelledError:
            if withdrawn:
                return None
            raise

    async def _resend_bounced(self) -> None:
        """Delivery status notifications came back for reminders already sent: each is recorded as bounced,
        and when the latest reminder is among them it goes again to the next contact (an older one is not
        sent again: the latest already says more), or the invoice goes to a collector when none is left."""
        sent = [record for record in self.state.reminders if record.outcome == "sent"]
        bounced = [record for record in sent if record.to and record.to.lower() in self.state.bad_addresses]
        for record in bounced:
            record.outcome = "bounced"
            record.reason = "delivery status notification: address bad"
            self.state.reminders_sent = max(self.state.reminders_sent - 1, 0)
            await self._audit(f"reminder-bounced:L{record.level}:{record.to}", "reminder bounced",
                              f"level {record.level} to {record.to}: a delivery status notification came back")
        latest = sent[-1]
        level = next((rung for rung in self._ladder().levels if rung.level == latest.level), None)
        if latest not in bounced or level is None or latest.subject is None or latest.body is None:
            return
        draft = Draft(subject=latest.subject, body=latest.body,
                      drafter="llm" if latest.drafter == "llm" else "template",
                      prompt_id="resend-after-bounce", prompt_version="1")
        await self._invoice_still_open()
        await self._send(level, draft, latest.subject, latest.body, approved_by=latest.approver)

    # --- a dispute settled by a credit note or a write-off (issue 12) -----------------------------------

    async def _settle_by_credit(self, resolution: CreditResolution) -> None:
        """Put the proposed credit note (or write-off) to a human; once approved, post it against the
        invoice, read the new balance, and end the dispute: dunning goes on for what is left, if anything."""
        label = "write-off" if resolution.kind == "write_off" else "credit note"
        invoice = await self._invoice_still_open()
        balance = invoice.balance.amount
        amount = balance if resolution.amount is None else resolution.amount
        item_id = f"{invoice.id}:{resolution.kind}:{resolution.number}"
        pending = self.state.pending
        if pending is None or pending.item_id != item_id:
            if amount <= 0 or amount > balance:
                self.state.resolution = None
                await self._audit(f"{resolution.kind}-refused:{resolution.number}", f"{label} refused",
                                  f"{invoice.currency} {amount} is not between 0 and the balance {invoice.balance}",
                                  approver=resolution.proposed_by)
                return
            pending = self._ask_credit_approval(resolution, amount, invoice)
            await self._audit(f"{resolution.kind}-proposed:{resolution.number}", f"{label} proposed",
                              f"{invoice.currency} {amount} to settle the dispute ({self.state.dispute}) "
                              f"proposed by {resolution.proposed_by}", approver=resolution.proposed_by)
        decision = await self._await_credit_decision(resolution, pending)
        if decision is None:
            return
        if decision.decision == DecisionKind.REJECT:
            await self._audit(f"{resolution.kind}-rejected:{resolution.number}", f"{label} rejected",
                              f"{invoice.currency} {pending.amount}: {decision.reason}", approver=decision.approver)
            return  # the dispute stays open with its collector
        await self._post_credit(resolution, pending, decision.approver)

    def _ask_credit_approval(self, resolution: CreditResolution, amount: Decimal, invoice: Invoice) -> PendingApproval:
        label = "write-off of the balance" if resolution.kind == "write_off" else "credit note"
        self.state.approvals_requested += 1
        self.state.pending = PendingApproval(
            item_id=f"{invoice.id}:{resolution.kind}:{resolution.number}", kind=resolution.kind,
            workflow_id=workflow.info().workflow_id, invoice_id=invoice.id, invoice_number=invoice.number,
            customer_id=invoice.customer_id, customer_name=invoice.customer_name, amount=amount,
            currency=invoice.currency, due_date=invoice.due_date, requested_at=workflow.now(),
            why=f"a {label} moves money: proposed by {resolution.proposed_by} to settle a dispute",
            suggestion={"kind": resolution.kind, "amount": str(amount), "currency": invoice.currency,
                        "balance": str(invoice.balance.amount), "balance_after": str(invoice.balance.amount - amount),
                        "dispute": self.state.dispute, "proposed_by": resolution.proposed_by,
                        "note": resolution.note},
        )
        self.state.decision = None
        self._set_stage(Stage.AWAITING_APPROVAL, f"approval of a {label} of {invoice.currency} {amount}")
        return self.state.pending

    async def _await_credit_decision(self, resolution: CreditResolution, pending: PendingApproval) -> Decision | None:
        """The human's verdict; None when the proposal was withdrawn (the dispute ended or was re-proposed, or
        the ledger moved so the amount no longer fits)."""
        while True:
            await workflow.wait_condition(
                lambda: self.state.decision is not None or self.state.refresh_needed or not self.state.dispute
                or self.state.resolution is not resolution or self._history_is_long())
            if self.state.decision is not None:
                break
            if not self.state.dispute or self.state.resolution is not resolution:
                self.state.pending = None
                await self._audit(f"{resolution.kind}-withdrawn:{resolution.number}", "credit withdrawn",
                                  f"{pending.item_id}: the dispute was resolved otherwise or a new amount proposed")
                return None
            if not self.state.refresh_needed:
                await self._continue_as_new()  # the item and the proposal go along in the state
            invoice = await self._invoice_still_open()
            if pending.amount > invoice.balance.amount:
                self.state.pending = None
                self.state.resolution = None
                await self._audit(f"{resolution.kind}-withdrawn:{resolution.number}", "credit withdrawn",
                                  f"{pending.item_id}: the balance is now {invoice.balance}, less than the credit")
                return None
            self._set_stage(Stage.AWAITING_APPROVAL, self.state.waiting_for)
        decision = self.state.decision
        self.state.decision = None
        self.state.pending = None
        if decision.decision != DecisionKind.APPROVE:
            self.state.resolution = None
        return decision

    async def _post_credit(self, resolution: CreditResolution, pending: PendingApproval, approver: str) -> None:
        request = self._request()
        invoice = self._invoice()
        label = "write-off" if resolution.kind == "write_off" else "credit note"
        reason = resolution.note or self.state.dispute or "dispute settled"
        self._set_stage(self._dunning_stage(), f"the {label} to be posted in the ledger")
        note = await workflow.execute_activity_method(
            LedgerActivities.post_credit_note,
            PostCreditInput(
                ledger=request.ledger, tenant=request.tenant, invoice_id=invoice.id, customer_id=invoice.customer_id,
                currency=invoice.currency, amount=pending.amount, kind=resolution.kind,
                reason=f"{label} approved by {approver}: {reason}", issue_date=self._today(),
                idempotency_key=f"{request.ledger}:{request.tenant}:{request.invoice_id}:{resolution.kind}:"
                                f"{resolution.number}",
            ),
            start_to_close_timeout=LEDGER_WRITE_TIMEOUT, retry_policy=LEDGER_WRITE_RETRY,
        )
        self.state.credit_notes = [*self.state.credit_notes, note.number]
        self.state.resolution = None
        self.state.dispute = None
        await self._refresh_or_gone()
        if self._invoice().balance.amount <= 0:
            self.state.settled_by = label
        await self._audit(f"{resolution.kind}-posted:{resolution.number}", f"{label} posted",
                          f"{note.number} for {invoice.currency} {pending.amount}; balance now "
                          f"{self._invoice().balance}", approver=approver)

    # --- late fees and statutory interest (issue 12) ---------------------------------------------------

    def _fee_rule(self) -> FeeRule | None:
        """The policy's fee rule for this customer's ladder while no fee was proposed yet (one per invoice)."""
        policy = self._policy if self._day_one else None
        if policy is None or self.state.late_fees:
            return None
        rule = policy.fees.rule_for(self._ladder().name)
        if rule.kind == "none" or not workflow.patched(PATCH_LATE_FEES):
            return None
        return rule

    def _fee_wake(self, until: datetime | None) -> datetime | None:
        """`until`, or earlier when a late fee falls due before it (the wait then ends to propose it)."""
        rule = self._fee_rule()
        fee_day = fee_due_on(rule, self._invoice().due_date) if rule is not None else None
        if fee_day is None:
            return until
        instant = self._instant(fee_day)
        return instant if until is None or instant < until else until

    async def _charge_late_fee(self, rule: FeeRule | None) -> None:
        """Compute the fee the policy charges and put it to a human (a `late_fee` item); once approved, post it
        as a new invoice in the ledger. Rejected or not computable: recorded, and never proposed again."""
        number = len(self.state.late_fees) + 1
        invoice = await self._invoice_still_open()
        item_id = f"{invoice.id}:late_fee:{number}"
        pending = self.state.pending
        if pending is None or pending.item_id != item_id:
            policy = self._policy
            if rule is None or policy is None:
                self.state.pending = None
                return
            try:
                fee = late_fee_for(rule, policy.fees.reference_rates(), invoice.balance.amount, invoice.currency,
                                   invoice.due_date, self._today())
            except LateFeeError as error:
                await self._fee_refused(number, invoice, f"no fee computed: {error}")
                return
            if fee is None:
                await self._fee_refused(number, invoice, "the rule gives no fee on this balance")
                return
            self.state.approvals_requested += 1
            self.state.pending = pending = PendingApproval(
                item_id=item_id, kind="late_fee", workflow_id=workflow.info().workflow_id, invoice_id=invoice.id,
                invoice_number=invoice.number, customer_id=invoice.customer_id, customer_name=invoice.customer_name,
                amount=fee.amount, currency=invoice.currency, due_date=invoice.due_date,
                requested_at=workflow.now(), why=f"a late fee moves money: {fee.days_late} days late ({fee.basis})",
                suggestion=fee.suggestion())
            self.state.decision = None
            self._set_stage(Stage.AWAITING_APPROVAL, f"approval of a late fee of {invoice.currency} {fee.amount}")
            await self._audit(f"late-fee-proposed:{number}", "late fee proposed",
                              f"{invoice.currency} {fee.amount} on {invoice.balance} {fee.days_late} days late: "
                              f"{fee.basis}", extra={k: str(v) for k, v in fee.suggestion().items()})
        decision = await self._await_fee_decision(pending)
        if decision is None:
            return
        if decision.decision == DecisionKind.REJECT:
            self.state.late_fees = [*self.state.late_fees, LateFeeRecord(
                number=number, outcome="rejected", amount=pending.amount, currency=pending.currency,
                as_of=self._today(), approver=decision.approver, reason=decision.reason)]
            await self._audit(f"late-fee-rejected:{number}", "late fee rejected",
                              f"{pending.currency} {pending.amount}: {decision.reason}", approver=decision.approver)
            return
        await self._post_fee(number, pending, decision.approver)

    async def _fee_refused(self, number: int, invoice: Invoice, why: str) -> None:
        self.state.late_fees = [*self.state.late_fees, LateFeeRecord(
            number=number, outcome="rejected", amount=Decimal(0), currency=invoice.currency, as_of=self._today(),
            approver="policy", reason=why)]
        await self._audit(f"late-fee-refused:{number}", "late fee not proposed", why)

    async def _await_fee_decision(self, pending: PendingApproval) -> Decision | None:
        """The human's verdict; None when a dispute, promise, pause or plan withdrew the item (it is proposed again,
        with the figures of that day, once dunning resumes)."""
        while True:
            await workflow.wait_condition(
                lambda: self.state.decision is not None or self.state.refresh_needed
                or self._collector_hold() is not None or self._history_is_long())
            if self.state.decision is not None:
                break
            hold = self._collector_hold()
            if hold is not None:
                self.state.pending = None
                await self._audit(f"late-fee-withdrawn:{pending.item_id}:{self.state.approvals_requested}",
                                  "late fee withdrawn", f"{pending.item_id}: {hold}")
                return None
            if not self.state.refresh_needed:
                await self._continue_as_new()  # the item goes along in the state
            await self._invoice_still_open()  # paid meanwhile: the life closes and the item with it
            self._set_stage(Stage.AWAITING_APPROVAL, self.state.waiting_for)
        decision = self.state.decision
        self.state.decision = None
        self.state.pending = None
        return decision

    async def _post_fee(self, number: int, pending: PendingApproval, approver: str) -> None:
        request, invoice, customer = self._request(), self._invoice(), self._customer()
        today = self._today()
        basis = str((pending.suggestion or {}).get("basis") or "late payment")
        self._set_stage(self._dunning_stage(), "the late fee to be posted in the ledger")
        posted: Invoice = await workflow.execute_activity_method(
            LedgerActivities.post_late_fee,
            PostLateFeeInput(
                ledger=request.ledger, tenant=request.tenant, invoice_id=invoice.id, invoice_number=invoice.number,
                customer_id=invoice.customer_id, currency=pending.currency, amount=pending.amount,
                description=f"Late payment charge on invoice {invoice.number}: {basis}", issue_date=today,
                due_date=today + timedelta(days=max(customer.terms_days, 0)),
                idempotency_key=f"{request.ledger}:{request.tenant}:{request.invoice_id}:late-fee:{number}",
            ),
            start_to_close_timeout=LEDGER_WRITE_TIMEOUT, retry_policy=LEDGER_WRITE_RETRY,
        )
        record = LateFeeRecord(number=number, outcome="posted", amount=pending.amount, currency=pending.currency,
                               as_of=today, approver=approver, fee_invoice_id=posted.id,
                               fee_invoice_number=posted.number)
        self.state.late_fees = [*self.state.late_fees, record]
        self.state.fees_posted = [*self.state.fees_posted, record]
        self._set_stage(self._dunning_stage(), "next dunning level")
        await self._audit(f"late-fee-posted:{number}", "late fee posted",
                          f"invoice {posted.number} for {pending.currency} {pending.amount} (late payment of "
                          f"{invoice.number})", approver=approver)

    # --- payment plans (issue 12) ------------------------------------------------------------------------

    async def _propose_plan(self, proposal: PlanRequest) -> None:
        """Split the balance into the instalments asked for and put the plan to a human (`payment_plan`, never
        approved by its proposer); approved, dunning follows the plan's dates."""
        workflow.patched(PATCH_PAYMENT_PLANS)
        invoice = await self._invoice_still_open()
        item_id = f"{invoice.id}:payment_plan:{proposal.number}"
        pending = self.state.pending
        if pending is None or pending.item_id != item_id:
            today = self._today()
            first = proposal.first or today + timedelta(days=proposal.every_days)
            try:
                if first < today:
                    raise PlanError(f"the first instalment's date {first.isoformat()} is before today "
                                    f"({today.isoformat()})")
                instalments = split_balance(invoice.balance.amount, invoice.currency, proposal.instalments, first,
                                            proposal.every_days)
            except PlanError as error:
                self.state.plan_request = None
                await self._audit(f"payment-plan-refused:{proposal.number}", "payment plan refused", str(error),
                                  approver=proposal.proposed_by)
                return
            pending = self._ask_plan_approval(proposal, instalments, invoice)
            await self._audit(f"payment-plan-proposed:{proposal.number}", "payment plan proposed",
                              f"{_plan_text(instalments, invoice.currency)} proposed by {proposal.proposed_by}",
                              approver=proposal.proposed_by)
        decision = await self._await_plan_decision(proposal, pending)
        if decision is None:
            return
        if decision.decision == DecisionKind.REJECT:
            await self._audit(f"payment-plan-rejected:{proposal.number}", "payment plan rejected",
                              f"{pending.item_id}: {decision.reason}", approver=decision.approver)
            return
        raw = (pending.suggestion or {}).get("instalments") or []
        instalments = tuple(Instalment.model_validate(item) for item in raw)
        self.state.plan = PaymentPlan(number=proposal.number, currency=pending.currency,
                                      balance_at_start=pending.amount, instalments=instalments,
                                      proposed_by=proposal.proposed_by, approved_by=decision.approver)
        await self._audit(f"payment-plan-approved:{proposal.number}", "payment plan approved",
                          f"{_plan_text(instalments, pending.currency)}: dunning follows the plan",
                          approver=decision.approver)

    def _ask_plan_approval(self, proposal: PlanRequest, instalments: tuple[Instalment, ...],
                           invoice: Invoice) -> PendingApproval:
        self.state.approvals_requested += 1
        self.state.pending = PendingApproval(
            item_id=f"{invoice.id}:payment_plan:{proposal.number}", kind="payment_plan",
            workflow_id=workflow.info().workflow_id, invoice_id=invoice.id, invoice_number=invoice.number,
            customer_id=invoice.customer_id, customer_name=invoice.customer_name, amount=invoice.balance.amount,
            currency=invoice.currency, due_date=invoice.due_date, requested_at=workflow.now(),
            why=f"a payment plan holds dunning: {len(instalments)} instalments proposed by {proposal.proposed_by}",
            suggestion={"instalments": [i.model_dump(mode="json") for i in instalments],
                        "balance": str(invoice.balance.amount), "currency": invoice.currency,
                        "every_days": proposal.every_days, "proposed_by": proposal.proposed_by,
                        "note": proposal.note})
        self.state.decision = None
        self._set_stage(Stage.AWAITING_APPROVAL,
                        f"approval of a payment plan ({_plan_text(instalments, invoice.currency)})")
        return self.state.pending

    async def _await_plan_decision(self, proposal: PlanRequest, pending: PendingApproval) -> Decision | None:
        """The human's verdict; None when a newer proposal replaced this one or the balance moved under it."""
        while True:
            await workflow.wait_condition(
                lambda: self.state.decision is not None or self.state.refresh_needed
                or self.state.plan_request is not proposal or self._history_is_long())
            if self.state.decision is not None:
                break
            if self.state.plan_request is not proposal:
                self.state.pending = None
                await self._audit(f"payment-plan-withdrawn:{proposal.number}", "payment plan withdrawn",
                                  f"{pending.item_id}: a new plan was proposed")
                return None
            if not self.state.refresh_needed:
                await self._continue_as_new()
            invoice = await self._invoice_still_open()
            if invoice.balance.amount != pending.amount:
                self.state.pending = None
                self.state.plan_request = None
                await self._audit(f"payment-plan-withdrawn:{proposal.number}", "payment plan withdrawn",
                                  f"{pending.item_id}: the balance is now {invoice.balance}; propose the plan again")
                return None
            self._set_stage(Stage.AWAITING_APPROVAL, self.state.waiting_for)
        decision = self.state.decision
        self.state.decision = None
        self.state.pending = None
        self.state.plan_request = None
        return decision

    async def _follow_plan(self, plan: PaymentPlan, invoice: Invoice) -> bool:
        """Hold dunning until the next instalment's date; True while the plan holds. A missed instalment is a
        broken promise recorded on the customer and ends the plan (False: normal dunning resumes now)."""
        today = self._today()
        position = plan_position(plan, invoice.balance.amount, today)
        upcoming, missed = position.next, position.missed
        if upcoming is None or missed is not None:
            status = "completed" if upcoming is None else "broken"
            self.state.plan = plan.model_copy(update={"status": status, "ended_on": today,
                                                      "missed": missed.number if missed else None})
            if missed is not None:
                self.state.broken_promises = [*self.state.broken_promises, missed.due_date]
                await self._audit(f"payment-plan-broken:{plan.number}", "payment plan broken",
                                  f"{self._customer().name} missed instalment {missed.number} of "
                                  f"{len(plan.instalments)} ({plan.currency} {missed.amount} by "
                                  f"{missed.due_date.isoformat()}; paid {position.paid} of {missed.running_total} "
                                  f"due by then): dunning resumes",
                                  extra={"customer_id": self._customer().id, "promised": missed.due_date.isoformat()})
            else:
                await self._audit(f"payment-plan-completed:{plan.number}", "payment plan completed",
                                  f"every instalment paid; {invoice.balance} still due: dunning resumes")
            return False
        owed = upcoming.running_total - position.paid
        await self._hold(Stage.PAUSED, f"payment plan: instalment {upcoming.number} of {len(plan.instalments)}, "
                                       f"{plan.currency} {owed} by {upcoming.due_date.isoformat()}",
                         self._instant(upcoming.due_date + timedelta(days=1)))
        return True


    # --- approval --------------------------------------------------------------------------------------

    def _ask_approval(self, level: int, reminder_number: int, draft: Draft, invoice: Invoice) -> None:
        """Put the draft in front of a human."""
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
        self.state.decision = None
        self._set_stage(Stage.AWAITING_APPROVAL, self._awaiting(self.state.pending))

    async def _await_decision(self, draft: Draft) -> Decision | None:
        """The human's decision on the pending item; None when a payment or dispute made the question moot.

        A long history continues as new from inside the wait (patched: runs from before waited on): the
        pending item and any decision already taken go along in the state."""
        pending = self._pending()
        may_continue_as_new = workflow.patched(PATCH_CONTINUE_AS_NEW_WHILE_WAITING)
        while True:
            await workflow.wait_condition(
                lambda: self.state.decision is not None or self.state.refresh_needed or bool(self.state.dispute)
                or (may_continue_as_new and self._history_is_long())
                or (self._day_one and (self._collector_hold() is not None or self._collector_asked()))
            )
            if self.state.decision is not None or self._collector_hold() is not None:
                break
            if self._day_one and self._collector_asked() and not self.state.refresh_needed:
                # A note, an assignment or a hand back while the reminder awaits a person: done now; the
                # question stays open (a hand back concerns escalation, not this reminder).
                await self._collector_work()
                self._set_stage(Stage.AWAITING_APPROVAL, self._awaiting(pending))
                continue
            if not self.state.refresh_needed:
                await self._continue_as_new()
            # Something changed in the ledger: the draft stands unless the invoice is settled or its
            # balance moved (then the figures in the draft are stale and it is drafted again).
            await self._refresh_or_gone()
            current = self._invoice()
            if current.is_settled or current.balance.amount != pending.amount or current.currency != pending.currency:
                break
            self._set_stage(Stage.AWAITING_APPROVAL, self._awaiting(pending))
        decision = self.state.decision
        self.state.decision = None
        self.state.pending = None
        if decision is None:
            self._set_stage(self._dunning_stage(), "re-checking after a ledger change")
            return None
        await self._audit(f"decision:{self.state.approvals_requested}", f"reminder {decision.decision.value}",
                          f"level {pending.level} {decision.decision.value}"
                          + (f": {decision.reason}" if decision.reason else ""),
                          approver=decision.approver, draft=draft,
                          extra={"requested_at": pending.requested_at.isoformat()})  # for approval turnaround
        return decision

    @staticmethod
    def _awaiting(pending: PendingApproval) -> str:
        return f"approval of the level {pending.level} reminder ({pending.why})"

    # --- collectors in the loop -------------------------------------------------------------------------

    def _collector_asked(self) -> bool:
        """A collector's note, hand back or new assignment that the workflow has not acted on yet."""
        return (self.state.notes_written < len(self.state.notes) or self.state.handed_back
                or self.state.assigned_to != self._published_collector)

    async def _collector_work(self) -> None:
        """What collectors asked for since the last turn: notes to write, a hand back to automation."""
        while self.state.notes_written < len(self.state.notes):
            number = self.state.notes_written + 1
            note = self.state.notes[number - 1]
            self.state.notes_written = number
            await self._audit(f"note:{number}", "collector note", note.text, approver=note.by)
        if self.state.handed_back:
            self.state.handed_back = False
            was = [what for what, on in (("escalated", self.state.escalated),
                                         ("paused", self.state.paused_until is not None),
                                         ("disputed", bool(self.state.dispute))) if on]
            self.state.escalated = False
            self.state.paused_until = None
            self.state.pause_reason = None
            self.state.dispute = None
            self.state.resolution = None  # a credit proposed for that dispute goes with it
            self.state.assigned_to = None
            self.state.handed_back_on = self._today()
            await self._audit(f"handed-back:{self.state.approvals_requested}:{len(self.state.notes)}:"
                              f"{self.state.runs}:{workflow.now().isoformat()}", "handed back to automation",
                              f"dunning resumes ({', '.join(was) or 'it was running'})")

    async def _promise_broken(self, promised: date) -> None:
        """The promised date passed and the invoice is still open: recorded on the customer, dunning resumes."""
        self.state.promise_until = None
        self.state.broken_promises = [*self.state.broken_promises, promised]
        await self._audit(f"promise-broken:{promised.isoformat()}", "promise broken",
                          f"{self._customer().name} promised payment by {promised.isoformat()}; "
                          f"{self._invoice().balance} still due: dunning resumes",
                          extra={"customer_id": self._customer().id, "promised": promised.isoformat()})

    # --- other steps -----------------------------------------------------------------------------------

    async def _escalate(self, after_level: int, reason: str | None = None) -> None:
        self.state.escalated = True
        self.state.escalations += 1
        why = reason or f"no payment after level {after_level}"
        self.state.escalation_reason = why
        self._set_stage(Stage.ESCALATED, f"a human collector ({why})")
        # The first escalation keeps the key it always had; one after a hand back gets its own.
        step = "escalated"
        if self._day_one and self.state.escalations > 1:
            step = f"escalated:{self.state.escalations}"
        await self._audit(step, "escalated to collector", f"{why}; balance {self._invoice().balance}")

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

    async def _continue_as_new(self) -> NoReturn:
        """A fresh run with the same state, so the history stays short and nothing lived is lost."""
        await self._audits_written()
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._request().model_copy(update={"state": self.state}))

    async def _refresh(self) -> bool:
        """Re-read invoice and customer from the ledger. False when the invoice no longer exists."""
        request = self._request()
        while True:
            self.state.refresh_needed = False
            try:
                # A new run asks for the policy whole ("" known); after that only for a change.
                known = (self.state.policy_digest if self._policy is not None else "") if self._day_one else None
                snapshot: InvoiceSnapshot = await workflow.execute_activity_method(
                    LedgerActivities.fetch_invoice,
                    FetchInvoiceInput(ledger=request.ledger, tenant=request.tenant, invoice_id=request.invoice_id,
                                      policy_digest=known),
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
                await self._await_reconsent()
        self.state.invoice = snapshot.invoice
        self.state.customer = snapshot.customer
        if snapshot.risk is not None and workflow.patched(PATCH_RISK_SCORE):
            self.state.risk = snapshot.risk
        read, snapshot.policy = snapshot.policy, None  # the shared instance is kept, not this copy
        self._policy_changed = await self._take_policy(read) or self._policy_changed
        self._publish()
        return True

    async def _await_reconsent(self) -> None:
        """The ledger connection needs a human to connect it again: nothing is lost, the invoice waits and
        looks again every hour (or at once on the next signal)."""
        if self._history_is_long() and workflow.patched(PATCH_CONTINUE_AS_NEW_WHILE_WAITING):
            # The next run reads the ledger first; without this a long history woke the wait at once.
            self.state.refresh_needed = True
            await self._continue_as_new()
        stage = self.state.stage
        await self._hold(Stage.PAUSED, f"re-consent of the {self._request().ledger} connection",
                         workflow.now() + timedelta(hours=1))
        self.state.stage = stage

    async def _refresh_or_gone(self) -> None:
        if not await self._refresh():
            raise _InvoiceGone()

    async def _invoice_still_open(self) -> Invoice:
        """The invoice as the ledger has it now; a settled one interrupts the reminder."""
        await self._refresh_or_gone()
        invoice = self._invoice()
        if invoice.is_settled:
            raise _Interrupted()
        return invoice

    async def _close(self, invoice: Invoice) -> None:
        self.state.pending = None
        if invoice.status == InvoiceStatus.VOID:
            self.state.closed_reason = "voided in the ledger"
            self._set_stage(Stage.VOID, "nothing (voided)")
        elif self.state.settled_by is not None:
            self.state.closed_reason = f"settled by {self.state.settled_by}"
            self._set_stage(Stage.PAID, f"nothing (settled by {self.state.settled_by})")
        else:
            self.state.closed_reason = "paid in full"
            self._set_stage(Stage.PAID, "nothing (paid)")
        await self._audit("closed", "invoice closed", self.state.closed_reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._set_stage(Stage.CLOSED, f"nothing ({self.state.closed_reason})")

    async def _audit(self, step: str, action: str, result: str, *, approver: str | None = None,
                     draft: Draft | None = None, extra: dict[str, str] | None = None) -> None:
        request = self._request()
        invoice = self.state.invoice
        entry = AuditInput(
            idempotency_key=f"{request.ledger}:{request.tenant}:{request.invoice_id}:{step}",
            workflow_id=workflow.info().workflow_id, invoice_id=request.invoice_id, action=action,
            inputs={
                "balance": str(invoice.balance) if invoice else None,
                "due_date": invoice.due_date.isoformat() if invoice else None,
                "stage": self.state.stage.value,
                "prompt": f"{draft.prompt_id}@{draft.prompt_version}" if draft else None,
                "drafter": draft.drafter if draft else None,
                **(extra or {}),
            },
            rule_version=RULES_VERSION, model=draft.model if draft else None, approver=approver,
            result=result, ledger=request.ledger, tenant=request.tenant,
        )
        if not self._audits_behind:
            await self._record_audit(entry)
            return
        self._audit_backlog.append(entry)
        if self._audit_writer is None or self._audit_writer.done():
            self._audit_writer = asyncio.create_task(self._write_audits())

    async def _write_audits(self) -> None:
        """Writes the backlog in order; the entry stays first in line until its activity has succeeded."""
        while self._audit_backlog:
            await self._record_audit(self._audit_backlog[0])
            self._audit_backlog.pop(0)

    async def _audits_written(self) -> None:
        """Before the run ends or continues as new: every audit line written (held while the kill switch is)."""
        writer = self._audit_writer
        if self._audits_behind and writer is not None:
            await workflow.wait_condition(lambda: not self._audit_backlog or writer.done())
            if self._audit_backlog:
                await writer  # it ended with entries left: its error is this run's

    async def _record_audit(self, entry: AuditInput) -> None:
        await workflow.execute_activity_method(
            MessagingActivities.record_audit, entry,
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
        level = self._dunning_level()
        updates = self._search_attributes(invoice, level)
        # Patched: histories recorded before it upserted all ten on every state change.
        if workflow.patched(PATCH_CHANGED_SEARCH_ATTRIBUTES):
            current = workflow.info().typed_search_attributes
            updates = [update for update in updates if current.get(update.key) != update.value]
        if updates:
            workflow.upsert_search_attributes(updates)
        self._published_collector = self.state.assigned_to
        workflow.set_current_details(self._details(invoice, level))

    def _search_attributes(self, invoice: Invoice, level: int) -> list[SearchAttributeUpdate[Any]]:
        return [
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
            *([sa.COLLECTOR.value_set(self.state.assigned_to or "")] if self._day_one else []),
            *([sa.RISK_SCORE.value_set(self.state.risk.score)] if self.state.risk is not None else []),
        ]

    def _details(self, invoice: Invoice, level: int) -> str:
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
        risk = self.state.risk
        if risk is not None:
            lines.append(f"Customer risk {risk.score:.2f} (grade {risk.grade}): {'; '.join(risk.reasons)}")
        customer = self.state.customer
        if self._day_one and customer is not None:
            lines.append(f"Customer time: {customer.time_zone} ({customer.time_zone_source})")
            if self.state.assigned_to:
                lines.append(f"Collector: {self.state.assigned_to}")
            if self.state.bad_addresses:
                lines.append(f"Bounced: {', '.join(self.state.bad_addresses)}")
        return "\n\n".join(lines)

    def _dunning_level(self) -> int:
        """The highest level actually sent (skipped and rejected levels do not count)."""
        return max((r.level for r in self.state.reminders if r.outcome == "sent"), default=0)

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
        limit = self._request().history_limit or HISTORY_LIMIT
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    def _history_summary(self) -> str:
        sent = [r for r in self.state.reminders if r.outcome == "sent"]
        if not sent:
            return "no reminders sent yet for this invoice"
        return f"{len(sent)} reminder(s) sent, the last at level {sent[-1].level}"

    # --- what must be there by now (an ApplicationError, not an assert, when it is not) ----------------

    def _request(self) -> LifecycleInput:
        if self._input is None:
            raise ApplicationError("InvoiceLifecycle used before run() received its input", non_retryable=True)
        return self._input

    def _invoice(self) -> Invoice:
        if self.state.invoice is None:
            raise ApplicationError("InvoiceLifecycle has no invoice before its first ledger read",
                                   non_retryable=True)
        return self.state.invoice

    def _customer(self) -> Customer:
        if self.state.customer is None:
            raise ApplicationError("InvoiceLifecycle has no customer before its first ledger read",
                                   non_retryable=True)
        return self.state.customer

    def _pending(self) -> PendingApproval:
        if self.state.pending is None:
            raise ApplicationError("InvoiceLifecycle awaits a decision with nothing pending", non_retryable=True)
        return self.state.pending

    def _ladder(self) -> DunningLadder:
        customer = self.state.customer
        policy = self._policy if self._day_one else None
        request = self._request()
        if policy is None or customer is None or request.ladder_overrides:
            return ladder_for(customer.dunning_profile if customer else None, request.ladder_overrides)
        if customer.dunning_profile and customer.dunning_profile in policy.ladders:
            return policy.dunning_ladder(customer.dunning_profile, customer.currency)
        invoice = self.state.invoice
        return policy.ladder_for(customer, invoice.balance.amount if invoice else Decimal(0))

    def _customer_tz(self) -> str:
        return self.state.customer.time_zone if self.state.customer else "UTC"

    def _customer_country(self) -> str:
        return self.state.customer.country if self.state.customer else "US"

    def _today(self) -> date:
        return self._request().clock.today(workflow.now(), self._customer_tz())

    def _instant(self, day: date) -> datetime:
        return self._request().clock.instant_of(day, time(0), self._customer_tz())

    def _recipient(self) -> str | None:
        """The first contact that has not bounced: the invoice's email, the customer's, then the
        customer's alternates in order."""
        invoice, customer = self._invoice(), self.state.customer
        if not self._day_one:
            return invoice.email or (customer.email if customer else None)
        contacts = [invoice.email, *((customer.email, *customer.alternate_emails) if customer else ())]
        bad = set(self.state.bad_addresses)
        return next((c for c in contacts if c and c.strip().lower() not in bad), None)

    def _mark_bad(self, address: str) -> None:
        key = address.strip().lower()
        if key not in self.state.bad_addresses:
            self.state.bad_addresses = [*self.state.bad_addresses, key]

    def _collector_hold(self) -> str | None:
        """Why a collector has dunning on hold right now (dispute, promise, pause), or None."""
        if self.state.dispute:
            return f"dispute: {self.state.dispute}"
        today = self._today()
        if self.state.promise_until is not None and today <= self.state.promise_until:
            return f"promise to pay by {self.state.promise_until.isoformat()}"
        if self._day_one and self.state.paused_until is not None and today <= self.state.paused_until:
            return f"dunning paused until {self.state.paused_until.isoformat()}"
        if self.state.plan_request is not None:
            return "a payment plan awaiting approval"
        if self.state.plan is not None and self.state.plan.status == "active":
            return "a payment plan"
        return None
