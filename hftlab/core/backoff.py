"""Reconnect delays: capped exponential backoff with full jitter.

Attempt n waits uniform(0, min(cap, initial * factor**n)) seconds ("full jitter", AWS architecture
blog): many clients dropped by the same venue incident spread their reconnects over the whole
window instead of arriving together at each power of two, and the cap keeps a long outage from
growing the wait without bound (cryptofeed's backoff has neither). `reset()` after a connection has
proved healthy starts the sequence over.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if not (self.initial_s > 0 and self.max_s >= self.initial_s and self.factor >= 1):
            raise ValueError(
                f"backoff needs 0 < initial_s <= max_s and factor >= 1 (got initial_s={self.initial_s}, "
                f"max_s={self.max_s}, factor={self.factor})"
            )

    def ceiling(self, attempt: int | None = None) -> float:
        """The upper bound of the delay drawn for `attempt` (default: the next one)."""
        n = self.attempt if attempt is None else attempt
        # Stop multiplying once over the cap: factor**n overflows a float for large n.
        bound = self.initial_s
        for _ in range(n):
            bound *= self.factor
            if bound >= self.max_s:
                return self.max_s
        return min(bound, self.max_s)

    def next_delay(self) -> float:
        delay = self.rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
