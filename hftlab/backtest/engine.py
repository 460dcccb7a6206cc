"""Positions wanted per bar + bars -> fills, equity and trades, at OKX's costs.

    exe = execution(cfg, bars, period_ms, symbol)   # fees, spread, fill style, latency, funding, stop
    res = simulate(bars, target, exe)               # Result: value and position per bar, fills, trades
    m = summarise(res, exe)                         # hftlab.backtest.metrics

`target[t]` is the signed position (base units) wanted during bar t, decided at bar t-1's close
(hftlab.backtest.compare: the signal rule gives the direction, hftlab.strategy.sizing the size at
the decision that opens a position, held until the direction changes). The decision reaches the
venue `latency_ms` later: each started bar period of latency delays it one bar (0: it acts at the
next bar's open, as the first trade after the close would see it).

One bar, in order:
1. taker style: an order for the difference between wanted and held fills at the bar's open, a
   buy at open * (1 + s), a sell at open * (1 - s), s = half the spread quoted at the previous close
   (the bars' `spread_bps` column where known, else `slippage_bps`), paying the taker fee;
2. the stop-loss, on the position held since the open: `stop_loss_pct` below a long's average
   entry (above a short's), checked on the bar's low (high), exits as a taker at the stop price or at
   the open when the bar opens beyond it; afterwards the strategy stays out until its signal goes
   away and comes back (entries are edge-triggered);
3. maker style (instead of 1): a post-only order for the difference rests at the touch estimated
   from the previous close, close * (1 - s) for a buy and close * (1 + s) for a sell, re-quoted
   every bar, and fills only as hftlab.backtest.fills decides (the bar traded through its price; a
   touch fills `touch_fill` of it), at its price with the maker fee (a rebate when negative); a
   position may be partly filled and the rest keep resting;
4. at the close: swaps settle funding on the position's notional at the close when the bar holds a
   funding time (hftlab.backtest.fees); the bar's value is cash + position * close.
A position still open after the last bar is closed as a taker at the last close minus (plus) half
the spread, fees included, so the window's result includes its exit cost.

Fees are charged on the traded value (base units * price). A trade runs from flat to flat (a
reversal ends one and starts the next in one fill, its fee split pro rata); its net P&L is every
cash flow of its fills (fees included) and funding, its return that P&L over its entry notional.
Missing bars (NaN rows of a gap) hold the previous close as their prices, so nothing trades at an
unknown price and nothing trades through a resting order there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import numpy as np
import pandas as pd

from hftlab.backtest import fees as _fees
from hftlab.backtest import fills as _fills
from hftlab.backtest import metrics as _metrics
from hftlab.domain.instruments import InstType


class Style(StrEnum):
    TAKER = "taker"
    MAKER = "maker"


class FillKind(IntEnum):
    TAKER = 0
    MAKER = 1
    STOP = 2
    FINAL = 3  # the exit of a position still open after the last bar


@dataclass(frozen=True)
class Execution:
    style: Style
    maker_fee: float                 # fraction of the traded value per fill (negative: rebate)
    taker_fee: float
    slippage: np.ndarray | float     # half-spread fraction per bar (quoted at the previous close), or one for all
    final_slippage: float            # half the spread at the last close (the closing exit)
    touch_fill: float
    latency_ms: float
    latency_bars: int
    funding: np.ndarray | float      # funding rate settled in each bar (0: none), or one for all
    inst_type: InstType
    fee_tier: str
    stop_loss: float                 # fraction; 0: no stop
    init_cash: float
    period_ms: int                   # bar period (annualisation)
    slippage_source: str             # "spread_bps column" | "slippage_bps"

    @property
    def fee(self) -> float:
        """The rate of this style's ordinary fills."""
        return self.maker_fee if self.style is Style.MAKER else self.taker_fee

    def window(self, first: int, last: int) -> Execution:
        """The per-bar arrays cut to bars first..last-1 (when they are per bar of a longer series)."""
        from dataclasses import replace

        cut = {}
        for name in ("slippage", "funding"):
            v = getattr(self, name)
            if isinstance(v, np.ndarray) and v.size > last - first:
                cut[name] = v[first:last]
        return replace(self, **cut) if cut else self


