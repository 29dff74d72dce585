"""Retry delays of the collectors: exponential back-off with jitter, so failing gateways are not hammered."""

from __future__ import annotations

import random


class Backoff:
    """Delays between retries: doubling from `base` up to `ceiling`, with +-20% jitter."""

    def __init__(self, base: float = 1.0, ceiling: float = 300.0, seed: int | None = None) -> None:
        self.base = base
        self.ceiling = ceiling
        self.failures = 0
        self._random = random.Random(seed)

    def next(self) -> float:
        """The delay before the next retry; counts one more failure."""
        delay = min(self.ceiling, self.base * 2 ** min(self.failures, 40))
        self.failures += 1
        return delay * self._random.uniform(0.8, 1.2)

    def reset(self) -> None:
        """After a success: the next delay is `base` again."""
        self.failures = 0
