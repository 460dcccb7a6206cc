"""`hftlab bench backtest`: one backtest over one million bars, as hftlab.backtest runs it.

Input: a seeded random walk of 1 s bars (OHLC, a per-bar spread) and a persistent edge series
(an AR(1) process squashed into probabilities) through the signal rule and the strategy's sizing,
so positions change about as often as a fast model's do. Costs as the defaults: OKX's regular
spot taker fee, half-spread slippage per bar, a 1% stop-loss checked on highs and lows; then the
same with maker execution (honest fills: only when a bar trades through the order).

- engine_first_call_s: the first backtest in this process (numba compiles the engine's kernel or
  loads it from its on-disk cache), on 1,000 bars
- engine_1m_bars_s / engine_maker_1m_bars_s: best of --repeat warm runs (hftlab.backtest.engine
  with fees, slippage, stops, then every metric of hftlab.backtest.metrics) over --bars bars
- signal_rule_1m_bars_s: the signal rule and sizing (probabilities -> positions) over the same bars
- trades_count: trades in the taker backtest
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from hftlab.bench import progress


def add_arguments(p) -> None:
    p.add_argument("--bars", type=int, default=1_000_000, help="bars in the timed backtest")
    p.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")


def _bars(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-4, n)))
    opens = np.concatenate([[30_000.0], close[:-1]])
    wiggle = np.abs(rng.normal(0.0, 1e-4, n))
    bars = pd.DataFrame({"ts_ms": 1000 * np.arange(n, dtype=np.int64), "open": opens,
                         "high": np.maximum(opens, close) * (1 + wiggle), "low": np.minimum(opens, close) * (1 - wiggle),
                         "close": close, "spread_bps": rng.uniform(0.5, 3.0, n)})
    from scipy.signal import lfilter

    z = lfilter([1.0], [1.0, -0.95], rng.normal(0.0, 0.3, n))  # AR(1): positions last tens of bars
    e = np.tanh(z / 3)
    proba = np.stack([(1 - e) / 2 * 0.8, np.full(n, 0.2), (1 + e) / 2 * 0.8], axis=1)
    return bars, proba


def run(args) -> dict:
    from dataclasses import replace

    from hftlab.backtest import engine
    from hftlab.backtest.compare import targets
    from hftlab.settings import Settings
    from hftlab.strategy import rule, sizing

    cfg = Settings().backtest

    def backtest(bars, proba, style=engine.Style.TAKER):
        t = time.perf_counter()
        e = rule.edge(proba)
        held = rule.decide(e, cfg.threshold, cfg.exit_threshold, cfg.allow_short)
        notional = sizing.notional_batch(e, np.full(e.size, np.nan), cfg.threshold, cfg.sizing_or_default,
                                         cfg.position_cap_usd)
        target = targets(held, notional, bars["close"].to_numpy())
        rule_s = time.perf_counter() - t
        exe = replace(engine.execution(cfg, bars, 1000, "BTC-USDT"), style=style)
        metrics = engine.summarise(engine.simulate(bars, target, exe), exe)
        return time.perf_counter() - t, rule_s, metrics

    small = _bars(1000, 1)
    progress("backtest: first call (compiles or loads the engine's numba kernel) ...")
    first_s, _, _ = backtest(*small)
    progress(f"backtest: {args.bars:,} bars ...")
    big = _bars(args.bars, 2)
    best = best_maker = best_rule = float("inf")
    for k in range(args.repeat):
        s, rule_s, metrics = backtest(*big)
        m, _, _ = backtest(*big, style=engine.Style.MAKER)
        best, best_maker, best_rule = min(best, s), min(best_maker, m), min(best_rule, rule_s)
        progress(f"  run {k + 1}/{args.repeat}: taker {s:.3f} s, maker {m:.3f} s, {metrics['n_trades']:,} trades")
    unit = "_1m_bars_s" if args.bars == 1_000_000 else "_s"
    return {
        "engine_first_call_s": round(first_s, 3),
        f"engine{unit}": round(best, 3),
        f"engine_maker{unit}": round(best_maker, 3),
        f"signal_rule{unit}": round(best_rule, 4),
        "trades_count": int(metrics["n_trades"]),
    }
