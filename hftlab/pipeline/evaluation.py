"""The honest report on real candles (`hftlab evaluate`): every model beside its baselines, per fold,
in direction and after costs, for each symbol alone and for the symbols together in one model.

    series = find_candles(data_dir, symbols, "5m")        # [(symbol, path)]
    doc = evaluate(loaded, model_cfg, options, backtest_cfg, progress=print)
    paths = write(doc, out_dir, stem)                      # <stem>.json, <stem>.md

A run is one model trained on one series, or on all of them (a panel: hftlab.models.data.
prepare_panel, each series split walk-forward on its own rows). For each run:

1. hftlab.models.experiment.run_experiment: walk-forward folds; the LSTM and the baselines (majority
   class, logistic regression on window means, gradient-boosted trees on the latest bar's features)
   fitted on the same samples and judged out of sample, per fold: balanced accuracy (three classes,
   chance 1/3), the accuracy of the direction sign(P(up) - P(down)) on the bars where the rule would
   trade, and the information coefficient (Spearman) of that edge with the forward return; and the
   permuted-label control (fitted to shuffled training labels, no model may recover a material part of
   its real skill: hftlab.models.evaluate.permuted_verdict).
2. every model's test predictions of every fold traded through the backtest
   (hftlab.backtest.compare.compare_fold: the signal rule, the sizing and the OKX costs of the
   `backtest` settings, swap fees and funding for -SWAP names, the exit of a position still open
   at the end), beside buy-and-hold on the same bars.

The headline of every figure is its mean over the folds with their spread, never the pooled value
(one good fold would hide the bad ones). Nothing is logged or registered: this is a report, not a
candidate for the gate. Whatever it says is the result.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

SYMBOLS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP")
PANEL = "panel"
ALONE = "alone"
SKILL = ("balanced_accuracy", "directional_accuracy", "traded", "ic")
MONEY = ("total_return", "gross_return", "n_trades", "trade_mean_bps", "trade_t", "sharpe", "max_drawdown_pct")


def find_candles(data_dir: Path | str, symbols: Sequence[str], timeframe: str) -> list[tuple[str, Path]]:
    """(symbol, file) of each symbol's candles in `data_dir` (files named SYMBOL_TIMEFRAME_*.csv[.gz],
    as in ../shared/data/okx/candles); FileNotFoundError naming what is missing."""
    data_dir = Path(data_dir)
    found, missing = [], []
    for symbol in symbols:
        paths = sorted(data_dir.glob(f"{symbol}_{timeframe}_*.csv*"))
        if paths:
            found.append((symbol, paths[-1]))
        else:
            missing.append(symbol)
    if missing:
        have = sorted(p.name for p in data_dir.glob("*.csv*")) if data_dir.is_dir() else []
        raise FileNotFoundError(f"no {timeframe} candles of {', '.join(missing)} in {data_dir} (files "
                                f"SYMBOL_{timeframe}_*.csv[.gz]; found: {', '.join(have) or 'none'})")
    return found


def _fold_span(ts: np.ndarray, ends: np.ndarray) -> dict:
    from hftlab.backtest.window import iso

    return {"test_start": iso(int(ts[ends[0]])), "test_end": iso(int(ts[ends[-1]])), "samples": int(ends.size)}


def evaluate_run(name: str, series: Sequence[tuple[str, pd.DataFrame]], cfg, options, backtest_cfg, *,
                 progress: Callable[[str], None] = lambda _s: None) -> dict:
    """One model on `series` (one (symbol, bars), or several: a panel), judged per fold and per series."""
    from hftlab.backtest.compare import BUY_AND_HOLD, compare_fold
    from hftlab.models.data import default_spec, prepare, prepare_panel
    from hftlab.models.experiment import LSTM, run_experiment, skill

    t0 = time.perf_counter()
    spec = default_spec(series[0][1])
    if len(series) > 1:
        prep = prepare_panel(series, spec, cfg.horizon, cfg.dead_zone_bps)
    else:
        prep = prepare(series[0][1], spec, cfg.horizon, cfg.dead_zone_bps)
    progress(f"{name}: {len(series)} series, {prep.n_rows:,} rows, {options.n_folds} folds: training ...")
    out = run_experiment(prep, cfg, options)
    kinds = {m: "model" if m == LSTM else "baseline" for m in out.predictions[0]["probas"]}
    folds = []
    for k, pred in enumerate(out.predictions):
        comps = compare_fold(series, prep.parts, pred, kinds, backtest_cfg, vol_window=spec.vol_window,
                             what=f"fold {k} test block")
        by_series = {}
        for s, (symbol, _bars) in enumerate(series):
            mask = np.asarray(pred["series"]) == s
            if not mask.any() or symbol not in comps:
                continue
            comp = comps[symbol]
            models = {}
            for m, p in pred["probas"].items():
                sk = skill(pred["y"][mask], pred["forward"][mask], np.asarray(p)[mask], options.trade_threshold)
                money = comp.strategies[m].metrics
                models[m] = {**{key: sk[key] for key in SKILL}, **{key: money[key] for key in MONEY}}
            bh = comp.strategies[BUY_AND_HOLD].metrics
            by_series[symbol] = {**_fold_span(prep.ts_ms, np.asarray(pred["ends"])[mask]),
                                 "window_bars": len(comp.bars), "models": models,
                                 BUY_AND_HOLD: {key: bh[key] for key in MONEY}}
        folds.append({"fold": k, "series": by_series})
        lstm = {s: f"{v['models'][LSTM]['total_return']:+.2%}" for s, v in by_series.items()}
        progress(f"{name}: fold {k + 1}/{len(out.predictions)} backtested (LSTM after costs: "
                 + ", ".join(f"{s} {r}" for s, r in lstm.items()) + ")")
    control = out.report["controls"].get("permuted_labels")
    return {
        "name": name,
        "training": PANEL if len(series) > 1 else ALONE,
        "series": [s for s, _b in series],
        "rows": prep.n_rows,
        "windows_excluded": out.report["data"]["windows_excluded"],
        "label_rates": out.report["data"]["label_rates"],
        "folds": folds,
        "permuted_labels": None if control is None else {
            "passed": control["passed"], "what": control["what"],
            "models": {m: {k: v[k] for k in ("balanced_accuracy", "real_balanced_accuracy", "p_greater", "leaks",
                                               "pred_rate", "true_rate")} for m, v in control["models"].items()}},
        "lstm_training": out.report["lstm_training"],
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }


def evaluate(series: Sequence[tuple[str, pd.DataFrame]], cfg, options, backtest_cfg, *, panel: bool = True,
             info: dict | None = None, progress: Callable[[str], None] = lambda _s: None) -> dict:
    """Each series alone, then (with `panel` and more than one series) all of them in one model."""
    runs = [evaluate_run(symbol, [(symbol, bars)], cfg, options, backtest_cfg, progress=progress)
            for symbol, bars in series]
    if panel and len(series) > 1:
        runs.append(evaluate_run(PANEL, list(series), cfg, options, backtest_cfg, progress=progress))
    doc = {
        "data": info or {},
        "settings": {
            "model": {k: getattr(cfg, k) for k in ("hidden_size", "num_layers", "seq_len", "batch_size", "max_epochs",
                                                   "learning_rate", "horizon", "dead_zone_bps", "seed")},
            "evaluation": {k: getattr(options, k) for k in ("n_folds", "test_fraction", "val_fraction",
                                                            "trade_threshold", "permuted_control")},
            "backtest": {k: getattr(backtest_cfg, k) for k in ("threshold", "exit_threshold", "allow_short",
                                                               "execution", "fee_tier", "funding_rate_8h",
                                                               "stop_loss_pct", "latency_ms")},
            "sizing": _sizing(backtest_cfg),
        },
        "runs": runs,
    }
    doc["table"] = table(doc)
    doc["headline"] = headline(doc)
    return doc


def _sizing(backtest_cfg) -> str:
    s = backtest_cfg.sizing_or_default
    cap = backtest_cfg.position_cap_usd
    if s.mode == "fixed":
        return f"{min(s.notional_usd, cap):,.0f} USD (starting cash {backtest_cfg.init_cash:,.0f})"
    return (f"up to {min(s.notional_usd, cap):,.0f} USD scaled by conviction "
            f"(starting cash {backtest_cfg.init_cash:,.0f})")


def _summary(values) -> dict:
    from hftlab.models.evaluate import fold_summary

    return fold_summary([v if v is not None else math.nan for v in values])


def table(doc: dict) -> list[dict]:
    """One row per (series, training, model) and one for buy-and-hold per series: each statistic's
    per-fold values with their mean and spread (hftlab.models.evaluate.fold_summary)."""
    from hftlab.backtest.compare import BUY_AND_HOLD

    rows, held = [], set()
    for run in doc["runs"]:
        for symbol in run["series"]:
            folds = [f["series"][symbol] for f in run["folds"] if symbol in f["series"]]
            if not folds:
                continue
            for model in folds[0]["models"]:
                stats = {k: _summary([f["models"][model][k] for f in folds]) for k in (*SKILL, *MONEY)}
                rows.append({"symbol": symbol, "training": run["training"], "model": model, **stats})
            if symbol not in held:  # the test blocks of one series are the same alone and in the panel
                held.add(symbol)
                rows.append({"symbol": symbol, "training": "-", "model": BUY_AND_HOLD,
                             **{k: _summary([f[BUY_AND_HOLD][k] for f in folds]) for k in MONEY}})
    return rows


def _mean(row: dict, key: str) -> float:
    return row[key]["mean"] if key in row else math.nan


def headline(doc: dict) -> list[str]:
    """Per series: the LSTM trained on it alone beside its best baseline, in direction and after
    costs, and buy-and-hold; then how many (series, training, model) cells made money after costs in
    every fold."""
    from hftlab.backtest.compare import BUY_AND_HOLD
    from hftlab.models.experiment import LSTM

    rows = doc["table"]
    lines = []
    for symbol in dict.fromkeys(r["symbol"] for r in rows):
        mine = [r for r in rows if r["symbol"] == symbol]
        lstm = next((r for r in mine if r["model"] == LSTM and r["training"] == ALONE), None)
        panel = next((r for r in mine if r["model"] == LSTM and r["training"] == PANEL), None)
        bases = [r for r in mine if r["training"] == ALONE and r["model"] not in (LSTM, BUY_AND_HOLD)]
        bh = next(r for r in mine if r["model"] == BUY_AND_HOLD)
        if lstm is None:
            continue
        best = max(bases, key=lambda r: _mean(r, "balanced_accuracy"), default=None)
        text = (f"{symbol}: LSTM balanced accuracy {_fmt(lstm['balanced_accuracy'], '.3f')} (chance 0.333"
                + (f"; best baseline {best['model']} {_fmt(best['balanced_accuracy'], '.3f')}" if best else "")
                + f"), direction where it trades {_fmt(lstm['directional_accuracy'], '.3f')}, "
                f"IC {_fmt(lstm['ic'], '+.3f')}; after costs {_fmt(lstm['total_return'], '+.2%')} a fold "
                f"({_fmt(lstm['n_trades'], '.0f')} trades)")
        if panel is not None:
            text += f", trained on the panel {_fmt(panel['total_return'], '+.2%')}"
        text += f"; buy-and-hold {_fmt(bh['total_return'], '+.2%')}"
        lines.append(text)
    cells = [r for r in rows if r["model"] != BUY_AND_HOLD]
    paid = [r for r in cells if r["total_return"]["folds"] and all(v > 0 for v in r["total_return"]["folds"])]
    lines.append(f"{len(paid)} of {len(cells)} (series, training, model) cells made money after costs in every fold"
                 + (": " + ", ".join(f"{r['symbol']} {r['training']} {r['model']}" for r in paid) if paid else ""))
    return lines


def _fmt(s: dict, spec: str) -> str:
    mean, std = s["mean"], s["std"]
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:{spec}}" + (f" ± {abs(std):{spec.lstrip('+')}}" if math.isfinite(std) else "")


def markdown(doc: dict, command: str) -> str:
    """The results table as Markdown: the headline, the settings, one row per (series, training,
    model) with every fold's figures and their mean ± spread."""
    from hftlab.backtest.compare import BUY_AND_HOLD

    def folds(s: dict, spec: str) -> str:
        vals = ", ".join("n/a" if not math.isfinite(v) else f"{v:{spec}}" for v in s["folds"])
        return f"{_fmt(s, spec)} ({vals})"

    st = doc["settings"]
    out = [f"# Results on real OKX data: {', '.join(doc['data'].get('symbols', []))} "
           f"{doc['data'].get('timeframe', '')} candles", "",
           f"Written by `{command}` (hftlab/pipeline/evaluation.py). Every figure is out of sample: "
           "walk-forward folds, each model trained on the older rows and tested on the fold's newest block; "
           "each cell is the mean over the folds ± their standard deviation, the folds' own values in brackets.", "",
           "## Headline", "", *[f"- {line}" for line in doc["headline"]], "", "## Data", ""]
    for symbol, d in doc["data"].get("series", {}).items():
        out.append(f"- {symbol}: `{d['file']}`, {d['rows']:,} bars {d['first']} .. {d['last']}"
                   f"{', ' + str(d['missing_bars']) + ' missing' if d.get('missing_bars') else ', no gaps'}")
    m, e, b = st["model"], st["evaluation"], {**st["backtest"], "sizing": st["sizing"]}
    out += ["", "## Settings", "",
            f"- model: attention LSTM, hidden {m['hidden_size']} x {m['num_layers']} layer(s), {m['seq_len']}-bar "
            f"windows, up to {m['max_epochs']} epochs (early-stopped on validation), "
            f"learning rate {m['learning_rate']}, "
            f"seed {m['seed']}; labels: the sign of the {m['horizon']}-bar forward return beyond a "
            f"{m['dead_zone_bps']} bp dead zone (down / flat / up)",
            f"- evaluation: {e['n_folds']} walk-forward folds, test block {e['test_fraction']:.0%} of the rows each, "
            f"directional skill where |P(up) - P(down)| > {e['trade_threshold']}; permuted-label control "
            f"{'on' if e['permuted_control'] else 'off'}",
            f"- backtest: long when P(up) - P(down) > {b['threshold']}"
            + (", short below its negative" if b["allow_short"] else ", long only")
            + (f", exit at {b['exit_threshold']}" if b["exit_threshold"] is not None else "")
            + f"; {b['execution']} fills at OKX's {b['fee_tier']} tier fees for the instrument (swaps: 0.02% maker, "
              f"0.05% taker), funding {b['funding_rate_8h']:.4%} per 8 h on swaps, stop-loss {b['stop_loss_pct']}%, "
              f"latency {b['latency_ms']:g} ms; positions of {b['sizing']}; an open position pays its exit at the end; "
              "returns on the starting cash",
            "", "## Per model", "",
            "| symbol | trained on | model | balanced accuracy | direction where traded | traded | IC | net return "
            "after costs | trades | net bp a trade | trade t |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["table"]:
        if r["model"] == BUY_AND_HOLD:
            out.append(f"| {r['symbol']} | - | buy and hold | | | | | {folds(r['total_return'], '+.2%')} | | | |")
            continue
        out.append(f"| {r['symbol']} | {r['training']} | {r['model']} | {folds(r['balanced_accuracy'], '.3f')} | "
                   f"{folds(r['directional_accuracy'], '.3f')} | {_fmt(r['traded'], '.0%')} | "
                   f"{folds(r['ic'], '+.3f')} | {folds(r['total_return'], '+.2%')} | {_fmt(r['n_trades'], '.0f')} | "
                   f"{_fmt(r['trade_mean_bps'], '+.1f')} | "
                   f"{folds(r['trade_t'], '+.2f')} |")
    out += ["", "## Controls and folds", ""]
    for run in doc["runs"]:
        c = run["permuted_labels"]
        spans = "; ".join(f"fold {f['fold']}: " + ", ".join(f"{s} {v['test_start'][:10]}..{v['test_end'][:10]}"
                                                          for s, v in f["series"].items()) for f in run["folds"])
        verdict = "not run" if c is None else "PASSED" if c["passed"] else "FAILED"
        if c is not None:
            verdict += (" (fitted to shuffled labels vs to the true ones, balanced accuracy on the last test "
                        "block: ") + ", ".join(
                f"{m} {v['balanced_accuracy']:.3f} vs {v['real_balanced_accuracy']:.3f}"
                + (f", predicting down/flat/up {_rates(v['pred_rate'])} where the labels are {_rates(v['true_rate'])}"
                   if v["leaks"] else "") + (" LEAKS" if v["leaks"] else "")
                for m, v in c["models"].items()) + ")"
        out.append(f"- {run['name']} ({run['training']}, {run['rows']:,} rows, {run['windows_excluded']} windows "
                   f"excluded for gaps, {run['elapsed_s']:.0f} s): permuted-label control {verdict}; "
                   f"test blocks {spans}")
    return "\n".join(out) + "\n"


def _rates(r) -> str:
    return "/".join(f"{x:.0%}" for x in r) if r else "n/a"


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _finite(o):
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def write(doc: dict, out_dir: Path | str, stem: str, command: str) -> tuple[Path, Path]:
    """<out_dir>/<stem>.json (the whole report) and <stem>.md (the table)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    js.write_text(json.dumps(_finite({"command": command, **doc}), indent=1, default=_json_default) + "\n")
    md.write_text(markdown(doc, command))
    return js, md
