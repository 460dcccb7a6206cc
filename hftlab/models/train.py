"""A training run: bars in, an evaluated and registered model out, everything in MLflow.

    bars, source = load_bars(path)
    source["world"] = data_world(source)        # whose market: sim | okx (hftlab.models.provenance)
    summary = train(bars, settings.model, settings.mlflow, venue_world=settings.venue.world, source=source)

1. features and labels (hftlab.features), walk-forward folds (hftlab.models.data);
2. the evaluation of hftlab.models.experiment (LSTM and baselines side by side, out of sample,
   permuted-label control), optionally the simulator controls (hftlab.models.sanity);
3. into one MLflow run: parameters, per-epoch metrics, out-of-sample metrics, the report (JSON and
   PNG), the FeatureSpec + normaliser bundle, and the last fold's model as a SignalNet, registered
   as a new version of `mlflow.model_name`, the version and the run tagged with the data's
   provenance (world, venue, symbol, timeframe, feature-spec hash: hftlab.models.provenance).
   Setting the `champion` alias is the promotion gate's job.

The version goes into the configured registry whatever the data's world; when that world is not
the venue's (`venue_world`), or the provenance lacks a fact, the summary's `warnings` say that the
gate will refuse it as champion there.

Returns the JSON-serialisable summary `hftlab train --json` prints. Under DDP only rank 0 talks to
MLflow; other ranks return None.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hftlab.models.experiment import Options, plan, run_experiment
from hftlab.models.provenance import Provenance, check_world, metadata_world, world_mismatch

log = logging.getLogger("hftlab.models")

BAR_COLUMNS = ("ts_ms", "open", "high", "low", "close", "volume")
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+-[A-Z0-9]+(?:-SWAP)?)_(?P<timeframe>[0-9]+[smhd])_")
HEADLINE = ("balanced_accuracy", "accuracy", "f1_macro", "auc_macro", "log_loss")


@dataclass(frozen=True)
class SimControls:
    """Simulator controls to run beside the real data (hftlab.models.sanity); seconds=0 skips them."""

    seconds: int = 0
    signal_strength: float = 1.0
    seed: int = 11


def load_bars(path: str | Path, *, symbol: str | None = None, timeframe: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Bars from a candle CSV(.gz) (ts_ms,date,open,high,low,close,volume) or a Parquet of bars
    (hftlab.domain.market.Bar columns; with several series, symbol and timeframe pick one).

    Sorted by ts_ms, duplicates dropped, and missing bars on the regular grid inserted as NaN rows
    (features count bars: a gap must reset the indicators, not be skipped). Returns (bars, info):
    path, symbol, timeframe, and the `world` / `venue` a Parquet records in its schema metadata
    (hftlab.models.provenance.bars_metadata; absent when it records none: see `data_world`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    name = path.name.lower()
    m = _NAME.match(path.name)
    info = {"path": str(path), "symbol": symbol or (m["symbol"] if m else None),
            "timeframe": timeframe or (m["timeframe"] if m else None)}
    if name.endswith((".csv", ".csv.gz")):
        df = pd.read_csv(path)
    elif name.endswith(".parquet"):
        import pyarrow.parquet as pq

        info.update(metadata_world(pq.read_schema(path).metadata))
        df = pd.read_parquet(path)
        for col, want in (("inst_id", symbol), ("timeframe", timeframe)):
            if col in df.columns:
                values = sorted(df[col].dropna().unique())
                if want is not None:
                    df = df[df[col] == want]
                elif len(values) > 1:
                    raise ValueError(f"{path} holds several {col} values {values}: pick one with "
                                     f"--{'symbol' if col == 'inst_id' else 'timeframe'}")
                if len(df) and info["symbol" if col == "inst_id" else "timeframe"] is None:
                    info["symbol" if col == "inst_id" else "timeframe"] = str(df[col].iloc[0])
    else:
        raise ValueError(f"{path}: expected a candle CSV (.csv, .csv.gz) or a Parquet of bars (.parquet)")
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks column(s) {missing}; bars need {list(BAR_COLUMNS)}")
    if df.empty:
        raise ValueError(f"{path}: no bars" + (f" for symbol {symbol!r} / timeframe {timeframe!r}" if symbol or timeframe else ""))
    df = df.sort_values("ts_ms").drop_duplicates("ts_ms", keep="last")
    keep = [c for c in ("ts_ms", "open", "high", "low", "close", "volume", "trade_count", "vwap",
                        "buy_volume", "sell_volume") if c in df.columns]
    df = df[keep].reset_index(drop=True)
    ts = df["ts_ms"].to_numpy(dtype=np.int64)
    if len(ts) > 1:
        period = int(np.median(np.diff(ts)))
        grid = np.arange(ts[0], ts[-1] + 1, period, dtype=np.int64)
        if len(grid) != len(ts) and np.isin(ts, grid).all():
            info["missing_bars"] = int(len(grid) - len(ts))
            df = df.set_index("ts_ms").reindex(grid).rename_axis("ts_ms").reset_index()
    return df, info


def data_world(info: dict, override: str | None = None) -> str:
    """The world of bars `load_bars` read (`info`): the one a Parquet records; a candle CSV is
    external OKX market data, `okx`, unless `override` says otherwise (a CSV made from the
    simulator); a Parquet recording none needs `override`. An override contradicting a recorded
    world is a ValueError, as is an override that is not a world."""
    path, recorded = info.get("path"), info.get("world")
    if override is not None:
        check_world(override, "--data-world")
        if recorded is not None and override != recorded:
            raise ValueError(f"{path} records world {recorded!r} in its metadata; --data-world {override} "
                             "contradicts it")
        return override
    if recorded is not None:
        return check_world(recorded, str(path))
    if str(path).lower().endswith((".csv", ".csv.gz")):
        return "okx"
    raise ValueError(f"{path} does not record whose market its bars are (no hftlab.world in its Parquet metadata): "
                     "give --data-world sim|okx")


def _warnings(prov: Provenance, venue_world: str) -> list[str]:
    """Why the gate will refuse this model as champion of the configured venue, if it will."""
    mismatch = world_mismatch(prov.world, venue_world)
    why = [mismatch] if mismatch else []
    missing = [k for k in prov.missing() if k != "world"]
    if missing:
        why.append(f"its {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not known "
                   "(name the series: --symbol, --timeframe)")
    return [f"registered, but the gate will refuse it as champion here: {reason}" for reason in why]


def _headline(models: dict) -> dict:
    return {name: {**{k: r[k] for k in HEADLINE}, "beats_chance": r["beats_chance"],
                   "p_beats_chance": r["chance_test"]["p_greater"]} for name, r in models.items()}


def _verdicts(report: dict) -> list[str]:
    models = report["models"]
    best = max(models, key=lambda n: models[n]["balanced_accuracy"])
    lines = []
    for name, r in models.items():
        lines.append(f"{name}: balanced accuracy {r['balanced_accuracy']:.4f}, AUC {r['auc_macro']:.4f}, "
                     f"{'beats' if r['beats_chance'] else 'does not beat'} chance "
                     f"(shift-test p = {r['chance_test']['p_greater']:.3f})")
    lines.append(f"best out of sample: {best}")
    for name, vs in report["lstm_vs_baselines"].items():
        lo, hi = vs["ci95"]
        lines.append(f"lstm - {name}: {vs['difference']:+.4f} balanced accuracy (95% CI {lo:+.4f} .. {hi:+.4f})")
    for name, c in report["controls"].items():
        lines.append(f"control {name}: {'PASSED' if c['passed'] else 'FAILED'} ({c['what']})")
        if "lstm_minus_logistic" in c:
            vs = c["lstm_minus_logistic"]
            lo, hi = vs["ci95"]
            lines.append(f"control {name}: lstm - logistic {vs['difference']:+.4f} balanced accuracy (95% CI {lo:+.4f} .. "
                         f"{hi:+.4f}): the LSTM {'beats' if c['lstm_beats_logistic'] else 'does not beat'} logistic regression")
    return lines


def train(bars: pd.DataFrame, cfg, mlflow_cfg, *, venue_world: str, source: dict, options: Options = Options(),
          sim: SimControls = SimControls(), spec=None, progress: bool = False) -> dict | None:
    """`cfg`: the `model` section (hftlab.models.config.ModelConfig); `mlflow_cfg`: the `mlflow` section
    (MlflowConfig, its model name and paths resolved by hftlab.settings); `venue_world`: the world of
    the configured venue (hftlab.settings.venue_world). `source`: what the bars are, as tags of the
    run: path, symbol, timeframe, `world` (sim | okx, required), `venue` when known, anything else."""
    from hftlab.features import dump_bundle
    from hftlab.features.spec import spec_hash
    from hftlab.models import tracking
    from hftlab.models.data import default_spec, last_complete_window, prepare
    from hftlab.models.lstm import SignalNet
    from hftlab.models.plot import plot_report

    t0 = time.perf_counter()
    source = dict(source)
    spec = spec or default_spec(bars)
    prov = Provenance(world=check_world(source.get("world"), "training data"), venue=source.get("venue"),
                      symbol=source.get("symbol"), timeframe=source.get("timeframe"), feature_spec_hash=spec_hash(spec))
    check_world(venue_world, "venue_world")
    prep = prepare(bars, spec, cfg.horizon, cfg.dead_zone_bps)
    plan(prep, cfg, options)  # bad data or settings fail here, before MLflow is touched
    if not _is_rank_zero():
        # the same fits in the same order as rank 0 (DDP collectives), nothing logged
        _evaluate(prep, cfg, options, sim, progress=False, fold_sink=None)
        return None
    mlflow = tracking.import_mlflow()
    experiment_id = tracking.use_experiment(mlflow_cfg)
    name = mlflow_cfg.model_name
    run_name = "-".join(str(v) for v in (source.get("symbol"), source.get("timeframe")) if v) or None
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run, \
            tempfile.TemporaryDirectory(prefix="hftlab-train-") as tmp:
        tmp = Path(tmp)
        mlflow.set_tags({**{f"hftlab.{k}": str(v) for k, v in source.items() if v is not None}, **prov.tags()})
        mlflow.log_params({**tracking.flat_params("model", cfg.model_dump()),
                           **tracking.flat_params("eval", asdict(options)),
                           **tracking.flat_params("features", spec.to_dict()["params"]),
                           **tracking.flat_params("sim", asdict(sim)),
                           "data.rows": str(prep.n_rows)})
        out = _evaluate(prep, cfg, options, sim, progress=progress,
                        fold_sink=lambda k: tracking.epoch_sink(f"fold{k}."))
        report = out.report
        report["data"].update(source)
        report["verdicts"] = _verdicts(report)
        for model, r in report["models"].items():
            mlflow.log_metrics({f"test.{model}.{k}": r[k] for k in HEADLINE if np.isfinite(r[k])})
        for key, c in report["controls"].items():
            mlflow.log_metric(f"control.{key}.passed", float(c["passed"]))
        report_path = tmp / "report.json"
        report_path.write_text(json.dumps(report, indent=1, default=_json_default))
        mlflow.log_artifact(str(report_path))
        mlflow.log_artifact(str(plot_report(report, out.history, tmp / "report.png")))
        norm = out.normaliser
        signal_net = SignalNet(out.net, norm.center, norm.scale, norm.clip).eval()
        example = last_complete_window(prep, cfg.seq_len)[None]
        model_uri, version = tracking.log_signal_model(signal_net, example, dump_bundle(spec, norm), name, tmp,
                                                       tags=prov.tags())
        run_id = run.info.run_id
    return {
        "run_id": run_id,
        "experiment": mlflow_cfg.experiment,
        "tracking_uri": mlflow_cfg.tracking_uri,
        "model_uri": model_uri,
        "model_name": name,
        "model_version": version,
        "champion_uri": f"models:/{name}@{tracking.CHAMPION}",
        "provenance": prov.to_dict(),
        "venue_world": venue_world,
        "warnings": _warnings(prov, venue_world),
        "data": report["data"],
        "folds": [{"fold": f["fold"], "ts_ms": f["ts_ms"], "windows": f["windows"],
                   "balanced_accuracy": {m: r["balanced_accuracy"] for m, r in f["models"].items()}}
                  for f in report["folds"]],
        "metrics": _headline(report["models"]),
        "lstm_vs_baselines": report["lstm_vs_baselines"],
        "lstm_training": report["lstm_training"],
        "controls": report["controls"],
        "verdicts": report["verdicts"],
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }


def _evaluate(prep, cfg, options: Options, sim: SimControls, *, progress: bool, fold_sink):
    out = run_experiment(prep, cfg, options, progress=progress, fold_sink=fold_sink)
    if sim.seconds > 0:
        from hftlab.models.sanity import sim_control

        for strength in (0.0, sim.signal_strength):
            out.report["controls"][f"sim_signal_{strength:g}"] = sim_control(
                cfg, options, signal_strength=strength, seconds=sim.seconds, seed=sim.seed, progress=progress)
    return out


def _is_rank_zero() -> bool:
    """Whether this is the global rank 0 process, as a DDP launcher marks it: RANK (torchrun, SLURM)
    or, under Lightning's own launcher, NODE_RANK and LOCAL_RANK."""
    env = os.environ
    if env.get("RANK"):
        return int(env["RANK"]) == 0
    return int(env.get("NODE_RANK") or 0) == 0 and int(env.get("LOCAL_RANK") or 0) == 0


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")
