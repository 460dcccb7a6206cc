"""The promotion gate: `hftlab promote --candidate RUN_ID|VERSION`.

Backtests the candidate, its baselines and the current champion (`models:/<mlflow.model_name>@champion`)
on the candidate's out-of-sample test block (its training run's last walk-forward test rows) over the
candidate's training bars (or --data, which must cover that block), with the same rule and costs.
The candidate becomes champion only if it was trained on the venue's world (`sim` on the simulator,
`okx` on okx-demo and okx-live) with its provenance recorded, passes the checks (trades, drawdown
bound, the training report's permuted-label and null-world controls, a t of 2 that it makes money
after costs, beating each baseline) and beats the champion by a t-statistic above the margin; the
first model only has to pass the checks (hftlab.backtest.gate). A candidate and a
champion trained on different worlds, symbols, timeframes or feature specs are never compared
("cannot compare"). The decision and its numbers are tagged
on the candidate's version (`promotion.*`) and logged as an MLflow run with the plots.

Exit codes: 0 a decision was made, promoted or not (the output says which and why; `--json`
has `"promoted": true|false`); 2 bad input (unknown run or version, no bars, window not covered,
invalid option or configuration).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hftlab.core.jsonutil import json_default


def add_arguments(p) -> None:
    from hftlab.commands.backtest import add_rule_arguments
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--candidate", required=True, metavar="RUN_ID|VERSION",
                   help="training run id or registered version number of mlflow.model_name")
    p.add_argument("--data", metavar="PATH", help="bars covering the candidate's test block (default: its training bars)")
    g = p.add_argument_group("gate (override the promote settings)")
    g.add_argument("--metric", choices=["trade_t", "psr"],
                   help="the evidence it makes money after costs: t of per-trade net returns, or the probabilistic Sharpe")
    g.add_argument("--min-metric", type=float, help="floor on that statistic (default promote.min_metric: 2 for trade_t)")
    g.add_argument("--margin", type=float, help="beat the champion: t of the per-bar return difference above this")
    g.add_argument("--min-trades", type=int, help="minimum trades in the window")
    g.add_argument("--max-drawdown-pct", type=float, help="drawdown bound in the window, percent")
    p.add_argument("--dry-run", action="store_true", help="decide and log the run, but tag nothing and move no alias")
    p.add_argument("--plots", type=Path, metavar="DIR", help="also save the PNG plots here")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_rule_arguments(p)


def gate_config(base, args):
    from hftlab.backtest.config import updated

    return updated(base, metric=args.metric, margin=args.margin, min_trades=args.min_trades,
                   max_drawdown_pct=args.max_drawdown_pct, min_metric=args.min_metric)


def run(args) -> int:
    from hftlab.commands.common import load_settings

    settings = load_settings(args)
    from hftlab.backtest.promote import promote
    from hftlab.backtest.registry import Registry
    from hftlab.commands.backtest import rule_config

    try:
        bt, gate = rule_config(settings, args)
        gate = gate_config(gate, args)
        print(f"hftlab promote: candidate {args.candidate} ...", file=sys.stderr, flush=True)
        doc = promote(Registry.from_config(settings.mlflow), args.candidate, bt, gate, settings.mlflow,
                      venue_world=settings.venue.world, data=args.data, dry_run=args.dry_run, plot_dir=args.plots)
    except (LookupError, ValueError, FileNotFoundError) as e:
        print(f"hftlab promote: {e}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(doc, default=json_default) + "\n")
    else:
        from hftlab.backtest.report import format_decision

        print(format_decision(doc))
    return 0

