"""Position accounting: average cost through flips, fees in quote and in base, funding, venue
replacement, and the cash-flow identity over generated fill sequences (spot and swap)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import Side
from hftlab.portfolio.positions import Position, to_decimal

D = Decimal
SPOT = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.00001"), D("0.00001"))
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("1"), D("1"), ct_val=D("0.01"))


def test_average_cost_through_a_flip_on_a_swap():
    p = Position(SWAP)
    p.apply_fill(Side.BUY, D(100), D(10), D(0), "USDT")
    p.apply_fill(Side.BUY, D(110), D(10), D(0), "USDT")
    assert (p.qty, p.avg_px, p.realised) == (D(20), D(105), D(0))
    assert p.unrealised(D(115)) == D("2.00")  # (115 − 105) × 20 × 0.01
    p.apply_fill(Side.SELL, D(120), D(5), D(0), "USDT")
    assert (p.qty, p.avg_px, p.realised) == (D(15), D(105), D("0.75"))
    p.apply_fill(Side.SELL, D(90), D(25), D(0), "USDT")  # closes 15 at −15 each, opens 10 short at 90
    assert (p.qty, p.avg_px, p.realised) == (D(-10), D(90), D("-1.50"))
    assert p.unrealised(D(85)) == D("0.50")
    p.apply_fill(Side.BUY, D(80), D(10), D("-0.04"), "USDT")
    assert (p.qty, p.avg_px, p.realised, p.fees) == (D(0), D(0), D("-0.50"), D("-0.04"))
    assert p.unrealised(D(1)) == 0 and p.pnl(D(1)) == D("-0.54")


def test_spot_buy_fee_in_base_is_valued_at_the_fill_price_and_leaves_the_venue_balance():
    p = Position(SPOT)
    p.apply_fill(Side.BUY, D(100), D(1), D("-0.001"), "BTC")
    assert (p.qty, p.avg_px, p.fees, p.realised) == (D("0.999"), D(100), D("-0.100"), D(0))
    p.apply_fill(Side.SELL, D(110), D("0.999"), D("-0.10989"), "USDT")
    assert p.qty == 0 and p.realised == D("9.990")
    assert p.pnl(D(0)) == D("-100") + D("109.89") - D("0.10989")  # the cash that moved


def test_a_base_fee_on_an_open_position_realises_its_sliver():
    p = Position(SPOT)
    p.apply_fill(Side.BUY, D(100), D(1), D(0), "USDT")
    p.apply_fill(Side.BUY, D(120), D(1), D("-0.002"), "BTC")  # avg 110, then 0.002 disposed of at 120
    assert p.qty == D("1.998") and p.avg_px == D(110)
    assert p.realised == D("0.020") and p.fees == D("-0.240")


def test_rebates_and_fee_currencies():
    p = Position(SWAP)
    p.apply_fill(Side.BUY, D(100), D(1), D("0.001"), "USDT")  # a maker rebate
    assert p.fees == D("0.001")
    p.apply_fill(Side.BUY, D(100), D(1), D(0), "")  # no fee, no currency: fine
    for ccy in ("BTC", "OKB"):  # a swap fee in base, or anything else, cannot be valued
        with pytest.raises(ValueError):
            p.apply_fill(Side.BUY, D(100), D(1), D("-0.1"), ccy)
    assert (p.qty, p.fees) == (D(2), D("0.001"))  # refused before anything was booked
    with pytest.raises(ValueError):
        Position(SPOT).apply_fill(Side.SELL, D(100), D(1), D("-0.1"), "ETH")


def test_funding_on_swaps_only():
    p = Position(SWAP)
    p.apply_funding(D("-0.3"))
    p.apply_funding(D("0.1"))
    assert p.funding == D("-0.2") and p.pnl(D(1)) == D("-0.2")
    with pytest.raises(ValueError):
        Position(SPOT).apply_funding(D(1))


def test_replace_by_the_venue_keeps_equity_at_the_mark_and_records_it():
    p = Position(SWAP)
    p.apply_fill(Side.BUY, D(100), D(10), D("-0.05"), "USDT")
    mark = D(80)
    before = p.pnl(mark)
    d = p.replace(D(0), None, mark, ts_ms=7)  # liquidated: no order update ever came
    assert p.qty == 0 and p.pnl(mark) == before and p.realised == D("-2.00")
    assert (d.local_qty, d.venue_qty, d.qty_delta, d.notional, d.mark_px, d.ts_ms) == (D(10), D(0), D(-10), D("-8.00"), mark, 7)
    assert p.discrepancies == [d]
    assert p.replace(D(0), None, D(70), ts_ms=8) is None  # sizes agree: nothing to record


def test_replace_adopts_the_venue_average_and_stays_continuous():
    p = Position(SWAP)
    p.apply_fill(Side.SELL, D(100), D(5), D(0), "USDT")
    mark = D(90)
    before = p.pnl(mark)
    d = p.replace(D(-8), D(95), mark, ts_ms=1)  # ADL or a fill we never saw
    assert (p.qty, p.avg_px) == (D(-8), D(95)) and p.pnl(mark) == before
    assert d.local_avg_px == D(100) and d.venue_avg_px == D(95)
    assert p.pnl(D(85)) - p.pnl(mark) == D("0.40")  # from here it moves with the venue's position
    assert p.replace(D(-8), D("95.0001"), mark, ts_ms=2) is None  # a rounded average alone changes nothing


def test_to_decimal_uses_the_shortest_repr_of_a_float():
    assert to_decimal(0.1) == D("0.1") and to_decimal(3) == D(3) and to_decimal("2.5") == D("2.5")


fills = st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(5_000, 15_000),
                           st.integers(1, 400), st.integers(0, 10), st.booleans()), min_size=1, max_size=40)


@pytest.mark.parametrize("spec", [SPOT, SWAP], ids=["spot", "swap"])
@settings(max_examples=300, deadline=None)
@given(seq=fills, mark=st.integers(5_000, 15_000))
def test_pnl_equals_the_cash_flows_plus_the_residual_at_the_mark(spec, seq, mark):
    p = Position(spec)
    cash = held = gross = D(0)
    lot = spec.lot_sz
    for side, px_c, lots, fee_bp, fee_in_base in seq:
        px, sz = D(px_c) / 10, lot * lots
        signed = sz if side is Side.BUY else -sz
        base_fee = fee_in_base and side is Side.BUY and not spec.is_swap  # the venue's spot-buy rule
        fee = -(sz if base_fee else sz * px * spec.ct_val) * fee_bp / 10_000
        p.apply_fill(side, px, sz, fee, spec.base_ccy if base_fee else spec.quote_ccy)
        cash -= signed * spec.ct_val * px
        held += signed + (fee if base_fee else 0)
        cash += 0 if base_fee else fee
        gross += sz * spec.ct_val * px
    m = D(mark) / 10
    reference = cash + held * spec.ct_val * m
    assert p.qty == held
    assert abs(p.realised + p.unrealised(m) + p.fees - reference) <= D("1e-9") * max(gross, D(1))
    if not p.qty:
        assert p.avg_px == 0
