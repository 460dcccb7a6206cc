"""What the research notebooks call: one function per step, files in a run directory between them.

    ctx = context(run_dir, config)          # settings + the run directory (created)
    collect(ctx, ...)                       # 01: simulator (or the configured venue) -> recording, bars.parquet
    features(ctx, ...)                      # 02: bars -> features.parquet + features.json (the FeatureSpec)
    train_model(ctx, ...)                   # 03: bars + spec -> MLflow run, registered version, train.json
    backtest_model(ctx, cfg)                # 04: the trained version vs baselines, buy-and-hold -> backtest.json
    promote_model(ctx, bt_cfg, gate_cfg)    # 05: the gate -> promote.json (and the alias when it wins)
    rule_configs(ctx, threshold=..., ...)   # 04, 05: the backtest / promote settings with parameters applied

The run directory is the hand-off between notebooks (and pipeline steps):

    recording/        Parquet written by `hftlab collect` (raw frames and events)
    bars.parquet      one series of bars (hftlab.domain.market.Bar columns + spread_bps at each close), its
                      world and venue in the schema metadata (hftlab.models.provenance.bars_metadata)
    collect.json      what was collected: venue, symbol, timeframe, speed, bars, the collector summary
    features.parquet  ts_ms, every feature of the spec, the label preview
    features.json     the FeatureSpec, label settings and rates
    train.json        `hftlab train`'s summary: run_id, model_version, metrics, controls
    backtest/, backtest.json   plots and the comparison
    promote/, promote.json     plots and the gate's decision
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hftlab.core.config import repo_path
from hftlab.core.jsonutil import json_default

log = logging.getLogger("hftlab.pipeline")

FILES = {
    "recording": "recording",
    "bars": "bars.parquet",
    "collect": "collect.json",
    "features": "features.parquet",
    "spec": "features.json",
    "train": "train.json",
    "backtest": "backtest.json",
    "promote": "promote.json",
}
DEFAULT_RUN_DIR = "runs/notebooks"  # under system.data_dir, for notebooks run by hand or under nbval


@dataclass
class Context:
    settings: object          # hftlab.settings.Settings
    run_dir: Path
    config: list[str] | None  # the config files (None: $HFTLAB_CONFIG or config/default.yaml)

    def path(self, key: str) -> Path:
        return self.run_dir / FILES[key]

    def write_json(self, key: str, doc: dict) -> Path:
        path = self.path(key)
        path.write_text(json.dumps(doc, indent=1, default=json_default))
        return path

    def read_json(self, key: str) -> dict:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run the step that writes it first (same run_dir)")
        return json.loads(path.read_text())


def context(run_dir: str | Path | None = None, config: str | list[str] | None = None) -> Context:
    """Settings from `config` (a path or list of paths; None: $HFTLAB_CONFIG or config/default.yaml)
    and the run directory (default <system.data_dir>/runs/notebooks), created."""
    from hftlab.core.logs import setup_logging
    from hftlab.settings import load_config

    config = [config] if isinstance(config, (str, Path)) else config
    config = [str(c) for c in config] if config else None
    settings = load_config(config)
    setup_logging(settings.system.log_level, settings.system.log_format)
    run_dir = Path(run_dir) if run_dir else settings.data_dir / DEFAULT_RUN_DIR
    run_dir = repo_path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return Context(settings, run_dir, config)


# ----- 01 collect ---------------------------------------------------------------------------------
def collect(ctx: Context, *, duration_s: float, speed: float, signal_strength: float, seed: int, symbol: str,
            timeframe: str) -> dict:
    """`hftlab collect` in a child process (its own event loop, embedded Redis and, on the sim venue,
    the in-process simulator at `speed` x market time with `signal_strength` planted), trades and
    tickers of one symbol; then the bars of `timeframe` (empty intervals filled flat, so a quiet
    second is a bar, not a gap) with the spread at each close, into bars.parquet, which records the
    venue's world (`save_bars`)."""
    rec = ctx.path("recording")
    env = {**os.environ,
           "HFTLAB__VENUE__SIM__SPEED": repr(float(speed)),
           "HFTLAB__VENUE__SIM__SIGNAL_STRENGTH": repr(float(signal_strength)),
           "HFTLAB__VENUE__SIM__SEED": str(int(seed)),
           # one book push per market second is plenty for tickers; it lets the simulator keep up
           "HFTLAB__VENUE__SIM__BOOK_INTERVAL_MS": "1000",
           "HFTLAB__TRADING__SYMBOLS": f"[{symbol}]",
           "HFTLAB__TRADING__CHANNELS": "[trades, tickers]",
           "HFTLAB__TRADING__TIMEFRAMES": f"[{timeframe}]",
           "HFTLAB__COLLECT__FILL_EMPTY_BARS": "true"}
    cmd = [sys.executable, "-m", "hftlab", "collect", "--duration", str(duration_s), "--out", str(rec), "--json"]
    for c in ctx.config or ():
        cmd += ["--config", c]
    log.info("collecting %s %s for %g s (speed %gx, signal_strength %g) into %s", symbol, timeframe, duration_s,
             speed, signal_strength, rec)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration_s + 300)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"hftlab collect failed (exit {proc.returncode}):\n{tail}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    bars = recorded_bars(rec, symbol, timeframe)
    if len(bars) < 2:
        raise RuntimeError(f"the recording holds {len(bars)} {timeframe} bar(s) of {symbol}: collect for longer")
    venue = ctx.settings.venue
    save_bars(bars, ctx.path("bars"), world=venue.world, venue=venue.name)
    doc = {"venue": venue.name, "world": venue.world, "symbol": symbol, "timeframe": timeframe,
           "duration_s": duration_s,
           "speed": speed, "signal_strength": signal_strength, "seed": seed, "bars": len(bars),
           "market_seconds": (int(bars["ts_ms"].iloc[-1]) - int(bars["ts_ms"].iloc[0])) / 1000,
           "bars_path": str(ctx.path("bars")), "recording": str(rec),
           "summary": {k: summary.get(k) for k in ("elapsed_s", "frames", "events", "bars_closed", "rates_per_s",
                                                   "reconnects", "parse_errors", "dropped")}}
    ctx.write_json("collect", doc)
    return doc


