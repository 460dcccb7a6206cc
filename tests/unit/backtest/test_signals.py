import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hftlab.backtest.signals import decide, edge

EDGES = arrays(np.float64, st.integers(0, 60), elements=st.one_of(st.floats(-1, 1), st.just(np.nan)))


def test_edge_is_up_minus_down_and_checks_the_shape():
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [np.nan, np.nan, np.nan]])
    np.testing.assert_allclose(edge(p), [0.3, -0.5, np.nan])
    with pytest.raises(ValueError, match="down, flat, up"):
        edge(np.zeros((4, 2)))


def test_long_while_above_threshold_flat_otherwise_and_nan_is_flat():
    e = np.array([0.0, 0.15, 0.3, 0.12, 0.05, np.nan, 0.2, -0.4])
    assert decide(e, 0.1).tolist() == [0, 1, 1, 1, 0, 0, 1, 0]


def test_hysteresis_keeps_a_position_through_small_dips():
    e = np.array([0.2, 0.05, 0.01, 0.0, 0.05])
    assert decide(e, 0.1, exit_threshold=0.0).tolist() == [1, 1, 1, 0, 0]


def test_shorts_mirror_longs_and_reverse_in_one_step():
    e = np.array([-0.3, -0.05, 0.02, 0.4, -0.4, -0.02])
    assert decide(e, 0.1, exit_threshold=0.0, allow_short=True).tolist() == [-1, -1, 0, 1, -1, -1]
    assert decide(e, 0.1).tolist() == [0, 0, 0, 1, 0, 0]


def test_exit_threshold_above_threshold_is_refused():
    with pytest.raises(ValueError, match="cannot exceed"):
        decide(np.zeros(3), 0.1, exit_threshold=0.2)


@given(EDGES, st.floats(0, 0.9))
def test_without_hysteresis_the_rule_is_memoryless(e, threshold):
    np.testing.assert_array_equal(decide(e, threshold), np.where(e > threshold, 1, 0))
    expected = np.where(e > threshold, 1, np.where(e < -threshold, -1, 0))
    np.testing.assert_array_equal(decide(e, threshold, allow_short=True), expected)


@given(EDGES, st.floats(0.01, 0.9), st.floats(0, 1))
def test_with_hysteresis_positions_change_only_where_the_rule_says(e, threshold, frac):
    exit_threshold = threshold * frac
    pos = decide(e, threshold, exit_threshold)
    prev = np.concatenate([[0], pos[:-1]])
    entered = (pos == 1) & (prev == 0)
    left = (pos == 0) & (prev == 1)
    assert (e[entered] > threshold).all()
    assert (~(e[left] > exit_threshold)).all()  # at or below the exit threshold, or NaN
    held = (pos == 1) & (prev == 1)
    assert (e[held] > exit_threshold).all()
