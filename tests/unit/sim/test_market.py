"""The simulated order flow: realistic statistics, clustering, the planted signal, determinism."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import Instrument, MarketProfile, default_instruments
from hftlab.sim.market import BURST_ORDERS, ECHO_DELAY_S, ECHO_LEG_S, ECHO_MOVE, PROBE_GAP_S, Market

INST = {i.inst_id: i for i in default_instruments()}


def market(inst_id: str, seed: int, signal: float = 0.0) -> Market:
    return Market(INST[inst_id], np.random.Generator(np.random.PCG64(seed)), signal, 0)


def run(m: Market, seconds: float, every_ms: int, fn) -> None:
    steps = int(seconds * 1000 / m.step_ms)
    k0 = m.tape.last_ts // m.step_ms
    for k in range(k0 + 1, k0 + steps + 1):
        m.step(k * m.step_ms, (k - 1) * m.step_ms)
        if k * m.step_ms % every_ms == 0:
            fn(m)


@pytest.mark.parametrize("inst_id,max_spread", [("BTC-USDT", 5), ("ETH-USDT", 5), ("SOL-USDT", 8)])
def test_book_and_price_statistics_are_realistic(inst_id, max_spread):
    m = market(inst_id, 1)
    spreads, mids = [], []

    def look(m: Market) -> None:
        b, a = m.book.best_bid(), m.book.best_ask()
        assert b is not None and a is not None and 0 < b < a, "crossed or empty book"
        spreads.append(a - b)
        mids.append(m.mid_px())

    run(m, 600, 100, look)
    spreads = np.array(spreads)
    assert 1 <= np.median(spreads) <= max_spread
    assert np.percentile(spreads, 99) <= 4 * max_spread
    for side in (m.book.bids, m.book.asks):
        idx, sz, cnt = side.levels(400)
        assert len(idx) == 400 and (sz > 0).all() and (cnt >= 1).all() and (idx > 0).all()
        assert cnt.max() > 1
    # volatility of 1-second mid returns, annualised, near the configured one
    r = np.diff(np.log(np.array(mids[::10])))
    vol = r.std() * math.sqrt(365 * 86400)
    assert 0.6 * INST[inst_id].profile.vol_annual < vol < 1.6 * INST[inst_id].profile.vol_annual
    assert abs(mids[-1] / INST[inst_id].profile.start_px - 1) < 0.05


def test_market_orders_arrive_in_clusters():
    m = market("BTC-USDT", 2)
    per_second = []
    run(m, 900, 1000, lambda m: per_second.append(len({(t.ts_ms, t.side) for t in m.tape.take()})))
    counts = np.array(per_second)
    assert counts.mean() > 2
    assert counts.var() / counts.mean() > 1.5          # a Poisson stream would give ~1


def _shallow(seed: int, signal: float, temporal: float | None = None) -> Market:
    """BTC-USDT with a shallower book: the planted relation lives in the flow and the fair value, not
    in the book's depth, so this keeps the signal tests quick."""
    base = INST["BTC-USDT"]
    inst = dataclasses.replace(base, profile=dataclasses.replace(base.profile, depth_ticks=200, limit_rate=30.0))
    return Market(inst, np.random.Generator(np.random.PCG64(seed)), signal, 0, temporal_strength=temporal)


def _imbalance_vs_future_move(signal: float, seed: int, seconds: int = 1500, horizon_s: int = 5,
                              temporal: float | None = None) -> float:
    """corr(taker order-flow imbalance over the last `horizon_s`, log mid change over the next `horizon_s`)."""
    m = _shallow(seed, signal, temporal)
    ofi, mids = [], []

    def sample(m: Market) -> None:
        trades = m.tape.take()
        buys = sum(t.side == "buy" for t in trades)
        ofi.append((2 * buys - len(trades)) / max(1, len(trades)))
        mids.append(m.mid_px())

    run(m, seconds, horizon_s * 1000, sample)
    future = np.diff(np.log(mids))
    return float(np.corrcoef(ofi[:-1], future)[0, 1])


def test_signal_strength_plants_a_predictable_linear_relation():
    # the linear part alone (temporal_strength 0): 300 non-overlapping 5-second windows, a correlation's
    # standard error is about 0.06; across seeds lambda=0 gives |r| < 0.15 and lambda=1 r of 0.32 to 0.43
    assert abs(_imbalance_vs_future_move(0.0, seed=5)) < 0.15
    assert _imbalance_vs_future_move(1.0, seed=5, temporal=0.0) > 0.25


