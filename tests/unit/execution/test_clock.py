"""Clocks: simulated time moves only when told (or slept), by whole nanoseconds, never back."""

from __future__ import annotations

import pytest

from hftlab.execution.clock import ManualClock, SystemClock


async def test_manual_clock():
    c = ManualClock(start_ms=1_000)
    assert (c.time_ms(), c.monotonic()) == (1_000, 0.0)
    c.advance(1.5)
    assert (c.time_ms(), c.monotonic()) == (2_500, 1.5)
    before = c.monotonic()
    c.advance(1e-9)  # a hair: still moves (a budget wait of a few ns must not spin)
    assert c.monotonic() > before
    await c.sleep(2)
    assert c.time_ms() == 4_500
    with pytest.raises(ValueError):
        c.advance(-1)


async def test_system_clock_moves_forward():
    c = SystemClock()
    a = c.monotonic()
    await c.sleep(0.001)
    assert c.monotonic() > a and c.time_ms() > 1_700_000_000_000
