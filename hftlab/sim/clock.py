"""Market time: `speed` market milliseconds per wall millisecond, from a fixed start.

At speed 60 an hour of 1 s bars passes in a minute. Exchange timestamps (`ts` in frames, order
times, candles) are market time; authentication windows and keep-alive timers stay on wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class MarketClock:
    def __init__(self, start_ms: int, speed: float, wall: Callable[[], float] = time.monotonic):
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.start_ms = start_ms
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()

    def now_ms(self) -> int:
        return self.start_ms + int((self._wall() - self._wall0) * 1000.0 * self.speed)

    def rebase(self, market_ms: int) -> None:
        """Make market time `market_ms` now: used when the simulation cannot keep up with `speed`,
        so that market time slows down instead of building an ever-growing backlog."""
        self.start_ms = market_ms
        self._wall0 = self._wall()

    def wall_delay_s(self, market_ms: int) -> float:
        """Wall seconds until market time reaches `market_ms` (0 if already past)."""
        return max(0.0, (market_ms - self.now_ms()) / 1000.0 / self.speed)
