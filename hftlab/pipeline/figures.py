"""Figures of the research notebooks, saved as PNG (matplotlib Figure objects, no pyplot state).

- market(bars): close, volume per bar (taker buys above, sells below) and the recorded spread
- indicators(bars, spec): close with Bollinger Bands, RSI, MACD, trade-flow imbalance, each with
  the parameters of the FeatureSpec the model is trained with, over the newest bars
Backtest figures (equity, drawdown, price with signals) are in hftlab.backtest.plots; training
curves are in the training run's report.png (hftlab.models.plot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hftlab.backtest.plots import save


def _times(bars: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.to_datetime(bars["ts_ms"].to_numpy(), unit="ms", utc=True)


def market(bars: pd.DataFrame, path: Path, title: str = "") -> Path:
    from matplotlib.figure import Figure

    t = _times(bars)
    has_spread = "spread_bps" in bars.columns and bars["spread_bps"].notna().any()
    fig = Figure(figsize=(11, 6.5 if has_spread else 5.5))
    axes = fig.subplots(3 if has_spread else 2, 1, sharex=True,
                        gridspec_kw={"height_ratios": [3, 1.2, 0.8] if has_spread else [3, 1.2]})
    axes[0].plot(t, bars["close"], color="k", lw=0.8)
    axes[0].set_ylabel("close")
    axes[0].set_title(title or f"{len(bars)} bars")
    if {"buy_volume", "sell_volume"} <= set(bars.columns):
        axes[1].bar(t, bars["buy_volume"], width=_bar_width(bars), color="tab:green", label="taker buys")
        axes[1].bar(t, -bars["sell_volume"], width=_bar_width(bars), color="tab:red", label="taker sells")
        axes[1].legend(fontsize=8, loc="upper right")
    else:
        axes[1].bar(t, bars["volume"], width=_bar_width(bars), color="0.4")
    axes[1].set_ylabel("volume")
    if has_spread:
        axes[2].plot(t, bars["spread_bps"], color="tab:blue", lw=0.8)
        axes[2].set_ylabel("spread, bp")
    return save(fig, path)


def indicators(bars: pd.DataFrame, spec, path: Path, last: int = 900) -> Path:
    """The panels over the `last` bars (computed over all of them, so the warm-up is behind)."""
    from matplotlib.figure import Figure

    from hftlab.features import bollinger, macd, rsi

    close = bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)
    upper, middle, lower = bollinger(close, spec.bb_period, spec.bb_nbdev)
    line, signal, hist = macd(close, spec.macd_fast, spec.macd_slow, spec.macd_signal)
    rsi_line = rsi(close, spec.rsi_period)
    keep = slice(max(0, len(bars) - last), None)
    bars = bars.iloc[keep]
    close, upper, middle, lower, line, signal, hist, rsi_line = (
        a[keep] for a in (close, upper, middle, lower, line, signal, hist, rsi_line))
    t = _times(bars)
    panels = 4 if spec.uses_flow else 3
    fig = Figure(figsize=(11, 2.2 * panels + 1.5))
    axes = fig.subplots(panels, 1, sharex=True, gridspec_kw={"height_ratios": [2.5] + [1] * (panels - 1)})
    ax = axes[0]
    ax.plot(t, close, color="k", lw=0.8, label="close")
    ax.plot(t, middle, color="tab:blue", lw=0.7, label=f"SMA {spec.bb_period}")
    ax.fill_between(t, lower, upper, color="tab:blue", alpha=0.12, label=f"Bollinger {spec.bb_nbdev:g} sd")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"indicators over the last {len(bars)} bars (the FeatureSpec's parameters)")
    ax = axes[1]
    ax.plot(t, rsi_line, color="tab:purple", lw=0.8)
    for level in (30, 70):
        ax.axhline(level, color="0.5", lw=0.6, ls="--")
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"RSI {spec.rsi_period}")
    ax = axes[2]
    ax.plot(t, line, lw=0.8, label="MACD")
    ax.plot(t, signal, lw=0.8, label="signal")
    ax.bar(t, hist, width=_bar_width(bars), color="0.6", label="histogram")
    ax.legend(fontsize=8, loc="best")
    ax.set_ylabel(f"MACD {spec.macd_fast}/{spec.macd_slow}/{spec.macd_signal}")
    if spec.uses_flow:
        buy = bars["buy_volume"].to_numpy(dtype=np.float64, na_value=np.nan)
        sell = bars["sell_volume"].to_numpy(dtype=np.float64, na_value=np.nan)
        window = 10
        b = pd.Series(buy).rolling(window, min_periods=1).sum()
        s = pd.Series(sell).rolling(window, min_periods=1).sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            imbalance = ((b - s) / (b + s)).to_numpy()
        axes[3].plot(t, imbalance, color="tab:orange", lw=0.8)
        axes[3].axhline(0, color="k", lw=0.5)
        axes[3].set_ylabel(f"flow imbalance\n{window} bars", fontsize=8)
    return save(fig, path)


def _bar_width(bars: pd.DataFrame) -> float:
    """Bar width in days (matplotlib's date unit) of one bar period."""
    ts = bars["ts_ms"].to_numpy()
    period = float(np.median(np.diff(ts))) if ts.size > 1 else 1000.0
    return period / 86_400_000 * 0.9
