"""Capped, jittered exponential backoff for retrying a server or database that is away."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait between attempts: `initial`, doubling each time, never above `cap`."""

    initial: float = 1.0
    cap: float = 300.0
    factor: float = 2.0

    def retries(self, rng: random.Random | None = None) -> Retries:
        return Retries(self, rng or random.Random())


@dataclass(slots=True)
class Retries:
    """The delays of one run of failures; `reset` after a success."""

    policy: Backoff
    rng: random.Random
    failures: int = field(default=0)

    def next_delay(self) -> float:
        """The wait before the next attempt, drawn from the upper half of the current step.

        Jitter keeps many pollers (or nodes) that lost the same server from
        coming back in lockstep; keeping the lower half out keeps the backoff real.
        """
        step = min(self.policy.cap, self.policy.initial * self.policy.factor**self.failures)
        if step < self.policy.cap:  # past the cap, counting on would only overflow the power
            self.failures += 1
        return self.rng.uniform(step / 2, step)

    def reset(self) -> None:
        self.failures = 0
