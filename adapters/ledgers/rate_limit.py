"""Client-side rate limits shared by a worker's activities (one limiter per ledger connection).

Ledgers publish per-minute, per-day and concurrency limits (QuickBooks 500/min and 10 concurrent per realm;
Xero 60/min, 5 concurrent, 5,000/day per tenant). Staying under them beats being told 429.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from adapters.ledger import RateLimited


class RateLimiter:
    def __init__(self, per_minute: int, concurrent: int, per_day: int | None = None,
                 clock: Callable[[], float] = time.monotonic, max_wait: float = 30.0) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.clock = clock
        self.max_wait = max_wait
        self._slots = threading.BoundedSemaphore(concurrent)
        self._minute: deque[float] = deque()
        self._day: deque[float] = deque()
        self._lock = threading.Lock()

    def _wait_for_window(self) -> None:
        deadline = self.clock() + self.max_wait
        while True:
            with self._lock:
                now = self.clock()
                while self._minute and now - self._minute[0] >= 60:
                    self._minute.popleft()
                while self._day and now - self._day[0] >= 86_400:
                    self._day.popleft()
                if self.per_day is not None and len(self._day) >= self.per_day:
                    retry = 86_400 - (now - self._day[0])
                    raise RateLimited(f"daily call limit of {self.per_day} reached", retry_after_seconds=retry)
                if len(self._minute) < self.per_minute:
                    self._minute.append(now)
                    self._day.append(now)
                    return
                wait = 60 - (now - self._minute[0])
            if self.clock() + wait > deadline:
                # Hand the wait to Temporal rather than holding an activity slot for a minute.
                raise RateLimited(f"per-minute call limit of {self.per_minute} reached", retry_after_seconds=wait)
            time.sleep(min(wait, 1.0))

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._wait_for_window()
        if not self._slots.acquire(timeout=self.max_wait):
            raise RateLimited("too many concurrent calls to this ledger", retry_after_seconds=1.0)
        try:
            yield
        finally:
            self._slots.release()
