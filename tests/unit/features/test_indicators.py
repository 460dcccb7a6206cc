"""RSI / MACD / Bollinger: TA-Lib parity on real candles, streaming == batch, edge cases, bad periods."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.features.indicators import MACD, RSI, Bollinger, bollinger, macd, rsi

RTOL = 1e-9
# The MACD line is a difference of two EMAs of the price: where it crosses zero, rounding at the
# price's scale (TA-Lib's build fuses multiply-adds) is unbounded relative to the difference, so
# MACD outputs also get an absolute allowance of 1e-12 x close (about 5,000 ulps of the price).
PRICE_ATOL = 1e-12
PARAMS = [  # (rsi period, (fast, slow, signal), (bb period, nbdev))
    (14, (12, 26, 9), (20, 2.0)),
    (5, (5, 35, 3), (9, 1.5)),
    (2, (2, 3, 1), (2, 0.5)),
]


def assert_matches_talib(ours: np.ndarray, ref: np.ndarray, lookback: int, atol=0.0) -> None:
    assert np.isnan(ours[:lookback]).all() and np.isnan(ref[:lookback]).all()
    assert np.isfinite(ours[lookback:]).all()
    atol = atol[lookback:] if isinstance(atol, np.ndarray) else atol
    np.testing.assert_array_less(np.abs(ours[lookback:] - ref[lookback:]), RTOL * np.abs(ref[lookback:]) + atol + 1e-300)


def stream(obj, xs) -> np.ndarray:
    return np.array([obj.update(x) for x in xs], dtype=np.float64)


def batch_all(x, rp=14, m=(12, 26, 9), b=(20, 2.0)) -> np.ndarray:
    return np.column_stack([rsi(x, rp), *macd(x, *m), *bollinger(x, *b)])


def stream_all(xs, rp=14, m=(12, 26, 9), b=(20, 2.0)) -> np.ndarray:
    r, mc, bb = RSI(rp), MACD(*m), Bollinger(*b)
    return np.array([(r.update(x), *mc.update(x), *bb.update(x)) for x in xs], dtype=np.float64).reshape(-1, 7)


# ---- TA-Lib parity on every real candle file -------------------------------------------------

@pytest.mark.parametrize(("rp", "m", "b"), PARAMS)
def test_matches_talib_on_real_candles(candles, rp, m, b):
    close = candles["close"].to_numpy(dtype=np.float64)
    assert_matches_talib(rsi(close, rp), talib.RSI(close, rp), rp)
    lookback = m[1] + m[2] - 2
    for ours, ref in zip(macd(close, *m), talib.MACD(close, *m), strict=True):
        assert_matches_talib(ours, ref, lookback, PRICE_ATOL * close)
    ref = talib.BBANDS(close, b[0], b[1], b[1], 0)
    for ours, r in zip(bollinger(close, *b), ref, strict=True):
        assert_matches_talib(ours, r, b[0] - 1)


def test_streaming_equals_batch_on_real_candles(candles):
    close = candles["close"].to_numpy(dtype=np.float64)
    xs = close.tolist()
    np.testing.assert_array_equal(stream_all(xs), batch_all(close))


def test_bollinger_is_at_least_as_accurate_as_talib(candles):
    """Against an exact window std (long double, two passes): never worse than TA-Lib by more than
    rounding, and exactly zero width on windows of equal closes (which the 5m files contain)."""
    close = candles["close"].to_numpy(dtype=np.float64)
    w = np.lib.stride_tricks.sliding_window_view(close.astype(np.longdouble), 20)
    exact = np.sqrt(((w - w.mean(axis=1)[:, None]) ** 2).mean(axis=1)).astype(np.float64)
    upper, middle, _ = bollinger(close, 20, 1.0)
    t_upper, t_middle, _ = talib.BBANDS(close, 20, 1.0, 1.0, 0)
    ours, theirs = (upper - middle)[19:], (t_upper - t_middle)[19:]
    moving = exact > 0
    err_ours = np.abs(ours - exact)[moving] / exact[moving]
    err_talib = np.abs(theirs - exact)[moving] / exact[moving]
    assert err_ours.max() <= max(err_talib.max(), 1e-12)
    assert (ours[~moving] == 0).all()


# ---- streaming == batch, NaN handling, edge cases (property tests) ---------------------------

steps = st.floats(-0.05, 0.05, allow_nan=False)
walks = st.lists(steps, min_size=0, max_size=120).map(lambda s: (100.0 * np.exp(np.cumsum(s))).tolist())
# prices with NaN/inf holes and runs of equal values (flat markets, where Bollinger's width is 0)
holes = st.lists(st.one_of(st.floats(40.0, 60.0), st.sampled_from([50.0, 50.5]), st.just(math.nan),
                           st.just(math.inf), st.just(-math.inf)), max_size=150)
small_params = st.tuples(
    st.integers(2, 6), st.integers(2, 4).flatmap(lambda f: st.tuples(st.just(f), st.integers(f + 1, 8), st.integers(1, 4))),
    st.tuples(st.integers(2, 6), st.floats(0.0, 3.0)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xs=holes, params=small_params)
def test_streaming_equals_batch_with_gaps_and_nans(xs, params):
    rp, m, b = params
    np.testing.assert_array_equal(stream_all(xs, rp, m, b), batch_all(np.array(xs, dtype=np.float64), rp, m, b))


@settings(max_examples=100, deadline=None)
@given(a=walks, b=walks, bad=st.sampled_from([math.nan, math.inf, -math.inf]), params=small_params)
def test_a_missing_close_restarts_the_warm_up(a, b, bad, params):
    """Output over a + [bad] + b == output over a, a row of NaN, output over b alone."""
    rp, m, bb = params
    joined = batch_all(np.array(a + [bad] + b), rp, m, bb)
    expected = np.vstack([batch_all(np.array(a), rp, m, bb).reshape(-1, 7), np.full((1, 7), np.nan),
                          batch_all(np.array(b), rp, m, bb).reshape(-1, 7)])
    np.testing.assert_array_equal(joined, expected)


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.floats(-0.02, 0.02).filter(lambda v: abs(v) > 1e-6), min_size=1, max_size=200),
       params=small_params)
def test_matches_talib_on_random_walks(xs, params):
    rp, m, (bp, k) = params
    close = 1000.0 * np.exp(np.cumsum(xs))
    ours = batch_all(close, rp, m, (bp, k))
    ref = np.column_stack([talib.RSI(close, rp), *talib.MACD(close, *m), *talib.BBANDS(close, bp, k, k, 0)])
    lookbacks = [rp] + [m[1] + m[2] - 2] * 3 + [bp - 1] * 3
    for j, lb in enumerate(lookbacks):
        assert_matches_talib(ours[:, j], ref[:, j], lb, PRICE_ATOL * close if 1 <= j <= 3 else 0.0)


@settings(max_examples=50, deadline=None)
@given(price=st.floats(1e-9, 1e9), n=st.integers(0, 80), params=small_params)
def test_constant_prices(price, n, params):
    rp, m, (bp, k) = params
    x = np.full(n, price)
    r = rsi(x, rp)
    assert (r[rp:] == 50.0).all()  # neutral, where TA-Lib says 0 (documented difference)
    for line in macd(x, *m):
        assert (np.abs(line[m[1] + m[2] - 2:]) <= 1e-12 * price).all()
    for band in bollinger(x, bp, k):
        assert (band[bp - 1:] == price).all()


@pytest.mark.parametrize("n", [0, 1, 5, 13, 14])
def test_short_series_are_all_nan(n):
    x = np.linspace(10.0, 11.0, n)
    assert rsi(x, 14).shape == (n,) and np.isnan(rsi(x, 14)).all()
    assert all(np.isnan(v).all() and v.shape == (n,) for v in macd(x, 12, 26, 9))
    assert all(np.isnan(v).all() for v in bollinger(x, 15))
    assert np.isnan(stream(RSI(14), x.tolist())).all()


def test_accepts_lists_and_series_and_ints():
    import pandas as pd

    x = [1, 2, 3, 2, 5, 4, 6, 7, 5, 8]
    np.testing.assert_array_equal(rsi(x, 3), rsi(pd.Series(x, dtype=float), 3))
    np.testing.assert_array_equal(stream(RSI(3), x), rsi(x, 3))


# ---- invalid parameters ------------------------------------------------------------------------

@pytest.mark.parametrize("period", [0, -1, 1, 2.5, True, None, "14"])
def test_bad_rsi_period(period):
    with pytest.raises(ValueError, match="period must be an integer >= 2"):
        rsi(np.ones(30), period)
    with pytest.raises(ValueError, match="period must be an integer >= 2"):
        RSI(period)


@pytest.mark.parametrize(("fast", "slow", "signal", "msg"), [
    (26, 12, 9, "fast must be shorter than slow"),
    (12, 12, 9, "fast must be shorter than slow"),
    (0, 26, 9, "fast must be an integer >= 2"),
    (12, 26, 0, "signal must be an integer >= 1"),
    (12, -26, 9, "slow must be an integer >= 2"),
])
def test_bad_macd_periods(fast, slow, signal, msg):
    with pytest.raises(ValueError, match=msg):
        macd(np.ones(50), fast, slow, signal)
    with pytest.raises(ValueError, match=msg):
        MACD(fast, slow, signal)


@pytest.mark.parametrize(("period", "nbdev", "msg"), [
    (1, 2.0, "period must be an integer >= 2"),
    (0, 2.0, "period must be an integer >= 2"),
    (20, -1.0, "nbdev must be a finite number >= 0"),
    (20, math.nan, "nbdev must be a finite number >= 0"),
    (20, math.inf, "nbdev must be a finite number >= 0"),
])
def test_bad_bollinger_parameters(period, nbdev, msg):
    with pytest.raises(ValueError, match=msg):
        bollinger(np.ones(50), period, nbdev)
    with pytest.raises(ValueError, match=msg):
        Bollinger(period, nbdev)


def test_two_dimensional_input_is_refused():
    with pytest.raises(ValueError, match="one-dimensional"):
        rsi(np.ones((10, 2)))
