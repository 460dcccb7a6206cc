"""Loading bars for `hftlab train` (the training run itself is in tests/integration/test_train_*.py)."""

import numpy as np
import pandas as pd
import pytest

from hftlab.models.train import data_world, load_bars

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


def test_the_data_world_candle_csvs_are_okx_a_parquet_says_its_own(shared_data, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hftlab.models.provenance import bars_metadata

    _bars, info = load_bars(shared_data / "okx" / "candles" / CSV)
    assert "world" not in info and data_world(info) == "okx"  # external OKX market data
    assert data_world(info, "sim") == "sim"  # a CSV made from the simulator
    with pytest.raises(ValueError, match="not a world"):
        data_world(info, "okx-live")

    df = pd.DataFrame({"ts_ms": 1000 * np.arange(5), "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, **bars_metadata("sim", "sim")}),
                   tmp_path / "recorded.parquet")
    _bars, info = load_bars(tmp_path / "recorded.parquet")
    assert (info["world"], info["venue"]) == ("sim", "sim") and data_world(info) == "sim"
    assert data_world(info, "sim") == "sim"
    with pytest.raises(ValueError, match="records world 'sim' in its metadata; --data-world okx contradicts it"):
        data_world(info, "okx")

    df.to_parquet(tmp_path / "anonymous.parquet", index=False)
    _bars, info = load_bars(tmp_path / "anonymous.parquet")
    with pytest.raises(ValueError, match=r"give --data-world sim\|okx"):
        data_world(info)
    assert data_world(info, "okx") == "okx"

