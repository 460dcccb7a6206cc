"""The main job on the embedded default (`make demo`): research to production end to end, offline.

Runs pipelines/research.yaml through papermill: collect market data from the local OKX simulator
(with a planted, learnable signal, an embedded redis-server as the hot cache) -> features -> train
the attention LSTM beside its baselines, with the permuted-label and null-world controls ->
backtest it at OKX's costs (maker orders filled only when the market trades through them) -> the
promotion gate, which makes it `champion` in the local MLflow store (mlruns/) only if its
out-of-sample trades make money after costs (a t-statistic of at least 2), beat its baselines and
the current champion, and both controls passed -> a short live session (the live runner on the
embedded simulator, trading the champion, or with none yet the newest candidate in SHADOW mode).
Progress per step on stderr; at the end, what happened: the gate's decision, the live session's
orders, fills, PnL and tick-to-order latency, and where to look: the executed notebooks
(var/runs/<timestamp>/) and the MLflow UI. About 14 minutes on two busy cores; --quick runs the
notebooks' small defaults (about 3).

Exit 0 when the pipeline ran (whether or not the gate promoted: the output says which and why),
1 when a step failed (naming the notebook and the cell), 2 for invalid options or configuration.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hftlab.core.config import REPO_ROOT

PIPELINE = REPO_ROOT / "pipelines" / "research.yaml"


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--duration", type=float, metavar="S", help="wall seconds of data collection (pipeline: 180)")
    p.add_argument("--quick", action="store_true",
                   help="every notebook with its own small, fast defaults (20 s of data, a tiny model)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="pipeline parameter override, as `hftlab pipeline run` (e.g. -p train.max_epochs=4)")
    p.add_argument("--pipeline", type=Path, default=PIPELINE, help="pipeline file (default pipelines/research.yaml)")


def run(args) -> int:
    from hftlab.commands.common import load_settings
    from hftlab.pipeline.spec import PipelineError, load, parse_overrides, with_overrides

    settings = load_settings(args)
    overrides = list(args.param)
    if args.duration is not None:
        if args.duration <= 0:
            print("hftlab demo: --duration must be > 0 seconds", file=sys.stderr)
            return 2
        overrides.append(f"collect.duration_s={float(args.duration)}")
    try:
        pipe = load(args.pipeline)
        if args.quick:
            pipe = pipe.notebook_defaults()
        pipe = with_overrides(pipe, parse_overrides(overrides))
    except PipelineError as e:
        print("hftlab demo: " + "\n  ".join(["invalid pipeline or parameters:", *e.problems]), file=sys.stderr)
        return 2
    from hftlab.pipeline.runner import run as run_pipeline

    tracking_uri = settings.mlflow.tracking_uri
    print(f"hftlab demo: {' -> '.join(s.name for s in pipe.steps)} on venue {settings.venue.name}, "
          f"MLflow {tracking_uri}", file=sys.stderr, flush=True)
    config = [str(Path(c).resolve()) for c in args.config] if args.config else None
    result = run_pipeline(pipe, settings, config=config)
    print(summary(result, settings, tracking_uri))
    return 130 if result.interrupted else 0 if result.ok else 1


def summary(result, settings, tracking_uri: str) -> str:
    """What the run found, read from the files the notebooks left in the run folder."""
    from hftlab.backtest.report import format_report

    def doc(name: str) -> dict | None:
        path = result.run_dir / name
        return json.loads(path.read_text()) if path.is_file() else None

    lines = ["", "=" * 100]
    if result.interrupted:
        lines += ["the pipeline was INTERRUPTED: stopped cleanly after the step that was running"]
    elif not result.ok:
        lines += [f"the pipeline FAILED: {result.failure}"]
    collected, trained, tested, decision = doc("collect.json"), doc("train.json"), doc("backtest.json"), doc("promote.json")
    session = doc("live.json")
    if collected:
        lines.append(f"data: {collected['bars']} {collected['timeframe']} bars of {collected['symbol']} "
                     f"({collected['market_seconds'] / 60:.0f} market minutes in {collected['duration_s']:g} s, "
                     f"venue {collected['venue']}, signal_strength {collected['signal_strength']:g})")
    if trained:
        lines.append(f"training: run {trained['run_id']}, {trained['model_name']} version {trained['model_version']}")
        lines += [f"  {v}" for v in trained["verdicts"]]
    if tested:
        lines += ["backtest (out of sample, after fees and spread):",
                  *("  " + line for line in format_report(tested).splitlines())]
        model = next((n for n, k in tested["kinds"].items() if k == "model"), None)
        m = tested["metrics"].get(model) if model else None
        if m and m["total_return"] < 0 < m["gross_return"]:
            lines.append(f"  costs turned {model}'s {m['gross_return']:+.2%} before costs into {m['total_return']:+.2%}: "
                         f"{m['n_trades']} round trips at {tested['costs']['fee']:.2%} a fill cost more than the "
                         "signal's edge per trade")
    if decision:
        lines.append(f"gate: {decision['reason']}")
    name = settings.mlflow.model_name
    champion, why = None, ""
    try:
        from hftlab.backtest.registry import Registry

        champion = Registry.from_config(settings.mlflow).alias()
    except Exception as e:  # a run that failed early may leave no readable store
        why = f" (the MLflow store could not be read: {type(e).__name__})"
    lines.append(f"champion: models:/{name}@champion -> version {champion.version} (run {champion.run_id})"
                 if champion else f"champion: none yet{why}: no model has passed the gate")
    if session:
        lines += live_lines(session)
    lines += ["", "where to look next:",
              f"  executed notebooks:  {result.run_dir}/  (jupyter lab {result.run_dir})",
              f"  MLflow UI:           {sys.prefix}/bin/mlflow ui --backend-store-uri {tracking_uri}",
              "  the null world:      hftlab demo -p signal_strength=0   (nothing to find: the gate must refuse)",
              "  again, bigger:       hftlab pipeline run pipelines/research.yaml -p duration_s=600 -p train.max_epochs=12"]
    return "\n".join(lines)


def live_lines(session: dict) -> list[str]:
    """The live step's summary (hftlab.live.runner's, as live.json holds it) in a few lines."""
    model = session["model"]
    who = f"{model['name']} v{model['version']}" if model.get("version") else model["uri"]
    lines = [f"live: {session['elapsed_s']:g} s on {session['venue']}, trading "
             + (f"{who} in SHADOW mode (no champion: the gate has not blessed it, the simulator only)"
                if model["shadow"] else f"the champion {who}")
             + f"; {session['trading_state']}, stopped by {session['stopped_by']}"]
    t2o = session["tick_to_order_us"]
    pnl = session.get("pnl")
    money = ("no PnL snapshot" if not pnl else
             f"PnL {pnl['realised'] + pnl['unrealised'] + pnl['fees']:+.2f} after fees (realised "
             f"{pnl['realised']:+.2f}, unrealised {pnl['unrealised']:+.2f}, fees {pnl['fees']:+.2f}), equity "
             f"{pnl['equity']:,.2f}")
    latency = (f"tick-to-order p50 {t2o['p50']:.0f} us, p99 {t2o['p99']:.0f} us ({t2o['count']} orders)"
               if t2o["count"] else "tick-to-order: no order sent")
    lines.append(f"  {session['orders_submitted']} orders, {session['fills']} fills, positions "
                 f"{session['positions']}; {money}; {latency}")
    checks = [k for k in ("positions_match_venue", "open_orders_match_venue") if session.get(k) is not True]
    if session.get("duplicate_orders"):
        checks.append(f"{session['duplicate_orders']} duplicate orders")
    lines.append("  reconciled with the venue at the end: " + ("positions and open orders match, no duplicates"
                                                               if not checks else "MISMATCH: " + ", ".join(checks)))
    return lines
