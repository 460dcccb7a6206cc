"""Time for the execution layer: wall time in Unix ms (deadlines the venue compares with its own
clock), monotonic seconds (rate budgets, latencies) and sleeping. `ManualClock` is simulated time
for the paper venue and tests: it moves only when advanced, and `sleep` advances it (one sleeper at
a time: background loops that sleep are run one per test)."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def time_ms(self) -> int: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """Integer nanoseconds, so tiny advances are never lost to float rounding; monotonic time
    starts at 0 (its origin is arbitrary) to keep its float precise."""

    def __init__(self, start_ms: int = 1_750_000_000_000):
        self._start_ns = start_ms * 1_000_000
        self._ns = 0

    def time_ms(self) -> int:
        return (self._start_ns + self._ns) // 1_000_000

    def monotonic(self) -> float:
        return self._ns / 1e9

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go back")
        self._ns += max(1, round(seconds * 1e9)) if seconds else 0

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
