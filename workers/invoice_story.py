"""An invoice's whole story, built once for `duecourse invoice show`, the story API and the invoice page.

An invoice is found by its id alone, through Temporal visibility (`InvoiceId = '<id>'`, running or
closed); when several ledgers or companies hold the same id, `ledger` / `tenant` pick one and without
them the lookup refuses, naming the candidates. The story joins three sources: the workflow's state
(stage, figures, reminders, dispute, promise, pause, collector, notes), the outbox (every message as it
left, with its draft and who approved it) and the audit log in the store (every decision; the entries
the workflow recorded are also the notes written back to the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from temporalio.client import Client

    from adapters.store import AuditRecord, OutboxMessage, Store
    from workflows.calendar import LedgerClock
    from workflows.lifecycle_messages import LifecycleState

WORKFLOW_TYPE = "InvoiceLifecycle"
EXIT_REFUSED = 1
EXIT_USAGE = 2
# Audit entries a person asked for through the CLI or the web; the workflow's own entries go to the ledger.
PERSON_SOURCES = ("cli", "web", "api")


class StoryError(Exception):
    """Why an invoice cannot be shown or acted on; `code` is the CLI's exit code (1 refused, 2 bad input),
    `missing` says the invoice is not known at all (HTTP 404 rather than 409)."""

    def __init__(self, message: str, code: int = EXIT_REFUSED, missing: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.missing = missing

    @property
    def http_status(self) -> int:
        return 404 if self.missing else 400 if self.code == EXIT_USAGE else 409


@dataclass(frozen=True)
class Found:
    workflow_id: str
    invoice_id: str
    ledger: str
    tenant: str
    running: bool
    status: str
    attributes: dict[str, Any]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _id_parts(workflow_id: str) -> tuple[str, str, str]:
    """`invoice:LEDGER:TENANT:INVOICE_ID` -> (ledger, tenant, invoice id); the id may hold colons."""
    parts = workflow_id.split(":", 3)
    if len(parts) == 4 and parts[0] == "invoice":
        return parts[1], parts[2], parts[3]
    return "", "", ""


def _found(execution: Any) -> Found:
    attributes = {pair.key.name: pair.value for pair in execution.typed_search_attributes}
    ledger, tenant, invoice_id = _id_parts(str(execution.id))
    status = execution.status.name.lower() if execution.status is not None else "unknown"
    return Found(workflow_id=execution.id, invoice_id=str(attributes.get("InvoiceId") or invoice_id),
                 ledger=str(attributes.get("Ledger") or ledger), tenant=tenant,
                 running=execution.close_time is None, status=status, attributes=attributes)


async def find_invoice(client: Client, invoice_id: str, ledger: str | None = None,
                       tenant: str | None = None) -> Found:
    invoice_id = invoice_id.strip()
    if not invoice_id:
        raise StoryError("an invoice id is needed", EXIT_USAGE)
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND InvoiceId = '{_quote(invoice_id)}'"
    if ledger:
        query += f" AND Ledger = '{_quote(ledger)}'"
    latest: dict[str, Any] = {}
    try:
        async for execution in client.list_workflows(query):
            if tenant and _id_parts(str(execution.id))[1] != tenant:
                continue
            seen = latest.get(execution.id)
            # Continue-as-new leaves closed runs behind: the running one, else the newest, speaks for the id.
            if seen is None or (execution.close_time is None and seen.close_time is not None) or (
                    (execution.close_time is None) == (seen.close_time is None)
                    and execution.start_time > seen.start_time):
                latest[execution.id] = execution
    except Exception as error:  # an RPC error: the server is down or the query was refused
        raise StoryError(f"could not search Temporal for invoice {invoice_id!r} ({error})", EXIT_USAGE) from error
    if not latest:
        where = "".join(f" {k} {v!r}" for k, v in (("in ledger", ledger), ("for tenant", tenant)) if v)
        raise StoryError(f"no invoice workflow found for invoice {invoice_id!r}{where} (check the id; "
                         "`duecourse sandbox invoice add` prints it)", missing=True)
    if len(latest) > 1:
        candidates = ", ".join(sorted(f"--ledger {f.ledger} --tenant {f.tenant}"
                                      for f in map(_found, latest.values())))
        raise StoryError(f"invoice {invoice_id!r} exists in several ledgers or companies; pick one: {candidates}",
                         EXIT_USAGE)
    return _found(next(iter(latest.values())))


async def find_workflow(client: Client, workflow_id: str) -> Found:
    """The invoice workflow with this id (what the approval form knows an invoice by)."""
    from temporalio.service import RPCError

    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        raise StoryError(f"no invoice workflow {workflow_id!r} ({error.message})", missing=True) from error
    if description.workflow_type != WORKFLOW_TYPE:
        raise StoryError(f"{workflow_id!r} is a {description.workflow_type}, not an invoice workflow")
    return _found(description)


async def read_state(client: Client, found: Found) -> LifecycleState:
    from workflows.invoice_lifecycle import InvoiceLifecycle

    try:
        state: LifecycleState = await client.get_workflow_handle(found.workflow_id).query(InvoiceLifecycle.status)
    except Exception as error:
        raise StoryError(f"could not read the state of {found.workflow_id} ({error}); is a worker running?") from error
    return state


def customer_today(state: LifecycleState, clock: LedgerClock | None) -> date:
    """Today in the ledger's calendar, where the customer is (the date a promise or pause is about)."""
    tz = state.customer.time_zone if state.customer else "UTC"
    now = datetime.now(UTC)
    return clock.today(now, tz) if clock is not None else now.date()


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def last_contact(state: LifecycleState) -> str | None:
    """When the last reminder was sent, written as the reminders in the story write it."""
    sent = [r for r in state.reminders if r.outcome == "sent"]
    at: str | None = sent[-1].model_dump(mode="json")["at"] if sent else None
    return at


