"""Backtest figures as PNG (matplotlib Figure objects, no pyplot: no display or backend needed, and a
notebook's backend is left alone).

- equity.png: each strategy's equity over the window, relative to the starting cash
- drawdown.png: each strategy's fall from its running peak, in percent
- signals_<name>.png: the price with a model's fills (buys ^, sells v), its edge P(up) - P(down)
  with the thresholds, and the direction it wanted beside the one it held (maker orders wait)
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _times(comp) -> pd.DatetimeIndex:
    return pd.to_datetime(comp.bars["ts_ms"].to_numpy(), unit="ms", utc=True)


def _style(kind: str) -> dict:
    return {"benchmark": {"color": "0.4", "ls": "--"}, "baseline": {"lw": 0.9, "alpha": 0.8}}.get(kind, {"lw": 1.6})


def equity(comp, path: Path) -> Path:
    t = _times(comp)
    fig = _figure(figsize=(11, 4))
    ax = fig.subplots()
    for name, s in comp.strategies.items():
        v = s.result.value / comp.execution.init_cash
        ax.plot(t, v, label=f"{name} ({s.metrics['total_return']:+.2%})", **_style(s.kind))
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_ylabel("equity / starting cash")
    ax.set_title(f"equity over {len(comp.bars)} bars\n{comp.window.describe()}", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    return save(fig, path)


def drawdown(comp, path: Path) -> Path:
    t = _times(comp)
    fig = _figure(figsize=(11, 3.2))
    ax = fig.subplots()
    for name, s in comp.strategies.items():
        v = s.result.value
        peak = np.maximum.accumulate(np.concatenate([[comp.execution.init_cash], v]))[1:]
        ax.plot(t, -(1 - v / peak) * 100, label=f"{name} (max {s.metrics['max_drawdown_pct']:.2f}%)", **_style(s.kind))
    ax.set_ylabel("drawdown, %")
    ax.set_title("drawdown")
    ax.legend(fontsize=8, loc="lower left")
    return save(fig, path)


def signals(comp, name: str, path: Path) -> Path:
    s = comp.strategies[name]
    t = _times(comp)
    close = comp.bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)
    fig = _figure(figsize=(11, 7))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 0.8]})
    ax = axes[0]
    ax.plot(t, close, color="k", lw=0.8, label="close")
    fills = s.result.fills
    for buy, marker, color, label in ((True, "^", "tab:green", "buy"), (False, "v", "tab:red", "sell")):
        pick = (fills["qty"] > 0) == buy
        if pick.any():
            ax.scatter(t[fills["idx"][pick]], fills["px"][pick], marker=marker, color=color, s=28, zorder=3,
                       label=f"{label} ({int(pick.sum())})")
    ax.set_title(f"{name}: price and fills")
    ax.legend(fontsize=8, loc="best")
    ax = axes[1]
    if s.edge is not None:
        ax.plot(t, s.edge, lw=0.7, color="tab:blue")
        rule = comp.rule
        ax.axhline(rule["threshold"], color="tab:green", lw=0.7, ls="--")
        if rule["exit_threshold"] is not None:
            ax.axhline(rule["exit_threshold"], color="0.5", lw=0.7, ls=":")
        if rule["allow_short"]:
            ax.axhline(-rule["threshold"], color="tab:red", lw=0.7, ls="--")
    ax.set_ylabel("P(up)-P(down)")
    ax = axes[2]
    ax.step(t, s.held, where="post", color="tab:purple", lw=0.9, label="wanted")
    ax.step(t, np.sign(s.result.position), where="post", color="tab:orange", lw=0.7, label="held")
    ax.set_ylabel("position")
    ax.set_yticks([-1, 0, 1])
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, path)


def save_all(comp, directory: Path) -> list[Path]:
    """equity.png, drawdown.png and signals_<model>.png for every model strategy."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = [equity(comp, directory / "equity.png"), drawdown(comp, directory / "drawdown.png")]
    for name, s in comp.strategies.items():
        if s.kind == "model":
            out.append(signals(comp, name, directory / f"signals_{_slug(name)}.png"))
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    return path
