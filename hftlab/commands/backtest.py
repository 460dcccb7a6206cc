"""Backtest one model beside its baselines and buy-and-hold: `hftlab backtest`.

    hftlab backtest --run RUN_ID [--data PATH] [--json]
    hftlab backtest --model models:/hftlab-signal-sim@champion --data bars.parquet --execution maker --fee-tier vip1

The model: `--run` (a training run id) or `--model` (a version number, models:/ or runs:/ URI, or
a model directory). Bars: `--data` (candle CSV or Parquet of bars), default the model's training
bars. Window: `--start`/`--end` (ISO time or Unix ms), default the training run's out-of-sample
test block when the bars cover it, else the whole file. Rule and costs: the `backtest` settings
(hftlab.backtest.config.BacktestConfig) with the options below on top. The result is also an MLflow
run (kind `backtest`) with the plots, unless --no-log. Exit 0 done, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from hftlab.core.jsonutil import json_default


def add_rule_arguments(p) -> None:
    """Options overriding the backtest settings (shared with `hftlab promote`)."""
    from hftlab.backtest.fees import TIERS

    g = p.add_argument_group("signal rule and costs (override the backtest settings)")
    g.add_argument("--threshold", type=float, help="go long when P(up) - P(down) exceeds this")
    g.add_argument("--exit-threshold", type=float, help="leave when the edge falls below this (default: threshold)")
    g.add_argument("--allow-short", action="store_true", default=None, help="also short (swaps)")
    g.add_argument("--execution", choices=["taker", "maker"],
                   help="taker (next open + half spread, taker fee) or maker (post-only at the touch, filled only when "
                        "the market trades through it, maker fee)")
    g.add_argument("--fee-tier", choices=list(TIERS), help="OKX fee tier (default backtest.fee_tier, regular)")
    g.add_argument("--latency-ms", type=float, help="decision to venue (each started bar delays an order one bar)")
    g.add_argument("--touch-fill", type=float, help="share of a maker order filled when the market only touches it")
    g.add_argument("--slippage-bps", type=float, help="half-spread per fill when the bars carry no spread_bps")
    g.add_argument("--stop-loss-pct", type=float, help="stop-loss below the fill price (0: none; default risk.stop_loss_pct)")


def rule_config(settings, args):
    """(BacktestConfig, PromoteConfig) of the settings with the command-line overrides applied."""
    from hftlab.backtest.config import updated

    bt, gate = settings.backtest, settings.promote
    bt = updated(bt, threshold=args.threshold, exit_threshold=args.exit_threshold, allow_short=args.allow_short,
                 execution=args.execution, fee_tier=args.fee_tier, latency_ms=args.latency_ms,
                 touch_fill=args.touch_fill, slippage_bps=args.slippage_bps, stop_loss_pct=args.stop_loss_pct)
    return bt, gate


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--run", metavar="RUN_ID", help="training run id (its registered model)")
    who.add_argument("--model", metavar="URI", help="version number, models:/ or runs:/ URI, or model directory")
    p.add_argument("--data", metavar="PATH", help="bars: candle CSV(.gz) or Parquet (default: the training bars)")
    p.add_argument("--symbol", help="series of a multi-series Parquet (default: the training run's)")
    p.add_argument("--timeframe", help="series of a multi-series Parquet (default: the training run's)")
    p.add_argument("--start", help="window start: ISO time (UTC) or Unix ms")
    p.add_argument("--end", help="window end: ISO time (UTC) or Unix ms")
    p.add_argument("--no-baselines", action="store_true", help="skip refitting the run's baselines")
    p.add_argument("--plots", type=Path, metavar="DIR", help="also save the PNG plots here")
    p.add_argument("--no-log", action="store_true", help="do not record the backtest as an MLflow run")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_rule_arguments(p)


def parse_time(text: str) -> int:
    """Unix ms, or an ISO time (UTC unless it says otherwise)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (ISO such as 2026-01-05T12:00:00Z, or Unix ms)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def run(args) -> int:
    from hftlab.commands.common import load_settings

    settings = load_settings(args)
    try:
        return _run(args, settings)
    except (LookupError, ValueError, FileNotFoundError) as e:
        print(f"hftlab backtest: {e}", file=sys.stderr)
        return 2


def _run(args, settings) -> int:
    from hftlab.backtest.registry import Registry
    from hftlab.backtest.runner import backtest, log_comparison
    from hftlab.backtest.window import Window

    bt, _gate = rule_config(settings, args)
    window = None
    if args.start or args.end:
        if not (args.start and args.end):
            raise ValueError("give both --start and --end (or neither)")
        window = Window(parse_time(args.start), parse_time(args.end), "--start/--end")
    reg = Registry.from_config(settings.mlflow)
    ref = reg.resolve(args.run or args.model)
    print(f"hftlab backtest: {ref.label} ...", file=sys.stderr, flush=True)
    comp = backtest(reg, ref, bt, data=args.data, window=window, symbol=args.symbol,
                    timeframe=args.timeframe, baselines=not args.no_baselines)
    doc = {"model": {"uri": ref.uri, "name": ref.name, "version": ref.version, "run_id": ref.run_id}, **comp.to_dict()}
    if args.plots:
        from hftlab.backtest.plots import save_all

        doc["plots"] = [str(p) for p in save_all(comp, args.plots)]
    if not args.no_log:
        doc["mlflow_run_id"] = log_comparison(settings.mlflow, comp, kind="backtest", name=f"backtest-{ref.label}",
                                              tags={"hftlab.model": ref.uri})
    if args.json:
        sys.stdout.write(json.dumps(doc, default=json_default) + "\n")
    else:
        from hftlab.backtest.report import format_report

        print(format_report(doc))
    return 0

