"""Metrics as an operator scrapes them: `GET /metrics` on the web app and the worker's metrics port, over HTTP,
against a real Temporal dev server.

prometheus-client's registry is one per process, so every check reads a counter before and after the action
and asserts the difference."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from adapters.ledger import EventOperation, LedgerEvent
from adapters.ledgers.sandbox import SandboxLedger, event_body, sign
from adapters.ledgers.sandbox.webhooks import SIGNATURE_HEADER
from adapters.store import Store
from tests.workflows.dev_server import start_dev_server
from workers.intake import LifecycleDefaults, route_event
from workers.settings import Settings
from workers.web.app import create_app
from workers.web.config import WebConfig
from workers.web.metrics import set_pending
from workers.worker import run_worker
from workers.worker_metrics import metrics_listen_address
from workflows.approvals import ApprovalInterface, Decision, DecisionResult, PendingApproval

SECRET = "metrics-test-secret"
AWAITING = SearchAttributeKey.for_bool("AwaitingApproval")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in an exposition (0 when absent, as Prometheus reads a counter not yet moved)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


@workflow.defn(sandboxed=False)
class OneApproval(ApprovalInterface):
    """A workflow that waits for one decision on a 250.00 EUR invoice, as a real lifecycle would."""

    def __init__(self) -> None:
        self.decided = False

    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes([AWAITING.value_set(True)])
        await workflow.wait_condition(lambda: self.decided)
        workflow.upsert_search_attributes([AWAITING.value_set(False)])
        return "decided"

    def _pending_item(self) -> PendingApproval | None:
        if self.decided:
            return None
        return PendingApproval(item_id="item-1", kind="invoice", workflow_id=workflow.info().workflow_id,
                               invoice_id="INV-1", invoice_number="1001", customer_id="C-1", customer_name="Acme",
                               amount=Decimal("250.00"), currency="EUR",
                               requested_at=workflow.info().start_time, why="new customer")

    def _decision_problem(self, decision: Decision) -> str | None:
        pending = self._pending_item()
        if pending is None:
            return "nothing is awaiting approval"
        return self._common_problem(decision, pending, pending.amount, pending.currency)

    def _take_decision(self, decision: Decision) -> DecisionResult:
        result = self._recorded(decision, self._pending_item(), "approved")
        self.decided = True
        return result


@pytest.fixture
async def dev_client() -> AsyncIterator[Client]:
    env = await start_dev_server()
    try:
        yield env.client
    finally:
        await env.shutdown()


async def serve_web(client: Client, tmp_path: Path) -> tuple[uvicorn.Server, asyncio.Task[None], str, str]:
    async def connect() -> Client:
        return client

    store = Store(f"sqlite:///{tmp_path / 'duecourse.db'}")
    token = store.upsert_approver("lead@example.com", Decimal("1000")).token
    port = free_port()
    app = create_app(WebConfig(connect=connect, store=store, public_url=f"http://127.0.0.1:{port}",
                               defaults=LifecycleDefaults(task_queue="metrics-q", company_name="Metrics Co"),
                               sandbox_webhook_secret=SECRET))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return server, task, f"http://127.0.0.1:{port}", token


@pytest.mark.e2e
async def test_web_metrics_count_webhooks_decisions_requests_and_pending_approvals(
        dev_client: Client, tmp_path: Path) -> None:
    server, task, url, token = await serve_web(dev_client, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http, Worker(
                dev_client, task_queue="approvals-q", workflows=[OneApproval],
                workflow_runner=UnsandboxedWorkflowRunner()):
            before = (await http.get("/metrics")).text
            event = LedgerEvent(ledger="sandbox", tenant="demo", event_id="evt-1", entity="Invoice",
                                entity_id="I-77", operation=EventOperation.CREATE, occurred_at=datetime.now(UTC))
            body = event_body([event])
            signed = {SIGNATURE_HEADER: sign(SECRET, body)}
            assert (await http.post("/webhooks/sandbox", content=body, headers=signed)).status_code == 200
            bad = {SIGNATURE_HEADER: sign("not-the-secret", body)}
            assert (await http.post("/webhooks/sandbox", content=body, headers=bad)).status_code == 401
            assert (await http.post("/webhooks/sandbox", content=b"{not json",
                                    headers={SIGNATURE_HEADER: sign(SECRET, b"{not json")})).status_code == 400

            await dev_client.start_workflow(OneApproval.run, id="approval-1", task_queue="approvals-q",
                                            search_attributes=TypedSearchAttributes([SearchAttributePair(
                                                AWAITING, False)]))
            auth = {"Authorization": f"Bearer {token}"}
            await wait_listed(http, auth, 1)
            waiting = (await http.get("/metrics")).text
            approve = {"decision": "approve", "item_id": "item-1"}
            outdated = {"decision": "approve", "item_id": "item-0"}
            assert (await http.post("/api/approvals/approval-1", json=outdated, headers=auth)).status_code == 409
            assert (await http.post("/api/approvals/approval-1", json=approve, headers=auth)).status_code == 200
            assert (await http.post("/api/approvals/no-such-workflow", json=approve,
                                    headers=auth)).status_code == 409
            after = (await http.get("/metrics")).text
    finally:
        server.should_exit = True
        await task

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("duecourse_webhook_events_total", ledger="sandbox", result="accepted") == 1
    assert moved("duecourse_webhook_events_total", ledger="sandbox", result="bad_signature") == 1
    assert moved("duecourse_webhook_events_total", ledger="sandbox", result="malformed") == 1
    assert moved("duecourse_decisions_delivered_total", decision="approve", outcome="applied") == 1
    # The workflow refuses a decision on an item no longer pending; the last names no running workflow.
    assert moved("duecourse_decisions_delivered_total", decision="approve", outcome="refused") == 1
    assert moved("duecourse_decisions_delivered_total", decision="approve", outcome="stale") == 1
    assert moved("duecourse_http_requests_total", method="POST", route="/webhooks/sandbox", status="401") == 1
    assert moved("duecourse_http_requests_total", method="POST", route="/api/approvals/{workflow_id:path}",
                 status="200") == 1
    assert moved("duecourse_http_requests_total", method="GET", route="/metrics", status="200") == 2
    assert sample(waiting, "duecourse_approvals_pending", kind="invoice") == 1
    assert sample(waiting, "duecourse_approvals_pending", kind="reminder") == 0
    assert sample(waiting, "duecourse_approvals_pending_oldest_age_seconds", kind="invoice") > 0
    assert sample(waiting, "duecourse_approvals_pending_read_ok") == 1


async def wait_listed(http: httpx.AsyncClient, auth: dict[str, str], count: int) -> None:
    """Until visibility lists `count` pending approvals (it is eventually consistent)."""
    for _ in range(100):
        listed = await http.get("/api/approvals", headers=auth)
        assert listed.status_code == 200, listed.text
        if len(listed.json()) == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} pending approvals never listed")


def test_pending_approvals_are_counted_by_kind_with_the_oldest_age() -> None:
    now = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)

    def item(kind: Any, minutes_ago: int) -> PendingApproval:
        return PendingApproval(item_id=f"{kind}-{minutes_ago}", kind=kind, workflow_id="w", invoice_id="I",
                               invoice_number="1", customer_id="C", customer_name="Acme", amount=Decimal("1"),
                               currency="USD", requested_at=now - timedelta(minutes=minutes_ago), why="")

    set_pending([item("reminder", 5), item("reminder", 90), item("payment_match", 1)], now)
    text = scrape_registry()
    assert sample(text, "duecourse_approvals_pending", kind="reminder") == 2
    assert sample(text, "duecourse_approvals_pending_oldest_age_seconds", kind="reminder") == 5400
    assert sample(text, "duecourse_approvals_pending", kind="payment_match") == 1
    assert sample(text, "duecourse_approvals_pending_oldest_age_seconds", kind="payment_match") == 60
    set_pending([], now)  # all decided: every kind back to 0, not a stale 2
    assert sample(scrape_registry(), "duecourse_approvals_pending", kind="reminder") == 0


def scrape_registry() -> str:
    from prometheus_client import REGISTRY, generate_latest

    return generate_latest(REGISTRY).decode()


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("9464", ("0.0.0.0", 9464)), ("127.0.0.1:9100", ("127.0.0.1", 9100)),
])
def test_the_metrics_port_setting(value: str | None, expected: tuple[str, int] | None) -> None:
    assert metrics_listen_address(value) == expected


@pytest.mark.parametrize("value", ["metrics", "70000", "host:", "0"])
def test_a_metrics_port_that_is_no_port_stops_the_worker_naming_the_variable(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        metrics_listen_address(value)
    assert stopped.value.code == 2
    assert "DUECOURSE_WORKER_METRICS_PORT" in capsys.readouterr().err


@pytest.mark.e2e
async def test_the_worker_port_serves_temporal_and_duecourse_metrics(
        dev_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db", tenant="demo")
    customer = ledger.add_customer("Metrics Customer", email="ap@metrics.example")
    invoice = ledger.add_invoice(customer.id, Decimal("120.00"), due_date=date.today() + timedelta(days=60))
    monkeypatch.setenv("DUECOURSE_SANDBOX_DB", str(tmp_path / "sandbox.db"))
    monkeypatch.setenv("DUECOURSE_HOME", str(tmp_path))
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'store.db'}",
                        temporal_address=dev_client.service_client.config.target_host, namespace="default",
                        task_queue="metrics-worker-q")
    defaults = LifecycleDefaults(task_queue="metrics-worker-q", company_name="Metrics Co")
    port = free_port()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, dev_client, stop, defaults, metrics_port=f"127.0.0.1:{port}"))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            before = await scrape_when_up(http)
            await route_event(dev_client, LedgerEvent(
                ledger="sandbox", tenant="demo", event_id="evt-w1", entity="Invoice", entity_id=invoice.id,
                operation=EventOperation.CREATE, occurred_at=datetime.now(UTC)), defaults)
            labels = {"ledger": "sandbox", "activity": "fetch_invoice", "status": "ok"}
            after = before
            for _ in range(150):
                after = (await http.get("/metrics")).text
                if sample(after, "duecourse_ledger_calls_total", **labels) > sample(
                        before, "duecourse_ledger_calls_total", **labels):
                    break
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
    assert sample(after, "duecourse_ledger_calls_total", **labels) - sample(
        before, "duecourse_ledger_calls_total", **labels) == 1
    assert "# TYPE duecourse_reminders_sent_total counter" in after
    # The Temporal SDK's own series: its workers poll and report task latencies through the runtime.
    temporal = [f.name for f in text_string_to_metric_families(after) if f.name.startswith("temporal_")]
    assert "temporal_workflow_task_execution_latency" in temporal or "temporal_request" in temporal, temporal[:20]
    with pytest.raises(httpx.ConnectError):  # the port closes with the worker
        async with httpx.AsyncClient(timeout=2) as http:
            await http.get(f"http://127.0.0.1:{port}/metrics")


async def scrape_when_up(http: httpx.AsyncClient) -> str:
    for _ in range(100):
        try:
            return (await http.get("/metrics")).text
        except httpx.ConnectError:
            await asyncio.sleep(0.1)
    raise AssertionError("the worker's metrics port never answered")
