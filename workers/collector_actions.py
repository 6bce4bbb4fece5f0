"""Collector actions on one invoice, the same from the CLI, the approvals API and the web pages.

Each action is checked against what it is about (a reason for a dispute, a date not in the past, an open
dispute to resolve, a running workflow), delivered to the invoice's workflow as a signal through its
handler method, recorded in the audit log in the store (who asked, from where), and then followed until
the workflow shows it took it (or `SETTLE_SECONDS` passed: the answer then says so).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from workers.invoice_story import EXIT_USAGE, Found, StoryError, customer_today, read_state

if TYPE_CHECKING:
    from temporalio.client import Client

    from adapters.store import Store
    from workflows.calendar import LedgerClock
    from workflows.lifecycle_messages import LifecycleState

SETTLE_SECONDS = 15.0
MAX_TEXT = 2000
MAX_NAME = 200
ActionName = Literal["dispute", "resolve", "promise", "pause", "assign", "note", "handback", "plan"]


class CollectorAction(BaseModel):
    """One action as the API takes it (the CLI and the form fill the same model)."""

    action: ActionName
    reason: str = Field(default="", max_length=MAX_TEXT)
    reject: bool = False
    # A dispute settled by credit (issue 12): a credit note of this amount, or the balance written off; either is
    # a `credit_note` / `write_off` approval item, posted once a human approves it.
    credit_note: Decimal | None = Field(default=None, gt=0)
    write_off: bool = False
    until: date | None = None
    note: str = Field(default="", max_length=MAX_TEXT)
    collector: str = Field(default="", max_length=MAX_NAME)
    text: str = Field(default="", max_length=MAX_TEXT)
    # A payment plan (issue 12): the balance in `instalments` parts, the first on `first` (default: `every_days`
    # from the customer's today), then every `every_days`; a `payment_plan` item a human approves.
    instalments: int | None = Field(default=None, ge=2, le=60)
    every_days: int = Field(default=30, ge=1, le=366)
    first: date | None = None


def _clean(text: str) -> str:
    """Text a person typed: trimmed, without control characters other than newlines and tabs."""
    return "".join(ch for ch in text.strip() if ch in "\n\t" or ch.isprintable())


def check_input(request: CollectorAction) -> CollectorAction:
    """What can be said about the request before looking at the invoice (bad input: exit 2 / HTTP 400)."""
    reason, note, text = _clean(request.reason), _clean(request.note), _clean(request.text)
    collector = " ".join(_clean(request.collector).split())
    if request.action == "dispute" and not reason:
        raise StoryError("a dispute needs a reason (--reason TEXT)", EXIT_USAGE)
    if request.action == "resolve":
        outcomes = [name for name, chosen in (("--credit-note", request.credit_note is not None),
                                              ("--write-off", request.write_off), ("--reject", request.reject))
                    if chosen]
        if len(outcomes) > 1:
            raise StoryError(f"choose one way to resolve the dispute, not {' and '.join(outcomes)}", EXIT_USAGE)
        if request.reject and not reason:
            raise StoryError("rejecting a dispute needs a reason (--reason TEXT)", EXIT_USAGE)
        if reason and not outcomes:
            raise StoryError("--reason goes with --reject (the dispute is rejected for that reason), --credit-note "
                             "or --write-off (the reason the credit is given)", EXIT_USAGE)
    if request.action in ("promise", "pause") and request.until is None:
        raise StoryError(f"a {request.action} needs a date (--until YYYY-MM-DD)", EXIT_USAGE)
    if request.action == "assign" and not collector:
        raise StoryError("assign needs the collector's name or email", EXIT_USAGE)
    if request.action == "note" and not text:
        raise StoryError("a note needs some text", EXIT_USAGE)
    if request.action == "plan" and request.instalments is None:
        raise StoryError("a payment plan needs its number of instalments (--instalments N, 2 to 60)", EXIT_USAGE)
    return request.model_copy(update={"reason": reason, "note": note, "text": text, "collector": collector})


def _problem(request: CollectorAction, state: LifecycleState, today: date, invoice_id: str) -> StoryError | None:
    """What the invoice's state says against the request."""
    if request.action == "dispute" and state.dispute:
        return StoryError(f"invoice {invoice_id} is already disputed: {state.dispute} "
                          "(resolve it first with `duecourse dispute resolve`)")
    if request.action == "resolve" and not state.dispute:
        return StoryError(f"invoice {invoice_id} has no open dispute (stage {state.stage.value})")
    balance = state.invoice.balance if state.invoice is not None else None
    if request.action == "resolve" and request.credit_note is not None and balance is not None \
            and request.credit_note > balance.amount:
        return StoryError(f"a credit note of {request.credit_note} is more than invoice {invoice_id}'s balance "
                          f"of {balance} (use --write-off to write the balance off)", EXIT_USAGE)
    if request.action in ("promise", "pause") and request.until is not None and request.until < today:
        return StoryError(f"the date {request.until.isoformat()} is in the past (today for the customer is "
                          f"{today.isoformat()})", EXIT_USAGE)
    if request.action == "plan" and request.first is not None and request.first < today:
        return StoryError(f"the first instalment's date {request.first.isoformat()} is in the past (today for the "
                          f"customer is {today.isoformat()})", EXIT_USAGE)
    if request.action == "plan" and state.plan is not None and state.plan.status == "active":
        return StoryError(f"invoice {invoice_id} already follows an approved payment plan")
    if request.action == "plan" and balance is not None and request.instalments is not None:
        from adapters.ledger import minor_unit

        if balance.amount < minor_unit(balance.currency) * request.instalments:
            return StoryError(f"invoice {invoice_id}'s balance of {balance} cannot be split into "
                              f"{request.instalments} instalments", EXIT_USAGE)
    if request.action == "handback" and not (state.escalated or state.dispute or state.paused_until
                                             or state.assigned_to):
        return StoryError(f"invoice {invoice_id} is with automation already (stage {state.stage.value}): "
                          "nothing to hand back")
    return None


