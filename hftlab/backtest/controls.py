"""The null-world control: the same pipeline, run on a world where nothing is predictable, must not pass.

A feature that reads the future (a look-ahead bug) survives the permuted-label control: with shuffled
training labels no model learns anything, leak or not. It does not survive a world without signal:
there, a model can only "predict" through the leak. So the candidate's own pipeline (its FeatureSpec,
model settings and evaluation options, one walk-forward fold with the newest quarter as its test
block) is run again on null bars, and its test predictions are traded through the same rule and
costs as the candidate's backtest. The control passes only when, in that world,

- no model beats chance (one-sided circular-shift test, Bonferroni over the models), and
- the LSTM's trades do not pass the gate's money test (hftlab.backtest.gate, the configured
  statistic and floor).

Null bars: for the simulator's world, the simulator at signal_strength 0 (`NullWorld.simulator`:
the same instrument and bar size, its own seed; sweeps, clustering and everything else of the flow
kept, only the planted relation gone); for external data, the training bars themselves with their
bars shuffled (`NullWorld.shuffled`: each bar keeps its return, range and volumes, their order is
random, so prices are a random walk of the same increments and nothing predicts the next one); for
a panel (several series in one model), each series shuffled on its own, and every series' LSTM
trades must fail the money test. The trades pay the costs of the instrument the series is (its
name: spot or swap fees).

    control = NullWorld.simulator(settings.backtest, settings.promote, symbol="BTC-USDT-SWAP", seconds=14_400)
    summary = train(bars, ..., controls={"null_world": control})       # report["controls"]["null_world"]
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger("hftlab.backtest")

SOURCES = ("simulator", "shuffled")


def shuffled_bars(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The bars in random order, re-chained into one price path: each bar keeps its log return from the
    previous close, its open/high/low relative to the previous close and its volumes; gaps are dropped
    and the timestamps stay the original grid's."""
    rng = np.random.default_rng(seed)
    b = bars.dropna(subset=["open", "high", "low", "close"]).reset_index(drop=True)
    close = b["close"].to_numpy(dtype=np.float64)
    prev = np.concatenate([[b["open"].iloc[0]], close[:-1]])
    rel = {c: b[c].to_numpy(dtype=np.float64) / prev for c in ("open", "high", "low", "close")}
    order = rng.permutation(len(b))
    path = float(prev[0]) * np.exp(np.cumsum(np.log(rel["close"][order])))
    start = np.concatenate([[float(prev[0])], path[:-1]])
    out = b.iloc[order].reset_index(drop=True).copy()
    out["ts_ms"] = b["ts_ms"].to_numpy()
    for c in ("open", "high", "low"):
        out[c] = start * rel[c][order]
    out["close"] = path
    if "vwap" in out.columns:
        out["vwap"] = out["close"]
    return out


