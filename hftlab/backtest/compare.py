"""Several strategies on the same bars, window, costs and rule, side by side with buy-and-hold.

Each model strategy is its probabilities at the closes of the bars before each window bar (the
decision rows) through the signal rule (`hftlab.strategy.rule`, the one the live runner steps);
buy-and-hold buys at the window's first open and holds (no stop). The window starts at the first
bar every model can decide on: a model still warming up (no complete input window) would otherwise
sit flat beside one that trades.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from hftlab.backtest import engine
from hftlab.backtest.window import Window, iso
from hftlab.strategy import rule

BUY_AND_HOLD = "buy_and_hold"


@dataclass
class Strategy:
    name: str
    kind: str                      # "model" | "baseline" | "benchmark"
    held: np.ndarray               # position held during each window bar
    edge: np.ndarray | None        # P(up) - P(down) at each decision row
    portfolio: object              # vectorbt Portfolio
    metrics: dict[str, float]


@dataclass
class Comparison:
    window: Window
    bars: pd.DataFrame             # the window's bars (positional index)
    execution: engine.Execution
    rule: dict                     # threshold, exit_threshold, allow_short, execution
    data: dict                     # path, symbol, timeframe
    strategies: dict[str, Strategy] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({n: s.metrics for n, s in self.strategies.items()}).T

    def to_dict(self) -> dict:
        exe = self.execution
        return {
            "window": {**self.window.to_dict(), "bars": len(self.bars),
                       "first_bar": iso(int(self.bars["ts_ms"].iloc[0])), "last_bar": iso(int(self.bars["ts_ms"].iloc[-1]))},
            "data": self.data,
            "rule": self.rule,
            "costs": {"fee": exe.fee, "slippage": exe.slippage_source,
                      "mean_slippage_bps": float(np.mean(exe.slippage) * 1e4), "position_pct": exe.position_pct,
                      "init_cash": exe.init_cash, "stop_loss_pct": exe.stop_loss * 100},
            "metrics": {n: {k: _json_number(v) for k, v in s.metrics.items()} for n, s in self.strategies.items()},
            "kinds": {n: s.kind for n, s in self.strategies.items()},
            "notes": self.notes,
        }


def _json_number(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def decision_rows(first: int, last: int) -> np.ndarray:
    """Rows whose close decides the position held during window bars first..last-1."""
    return np.arange(first - 1, last - 1, dtype=np.int64)


def compare(bars: pd.DataFrame, first: int, last: int, probas: dict[str, tuple[str, np.ndarray]], cfg, exe,
            window: Window, data: dict) -> Comparison:
    """probas: name -> (kind, (last - first, 3) probabilities at decision_rows(first, last))."""
    n = last - first
    for name, (_kind, p) in probas.items():
        if p.shape != (n, 3):
            raise ValueError(f"{name}: probabilities of shape {p.shape}, expected ({n}, 3)")
    notes = []
    models = [p for kind, p in probas.values() if kind == "model"]
    if models:
        ready = np.logical_and.reduce([np.isfinite(p).all(axis=1) for p in models])
        if not ready.any():
            raise ValueError("no bar of the window has a complete input window for every model "
                             "(too few bars before or inside the window)")
        skip = int(np.argmax(ready))
        if skip:
            notes.append(f"window starts {skip} bar(s) late: the first bars lack a complete input window for a model")
            first += skip
            probas = {k: (kind, p[skip:]) for k, (kind, p) in probas.items()}
    win_bars = bars.iloc[first:last].reset_index(drop=True)
    # `exe.slippage` may be per bar of the whole file: cut it to the window
    if isinstance(exe.slippage, np.ndarray) and exe.slippage.size == len(bars):
        exe = replace(exe, slippage=exe.slippage[first:last])
    comp = Comparison(window, win_bars, exe, {"threshold": cfg.threshold, "exit_threshold": cfg.exit_threshold,
                                              "allow_short": cfg.allow_short, "execution": cfg.execution},
                      data, notes=notes)
    for name, (kind, p) in probas.items():
        e = rule.edge(p)
        held = rule.decide(e, cfg.threshold, cfg.exit_threshold, cfg.allow_short)
        comp.strategies[name] = _run(name, kind, win_bars, held, e, exe, stop=True)
    comp.strategies[BUY_AND_HOLD] = _run(BUY_AND_HOLD, "benchmark", win_bars, np.ones(len(win_bars), dtype=np.int8),
                                         None, exe, stop=False)
    return comp


def _run(name, kind, bars, held, e, exe, *, stop: bool) -> Strategy:
    pf = engine.simulate(bars, held, exe, stop=stop)
    return Strategy(name, kind, held, e, pf, engine.summarise(pf, exe))
