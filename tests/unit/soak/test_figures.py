"""Quantiles by nearest rank, their summary, and a least-squares slope."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.soak.figures import quantile, slope, spread


def test_nearest_rank_quantiles():
    xs = list(range(1, 101))
    assert quantile(xs, 0.5) == 50 and quantile(xs, 0.99) == 99 and quantile(xs, 1.0) == 100
    assert quantile([7], 0.01) == 7
    assert math.isnan(quantile([], 0.5))


def test_spread_of_samples_and_of_none():
    assert spread([3.0, 1.0, 2.0]) == {"count": 3, "p50": 2.0, "p99": 3.0, "max": 3.0}
    assert spread([]) == {"count": 0, "p50": None, "p99": None, "max": None}


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.lists(st.floats(0, 100), min_size=2, max_size=50, unique=True))
def test_the_slope_of_points_on_a_line_is_the_line_s(a, b, xs):
    assert slope([(x, a * x + b) for x in xs]) == pytest.approx(a, rel=1e-6, abs=1e-3)


def test_no_slope_without_two_distinct_x():
    assert slope([(1.0, 2.0)]) is None and slope([(1.0, 2.0), (1.0, 3.0)]) is None
