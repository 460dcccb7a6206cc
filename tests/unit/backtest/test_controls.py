import numpy as np
import pandas as pd
import pytest

from hftlab.backtest.compare import compare_predictions
from hftlab.backtest.config import BacktestConfig, PromoteConfig
from hftlab.backtest.controls import NullWorld, shuffled_bars
from hftlab.backtest.engine import execution


def bars(n=400, seed=1):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(0.5 * rng.normal(0, 0.001, n) + 0.0005 * np.sin(np.arange(n) / 5)))
    opens = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame({"ts_ms": 1000 * np.arange(n), "open": opens, "high": np.maximum(opens, close) * 1.0002,
                         "low": np.minimum(opens, close) * 0.9998, "close": close, "volume": rng.uniform(1, 3, n)})


def test_shuffled_bars_keep_each_bars_increment_and_lose_their_order():
    b = bars()
    s = shuffled_bars(b, seed=3)
    r, rs = np.diff(np.log(b["close"])), np.diff(np.log(s["close"]))
    assert len(s) == len(b) and (s["ts_ms"] == b["ts_ms"]).all()
    def increments(x):  # each bar's log return from the previous close (the first from its open)
        return np.log(x["close"].to_numpy() / np.r_[x["open"].iloc[0], x["close"].to_numpy()[:-1]])

    np.testing.assert_allclose(np.sort(increments(s)), np.sort(increments(b)), atol=1e-12)
    assert (s["high"] >= s[["open", "close"]].max(axis=1) - 1e-9).all() and (s["low"] <= s[["open", "close"]].min(axis=1) + 1e-9).all()
    lag1 = lambda x: np.corrcoef(x[:-1], x[1:])[0, 1]  # noqa: E731
    assert lag1(r) > 0.2 and abs(lag1(rs)) < 0.12  # the planted persistence is gone
    assert not shuffled_bars(b, seed=3).equals(shuffled_bars(b, seed=4))


def test_the_null_world_of_simulator_bars_is_the_simulator_and_of_candles_the_shuffle():
    bt, gate = BacktestConfig(), PromoteConfig()
    one_second = bars()
    sim = NullWorld.for_data(bt, gate, {"world": "sim", "symbol": "BTC-USDT-SWAP"}, one_second)
    assert (sim.source, sim.symbol, sim.seconds) == ("simulator", "BTC-USDT-SWAP", 400)
    minutes = one_second.assign(ts_ms=60_000 * np.arange(len(one_second)))
    assert NullWorld.for_data(bt, gate, {"world": "okx"}, one_second).source == "shuffled"
    assert NullWorld.for_data(bt, gate, {"world": "sim"}, minutes).source == "shuffled"
    with pytest.raises(ValueError, match="source"):
        NullWorld(bt, gate, "nowhere")


def test_test_predictions_decide_the_bar_after_each_sample():
    b = bars(120)
    ends = np.r_[np.arange(40, 60), np.arange(62, 80)]  # two samples lost to a gap
    up = np.tile([0.0, 0.0, 1.0], (ends.size, 1))
    cfg = BacktestConfig(stop_loss_pct=0)
    comp = compare_predictions(b, ends, {"m": ("model", up)}, cfg, execution(cfg, b, 1000), {"path": "x"})
    assert comp.window.start_ms == b["ts_ms"][41] and comp.window.end_ms == b["ts_ms"][80]
    held = comp.strategies["m"].held
    assert held.tolist() == [1] * 20 + [0, 0] + [1] * 18  # flat where no sample decided


def test_a_panels_null_world_shuffles_each_series_on_its_own_and_trades_it_at_its_own_costs():
    bt, gate = BacktestConfig(), PromoteConfig()
    panel = [("BTC-USDT-SWAP", bars(seed=1)), ("ETH-USDT", bars(seed=2))]
    control = NullWorld.for_data(bt, gate, {"world": "sim"}, panel)  # a panel is shuffled, whatever its world
    assert control.source == "shuffled"
    nulls = control.bars(panel)
    assert [name for name, _b in nulls] == ["BTC-USDT-SWAP", "ETH-USDT"]
    assert nulls[0][1].equals(shuffled_bars(panel[0][1], control.seed))
    assert nulls[1][1].equals(shuffled_bars(panel[1][1], control.seed + 1))
    candles = NullWorld.for_data(bt, gate, {"world": "okx", "symbol": "SOL-USDT-SWAP"}, bars())
    assert (candles.source, candles.symbol) == ("shuffled", "SOL-USDT-SWAP")  # swap fees for swap candles
