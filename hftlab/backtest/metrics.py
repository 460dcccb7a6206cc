"""Performance metrics of one backtest, and the statistics the gate decides on, from plain arrays.

With r[t] = value[t] / value[t-1] - 1 per bar (value[-1] = the initial cash), bars of
`bar_seconds` each and N = 365 days of them a year:

- total_return: value[-1] / init_cash - 1, after every cost (the exit of a position open at the end
  included); gross_return: the same with the fees, half-spreads and funding given back
- sharpe: mean(r) / std(r, ddof=1) * sqrt(N), annualised from bars of `bar_seconds`; 0 when r does
  not vary (no trading). It is a description; the gate decides on the statistics below
- sortino: mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(N); 0 without losing bars and mean <= 0, +inf
  without losing bars and mean > 0
- psr: the probabilistic Sharpe ratio (Bailey and Lopez de Prado, 2012) of the bar returns against 0:
  Phi(SR * sqrt(n - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2)) with SR the per-bar Sharpe:
  the probability that the true Sharpe ratio is above 0, given the bars' skew and fat tails; 0.5
  without trading
- n_trades: trades (flat to flat; a reversal ends one and starts another), all closed by the end
- trade_mean_bps: the mean net return per trade (P&L after its fees and funding over its entry
  notional), in basis points; trade_t: its t-statistic, mean / (std / sqrt(n)) (NaN below 2 trades):
  "makes money after costs" with its uncertainty
- hit_rate: the share of trades with a positive net P&L (NaN without trades)
- max_drawdown_pct: the largest fall from a running peak of the value (the initial cash counts as a
  peak), in percent
- turnover: traded notional (both sides) / mean value; exposure: the share of bars ending in a position
- fees_paid, funding_paid: cash (negative: received); fill_wait_bars: bars a maker order rested per
  order that completed (NaN for takers)

`difference_t(r_a, r_b, block)` compares two strategies on the same bars: the t-statistic of the mean
of r_a - r_b over non-overlapping blocks of `block` bars (sums within a block absorb the
autocorrelation of positions held across bars), the evidence that a beats b.
"""

from __future__ import annotations

import math

import numpy as np

YEAR_MS = 365 * 86_400_000
NAMES = ("total_return", "gross_return", "sharpe", "sortino", "psr", "max_drawdown_pct", "n_trades", "trade_mean_bps",
         "trade_t", "hit_rate", "turnover", "exposure", "fees_paid", "funding_paid", "fill_wait_bars", "bar_seconds")


def bar_returns(value: np.ndarray, init_cash: float) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    prev = np.concatenate([[init_cash], value[:-1]])
    return value / prev - 1.0


def _varies(r: np.ndarray) -> bool:
    return r.size >= 2 and float(np.std(r, ddof=1)) > 1e-15 * max(1.0, float(np.abs(r).max()))


def sharpe(r: np.ndarray, bars_per_year: float) -> float:
    if not _varies(r):
        return 0.0
    return float(np.mean(r) / np.std(r, ddof=1) * math.sqrt(bars_per_year))


def sortino(r: np.ndarray, bars_per_year: float) -> float:
    if r.size == 0:
        return 0.0
    mean = float(np.mean(r))
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside == 0.0:
        return math.inf if mean > 0 else 0.0
    return mean / downside * math.sqrt(bars_per_year)


def psr(r: np.ndarray, benchmark: float = 0.0) -> float:
    """P(true per-bar Sharpe > benchmark) from the sample's Sharpe, skew and kurtosis."""
    r = np.asarray(r, dtype=np.float64)
    if not _varies(r):
        return 0.5
    sd = float(np.std(r, ddof=1))
    sr = float(np.mean(r)) / sd
    z = (r - r.mean()) / np.std(r)
    skew, kurt = float(np.mean(z ** 3)), float(np.mean(z ** 4))
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if denom <= 0.0:
        return 0.5
    x = (sr - benchmark) * math.sqrt(r.size - 1) / math.sqrt(denom)
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def t_stat(x: np.ndarray) -> float:
    """mean / (std / sqrt(n)); NaN below 2 values, +-inf when they do not vary but are not 0."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return math.nan
    sd = float(np.std(x, ddof=1))
    mean = float(np.mean(x))
    if sd <= 1e-15 * max(1.0, float(np.abs(x).max())):
        return 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return mean / (sd / math.sqrt(x.size))


def difference_t(r_a: np.ndarray, r_b: np.ndarray, block: int) -> float:
    """The t-statistic of mean(r_a - r_b) over non-overlapping blocks of `block` bars (see the module doc)."""
    d = np.asarray(r_a, dtype=np.float64) - np.asarray(r_b, dtype=np.float64)
    block = max(1, int(block))
    k = d.size // block
    if k < 2:
        return math.nan
    return t_stat(d[:k * block].reshape(k, block).sum(axis=1))


def max_drawdown_pct(value: np.ndarray, init_cash: float) -> float:
    value = np.asarray(value, dtype=np.float64)
    if value.size == 0:
        return 0.0
    peak = np.maximum.accumulate(np.concatenate([[init_cash], value]))[1:]
    return float(np.max(1.0 - value / peak) * 100.0)


def compute(*, value: np.ndarray, init_cash: float, position: np.ndarray, trade_pnl: np.ndarray,
            trade_notional: np.ndarray, fill_notional: np.ndarray, fill_fees: np.ndarray, slippage_paid: float,
            funding_paid: float, period_ms: int, working_bars: int = 0, maker_orders: int = 0) -> dict[str, float]:
    """Every metric of NAMES. position: units held at each bar's end; trade_pnl / trade_notional: one
    entry per trade; fill_notional / fill_fees: one entry per fill (cash amounts)."""
    value = np.asarray(value, dtype=np.float64)
    r = bar_returns(value, init_cash)
    bars_per_year = YEAR_MS / period_ms
    pnl = np.asarray(trade_pnl, dtype=np.float64)
    notional = np.asarray(trade_notional, dtype=np.float64)
    per_trade = np.where(notional > 0, pnl / np.where(notional > 0, notional, 1.0), 0.0)
    mean_value = float(np.mean(value)) if value.size else init_cash
    total = float(value[-1] / init_cash - 1.0) if value.size else 0.0
    fees = float(np.sum(fill_fees))
    return {
        "total_return": total,
        "gross_return": total + (fees + float(slippage_paid) + float(funding_paid)) / init_cash,
        "sharpe": sharpe(r, bars_per_year),
        "sortino": sortino(r, bars_per_year),
        "psr": psr(r),
        "max_drawdown_pct": max_drawdown_pct(value, init_cash),
        "n_trades": int(pnl.size),
        "trade_mean_bps": float(np.mean(per_trade) * 1e4) if pnl.size else math.nan,
        "trade_t": t_stat(per_trade),
        "hit_rate": float(np.mean(pnl > 0)) if pnl.size else math.nan,
        "turnover": float(np.sum(np.abs(fill_notional)) / mean_value) if mean_value > 0 else math.nan,
        "exposure": float(np.mean(np.asarray(position) != 0)) if value.size else 0.0,
        "fees_paid": fees,
        "funding_paid": float(funding_paid),
        "fill_wait_bars": working_bars / maker_orders if maker_orders else math.nan,
        "bar_seconds": period_ms / 1000.0,
    }
