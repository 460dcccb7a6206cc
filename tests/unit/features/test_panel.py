"""indicator_panel: every (symbol, timeframe) series gets exactly the batch functions' values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hftlab.features import FeatureSpec, bollinger, indicator_panel, macd, rsi
from hftlab.features.panel import COLUMNS

SPEC = FeatureSpec(rsi_period=7, macd_fast=5, macd_slow=13, macd_signal=4, bb_period=10, bb_nbdev=1.5)


@pytest.fixture
def panel(candles) -> dict:
    """One real instrument's closes, resampled to three timeframes, plus a short series with gaps."""
    c = candles[["ts_ms", "close"]].iloc[:6000]
    out = {("REAL", "base"): c, ("REAL", "x3"): c.iloc[2::3], ("REAL", "x60"): c.iloc[59::60]}
    gappy = c.iloc[:50].copy()
    gappy.loc[gappy.index[20], "close"] = np.nan
    out[("GAPPY", "base")] = gappy
    return out


def expected(close: np.ndarray) -> np.ndarray:
    return np.vstack([rsi(close, SPEC.rsi_period), *macd(close, SPEC.macd_fast, SPEC.macd_slow, SPEC.macd_signal),
                      *bollinger(close, SPEC.bb_period, SPEC.bb_nbdev)])


def test_mapping_panel(panel):
    out = indicator_panel(panel, SPEC)
    assert list(out.columns) == ["inst_id", "timeframe", "ts_ms", *COLUMNS]
    assert len(out) == sum(len(f) for f in panel.values())
    for (sym, tf), frame in panel.items():
        got = out[(out["inst_id"] == sym) & (out["timeframe"] == tf)]
        np.testing.assert_array_equal(got["ts_ms"].to_numpy(), frame["ts_ms"].to_numpy())
        np.testing.assert_array_equal(got[list(COLUMNS)].to_numpy().T, expected(frame["close"].to_numpy()))


def test_long_panel_with_interleaved_series(panel):
    long = pd.concat([f.assign(inst_id=k[0], timeframe=k[1]) for k, f in panel.items()])
    long = long.sort_values("ts_ms", kind="stable").reset_index(drop=True)  # series interleave in time
    out = indicator_panel(long, SPEC)
    assert out.index.equals(long.index)
    for (sym, tf), frame in panel.items():
        rows = (long["inst_id"] == sym) & (long["timeframe"] == tf)
        np.testing.assert_array_equal(out.loc[rows, list(COLUMNS)].to_numpy().T, expected(frame["close"].to_numpy()))


def test_bad_panels():
    with pytest.raises(ValueError, match="empty panel"):
        indicator_panel({})
    with pytest.raises(ValueError, match="\\(inst_id, timeframe\\) tuples"):
        indicator_panel({"BTC": pd.DataFrame({"close": [1.0]})})
    with pytest.raises(ValueError, match="lacks a close column"):
        indicator_panel({("BTC", "1s"): pd.DataFrame({"px": [1.0]})})
    with pytest.raises(ValueError, match="panel lacks columns \\['timeframe'\\]"):
        indicator_panel(pd.DataFrame({"inst_id": ["A"], "close": [1.0]}))
