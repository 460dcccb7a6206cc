"""Event-loop lag: how late the loop runs a callback that was due, i.e. how long something held it.

`LoopLag.run` sleeps `interval_s` at a time and counts how much later than asked it woke: a
callback, a parse or a journal write that keeps the loop this long delays every socket of the
process by as much. The histogram takes every sample; `max_s` is the worst seen since start.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from hftlab.core.metrics import Histogram, Stats


@dataclass(slots=True)
class LoopLagStats(Stats):
    lag: Histogram = field(default_factory=Histogram)
    max_s: float = 0.0


class LoopLag:
    def __init__(self, interval_s: float = 0.1):
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self.stats = LoopLagStats()

    def observe(self, late_s: float) -> None:
        late_s = max(0.0, late_s)
        self.stats.lag.observe(late_s)
        if late_s > self.stats.max_s:
            self.stats.max_s = late_s

    async def run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.interval_s)
            self.observe(time.monotonic() - asked - self.interval_s)
