"""The backtest engine against hand-computed fills, fees, slippage, maker fills, latency and funding."""

import math
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.backtest.config import BacktestConfig
from hftlab.backtest.engine import Execution, FillKind, Style, execution, simulate, summarise
from hftlab.domain.instruments import InstType
from hftlab.settings import Settings

BARS = pd.DataFrame({
    "ts_ms": 60_000 * np.arange(5),
    "open": [100.0, 102.0, 101.0, 105.0, 104.0],
    "high": [101.0, 103.0, 102.0, 106.0, 105.0],
    "low": [99.5, 101.5, 100.5, 104.5, 103.0],
    "close": [101.0, 102.5, 104.0, 104.5, 103.5],
})


def exe(**kw) -> Execution:
    base = dict(style=Style.TAKER, maker_fee=0.0008, taker_fee=0.001, slippage=0.0005, final_slippage=0.0005,
                touch_fill=0.0, latency_ms=0.0, latency_bars=0, funding=0.0, inst_type=InstType.SPOT,
                fee_tier="regular", stop_loss=0.0, init_cash=1000.0, period_ms=60_000, slippage_source="test")
    return Execution(**{**base, **kw})


def test_long_round_trip_with_fees_and_half_spread_slippage():
    size = 500.0 / 102.0
    res = simulate(BARS, np.array([0, size, size, 0, 0]), exe())
    buy_px = 102.0 * 1.0005           # bar 1 open plus half the spread
    buy_fee = 0.001 * size * buy_px
    sell_px = 105.0 * (1 - 0.0005)    # bar 3 open minus half the spread
    sell_fee = 0.001 * size * sell_px
    cash = 1000.0 - size * buy_px - buy_fee
    value = [1000.0, cash + size * 102.5, cash + size * 104.0, cash + size * sell_px - sell_fee,
             cash + size * sell_px - sell_fee]
    f = res.fills
    np.testing.assert_allclose(f["px"], [buy_px, sell_px])
    np.testing.assert_allclose(f["qty"], [size, -size])
    np.testing.assert_allclose(f["fee"], [buy_fee, sell_fee])
    assert f["idx"].tolist() == [1, 3] and f["kind"].tolist() == [FillKind.TAKER] * 2
    np.testing.assert_allclose(res.value, value)
    m = summarise(res, exe())
    assert math.isclose(m["total_return"], value[-1] / 1000 - 1)
    assert m["n_trades"] == 1 and m["hit_rate"] == 1.0
    assert math.isclose(m["fees_paid"], buy_fee + sell_fee)
    assert math.isclose(m["turnover"], size * (buy_px + sell_px) / np.mean(value))
    assert m["exposure"] == 2 / 5  # a position at the end of bars 1 and 2
    gross = size * (105.0 - 102.0) / 1000  # the same trade at the quoted opens, no fees
    assert m["gross_return"] == pytest.approx(gross, rel=1e-6)
    trade_return = (value[-1] - 1000.0) / (size * buy_px)
    assert m["trade_mean_bps"] == pytest.approx(trade_return * 1e4)
    assert math.isnan(m["trade_t"]) and m["bar_seconds"] == 60.0  # one trade: no t-statistic


def test_a_short_then_a_reversal_in_one_order_and_the_open_end_pays_its_exit():
    short, long_ = 500.0 / 102.0, 500.0 / 105.0
    res = simulate(BARS, np.array([0, -short, -short, long_, long_]), exe(taker_fee=0.0, slippage=0.0,
                                                                           final_slippage=0.001))
    f = res.fills
    np.testing.assert_allclose(f["qty"], [-short, short + long_, -long_])
    np.testing.assert_allclose(f["px"], [102.0, 105.0, 103.5 * (1 - 0.001)])
    assert f["kind"].tolist() == [FillKind.TAKER, FillKind.TAKER, FillKind.FINAL]
    t = res.trades
    assert t["direction"].tolist() == [-1, 1] and t["entry_idx"].tolist() == [1, 3] and t["exit_idx"].tolist() == [3, 4]
    assert math.isclose(t["pnl"][0], short * (102.0 - 105.0))  # the short lost 3 a unit
    assert math.isclose(t["pnl"][1], long_ * (103.5 * 0.999 - 105.0))  # the open long is closed at the last close
    assert res.position[-1] == pytest.approx(long_)  # held at the last close, then closed
    assert res.value[-1] == pytest.approx(1000.0 + t["pnl"].sum())
    assert summarise(res, exe())["n_trades"] == 2


