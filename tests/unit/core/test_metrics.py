from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.core.metrics import LATENCY_BUCKETS_S, Histogram, Stats


@dataclass(slots=True)
class _Inner(Stats):
    n: int = 0


@dataclass(slots=True)
class _Outer(Stats):
    frames: int = 0
    lag: float = 0.0
    up: bool = False
    name: str = "x"
    by_code: Counter = field(default_factory=Counter)
    inner: _Inner = field(default_factory=_Inner)


def test_as_dict_flattens_counters_and_nested_stats():
    s = _Outer(frames=3, by_code=Counter({"50011": 2}), inner=_Inner(5))
    d = s.as_dict()
    assert d == {"frames": 3, "lag": 0.0, "up": False, "name": "x", "by_code": {"50011": 2}, "inner": {"n": 5}}
    assert type(d["by_code"]) is dict


def test_add_sums_numbers_merges_counters_and_leaves_flags():
    a = _Outer(frames=1, lag=0.5, by_code=Counter(a=1), inner=_Inner(1))
    a.add(_Outer(frames=2, lag=0.25, up=True, name="y", by_code=Counter(a=2, b=1), inner=_Inner(2)))
    assert (a.frames, a.lag, a.up, a.name, dict(a.by_code), a.inner.n) == (3, 0.75, False, "x", {"a": 3, "b": 1}, 3)
    with pytest.raises(TypeError):
        a.add(_Inner())


def test_every_component_stats_derives_from_the_one_base():
    from hftlab.cache.manager import CacheStats
    from hftlab.collect.recorder import RecorderStats
    from hftlab.okx.book import BookStats
    from hftlab.okx.client import ClientStats
    from hftlab.okx.queue import QueueStats
    from hftlab.sim.hub import SimStats

    for cls in (CacheStats, RecorderStats, BookStats, ClientStats, QueueStats, SimStats):
        assert issubclass(cls, Stats), cls


def test_latency_buckets_span_10us_to_10s():
    assert LATENCY_BUCKETS_S[0] == pytest.approx(1e-5) and LATENCY_BUCKETS_S[-1] == 10.0
    assert all(a < b for a, b in zip(LATENCY_BUCKETS_S, LATENCY_BUCKETS_S[1:]))


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=200))
def test_histogram_counts_match_a_direct_count(values):
    h = Histogram()
    for v in values:
        h.observe(v)
    assert h.count == len(values) and h.sum == pytest.approx(sum(values))
    for le, n in h.cumulative():
        assert n == sum(1 for v in values if v <= le)


def test_histogram_quantile_is_the_bucket_bound():
    h = Histogram((0.001, 0.01, 0.1))
    assert h.quantile(0.5) != h.quantile(0.5)  # empty: NaN
    for v in (0.0005,) * 90 + (0.05,) * 10:
        h.observe(v)
    assert h.quantile(0.5) == 0.001 and h.quantile(0.95) == 0.1 and h.quantile(1.0) == 0.1
    h.observe(5.0)
    assert h.quantile(1.0) == float("inf")
    with pytest.raises(ValueError):
        Histogram((1.0, 1.0))
