"""Customer statements (issue 11): one `StatementRun` per customer and month, started by `StatementSchedule`.

StatementRun
- Started by `duecourse statement send CUSTOMER_ID [--period YYYY-MM]` or by `StatementSchedule`, id
  `statement:<ledger>:<tenant>:<customer>:<YYYY-MM>` (one per customer and period: a second start is refused).
- Reads the policy's `[statements]` mode, then the customer's books (activity) for the month (to the ledger's
  today while the month is still running) and renders the PDF (activity). Then per mode:
  `shadow`: audited, never sent; `draft`: a `statement` approval item whose draft is the mail with the figures,
  decided through `ApprovalInterface.decide` (approve sends, reject files it; no edit or snooze);
  `auto`: sent. A send is once per key `{ledger}:{tenant}:statement:{customer}:{period}` (the outbox).
- A customer without an email address, or with nothing to state, is audited and not sent.
- Returns `StatementRunResult` (what happened, and the figures' closing balances).

StatementSchedule
- Started by the Temporal Schedule `statements:<ledger>:<tenant>` once per ledger day (or demo day). On the
  policy's `day_of_month` it lists every customer with activity in the previous month and starts their runs
  (children left running on their own); on other days it does nothing. Reading the day from the policy at run
  time means a changed policy needs no schedule change.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import AuditInput, MessagingActivities
    from activities.statements.sending import (
        ReadStatementInput,
        RenderedStatement,
        RenderStatementInput,
        SendStatementInput,
        StatementActivities,
        StatementPeriod,
    )
    from activities.statements.statement import Statement, month_period, previous_month
    from adapters.drafting.port import Draft
    from workflows import search_attributes as sa
    from workflows.approvals import ApprovalInterface, Decision, DecisionKind, DecisionResult, PendingApproval
    from workflows.calendar import LedgerClock

RULES_VERSION = "statements/1"
READ_TIMEOUT = timedelta(minutes=5)
RENDER_TIMEOUT = timedelta(minutes=2)
SEND_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
REAL_DAYS = LedgerClock.model_validate({"epoch_date": "2020-01-01", "epoch_instant": "2020-01-01T00:00:00Z"})


def statement_workflow_id(ledger: str, tenant: str, customer_id: str, period: str) -> str:
    return f"statement:{ledger}:{tenant}:{customer_id}:{period}"


def statement_schedule_id(ledger: str, tenant: str) -> str:
    return f"statements:{ledger}:{tenant}"


class StatementRunInput(BaseModel):
    ledger: str
    tenant: str
    customer_id: str
    period: str  # YYYY-MM
    company_name: str = "duecourse"
    clock: LedgerClock = REAL_DAYS


class StatementRunResult(BaseModel):
    outcome: str  # "sent", "already sent", "shadow", "rejected", "no email", "nothing to state", "bounced"
    mode: str
    to: str | None = None
    approver: str | None = None
    closing: dict[str, Decimal] = {}  # per currency


def statement_mail(found: Statement, company_name: str) -> tuple[str, str]:
    """The statement mail's subject and body: the figures per currency, the PDF has the detail."""
    month = found.period_start.strftime("%B %Y")
    subject = f"{company_name}: your statement for {month}"
    lines = [f"Dear {found.customer_name},", "",
             f"Please find attached your statement of account for {found.period_start.isoformat()} to "
             f"{found.period_end.isoformat()}.", ""]
    for section in found.currencies:
        cur = section.currency
        lines += [f"{cur}: opening balance {cur} {section.opening:,}, invoices {cur} {section.invoiced:,}, "
                  f"payments {cur} {section.paid:,}, credits {cur} {section.credited:,}, "
                  f"closing balance {cur} {section.closing:,}."]
    lines += ["", "If anything does not match your records, please reply to this mail.", "", company_name]
    return subject, "\n".join(lines)


