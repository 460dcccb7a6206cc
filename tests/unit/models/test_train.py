"""Loading bars for `hftlab train` (the training run itself is in tests/integration/test_train_*.py)."""

import numpy as np
import pandas as pd
import pytest

from hftlab.models.train import load_bars

CSV = "BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv"


def test_candle_csv_with_symbol_and_timeframe_from_its_name(shared_data):
    bars, info = load_bars(shared_data / "okx" / "candles" / CSV)
    assert info["symbol"] == "BTC-USDT-SWAP" and info["timeframe"] == "1m"
    assert list(bars.columns) == ["ts_ms", "open", "high", "low", "close", "volume"]
    assert (np.diff(bars["ts_ms"]) == 60_000).all()
    assert "missing_bars" not in info


def test_gzipped_5m_candles(shared_data):
    bars, info = load_bars(shared_data / "okx" / "candles" / "ETH-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz")
    assert info["symbol"] == "ETH-USDT-SWAP" and info["timeframe"] == "5m" and len(bars) > 60_000


def test_a_missing_bar_becomes_a_nan_row_and_order_is_restored(tmp_path):
    ts = 1_700_000_000_000 + 60_000 * np.arange(10)
    df = pd.DataFrame({"ts_ms": ts, "open": 1.0, "high": 1.0, "low": 1.0, "close": np.arange(10) + 1.0, "volume": 2.0})
    path = tmp_path / "X-USDT_1m_test.csv"
    df.drop(index=4).iloc[::-1].to_csv(path, index=False)
    bars, info = load_bars(path)
    assert info["missing_bars"] == 1 and len(bars) == 10
    assert np.isnan(bars.loc[4, "close"]) and bars.loc[5, "close"] == 6.0
    np.testing.assert_array_equal(bars["ts_ms"], ts)


def test_parquet_with_several_series_needs_a_symbol(tmp_path):
    rows = [{"inst_id": inst, "timeframe": "1s", "ts_ms": 1000 * k, "open": 1.0, "high": 1.0, "low": 1.0,
             "close": 1.0 + k, "volume": 1.0, "trade_count": 1, "vwap": 1.0, "buy_volume": 0.5, "sell_volume": 0.5}
            for inst in ("BTC-USDT", "ETH-USDT") for k in range(5)]
    path = tmp_path / "bars.parquet"
    pd.DataFrame(rows).to_parquet(path)
    with pytest.raises(ValueError, match="--symbol"):
        load_bars(path)
    bars, info = load_bars(path, symbol="ETH-USDT")
    assert info["symbol"] == "ETH-USDT" and info["timeframe"] == "1s" and len(bars) == 5
    assert {"buy_volume", "sell_volume"} <= set(bars.columns)


def test_bad_inputs_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_bars(tmp_path / "nope.csv")
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(ValueError, match="candle CSV"):
        load_bars(tmp_path / "a.json")
    pd.DataFrame({"ts_ms": [1], "close": [1.0]}).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValueError, match="lacks column"):
        load_bars(tmp_path / "b.csv")
