"""Backtests of registered models: data, window, predictions, comparison, MLflow logging.

    reg = Registry.from_config(settings.mlflow)
    comp = backtest(reg, reg.resolve("3"), settings.backtest)              # a model beside baselines + buy-and-hold
    comp, report = head_to_head(reg, candidate, champion, settings.backtest)   # the gate's comparison
    run_id = log_comparison(settings.mlflow, comp, kind="backtest", name="...", plot_dir=...)

`cfg` is the `backtest` section (hftlab.backtest.config.BacktestConfig: rule and costs), `mlflow_cfg`
the `mlflow` section (hftlab.models.config.MlflowConfig: where the run goes).

Data: `data` (a bars file) when given, else the bars file the model's training run recorded
(`hftlab.path` tag; `hftlab.symbol` / `hftlab.timeframe` pick the series). Window: `window` when
given, else the training run's out-of-sample test block when the bars cover it, else the whole
file (said in the comparison's notes: a whole file may include the model's training bars).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np

from hftlab.backtest import engine, plots
from hftlab.backtest.compare import Comparison, compare, decision_rows
from hftlab.backtest.predict import TrainingRun, baseline_proba, model_proba
from hftlab.backtest.registry import ModelRef, Registry
from hftlab.backtest.window import Window, load_bars, out_of_sample_window, rows
from hftlab.core.jsonutil import json_default


def _source(reg: Registry, ref: ModelRef) -> tuple[dict | None, dict[str, str], dict[str, str]]:
    """(training report or None, run tags, run params) of the run that trained `ref`."""
    if ref.run_id is None:
        return None, {}, {}
    tags, params = reg.run_info(ref.run_id)
    try:
        report = reg.report(ref.run_id)
    except LookupError:
        report = None
    return report, tags, params


def _bars(data: str | Path | None, tags: dict, symbol: str | None, timeframe: str | None, who: str):
    path = data or tags.get("hftlab.path")
    if data is None and (not path or not Path(path).is_file()):
        raise ValueError(f"{who}: no bars to backtest on: its training data "
                         f"({tags.get('hftlab.path', 'unknown')}) is not a file here; give --data PATH")
    bars, info = load_bars(path, symbol=symbol or tags.get("hftlab.symbol"),
                           timeframe=timeframe or tags.get("hftlab.timeframe"))
    return bars, info


def _covers(bars, window: Window) -> bool:
    ts = bars["ts_ms"].to_numpy()
    return bool(ts[0] <= window.start_ms and window.end_ms <= ts[-1])


def _baselines(ref: ModelRef, report: dict | None, tags: dict, params: dict, spec, bars, dec,
               data) -> tuple[dict[str, tuple[str, np.ndarray]], list[str]]:
    """The training run's baselines refitted as it fitted them, on the decision rows (or why not)."""
    if report is None:
        return {}, ["no baselines: the model has no training report"]
    try:
        train_bars = bars if data is None else _bars(None, tags, None, None, ref.label)[0]
        run = TrainingRun(ref.run_id, report, params, train_bars)
        return {name: ("baseline", p) for name, p in baseline_proba(run, spec, bars, dec).items()}, []
    except ValueError as e:
        return {}, [f"no baselines: {e}"]


def backtest(reg: Registry, ref: ModelRef, cfg, *, data=None, window: Window | None = None,
             symbol: str | None = None, timeframe: str | None = None, baselines: bool = True) -> Comparison:
    report, tags, params = _source(reg, ref)
    bars, info = _bars(data, tags, symbol, timeframe, ref.label)
    notes = []
    if window is None:
        oos = out_of_sample_window(report, ref.run_id) if report else None
        if oos is not None and _covers(bars, oos):
            window = oos
        else:
            ts = bars["ts_ms"].to_numpy()
            window = Window(int(ts[0]), int(ts[-1]), "whole file")
            notes.append("whole file: it may include bars the model was trained on" if oos is None else
                         "whole file: the bars do not cover the model's out-of-sample test block")
    first, last = rows(bars, window)
    dec = decision_rows(first, last)
    predictor = reg.load(ref)
    probas = {ref.label: ("model", model_proba(predictor.net, predictor.spec, bars, dec))}
    if baselines:
        found, why = _baselines(ref, report, tags, params, predictor.spec, bars, dec, data)
        probas.update(found)
        notes += why
    exe = engine.execution(cfg, bars, info["period_ms"], info.get("symbol"))
    comp = compare(bars, first, last, probas, cfg, exe, window, _data(info), vol_window=predictor.spec.vol_window)
    comp.notes[:0] = notes
    return comp


