import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hftlab.core.config import REPO_ROOT
from hftlab.strategy.rule import Position, SignalRule, decide, edge, edge_of

EDGES = arrays(np.float64, st.integers(0, 60), elements=st.one_of(st.floats(-1, 1), st.just(np.nan)))

# levels on a coarse grid, so that edges land exactly on thresholds as often as between them
LEVELS = st.sampled_from([round(0.05 * k, 2) for k in range(-6, 11)])
PROBA = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.45, 0.5, 0.55, 1.0]))
ROWS = st.lists(st.one_of(st.tuples(PROBA, PROBA), st.just((np.nan, np.nan))), max_size=80)


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
    with pytest.raises(ValueError, match="cannot exceed"):
        SignalRule(0.1, exit_threshold=0.2)


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


def _proba(rows) -> np.ndarray:
    """(down, flat, up) rows from (down, up) pairs; the flat column is whatever is left."""
    return np.array([[d, 1 - d - u, u] for d, u in rows], dtype=np.float64).reshape(-1, 3)


@pytest.mark.parametrize("allow_short", [False, True])
@pytest.mark.parametrize("hysteresis", [False, True])
@given(rows=ROWS, threshold=LEVELS, exit_threshold=LEVELS)
def test_batch_equals_streaming(rows, threshold, exit_threshold, allow_short, hysteresis):
    assume(threshold >= 0 and not (hysteresis and exit_threshold > threshold))  # else not a valid rule
    exit_threshold = exit_threshold if hysteresis else None
    proba = _proba(rows)
    batch = decide(edge(proba), threshold, exit_threshold, allow_short)
    rule = SignalRule(threshold, exit_threshold, allow_short)
    streamed = [rule.step(p) for p in proba]
    assert [int(p) for p in streamed] == batch.tolist()
    assert all(type(p) is Position for p in streamed)
    assert rule.position == (streamed[-1] if streamed else Position.FLAT)
    # float32 probabilities (what a predictor returns) give the same positions both ways
    p32 = proba.astype(np.float32)
    rule32 = SignalRule(threshold, exit_threshold, allow_short)
    assert [int(rule32.step(p)) for p in p32] == decide(edge(p32), threshold, exit_threshold, allow_short).tolist()


def test_streaming_from_the_edge_and_from_probabilities_agree():
    rule, twin = SignalRule(0.1, 0.0, allow_short=True), SignalRule(0.1, 0.0, allow_short=True)
    for p in ([0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1], [np.nan] * 3, [0.2, 0.6, 0.2]):
        assert rule.step(p) == twin.step_edge(edge_of(p))
    assert edge_of([0.25, 0.25, 0.5]) == 0.25


def test_the_streaming_rule_never_imports_numba():
    code = ("import sys\n"
            "from hftlab.strategy.rule import SignalRule\n"
            "r = SignalRule(0.1, 0.05, allow_short=True)\n"
            "assert [int(r.step(p)) for p in ([0.1, 0.2, 0.7], [0.1, 0.72, 0.18], [0.8, 0.1, 0.1])] == [1, 1, -1]\n"
            "assert 'numba' not in sys.modules, 'numba was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