@dataclass(frozen=True)
class NullWorld:
    """A control for hftlab.models.train.train(controls=...): call it as control(spec, cfg, options, bars)."""

    backtest: object           # BacktestConfig: the rule and costs of the candidate's backtest
    gate: object               # PromoteConfig: the money test
    source: str = "simulator"  # or "shuffled"
    symbol: str | None = "BTC-USDT"  # the instrument (simulator: the one it runs; shuffled: its costs)
    seconds: int = 14_400      # simulator: market seconds of 1 s bars
    seed: int = 101

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"null-world source must be one of {SOURCES}, got {self.source!r}")

    @classmethod
    def simulator(cls, backtest, gate, *, symbol: str, seconds: int, seed: int = 101) -> NullWorld:
        return cls(backtest, gate, "simulator", symbol, int(seconds), seed)

    @classmethod
    def shuffled(cls, backtest, gate, *, symbol: str | None = None, seed: int = 101) -> NullWorld:
        return cls(backtest, gate, "shuffled", symbol, seed=seed)

    @classmethod
    def for_data(cls, backtest, gate, source: dict, bars, *, max_seconds: int = 7_200, seed: int = 101) -> NullWorld:
        """The null world of training data: the simulator at signal 0 for the sim world's 1 s bars (as
        many market seconds as the bars span, at most `max_seconds`), the shuffled bars otherwise (and
        always for a panel: `bars` a list of (name, bars), each series shuffled on its own)."""
        if not isinstance(bars, pd.DataFrame):
            return cls.shuffled(backtest, gate, seed=seed)  # each series' name gives its costs
        ts = bars["ts_ms"].to_numpy(dtype=np.int64)
        period = int(np.median(np.diff(ts))) if ts.size > 1 else 0
        if source.get("world") == "sim" and period == 1000:
            span = int((ts[-1] - ts[0]) // 1000) + 1
            return cls.simulator(backtest, gate, symbol=source.get("symbol") or "BTC-USDT",
                                 seconds=min(span, max_seconds), seed=seed)
        return cls.shuffled(backtest, gate, symbol=source.get("symbol"), seed=seed)

    def bars(self, training_bars):
        """The null world's bars: a DataFrame, or for a panel's training bars ((name, bars), ...) the same
        list, each series shuffled with its own seed."""
        if self.source == "shuffled":
            if isinstance(training_bars, pd.DataFrame):
                return shuffled_bars(training_bars, self.seed)
            return [(name, shuffled_bars(b, self.seed + k)) for k, (name, b) in enumerate(training_bars)]
        from hftlab.models.sanity import sim_bars

        return sim_bars(seed=self.seed, signal_strength=0.0, seconds=self.seconds, inst_id=self.symbol)

    def __call__(self, spec, cfg, options, training_bars) -> dict:
        from hftlab.backtest import gate
        from hftlab.backtest.compare import compare_fold
        from hftlab.models.data import prepare, prepare_panel
        from hftlab.models.evaluate import chance_verdict
        from hftlab.models.experiment import LSTM, run_experiment

        bars = self.bars(training_bars)
        panel = not isinstance(bars, pd.DataFrame)
        series = list(bars) if panel else [(self.symbol or "", bars)]  # the name says spot or swap (fees)
        what = ("the same pipeline on the simulator at signal_strength 0" if self.source == "simulator" else
                "the same pipeline on the training bars shuffled (a random walk of their own increments)")
        log.info("control: null world (%s), %d bars", self.source, sum(len(b) for _n, b in series))
        prep = (prepare_panel(series, spec, cfg.horizon, cfg.dead_zone_bps) if panel else
                prepare(bars, spec, cfg.horizon, cfg.dead_zone_bps))
        opts = dataclasses.replace(options, permuted_control=False, n_folds=1, test_fraction=0.25)
        out = run_experiment(prep, cfg, opts)
        chance = chance_verdict(out.report["models"], alpha=opts.alpha, n_shifts=opts.n_shifts, sided="greater")
        pred = out.predictions[-1]
        comps = compare_fold(series, prep.parts, {**pred, "probas": {LSTM: pred["probas"][LSTM]}}, {LSTM: "model"},
                             self.backtest, vol_window=getattr(spec, "vol_window", 20),
                             what=f"null world ({self.source})")
        metrics = {name: c.strategies[LSTM].metrics for name, c in comps.items()}
        money = {name: gate.money_check(gate.Evidence.of(m), self.gate) for name, m in metrics.items()}
        passed = chance["passed"] and not any(v.passed for v in money.values())

        def trades(m: dict) -> dict:
            return {k: m[k] for k in ("total_return", "gross_return", "n_trades", "trade_mean_bps", "trade_t", "psr")}

        doc = {
            "what": f"{what}: no model may beat chance and the LSTM's trades may not pass the money test",
            "passed": passed, "source": self.source, "bars": int(sum(len(b) for _n, b in series)), "seed": self.seed,
            "beats_chance": {name: r["beats_chance"] for name, r in out.report["models"].items()},
            "chance_test": chance["test"],
        }
        if panel:  # every series must fail the money test
            doc["money"] = {name: {"passed": v.passed, "detail": v.detail} for name, v in money.items()}
            doc["backtest"] = {name: trades(m) for name, m in metrics.items()}
        else:
            [(only, check)] = money.items()
            doc["money"] = {"passed": check.passed, "detail": check.detail}
            doc["backtest"] = trades(metrics[only])
        return doc