def test_stop_loss_exits_at_the_stop_and_waits_for_a_fresh_signal():
    bars = pd.DataFrame({"open": [100, 100, 100.5, 99, 99.5, 100, 101.0],
                         "high": [100, 101, 101, 99.5, 100, 101, 102.0],
                         "low": [100, 99.5, 98.5, 98.8, 99, 99.8, 100.5],
                         "close": [100, 100.5, 99, 99.2, 99.8, 100.5, 101.5]})
    held = np.array([0, 1, 1, 1, 0, 1, 1.0])
    e = exe(taker_fee=0.0, slippage=0.0, final_slippage=0.0, stop_loss=0.01)
    f = simulate(bars, held, e).fills
    assert f["idx"].tolist() == [1, 2, 5, 6]          # entry, stop in bar 2 (low 98.5), fresh entry, closing exit
    assert f["px"].tolist() == [100.0, 99.0, 100.0, 101.5]
    assert f["kind"].tolist() == [FillKind.TAKER, FillKind.STOP, FillKind.TAKER, FillKind.FINAL]
    no_stop = simulate(bars, held, e, stop=False).fills
    assert no_stop["idx"].tolist() == [1, 4, 5, 6]


def test_gap_rows_trade_at_the_previous_close():
    bars = BARS.copy()
    bars.loc[2, ["open", "high", "low", "close"]] = np.nan
    f = simulate(bars, np.array([0, 0, 1, 1, 1.0]), exe(taker_fee=0.0, slippage=0.0)).fills
    assert f["px"].tolist()[:1] == [102.5]


def test_maker_orders_rest_at_the_touch_and_fill_only_when_traded_through():
    # the bid at bar t is close[t-1] * (1 - s); it fills when the bar trades below it
    bars = pd.DataFrame({"ts_ms": 1000 * np.arange(6),
                         "open": [100.0, 100.0, 100.2, 100.5, 100.6, 100.3],
                         "high": [100.1, 100.3, 100.6, 100.7, 100.8, 100.4],
                         "low": [99.9, 99.99, 100.1, 100.45, 100.2, 100.1],
                         "close": [100.0, 100.2, 100.5, 100.6, 100.3, 100.2]})
    e = exe(style=Style.MAKER, maker_fee=-0.0001, slippage=0.0001, final_slippage=0.0)
    res = simulate(bars, np.array([0, 2, 2, 2, 0, 0.0]), e)
    # bar 1: bid 99.99 (100.0 * 0.9999), low 99.99 only touches it: nothing; bar 2: bid 100.18, low 100.1: filled
    # bar 4: flat wanted, ask 100.6 * 1.0001 = 100.66, high 100.8: filled
    f = res.fills
    assert f["idx"].tolist() == [2, 4] and f["kind"].tolist() == [FillKind.MAKER] * 2
    np.testing.assert_allclose(f["px"], [100.2 * 0.9999, 100.6 * 1.0001])
    np.testing.assert_allclose(f["fee"], -0.0001 * 2 * f["px"])  # a rebate: the fee is negative
    assert res.value[-1] == pytest.approx(1000.0 + 2 * (f["px"][1] - f["px"][0]) - f["fee"].sum())
    assert res.working_bars == 3 and res.maker_orders == 2  # the buy rested two bars, the sell one
    half = simulate(bars, np.array([0, 2, 2, 2, 0, 0.0]), replace(e, touch_fill=0.5)).fills
    assert half["idx"].tolist() == [1, 2, 4] and half["qty"].tolist()[:2] == [1.0, 1.0]  # a touch fills half


def test_latency_delays_orders_by_each_started_bar_period():
    cfg = BacktestConfig(latency_ms=1, stop_loss_pct=0)
    e = execution(cfg, BARS, 60_000)
    assert e.latency_bars == 1
    f = simulate(BARS, np.array([0, 1, 1, 0, 0.0]), e).fills
    assert f["idx"].tolist() == [2, 4]
    assert execution(BacktestConfig(latency_ms=120_001), BARS, 60_000).latency_bars == 3
    assert execution(BacktestConfig(), BARS, 60_000).latency_bars == 0


