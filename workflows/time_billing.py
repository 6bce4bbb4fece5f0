"""TimeBilling: one workflow per customer and billing period, from time entries to one posted invoice.

Contract
- Started by signal-with-start (signal `time_entry`) from the webhook intake when the ledger announces a new
  time entry, id `time_workflow_id(ledger, tenant, customer, period)`; the period is the entry's ISO week
  (`YYYY-Www`) or month (`YYYY-MM`) as the policy's `[billing] period` says. A replayed event signals the
  running workflow (which drops an event or entry it has seen) and never starts a second one.
- Waits until the period is over (midnight after its last day in the company's time zone, on the ledger's clock,
  so a demo week passes in minutes), taking further entries of the period as signals meanwhile.
- Then reads the customer's unbilled entries of the period (and any entry handed on to it, below) from the
  ledger, drafts one invoice (a line per entry: its date and description, hours x rate), and goes through the
  steps every invoice from work shares (`InvoiceFromWork`): guardrails, the `credit` review, the `invoice`
  approval, then bills them with the ledger's `bill_time_entries` (idempotency key
  `{ledger}:{tenant}:time:{customer}:{period}:invoice`) so the entries are marked billed in the same write.
- An entry announced after the ledger was read (back-dated work, a late sync) is billed by a follow-up invoice of
  the same workflow (key `...:{period}:{n}:invoice` for round n) before it closes. An entry whose period's
  workflow has closed is handed by the intake to the next period's workflow, which bills it with its own.
- Update `decide` (and signal `operator_decision`) approve or reject the pending item; a rejection or decline
  ends the workflow with nothing posted and the entries unbilled. Query `status`. Returns `TimeBillingState`.
  The posted invoice's own ledger event starts its InvoiceLifecycle through the intake.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.invoicing import BillTimeInput, FetchTimeInput, InvoicingActivities, TimeSnapshot
    from adapters.ledger import Invoice
    from workflows.invoice_from_work import RETRY, InvoiceFromWork
    from workflows.invoice_guardrails import assess_credit, currency_findings, duplicate_findings, line_findings
    from workflows.invoicing import draft_from_time_entries, draft_total, period_days
    from workflows.time_messages import (
        TIME_ENTRY_SIGNAL,
        BilledRound,
        TimeBillingInput,
        TimeBillingState,
        TimeEntrySignal,
    )

FETCH_TIMEOUT = timedelta(minutes=5)
POST_TIMEOUT = timedelta(minutes=2)
# Follow-up invoices for entries announced while the previous one was being decided: a bound, so a ledger that
# keeps announcing back-dated work cannot keep one workflow open for ever (the intake hands later ones on).
MAX_ROUNDS = 10


@workflow.defn
class TimeBilling(InvoiceFromWork):
    SOURCE_NOUN = "time entries"
    SOURCE_IN_LEDGER = "the time entries"

    def __init__(self) -> None:
        super().__init__()
        self.state: TimeBillingState = TimeBillingState()
        self._request: TimeBillingInput | None = None
        self._round = 1
        self._looked_at: set[str] = set()  # announced entries a read of the ledger has already considered
        self._round_ids: list[str] = []  # the entries on the invoice being decided

    @workflow.signal(name=TIME_ENTRY_SIGNAL)
    def time_entry(self, entry: TimeEntrySignal) -> None:
        """A new entry for this customer and period; the figures are read from the ledger when the period ends."""
        if entry.event_id not in self.state.seen_events:
            self.state.seen_events = [*self.state.seen_events, entry.event_id][-100:]
        if entry.time_entry_id not in self.state.announced:
            self.state.announced = [*self.state.announced, entry.time_entry_id]

    @workflow.query
    def status(self) -> TimeBillingState:
        return self.state

    @workflow.run
    async def run(self, request: TimeBillingInput) -> TimeBillingState:
        self._request = request
        self._ledger, self._tenant = request.ledger, request.tenant
        self.state.customer_id, self.state.period = request.customer_id, request.period
        try:
            first, last = period_days(request.period)
        except ValueError as error:
            raise ApplicationError(str(error), non_retryable=True) from None
        await self._period_over(request, last)
        while True:
            snapshot = await self._read(request, first, last)
            self._looked_at.update(self.state.announced)
            if not snapshot.entries:
                if self._round == 1:
                    await self._nothing_to_bill()
                break
            if not await self._bill(request, snapshot) or self._round >= MAX_ROUNDS:
                break
            if not set(self.state.announced) - self._looked_at:
                break
            self._round += 1
        # A decision or an entry still in its handler finishes before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _period_over(self, request: TimeBillingInput, last: date) -> None:
        """Sleep until midnight after the period's last day (company zone, ledger clock); entries keep arriving."""
        ends_at = request.clock.instant_of(last + timedelta(days=1), time(0), request.time_zone)
        self.state.period_ends_at = ends_at
        self._publish()
        remaining = ends_at - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(lambda: False, timeout=remaining)
            except TimeoutError:
                pass
        self.state.stage = "assembling"
        self._publish()

    async def _read(self, request: TimeBillingInput, first: date, last: date) -> TimeSnapshot:
        snapshot: TimeSnapshot = await workflow.execute_activity_method(
            InvoicingActivities.fetch_time_entries,
            FetchTimeInput(ledger=request.ledger, tenant=request.tenant, customer_id=request.customer_id,
                           first_day=first, last_day=last,
                           carried=[entry for entry in self.state.announced if entry not in self.state.billed]),
            start_to_close_timeout=FETCH_TIMEOUT, retry_policy=RETRY,
        )
        customer = snapshot.books.customer
        self.state.customer_name = customer.name
        return snapshot

    async def _nothing_to_bill(self) -> None:
        self.state.stage = "nothing_to_bill"
        self.state.note = (f"no unbilled time of {self.state.customer_name or self.state.customer_id} in "
                           f"{self.state.period}: nothing to invoice")
        self._publish()
        await self._audit("nothing-to-bill", "time not invoiced", self.state.note)

    async def _bill(self, request: TimeBillingInput, snapshot: TimeSnapshot) -> bool:
        """One invoice for these entries; True when it was posted."""
        entries, books = snapshot.entries, snapshot.books
        customer = books.customer
        today = request.clock.today(workflow.now(), customer.time_zone)
        try:
            draft = draft_from_time_entries(entries, customer, today)
        except ValueError as error:  # entries of another customer: the ledger answered what was not asked
            raise ApplicationError(str(error), non_retryable=True) from None
        total = draft_total(draft)
        currencies = sorted({entry.rate.currency for entry in entries})
        # The source's total is the entries' own (hours x rate each): the line check is what can disagree.
        findings = [*line_findings(draft, total),
                    *(finding for currency in currencies for finding in currency_findings(currency, customer)),
                    *duplicate_findings(draft, total, books.open_invoices, None)]
        credit = assess_credit(customer, total, books.open_invoices, books.settled, today)
        ids = [entry.id for entry in sorted(entries, key=lambda e: (e.date, e.id))]
        self.state.invoice = None
        self._round_ids = ids
        posted = await self._assessed(draft, total, findings, credit, books.invoices_over)
        if posted:
            await self._post(request, ids)
        self.state.rounds = [*self.state.rounds, BilledRound(
            time_entry_ids=ids, stage=self.state.stage,
            invoice_id=self.state.invoice.id if self.state.invoice else None)]
        return posted

    async def _post(self, request: TimeBillingInput, ids: list[str]) -> None:
        draft = self._posting()
        invoice: Invoice = await workflow.execute_activity_method(
            InvoicingActivities.bill_time_entries,
            BillTimeInput(ledger=request.ledger, tenant=request.tenant, draft=draft, time_entry_ids=ids,
                          idempotency_key=f"{self._business_key()}:invoice"),
            start_to_close_timeout=POST_TIMEOUT, retry_policy=RETRY,
        )
        self.state.billed = [*self.state.billed, *ids]
        await self._posted(invoice)

    # --- the source, for the shared steps -------------------------------------------------------------

    def _time_request(self) -> TimeBillingInput:
        if self._request is None:
            raise ApplicationError("the billing period is unknown before the workflow started", non_retryable=True)
        return self._request

    def _business_key(self) -> str:
        request = self._time_request()
        key = f"{request.ledger}:{request.tenant}:time:{request.customer_id}:{request.period}"
        return key if self._round == 1 else f"{key}:{self._round}"

    def _item_source(self) -> tuple[str, str, dict[str, Any]]:
        request = self._time_request()
        prefix = f"{request.customer_id}:{request.period}" + (f":{self._round}" if self._round > 1 else "")
        return (prefix, f"draft for time {request.period}",
                {"time_entries": self._draft_entry_ids(), "period": request.period, "customer_id": request.customer_id})

    def _audit_source(self) -> dict[str, Any]:
        return {"period": self._time_request().period, "time_entry_ids": self._draft_entry_ids()}

    def _draft_entry_ids(self) -> list[str]:
        return list(self._round_ids)

    def _headline(self) -> str:
        name = self.state.customer_name or self.state.customer_id or "?"
        return f"Time of {name} in {self.state.period or '?'}" + (f" (invoice {self._round})" if self._round > 1
                                                                   else "")

    def _nothing_pending(self) -> str:
        return "on this period's time"

