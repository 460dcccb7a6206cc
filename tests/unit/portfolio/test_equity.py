"""The portfolio: equity, high-water mark and drawdown, the UTC day, idempotent fills and funding,
restarts replaying the same facts, venue replacement."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import Fill, Side
from hftlab.portfolio.equity import DAY_MS, Portfolio

D = Decimal
SPOT = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.00001"), D("0.00001"))
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("1"), D("1"), ct_val=D("0.01"))
SPECS = (SPOT, SWAP)
DAY0 = 20_000 * DAY_MS  # a UTC midnight


def fill(trade_id, inst=SWAP.inst_id, side=Side.BUY, px="100", sz="10", fee="-0.05", ccy="USDT", ts=DAY0):
    return Fill(inst, str(trade_id), "1000000001", "9", side, D(px), D(sz), D(fee), ccy, ts)


def test_equity_is_cash_plus_every_pnl_component():
    pf = Portfolio(SPECS, D(1000), "USDT")
    pf.apply_fill(fill(1))  # 10 contracts long at 100, 0.01 BTC each
    pf.apply_fill(fill(2, inst=SPOT.inst_id, sz="0.5", fee="-0.0005", ccy="BTC"))
    pf.apply_funding(SWAP.inst_id, D("-0.02"), DAY0)
    marks = {SWAP.inst_id: D(110), SPOT.inst_id: 90.0}
    snap = pf.snapshot(DAY0 + 1, marks)
    # swap: +1.00 unrealised; spot: 0.4995 held at avg 100 marked 90 → −4.995; fees −0.05 −0.05; funding −0.02
    assert snap.unrealised == D("1.00") + D("-4.995") and snap.fees == D("-0.10") and snap.funding == D("-0.02")
    assert snap.equity == pf.equity(marks) == D(1000) + D("1.00") - D("4.995") - D("0.10") - D("0.02")


def test_high_water_mark_and_drawdown():
    pf = Portfolio([SWAP], D(1000), "USDT", high_water=D(1010))  # persisted from an earlier run
    pf.apply_fill(fill(1, fee="0"))
    s = pf.snapshot(DAY0, {SWAP.inst_id: D(100)})
    assert (s.equity, s.high_water, s.drawdown) == (D(1000), D(1010), D(10))
    assert s.drawdown_pct == D(10) * 100 / D(1010)
    s = pf.snapshot(DAY0 + 1, {SWAP.inst_id: D(300)})  # +20: a new high
    assert (s.equity, s.high_water, s.drawdown, s.drawdown_pct) == (D(1020), D(1020), D(0), D(0))
    s = pf.snapshot(DAY0 + 2, {SWAP.inst_id: D(198)})
    assert (s.high_water, s.drawdown, s.drawdown_pct) == (D(1020), D("10.20"), D(1))
    assert pf.high_water == D(1020)
    assert Portfolio([SWAP], D(0), "USDT").snapshot(DAY0, {}).drawdown_pct == 0


def test_day_pnl_from_the_last_equity_before_utc_midnight():
    pf = Portfolio([SWAP], D(1000), "USDT")
    pf.apply_fill(fill(1, fee="0"))
    m = SWAP.inst_id
    assert pf.snapshot(DAY0 + 5, {m: D(100)}).day_pnl == 0
    assert pf.snapshot(DAY0 + DAY_MS - 1, {m: D(150)}).day_pnl == D(5)
    s = pf.snapshot(DAY0 + DAY_MS + 1, {m: D(160)})
    assert s.day_pnl == D(1) and pf.day_open == (DAY0 // DAY_MS + 1, D(1005))
    assert pf.snapshot(DAY0 + DAY_MS - 9, {m: D(170)}).day_pnl == D(2)  # a clock going back does not roll


def test_day_open_persisted_across_a_restart():
    day = DAY0 // DAY_MS
    pf = Portfolio([SWAP], D(1000), "USDT", day_open=(day, D(990)))
    assert pf.snapshot(DAY0 + 10, {}).day_pnl == D(10)
    later = Portfolio([SWAP], D(1000), "USDT", day_open=(day, D(990)))
    assert later.snapshot(DAY0 + 3 * DAY_MS, {}).day_pnl == 0  # that midnight was never seen


def test_funding_once_per_instrument_and_funding_time():
    pf = Portfolio(SPECS, D(0), "USDT")
    assert pf.apply_funding(SWAP.inst_id, D("-0.1"), 1)
    assert not pf.apply_funding(SWAP.inst_id, D("-0.1"), 1)
    assert pf.apply_funding(SWAP.inst_id, D("0.3"), 2)
    assert pf.position(SWAP.inst_id).funding == D("0.2")
    with pytest.raises(ValueError):
        pf.apply_funding(SPOT.inst_id, D(1), 3)


def test_refusals():
    with pytest.raises(ValueError, match="quoted in USDC"):
        Portfolio([InstrumentSpec("BTC-USDC", InstType.SPOT, "BTC", "USDC", D(1), D(1), D(1))], D(0), "USDT")
    pf = Portfolio([SWAP], D(0), "USDT")
    with pytest.raises(ValueError):
        pf.apply_fill(fill(1, inst="ETH-USDT-SWAP"))
    with pytest.raises(ValueError):
        pf.apply_fill(fill(1, ccy="OKB"))
    assert len(pf.ledger) == 0  # refused before the ledger took it: the corrected fact can still land
    pf.apply_fill(fill(1))
    with pytest.raises(ValueError, match="no mark"):
        pf.equity({})


def test_replace_position_keeps_equity_and_records_the_discrepancy():
    pf = Portfolio([SWAP], D(1000), "USDT")
    pf.apply_fill(fill(1))
    marks = {SWAP.inst_id: D(70)}
    before = pf.equity(marks)
    d = pf.replace_position(SWAP.inst_id, D(0), None, 70.0, ts_ms=5)
    assert pf.equity(marks) == before and d.qty_delta == D(-10)
    assert pf.position(SWAP.inst_id).discrepancies == [d]


def state(pf: Portfolio):
    return {i: (p.qty, p.avg_px, p.realised, p.fees) for i, p in pf.positions.items()}, len(pf.ledger)


facts = st.lists(st.tuples(st.sampled_from(SPECS), st.sampled_from([Side.BUY, Side.SELL]), st.integers(900, 1100),
                           st.integers(1, 50), st.integers(0, 8)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(seq=facts, seed=st.integers(0, 2**32 - 1))
def test_duplicates_and_restarts_change_nothing(seq, seed):
    distinct = []
    for i, (spec, side, px, lots, fee_bp) in enumerate(seq):
        sz = spec.lot_sz * lots * 1000 if not spec.is_swap else D(lots)
        base = side is Side.BUY and not spec.is_swap
        fee = -(sz if base else sz * D(px) * spec.ct_val) * fee_bp / 10_000
        distinct.append(fill(1000 + i, inst=spec.inst_id, side=side, px=px, sz=sz, fee=fee,
                             ccy=spec.base_ccy if base else "USDT", ts=DAY0 + i))
    rng = random.Random(seed)
    noisy = []
    for f in distinct:  # every fact once, in order, with redeliveries sprinkled after it
        noisy.append(f)
        noisy += rng.sample(noisy, k=min(len(noisy), rng.randint(0, 2)))
    clean = Portfolio(SPECS, D(10_000), "USDT")
    for f in distinct:
        clean.apply_fill(f)
    live = Portfolio(SPECS, D(10_000), "USDT")
    booked = [f for f in noisy if live.apply_fill(f)]
    assert booked == distinct and state(live) == state(clean)
    restarted = Portfolio(SPECS, D(10_000), "USDT")
    for f in [*live.ledger, *noisy]:  # the replay at start-up, then the venue says it all again
        restarted.apply_fill(f)
    assert state(restarted) == state(clean)
    marks = {SPOT.inst_id: D(1000), SWAP.inst_id: D(1000)}
    assert restarted.equity(marks) == clean.equity(marks)