@workflow.defn
class StatementRun(ApprovalInterface):
    def __init__(self) -> None:
        self._pending: PendingApproval | None = None
        self._decision: Decision | None = None

    @workflow.run
    async def run(self, request: StatementRunInput) -> StatementRunResult:
        try:
            start, end = month_period(request.period)
        except ValueError as error:
            raise ApplicationError(str(error), non_retryable=True) from None
        today = request.clock.today(workflow.now(), "UTC")
        if start > today:
            raise ApplicationError(f"period {request.period} has not started yet (ledger today is {today})",
                                   non_retryable=True)
        policy = await workflow.execute_activity_method(
            StatementActivities.statement_policy, start_to_close_timeout=READ_TIMEOUT, retry_policy=RETRY)
        facts = await workflow.execute_activity_method(
            StatementActivities.read_statement,
            ReadStatementInput(ledger=request.ledger, tenant=request.tenant, customer_id=request.customer_id,
                               period_start=start, period_end=min(end, today), as_of=today),
            start_to_close_timeout=READ_TIMEOUT, retry_policy=RETRY)
        found = facts.statement
        closing = {c.currency: c.closing for c in found.currencies}
        result = StatementRunResult(outcome="", mode=policy.mode, to=facts.email, closing=closing)
        workflow.upsert_search_attributes([
            sa.LEDGER.value_set(request.ledger), sa.CUSTOMER_ID.value_set(request.customer_id),
            sa.CUSTOMER_NAME.value_set(found.customer_name),
        ])
        if found.is_empty or not facts.email:
            result.outcome = "nothing to state" if found.is_empty else "no email"
            return await self._finish(request, result, found)
        rendered = await workflow.execute_activity_method(
            StatementActivities.render_statement,
            RenderStatementInput(statement=found, company_name=request.company_name,
                                 filename=f"statement-{request.period}.pdf"),
            start_to_close_timeout=RENDER_TIMEOUT, retry_policy=RETRY)
        subject, body = statement_mail(found, request.company_name)
        if policy.mode == "shadow":
            result.outcome = "shadow"
            return await self._finish(request, result, found)
        if policy.mode == "draft":
            decision = await self._ask(request, found, subject, body, facts.email)
            result.approver = decision.approver
            if decision.decision != DecisionKind.APPROVE:
                result.outcome = "rejected"
                return await self._finish(request, result, found, decision.reason)
        return await self._send(request, result, found, rendered, subject, body)

    async def _send(self, request: StatementRunInput, result: StatementRunResult, found: Statement,
                    rendered: RenderedStatement, subject: str, body: str) -> StatementRunResult:
        sent = await workflow.execute_activity_method(
            StatementActivities.send_statement,
            SendStatementInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:statement:{request.customer_id}:{request.period}",
                workflow_id=workflow.info().workflow_id, customer_id=request.customer_id, to=result.to or "",
                subject=subject, body=body, attachment=rendered, approved_by=result.approver),
            start_to_close_timeout=SEND_TIMEOUT, retry_policy=RETRY)
        result.outcome = "bounced" if sent.outcome == "bounced" else ("already sent" if sent.already_sent
                                                                      else "sent")
        return await self._finish(request, result, found, sent.reason)

    async def _ask(self, request: StatementRunInput, found: Statement, subject: str, body: str,
                   to: str) -> Decision:
        first = found.currencies[0]
        self._pending = PendingApproval(
            item_id=f"{request.customer_id}:statement:{request.period}", kind="statement",
            workflow_id=workflow.info().workflow_id, invoice_id="", invoice_number="",
            customer_id=request.customer_id, customer_name=found.customer_name, amount=first.closing,
            currency=first.currency, requested_at=workflow.now(),
            why=f"statements are in draft mode: a person approves the {request.period} statement before it is sent",
            to=to,
            draft=Draft(subject=subject, body=body, drafter="template", prompt_id="statement",
                        prompt_version=RULES_VERSION),
            suggestion={"period": request.period, "currencies": [
                {"currency": c.currency, "opening": str(c.opening), "invoices": str(c.invoiced),
                 "payments": str(c.paid), "credits": str(c.credited), "closing": str(c.closing),
                 "aging": {k: str(v) for k, v in c.aging.items()}} for c in found.currencies]},
        )
        workflow.upsert_search_attributes([
            sa.AMOUNT_DUE.value_set(float(first.closing)), sa.STAGE.value_set("awaiting_approval"),
            sa.AWAITING_APPROVAL.value_set(True)])
        await workflow.wait_condition(lambda: self._decision is not None)
        decision = self._decision
        if decision is None:
            raise ApplicationError("a statement woke without a decision", non_retryable=True)
        self._pending = None
        workflow.upsert_search_attributes([sa.AWAITING_APPROVAL.value_set(False)])
        return decision

    async def _finish(self, request: StatementRunInput, result: StatementRunResult, found: Statement,
                      note: str | None = None) -> StatementRunResult:
        figures = "; ".join(f"{c.currency} opening {c.opening} invoices {c.invoiced} payments {c.paid} credits "
                            f"{c.credited} closing {c.closing}" for c in found.currencies) or "nothing to state"
        await workflow.execute_activity_method(
            MessagingActivities.record_audit,
            AuditInput(
                idempotency_key=f"{request.ledger}:{request.tenant}:statement:{request.customer_id}:"
                                f"{request.period}:{result.outcome}",
                workflow_id=workflow.info().workflow_id, invoice_id=None,
                action=f"statement {result.outcome}",
                inputs={"customer_id": request.customer_id, "period": request.period, "mode": result.mode,
                        "to": result.to or "", "figures": figures},
                rule_version=RULES_VERSION, approver=result.approver,
                result=f"{result.outcome}{': ' + note if note else ''}"),
            start_to_close_timeout=SEND_TIMEOUT, retry_policy=RETRY)
        workflow.upsert_search_attributes([sa.STAGE.value_set("closed")])
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    # --- the approval interface ------------------------------------------------------------------------

    def _pending_item(self) -> PendingApproval | None:
        return self._pending

    def _decision_problem(self, decision: Decision) -> str | None:
        pending = self._pending
        if pending is None or self._decision is not None:
            return "no statement is awaiting a decision here"
        problem = self._common_problem(decision, pending, pending.amount, pending.currency)
        if problem:
            return problem
        if decision.decision not in (DecisionKind.APPROVE, DecisionKind.REJECT):
            return "a statement is approved (sent as shown) or rejected, not edited or snoozed"
        return None

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self._pending, "awaiting_approval")
        self._decision = decision
        return result


