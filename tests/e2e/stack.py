"""A real `duecourse dev` stack for end-to-end tests: its own data dir and free ports on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from workflows.lifecycle_messages import LifecycleState

DUECOURSE = str(Path(sys.executable).parent / "duecourse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevStack:
    home: Path
    day_seconds: int
    seed: bool = False
    ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not self.ports:
            self.ports = {name: free_port() for name in ("temporal", "ui", "web", "smtp")}

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DUECOURSE_", "OPENAI_"))}
        env["DUECOURSE_HOME"] = str(self.home)
        env.update(self.extra_env)
        return env

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['temporal']}"

    def start(self, timeout: float = 90) -> None:
        command = [DUECOURSE, "dev", "--day-seconds", str(self.day_seconds),
                   "--temporal-port", str(self.ports["temporal"]), "--ui-port", str(self.ports["ui"]),
                   "--web-port", str(self.ports["web"]), "--smtp-port", str(self.ports["smtp"])]
        if not self.seed:
            command.append("--no-seed")
        log = open(self.home / "dev-stdout.log", "ab")
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"duecourse dev exited early:\n{self.log()}")
            try:
                healthy = httpx.get(f"{self.web}/healthz", timeout=2).status_code == 200
                if healthy and (self.home / "stack.json").exists():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"duecourse dev did not become healthy:\n{self.log()}")

    def stop(self, timeout: float = 30) -> int:
        process = self.process
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def log(self) -> str:
        path = self.home / "dev-stdout.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def cli(self, *args: str) -> dict[str, Any]:
        result = subprocess.run([DUECOURSE, *args, "--json"], env=self.env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"duecourse {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"--json must print exactly one JSON object, got: {result.stdout!r}"
        parsed: dict[str, Any] = json.loads(lines[0])
        return parsed


def running_stack(home: Path, day_seconds: int, **options: Any) -> Iterator[DevStack]:
    """A started stack for a module-scoped fixture (`yield from running_stack(...)`), stopped after; a stack
    that does not stop cleanly fails the module."""
    dev = DevStack(home=home, day_seconds=day_seconds, **options)
    dev.start()
    try:
        yield dev
    finally:
        code = dev.stop()
        assert code == 0, f"duecourse dev did not stop cleanly ({code}):\n{dev.log()}"


def wait_until(predicate: Any, timeout: float = 60, interval: float = 0.3, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def temporal(stack: DevStack, action: Any) -> Any:
    """Run `action(client)` against the stack's Temporal server."""
    from workers.client import connect

    async def run() -> Any:
        client = await connect(stack.temporal_address, home=stack.home)  # the stack's payload key
        return await action(client)

    return asyncio.run(run())


def workflows_for(stack: DevStack, invoice_id: str) -> list[Any]:
    async def action(client: Any) -> list[Any]:
        return [wf async for wf in client.list_workflows(f"InvoiceId = '{invoice_id}'")]

    found: list[Any] = temporal(stack, action)
    return found


def status(stack: DevStack, workflow_id: str) -> LifecycleState:
    from workflows.invoice_lifecycle import InvoiceLifecycle

    async def action(client: Any) -> LifecycleState:
        return await client.get_workflow_handle(workflow_id).query(InvoiceLifecycle.status)

    state: LifecycleState = temporal(stack, action)
    return state


def pending_for(stack: DevStack, invoice_id: str) -> dict[str, Any] | None:
    items = httpx.get(f"{stack.web}/api/approvals", timeout=10).json()
    return next((item for item in items if item["invoice_id"] == invoice_id), None)


def outbox_for(stack: DevStack, invoice_id: str) -> list[dict[str, Any]]:
    return [m for m in httpx.get(f"{stack.web}/api/outbox", timeout=10).json() if m["invoice_id"] == invoice_id]