def save_bars(bars: pd.DataFrame, path: Path, *, world: str, venue: str | None) -> Path:
    """Bars to Parquet with whose market they show in the schema metadata, which training reads
    back (hftlab.models.barfiles.load_bars) and records on the model."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hftlab.models.provenance import bars_metadata

    table = pa.Table.from_pandas(bars, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **bars_metadata(world, venue)})
    pq.write_table(table, path)
    return path


def recorded_bars(record_dir: Path, symbol: str, timeframe: str) -> pd.DataFrame:
    """One series of bars from a recording, with `spread_bps` at each bar's close: the last
    recorded ticker (best bid/ask) at or before the bar's end (NaN before the first ticker)."""
    from hftlab.marketdata.bars import period_ms
    from hftlab.collect.recorder import read_table

    bars = read_table(record_dir, "bar", inst_id=symbol).to_pandas()
    bars = bars[bars["timeframe"] == timeframe].sort_values("ts_ms").drop_duplicates("ts_ms", keep="last")
    bars = bars.reset_index(drop=True)
    tickers = read_table(record_dir, "ticker", inst_id=symbol).to_pandas()
    if len(bars) and len(tickers):
        bid = pd.to_numeric(tickers["bid_px"], errors="coerce")
        ask = pd.to_numeric(tickers["ask_px"], errors="coerce")
        quotes = pd.DataFrame({"quote_ts": tickers["ts_ms"].astype(np.int64),
                               "spread_bps": (ask - bid) / ((ask + bid) / 2) * 1e4}).dropna()
        quotes = quotes[quotes["spread_bps"] >= 0].sort_values("quote_ts")
        ends = pd.DataFrame({"end": bars["ts_ms"].astype(np.int64) + period_ms(timeframe) - 1})
        joined = pd.merge_asof(ends, quotes, left_on="end", right_on="quote_ts", direction="backward")
        bars["spread_bps"] = joined["spread_bps"].to_numpy()
    else:
        bars["spread_bps"] = np.nan
    return bars


# ----- 02 features --------------------------------------------------------------------------------
def features(ctx: Context, *, horizon: int, dead_zone_bps: float) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    """The bars' features (the spec training will use: hftlab.models.data.default_spec) and a
    preview of the labels; writes features.parquet and features.json. Returns (bars, features, spec)."""
    from hftlab.features import compute_features, make_labels
    from hftlab.models.data import default_spec
    from hftlab.models.barfiles import load_bars

    bars, _info = load_bars(ctx.path("bars"))
    spec = default_spec(bars)
    feats = compute_features(bars, spec)
    labels = make_labels(bars["close"].to_numpy(dtype=np.float64, na_value=np.nan), horizon, dead_zone_bps)
    known = labels[np.isfinite(labels)]
    complete = np.isfinite(feats.to_numpy(dtype=np.float64, na_value=np.nan)).all(axis=1)
    out = feats.assign(ts_ms=bars["ts_ms"].to_numpy(), label=labels)
    out.to_parquet(ctx.path("features"), index=False)
    ctx.write_json("spec", {
        "spec": spec.to_dict(), "horizon": horizon, "dead_zone_bps": dead_zone_bps, "rows": len(bars),
        "complete_rows": int(complete.sum()),
        "label_rates": {name: float(np.mean(known == v)) if known.size else None
                        for name, v in (("down", -1), ("flat", 0), ("up", 1))},
    })
    return bars, feats, spec