def _signal(request: CollectorAction, by: str) -> tuple[Any, Any, Callable[[LifecycleState, LifecycleState], bool]]:
    """The handler method, its argument, and how to tell the workflow took it (before, now)."""
    from workflows.invoice_lifecycle import InvoiceLifecycle
    from workflows.lifecycle_messages import (
        AssignSignal,
        DisputeSignal,
        HandBackSignal,
        NoteSignal,
        PauseSignal,
        PromiseToPaySignal,
        ProposePlanSignal,
        ResolveDisputeSignal,
        Stage,
    )

    until = request.until or date.min  # check_input made sure promise and pause have one
    if request.action == "dispute":
        return (InvoiceLifecycle.dispute, DisputeSignal(reason=request.reason, opened_by=by),
                lambda _b, s: bool(s.dispute) and s.stage == Stage.PAUSED)
    if request.action == "resolve" and (request.credit_note is not None or request.write_off):
        # The dispute stays open until the credit is approved and posted: taken once the item awaits a human.
        return (InvoiceLifecycle.resolve_dispute,
                ResolveDisputeSignal(note=request.reason, by=by, credit_note=request.credit_note,
                                     write_off=request.write_off),
                lambda b, s: s.resolutions > b.resolutions and (s.resolution is None or (
                    s.pending is not None and s.pending.kind in ("credit_note", "write_off"))))
    if request.action == "resolve":
        note = f"rejected: {request.reason}" if request.reject else (request.reason or "resolved")
        return (InvoiceLifecycle.resolve_dispute, ResolveDisputeSignal(note=note, by=by),
                lambda _b, s: s.dispute is None and not s.waiting_for.startswith("dispute"))
    if request.action == "plan":
        return (InvoiceLifecycle.propose_plan,
                ProposePlanSignal(instalments=request.instalments or 0, every_days=request.every_days,
                                  first=request.first, by=by, note=request.note),
                lambda b, s: s.plans_proposed > b.plans_proposed and (s.plan_request is None or (
                    s.pending is not None and s.pending.kind == "payment_plan")))
    if request.action == "promise":
        return (InvoiceLifecycle.promise_to_pay, PromiseToPaySignal(until=until, note=request.note, by=by),
                lambda _b, s: s.promise_until == until and s.stage == Stage.PAUSED)
    if request.action == "pause":
        return (InvoiceLifecycle.pause_dunning, PauseSignal(until=until, reason=request.reason, by=by),
                lambda _b, s: s.paused_until == until and s.stage == Stage.PAUSED)
    if request.action == "assign":
        return (InvoiceLifecycle.assign, AssignSignal(collector=request.collector, by=by),
                lambda _b, s: s.assigned_to == request.collector)
    if request.action == "note":
        return (InvoiceLifecycle.add_note, NoteSignal(text=request.text, by=by),
                lambda b, s: len(s.notes) > len(b.notes))
    return (InvoiceLifecycle.hand_back, HandBackSignal(by=by, note=request.note),
            lambda b, s: not s.handed_back and s.handed_back_on is not None and (
                (b.handed_back_on, b.escalated, b.assigned_to, b.paused_until, b.dispute)
                != (s.handed_back_on, s.escalated, s.assigned_to, s.paused_until, s.dispute)))


# What the store's audit log calls each request; a note and a hand back the workflow audits itself.
AUDIT_ACTIONS = {"dispute": "dispute opened", "resolve": "dispute resolved", "promise": "promise to pay",
                 "pause": "dunning paused", "assign": "assigned to collector", "plan": "payment plan requested"}


