"""compute_features: inputs checked with clear errors; missing data; book features from live-style levels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hftlab.features import FeatureSpec, book_features, compute_features

NO_BOOK = FeatureSpec(book_levels=0)


def bars(n=60, **cols) -> pd.DataFrame:
    close = 100.0 * np.exp(np.cumsum(np.sin(np.arange(n)) * 0.01))
    base = {"ts_ms": np.arange(n) * 1000, "close": close, "volume": np.full(n, 2.0),
            "buy_volume": np.full(n, 1.5), "sell_volume": np.full(n, 0.5)}
    base.update(cols)
    return pd.DataFrame(base)


def test_values_of_the_simple_features():
    df = bars()
    f = compute_features(df, FeatureSpec(return_horizons=(1, 3), vol_window=4, flow_window=2, book_levels=0))
    c = df["close"].to_numpy()
    np.testing.assert_allclose(f["ret_3"].iloc[3:], np.log(c[3:] / c[:-3]), rtol=1e-15)
    r = np.log(c[1:] / c[:-1])
    assert f["rv_4"].iloc[4] == pytest.approx(math.sqrt(np.sum(r[:4] ** 2)), rel=1e-14)
    assert np.isnan(f["rv_4"].iloc[:4]).all()
    np.testing.assert_allclose(f["log_volume"], np.log(3.0))
    assert np.isnan(f["tfi_2"].iloc[0]) and (f["tfi_2"].iloc[1:] == 0.5).all()


def test_missing_and_invalid_values_are_nan_not_errors():
    df = bars(close=np.r_[np.linspace(100, 110, 30), [np.nan, -1.0, 0.0], np.linspace(110, 100, 27)],
              volume=np.r_[np.full(40, 1.0), [-5.0], np.full(19, 1.0)], buy_volume=np.zeros(60), sell_volume=np.zeros(60))
    f = compute_features(df, NO_BOOK)
    assert f.loc[30:32, "ret_1"].isna().all() and f.loc[30:32, "rsi_14"].isna().all()
    assert np.isnan(f.loc[40, "log_volume"]) and f.loc[41, "log_volume"] == np.log(2.0)
    assert (f["tfi_1"] == 0.0).all()  # no volume either way: neutral, not NaN


def test_constant_prices_give_neutral_indicators():
    f = compute_features(bars(close=np.full(60, 42.0)), NO_BOOK)
    last = f.iloc[-1]
    assert last["rsi_14"] == 50.0 and last["bb_pctb_20_2"] == 0.5 and last["bb_width_20_2"] == 0.0
    assert last["ret_1"] == 0.0 and last["rv_20"] == 0.0


@pytest.mark.parametrize(("spec", "frame", "books", "msg"), [
    (FeatureSpec(book_levels=0), bars().drop(columns="buy_volume"), None, "lack columns \\['buy_volume'\\].*flow_window=0"),
    (FeatureSpec(flow_window=0, book_levels=0), bars().drop(columns="volume"), None, "lack columns \\['volume'\\]"),
    (FeatureSpec(), bars(), None, "no books were given.*book_levels=0"),
    (FeatureSpec(), bars(), [None] * 3, "books has 3 entries for 60 bars"),
    (FeatureSpec(), bars(), pd.DataFrame({"bids": [None] * 60}), "needs `bids` and `asks` columns"),
    (NO_BOOK, bars(inst_id=["A", "B"] * 30), None, "several inst_id values"),
    (NO_BOOK, bars(ts_ms=np.arange(60)[::-1]), None, "time order"),
    (NO_BOOK, bars(ts_ms=np.r_[0, np.arange(59)]), None, "one row per bar"),
])
def test_bad_inputs(spec, frame, books, msg):
    with pytest.raises(ValueError, match=msg):
        compute_features(frame, spec, books)


def test_wrong_types():
    with pytest.raises(TypeError, match="FeatureSpec"):
        compute_features(bars(), {"rsi_period": 14})
    with pytest.raises(TypeError, match="DataFrame"):
        compute_features(bars().to_dict(), NO_BOOK)


def test_book_features_from_strings_and_numbers():
    bids = [["99.5", "2", "0", "1"], ["99.0", "3", "0", "4"], ["98.0", "100", "0", "1"]]
    asks = [["100.5", "1", "0", "1"], ["101.0", "4", "0", "2"]]
    spread, obi = book_features(bids, asks, 2)
    assert spread == pytest.approx(1.0 / 100.0 * 1e4)
    assert obi == pytest.approx((5.0 - 5.0) / 10.0)
    as_floats = [[float(p), float(s)] for p, s, *_ in bids], [[float(p), float(s)] for p, s, *_ in asks]
    assert book_features(*as_floats, 2) == (spread, obi)
    assert book_features(bids, asks, 3)[1] == pytest.approx((105.0 - 5.0) / 110.0)
    assert all(math.isnan(v) for v in book_features([], asks, 5))
    assert all(math.isnan(v) for v in book_features(None, None, 5))


def test_rows_without_a_book_are_nan():
    books = [None] * 10 + [([["99", "1"]], [["101", "3"]])] * 50
    f = compute_features(bars(), FeatureSpec(book_levels=1), books)
    assert f["spread_bps"].iloc[:10].isna().all() and f["obi_1"].iloc[:10].isna().all()
    assert (f["obi_1"].iloc[10:] == -0.5).all()
