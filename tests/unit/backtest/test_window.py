import numpy as np
import pandas as pd
import pytest

from hftlab.backtest.window import Window, load_bars, out_of_sample_window, rows


def bars_file(tmp_path, n=20, extra=None):
    df = pd.DataFrame({"inst_id": "BTC-USDT", "timeframe": "1s", "ts_ms": 1_700_000_000_000 + 1000 * np.arange(n),
                       "open": 1.0, "high": 1.0, "low": 1.0, "close": np.arange(n) + 1.0, "volume": 1.0,
                       "trade_count": 1, "vwap": 1.0, "buy_volume": 0.5, "sell_volume": 0.5})
    if extra:
        df = df.assign(**extra)
    path = tmp_path / "bars.parquet"
    df.to_parquet(path)
    return path, df


def test_window_of_a_training_report_and_its_rows(tmp_path):
    path, df = bars_file(tmp_path)
    report = {"folds": [{"ts_ms": {"test_start": 1, "test_end": 2}},
                        {"ts_ms": {"test_start": int(df.ts_ms[12]), "test_end": int(df.ts_ms[17])}}]}
    w = out_of_sample_window(report, "abc")
    assert "out-of-sample" in w.what and "abc" in w.what
    bars, info = load_bars(path)
    assert rows(bars, w) == (12, 18)
    assert info["period_ms"] == 1000 and w.to_dict()["start"].endswith("Z")
    with pytest.raises(ValueError, match="no test window"):
        out_of_sample_window({"folds": []}, "abc")


def test_a_window_the_bars_do_not_cover_says_so(tmp_path):
    path, df = bars_file(tmp_path)
    bars, _ = load_bars(path)
    with pytest.raises(ValueError, match="give bars that cover it"):
        rows(bars, Window(int(df.ts_ms.iloc[-1]) + 5000, int(df.ts_ms.iloc[-1]) + 9000, "later"))
    with pytest.raises(ValueError, match="before it starts"):
        Window(10, 5, "backwards")


def test_the_spread_column_survives_loading(tmp_path):
    spread = np.linspace(0.5, 2.0, 20)
    path, _ = bars_file(tmp_path, extra={"spread_bps": spread})
    bars, _ = load_bars(path)
    np.testing.assert_allclose(bars["spread_bps"], spread)
