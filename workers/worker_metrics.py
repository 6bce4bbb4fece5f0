"""The worker's metrics port: duecourse's own counters and the Temporal SDK's metrics, on one scrape.

Off unless `DUECOURSE_WORKER_METRICS_PORT` is set (`9464` listens on every interface, `127.0.0.1:9464` on
one); `duecourse dev` always turns it on, on a free loopback port it prints. `GET /metrics` answers the
prometheus-client registry (`adapters.metrics`: reminders, ledger calls and errors, cash application
decisions) followed by what the Temporal SDK's runtime reports (task latencies, pollers, sticky cache,
activity and workflow counts). The SDK's runtime can only export through a Prometheus listener of its
own (`temporalio.runtime.PrometheusConfig`), so that listener binds a private loopback port and each scrape
appends its text: one port for operators, Temporal's own names and units unchanged.

Ledger calls are counted at the worker's edge by an activity interceptor: every activity whose input names
a ledger, by ledger, activity and outcome, so each ledger (the sandbox included) is counted the same way.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, generate_latest
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import ServiceClient
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from adapters.metrics import LEDGER_CALLS

METRICS_PORT_VARIABLE = "DUECOURSE_WORKER_METRICS_PORT"


def metrics_listen_address(value: str | None) -> tuple[str, int] | None:
    """(host, port) from `DUECOURSE_WORKER_METRICS_PORT`'s value: `PORT` or `HOST:PORT`; None when unset.
    A value that is no port exits 2 naming the variable (the worker cannot start as configured)."""
    if value is None or not value.strip():
        return None
    host, _, port = value.strip().rpartition(":")
    if port.isdigit() and 0 < int(port) < 65536:
        return host or "0.0.0.0", int(port)
    print(f"{METRICS_PORT_VARIABLE}: {value!r} is not a port (expected PORT or HOST:PORT, e.g. 9464 or "
          "127.0.0.1:9464)", file=sys.stderr)
    raise SystemExit(2)


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporalRuntimeMetrics:
    """One SDK runtime per process exporting to a private loopback port (a runtime cannot be stopped, so a
    restarted worker in the same process reuses it rather than leaking listeners)."""

    _shared: TemporalRuntimeMetrics | None = None

    def __init__(self) -> None:
        self.address = f"127.0.0.1:{free_loopback_port()}"
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=self.address)))

    @classmethod
    def shared(cls) -> TemporalRuntimeMetrics:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def text(self) -> bytes:
        try:
            with urllib.request.urlopen(f"http://{self.address}/metrics", timeout=5) as answer:
                return bytes(answer.read())
        except OSError as error:
            # The business counters still go out; the gap in Temporal's series shows on the dashboard.
            return f"# Temporal SDK metrics unavailable: {error}\n".encode()

    async def client_reporting_here(self, client: Client) -> Client:
        """`client`, connected again through this runtime: the SDK reports a worker's metrics through its
        client's runtime, chosen when the connection is made."""
        config = client.config()
        connect = dataclasses.replace(client.service_client.config, runtime=self.runtime)
        config["service_client"] = await ServiceClient.connect(connect)
        return Client(**config)


class WorkerMetricsServer:
    """`GET /metrics` on the worker's metrics port, in a daemon thread (a scrape never waits for the worker)."""

    def __init__(self, host: str, port: int, temporal: TemporalRuntimeMetrics) -> None:
        exposition = self._exposition
        self.temporal = temporal

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] not in ("/metrics", "/"):
                    self.send_error(404, "the worker serves /metrics only")
                    return
                body = exposition()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="worker-metrics", daemon=True)
        self.thread.start()

    def _exposition(self) -> bytes:
        ours = generate_latest(REGISTRY)
        return ours + (b"" if ours.endswith(b"\n") else b"\n") + self.temporal.text()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LedgerCallMetrics(Interceptor):
    """Counts every activity whose input names a ledger: `duecourse_ledger_calls_total{ledger,activity,status}`."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountLedgerCalls(next)


class _CountLedgerCalls(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        ledger = getattr(input.args[0], "ledger", None) if input.args else None
        if not isinstance(ledger, str):
            return await self.next.execute_activity(input)
        name = activity.info().activity_type
        try:
            result = await self.next.execute_activity(input)
        except ApplicationError as error:
            LEDGER_CALLS.labels(ledger, name, error.type or "ApplicationError").inc()
            raise
        except BaseException as error:
            LEDGER_CALLS.labels(ledger, name, type(error).__name__).inc()
            raise
        LEDGER_CALLS.labels(ledger, name, "ok").inc()
        return result
