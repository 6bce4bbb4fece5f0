"""The worker: registers every workflow and activity, with the adapters built once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import holidays.countries  # noqa: F401 - loaded here, not on a workflow's first task (takes seconds)
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cash_application import CashActivities
from activities.invoicing import InvoicingActivities
from activities.ledger import LedgerActivities, ledger_key
from activities.messaging import MessagingActivities
from activities.policy import PolicyActivities, policy_path
from activities.risk import RiskActivities
from activities.statements.sending import StatementActivities
from adapters.drafting.llm import drafter_from_env
from adapters.drafting.port import Drafter
from adapters.ledger import LedgerPort
from adapters.mail import Mailer, SmtpMailer
from adapters.risk_store import RiskScores
from adapters.store import Store, SyncCursors
from workers.backfill import BackfillActivities
from workers.intake import LifecycleDefaults, defaults_from_settings
from workers.settings import Settings, data_dir, read_stack
from workers.sync import SyncActivities
from workers.worker_metrics import (
    METRICS_PORT_VARIABLE,
    LedgerCallMetrics,
    TemporalRuntimeMetrics,
    WorkerMetricsServer,
    metrics_listen_address,
)
from workflows.backfill import Backfill
from workflows.cash_application import CashApplication
from workflows.invoice_lifecycle import InvoiceLifecycle
from workflows.ledger_sync import LedgerSync
from workflows.quote_to_invoice import QuoteToInvoice
from workflows.reply_review import ReplyReview
from workflows.statements import StatementRun, StatementSchedule
from workflows.time_billing import TimeBilling

WORKFLOWS: Sequence[type] = (InvoiceLifecycle, CashApplication, LedgerSync, Backfill, ReplyReview,
                             QuoteToInvoice, TimeBilling, StatementRun, StatementSchedule)

# Our own pure modules and the libraries they use are deterministic; passing them through keeps the
# sandbox from re-importing them for every workflow task.
PASSTHROUGH = ("adapters", "activities", "workflows.calendar", "workflows.dunning", "workflows.approvals",
               "holidays", "pydantic", "pydantic_core", "annotated_types", "dateutil", "rapidfuzz")


def workflow_runner(*, strict: bool = False) -> SandboxedWorkflowRunner:
    """The sandbox every workflow runs in.

    The worker shares the workflow modules themselves between runs too. Otherwise the sandbox re-imports
    (and recompiles) a workflow's module for every run it caches: about 100 KiB for each sleeping lifecycle
    (`duecourse bench lifecycle`), half of what one costs. Sharing is safe because workflow modules keep no
    mutable state of their own (tests/workflows/test_imports.py checks) and import only light modules.
    `strict=True` re-imports them per run, so the sandbox also catches a non-deterministic call in the
    workflow code itself; the workflow tests and the replay of committed histories run strict."""
    shared = PASSTHROUGH if strict else (*PASSTHROUGH, "workflows")
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*shared))


def activity_callables(ledgers: Mapping[str, LedgerPort], store: Store, mailer: Mailer, drafter: Drafter,
                       sender: str) -> list[Any]:
    risk_scores = RiskScores(store)
    ledger_activities = LedgerActivities(ledgers, PolicyActivities(policy_path(data_dir())), store.is_paused,
                                         risk_scores.get)
    risk = RiskActivities(ledgers, risk_scores)
    messaging = MessagingActivities(store, mailer, drafter, sender, ledgers)
    cash = CashActivities(ledgers, store)
    invoicing = InvoicingActivities(ledgers, ledger_activities.policy, store.is_paused)
    statements = StatementActivities(ledgers, store, mailer, sender, ledger_activities.policy)
    return [
        *statements.callables(),
        ledger_activities.fetch_invoice,
        ledger_activities.post_credit_note,
        ledger_activities.post_late_fee,
        risk.refresh_risk_scores,
        messaging.draft_reminder,
        messaging.send_reminder,
        messaging.record_audit,
        cash.match_bank_line,
        cash.check_bank_line,
        cash.apply_payment,
        cash.learn_alias,
        invoicing.fetch_estimate,
        invoicing.post_invoice,
        invoicing.fetch_time_entries,
        invoicing.bill_time_entries,
    ]


def build_worker(client: Client, *, task_queue: str, ledgers: Mapping[str, LedgerPort], store: Store,
                 mailer: Mailer, drafter: Drafter, sender: str, max_concurrent_activities: int = 32,
                 defaults: LifecycleDefaults | None = None, strict_sandbox: bool = False) -> Worker:
    """The worker with every workflow and activity; `strict_sandbox` as in `workflow_runner` (tests)."""
    defaults = defaults or LifecycleDefaults(task_queue=task_queue, company_name="duecourse")
    sync = SyncActivities(client, ledgers, SyncCursors(store), defaults)
    backfill = BackfillActivities(client, ledgers, store, defaults)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[*activity_callables(ledgers, store, mailer, drafter, sender), sync.sync_ledger_changes,
                    *backfill.callables()],
        activity_executor=ThreadPoolExecutor(max_workers=max_concurrent_activities),
        max_concurrent_activities=max_concurrent_activities,
        workflow_runner=workflow_runner(strict=strict_sandbox),
        interceptors=[LedgerCallMetrics()],
    )


def ledgers_from_settings(settings: Settings, store: Store | None = None) -> Mapping[str, LedgerPort]:
    """The sandbox ledger (when there is one) and every connected ledger company in the store."""
    from adapters.ledgers.sandbox import SandboxLedger
    from workers.connect import ConnectedLedgers

    stack = read_stack(settings.home)
    fixed: dict[str, LedgerPort] = {}
    sandbox_db = os.environ.get("DUECOURSE_SANDBOX_DB") or (stack.sandbox_db if stack else None)
    if sandbox_db:
        tenant = stack.tenant if stack else "demo"
        fixed[ledger_key("sandbox", tenant)] = SandboxLedger(sandbox_db, tenant=tenant)
    return ConnectedLedgers(fixed, store, settings.home)


def mailer_from_settings(settings: Settings) -> Mailer:
    stack = read_stack(settings.home)
    host = os.environ.get("DUECOURSE_SMTP_HOST") or (stack.smtp_host if stack else "127.0.0.1")
    port = int(os.environ.get("DUECOURSE_SMTP_PORT") or (stack.smtp_port if stack else 25))
    return SmtpMailer(
        host, port, username=os.environ.get("DUECOURSE_SMTP_USER"),
        password=os.environ.get("DUECOURSE_SMTP_PASSWORD"),
        starttls=os.environ.get("DUECOURSE_SMTP_STARTTLS", "") in ("1", "true", "yes"),
    )


async def run_worker(settings: Settings, client: Client, stop: asyncio.Event,
                     defaults: LifecycleDefaults | None = None, metrics_port: str | None = None) -> None:
    """Until `stop`; with a metrics port (`metrics_port`, else DUECOURSE_WORKER_METRICS_PORT) while it runs."""
    listen = metrics_listen_address(metrics_port or os.environ.get(METRICS_PORT_VARIABLE))
    metrics = None
    if listen is not None:
        temporal_metrics = TemporalRuntimeMetrics.shared()
        client = await temporal_metrics.client_reporting_here(client)
        metrics = WorkerMetricsServer(*listen, temporal_metrics)
    try:
        await _run_until_stopped(settings, client, stop, defaults)
    finally:
        if metrics is not None:
            metrics.close()


async def _run_until_stopped(settings: Settings, client: Client, stop: asyncio.Event,
                             defaults: LifecycleDefaults | None) -> None:
    store = Store(settings.database_url)
    worker = build_worker(
        client, task_queue=settings.task_queue, ledgers=ledgers_from_settings(settings, store),
        store=store, mailer=mailer_from_settings(settings), drafter=drafter_from_env(),
        sender=os.environ.get("DUECOURSE_MAIL_FROM", "ar@duecourse.local"),
        defaults=defaults or defaults_from_settings(settings),
    )
    async with worker:
        await stop.wait()