def _half_spreads(bars: pd.DataFrame, default: float) -> tuple[np.ndarray | float, float, str]:
    if "spread_bps" not in bars.columns:
        return default, default, "slippage_bps"
    spread = bars["spread_bps"].to_numpy(dtype=np.float64, na_value=np.nan)
    half = np.where(np.isfinite(spread) & (spread >= 0), spread / 2e4, default)
    # a fill at bar t's open pays the spread quoted at bar t-1's close, the last one known then
    return np.concatenate([half[:1], half[:-1]]), float(half[-1]) if half.size else default, "spread_bps column"


def execution(cfg, bars: pd.DataFrame, period_ms: int, symbol: str | None = None) -> Execution:
    """Costs and fill model from a BacktestConfig and the bars (spread, funding, timestamps) of `symbol`."""
    inst_type = _fees.inst_type_of(symbol, cfg.inst_type)
    rates = _fees.rates(cfg.fee_tier, inst_type, cfg.maker_fee, cfg.taker_fee)
    slippage, final, source = _half_spreads(bars, cfg.slippage_bps / 1e4)
    ts = bars["ts_ms"].to_numpy(dtype=np.int64) if "ts_ms" in bars.columns else np.arange(len(bars)) * int(period_ms)
    column = bars["funding_rate"].to_numpy(dtype=np.float64) if "funding_rate" in bars.columns else None
    funding = _fees.funding_rates(ts, int(period_ms), cfg.funding_rate_8h, inst_type, column)
    return Execution(style=Style(cfg.execution), maker_fee=rates.maker, taker_fee=rates.taker, slippage=slippage,
                     final_slippage=final, touch_fill=float(cfg.touch_fill), latency_ms=float(cfg.latency_ms),
                     latency_bars=int(math.ceil(cfg.latency_ms / period_ms)) if cfg.latency_ms > 0 else 0,
                     funding=funding, inst_type=inst_type, fee_tier=cfg.fee_tier,
                     stop_loss=float(cfg.stop_loss_pct) / 100.0, init_cash=float(cfg.init_cash),
                     period_ms=int(period_ms), slippage_source=source)


def prices(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """open/high/low/close as float arrays with gap rows filled from the previous close."""
    close = pd.Series(bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)).ffill().bfill().to_numpy()
    out = {"close": close}
    for col in ("open", "high", "low"):
        x = bars[col].to_numpy(dtype=np.float64, na_value=np.nan) if col in bars.columns else np.full(close.size, np.nan)
        prev_close = np.concatenate([[close[0]], close[:-1]])
        fill = prev_close if col == "open" else close
        out[col] = np.where(np.isfinite(x), x, fill)
    out["high"] = np.maximum.reduce([out["high"], out["open"], out["close"]])
    out["low"] = np.minimum.reduce([out["low"], out["open"], out["close"]])
    return out


@dataclass(frozen=True)
class Result:
    """What one simulation produced: per bar, per fill and per trade (positional bar indices)."""

    value: np.ndarray            # equity at each bar's close (after the closing exit on the last bar)
    position: np.ndarray         # base units held at each bar's close (before the closing exit)
    fills: dict[str, np.ndarray]   # idx, qty (signed base units), px, fee (cash, + paid), kind (FillKind)
    trades: dict[str, np.ndarray]  # entry_idx, exit_idx, direction, notional, pnl (net), closed_by (FillKind)
    slippage_paid: float         # cash given up to half-spreads by taker fills
    funding_paid: float          # cash paid in funding (negative: received)
    working_bars: int            # bars a maker order rested (filled or not)
    maker_orders: int            # maker orders that completed (a re-quote is the same order)

    def returns(self, init_cash: float) -> np.ndarray:
        return _metrics.bar_returns(self.value, init_cash)


def _sign(x: float) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


