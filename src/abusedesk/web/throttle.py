"""Login rate limiting: too many failed sign-ins for one user or from one address wait a while.

Failures are counted per username and per client address over a sliding
window, in this process's memory (a node restart forgets them; each node
counts its own). A successful sign-in clears the username's count.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60


@dataclass
class LoginThrottle:
    clock: Callable[[], float] = time.monotonic
    per_user: int = MAX_FAILURES_PER_USER
    per_address: int = MAX_FAILURES_PER_ADDRESS
    window: float = WINDOW_SECONDS
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = self.clock()
        with self._lock:
            waits = [
                self._wait(f"user:{username.lower()}", self.per_user, now),
                self._wait(f"addr:{address}", self.per_address, now),
            ]
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"user:{username.lower()}", f"addr:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        return times[-limit] + self.window - now
