"""Token buckets for OKX's connection (3/s) and subscribe/login (480/h per connection) limits."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.core.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_burst_then_refill_at_the_rate():
    clock = FakeClock()
    b = TokenBucket(rate=3.0, capacity=3.0, clock=clock)
    assert [b.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert b.delay_for() == pytest.approx(1 / 3)
    clock.t += 1 / 3
    assert b.try_acquire() and not b.try_acquire()
    clock.t += 100
    assert b.tokens == 3.0  # never above capacity


@settings(deadline=None)
@given(
    burst=st.integers(1, 479),
    gaps=st.lists(st.floats(0, 120), min_size=1, max_size=600),
)
def test_within_never_admits_more_than_the_limit_in_any_window(burst, gaps):
    """Greedy use (an op whenever a token exists) over random idle gaps: any 3600 s window holds <= 480."""
    clock = FakeClock()
    b = TokenBucket.within(480, 3600.0, burst, clock=clock)
    admitted = []
    for gap in gaps:
        clock.t += gap
        while b.try_acquire():
            admitted.append(clock.t)
    j = 0
    for i, t in enumerate(admitted):
        while admitted[j] <= t - 3600.0:
            j += 1
        assert i - j + 1 <= 480


async def test_acquire_waits_for_a_token_and_counts_the_wait():
    b = TokenBucket(rate=50.0, capacity=1.0)
    assert await b.acquire() == 0.0
    waited = await b.acquire()
    assert waited > 0 and b.waits == 1


async def test_concurrent_acquirers_never_overdraw():
    clock = FakeClock()
    b = TokenBucket(rate=10.0, capacity=2.0, clock=clock)

    async def advance():  # the fake clock moves only while acquirers sleep
        while True:
            await asyncio.sleep(0)
            clock.t += 0.01

    ticker = asyncio.create_task(advance())
    start = clock.t
    await asyncio.gather(*(b.acquire() for _ in range(6)))
    ticker.cancel()
    # 2 tokens at once, the other 4 need 0.4 s of refill at 10/s
    assert clock.t - start >= 0.4 - 1e-9


def test_impossible_requests_are_refused():
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(1.0, 2.0).delay_for(3)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket.within(480, 3600, 480)
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(0, 1)
