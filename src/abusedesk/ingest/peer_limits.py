"""Per-peer limits, so that one noisy sender cannot starve the feedback loops of the others."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
FORGET_AFTER_PEERS = 10_000


class PeerLimits:
    """Counts open connections and recent messages per peer address."""

    def __init__(
        self,
        max_connections: int,
        max_messages_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_connections = max_connections
        self._max_messages = max_messages_per_minute
        self._clock = clock
        self._connections: Counter[str] = Counter()
        self._messages: dict[str, deque[float]] = {}

    def open_connection(self, peer: str) -> bool:
        """Register a connection; False (and nothing registered) when the peer has too many."""
        if self._connections[peer] >= self._max_connections:
            return False
        self._connections[peer] += 1
        return True

    def close_connection(self, peer: str) -> None:
        self._connections[peer] -= 1
        if self._connections[peer] <= 0:
            del self._connections[peer]

    def allow_message(self, peer: str) -> bool:
        """Register a message; False when the peer sent too many in the last minute."""
        now = self._clock()
        if len(self._messages) > FORGET_AFTER_PEERS:
            self.forget_idle()
        recent = self._messages.setdefault(peer, deque())
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self._max_messages:
            return False
        recent.append(now)
        return True

    def forget_idle(self) -> None:
        """Drop bookkeeping of peers with nothing recent, so memory stays bounded."""
        now = self._clock()
        idle = [
            p
            for p, times in self._messages.items()
            if not times or times[-1] <= now - WINDOW_SECONDS
        ]
        for peer in idle:
            del self._messages[peer]
