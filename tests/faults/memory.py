"""Sample a process's resident memory in the background while a fault is applied."""

from __future__ import annotations

import threading
from collections.abc import Callable


class PeakSampler:
    """The highest value `read()` returned between `__enter__` and `__exit__`."""

    def __init__(self, read: Callable[[], int], interval: float = 0.02) -> None:
        self._read = read
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.baseline = read()
        self.peak = self.baseline

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._read())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, self._read())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline
