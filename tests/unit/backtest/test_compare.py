import numpy as np
import pandas as pd
import pytest

from hftlab.backtest.compare import BUY_AND_HOLD, compare, compare_predictions, decision_rows, targets
from hftlab.backtest.config import BacktestConfig
from hftlab.backtest.engine import execution
from hftlab.backtest.window import Window
from hftlab.strategy import sizing
from hftlab.strategy.config import SizingConfig

N = 200


@pytest.fixture(scope="module")
def bars():
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, N)))
    opens = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame({"ts_ms": 60_000 * np.arange(N), "open": opens, "high": np.maximum(opens, close) * 1.001,
                         "low": np.minimum(opens, close) * 0.999, "close": close, "volume": 1.0})


def proba_from_edge(e):
    e = np.asarray(e, dtype=float)
    return np.stack([(1 - e) / 2, np.zeros_like(e), (1 + e) / 2], axis=1)


def run(bars, probas, first=50, last=N, cfg=BacktestConfig(stop_loss_pct=0.0)):
    exe = execution(cfg, bars, 60_000)
    w = Window(int(bars.ts_ms[first]), int(bars.ts_ms[last - 1]), "test")
    return compare(bars, first, last, probas, cfg, exe, w, {"path": "x"})


def test_foresight_beats_its_mirror_and_buy_and_hold_is_always_in(bars):
    rows = decision_rows(50, N)
    # the bar after a decision row opens at its close: up when the next close is higher
    nxt = np.sign(bars["close"].to_numpy()[rows + 1] - bars["open"].to_numpy()[rows + 1])
    comp = run(bars, {"foresight": ("model", proba_from_edge(0.5 * nxt)), "mirror": ("model", proba_from_edge(-0.5 * nxt))})
    m = comp.table()
    assert m.loc["foresight", "total_return"] > 0 > m.loc["mirror", "total_return"]
    assert m.loc[BUY_AND_HOLD, "exposure"] == 1.0 and m.loc[BUY_AND_HOLD, "n_trades"] == 1
    assert len(comp.bars) == N - 50 and comp.bars["ts_ms"].iloc[0] == bars["ts_ms"][50]
    doc = comp.to_dict()
    assert doc["kinds"] == {"foresight": "model", "mirror": "model", BUY_AND_HOLD: "benchmark"}
    assert doc["window"]["bars"] == N - 50 and doc["costs"]["fee"] == pytest.approx(0.001)
    assert doc["window"]["bar_seconds"] == 60 and doc["costs"]["fee_tier"] == "regular"
    assert comp.versus("foresight", "mirror") > 2 and comp.versus("mirror", "foresight") < -2


def test_the_window_starts_where_every_model_can_decide(bars):
    n = N - 50
    late = proba_from_edge(np.full(n, 0.5))
    late[:10] = np.nan  # warming up
    comp = run(bars, {"early": ("model", proba_from_edge(np.full(n, 0.5))), "late": ("model", late),
                      "baseline": ("baseline", proba_from_edge(np.full(n, 0.5)))})
    assert len(comp.bars) == n - 10 and "10 bar(s) late" in comp.notes[0]
    assert all(len(s.held) == n - 10 for s in comp.strategies.values())
    # both models hold from the first bar, so they trade identically
    np.testing.assert_array_equal(comp.strategies["early"].held, comp.strategies["late"].held)


def test_shapes_are_checked_and_a_window_without_predictions_is_refused(bars):
    with pytest.raises(ValueError, match="expected"):
        run(bars, {"m": ("model", proba_from_edge(np.zeros(5)))})
    with pytest.raises(ValueError, match="no bar of the window"):
        run(bars, {"m": ("model", np.full((N - 50, 3), np.nan))})


def test_positions_are_sized_by_the_live_sizing_at_the_decision_that_opens_them(bars):
    n = N - 50
    e = np.where(np.arange(n) % 20 < 10, 0.6, -0.3)  # long for 10 bars, flat for 10, ...
    cfg = BacktestConfig(stop_loss_pct=0.0, sizing=SizingConfig(mode="scaled", notional_usd=1000), position_cap_usd=800)
    comp = run(bars, {"m": ("model", proba_from_edge(e))}, cfg=cfg)
    s = comp.strategies["m"]
    rows = decision_rows(50, N)
    want = sizing.notional(0.6, 0.0, 0.1, cfg.sizing, 800) / bars["close"].to_numpy()[rows[0]]
    assert s.target[0] == pytest.approx(want) and want * bars["close"][rows[0]] == pytest.approx(1000 * 0.5 / 0.9)
    assert (s.target[:10] == s.target[0]).all() and (s.target[10:20] == 0).all()  # held at its entry size
    assert s.target[20] == pytest.approx(sizing.notional(0.6, 0.0, 0.1, cfg.sizing, 800) / bars["close"][rows[20]])
    fixed = run(bars, {"m": ("model", proba_from_edge(e))},
                cfg=BacktestConfig(stop_loss_pct=0.0, sizing=SizingConfig(mode="fixed", notional_usd=300)))
    assert fixed.strategies["m"].target[0] * bars["close"][rows[0]] == pytest.approx(300)
    assert comp.to_dict()["sizing"]["cap_usd"] == 800


def test_targets_size_each_run_of_a_direction_at_its_first_bar():
    held = np.array([0, 1, 1, -1, -1, 0, 1])
    out = targets(held, np.array([9.0, 10.0, 50.0, 20.0, 70.0, 1.0, 30.0]), np.full(7, 10.0))
    assert out.tolist() == [0.0, 1.0, 1.0, -2.0, -2.0, 0.0, 3.0]


def test_a_folds_predictions_are_backtested_per_series_on_that_series_bars_and_costs():
    from hftlab.backtest.compare import compare_fold

    rng = np.random.default_rng(4)

    def walk(n, seed):
        close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.001, n)))
        opens = np.r_[100.0, close[:-1]]
        return pd.DataFrame({"ts_ms": 60_000 * np.arange(n), "open": opens, "high": np.maximum(opens, close),
                             "low": np.minimum(opens, close), "close": close})

    a, b = walk(100, 1), walk(80, 2)
    parts = (("BTC-USDT-SWAP", 0, 100), ("ETH-USDT", 101, 181))  # a panel: one NaN row between the series
    ends = np.r_[np.arange(60, 99), np.arange(150, 179)]
    series = np.r_[np.zeros(39, dtype=int), np.ones(29, dtype=int)]
    p = rng.dirichlet([1, 1, 1], ends.size)
    cfg = BacktestConfig(stop_loss_pct=0)
    comps = compare_fold([("BTC-USDT-SWAP", a), ("ETH-USDT", b)], parts,
                         {"ends": ends, "series": series, "probas": {"m": p}}, {"m": "model"}, cfg)
    assert set(comps) == {"BTC-USDT-SWAP", "ETH-USDT"}
    alone = compare_predictions(b, ends[series == 1] - 101, {"m": ("model", p[series == 1])}, cfg,
                                execution(cfg, b, 60_000, "ETH-USDT"), {"symbol": "ETH-USDT"})
    assert comps["ETH-USDT"].strategies["m"].metrics == alone.strategies["m"].metrics
    assert comps["BTC-USDT-SWAP"].execution.taker_fee == pytest.approx(0.0005)  # swap fees
    assert comps["ETH-USDT"].execution.taker_fee == pytest.approx(0.001)        # spot fees
