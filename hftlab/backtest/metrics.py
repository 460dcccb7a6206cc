"""Performance metrics of one backtest, from plain arrays (pure numpy, no vectorbt).

With r[t] = value[t] / value[t-1] - 1 per bar (value[-1] = the initial cash) and N bars a year
(365 days of the bar period):

- total_return: value[-1] / init_cash - 1
- sharpe: mean(r) / std(r, ddof=1) * sqrt(N); 0 when r does not vary (no trading)
- sortino: mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(N); 0 without losing bars and mean <= 0,
  +inf without losing bars and mean > 0
- max_drawdown_pct: the largest fall from a running peak of the value (the initial cash counts
  as a peak), in percent
- hit_rate: the share of closed trades with a positive P&L (after fees); NaN without closed trades
- n_trades: positions opened in the window (a reversal opens one); the last may still be open
- turnover: traded notional (both sides) / mean value: how many times the equity changed hands
- exposure: the share of bars ending with an open position
- fees_paid: the sum of the fees of all fills, in cash
- gross_return: total_return with the fees and the slippage of the same fills given back: what
  the trades made before costs (slippage per fill taken as notional x the slippage fraction)

Annualised Sharpe on 1 s bars is a big number; compare it between strategies on the same bars,
not with daily-bar Sharpe ratios from elsewhere.
"""

from __future__ import annotations

import math

import numpy as np

YEAR_MS = 365 * 86_400_000
NAMES = ("total_return", "sharpe", "sortino", "max_drawdown_pct", "hit_rate", "n_trades", "turnover",
         "exposure", "fees_paid", "gross_return")


def bar_returns(value: np.ndarray, init_cash: float) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    prev = np.concatenate([[init_cash], value[:-1]])
    return value / prev - 1.0


def sharpe(r: np.ndarray, bars_per_year: float) -> float:
    if r.size < 2:
        return 0.0
    sd = float(np.std(r, ddof=1))
    if sd <= 1e-15 * max(1.0, float(np.abs(r).max())):
        return 0.0
    return float(np.mean(r) / sd * math.sqrt(bars_per_year))


def sortino(r: np.ndarray, bars_per_year: float) -> float:
    if r.size == 0:
        return 0.0
    mean = float(np.mean(r))
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside == 0.0:
        return math.inf if mean > 0 else 0.0
    return mean / downside * math.sqrt(bars_per_year)


def max_drawdown_pct(value: np.ndarray, init_cash: float) -> float:
    value = np.asarray(value, dtype=np.float64)
    if value.size == 0:
        return 0.0
    peak = np.maximum.accumulate(np.concatenate([[init_cash], value]))[1:]
    return float(np.max(1.0 - value / peak) * 100.0)


def compute(*, value: np.ndarray, init_cash: float, position: np.ndarray, trade_pnl: np.ndarray,
            trade_closed: np.ndarray, n_trades: int, fill_notional: np.ndarray, fill_fees: np.ndarray,
            fill_slippage: np.ndarray, period_ms: int) -> dict[str, float]:
    """Every metric of NAMES. position: units held at each bar's end; trade_pnl / trade_closed: one
    entry per trade; fill_notional / fill_fees / fill_slippage: one entry per fill (cash amounts)."""
    value = np.asarray(value, dtype=np.float64)
    r = bar_returns(value, init_cash)
    bars_per_year = YEAR_MS / period_ms
    closed = np.asarray(trade_pnl, dtype=np.float64)[np.asarray(trade_closed, dtype=bool)]
    mean_value = float(np.mean(value)) if value.size else init_cash
    total = float(value[-1] / init_cash - 1.0) if value.size else 0.0
    fees = float(np.sum(fill_fees))
    return {
        "total_return": total,
        "sharpe": sharpe(r, bars_per_year),
        "sortino": sortino(r, bars_per_year),
        "max_drawdown_pct": max_drawdown_pct(value, init_cash),
        "hit_rate": float(np.mean(closed > 0)) if closed.size else math.nan,
        "n_trades": int(n_trades),
        "turnover": float(np.sum(np.abs(fill_notional)) / mean_value) if mean_value > 0 else math.nan,
        "exposure": float(np.mean(np.asarray(position) != 0)) if value.size else 0.0,
        "fees_paid": fees,
        "gross_return": total + (fees + float(np.sum(fill_slippage))) / init_cash,
    }
