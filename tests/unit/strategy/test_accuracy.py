import math

from hypothesis import given
from hypothesis import strategies as st

from hftlab.strategy.accuracy import RollingAccuracy


def test_scores_after_the_horizon():
    acc = RollingAccuracy(horizon=2, window=10)
    for close, pred in ((100, 1), (101, -1), (102, 0), (101, 1), (103, 1)):
        acc.update(close, pred)
    # 100 (up) -> 102: hit; 101 (down) -> 101: no move, not scored; 102 (flat) not scored
    assert acc.count == 1 and acc.accuracy == 1.0
    acc.update(100, 0)  # 101 (up) -> 100: miss
    assert acc.count == 2 and acc.accuracy == 0.5
    assert math.isnan(RollingAccuracy(1, 5).accuracy)


@given(st.lists(st.tuples(st.floats(1, 1000), st.sampled_from([-1, 0, 1])), max_size=80), st.integers(1, 5),
       st.integers(1, 20))
def test_rolling_equals_a_direct_count(rows, horizon, window):
    acc = RollingAccuracy(horizon, window)
    for c, p in rows:
        acc.update(c, p)
    scores = [int((rows[t + horizon][0] - rows[t][0] > 0) == (rows[t][1] > 0))
              for t in range(len(rows) - horizon) if rows[t][1] != 0 and rows[t + horizon][0] != rows[t][0]]
    tail = scores[-window:]
    assert acc.count == len(tail)
    assert (math.isnan(acc.accuracy) if not tail else acc.accuracy == sum(tail) / len(tail))
