"""What the reports read: a ledger's books through its port (or the batch files), and the invoices' lifecycles.

The CLI (`duecourse report ...`) and the web app's reports pages both come here, then hand the records to the
pure computations in `activities.reports`.

- `books_from_ledger`: every posted invoice (drafts and void ones are nobody's debt) with today's balance, and
  every payment allocation. The sandbox lists all its invoices at once; a ledger whose port lists only the
  open ones gives the rest through the invoices its payments and credit notes name.
- `books_from_files`: `INVOICES.csv` and `PAID.csv`, exactly as `duecourse forecast` reads them: `balance` is
  the balance on `--as-of` and payments dated after it are ignored.
- `lifecycle_facts`: stage and owner of every running invoice lifecycle from Temporal visibility, and, for the
  ones a person holds (paused or escalated), the promise, the dispute and when it was opened (the audit log).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import TYPE_CHECKING, Any

from activities.reports.books import Books
from activities.reports.ledger_books import NOT_RECEIVABLE, books_from_ledger, ledger_invoices, open_invoice
from activities.reports.worklist import LifecycleFacts

if TYPE_CHECKING:
    from temporalio.client import Client

    from adapters.store import Store
    from workers.batch.csv_io import RowError
    from workflows.calendar import LedgerClock

HELD_STAGES = ("paused", "escalated")  # a person holds these: their promise or dispute is worth a query
QUERY_SECONDS = 5.0
LIFECYCLES_SECONDS = 30.0
DISPUTE_OPENED = "dispute opened"  # the audit action `workers.collector_actions` records


@dataclass(frozen=True, slots=True)
class FileBooks:
    books: Books
    errors: list[RowError]
    ignored_invoices: int  # issued after as-of
    ignored_payments: int  # dated after as-of


def books_from_files(invoices_path: str | os.PathLike[str], paid_path: str | os.PathLike[str],
                     as_of: date) -> FileBooks:
    """The batch files; raises `InputFileError` when one cannot be used at all. Bad rows are in `errors`."""
    from workers.batch.csv_io import read_invoices
    from workers.batch.forecast_io import read_paid

    invoices = read_invoices(invoices_path)
    paid = read_paid(paid_path, {i.invoice_id for i in invoices.records})
    later_invoices = sum(1 for i in invoices.records if i.issue_date > as_of)
    later_payments = sum(1 for p in paid.records if p.date > as_of)
    kept = [p for p in paid.records if p.date <= as_of]
    return FileBooks(Books.of(invoices.records, kept, as_of), [*invoices.errors, *paid.errors], later_invoices,
                     later_payments)


async def lifecycle_facts(client: Client, ledger: str, tenant: str, store: Store | None = None,
                          clock: LedgerClock | None = None) -> dict[str, LifecycleFacts]:
    """What the running lifecycles of this ledger company show, by invoice id."""
    from workers.invoice_story import WORKFLOW_TYPE, _id_parts

    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND Ledger = '{_quoted(ledger)}'"
    listed: dict[str, tuple[str, dict[str, Any]]] = {}
    async for execution in client.list_workflows(query):
        _, owner_tenant, invoice_id = _id_parts(str(execution.id))
        attributes = {pair.key.name: pair.value for pair in execution.typed_search_attributes}
        invoice_id = str(attributes.get("InvoiceId") or invoice_id)
        if owner_tenant == tenant and invoice_id:
            listed[invoice_id] = (str(execution.id), attributes)

    async def one(invoice_id: str, workflow_id: str, attributes: dict[str, Any]) -> tuple[str, LifecycleFacts]:
        stage = str(attributes.get("Stage") or "")
        facts = LifecycleFacts(workflow_id=workflow_id, stage=stage, owner=str(attributes.get("Collector") or "")
                               or None)
        if stage in HELD_STAGES:
            facts = await _held(client, facts, store, clock)
        return invoice_id, facts

    found = await asyncio.gather(*(one(i, w, a) for i, (w, a) in listed.items()))
    return dict(found)


async def _held(client: Client, facts: LifecycleFacts, store: Store | None,
                clock: LedgerClock | None) -> LifecycleFacts:
    """The promise, dispute and owner of a lifecycle a person holds (its state, through the status query)."""
    from workflows.invoice_lifecycle import InvoiceLifecycle
    from workflows.lifecycle_messages import LifecycleState

    try:
        state: LifecycleState = await client.get_workflow_handle(facts.workflow_id).query(
            InvoiceLifecycle.status, rpc_timeout=timedelta(seconds=QUERY_SECONDS))
    except Exception:  # closed since it was listed, or no worker to answer: what visibility said stands
        return facts
    opened = _dispute_opened(store, facts.workflow_id, clock) if state.dispute else None
    return LifecycleFacts(
        workflow_id=facts.workflow_id, stage=state.stage.value, owner=state.assigned_to or facts.owner,
        promise_until=state.promise_until, broken_promises=len(state.broken_promises), dispute=state.dispute,
        dispute_opened=opened, escalated=state.escalated,
    )


def _dispute_opened(store: Store | None, workflow_id: str, clock: LedgerClock | None) -> date | None:
    """The ledger day the latest dispute was opened by a person, from the audit log; None when not on record."""
    if store is None:
        return None
    opened = [r.at for r in store.list_audit(workflow_id=workflow_id) if r.action == DISPUTE_OPENED and r.at]
    if not opened:
        return None
    at = opened[-1] if opened[-1].tzinfo else opened[-1].replace(tzinfo=UTC)
    return clock.today(at, "UTC") if clock is not None else at.date()


async def read_lifecycles(connect: Any, ledger: str, tenant: str, store: Store | None,
                          clock: LedgerClock | None) -> tuple[Mapping[str, LifecycleFacts], str | None]:
    """The lifecycles, or none and why not (Temporal unreachable, or too slow): the reports go on without them.

    `connect` is an awaitable factory of a Temporal client, or a client already connected."""
    try:
        client = await asyncio.wait_for(connect(), QUERY_SECONDS) if callable(connect) else connect
        facts = await asyncio.wait_for(lifecycle_facts(client, ledger, tenant, store, clock), LIFECYCLES_SECONDS)
    except Exception as error:  # an RPC error or a timeout: say so, keep the ledger's figures
        return {}, f"lifecycles not read ({type(error).__name__}: {error or 'no answer'})"
    return facts, None


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


# The ledger reading lives in activities.reports.ledger_books (the risk refresh reads it too); named here too.
__all__ = ["NOT_RECEIVABLE", "FileBooks", "books_from_files", "books_from_ledger", "ledger_invoices",
           "lifecycle_facts", "open_invoice", "read_lifecycles"]
