"""Parity: the live portfolio (positions from the fill ledger, marked at the close) over a backtest's
fills equals the backtest's equity bar by bar, fees and funding included: the backtest books money as
the live side books it. Real OKX candles; spot and a swap (contracts of ctVal, funding)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from hftlab.backtest.config import BacktestConfig
from hftlab.backtest.engine import execution, simulate
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import Fill, Side
from hftlab.models.barfiles import load_bars
from hftlab.portfolio.equity import Portfolio

CANDLES = "okx/candles/BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv"


@pytest.fixture(scope="module")
def bars(shared_data):
    b, _ = load_bars(shared_data / CANDLES)
    return b.iloc[:3000].reset_index(drop=True)


def _target(bars, size: float) -> np.ndarray:
    """A crossover rule that trades often, both ways: long above the 30-bar mean, short below."""
    close = bars["close"].to_numpy(dtype=float)
    mean = np.convolve(close, np.ones(30) / 30, mode="full")[:close.size]
    want = np.where(close > mean, size, -size)
    want[:30] = 0.0
    return np.concatenate([[0.0], want[:-1]])  # decided at the previous close


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


@pytest.mark.parametrize("style", ["taker", "maker"])
@pytest.mark.parametrize("inst_type", ["SPOT", "SWAP"])
def test_the_portfolio_over_a_backtests_fills_equals_its_equity(bars, style, inst_type):
    inst = "BTC-USDT" if inst_type == "SPOT" else "BTC-USDT-SWAP"
    ct_val = Decimal("1") if inst_type == "SPOT" else Decimal("0.01")
    spec = InstrumentSpec(inst, InstType(inst_type), "BTC", "USDT", Decimal("0.1"), Decimal("0.00000001"),
                          Decimal("0.00000001"), ct_val=ct_val)
    cfg = BacktestConfig(execution=style, stop_loss_pct=0.5, touch_fill=0.5, init_cash=100_000)
    exe = execution(cfg, bars, 60_000, inst)
    res = simulate(bars, _target(bars, 0.5), exe)
    assert len(res.fills["idx"]) > 50, "the rule must trade for the parity to mean anything"
    if inst_type == "SWAP":
        assert res.funding_paid != 0

    close = bars["close"].to_numpy(dtype=float)
    ts = bars["ts_ms"].to_numpy(dtype=np.int64)
    funding = np.broadcast_to(exe.funding, close.shape)
    pf = Portfolio([spec], _dec(cfg.init_cash), "USDT")
    f = res.fills
    k, paid = 0, 0.0
    for t in range(len(bars)):
        while k < len(f["idx"]) and f["idx"][k] == t:
            qty = float(f["qty"][k])
            pf.apply_fill(Fill(inst, str(k + 1), str(k + 1), str(k + 1), Side.BUY if qty > 0 else Side.SELL,
                               _dec(f["px"][k]), _dec(abs(qty)) / ct_val, -_dec(f["fee"][k]), "USDT", int(ts[t])))
            k += 1
        if funding[t]:  # longs pay a positive rate on the notional held at the close
            amount = float(res.position[t]) * close[t] * float(funding[t])
            pf.apply_funding(inst, -_dec(amount), int(ts[t]))
            paid += amount
        equity = float(pf.equity({inst: _dec(close[t])}))
        assert equity == pytest.approx(res.value[t], rel=1e-9, abs=1e-6), (t, equity, res.value[t])
    assert k == len(f["idx"])
    assert paid == pytest.approx(res.funding_paid, rel=1e-9, abs=1e-9)
    assert float(pf.position(inst).qty) == 0.0  # the closing exit flattened both books
