"""StatementRun on the real Temporal dev server (approvals are updates): a customer's month from the sandbox
ledger, by the policy's mode, to one mail with the PDF attached."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.drafting.template import TemplateDrafter
from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from tests.workflows.test_cash_application import eventually
from tests.workflows.test_invoice_lifecycle import RecordingMailer
from workers.worker import build_worker
from workflows.approvals import Decision, DecisionKind, PendingApproval
from workflows.statements import StatementRun, StatementRunInput, statement_workflow_id


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    server = await start_dev_server()
    try:
        yield server
    finally:
        await server.shutdown()


def month_with_history(ledger: SandboxLedger) -> tuple[str, str]:
    """A customer who owed 300.00 at the start of this month, was billed 1000.00 and paid 400.00 in it."""
    today = date.today()
    first = today.replace(day=1)
    customer = ledger.add_customer("Müller & <Söhne>", email="ap@mueller.example", terms_days=30, currency="EUR")
    old = ledger.add_invoice(customer.id, Decimal("300.00"), issue_date=first - timedelta(days=20),
                             due_date=first + timedelta(days=10))
    new = ledger.add_invoice(customer.id, Decimal("1000.00"), issue_date=first, due_date=first + timedelta(days=30))
    ledger.pay(new.id, Decimal("400.00"), on=first)
    assert old.id != new.id
    return customer.id, f"{today.year:04d}-{today.month:02d}"


async def run(env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str | None,
              decide: DecisionKind | None = None) -> tuple[str, list, RecordingMailer]:
    policy = tmp_path / "policy.toml"
    if mode is not None:
        policy.write_text(f'[statements]\nmode = "{mode}"\n\n[ladders.default]\nlevels = [{{ days = 1, tone = '
                          f'"friendly" }}]\n')
    monkeypatch.setenv("DUECOURSE_POLICY", str(policy))
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant=f"t{uuid.uuid4().hex[:8]}")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    mailer = RecordingMailer()
    queue = f"statements-{uuid.uuid4().hex[:8]}"
    customer_id, period = month_with_history(ledger)
    workflow_id = statement_workflow_id("sandbox", ledger.tenant, customer_id, period)
    worker = build_worker(env.client, task_queue=queue, ledgers={f"sandbox/{ledger.tenant}": ledger}, store=store,
                          mailer=mailer, drafter=TemplateDrafter(), sender="ar@test", strict_sandbox=True)
    async with worker:
        handle = await env.client.start_workflow(
            StatementRun.run, StatementRunInput(ledger="sandbox", tenant=ledger.tenant, customer_id=customer_id,
                                                period=period, company_name="Northwind"),
            id=workflow_id, task_queue=queue)
        if decide is not None:
            async def pending() -> PendingApproval | None:
                item: PendingApproval | None = await handle.query(StatementRun.pending_approval)
                return item
            item = await eventually(pending, 30, "a statement item")
            assert (item.kind, item.amount, item.currency, item.to) == ("statement", Decimal("900.00"), "EUR",
                                                                        "ap@mueller.example")
            assert item.suggestion is not None
            assert item.suggestion["currencies"][0] | {"aging": None} == {
                "currency": "EUR", "opening": "300.00", "invoices": "1000.00", "payments": "400.00",
                "credits": "0.00", "closing": "900.00", "aging": None}
            assert item.draft is not None and "closing balance EUR 900.00" in item.draft.body
            await handle.execute_update(StatementRun.decide, Decision(decision=decide, approver="boss@test",
                                                                      item_id=item.item_id))
        result = await handle.result()
    ledger.close()
    return result.outcome, store.list_audit(workflow_id=workflow_id), mailer


async def test_draft_mode_waits_for_a_person_then_mails_the_pdf(
        env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, audit, mailer = await run(env, tmp_path, monkeypatch, None, DecisionKind.APPROVE)
    assert outcome == "sent"
    [mail] = mailer.sent
    assert mail.to == "ap@mueller.example" and "Northwind: your statement for" in mail.subject
    [attachment] = mail.attachments
    assert attachment.content_type == "application/pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(attachment.data)).pages)
    for figure in ("Müller & <Söhne>", "EUR 300.00", "EUR 1,000.00", "EUR -400.00", "EUR 900.00"):
        assert figure in text
    assert [a.action for a in audit] == ["statement sent"] and audit[0].approver == "boss@test"


async def test_rejected_is_never_sent(env: WorkflowEnvironment, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, audit, mailer = await run(env, tmp_path, monkeypatch, "draft", DecisionKind.REJECT)
    assert (outcome, mailer.sent, [a.action for a in audit]) == ("rejected", [], ["statement rejected"])


@pytest.mark.parametrize(("mode", "expected", "mails"), [("shadow", "shadow", 0), ("auto", "sent", 1)])
async def test_shadow_never_sends_and_auto_sends_at_once(
        env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, expected: str,
        mails: int) -> None:
    outcome, audit, mailer = await run(env, tmp_path, monkeypatch, mode)
    assert (outcome, len(mailer.sent)) == (expected, mails)
    assert audit[0].inputs["figures"] == ("EUR opening 300.00 invoices 1000.00 payments 400.00 credits 0.00 "
                                          "closing 900.00")
