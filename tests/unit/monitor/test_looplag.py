"""Event-loop lag: a callback that holds the loop shows up as that much lag, never less than zero."""

from __future__ import annotations

import asyncio
import time

import pytest

from hftlab.monitor.looplag import LoopLag


def test_observations_go_to_the_histogram_and_the_worst_is_kept():
    lag = LoopLag(0.1)
    for s in (0.002, 0.3, -0.001, 0.05):
        lag.observe(s)
    assert lag.stats.lag.count == 4
    assert lag.stats.max_s == 0.3
    assert lag.stats.lag.sum == pytest.approx(0.352)  # early wake-ups count as no lag


async def test_a_callback_holding_the_loop_is_measured_as_lag():
    lag = LoopLag(0.01)
    task = asyncio.get_running_loop().create_task(lag.run())
    await asyncio.sleep(0)  # the sampler is asleep now
    time.sleep(0.2)  # holds the loop: the sampler wakes at least this late
    while lag.stats.lag.count == 0:
        await asyncio.sleep(0.01)
    task.cancel()
    assert lag.stats.max_s >= 0.19 - 0.01


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError):
        LoopLag(0)
