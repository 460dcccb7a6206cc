"""Cross-check: one rule traded through the simulator's matching engine and through the backtest.

The simulator (hftlab.sim.exchange.SimExchange, in process, signal_strength 1) runs an hour of
BTC-USDT; at each 1 s bar's close a momentum edge (tanh of the last 5 bars' return in units of
2 bp) goes through the live rule (hftlab.strategy.rule.SignalRule, with hysteresis) and every
change of position is sent as a market order of 0.01 BTC to the matching engine, which fills it
against its book and charges its own taker fee (0.10%, OKX's regular spot tier). The backtest
(hftlab.backtest.engine, taker style, no stop) gets the bars that session printed, with the
spread quoted at each close, the same rule in its batch form (`decide`) and the same size.

Tolerance, stated: the two make the same position changes; their fees agree within 0.1%, and
their net P&L within 0.1 bp of the traded notional (measured: 0.02 bp on both seeds, the backtest
slightly the worse). The backtest fills at the next bar's open plus half the spread where the engine
filled at the touch when the order arrived: the difference per fill is noise of about one second of
price movement (0.6 bp) and the half spread, and over the ~430 orders of the hour their sum stays
well inside the bound, while a systematic error in either (a fee on the wrong notional or at the
wrong rate, the exit cost left out, fills a bar late: about 1 bp a fill) exceeds it many times.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

INST = "BTC-USDT"
SECONDS = 3600
UNITS = 0.01          # BTC per position (about 640 USDT: far inside the book's touch)
LOOKBACK = 5
THRESHOLD, EXIT = 0.3, 0.0


def momentum_edge(close, t: int) -> float:
    if t < LOOKBACK:
        return math.nan
    return math.tanh((close[t] / close[t - LOOKBACK] - 1.0) * 1e4 / 2.0)


def traded_through_matching_engine(seed: int) -> tuple[pd.DataFrame, dict]:
    """(the session's 1 s bars with spread_bps at each close, what the matching engine's fills add up to)."""
    from hftlab.sim.exchange import SimExchange
    from hftlab.sim.instruments import default_instruments
    from hftlab.strategy.rule import SignalRule

    [inst] = [i for i in default_instruments() if i.inst_id == INST]
    ex = SimExchange([inst], seed=seed, signal_strength=1.0)
    rule = SignalRule(THRESHOLD, EXIT)
    rows, closes, carry = [], [], []
    held, orders = 0, 0

    def market(side: str, units: float) -> None:
        answer = ex.place_order("acct", {"instId": INST, "tdMode": "cash", "side": side, "ordType": "market",
                                         "sz": f"{units:.8f}", "tgtCcy": "base_ccy"})
        assert answer["sCode"] == "0", answer

    start = ex.now_ms
    end = start + SECONDS * 1000
    for t in range(start + 1000, end + 1, 1000):
        ex.advance_to(t)
        # the bar [t - 1 s, t): a print at t itself opens the next one
        tape = carry + [(tr.ts_ms, float(tr.px)) for tr in ex.take_trades(INST)]
        carry = [x for x in tape if x[0] >= t]
        px = [p for ts, p in tape if ts < t] or [closes[-1] if closes else float(ex.ticker(INST)["last"])]
        bids, asks = ex.book_levels(INST, 1)
        bid, ask = float(bids[0][0]), float(asks[0][0])
        rows.append({"ts_ms": t - 1000, "open": px[0], "high": max(px), "low": min(px), "close": px[-1],
                     "spread_bps": (ask - bid) / ((ask + bid) / 2) * 1e4})
        closes.append(px[-1])
        want = int(rule.step_edge(momentum_edge(closes, len(closes) - 1)))
        if want != held and t < end:  # the last bar's decision would be held during a bar not in the session
            market("buy" if want > held else "sell", UNITS * abs(want - held))
            held, orders = want, orders + 1
    if held:  # what the backtest charges for a position open at the end: its exit
        market("sell" if held > 0 else "buy", UNITS)
    bars = pd.DataFrame(rows)
    cash = fees = notional = 0.0
    fills = ex.fills("acct")
    for f in fills:
        px, sz = float(f["fillPx"]), float(f["fillSz"])
        cash -= sz * px if f["side"] == "buy" else -sz * px
        notional += sz * px
        # OKX charges a spot buy's fee in the currency bought: value it at the fill's price
        fees -= float(f["fee"]) * (px if f["feeCcy"] == inst.base_ccy else 1.0)
    return bars, {"net": cash - fees, "fees": fees, "notional": notional, "orders": orders, "fills": len(fills)}


@pytest.mark.parametrize("seed", [5, 17])
def test_the_backtest_and_the_matching_engine_agree_on_one_rule(seed):
    from hftlab.backtest import engine
    from hftlab.backtest.config import BacktestConfig
    from hftlab.strategy.rule import decide

    bars, venue = traded_through_matching_engine(seed)
    close = bars["close"].to_numpy(dtype=np.float64)
    edge = np.array([momentum_edge(close, t) for t in range(close.size)])
    held = decide(edge, THRESHOLD, EXIT)
    # decided at bar t's close, held during bar t + 1; the last decision falls outside the session
    held = np.concatenate([[0], held[:-1]])
    target = held.astype(np.float64) * UNITS
    cfg = BacktestConfig(execution="taker", stop_loss_pct=0.0, init_cash=100_000.0)
    exe = engine.execution(cfg, bars, 1000, INST)
    assert exe.taker_fee == pytest.approx(0.001)  # the matching engine's own rate
    res = engine.simulate(bars, target, exe, stop=False)

    changes = int(np.count_nonzero(np.diff(np.concatenate([[0], held]))))
    assert venue["orders"] == changes > 200   # the same decisions, and enough of them to mean something
    backtest_net = float(res.value[-1] - cfg.init_cash)
    backtest_fees = float(res.fills["fee"].sum())
    assert backtest_fees == pytest.approx(venue["fees"], rel=1e-3)
    assert abs(backtest_net - venue["net"]) <= 0.1e-4 * venue["notional"], (backtest_net, venue)