class StatementScheduleInput(BaseModel):
    ledger: str
    tenant: str
    company_name: str = "duecourse"
    clock: LedgerClock = REAL_DAYS


class StatementScheduleResult(BaseModel):
    period: str | None  # None: not the policy's day
    started: list[str] = []
    already_started: list[str] = []


@workflow.defn
class StatementSchedule:
    @workflow.run
    async def run(self, request: StatementScheduleInput) -> StatementScheduleResult:
        today = request.clock.today(workflow.now(), "UTC")
        policy = await workflow.execute_activity_method(
            StatementActivities.statement_policy, start_to_close_timeout=READ_TIMEOUT, retry_policy=RETRY)
        if today.day != policy.day_of_month:
            return StatementScheduleResult(period=None)
        period = previous_month(today)
        start, end = month_period(period)
        listed = await workflow.execute_activity_method(
            StatementActivities.statement_customers,
            StatementPeriod(ledger=request.ledger, tenant=request.tenant, period_start=start, period_end=end,
                            as_of=today),
            start_to_close_timeout=READ_TIMEOUT, retry_policy=RETRY)
        result = StatementScheduleResult(period=period)
        for customer_id in listed.customer_ids:
            child_id = statement_workflow_id(request.ledger, request.tenant, customer_id, period)
            try:
                await workflow.start_child_workflow(
                    StatementRun.run,
                    StatementRunInput(ledger=request.ledger, tenant=request.tenant, customer_id=customer_id,
                                      period=period, company_name=request.company_name, clock=request.clock),
                    id=child_id, parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
                result.started.append(customer_id)
            except WorkflowAlreadyStartedError:
                result.already_started.append(customer_id)
        return result


__all__ = ["StatementRun", "StatementRunInput", "StatementRunResult", "StatementSchedule", "StatementScheduleInput",
           "StatementScheduleResult", "statement_mail", "statement_schedule_id", "statement_workflow_id"]
