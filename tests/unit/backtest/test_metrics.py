import math

import numpy as np
import pytest

from hftlab.backtest import metrics


def test_metrics_of_a_hand_computed_equity_curve():
    init = 100.0
    value = np.array([101.0, 99.0, 102.0, 102.0])
    r = np.array([0.01, 99 / 101 - 1, 102 / 99 - 1, 0.0])
    m = metrics.compute(value=value, init_cash=init, position=np.array([1.0, 1.0, 0.0, 0.0]),
                        trade_pnl=np.array([2.5, -0.5, 1.0]), trade_notional=np.array([50.0, 50.0, 25.0]),
                        fill_notional=np.array([50.0, -51.0, 49.0]), fill_fees=np.array([0.05, 0.05, 0.04]),
                        slippage_paid=0.02, funding_paid=0.01, period_ms=60_000)
    per_year = 365 * 24 * 60
    assert math.isclose(m["total_return"], 0.02)
    assert math.isclose(m["sharpe"], r.mean() / r.std(ddof=1) * math.sqrt(per_year))
    assert math.isclose(m["sortino"], r.mean() / math.sqrt((r[1] ** 2) / 4) * math.sqrt(per_year))
    assert math.isclose(m["max_drawdown_pct"], (1 - 99 / 101) * 100)
    assert m["hit_rate"] == pytest.approx(2 / 3)
    assert m["n_trades"] == 3
    per_trade = np.array([0.05, -0.01, 0.04])
    assert m["trade_mean_bps"] == pytest.approx(per_trade.mean() * 1e4)
    assert m["trade_t"] == pytest.approx(per_trade.mean() / (per_trade.std(ddof=1) / math.sqrt(3)))
    assert math.isclose(m["turnover"], 150.0 / value.mean())
    assert m["exposure"] == 0.5
    assert math.isclose(m["fees_paid"], 0.14) and m["funding_paid"] == 0.01
    assert math.isclose(m["gross_return"], 0.02 + 0.17 / 100)
    assert m["bar_seconds"] == 60.0 and math.isnan(m["fill_wait_bars"])


def test_no_trading_gives_zeros_not_nan():
    m = metrics.compute(value=np.full(5, 10.0), init_cash=10.0, position=np.zeros(5), trade_pnl=np.array([]),
                        trade_notional=np.array([]), fill_notional=np.array([]), fill_fees=np.array([]),
                        slippage_paid=0.0, funding_paid=0.0, period_ms=1000)
    assert (m["total_return"], m["sharpe"], m["sortino"], m["max_drawdown_pct"], m["turnover"], m["gross_return"]) == (0,) * 6
    assert math.isnan(m["hit_rate"]) and math.isnan(m["trade_t"]) and m["psr"] == 0.5


def test_drawdown_counts_the_starting_cash_as_a_peak_and_sortino_without_losses_is_infinite():
    assert math.isclose(metrics.max_drawdown_pct(np.array([90.0, 95.0]), 100.0), 10.0)
    assert metrics.sortino(np.array([0.01, 0.02]), 100) == math.inf


def test_psr_is_the_probability_of_a_positive_sharpe():
    rng = np.random.default_rng(1)
    good = rng.normal(0.001, 0.01, 5000)   # per-bar Sharpe 0.1 over 5000 bars: certain
    assert metrics.psr(good) > 0.99 and metrics.psr(-good) < 0.01
    noise = rng.normal(0.0, 0.01, 5000)
    assert 0.01 < metrics.psr(noise) < 0.99
    # the same mean and spread with a fat left tail is less convincing
    skewed = good.copy()
    skewed[::100] -= 0.05
    skewed += (good.mean() - skewed.mean())
    assert metrics.psr(skewed) < metrics.psr(good)


def test_difference_t_blocks_the_per_bar_differences():
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 0.01, 1000)
    assert metrics.difference_t(a + 0.002, a, block=10) > 10  # the same noise, a steady edge
    assert abs(metrics.difference_t(a, rng.normal(0.0, 0.01, 1000), block=10)) < 4
    assert math.isnan(metrics.difference_t(a[:15], a[:15], block=10))  # one block cannot say
    assert metrics.t_stat(np.array([1.0, 1.0])) == math.inf and math.isnan(metrics.t_stat(np.array([1.0])))
