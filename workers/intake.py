"""Ledger events in: map each event to the workflow it concerns and signal-with-start it.

A workflow id is derived from ledger, tenant and entity id, so a replayed or duplicated event signals the
workflow that already runs (which drops an event id it has seen) and never starts a second one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.policy import PolicyActivities, policy_path
from adapters.ledger import EstimateStatus, EventOperation, LedgerEvent, LedgerPort, TimeEntry, iana_time_zone
from workers.settings import Settings, read_stack
from workflows import search_attributes as sa
from workflows.calendar import LedgerClock
from workflows.cash_application import CashApplication, CashApplicationInput, Mode, bank_line_workflow_id
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.invoicing import BillingPeriod, billing_period_key, next_period_key
from workflows.lifecycle_messages import LEDGER_EVENT_SIGNAL, LedgerEventSignal, LifecycleInput
from workflows.quote_messages import QuoteInput, estimate_workflow_id
from workflows.quote_to_invoice import QuoteToInvoice
from workflows.time_billing import TimeBilling
from workflows.time_messages import TIME_ENTRY_SIGNAL, TimeBillingInput, TimeEntrySignal, time_workflow_id

# An entry whose period's workflow has closed goes to the next period's; past this many closed periods in a row
# something is wrong with the ledger's dates, and the entry is left for a person (logged as `closed`).
MAX_HANDOFFS = 60


class LifecycleDefaults(BaseModel):
    """Company-level settings every new workflow starts with."""

    task_queue: str
    company_name: str
    cash_mode: Mode = "auto"
    cash_auto_limit: Decimal = Decimal("25000")
    how_to_pay: str = "Pay by bank transfer quoting the invoice number."
    clock: LedgerClock = LedgerClock(
        epoch_date=datetime(2020, 1, 1).date(), epoch_instant=datetime.combine(datetime(2020, 1, 1), time(0), UTC)
    )
    # Billing periods end at midnight here (DUECOURSE_COMPANY_TIME_ZONE).
    company_time_zone: str = "UTC"
    # The policy file whose `[billing] period` groups time entries (None: weekly); read at every new entry.
    policy_file: str | None = None


class Routed(BaseModel):
    event_id: str
    entity: str
    entity_id: str
    workflow_id: str | None
    outcome: str  # "signalled", "closed", "ignored"


async def route_event(client: Client, event: LedgerEvent, defaults: LifecycleDefaults,
                      ledgers: Mapping[str, LedgerPort] | None = None) -> Routed:
    """Signal-with-start the workflow `event` concerns. `ledgers` (keyed `ledger/tenant`) lets the intake read
    whether an announced estimate was accepted: an event names what changed, never how."""
    if event.entity == "BankLine" and event.operation == EventOperation.CREATE:
        return await _signal_with_start(
            client, event, defaults, CashApplication.run,
            CashApplicationInput(ledger=event.ledger, tenant=event.tenant, bank_line_id=event.entity_id,
                                 mode=defaults.cash_mode, auto_limit=defaults.cash_auto_limit),
            bank_line_workflow_id(event.ledger, event.tenant, event.entity_id),
            [SearchAttributePair(sa.LEDGER, event.ledger)],
            f"Deposit {event.entity_id} in {event.ledger} ({event.tenant}): cash application",
        )
    if event.entity == "BankLine":
        return await _signal_running(client, event, CashApplication.ledger_event,
                                     bank_line_workflow_id(event.ledger, event.tenant, event.entity_id))
    if event.entity == "Invoice":
        return await _signal_with_start(
            client, event, defaults, InvoiceLifecycle.run,
            LifecycleInput(ledger=event.ledger, tenant=event.tenant, invoice_id=event.entity_id,
                           clock=defaults.clock, company_name=defaults.company_name, how_to_pay=defaults.how_to_pay),
            invoice_workflow_id(event.ledger, event.tenant, event.entity_id),
            [SearchAttributePair(sa.LEDGER, event.ledger), SearchAttributePair(sa.INVOICE_ID, event.entity_id)],
            f"Invoice {event.entity_id} in {event.ledger} ({event.tenant})",
        )
    if event.entity == "Estimate" and event.operation in (EventOperation.CREATE, EventOperation.UPDATE):
        return await _route_estimate(client, event, defaults, ledgers)
    if event.entity == "TimeEntry" and event.operation == EventOperation.CREATE:
        return await _route_time_entry(client, event, defaults, ledgers)
    # Payments arrive as Invoice updates too (every ledger re-announces the invoices a payment touches);
    # customers, time entries and the rest belong to workflows of later issues.
    return Routed(event_id=event.event_id, entity=event.entity, entity_id=event.entity_id,
                  workflow_id=None, outcome="ignored")


async def _route_estimate(client: Client, event: LedgerEvent, defaults: LifecycleDefaults,
                          ledgers: Mapping[str, LedgerPort] | None) -> Routed:
    """An accepted estimate starts its QuoteToInvoice; any other estimate change starts nothing. Without a
    connection to read the ledger by, the workflow is started and reads the status itself (ending at
    `not_accepted`, nothing posted, when the customer has not accepted)."""
    workflow_id = estimate_workflow_id(event.ledger, event.tenant, event.entity_id)
    port = None if ledgers is None else ledgers.get(f"{event.ledger}/{event.tenant}")
    if port is not None:
        estimate = await asyncio.to_thread(port.get_estimate, event.entity_id)
        if estimate.status != EstimateStatus.ACCEPTED:
            # A running workflow still hears of the change (a replay of its own acceptance, the close on billing).
            return await _signal_running(client, event, QuoteToInvoice.ledger_event, workflow_id)
    return await _signal_with_start(
        client, event, defaults, QuoteToInvoice.run,
        QuoteInput(ledger=event.ledger, tenant=event.tenant, estimate_id=event.entity_id, clock=defaults.clock),
        workflow_id, [SearchAttributePair(sa.LEDGER, event.ledger)],
        f"Estimate {event.entity_id} in {event.ledger} ({event.tenant}): quote to invoice",
    )


async def _route_time_entry(client: Client, event: LedgerEvent, defaults: LifecycleDefaults,
                            ledgers: Mapping[str, LedgerPort] | None) -> Routed:
    """A new time entry goes to its customer's billing workflow for the entry's period (started if need be). The
    event names only the entry, so the ledger is read for its customer and date; a ledger this process cannot
    read, an entry gone or already billed starts nothing. When the period's workflow has closed (its invoice is
    posted), the entry is handed to the next period's, which bills it with its own entries."""
    ignored = Routed(event_id=event.event_id, entity=event.entity, entity_id=event.entity_id, workflow_id=None,
                     outcome="ignored")
    port = None if ledgers is None else ledgers.get(f"{event.ledger}/{event.tenant}")
    entry = None if port is None else await asyncio.to_thread(_time_entry, port, event.entity_id)
    if entry is None or entry.invoice_id is not None:
        return ignored
    period = billing_period_key(entry.date, await asyncio.to_thread(billing_period, defaults))
    signal = TimeEntrySignal(event_id=event.event_id, time_entry_id=entry.id, date=entry.date)
    routed = ignored
    for _ in range(MAX_HANDOFFS):
        routed = await _signal_with_start(
            client, event, defaults, TimeBilling.run,
            TimeBillingInput(ledger=event.ledger, tenant=event.tenant, customer_id=entry.customer_id, period=period,
                             time_zone=defaults.company_time_zone, clock=defaults.clock),
            time_workflow_id(event.ledger, event.tenant, entry.customer_id, period),
            [SearchAttributePair(sa.LEDGER, event.ledger), SearchAttributePair(sa.CUSTOMER_ID, entry.customer_id)],
            f"Time of {entry.customer_id} in {period} ({event.ledger}, {event.tenant}): time billing",
            signal=TIME_ENTRY_SIGNAL, signal_arg=signal,
        )
        if routed.outcome != "closed":
            return routed
        period = next_period_key(period)
    return routed


