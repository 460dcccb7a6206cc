"""Positions held per bar + bars -> a vectorbt Portfolio with fees, spread slippage and a stop-loss.

    exe = execution(cfg, bars, period_ms)           # costs and sizing for these bars
    pf = simulate(bars, held, exe)                  # vectorbt Portfolio (from_signals)
    m = summarise(pf, exe)                          # hftlab.backtest.metrics

`held[t]` is the position (-1, 0, 1) wanted during bar t (decided at the previous bar's close:
hftlab.backtest.compare). A
change of `held` is an order at bar t's open: a long entry when it becomes 1, an exit when it
leaves 1, the same for shorts, a reversal in one order when it jumps between -1 and 1. Entries
are edge-triggered, so after a stop-loss exit the strategy stays out until its signal goes away
and comes back (it does not buy again on the next bar).

Costs per fill (`execution="taker"`, the default): the taker fee on the traded value, and a
slippage of half the spread: buys fill at open * (1 + s), sells at open * (1 - s), with s =
spread_bps / 2 / 1e4 from the bars' `spread_bps` column (the spread at each bar's close, e.g. from
recorded tickers; a fill at bar t's open pays the spread quoted at bar t-1's close, the last one
known then) where they carry one and it is known, else `slippage_bps` / 1e4. `execution="maker"`:
the maker fee and no slippage (limit orders at the open price, all assumed filled).

Sizing: each position is a fixed notional, `position_pct` of `init_cash` at the bar's open price
(vectorbt size_type "value"; the fill, with slippage, costs a little more), so results do not
compound and a reversal is one order. Stop-loss: `stop_loss_pct` below the fill price of a long
(above, for a short), checked against each later bar's low (high), exiting at the stop price, or
at the open when a bar opens beyond it (slippage applies). Open positions at the end are valued at
the last close, with no exit cost.

Missing bars (NaN rows of a gap) hold the previous close as their prices, so nothing trades at
an unknown price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hftlab.backtest import metrics as _metrics


@dataclass(frozen=True)
class Execution:
    fee: float                       # fraction of the traded value, per fill
    slippage: np.ndarray | float     # fraction of the price per fill, per bar or one for all
    position_pct: float
    init_cash: float
    stop_loss: float                 # fraction; 0: no stop
    period_ms: int                   # bar period (annualisation, vectorbt freq)
    slippage_source: str             # "spread_bps column" | "slippage_bps" | "none (maker)"


def execution(cfg, bars: pd.DataFrame, period_ms: int) -> Execution:
    """Costs and sizing from a BacktestConfig and the bars (spread)."""
    if cfg.execution == "maker":
        fee, slippage, source = cfg.maker_fee, 0.0, "none (maker)"
    else:
        fee = cfg.taker_fee
        default = cfg.slippage_bps / 1e4
        if "spread_bps" in bars.columns:
            spread = bars["spread_bps"].to_numpy(dtype=np.float64, na_value=np.nan)
            spread = np.concatenate([spread[:1], spread[:-1]])  # the quote at the previous close
            slippage = np.where(np.isfinite(spread) & (spread >= 0), spread / 2e4, default)
            source = "spread_bps column"
        else:
            slippage, source = default, "slippage_bps"
    return Execution(fee=float(fee), slippage=slippage, position_pct=cfg.position_pct, init_cash=float(cfg.init_cash),
                     stop_loss=float(cfg.stop_loss_pct) / 100.0, period_ms=int(period_ms), slippage_source=source)


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


def orders_of(held: np.ndarray) -> dict[str, np.ndarray]:
    """Edge-triggered signals of a held-position series (see the module doc)."""
    held = np.asarray(held, dtype=np.int8)
    prev = np.concatenate([[0], held[:-1]]).astype(np.int8)
    return {
        "entries": (held == 1) & (prev != 1),
        "exits": (prev == 1) & (held == 0),
        "short_entries": (held == -1) & (prev != -1),
        "short_exits": (prev == -1) & (held == 0),
    }


def simulate(bars: pd.DataFrame, held: np.ndarray, exe: Execution, *, stop: bool = True):
    """One vectorbt Portfolio over `bars` (the backtest window) holding `held`."""
    import vectorbt as vbt

    held = np.asarray(held, dtype=np.int8)
    if held.shape != (len(bars),):
        raise ValueError(f"held has shape {held.shape}, the window has {len(bars)} bars")
    px = prices(bars)
    sig = orders_of(held)
    kwargs = {}
    if stop and exe.stop_loss > 0:
        # stops from the actual fill price, exiting at the stop price
        kwargs.update(sl_stop=exe.stop_loss, stop_entry_price="fillprice", stop_exit_price="stoplimit")
    return vbt.Portfolio.from_signals(
        px["close"], sig["entries"], sig["exits"], sig["short_entries"], sig["short_exits"],
        price=px["open"], open=px["open"], high=px["high"], low=px["low"],
        size=exe.position_pct / 100.0 * exe.init_cash, size_type="value",
        fees=exe.fee, slippage=exe.slippage, init_cash=exe.init_cash,
        upon_opposite_entry="reverse", accumulate=False,
        freq=pd.Timedelta(exe.period_ms, "ms"), **kwargs,
    )


def summarise(pf, exe: Execution) -> dict[str, float]:
    """hftlab.backtest.metrics of a Portfolio of `simulate`."""
    orders = pf.orders.records_arr
    trades = pf.trades.records_arr
    notional = orders["size"] * orders["price"]
    slippage = np.broadcast_to(np.asarray(exe.slippage, dtype=np.float64), (len(pf.wrapper.index),))
    return _metrics.compute(
        value=np.asarray(pf.value(), dtype=np.float64).reshape(-1),
        init_cash=exe.init_cash,
        position=np.asarray(pf.assets(), dtype=np.float64).reshape(-1),
        trade_pnl=trades["pnl"],
        trade_closed=trades["status"] == 1,  # vectorbt TradeStatus.Closed
        n_trades=len(trades),
        fill_notional=notional,
        fill_fees=orders["fees"],
        fill_slippage=notional * slippage[orders["idx"]],
        period_ms=exe.period_ms,
    )
