"""Replaying plain fills (a backtest's) into equity over time."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.portfolio.replay import replay

D = Decimal
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("1"), D("1"), ct_val=D("0.01"))
SPOT = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.00001"), D("0.00001"))


def test_equity_over_fills_and_marks():
    fills = [(1000, "BTC-USDT", "buy", "100", "1", "-0.1"), (3000, "BTC-USDT", "sell", 120.0, 1.0, -0.12)]
    marks = [(2000, "BTC-USDT", "110"), (1000, "BTC-USDT", "105")]
    curve = replay(fills, [SPOT], D(1000), "USDT", marks)
    assert [(s.ts_ms, s.equity) for s in curve] == [
        (1000, D("999.9")),  # marked at its fill price: only the fee
        (1000, D("1004.9")),  # the mark at the same time comes after the fill
        (2000, D("1009.9")),
        (3000, D("1019.78")),
    ]
    assert curve[-1].fees == D("-0.22") and curve[-1].realised == D(20) and curve[-1].drawdown == 0


def test_identical_rows_are_two_fills():
    fills = [(1, SWAP.inst_id, "buy", "100", "2", "0")] * 2
    assert replay(fills, [SWAP], D(0), "USDT", [(2, SWAP.inst_id, "101")])[-1].equity == D("0.04")


def test_a_bad_row_is_refused():
    with pytest.raises(ValueError):
        replay([(1, SWAP.inst_id, "buy", "100", "0", "0")], [SWAP], D(0), "USDT")
    with pytest.raises(ValueError):
        replay([(1, SWAP.inst_id, "hold", "100", "1", "0")], [SWAP], D(0), "USDT")


rows = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["buy", "sell"]), st.integers(9_000, 11_000),
                          st.integers(1, 20), st.integers(0, 10)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(rows=rows, mark=st.integers(9_000, 11_000))
def test_final_equity_is_cash_flows_plus_the_residual_at_the_last_mark(rows, mark):
    fills = [(ts, SWAP.inst_id, side, D(px) / 100, D(n), -D(n) * D(px) / 100 * SWAP.ct_val * bp / 10_000)
             for ts, side, px, n, bp in rows]
    curve = replay(fills, [SWAP], D(5000), "USDT", [(10_001, SWAP.inst_id, D(mark) / 100)])
    assert [s.ts_ms for s in curve] == sorted(s.ts_ms for s in curve) and len(curve) == len(fills) + 1
    cash, held = D(5000), D(0)
    for _, _, side, px, sz, fee in fills:
        signed = sz if side == "buy" else -sz
        cash += -signed * SWAP.ct_val * px + fee
        held += signed
    assert abs(curve[-1].equity - (cash + held * SWAP.ct_val * D(mark) / 100)) <= D("1e-12")