def _kernel_py(open_, high, low, close, slip, target, funding, maker, maker_fee, taker_fee, touch_fill, stop,
               final_slip, init_cash, value, held, f_idx, f_qty, f_px, f_fee, f_kind, t_entry, t_exit, t_dir,
               t_notional, t_pnl, t_closed):
    n = close.size
    pos = 0.0
    cash = init_cash
    entry = 0.0
    stopped = 0
    nf = 0
    nt = 0
    trade_open = False
    trade_pnl = 0.0
    trade_notional = 0.0
    slip_paid = 0.0
    funding_paid = 0.0
    working = 0
    completed = 0
    eps = 1e-12
    for t in range(n + 1):
        final = t == n
        if final:
            if abs(pos) <= eps:
                break
            b = n - 1
            want = 0.0
        else:
            b = t
            want = target[t]
            if stopped != 0:
                if _sign(want) == stopped:
                    want = 0.0
                else:
                    stopped = 0
        # the fills of this step: (quantity, price, fee rate, kind)
        k = 0
        q1 = 0.0
        p1 = 0.0
        r1 = 0.0
        kind1 = 0
        q2 = 0.0
        p2 = 0.0
        r2 = 0.0
        kind2 = 0
        if final:
            q1 = -pos
            p1 = close[b] * (1.0 + final_slip * _sign(q1))
            r1 = taker_fee
            kind1 = 3
            slip_paid += abs(q1) * close[b] * final_slip
            k = 1
        else:
            delta = want - pos
            if not maker and abs(delta) > eps:
                q1 = delta
                p1 = open_[b] * (1.0 + slip[b] * _sign(delta))
                r1 = taker_fee
                kind1 = 0
                slip_paid += abs(delta) * open_[b] * slip[b]
                k = 1
        # the stop, on what is held since the open (after a taker fill there)
        held_open = pos + q1 if k == 1 else pos
        entry_open = entry
        if k == 1 and _sign(held_open) != _sign(pos):
            entry_open = p1
        elif k == 1 and abs(held_open) > abs(pos):
            entry_open = (entry * abs(pos) + p1 * abs(q1)) / abs(held_open)
        stopped_now = False
        if not final and stop > 0.0 and abs(held_open) > eps:
            if held_open > 0 and low[b] <= entry_open * (1.0 - stop):
                px = min(open_[b], entry_open * (1.0 - stop))
                q2, p2, r2, kind2 = -held_open, px * (1.0 - slip[b]), taker_fee, 2
                slip_paid += held_open * px * slip[b]
                stopped_now = True
            elif held_open < 0 and high[b] >= entry_open * (1.0 + stop):
                px = max(open_[b], entry_open * (1.0 + stop))
                q2, p2, r2, kind2 = -held_open, px * (1.0 + slip[b]), taker_fee, 2
                slip_paid += -held_open * px * slip[b]
                stopped_now = True
            if stopped_now:
                stopped = _sign(held_open)
                k = 2 if k == 1 else 1
                if k == 1:
                    q1, p1, r1, kind1 = q2, p2, r2, kind2
        if maker and not final and not stopped_now:
            delta = want - pos
            if abs(delta) > eps:
                working += 1
                is_buy = delta > 0
                ref = close[b - 1] if b > 0 else open_[b]
                px = ref * (1.0 - slip[b]) if is_buy else ref * (1.0 + slip[b])
                f = _fills.maker_fill(is_buy, px, low[b], high[b], touch_fill)
                if f > 0.0:
                    q1, p1, r1, kind1 = delta * f, px, maker_fee, 1
                    k = 1
                    if f >= 1.0:
                        completed += 1
        # apply the step's fills in order
        for j in range(k):
            if j == 0:
                q, p, r, kind = q1, p1, r1, kind1
            else:
                q, p, r, kind = q2, p2, r2, kind2
            fee = abs(q) * p * r
            cash -= q * p + fee
            f_idx[nf] = b
            f_qty[nf] = q
            f_px[nf] = p
            f_fee[nf] = fee
            f_kind[nf] = kind
            nf += 1
            new = pos + q
            closing = 0.0
            if abs(pos) > eps and _sign(q) != _sign(pos):
                closing = min(abs(q), abs(pos))
            opening = abs(q) - closing
            if closing > 0.0:
                share = closing / abs(q)
                trade_pnl += -(q * share) * p - fee * share
                if abs(new) <= eps or _sign(new) != _sign(pos):
                    t_exit[nt] = b
                    t_dir[nt] = _sign(pos)
                    t_notional[nt] = trade_notional
                    t_pnl[nt] = trade_pnl
                    t_closed[nt] = kind
                    nt += 1
                    trade_open = False
                    trade_pnl = 0.0
                    trade_notional = 0.0
            if opening > eps:
                share = opening / abs(q)
                if not trade_open:
                    trade_open = True
                    t_entry[nt] = b
                    trade_pnl = 0.0
                    trade_notional = 0.0
                trade_pnl += -(q * share) * p - fee * share
                trade_notional += opening * p
            if abs(new) <= eps:
                new = 0.0
                entry = 0.0
            elif _sign(new) != _sign(pos):
                entry = p
            elif abs(new) > abs(pos):
                entry = (entry * abs(pos) + p * opening) / abs(new)
            pos = new
        if final:
            value[b] = cash
            break
        if funding[b] != 0.0 and abs(pos) > eps:
            pay = pos * close[b] * funding[b]
            cash -= pay
            funding_paid += pay
            trade_pnl -= pay
        value[b] = cash + pos * close[b]
        held[b] = pos
    return nf, nt, slip_paid, funding_paid, working, completed


