"""The Backfill workflow's activities, and the one way to start (or attach to) a backfill.

The activities live on the top floor, beside the webhook intake and the polling backstop, because they do
what the intake does: they start workflows through the Temporal client.

The invoices the listing read are kept in the store (`backfill_snapshots`, keyed by the backfill run and
the invoice), not in the workflow's history: five thousand invoices with their lines are megabytes, past
Temporal's payload limit, while their ids are a couple of hundred KB. Every worker replica reads the same
store; a batch whose snapshots are missing there (a worker on another machine with its own SQLite file)
lists the ledger again, once, rather than reading invoice by invoice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Field, SQLModel, col, delete, select
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.error_types import LEDGER_NOT_CONNECTED
from activities.errors import as_application_errors
from activities.ledger import ledger_key
from adapters.ledger import Customer, Invoice, LedgerPort, NotFound
from adapters.store import Store
from workers.intake import LifecycleDefaults
from workflows import search_attributes as sa
from workflows.backfill import (
    FORGET_ACTIVITY,
    LIST_ACTIVITY,
    START_ACTIVITY,
    Backfill,
    BackfillInput,
    BackfillPlan,
    BackfillSummary,
    BatchOutcome,
    ListBackfillInput,
    StartBatchInput,
    acting_calls,
    backfill_workflow_id,
    plan_batches,
)
from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
from workflows.lifecycle_messages import LifecycleInput

T = TypeVar("T")
Started = Literal["started", "already_running", "closed"]
# Well inside LIST_HEARTBEAT: a long read of a paged query still says it is alive.
READING_HEARTBEAT_EVERY = timedelta(seconds=10)
# The memo a backfill leaves on the lifecycles it starts, so a retried batch knows its own starts.
STARTED_BY = "started_by_backfill"
# Starts in flight at once within a batch; the heartbeat after each chunk is where a retry goes on from (a
# start the lost attempt made in the chunk is found running with this run's memo: counted started again).
STARTS_AT_ONCE = 10


class BackfillSnapshotRow(SQLModel, table=True):
    """One invoice (and its customer) as a backfill run's listing read it; deleted when the run ends."""

    __tablename__ = "backfill_snapshots"
    snapshot_key: str = Field(primary_key=True)
    invoice_id: str = Field(primary_key=True)
    backfill_id: str = Field(index=True)
    invoice: str  # Invoice as JSON
    customer: str | None = None  # Customer as JSON (None: not in the listing; the lifecycle reads it)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _snapshot_table() -> Any:
    return BackfillSnapshotRow.__table__  # type: ignore[attr-defined]


class Snapshot(BaseModel):
    invoice: Invoice
    customer: Customer | None


class Snapshots:
    """The store's `backfill_snapshots` table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        SQLModel.metadata.create_all(store.engine, tables=[_snapshot_table()])

    def replace(self, snapshot_key: str, snapshots: list[Snapshot]) -> None:
        """This run's snapshots, and none of an earlier run of the same backfill."""
        backfill_id = snapshot_key.rpartition(":")[0]
        with self.store.session() as session:
            session.exec(delete(BackfillSnapshotRow).where(
                col(BackfillSnapshotRow.backfill_id) == backfill_id))
            session.add_all([BackfillSnapshotRow(
                snapshot_key=snapshot_key, invoice_id=s.invoice.id, backfill_id=backfill_id,
                invoice=s.invoice.model_dump_json(), customer=s.customer.model_dump_json() if s.customer else None,
            ) for s in snapshots])
            session.commit()

    def read(self, snapshot_key: str, invoice_ids: list[str]) -> dict[str, Snapshot]:
        with self.store.session() as session:
            rows = session.exec(select(BackfillSnapshotRow).where(
                col(BackfillSnapshotRow.snapshot_key) == snapshot_key,
                col(BackfillSnapshotRow.invoice_id).in_(invoice_ids))).all()
        return {row.invoice_id: Snapshot(
            invoice=Invoice.model_validate_json(row.invoice),
            customer=Customer.model_validate_json(row.customer) if row.customer else None) for row in rows}

    def forget(self, snapshot_key: str) -> int:
        with self.store.session() as session:
            result = session.exec(delete(BackfillSnapshotRow).where(
                col(BackfillSnapshotRow.snapshot_key) == snapshot_key))
            session.commit()
            return int(result.rowcount or 0)


