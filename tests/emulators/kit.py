"""What the ledger emulators share: serving an ASGI app on loopback, and one vocabulary of faults.

Every emulator (QuickBooks, Xero, Intacct) is a FastAPI app served by `ServedApp` on 127.0.0.1 at a free
port in a background thread, and misbehaves through a `Faults` object (a ledger adds its own switches in a
subclass). Each emulator turns a fault into its own ledger's wire form (a QuickBooks Fault, a Xero error
body, an Intacct ia::error), so a test says *what* goes wrong in one language and the emulator says it the
way that ledger would.

An emulator never imports the adapter it serves: its paths, headers and limits are written here from
LEDGER_APIS.md, so a wrong path in the adapter is caught instead of agreed with.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import uvicorn

FaultKind = Literal["rate_limited", "server_error"]


@dataclass
class Faults:
    """Switches a test flips to make the next API calls fail the way a ledger fails on a bad day.

    Counters count down once per API call (token and consent endpoints are not API calls). `every` arms a
    periodic plan instead: the 2nd, (N+2)th, (2N+2)th ... call fails, cycling through a 429, a write whose
    answer is lost after it was applied, and a 500 before anything is written."""

    rate_limited: int = 0  # the next N API calls answer 429 (a storm: a large N)
    retry_after: float | None = 1.0  # Retry-After seconds on every 429 (None: no header at all)
    server_errors: int = 0  # the next N API calls answer 500 without doing anything
    lost_responses: int = 0  # the next N writes are applied, then answered 500 (the answer got lost)
    slow_seconds: float = 0.0  # every API call waits this long before it is handled
    stale_tokens: bool = False  # at the next API call, every access token issued so far stops working
    every: int = 0  # the periodic plan above (0: off)
    armed: Counter[str] = field(default_factory=Counter)  # what the periodic plan armed, by kind
    answered: Counter[int] = field(default_factory=Counter)  # the status of every API answer
    calls: int = 0
    _plan: Iterator[str] = field(default_factory=lambda: itertools.cycle(("rate_limited", "lost", "server_error")),
                                 repr=False)

    def admit(self) -> FaultKind | None:
        """Called once per API call, under the emulator's lock, before it is handled: the fault to answer
        with now, if any. A lost response is armed here and taken by `lose_write` after the write."""
        self.calls += 1
        if self.every and self.calls % self.every == 2 % self.every:
            kind = next(self._plan)
            self.armed[kind] += 1
            if kind == "rate_limited":
                self.rate_limited += 1
            elif kind == "server_error":
                self.server_errors += 1
            else:
                self.lost_responses += 1
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return "rate_limited"
        if self.server_errors > 0:
            self.server_errors -= 1
            return "server_error"
        return None

    def lose_write(self) -> bool:
        """Called after a write was applied (not replayed): True when its answer is to be lost."""
        if self.lost_responses > 0:
            self.lost_responses -= 1
            return True
        return False


def count_answers(app: Any, faults: Faults, api_prefix: str) -> None:
    """Tally in `faults.answered` the status of every answer under `api_prefix` (OAuth endpoints excluded)."""

    @app.middleware("http")
    async def count(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        path = request.url.path
        if path.startswith(api_prefix) and "/oauth2/" not in path and "/connect/" not in path:
            faults.answered[response.status_code] += 1
        return response


class ServedApp:
    """An ASGI app on 127.0.0.1 at a free port, in a background thread; `start()` returns its base URL."""

    def __init__(self, app: Any, name: str = "emulator") -> None:
        self.app = app
        self.name = name
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        # proto=IPPROTO_TCP, or asyncio leaves Nagle on for accepted connections (40 ms per response).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=self.name)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} HTTP server did not start")
            time.sleep(0.005)
        return self.url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
            self._server = self._thread = None


@contextmanager
def serve(app: Any, name: str = "receiver") -> Iterator[str]:
    """Serve any ASGI app locally (tests use it for a webhook receiver); yields its base URL."""
    served = ServedApp(app, name)
    url = served.start()
    try:
        yield url
    finally:
        served.stop()


class ServedEmulator:
    """What every emulator does to be served: `start()` / `stop()` (or `with`), on a port of its own.

    A subclass builds its FastAPI app, then calls `super().__init__(app, name)`; `root_url` is where the
    app answers (the emulator adds its API prefix)."""

    def __init__(self, app: Any, name: str) -> None:
        self.app = app
        self._served = ServedApp(app, name)

    def start(self) -> Self:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def root_url(self) -> str:
        return self._served.url
