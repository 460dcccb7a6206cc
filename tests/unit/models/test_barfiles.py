"""Loading bars for `hftlab train` (the training run itself is in tests/integration/test_train_*.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from hftlab.models.barfiles import OKX_CANDLE, data_world, load_bars

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
    (tmp_path / "a.txt").write_text("{}")
    with pytest.raises(ValueError, match="candle CSV"):
        load_bars(tmp_path / "a.txt")
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(ValueError, match="without `data`"):
        load_bars(tmp_path / "a.json")
    pd.DataFrame({"ts_ms": [1], "close": [1.0]}).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValueError, match="lacks column"):
        load_bars(tmp_path / "b.csv")
    # the error names what it found and what it needs
    pd.DataFrame({"when": [1], "price": [1.0], "qty": [2.0]}).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ValueError, match=r"found \['when', 'price', 'qty'\]; bars need \['ts_ms', 'open'") as e:
        load_bars(tmp_path / "c.csv")
    assert "volCcyQuote" in str(e.value)
    (tmp_path / "err.json").write_text(json.dumps({"code": "51000", "msg": "Parameter bar error", "data": []}))
    with pytest.raises(ValueError, match="OKX error answer .code 51000"):
        load_bars(tmp_path / "err.json")


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



def okx_rows(n: int, start: int = 1_767_225_600_000, step: int = 60_000, confirm_last: bool = True) -> list[list[str]]:
    """OKX candle arrays as REST sends them: strings, newest first, the newest possibly unconfirmed."""
    rows = []
    for k in range(n):
        px = 100.0 + k
        rows.append([str(start + k * step), f"{px}", f"{px + 1}", f"{px - 1}", f"{px + 0.5}", f"{10 + k}",
                     f"{(10 + k) * 0.01}", f"{(10 + k) * px}", "1"])
    if not confirm_last:
        rows[-1][-1] = "0"
    return rows[::-1]


def test_okx_rest_answer_as_json_newest_first_and_the_forming_bar_dropped(tmp_path):
    path = tmp_path / "BTC-USDT_1m_history.json"
    path.write_text(json.dumps({"code": "0", "msg": "", "data": okx_rows(5, confirm_last=False)}))
    bars, info = load_bars(path)
    assert (info["symbol"], info["timeframe"], info["layout"], info["volume_column"]) == ("BTC-USDT", "1m", "okx", "vol")
    assert bars["ts_ms"].is_monotonic_increasing and len(bars) == 4  # the unconfirmed newest bar is not a bar yet
    assert bars["close"].tolist() == [100.5, 101.5, 102.5, 103.5] and bars["volume"].tolist() == [10, 11, 12, 13]
    assert data_world(info) == "okx"
    # a swap's base volume is volCcy (OKX counts its vol in contracts); the bare data array works too
    swap = tmp_path / "BTC-USDT-SWAP_1m_history.json"
    swap.write_text(json.dumps(okx_rows(3)))
    bars, info = load_bars(swap)
    assert info["volume_column"] == "volCcy" and bars["volume"].tolist() == pytest.approx([0.1, 0.11, 0.12])


def test_okx_documentation_example_parses(shared_data, tmp_path):
    doc = json.loads((shared_data / "okx" / "fixtures" / "docs_examples" / "rest_get_market_history_candles.json")
                     .read_text())["examples"][0]["json"]
    path = tmp_path / "example.json"
    path.write_text(json.dumps(doc))
    bars, info = load_bars(path)
    # the documentation's two rows share a timestamp (illustrative values): one bar, the last row kept
    assert len(bars) == 1 and bars["close"].tolist() == [3.72] and bars["volume"].tolist() == [24912403.0]


def test_pages_of_history_as_json_lines_with_a_gap(tmp_path):
    rows = okx_rows(12)[::-1]  # oldest first
    del rows[5]
    path = tmp_path / "ETH-USDT_1m_pages.jsonl"
    path.write_text("\n".join(json.dumps({"code": "0", "msg": "", "data": rows[i:i + 4][::-1]})
                              for i in range(0, len(rows), 4)))
    bars, info = load_bars(path)
    assert len(bars) == 12 and info["missing_bars"] == 1 and np.isnan(bars["close"][5])


def test_okx_columns_in_a_csv_oldest_or_newest_first(tmp_path):
    rows = okx_rows(6)
    newest = tmp_path / "SOL-USDT_5m_okx.csv"
    pd.DataFrame(rows, columns=list(OKX_CANDLE)).to_csv(newest, index=False)
    oldest = tmp_path / "SOL-USDT_5m_okx_oldest.csv"
    pd.DataFrame(rows[::-1], columns=list(OKX_CANDLE)).to_csv(oldest, index=False)
    a, info = load_bars(newest)
    b, _ = load_bars(oldest)
    pd.testing.assert_frame_equal(a, b)
    assert info["layout"] == "okx" and (np.diff(a["ts_ms"]) == 60_000).all()


@pytest.mark.parametrize("name,times", [("timestamp", lambda ts: ts), ("timestamp", lambda ts: ts // 1000),
                                        ("time", lambda ts: pd.to_datetime(ts, unit="ms", utc=True).astype(str)),
                                        ("Date", lambda ts: pd.to_datetime(ts, unit="ms").strftime("%Y-%m-%d %H:%M"))])
def test_common_variants_of_the_time_and_price_columns(tmp_path, name, times):
    ts = 1_699_999_980_000 + 60_000 * np.arange(5)  # whole minutes
    df = pd.DataFrame({name: times(ts), "Open": 1.0, "High": 2.0, "Low": 0.5, "Close": np.arange(5) + 1.0,
                       "Volume": 3.0})
    df.to_csv(tmp_path / "x.csv", index=False)
    bars, info = load_bars(tmp_path / "x.csv")
    np.testing.assert_array_equal(bars["ts_ms"], ts)
    assert bars["close"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0] and info["layout"] == "bars"


def _candles(path, n=50, step=300_000, start=1_700_000_000_000):
    ts = start + step * np.arange(n)
    pd.DataFrame({"ts_ms": ts, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0 + np.arange(n) / 100,
                  "volume": 2.0}).to_csv(path, index=False)
    return path


def test_a_panel_names_its_series_by_symbol_and_shares_one_timeframe_and_world(tmp_path):
    from hftlab.models.barfiles import load_panel

    btc = _candles(tmp_path / "BTC-USDT-SWAP_5m_x.csv")
    eth = _candles(tmp_path / "ETH-USDT-SWAP_5m_x.csv", n=40)
    parts, info = load_panel([btc, eth])
    assert [(name, len(b)) for name, b in parts] == [("BTC-USDT-SWAP", 50), ("ETH-USDT-SWAP", 40)]
    assert info["symbol"] == "BTC-USDT-SWAP+ETH-USDT-SWAP" and info["panel"] == "BTC-USDT-SWAP,ETH-USDT-SWAP"
    assert info["timeframe"] == "5m" and info["world"] == "okx"
    assert load_panel([btc, eth], world="sim")[1]["world"] == "sim"


def test_a_panel_refuses_unnamed_repeated_or_mixed_series(tmp_path):
    from hftlab.models.barfiles import load_panel

    btc = _candles(tmp_path / "BTC-USDT-SWAP_5m_x.csv")
    with pytest.raises(ValueError, match="named by their symbol"):
        load_panel([btc, _candles(tmp_path / "candles.csv")])
    with pytest.raises(ValueError, match="different symbols"):
        load_panel([btc, _candles(tmp_path / "BTC-USDT-SWAP_5m_y.csv")])
    with pytest.raises(ValueError, match="one timeframe: got 1m, 5m"):
        load_panel([btc, _candles(tmp_path / "ETH-USDT-SWAP_1m_x.csv", step=60_000)])