def _time_entry(port: LedgerPort, entry_id: str) -> TimeEntry | None:
    list_entries = getattr(port, "list_time_entries", None)
    if list_entries is None:
        return None
    entries: list[TimeEntry] = list_entries()
    return next((entry for entry in entries if entry.id == entry_id), None)


_POLICIES: dict[str, PolicyActivities] = {}


def billing_period(defaults: LifecycleDefaults) -> BillingPeriod:
    """The policy's `[billing] period` now (the last good one while the file is bad), weekly without a file."""
    if defaults.policy_file is None:
        return "weekly"
    reader = _POLICIES.setdefault(defaults.policy_file, PolicyActivities(Path(defaults.policy_file)))
    current = reader.current()
    return "weekly" if current is None else current[0].billing.period


async def _signal_running(client: Client, event: LedgerEvent, signal: Any, workflow_id: str) -> Routed:
    """A change to something a workflow already handles (a bank line matched in the ledger while its match
    awaits a clerk): signal that workflow if it runs; start nothing."""
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, _signal_of(event))
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        outcome = "ignored"  # nobody is working on it (never started, or already closed)
    else:
        outcome = "signalled"
    return Routed(event_id=event.event_id, entity=event.entity, entity_id=event.entity_id,
                  workflow_id=workflow_id, outcome=outcome)


