"""Reconnect backoff: capped, fully jittered, reset after success."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.core.backoff import Backoff


@settings(deadline=None)
@given(
    initial=st.floats(0.01, 5),
    ratio=st.floats(1, 1000),
    factor=st.floats(1, 4),
    seed=st.integers(0, 2**32),
    n=st.integers(1, 200),
)
def test_every_delay_is_within_zero_and_the_capped_exponential(initial, ratio, factor, seed, n):
    b = Backoff(initial, initial * ratio, factor, random.Random(seed))
    for attempt in range(n):
        ceiling = min(initial * ratio, initial * factor**attempt) if attempt < 2000 else initial * ratio
        d = b.next_delay()
        assert 0.0 <= d <= ceiling * (1 + 1e-12)
        assert d <= b.max_s


def test_ceiling_grows_geometrically_then_stays_at_the_cap():
    b = Backoff(0.5, 30.0, 2.0)
    assert [b.ceiling(n) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert b.ceiling(10_000) == 30.0  # no float overflow however long the outage


def test_full_jitter_spreads_delays_over_the_whole_window():
    b = Backoff(1.0, 8.0, 2.0, random.Random(1))
    for _ in range(10):
        b.next_delay()
    delays = [b.next_delay() for _ in range(2000)]  # all at the cap: uniform(0, 8)
    assert min(delays) < 0.8 and max(delays) > 7.2
    assert 3.5 < sum(delays) / len(delays) < 4.5


def test_reset_after_success_starts_over():
    b = Backoff(0.1, 10.0, 2.0, random.Random(3))
    for _ in range(20):
        b.next_delay()
    assert b.ceiling() == 10.0
    b.reset()
    assert b.attempt == 0 and b.ceiling() == 0.1
    assert b.next_delay() <= 0.1


@pytest.mark.parametrize("kw", [dict(initial_s=0), dict(initial_s=2, max_s=1), dict(factor=0.5)])
def test_bad_parameters_are_refused_with_a_reason(kw):
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(**kw)
