"""The vectorbt portfolio against hand-computed fills, fees and slippage."""

import math

import numpy as np
import pandas as pd
import pytest

from hftlab.backtest.config import BacktestConfig
from hftlab.backtest.engine import Execution, execution, orders_of, simulate, summarise
from hftlab.settings import Settings

BARS = pd.DataFrame({
    "ts_ms": 60_000 * np.arange(5),
    "open": [100.0, 102.0, 101.0, 105.0, 104.0],
    "high": [101.0, 103.0, 102.0, 106.0, 105.0],
    "low": [99.5, 101.5, 100.5, 104.5, 103.0],
    "close": [101.0, 102.5, 104.0, 104.5, 103.5],
})


def exe(**kw) -> Execution:
    base = dict(fee=0.001, slippage=0.0005, position_pct=50.0, init_cash=1000.0, stop_loss=0.0, period_ms=60_000,
                slippage_source="test")
    return Execution(**{**base, **kw})


def test_long_round_trip_with_fees_and_half_spread_slippage():
    pf = simulate(BARS, np.array([0, 1, 1, 0, 0], dtype=np.int8), exe())
    buy_px = 102.0 * 1.0005           # bar 1 open plus half the spread
    size = 500.0 / 102.0              # 50% of the starting cash at the quoted open, fixed notional
    buy_fee = 0.001 * size * buy_px
    sell_px = 105.0 * (1 - 0.0005)    # bar 3 open minus half the spread
    sell_fee = 0.001 * size * sell_px
    cash = 1000.0 - size * buy_px - buy_fee
    value = [1000.0, cash + size * 102.5, cash + size * 104.0, cash + size * sell_px - sell_fee,
             cash + size * sell_px - sell_fee]
    orders = pf.orders.records_arr
    np.testing.assert_allclose(orders["price"], [buy_px, sell_px])
    np.testing.assert_allclose(orders["size"], [size, size])
    np.testing.assert_allclose(orders["fees"], [buy_fee, sell_fee])
    np.testing.assert_allclose(np.asarray(pf.value()), value)
    m = summarise(pf, exe())
    assert math.isclose(m["total_return"], value[-1] / 1000 - 1)
    assert m["n_trades"] == 1 and m["hit_rate"] == 1.0
    assert math.isclose(m["fees_paid"], buy_fee + sell_fee)
    assert math.isclose(m["turnover"], size * (buy_px + sell_px) / np.mean(value))
    assert m["exposure"] == 2 / 5  # a position at the end of bars 1 and 2
    gross = size * (105.0 - 102.0) / 1000  # the same trade at the quoted opens, no fees
    assert m["gross_return"] == pytest.approx(gross, rel=1e-6)


def test_a_short_then_a_reversal_in_one_order():
    pf = simulate(BARS, np.array([0, -1, -1, 1, 1], dtype=np.int8), exe(fee=0.0, slippage=0.0))
    orders = pf.orders.records_arr
    short = 500.0 / 102.0
    long_ = 500.0 / 105.0
    np.testing.assert_allclose(orders["size"], [short, short + long_])
    np.testing.assert_allclose(orders["price"], [102.0, 105.0])
    trades = pf.trades.records_arr
    assert math.isclose(trades["pnl"][0], short * (102.0 - 105.0))  # the short lost 3 a unit
    assert summarise(pf, exe())["n_trades"] == 2


def test_stop_loss_exits_at_the_stop_and_waits_for_a_fresh_signal():
    bars = pd.DataFrame({"open": [100, 100, 100.5, 99, 99.5, 100, 101.0],
                         "high": [100, 101, 101, 99.5, 100, 101, 102.0],
                         "low": [100, 99.5, 98.5, 98.8, 99, 99.8, 100.5],
                         "close": [100, 100.5, 99, 99.2, 99.8, 100.5, 101.5]})
    held = np.array([0, 1, 1, 1, 0, 1, 1], dtype=np.int8)
    orders = simulate(bars, held, exe(fee=0.0, slippage=0.0, stop_loss=0.01)).orders.records_arr
    assert orders["idx"].tolist() == [1, 2, 5]          # entry, stop in bar 2 (low 98.5), fresh entry
    assert orders["price"].tolist() == [100.0, 99.0, 100.0]
    no_stop = simulate(bars, held, exe(fee=0.0, slippage=0.0, stop_loss=0.01), stop=False).orders.records_arr
    assert no_stop["idx"].tolist() == [1, 4, 5]


def test_gap_rows_trade_at_the_previous_close():
    bars = BARS.copy()
    bars.loc[2, ["open", "high", "low", "close"]] = np.nan
    orders = simulate(bars, np.array([0, 0, 1, 1, 1], dtype=np.int8), exe(fee=0.0, slippage=0.0)).orders.records_arr
    assert orders["price"].tolist() == [102.5]


def test_signals_are_edge_triggered():
    sig = orders_of(np.array([0, 1, 1, 0, -1, 1, 0], dtype=np.int8))
    assert np.flatnonzero(sig["entries"]).tolist() == [1, 5]
    assert np.flatnonzero(sig["exits"]).tolist() == [3, 6]
    assert np.flatnonzero(sig["short_entries"]).tolist() == [4]
    assert np.flatnonzero(sig["short_exits"]).tolist() == []  # -1 -> 1 is one reversal order


def test_execution_takes_fees_and_sizing_from_the_backtest_section():
    bt = Settings().backtest  # fees and the stop resolved from the venue and risk sections
    e = execution(bt, BARS, 60_000)
    assert e.fee == pytest.approx(0.001) and e.slippage == pytest.approx(1e-4)
    assert e.init_cash == 10_000.0 and e.stop_loss == pytest.approx(0.01)
    maker = execution(BacktestConfig(execution="maker"), BARS, 60_000)
    assert maker.fee == pytest.approx(0.0008) and maker.slippage == 0.0
    spread = BARS.assign(spread_bps=[2.0, np.nan, 4.0, 0.5, -1.0])
    s = execution(BacktestConfig(slippage_bps=3.0), spread, 60_000)
    # a fill at bar t's open pays half the spread quoted at bar t-1's close
    np.testing.assert_allclose(s.slippage, [1e-4, 1e-4, 3e-4, 2e-4, 0.25e-4])
    assert s.slippage_source == "spread_bps column"
    override = execution(BacktestConfig(taker_fee=0.0005, init_cash=50.0, stop_loss_pct=0.0), BARS, 1000)
    assert (override.fee, override.init_cash, override.stop_loss) == (0.0005, 50.0, 0.0)


def test_spread_slippage_reaches_the_fill_prices():
    bars = BARS.assign(spread_bps=[10.0, 2.0, 20.0, 2.0, 2.0])
    e = execution(BacktestConfig(taker_fee=0.0, stop_loss_pct=0.0), bars, 60_000)
    orders = simulate(bars, np.array([0, 1, 1, 0, 0], dtype=np.int8), e).orders.records_arr
    np.testing.assert_allclose(orders["price"], [102.0 * (1 + 5e-4), 105.0 * (1 - 10e-4)])