def head_to_head(reg: Registry, candidate: ModelRef, champion: ModelRef | None, cfg, *, data=None) -> tuple[Comparison, dict]:
    """Candidate, champion and the candidate's baselines on the candidate's out-of-sample test block.
    Returns the comparison (strategies "candidate", "champion" when there is one, the baselines when
    they can be refitted, "buy_and_hold") and the candidate's training report."""
    report, tags, params = _source(reg, candidate)
    if report is None:
        raise ValueError(f"{candidate.label}: no training report (report.json) on its run: the gate needs its "
                         "test window and controls")
    window = out_of_sample_window(report, candidate.run_id)
    bars, info = _bars(data, tags, None, None, candidate.label)
    first, last = rows(bars, window)
    dec = decision_rows(first, last)
    probas, spec = {}, None
    for role, ref in (("candidate", candidate), ("champion", champion)):
        if ref is not None:
            predictor = reg.load(ref)
            spec = spec or predictor.spec
            probas[role] = ("model", model_proba(predictor.net, predictor.spec, bars, dec))
    found, notes = _baselines(candidate, report, tags, params, spec, bars, dec, data)
    probas.update(found)
    exe = engine.execution(cfg, bars, info["period_ms"], info.get("symbol"))
    comp = compare(bars, first, last, probas, cfg, exe, window, _data(info), vol_window=spec.vol_window)
    comp.notes[:0] = notes
    return comp, report


def _data(info: dict) -> dict:
    return {k: info.get(k) for k in ("path", "symbol", "timeframe", "period_ms")}


def log_comparison(mlflow_cfg, comp: Comparison, *, kind: str, name: str, tags: dict | None = None,
                   documents: dict[str, dict] | None = None, plot_dir: Path | None = None) -> str:
    """One MLflow run in the configured experiment: rule and costs as parameters, every strategy's
    metrics (`<strategy>.<metric>`), comparison.json, the `documents` as JSON files and the plots.
    Returns the run id."""
    from hftlab.models import tracking

    mlflow = tracking.import_mlflow()
    experiment_id = tracking.use_experiment(mlflow_cfg)
    doc = comp.to_dict()
    with mlflow.start_run(experiment_id=experiment_id, run_name=name,
                          tags={"hftlab.kind": kind, **(tags or {})}) as run, \
            tempfile.TemporaryDirectory(prefix="hftlab-backtest-") as tmp:
        mlflow.log_params({**tracking.flat_params("rule", doc["rule"]), **tracking.flat_params("costs", doc["costs"]),
                           "window.start": doc["window"]["start"], "window.end": doc["window"]["end"],
                           "window.bars": str(doc["window"]["bars"]), "data.path": str(doc["data"]["path"])})
        mlflow.log_metrics({f"{s}.{k}": float(v) for s, m in comp.table().to_dict("index").items()
                            for k, v in m.items() if isinstance(v, (int, float)) and math.isfinite(v)})
        for fname, content in {"comparison": doc, **(documents or {})}.items():
            path = Path(tmp) / f"{fname}.json"
            path.write_text(json.dumps(content, indent=1, default=json_default))
            mlflow.log_artifact(str(path))
        for png in plots.save_all(comp, plot_dir or Path(tmp) / "plots"):
            mlflow.log_artifact(str(png), artifact_path="plots")
        return run.info.run_id