def _audit_entry(record: AuditRecord) -> dict[str, Any]:
    source = str(record.inputs.get("source") or "workflow")
    return {"at": record.at.isoformat() if record.at else None,
            "action": record.action, "result": record.result, "approver": record.approver,
            "rule_version": record.rule_version, "model": record.model, "inputs": record.inputs,
            "source": source, "to_ledger": source not in PERSON_SOURCES, "idempotency_key": record.idempotency_key}


def _ledger_note(record: AuditRecord) -> str:
    """The line the workflow's audit activity writes to the ledger for this entry."""
    note = f"duecourse: {record.action}: {record.result}"
    return note + (f" (by {record.approver})" if record.approver else "")


def _reminder(record: Any, sent: dict[str, OutboxMessage], fallback_to: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = record.model_dump(mode="json")
    message = sent.get(record.message_id or "")
    if message is not None:  # histories from before ReminderRecord kept the draft: the outbox has it
        entry["to"] = entry.get("to") or message.to
        entry["subject"] = entry.get("subject") or message.subject
        entry["body"] = entry.get("body") or message.body
        entry["drafter"] = entry.get("drafter") or message.drafter
        entry["approver"] = entry.get("approver") or message.approved_by
    if record.outcome == "sent":
        entry["to"] = entry.get("to") or fallback_to
    return entry


def build_story(found: Found, state: LifecycleState, audit: list[AuditRecord], outbox: list[OutboxMessage],
                today: date) -> dict[str, Any]:
    invoice, customer, pending = state.invoice, state.customer, state.pending
    sent_records = [r for r in state.reminders if r.outcome == "sent"]
    by_message = {m.message_id: m for m in outbox}
    to = (invoice.email if invoice else None) or (customer.email if customer else None)
    audit_entries = [_audit_entry(record) for record in audit]
    return {
        "invoice_id": found.invoice_id, "workflow_id": found.workflow_id, "workflow_status": found.status,
        "running": found.running, "ledger": found.ledger, "tenant": found.tenant,
        "invoice_number": invoice.number if invoice else None,
        "customer_id": invoice.customer_id if invoice else None,
        "customer_name": invoice.customer_name if invoice else None,
        "customer_email": to,
        "currency": invoice.currency if invoice else None,
        "total": str(invoice.total.amount) if invoice else None,
        "amount_due": str(invoice.balance.amount) if invoice else None,
        "issue_date": _iso(invoice.issue_date) if invoice else None,
        "due_date": _iso(invoice.due_date) if invoice else None,
        "days_overdue": max((today - invoice.due_date).days, 0) if invoice else 0,
        "ledger_status": invoice.status.value if invoice else None,
        "stage": state.stage.value, "waiting_for": state.waiting_for,
        "dunning_level": max((r.level for r in sent_records), default=0),
        "reminders_sent": state.reminders_sent,
        "last_contact": last_contact(state),
        "time_zone": customer.time_zone if customer else None,
        "time_zone_source": customer.time_zone_source if customer else None,
        "escalated": state.escalated, "dispute": state.dispute,
        "promise_until": _iso(state.promise_until),
        "paused_until": _iso(state.paused_until), "pause_reason": state.pause_reason,
        "assigned_to": state.assigned_to or str(found.attributes.get("Collector") or "") or None,
        "notes": [note.model_dump(mode="json") for note in state.notes],
        "broken_promises": [d.isoformat() for d in state.broken_promises],
        "bad_addresses": list(state.bad_addresses),
        "closed_reason": state.closed_reason,
        "credit_notes": list(state.credit_notes),
        "late_fees": [fee.model_dump(mode="json") for fee in state.late_fees],
        "fees_posted": [fee.model_dump(mode="json") for fee in state.fees_posted],
        "plan": state.plan.model_dump(mode="json") if state.plan is not None else None,
        "pending_approval": None if pending is None else {
            "item_id": pending.item_id, "kind": pending.kind, "level": pending.level, "why": pending.why,
            "amount": str(pending.amount), "currency": pending.currency, "to": pending.to,
            "requested_at": pending.requested_at.isoformat(),
            "draft": pending.draft.model_dump(mode="json") if pending.draft else None},
        "reminders": [_reminder(record, by_message, to) for record in state.reminders],
        "messages": [{"kind": m.kind, "to": m.to, "subject": m.subject, "body": m.body, "message_id": m.message_id,
                      "drafter": m.drafter, "approved_by": m.approved_by, "status": m.status,
                      "created_at": m.created_at.isoformat(), "sent_at": _iso(m.sent_at)} for m in outbox],
        "audit": audit_entries,
        "ledger_notes": [_ledger_note(record) for record, entry in zip(audit, audit_entries, strict=True)
                         if entry["to_ledger"]],
    }


async def invoice_story(client: Client, store: Store, found: Found, clock: LedgerClock | None) -> dict[str, Any]:
    state = await read_state(client, found)
    audit = store.list_audit(workflow_id=found.workflow_id)
    outbox = list(reversed(store.list_outbox(invoice_id=found.invoice_id)))
    return build_story(found, state, audit, [m for m in outbox if m.workflow_id == found.workflow_id],
                       customer_today(state, clock))


def story_text(story: dict[str, Any]) -> str:
    """The story as a person reads it in a terminal."""
    s = story
    lines = [f"Invoice {s['invoice_number']} ({s['invoice_id']}) · {s['customer_name']} · {s['ledger']}/{s['tenant']}",
             f"  stage: {s['stage']} · waiting for: {s['waiting_for'] or '-'}"
             + ("" if s["running"] else f" · workflow {s['workflow_status']}"),
             f"  amount due {s['amount_due']} {s['currency']} of {s['total']} · issued {s['issue_date']} · "
             f"due {s['due_date']} ({s['days_overdue']} days overdue)",
             f"  dunning level {s['dunning_level']} · reminders sent {s['reminders_sent']} · "
             f"last contact {s['last_contact'] or 'never'}",
             f"  time zone {s['time_zone']} (from {s['time_zone_source']}) · recipient {s['customer_email'] or 'none'}",
             f"  collector: {s['assigned_to'] or 'nobody'}" + (" · escalated" if s["escalated"] else "")]
    if s["dispute"]:
        lines.append(f"  disputed: {s['dispute']}")
    if s["promise_until"]:
        lines.append(f"  promised to pay by {s['promise_until']}")
    if s["paused_until"]:
        lines.append(f"  dunning paused until {s['paused_until']}: {s['pause_reason']}")
    if s["broken_promises"]:
        lines.append(f"  broken promises: {', '.join(s['broken_promises'])}")
    if s["bad_addresses"]:
        lines.append(f"  bad addresses: {', '.join(s['bad_addresses'])}")
    if s["closed_reason"]:
        lines.append(f"  closed: {s['closed_reason']}")
    for fee in s.get("late_fees") or []:
        posted = f" as invoice {fee['fee_invoice_number']}" if fee["outcome"] == "posted" else ""
        lines.append(f"  late fee {fee['currency']} {fee['amount']} {fee['outcome']}{posted} on {fee['as_of']} "
                     f"by {fee['approver']}" + (f": {fee['reason']}" if fee["reason"] else ""))
    plan = s.get("plan")
    if plan:
        ended = f" on {plan['ended_on']}" if plan["ended_on"] else ""
        lines.append(f"  payment plan ({plan['status']}{ended}, approved by {plan['approved_by']}):")
        lines += [f"    {i['number']}. {plan['currency']} {i['amount']} by {i['due_date']}"
                  + (" (missed)" if plan["missed"] == i["number"] else "") for i in plan["instalments"]]
    pending = s["pending_approval"]
    if pending:
        lines.append(f"  awaiting approval: {pending['item_id']} (level {pending['level']}, {pending['why']})")
    lines.append("Reminders:" if s["reminders"] else "Reminders: none yet")
    for r in s["reminders"]:
        who = f", approved by {r['approver']}" if r["outcome"] == "sent" and r["approver"] else (
            f" by {r['approver']}" if r["approver"] else "")
        lines.append(f"  level {r['level']} {r['outcome']} {r['at']}" + (f" to {r['to']}" if r["to"] else "") + who
                     + (f" ({r['reason']})" if r["reason"] else ""))
        if r["subject"]:
            lines.append(f"    subject: {r['subject']}" + (f" [{r['drafter']}]" if r["drafter"] else ""))
    if s["notes"]:
        lines.append("Notes:")
        lines += [f"  {n['at']} {n['by']}: {n['text']}" for n in s["notes"]]
    lines.append("Audit log:" if s["audit"] else "Audit log: nothing recorded")
    lines += [f"  {(a['at'] or '')[:19]} {a['action']}: {a['result']}"
              + (f" [{a['approver']}]" if a["approver"] else "")
              + ("" if a["to_ledger"] else f" (via {a['source']})") for a in s["audit"]]
    lines.append("Ledger notes written:" if s["ledger_notes"] else "Ledger notes written: none")
    lines += [f"  {note}" for note in s["ledger_notes"]]
    return "\n".join(lines)


__all__ = ["Found", "StoryError", "build_story", "customer_today", "find_invoice", "find_workflow",
           "invoice_story", "last_contact", "read_state", "story_text"]