def _probe_echoes(temporal: float, seed: int = 3, seconds: int = 1800) -> tuple[np.ndarray, np.ndarray]:
    """From the public tape alone: the probes (a burst of one side at one moment, the opposite burst
    PROBE_GAP_S later) and, for each, the mid's log change over the echo's leg times the first burst's
    side, and over the seconds before it."""
    m = _shallow(seed, 0.0, temporal)
    trades, mids = [], []

    def sample(m: Market) -> None:
        trades.extend(m.tape.take())
        mids.append(m.mid_px())

    run(m, seconds, 1000, sample)
    mids = np.log(np.array(mids))
    counts: dict[tuple[int, str], int] = {}
    for t in trades:
        counts[(t.ts_ms, t.side)] = counts.get((t.ts_ms, t.side), 0) + 1
    bursts = {ts: 1 if side == "buy" else -1 for (ts, side), n in counts.items() if n >= BURST_ORDERS}
    gap = int(PROBE_GAP_S * 1000)
    leg, pre = [], []
    for ts, d in sorted(bursts.items()):
        second = [t for t in bursts if ts + gap - m.step_ms <= t <= ts + gap + m.step_ms and bursts[t] == -d]
        k = ts // 1000  # mids[k - 1] is the mid at the end of second k
        a, b = k + int(ECHO_DELAY_S) - 1, k + int(ECHO_DELAY_S + ECHO_LEG_S) + 1
        if second and b < len(mids):
            leg.append(d * (mids[b] - mids[a]))
            pre.append(d * (mids[a] - mids[k + 1]))
    return np.array(leg), np.array(pre)


def test_temporal_strength_plants_an_echo_of_the_probes_order():
    leg, pre = _probe_echoes(1.0)
    move = ECHO_MOVE * INST["BTC-USDT"].profile.vol_annual / math.sqrt(365 * 86400)
    assert len(leg) > 30  # about one probe per PROBE_RATE seconds
    assert 0.7 * move < np.median(leg) < 1.3 * move  # the leg moves the price the first burst's way
    assert abs(np.median(pre)) < 0.2 * move  # and nothing before it
    quiet, _ = _probe_echoes(0.0)
    assert len(quiet) == len(leg) and abs(np.median(quiet)) < 0.2 * move  # the bursts alone predict nothing


def test_temporal_strength_follows_signal_strength_unless_set():
    assert (_shallow(1, 0.7).mu, _shallow(1, 0.7, 0.0).mu, _shallow(1, 0.0, 0.4).mu) == (0.7, 0.0, 0.4)
    with pytest.raises(ValueError, match="temporal_strength"):
        _shallow(1, 0.5, 1.5)


def test_same_seed_same_market_different_seed_different_market():
    def tape(seed: int) -> tuple:
        m = market("ETH-USDT", seed)
        run(m, 60, 60_000, lambda m: None)
        return m.tape.take(), [x.tolist() for x in m.book.bids.levels(400) + m.book.asks.levels(400)]

    assert tape(9) == tape(9)
    assert tape(9)[0] != tape(10)[0]


def test_the_exogenous_flow_does_not_depend_on_what_agents_do():
    quiet, busy = SimExchange(seed=12), SimExchange(seed=12)
    for k in range(60):
        for ex in (quiet, busy):
            ex.advance_to(ex.now_ms + 500)
        side = "buy" if k % 2 else "sell"
        busy.place_order("k", {"instId": "BTC-USDT", "tdMode": "cash", "side": side, "ordType": "market",
                               "sz": "0.05", "tgtCcy": "base_ccy"})
    for inst_id in quiet.markets:
        q, b = quiet.markets[inst_id], busy.markets[inst_id]
        assert (q.fair_px, q.signal) == (b.fair_px, b.signal)
    assert quiet.book_levels("BTC-USDT") != busy.book_levels("BTC-USDT")      # but the book felt the agent


def test_one_big_advance_equals_many_small_ones():
    a, b = SimExchange(seed=13), SimExchange(seed=13)
    a.advance_to(a.now_ms + 20_000)
    for _ in range(200):
        b.advance_to(b.now_ms + 100)
    for inst_id in a.markets:
        assert a.take_trades(inst_id) == b.take_trades(inst_id)
        assert a.book_levels(inst_id) == b.book_levels(inst_id)


def test_stale_agent_quotes_are_picked_off_when_the_price_moves_through_them():
    still = MarketProfile(start_px=100.0, vol_annual=0.0, revert_std=0.0, limit_rate=0.0, market_rate=0.0,
                          market_branching=0.0, order_notional=100.0, half_spread_ticks=0.5)
    inst = Instrument("TST-USDT", 1, "SPOT", "TST", "USDT", "0.1", "0.001", "0.01", still)
    ex = SimExchange([inst], seed=1, initial_balances={"USDT": "1000", "TST": "10"})
    ack = ex.place_order("k", {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                               "px": "100", "sz": "1"})              # inside the spread: the best bid
    ex.advance_to(ex.now_ms + 1000)
    assert ex.get_order("k", "TST-USDT", ord_id=ack["ordId"])["state"] == "live"
    ex.markets["TST-USDT"].logf -= 0.01                                 # fair value drops 1%
    ex.advance_to(ex.now_ms + 100)
    rec = ex.get_order("k", "TST-USDT", ord_id=ack["ordId"])
    assert (rec["state"], rec["execType"], rec["fillPx"]) == ("filled", "M", "100")
    bids, asks = ex.book_levels("TST-USDT", 1)
    assert float(asks[0][0]) < 100 and float(bids[0][0]) < float(asks[0][0])


def test_swap_follows_its_spot_market():
    ex = SimExchange(seed=14)
    ex.advance_to(ex.now_ms + 120_000)
    spot, swap = ex.markets["BTC-USDT"], ex.markets["BTC-USDT-SWAP"]
    assert abs(swap.mid_px() / spot.mid_px() - 1) < 0.002
    assert spot.signal == swap.signal