def _result_text(request: CollectorAction, before: LifecycleState) -> str:
    if request.action == "dispute":
        return request.reason
    if request.action == "resolve" and request.credit_note is not None:
        return f"credit note of {request.credit_note} proposed for approval (dispute: {before.dispute})"
    if request.action == "resolve" and request.write_off:
        return f"write-off of the balance proposed for approval (dispute: {before.dispute})"
    if request.action == "resolve":
        return (f"rejected: {request.reason}" if request.reject else "resolved") + f" (was: {before.dispute})"
    if request.action == "plan":
        first = request.first.isoformat() if request.first else f"in {request.every_days} days"
        return f"{request.instalments} instalments every {request.every_days} days from {first}"
    if request.action == "promise":
        return f"pay by {request.until}" + (f": {request.note}" if request.note else "")
    if request.action == "pause":
        return f"until {request.until}" + (f": {request.reason}" if request.reason else "")
    if request.action == "assign":
        return f"{request.collector} (was: {before.assigned_to or 'nobody'})"
    if request.action == "note":
        return request.text
    return f"by request (stage {before.stage.value})" + (f": {request.note}" if request.note else "")


def _audit(store: Store, found: Found, request: CollectorAction, before: LifecycleState, by: str,
           source: str) -> None:
    from adapters.store import AuditRecord

    if request.action not in AUDIT_ACTIONS:
        return
    action = AUDIT_ACTIONS[request.action]
    if request.action == "resolve" and request.reject:
        action = "dispute rejected"
    elif request.action == "resolve" and (request.credit_note is not None or request.write_off):
        action = "credit note proposed" if request.credit_note is not None else "write-off proposed"
    key = f"{found.ledger}:{found.tenant}:{found.invoice_id}:collector:{request.action}:{uuid.uuid4().hex}"
    store.record_audit(AuditRecord(idempotency_key=key, workflow_id=found.workflow_id, invoice_id=found.invoice_id,
                                   action=action, inputs={"stage": before.stage.value, "source": source},
                                   approver=by, result=_result_text(request, before)))


async def perform(client: Client, store: Store, found: Found, request: CollectorAction, *, by: str, source: str,
                  clock: LedgerClock | None, settle_seconds: float = SETTLE_SECONDS) -> dict[str, Any]:
    """Check, signal, audit, and follow one action; the answer says what the workflow shows afterwards."""
    from workers.web.approvals_api import approval_json

    request = check_input(request)
    if not found.running:
        stage = found.attributes.get("Stage", "closed")
        raise StoryError(f"invoice {found.invoice_id}'s workflow is closed ({found.status}, stage {stage}): "
                         f"nothing to {request.action}")
    before = await read_state(client, found)
    problem = _problem(request, before, customer_today(before, clock), found.invoice_id)
    if problem is not None:
        raise problem
    method, argument, took = _signal(request, by)
    try:
        await client.get_workflow_handle(found.workflow_id).signal(method, argument)
    except Exception as error:
        raise StoryError(f"could not deliver the {request.action} to {found.workflow_id} ({error})") from error
    _audit(store, found, request, before, by, source)
    deadline = time.monotonic() + settle_seconds
    state = await read_state(client, found)
    while not took(before, state) and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        state = await read_state(client, found)
    return {"invoice_id": found.invoice_id, "workflow_id": found.workflow_id, "ledger": found.ledger,
            "tenant": found.tenant, "action": request.action, "by": by, "taken": took(before, state),
            "stage": state.stage.value, "waiting_for": state.waiting_for, "dispute": state.dispute,
            "promise_until": state.promise_until.isoformat() if state.promise_until else None,
            "paused_until": state.paused_until.isoformat() if state.paused_until else None,
            "assigned_to": state.assigned_to, "notes": len(state.notes), "escalated": state.escalated,
            "broken_promises": [d.isoformat() for d in state.broken_promises],
            "plan": state.plan.model_dump(mode="json") if state.plan is not None else None,
            "pending": approval_json(state.pending) if state.pending is not None else None}


def done_text(result: dict[str, Any]) -> str:
    """One line for a person: what happened and where the invoice stands."""
    pending = result.get("pending") or {}
    resolved = "dispute resolved"
    if result["action"] == "resolve" and pending.get("kind") in ("credit_note", "write_off"):
        resolved = (f"{pending['kind'].replace('_', '-')} of {pending['currency']} {pending['amount']} awaits "
                    f"approval (item {pending['item_id']})")
    planned = "payment plan refused (see `duecourse invoice show`)"
    if pending.get("kind") == "payment_plan":
        planned = (f"payment plan of {len((pending.get('draft') or {}).get('instalments') or [])} instalments "
                   f"awaits approval (item {pending['item_id']})")
    what = {"plan": planned,
            "dispute": "disputed", "resolve": resolved, "promise": f"promised by {result['promise_until']}",
            "pause": f"dunning paused until {result['paused_until']}", "assign": f"assigned to {result['assigned_to']}",
            "note": "note added", "handback": "handed back to automation"}[result["action"]]
    waiting = result["waiting_for"] or "-"
    line = f"invoice {result['invoice_id']}: {what}; stage {result['stage']} (waiting for {waiting})"
    if not result["taken"]:
        line += f"; the workflow has not shown it yet after {SETTLE_SECONDS:.0f} s (is a worker running?)"
    return line


__all__ = ["CollectorAction", "check_input", "done_text", "perform"]
