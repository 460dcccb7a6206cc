import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.strategy import sizing
from hftlab.strategy.config import SizingConfig

edges = st.one_of(st.floats(-1, 1), st.just(math.nan))
vols = st.one_of(st.floats(0, 0.05), st.just(math.nan), st.just(math.inf))
cfgs = st.builds(SizingConfig, mode=st.sampled_from(["fixed", "scaled"]),
                 notional_usd=st.floats(10, 10_000), target_vol_bps=st.one_of(st.none(), st.floats(0.1, 50)),
                 max_vol_scale=st.floats(1, 5), min_fraction=st.floats(0, 0.5))


@given(st.lists(st.tuples(edges, vols), max_size=30), st.floats(0, 0.9), cfgs, st.floats(1, 20_000))
def test_batch_equals_scalar(rows, threshold, cfg, cap):
    e = np.array([r[0] for r in rows], dtype=float)
    v = np.array([r[1] for r in rows], dtype=float)
    batch = sizing.notional_batch(e, v, threshold, cfg, cap)
    scalar = [sizing.notional(a, b, threshold, cfg, cap) for a, b in rows]
    np.testing.assert_allclose(batch, scalar, rtol=1e-12, atol=0)


def test_scaled_sizing_by_conviction_and_volatility():
    cfg = SizingConfig(mode="scaled", notional_usd=1000, target_vol_bps=10)
    assert sizing.notional(0.1, 0.001, 0.1, cfg, 5000) == 0.0  # at the threshold: no conviction
    assert sizing.notional(0.55, 0.001, 0.1, cfg, 5000) == pytest.approx(500.0)  # half conviction, vol on target
    assert sizing.notional(1.0, 0.002, 0.1, cfg, 5000) == pytest.approx(500.0)  # twice the vol: half the size
    assert sizing.notional(1.0, 0.0001, 0.1, cfg, 5000) == pytest.approx(2000.0)  # capped at max_vol_scale 2
    assert sizing.notional(1.0, 0.0001, 0.1, cfg, 1500) == 1500.0  # and at the risk cap
    assert sizing.notional(1.0, math.nan, 0.1, cfg, 5000) == 0.0  # unknown vol: no position
    assert sizing.notional(1.0, 0.001, 0.1, SizingConfig(mode="fixed", notional_usd=700), 5000) == 700.0
    assert sizing.notional(0.15, 0.001, 0.1, SizingConfig(notional_usd=1000, min_fraction=0.1), 5000) == 0.0
