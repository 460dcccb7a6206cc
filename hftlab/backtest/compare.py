"""Several strategies on the same bars, window, costs and rule, side by side with buy-and-hold.

Each model strategy is its probabilities at the closes of the bars before each window bar (the
decision rows) through the signal rule (`hftlab.strategy.rule`, the one the live runner steps) for
the direction, and `hftlab.strategy.sizing.notional_batch` (the live runner's sizing, with the
`sizing` settings: by conviction and, with a volatility target, by the realised volatility
rv_w / sqrt(w) of the model's own feature window) for the size. A position is sized at the
decision that opens it, in base units at that decision's close, and keeps that size until the
direction changes (live re-targets every bar with the same function; the backtest does not chase a
size it already holds). Buy-and-hold buys `sizing.notional_usd` at the window's first open as a
taker and holds (no stop). The window starts at the first bar every model can decide on: a model
still warming up (no complete input window) would otherwise sit flat beside one that trades.

`Comparison.versus(a, b)` is the evidence that a beats b on these bars: the t-statistic of the
per-bar return difference (hftlab.backtest.metrics.difference_t) in blocks of the two strategies'
mean trade length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from hftlab.backtest import engine
from hftlab.backtest.metrics import difference_t
from hftlab.backtest.window import Window, iso
from hftlab.strategy import rule, sizing

BUY_AND_HOLD = "buy_and_hold"
VOL_WINDOW = 20  # hftlab.features.FeatureSpec's default vol_window, when no spec says otherwise


@dataclass
class Strategy:
    name: str
    kind: str                      # "model" | "baseline" | "benchmark"
    held: np.ndarray               # direction wanted during each window bar (-1, 0, 1)
    target: np.ndarray             # base units wanted during each window bar
    edge: np.ndarray | None        # P(up) - P(down) at each decision row
    result: engine.Result
    metrics: dict[str, float]


@dataclass
class Comparison:
    window: Window
    bars: pd.DataFrame             # the window's bars (positional index)
    execution: engine.Execution
    rule: dict                     # threshold, exit_threshold, allow_short, execution
    sizing: dict                   # the sizing settings
    data: dict                     # path, symbol, timeframe
    strategies: dict[str, Strategy] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({n: s.metrics for n, s in self.strategies.items()}).T

    def versus(self, a: str, b: str) -> float:
        """t-statistic of strategy a's per-bar returns minus b's (see the module doc)."""
        sa, sb = self.strategies[a], self.strategies[b]
        lengths = np.concatenate([s.result.trades["exit_idx"] - s.result.trades["entry_idx"] + 1 for s in (sa, sb)])
        block = max(1, int(round(float(np.mean(lengths))))) if lengths.size else 1
        cash = self.execution.init_cash
        return difference_t(sa.result.returns(cash), sb.result.returns(cash), block)

    def to_dict(self) -> dict:
        exe = self.execution
        return {
            "window": {**self.window.to_dict(), "bars": len(self.bars),
                       "first_bar": iso(int(self.bars["ts_ms"].iloc[0])), "last_bar": iso(int(self.bars["ts_ms"].iloc[-1])),
                       "bar_seconds": exe.period_ms / 1000},
            "data": self.data,
            "rule": self.rule,
            "sizing": self.sizing,
            "costs": {"execution": str(exe.style), "fee_tier": exe.fee_tier, "inst_type": str(exe.inst_type),
                      "fee": exe.fee, "maker_fee": exe.maker_fee, "taker_fee": exe.taker_fee,
                      "slippage": exe.slippage_source, "mean_slippage_bps": float(np.mean(exe.slippage) * 1e4),
                      "touch_fill": exe.touch_fill, "latency_ms": exe.latency_ms,
                      "funding_settlements": int(np.count_nonzero(exe.funding)),
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


def realised_vol(bars: pd.DataFrame, window: int) -> np.ndarray:
    """rv_w / sqrt(w) at each row: the per-bar volatility the sizing scales by (hftlab.features' rv_w)."""
    from hftlab.features.batch import log_return, window_sum

    close = bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)
    close = np.where(np.isfinite(close) & (close > 0), close, np.nan)
    r1 = log_return(close, 1)
    return np.sqrt(window_sum(r1 * r1, window) / window)


def targets(held: np.ndarray, notional: np.ndarray, ref_px: np.ndarray) -> np.ndarray:
    """Base units wanted per bar: each run of one direction sized at its first bar, notional / ref_px."""
    held = np.asarray(held, dtype=np.int64)
    notional, ref_px = np.asarray(notional, dtype=np.float64), np.asarray(ref_px, dtype=np.float64)
    starts = held != np.concatenate([[0], held[:-1]])
    at = np.flatnonzero(starts)
    ok = (held[at] != 0) & (ref_px[at] > 0) & np.isfinite(notional[at]) & np.isfinite(ref_px[at])
    units = np.where(ok, notional[at] / np.where(ok, ref_px[at], 1.0), 0.0)
    run = np.cumsum(starts) - 1
    return np.where(run >= 0, units[np.maximum(run, 0)] if at.size else 0.0, 0.0) * held