def _signal_of(event: LedgerEvent) -> LedgerEventSignal:
    return LedgerEventSignal(event_id=event.event_id, entity=event.entity, operation=event.operation.value,
                             occurred_at=event.occurred_at)


async def _signal_with_start(client: Client, event: LedgerEvent, defaults: LifecycleDefaults, run: Any,
                             request: BaseModel, workflow_id: str, attributes: list[SearchAttributePair[Any]],
                             summary: str, signal: str = LEDGER_EVENT_SIGNAL,
                             signal_arg: BaseModel | None = None) -> Routed:
    try:
        await client.start_workflow(
            run, request, id=workflow_id, task_queue=defaults.task_queue,
            start_signal=signal,
            start_signal_args=[signal_arg or _signal_of(event)],
            # A closed workflow stays closed: a late or replayed event must not start its life again.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=summary,
        )
    except WorkflowAlreadyStartedError:
        outcome = "closed"
    else:
        outcome = "signalled"
    return Routed(event_id=event.event_id, entity=event.entity, entity_id=event.entity_id,
                  workflow_id=workflow_id, outcome=outcome)


def defaults_from_settings(settings: Settings) -> LifecycleDefaults:
    """Company settings for a production worker or web app: environment first, then the dev stack's."""
    stack = read_stack(settings.home)
    mode = os.environ.get("DUECOURSE_CASH_MODE", "auto")
    if mode not in ("shadow", "draft", "auto"):
        raise ValueError(f"DUECOURSE_CASH_MODE must be shadow, draft or auto, not {mode!r}")
    values: dict[str, object] = {
        "task_queue": settings.task_queue,
        "company_name": os.environ.get("DUECOURSE_COMPANY_NAME") or (stack.company_name if stack else "duecourse"),
        "cash_mode": mode,
        "cash_auto_limit": Decimal(os.environ.get("DUECOURSE_CASH_AUTO_LIMIT", "25000")),
    }
    zone = os.environ.get("DUECOURSE_COMPANY_TIME_ZONE", "").strip()
    if zone:
        if iana_time_zone(zone) is None:
            raise ValueError(f"DUECOURSE_COMPANY_TIME_ZONE={zone!r} is not an IANA time zone name (e.g. Europe/London)")
        values["company_time_zone"] = iana_time_zone(zone)
    values["policy_file"] = str(policy_path(settings.home))
    if os.environ.get("DUECOURSE_HOW_TO_PAY"):
        values["how_to_pay"] = os.environ["DUECOURSE_HOW_TO_PAY"]
    if stack:
        values["clock"] = stack.clock
    return LifecycleDefaults.model_validate(values)