class BatchProgress(BaseModel):
    """What a batch attempt heartbeats: how many of its invoices it handled, with what outcomes."""

    handled: int = 0
    outcome: BatchOutcome = BatchOutcome()


class BackfillActivities:
    def __init__(self, client: Client, ledgers: Mapping[str, LedgerPort], store: Store,
                 defaults: LifecycleDefaults) -> None:
        self.client = client
        self.ledgers = ledgers
        self.snapshots = Snapshots(store)
        self.defaults = defaults

    def _port(self, ledger: str, tenant: str) -> LedgerPort:
        try:
            return self.ledgers[ledger_key(ledger, tenant)]
        except KeyError:
            # Checked where a backfill is started: retrying cannot connect the company.
            raise ApplicationError(f"no connection to ledger {ledger!r} tenant {tenant!r} on this worker "
                                   f"(connect it with `duecourse connect {ledger}` first)",
                                   type=LEDGER_NOT_CONNECTED, non_retryable=True) from None

    @activity.defn(name=LIST_ACTIVITY)
    async def list_backfill_invoices(self, request: ListBackfillInput) -> BackfillPlan:
        """Every open invoice and its customer in a few paged queries; the plan of batches to start."""
        snapshots = await self._read_ledger(request.ledger, request.tenant)
        snapshots.sort(key=lambda s: (s.invoice.due_date, s.invoice.id))  # the longest overdue first
        await asyncio.to_thread(self.snapshots.replace, request.snapshot_key, snapshots)
        entries = [(s.invoice.id, self._calls(s, request.calls_per_acting_start, request.acting_within_days))
                   for s in snapshots]
        return BackfillPlan(total=len(snapshots),
                            batches=plan_batches(entries, request.batch_size, request.max_batch_calls))

    def _calls(self, snapshot: Snapshot, calls_per_acting_start: int, acting_within_days: int) -> int:
        customer = snapshot.customer
        today = self.defaults.clock.today(datetime.now(UTC), customer.time_zone if customer else "UTC")
        return acting_calls(snapshot.invoice, today, customer_known=customer is not None,
                            calls_per_acting_start=calls_per_acting_start, acting_within_days=acting_within_days)

    async def _read_ledger(self, ledger: str, tenant: str, beat: BaseModel | None = None) -> list[Snapshot]:
        """`beat`: the progress to keep heartbeating while reading (a batch's, when it lists again)."""
        port = self._port(ledger, tenant)
        invoices = await self._heartbeating(beat, port.list_open_invoices)
        customers = {c.id: c for c in await self._heartbeating(beat, port.list_customers)}
        for customer_id in sorted({i.customer_id for i in invoices} - set(customers)):
            # Not in the customer listing (an inactive customer, say): read the few missing ones.
            try:
                customers[customer_id] = await self._heartbeating(beat, port.get_customer, customer_id)
            except ApplicationError as error:
                if not isinstance(error.__cause__, NotFound):
                    raise
        return [Snapshot(invoice=i, customer=customers.get(i.customer_id)) for i in invoices]

    async def _heartbeating(self, beat: BaseModel | None, call: Callable[..., T], *args: Any) -> T:
        """A ledger read in the thread pool, heartbeating while the adapter pages through it."""
        def read() -> T:
            with as_application_errors():
                return call(*args)

        reading = asyncio.ensure_future(asyncio.to_thread(read))
        while not reading.done():
            activity.heartbeat(*([beat] if beat is not None else []))
            await asyncio.wait({reading}, timeout=READING_HEARTBEAT_EVERY.total_seconds())
        return reading.result()

    @activity.defn(name=START_ACTIVITY)
    async def start_backfill_batch(self, request: StartBatchInput) -> BatchOutcome:
        """Start the lifecycle of every invoice of the batch, going on from an earlier attempt's heartbeat."""
        progress = _previous_progress()
        snapshots = await asyncio.to_thread(self.snapshots.read, request.snapshot_key, request.invoice_ids)
        missing = [i for i in request.invoice_ids[progress.handled:] if i not in snapshots]
        if missing:
            activity.logger.info("%d snapshots of %s not in the store: listing the ledger again",
                                 len(missing), request.snapshot_key)
            listed = {s.invoice.id: s for s in await self._read_ledger(request.ledger, request.tenant, progress)}
            snapshots.update({i: listed[i] for i in missing if i in listed})
        started_by = request.snapshot_key
        ids = request.invoice_ids
        for first in range(progress.handled, len(ids), STARTS_AT_ONCE):
            chunk = ids[first:first + STARTS_AT_ONCE]
            outcomes = await asyncio.gather(*(
                self.start_lifecycle(request.ledger, request.tenant, snapshots[i], started_by)
                for i in chunk if i in snapshots))
            progress.outcome.gone += sum(1 for i in chunk if i not in snapshots)
            for invoice_id, outcome in zip([i for i in chunk if i in snapshots], outcomes, strict=True):
                setattr(progress.outcome, outcome, getattr(progress.outcome, outcome) + 1)
                if outcome == "started":
                    progress.outcome.calls += self._calls(snapshots[invoice_id], request.calls_per_acting_start,
                                                          request.acting_within_days)
            progress.handled = first + len(chunk)
            activity.heartbeat(progress)
        return progress.outcome

    async def start_lifecycle(self, ledger: str, tenant: str, snapshot: Snapshot, started_by: str) -> Started:
        """"started", "already_running" or "closed": the intake's start, with the snapshot as first read."""
        invoice, defaults = snapshot.invoice, self.defaults
        workflow_id = invoice_workflow_id(ledger, tenant, invoice.id)
        customer = snapshot.customer
        try:
            await self.client.start_workflow(
                InvoiceLifecycle.run,
                LifecycleInput(ledger=ledger, tenant=tenant, invoice_id=invoice.id, clock=defaults.clock,
                               company_name=defaults.company_name, how_to_pay=defaults.how_to_pay,
                               initial_invoice=invoice if customer else None, initial_customer=customer),
                id=workflow_id, task_queue=defaults.task_queue,
                # As the intake: a closed lifecycle stays closed.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes([SearchAttributePair(sa.LEDGER, ledger),
                                                         SearchAttributePair(sa.INVOICE_ID, invoice.id)]),
                static_summary=f"Invoice {invoice.id} in {ledger} ({tenant})",
                memo={STARTED_BY: started_by},
            )
        except WorkflowAlreadyStartedError:
            description = await self.client.get_workflow_handle(workflow_id).describe()
            if description.status != WorkflowExecutionStatus.RUNNING:
                return "closed"
            # A retried batch finds the lifecycle its earlier attempt started just before it was lost.
            ours = await description.memo_value(STARTED_BY, default=None) == started_by
            return "started" if ours else "already_running"
        return "started"

    @activity.defn(name=FORGET_ACTIVITY)
    async def forget_backfill_snapshots(self, snapshot_key: str) -> int:
        return await asyncio.to_thread(self.snapshots.forget, snapshot_key)

    def callables(self) -> list[Any]:
        return [self.list_backfill_invoices, self.start_backfill_batch, self.forget_backfill_snapshots]


def _previous_progress() -> BatchProgress:
    details = activity.info().heartbeat_details
    if not details:
        return BatchProgress()
    try:
        return BatchProgress.model_validate(details[0])
    except ValidationError:
        activity.logger.warning("ignoring unreadable backfill progress %r", details[0])
        return BatchProgress()


async def start_backfill(client: Client, request: BackfillInput, task_queue: str) -> WorkflowHandle[Any, Any]:
    """Start the company's backfill, or attach to the one already running (a finished one may run again)."""
    return await client.start_workflow(
        Backfill.run, request, id=backfill_workflow_id(request.ledger, request.tenant), task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"Backfill of every open invoice in {request.ledger} ({request.tenant})",
    )


__all__ = ["BackfillActivities", "BackfillSummary", "Snapshots", "start_backfill"]