def compare(bars: pd.DataFrame, first: int, last: int, probas: dict[str, tuple[str, np.ndarray]], cfg, exe,
            window: Window, data: dict, *, vol_window: int = VOL_WINDOW) -> Comparison:
    """probas: name -> (kind, (last - first, 3) probabilities at decision_rows(first, last)); `cfg`:
    BacktestConfig; `exe`: engine.execution of the whole bars file (cut to the window here)."""
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
    exe = exe.window(first, last) if len(bars) != last - first else exe
    size_cfg = cfg.sizing_or_default
    rows = decision_rows(first, last)
    ref_px = engine.prices(bars)["close"][np.maximum(rows, 0)]
    vol = realised_vol(bars, vol_window)[np.maximum(rows, 0)]
    comp = Comparison(window, win_bars, exe, {"threshold": cfg.threshold, "exit_threshold": cfg.exit_threshold,
                                              "allow_short": cfg.allow_short, "execution": cfg.execution},
                      {**size_cfg.model_dump(), "cap_usd": cfg.position_cap_usd, "vol_window": vol_window},
                      data, notes=notes)
    for name, (kind, p) in probas.items():
        e = rule.edge(p)
        held = rule.decide(e, cfg.threshold, cfg.exit_threshold, cfg.allow_short)
        notional = sizing.notional_batch(e, vol, cfg.threshold, size_cfg, cfg.position_cap_usd)
        comp.strategies[name] = _run(name, kind, win_bars, held, targets(held, notional, ref_px), e, exe, stop=True)
    hold = np.ones(len(win_bars), dtype=np.int8)
    units = targets(hold, np.full(hold.size, min(size_cfg.notional_usd, cfg.position_cap_usd)), ref_px)
    comp.strategies[BUY_AND_HOLD] = _run(BUY_AND_HOLD, "benchmark", win_bars, hold, units, None,
                                         replace(exe, style=engine.Style.TAKER), stop=False)
    return comp


def compare_predictions(bars: pd.DataFrame, ends: np.ndarray, probas: dict[str, tuple[str, np.ndarray]], cfg, exe,
                        data: dict, *, vol_window: int = VOL_WINDOW, what: str = "test block") -> Comparison:
    """`compare` over the bars after a run of test samples: the sample ending at row i decides the
    position held during bar i + 1. `ends`: increasing row positions of the samples; `probas`: name ->
    (kind, (len(ends), 3) probabilities of those samples). Rows between samples (a window lost to a
    gap) decide nothing: the rule is flat there."""
    ends = np.asarray(ends, dtype=np.int64)
    first, last = int(ends[0]) + 1, min(int(ends[-1]) + 2, len(bars))
    n = last - first
    full = {}
    for name, (kind, p) in probas.items():
        grid = np.full((n, 3), np.nan)
        keep = ends - ends[0] < n
        grid[(ends - ends[0])[keep]] = np.asarray(p)[keep]
        full[name] = (kind, grid)
    ts = bars["ts_ms"].to_numpy(dtype=np.int64)
    return compare(bars, first, last, full, cfg, exe, Window(int(ts[first]), int(ts[last - 1]), what), data,
                   vol_window=vol_window)


def _run(name, kind, bars, held, target, e, exe, *, stop: bool) -> Strategy:
    res = engine.simulate(bars, target, exe, stop=stop)
    return Strategy(name, kind, np.asarray(held, dtype=np.int8), target, e, res, engine.summarise(res, exe))


def compare_fold(series: Sequence[tuple[str, pd.DataFrame]], parts: Sequence[tuple[str, int, int]], prediction: dict,
                 kinds: Mapping[str, str], cfg, *, vol_window: int = VOL_WINDOW,
                 what: str = "test block") -> dict[str, Comparison]:
    """One fold's test predictions (hftlab.models.experiment.Outcome.predictions[k]: sample ends in the
    rows of the Prepared, the series of each, probabilities by model) backtested per series on that
    series' own bars, costs and instrument (its name, e.g. BTC-USDT-SWAP, says spot or swap).
    `series`: (name, bars) in the order of the Prepared's `parts` ((name, first row, end row));
    `kinds`: model name -> "model" | "baseline". A series without test samples in the fold is left out."""
    out = {}
    ends = np.asarray(prediction["ends"], dtype=np.int64)
    of = np.asarray(prediction["series"], dtype=np.int64)
    for k, ((name, bars), (_part, start, _end)) in enumerate(zip(series, parts)):
        mask = of == k
        if not mask.any():
            continue
        period = int(np.median(np.diff(bars["ts_ms"].to_numpy(dtype=np.int64))))
        exe = engine.execution(cfg, bars, period, name or None)
        probas = {m: (kinds[m], np.asarray(p)[mask]) for m, p in prediction["probas"].items()}
        out[name] = compare_predictions(bars, ends[mask] - start, probas, cfg, exe, {"symbol": name or None},
                                        vol_window=vol_window, what=what)
    return out
