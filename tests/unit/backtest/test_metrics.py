import math

import numpy as np

from hftlab.backtest import metrics


def test_metrics_of_a_hand_computed_equity_curve():
    init = 100.0
    value = np.array([101.0, 99.0, 102.0, 102.0])
    r = np.array([0.01, 99 / 101 - 1, 102 / 99 - 1, 0.0])
    m = metrics.compute(value=value, init_cash=init, position=np.array([1.0, 1.0, 0.0, 0.0]),
                        trade_pnl=np.array([2.5, -0.5, 1.0]), trade_closed=np.array([True, True, False]), n_trades=3,
                        fill_notional=np.array([50.0, -51.0, 49.0]), fill_fees=np.array([0.05, 0.05, 0.04]),
                        fill_slippage=np.array([0.01, 0.01, 0.0]), period_ms=60_000)
    per_year = 365 * 24 * 60
    assert math.isclose(m["total_return"], 0.02)
    assert math.isclose(m["sharpe"], r.mean() / r.std(ddof=1) * math.sqrt(per_year))
    assert math.isclose(m["sortino"], r.mean() / math.sqrt((r[1] ** 2) / 4) * math.sqrt(per_year))
    assert math.isclose(m["max_drawdown_pct"], (1 - 99 / 101) * 100)
    assert m["hit_rate"] == 0.5  # the open trade does not count
    assert m["n_trades"] == 3
    assert math.isclose(m["turnover"], 150.0 / value.mean())
    assert m["exposure"] == 0.5
    assert math.isclose(m["fees_paid"], 0.14)
    assert math.isclose(m["gross_return"], 0.02 + 0.16 / 100)


def test_no_trading_gives_zeros_not_nan():
    m = metrics.compute(value=np.full(5, 10.0), init_cash=10.0, position=np.zeros(5), trade_pnl=np.array([]),
                        trade_closed=np.array([], dtype=bool), n_trades=0, fill_notional=np.array([]),
                        fill_fees=np.array([]), fill_slippage=np.array([]), period_ms=1000)
    assert (m["total_return"], m["sharpe"], m["sortino"], m["max_drawdown_pct"], m["turnover"], m["gross_return"]) == (0,) * 6
    assert math.isnan(m["hit_rate"])


def test_drawdown_counts_the_starting_cash_as_a_peak_and_sortino_without_losses_is_infinite():
    assert math.isclose(metrics.max_drawdown_pct(np.array([90.0, 95.0]), 100.0), 10.0)
    assert metrics.sortino(np.array([0.01, 0.02]), 100) == math.inf