@functools.cache
def _kernel():
    """`_kernel_py` compiled (cached on disk), with the fill model made callable from numba code."""
    from numba import njit
    from numba.extending import register_jitable

    register_jitable(_fills.maker_fill)
    register_jitable(_sign)
    return njit(cache=True)(_kernel_py)


def _per_bar(x, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)))


def simulate(bars: pd.DataFrame, target: np.ndarray, exe: Execution, *, stop: bool = True) -> Result:
    """One backtest over `bars` (the window) wanting `target` base units during each bar."""
    target = np.asarray(target, dtype=np.float64)
    n = len(bars)
    if target.shape != (n,):
        raise ValueError(f"target has shape {target.shape}, the window has {n} bars")
    if n == 0:
        raise ValueError("an empty window")
    target = np.where(np.isfinite(target), target, 0.0)
    if exe.latency_bars:
        target = np.concatenate([np.zeros(min(exe.latency_bars, n)), target[:max(0, n - exe.latency_bars)]])
    px = prices(bars)
    cap = 3 * n + 2
    value, held = np.zeros(n), np.zeros(n)
    f = {"idx": np.zeros(cap, np.int64), "qty": np.zeros(cap), "px": np.zeros(cap), "fee": np.zeros(cap),
         "kind": np.zeros(cap, np.int64)}
    tr = {"entry_idx": np.zeros(cap, np.int64), "exit_idx": np.zeros(cap, np.int64),
          "direction": np.zeros(cap, np.int64), "notional": np.zeros(cap), "pnl": np.zeros(cap),
          "closed_by": np.zeros(cap, np.int64)}
    nf, nt, slip_paid, funding_paid, working, completed = _kernel()(
        px["open"], px["high"], px["low"], px["close"], _per_bar(exe.slippage, n), np.ascontiguousarray(target),
        _per_bar(exe.funding, n), exe.style is Style.MAKER, exe.maker_fee, exe.taker_fee, exe.touch_fill,
        exe.stop_loss if stop else 0.0, exe.final_slippage, exe.init_cash, value, held,
        f["idx"], f["qty"], f["px"], f["fee"], f["kind"], tr["entry_idx"], tr["exit_idx"], tr["direction"],
        tr["notional"], tr["pnl"], tr["closed_by"])
    return Result(value, held, {k: v[:nf] for k, v in f.items()}, {k: v[:nt] for k, v in tr.items()},
                  float(slip_paid), float(funding_paid), int(working), int(completed))


def summarise(res: Result, exe: Execution) -> dict[str, float]:
    """hftlab.backtest.metrics of a Result of `simulate`."""
    notional = np.abs(res.fills["qty"]) * res.fills["px"]
    return _metrics.compute(
        value=res.value, init_cash=exe.init_cash, position=res.position, trade_pnl=res.trades["pnl"],
        trade_notional=res.trades["notional"], fill_notional=notional, fill_fees=res.fills["fee"],
        slippage_paid=res.slippage_paid, funding_paid=res.funding_paid, period_ms=exe.period_ms,
        working_bars=res.working_bars, maker_orders=res.maker_orders)
