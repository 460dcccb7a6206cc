"""A training run: bars in, an evaluated and registered model out, everything in MLflow.

    bars, source = load_bars(path)              # hftlab.models.barfiles
    source["world"] = data_world(source)        # whose market: sim | okx (hftlab.models.provenance)
    summary = train(bars, settings.model, settings.mlflow, venue_world=settings.venue.world, source=source)

1. features and labels (hftlab.features), walk-forward folds (hftlab.models.data);
2. the evaluation of hftlab.models.experiment (LSTM and baselines side by side, out of sample, per
   fold and pooled, directional skill, permuted-label control), optionally the simulator controls
   (hftlab.models.sanity) and the caller's further controls (`controls`: the null world of
   hftlab.backtest.controls, which the gate requires);
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
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hftlab.models.experiment import Options, plan, run_experiment
from hftlab.models.provenance import Provenance, check_world, world_mismatch

log = logging.getLogger("hftlab.models")

HEADLINE = ("balanced_accuracy", "accuracy", "f1_macro", "auc_macro", "log_loss")
# a further control: (spec, model config, options, the training bars: a DataFrame or a panel's (name, bars)
# list) -> {"passed": bool, "what": str, ...}
Control = Callable[[object, object, Options, object], dict]


@dataclass(frozen=True)
class SimControls:
    """Simulator controls to run beside the real data (hftlab.models.sanity); seconds=0 skips them."""

    seconds: int = 0
    signal_strength: float = 1.0
    seed: int = 11


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


def _spread(h: dict, fmt: str) -> str:
    std = "" if h["std"] != h["std"] else f" +- {h['std']:{fmt}}"
    return f"{h['mean']:{fmt}}{std} (folds {', '.join(format(v, fmt) for v in h['folds'])})"


def _verdicts(report: dict) -> list[str]:
    models, headline = report["models"], report["headline"]
    best = max(headline, key=lambda n: headline[n]["balanced_accuracy"]["mean"])
    lines = []
    for name, r in models.items():
        h = headline[name]
        lines.append(f"{name}: balanced accuracy {_spread(h['balanced_accuracy'], '.4f')} over folds, pooled "
                     f"{r['balanced_accuracy']:.4f} ({'beats' if r['beats_chance'] else 'does not beat'} chance, "
                     f"shift-test p = {r['chance_test']['p_greater']:.3f}); direction where it trades "
                     f"{_spread(h['directional_accuracy'], '.3f')} on {h['traded']['mean']:.0%} of bars; "
                     f"IC {_spread(h['ic'], '+.3f')}")
    lines.append(f"best out of sample (mean over folds): {best}")
    for series, by_model in report.get("series", {}).items():  # a panel: each series on its own test rows
        lines.append(f"{series}: " + "; ".join(
            f"{name} balanced accuracy {r['balanced_accuracy']:.4f}, direction {r['directional_accuracy']:.3f}, "
            f"IC {r['ic']:+.3f}" for name, r in by_model.items()))
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


def train(bars: pd.DataFrame | Sequence[tuple[str, pd.DataFrame]], cfg, mlflow_cfg, *, venue_world: str, source: dict,
          options: Options = Options(), sim: SimControls = SimControls(), spec=None,
          controls: Mapping[str, Control] | None = None, progress: bool = False) -> dict | None:
    """`bars`: one series, or a panel, (name, bars) of several series (e.g. BTC-, ETH- and
    SOL-USDT-SWAP) trained as one model (hftlab.models.data.prepare_panel) and judged per series
    too (the summary's `series`); its spec is the first series' default. `cfg`: the `model` section (hftlab.models.config.ModelConfig); `mlflow_cfg`: the `mlflow` section
    (MlflowConfig, its model name and paths resolved by hftlab.settings); `venue_world`: the world of
    the configured venue (hftlab.settings.venue_world). `source`: what the bars are, as tags of the
    run: path, symbol, timeframe, `world` (sim | okx, required), `venue` when known, anything else.
    `controls`: further controls by name (e.g. hftlab.backtest.controls.NullWorld, which needs the
    backtest this package sits below), each called as control(spec, cfg, options, bars) and its
    verdict (a dict with `passed` and `what`) stored in the report beside the built-in ones."""
    from hftlab.features import dump_bundle
    from hftlab.features.spec import spec_hash
    from hftlab.models import tracking
    from hftlab.models.data import default_spec, last_complete_window, prepare, prepare_panel
    from hftlab.models.lstm import SignalNet
    from hftlab.models.plot import plot_report

    t0 = time.perf_counter()
    source = dict(source)
    panel = not isinstance(bars, pd.DataFrame)
    if panel:
        bars = list(bars)
    spec = spec or default_spec(bars[0][1] if panel else bars)
    prov = Provenance(world=check_world(source.get("world"), "training data"), venue=source.get("venue"),
                      symbol=source.get("symbol"), timeframe=source.get("timeframe"), feature_spec_hash=spec_hash(spec))
    check_world(venue_world, "venue_world")
    prep = (prepare_panel(bars, spec, cfg.horizon, cfg.dead_zone_bps) if panel else
            prepare(bars, spec, cfg.horizon, cfg.dead_zone_bps))
    plan(prep, cfg, options)  # bad data or settings fail here, before MLflow is touched
    if not _is_rank_zero():
        # the same fits in the same order as rank 0 (DDP collectives), nothing logged
        _evaluate(prep, cfg, options, sim, controls, bars, progress=False, fold_sink=None)
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
        out = _evaluate(prep, cfg, options, sim, controls, bars, progress=progress,
                        fold_sink=lambda k: tracking.epoch_sink(f"fold{k}."))
        report = out.report
        report["data"].update(source)
        report["verdicts"] = _verdicts(report)
        for model, r in report["models"].items():
            mlflow.log_metrics({f"test.{model}.{k}": r[k] for k in HEADLINE if np.isfinite(r[k])})
            mlflow.log_metrics({f"test.{model}.{k}_fold_mean": v["mean"] for k, v in report["headline"][model].items()
                                if np.isfinite(v["mean"])})
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
                   **{k: {m: r[k] for m, r in f["models"].items()}
                      for k in ("balanced_accuracy", "directional_accuracy", "ic", "traded")}}
                  for f in report["folds"]],
        "metrics": _headline(report["models"]),
        "headline": report["headline"],
        **({"series": report["series"]} if "series" in report else {}),
        "lstm_vs_baselines": report["lstm_vs_baselines"],
        "lstm_training": report["lstm_training"],
        "controls": report["controls"],
        "verdicts": report["verdicts"],
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }


def _evaluate(prep, cfg, options: Options, sim: SimControls, controls, bars, *, progress: bool, fold_sink):
    out = run_experiment(prep, cfg, options, progress=progress, fold_sink=fold_sink)
    if sim.seconds > 0:
        from hftlab.models.sanity import sim_control

        for strength in (0.0, sim.signal_strength):
            out.report["controls"][f"sim_signal_{strength:g}"] = sim_control(
                cfg, options, signal_strength=strength, seconds=sim.seconds, seed=sim.seed, progress=progress)
    for name, control in (controls or {}).items():
        log.info("control: %s", name)
        out.report["controls"][name] = control(prep.spec, cfg, options, bars)
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
