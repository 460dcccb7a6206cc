"""The simulator's own tasks are supervised: a market loop that fails is counted and comes back."""

from __future__ import annotations

import asyncio

from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer


async def _until(pred, what: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_market_loop_that_fails_is_restarted_and_counted():
    async with SimServer(SimConfig(seed=1, book_interval_ms=20)) as sim:
        real, calls = sim.clock.wall_delay_s, []

        def flaky(market_ms: int) -> float:
            calls.append(market_ms)
            if len(calls) == 3:
                raise RuntimeError("clock bug")
            return real(market_ms)

        sim.clock.wall_delay_s = flaky
        await _until(lambda: sim.stats.task_failures["feed"] == 1, "the failure")
        steps = sim.stats.steps
        await _until(lambda: sim.stats.steps > steps + 5, "the market to go on")
