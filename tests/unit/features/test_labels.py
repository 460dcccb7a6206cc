"""Labels: forward direction with a dead zone, triple barrier; the future moves labels, never features."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.domain.market import Bar
from hftlab.features import FeatureSpec, StreamingFeatures, compute_features, make_labels

closes = st.lists(st.one_of(st.floats(90.0, 110.0), st.just(math.nan)), max_size=60)


def fixed_reference(c, h, dz_bps):
    out = []
    for t in range(len(c)):
        if t + h >= len(c) or math.isnan(c[t]) or math.isnan(c[t + h]):
            out.append(math.nan)
            continue
        r = c[t + h] / c[t] - 1.0
        out.append(1.0 if r > dz_bps * 1e-4 else -1.0 if r < -dz_bps * 1e-4 else 0.0)
    return np.array(out, dtype=np.float64)


def barrier_reference(c, h, dz_bps, up_bps, lo_bps):
    out = []
    for t in range(len(c)):
        path = c[t:t + h + 1]
        if t + h >= len(c) or any(math.isnan(v) for v in path):
            out.append(math.nan)
            continue
        label = None
        for v in path[1:]:
            r = v / c[t] - 1.0
            if r >= up_bps * 1e-4:
                label = 1.0
            elif r <= -lo_bps * 1e-4:
                label = -1.0
            if label is not None:
                break
        out.append(label if label is not None else fixed_reference(path, h, dz_bps)[0])
    return np.array(out, dtype=np.float64)


@settings(max_examples=150, deadline=None)
@given(c=closes, h=st.integers(1, 8), dz=st.floats(0.0, 300.0))
def test_fixed_horizon_labels(c, h, dz):
    got = make_labels(np.array(c), h, dz)
    np.testing.assert_array_equal(got, fixed_reference(c, h, dz))
    assert set(np.unique(got[~np.isnan(got)])) <= {-1.0, 0.0, 1.0}
    assert np.isnan(got[max(len(c) - h, 0):]).all()  # the last h bars have no known future


@settings(max_examples=150, deadline=None)
@given(c=closes, h=st.integers(1, 8), dz=st.floats(0.0, 100.0), up=st.floats(1.0, 800.0), lo=st.floats(1.0, 800.0))
def test_triple_barrier_labels(c, h, dz, up, lo):
    got = make_labels(np.array(c), h, dz, method="triple_barrier", upper_bps=up, lower_bps=lo)
    np.testing.assert_array_equal(got, barrier_reference(c, h, dz, up, lo))


def test_triple_barrier_takes_the_first_barrier_touched():
    c = [100.0, 100.5, 98.0, 103.0, 100.0]  # down 2% at t+2 comes before up 3% at t+3
    got = make_labels(c, 4, 10.0, method="triple_barrier", upper_bps=150.0, lower_bps=150.0)
    assert got[0] == -1.0
    got = make_labels(c, 4, 10.0, method="triple_barrier", upper_bps=40.0, lower_bps=150.0)
    assert got[0] == 1.0  # +0.5% at t+1 reaches a 0.4% upper barrier first
    # neither barrier within the horizon: the dead-zone label at the horizon (0.0% -> 0)
    assert make_labels(c, 4, 10.0, method="triple_barrier", upper_bps=500.0, lower_bps=500.0)[0] == 0.0


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"horizon": 0, "dead_zone_bps": 1.0}, "horizon must be an integer >= 1"),
    ({"horizon": 5, "dead_zone_bps": -1.0}, "dead_zone_bps must be a finite number >= 0"),
    ({"horizon": 5, "dead_zone_bps": math.nan}, "dead_zone_bps must be a finite number >= 0"),
    ({"horizon": 5, "dead_zone_bps": 1.0, "method": "magic"}, "method must be one of"),
    ({"horizon": 5, "dead_zone_bps": 1.0, "upper_bps": 10.0}, "apply to method='triple_barrier' only"),
    ({"horizon": 5, "dead_zone_bps": 1.0, "method": "triple_barrier"}, "needs upper_bps and lower_bps"),
    ({"horizon": 5, "dead_zone_bps": 1.0, "method": "triple_barrier", "upper_bps": 0.0, "lower_bps": 5.0},
     "upper_bps must be a finite number > 0"),
])
def test_bad_label_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        make_labels(np.linspace(100, 101, 20), **kwargs)


def test_perturbing_the_future_changes_labels_and_never_features(btc_1m):
    """Change every close after t0: features up to t0 (batch and streaming) stay bit-identical,
    while labels of bars whose horizon reaches past t0 change."""
    spec = FeatureSpec(flow_window=0, book_levels=0)
    bars = btc_1m.iloc[:3000].reset_index(drop=True)
    t0, h = 2000, 10
    future = bars.copy()
    rng = np.random.default_rng(5)
    future.loc[t0 + 1:, "close"] *= np.exp(rng.normal(0.0, 0.01, len(bars) - t0 - 1))
    future.loc[t0 + 1:, "volume"] *= 3.0

    before, after = compute_features(bars, spec), compute_features(future, spec)
    np.testing.assert_array_equal(before.iloc[: t0 + 1].to_numpy(), after.iloc[: t0 + 1].to_numpy())
    assert not np.array_equal(before.iloc[t0 + 1:].to_numpy(), after.iloc[t0 + 1:].to_numpy(), equal_nan=True)

    def live(df):
        sf = StreamingFeatures(spec)
        return np.vstack([sf.update_bar(Bar("BTC", "1m", int(r.ts_ms), r.open, r.high, r.low, r.close, r.volume,
                                            0, np.nan, np.nan, np.nan)) for r in df.iloc[: t0 + 1].itertuples()])

    np.testing.assert_array_equal(live(bars), live(future))

    for method, extra in (("fixed", {}), ("triple_barrier", {"upper_bps": 20.0, "lower_bps": 20.0})):
        lb, la = (make_labels(df["close"].to_numpy(), h, 2.0, method=method, **extra) for df in (bars, future))
        np.testing.assert_array_equal(lb[: t0 + 1 - h], la[: t0 + 1 - h])  # horizon ends at or before t0
        assert not np.array_equal(lb[t0 + 1 - h: t0 + 1], la[t0 + 1 - h: t0 + 1])