def test_swaps_settle_funding_every_eight_hours():
    hour = 3_600_000
    bars = pd.DataFrame({"ts_ms": [7 * hour, 8 * hour - 1, 8 * hour + hour, 16 * hour], "open": 100.0,
                         "high": 100.0, "low": 100.0, "close": 100.0})
    e = execution(BacktestConfig(stop_loss_pct=0, slippage_bps=0, funding_rate_8h=0.0001), bars, hour, "BTC-USDT-SWAP")
    assert e.inst_type is InstType.SWAP and e.funding.tolist() == [0.0, 0.0001, 0.0, 0.0001]
    res = simulate(bars, np.array([0, 3.0, 3.0, 3.0]), e)
    assert res.funding_paid == pytest.approx(2 * 3 * 100 * 0.0001)  # a long pays at 08:00 and 16:00
    short = simulate(bars, np.array([0, -3.0, -3.0, -3.0]), e)
    assert short.funding_paid == pytest.approx(-res.funding_paid)
    spot = execution(BacktestConfig(), bars, hour, "BTC-USDT")
    assert not np.any(spot.funding)


def test_execution_takes_fees_and_sizing_from_the_backtest_section():
    bt = Settings().backtest  # sizing, cap and stop resolved from the strategy and risk sections
    e = execution(bt, BARS, 60_000, "BTC-USDT")
    assert (e.taker_fee, e.maker_fee) == (pytest.approx(0.001), pytest.approx(0.0008))  # OKX regular spot
    assert e.fee == pytest.approx(0.001) and e.slippage == pytest.approx(1e-4)
    assert e.init_cash == 10_000.0 and e.stop_loss == pytest.approx(0.01)
    assert bt.sizing == Settings().strategy.sizing and bt.position_cap_usd == Settings().risk.max_position_usd
    swap = execution(bt, BARS, 60_000, "BTC-USDT-SWAP")
    assert (swap.maker_fee, swap.taker_fee) == (pytest.approx(0.0002), pytest.approx(0.0005))  # not spot's
    maker = execution(BacktestConfig(execution="maker"), BARS, 60_000)
    assert maker.fee == pytest.approx(0.0008) and maker.style is Style.MAKER
    vip = execution(BacktestConfig(fee_tier="vip8"), BARS, 60_000, "BTC-USDT-SWAP")
    assert vip.maker_fee < 0  # a rebate
    spread = BARS.assign(spread_bps=[2.0, np.nan, 4.0, 0.5, -1.0])
    s = execution(BacktestConfig(slippage_bps=3.0), spread, 60_000)
    # a fill at bar t's open pays half the spread quoted at bar t-1's close
    np.testing.assert_allclose(s.slippage, [1e-4, 1e-4, 3e-4, 2e-4, 0.25e-4])
    assert s.slippage_source == "spread_bps column" and s.final_slippage == pytest.approx(3e-4)
    override = execution(BacktestConfig(taker_fee=0.0005, init_cash=50.0, stop_loss_pct=0.0), BARS, 1000)
    assert (override.fee, override.init_cash, override.stop_loss) == (0.0005, 50.0, 0.0)


def test_spread_slippage_reaches_the_fill_prices():
    bars = BARS.assign(spread_bps=[10.0, 2.0, 20.0, 2.0, 2.0])
    e = execution(BacktestConfig(taker_fee=0.0, stop_loss_pct=0.0), bars, 60_000)
    f = simulate(bars, np.array([0, 1, 1, 0, 0.0]), e).fills
    np.testing.assert_allclose(f["px"], [102.0 * (1 + 5e-4), 105.0 * (1 - 10e-4)])


def _spec():
    from hftlab.domain.instruments import InstrumentSpec

    return InstrumentSpec("X-USDT", InstType.SPOT, "X", "USDT", Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001"))


@settings(max_examples=60, deadline=None)
@given(units=st.lists(st.sampled_from([-2.0, -1.0, 0.0, 1.0, 3.0]), min_size=5, max_size=5),
       maker=st.booleans(), stop=st.sampled_from([0.0, 0.01]))
def test_pnl_parity_the_portfolio_over_the_fills_equals_the_engines_equity(units, maker, stop):
    """DESIGN rule 5: the live system's Portfolio, fed the backtest's fills, ends at the backtest's equity."""
    from hftlab.portfolio.replay import replay

    e = exe(style=Style.MAKER if maker else Style.TAKER, stop_loss=stop, maker_fee=-0.0002)
    res = simulate(BARS, np.array(units), e)
    f = res.fills
    rows = [(int(BARS.ts_ms[i]) + 1, "X-USDT", "buy" if q > 0 else "sell", float(p), abs(float(q)), -float(fee))
            for i, q, p, fee in zip(f["idx"], f["qty"], f["px"], f["fee"])]
    marks = [(int(ts) + 2, "X-USDT", float(c)) for ts, c in zip(BARS.ts_ms, BARS.close)]
    curve = replay(rows, [_spec()], Decimal(1000), "USDT", marks)
    assert float(curve[-1].equity) == pytest.approx(res.value[-1], abs=1e-9)