# ----- 03 train -----------------------------------------------------------------------------------
def train_model(ctx: Context, *, model: dict, options: dict, rule: dict | None = None, null_world: bool = True) -> dict:
    """Train on bars.parquet with the spec of features.json (hftlab.models.train.train, logged and
    registered in MLflow, tagged with the world bars.parquet records); `model` overrides fields of
    the `model` settings, `options` fields of hftlab.models.experiment.Options. With `null_world`,
    the null-world control (hftlab.backtest.controls.NullWorld: the same pipeline where nothing is
    predictable, traded by the backtest rule and costs of `rule`, overrides of the backtest and
    promote settings as in `rule_configs`) goes into the report, which the gate requires. Writes
    train.json and report.png; returns the summary."""
    from hftlab.features import FeatureSpec
    from hftlab.models.barfiles import data_world, load_bars
    from hftlab.models.experiment import Options
    from hftlab.models.train import train

    spec = FeatureSpec.from_dict(ctx.read_json("spec")["spec"])
    bars, source = load_bars(ctx.path("bars"))
    source["world"] = data_world(source)
    cfg = ctx.settings.model
    for key, value in model.items():
        setattr(cfg, key, value)  # validated (validate_assignment)
    controls = {}
    if null_world:
        from hftlab.backtest.controls import NullWorld

        bt, gate = rule_configs(ctx, **(rule or {}))
        controls["null_world"] = NullWorld.for_data(bt, gate, source, bars)
    summary = train(bars, cfg, ctx.settings.mlflow, venue_world=ctx.settings.venue.world, source=source,
                    options=Options(**options), spec=spec, controls=controls)
    ctx.write_json("train", summary)
    return summary


def training_report_image(ctx: Context, run_id: str) -> Path:
    """The training run's report.png (metrics, chance bands, per-epoch losses) copied into the run dir."""
    from hftlab.backtest.registry import Registry

    reg = Registry.from_config(ctx.settings.mlflow)
    return Path(reg.client.download_artifacts(run_id, "report.png", str(ctx.run_dir)))


# ----- 04 backtest, 05 promote ---------------------------------------------------------------------
def backtest_model(ctx: Context, cfg, *, baselines: bool = True):
    """The version train.json registered, on its out-of-sample test block, beside its baselines and
    buy-and-hold; plots under backtest/, backtest.json, one MLflow run. Returns the Comparison."""
    from hftlab.backtest.registry import Registry
    from hftlab.backtest.runner import backtest, log_comparison

    trained = ctx.read_json("train")
    reg = Registry.from_config(ctx.settings.mlflow)
    ref = reg.resolve(trained["model_version"])
    comp = backtest(reg, ref, cfg, baselines=baselines)
    plot_dir = ctx.run_dir / "backtest"
    doc = {"model": {"uri": ref.uri, "version": ref.version, "run_id": ref.run_id}, **comp.to_dict()}
    doc["mlflow_run_id"] = log_comparison(ctx.settings.mlflow, comp, kind="backtest", name=f"backtest-v{ref.version}",
                                          tags={"hftlab.model": ref.uri}, plot_dir=plot_dir)
    doc["plots"] = sorted(str(p) for p in plot_dir.glob("*.png"))
    ctx.write_json("backtest", doc)
    return comp


def promote_model(ctx: Context, backtest_cfg, promote_cfg) -> dict:
    """The gate for the version train.json registered; promote.json and plots under promote/."""
    from hftlab.backtest.promote import promote
    from hftlab.backtest.registry import Registry

    trained = ctx.read_json("train")
    doc = promote(Registry.from_config(ctx.settings.mlflow), trained["model_version"], backtest_cfg, promote_cfg,
                  ctx.settings.mlflow, venue_world=ctx.settings.venue.world, plot_dir=ctx.run_dir / "promote")
    ctx.write_json("promote", doc)
    return doc


def rule_configs(ctx: Context, **changes):
    """(BacktestConfig, PromoteConfig) of the settings with the notebook's parameters applied (each
    name goes to the section that has it; None leaves the setting alone)."""
    from hftlab.backtest.config import updated

    bt, gate = ctx.settings.backtest, ctx.settings.promote
    unknown = set(changes) - set(type(bt).model_fields) - set(type(gate).model_fields)
    if unknown:
        raise ValueError(f"not a backtest or promote setting: {sorted(unknown)}")
    bt = updated(bt, **{k: v for k, v in changes.items() if k in type(bt).model_fields})
    gate = updated(gate, **{k: v for k, v in changes.items() if k in type(gate).model_fields})
    return bt, gate
