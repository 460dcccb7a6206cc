"""Train the signal model, evaluate it beside baselines out of sample, log and register it in MLflow.

    hftlab train --data ../shared/data/okx/candles/BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv --json

--data takes a candle CSV(.gz) (ts_ms,date,open,high,low,close,volume) or a Parquet of bars.
Without --data the bars come from the simulator (venue.sim.seed, venue.sim.signal_strength,
--sim-data-seconds of 1 s bars). Model settings come from the `model` section of the config,
MLflow's from `mlflow` (HFTLAB__MLFLOW__TRACKING_URI=sqlite:////tmp/x.db points it elsewhere).
Progress goes to stderr (Lightning's bar per epoch); --json prints one JSON summary on stdout.
Exit 0 when the run completed and every sanity control passed, 1 when a control failed, 2 on bad
input or configuration.
"""

from __future__ import annotations

import json
import logging
import sys


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--data", metavar="PATH", help="candle CSV(.gz) or Parquet of bars (default: simulator bars)")
    p.add_argument("--symbol", help="instrument (picks a series from a Parquet; names the run)")
    p.add_argument("--timeframe", help="bar timeframe, e.g. 1m (picks a series from a Parquet; names the run)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--folds", type=int, default=3, help="walk-forward folds (default 3)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="test block per fold, fraction of the bars")
    p.add_argument("--stride", type=int, default=0, help="train on every k-th window (default: horizon // 2)")
    p.add_argument("--max-rows", type=int, default=0, help="use only the newest N bars (0: all)")
    p.add_argument("--no-permuted-control", action="store_true", help="skip the permuted-label control")
    p.add_argument("--sim-controls", type=int, default=14_400, metavar="SECONDS",
                   help="simulator controls (signal 0 and --sim-strength) on this many seconds of 1 s bars "
                        "(default 4 h; 0 skips them)")
    p.add_argument("--sim-strength", type=float, default=1.0, help="signal_strength of the planted-signal control")
    p.add_argument("--sim-data-seconds", type=int, default=14_400,
                   help="without --data: seconds of simulated 1 s bars to train on (default 4 h)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from hftlab.commands.common import load_settings

    settings = load_settings(args)
    log = logging.getLogger("hftlab.models")
    from hftlab.models.experiment import Options
    from hftlab.models.train import SimControls, load_bars, train

    try:
        opts = Options(n_folds=args.folds, test_fraction=args.test_fraction, train_stride=args.stride,
                       permuted_control=not args.no_permuted_control)
        if args.data:
            bars, source = load_bars(args.data, symbol=args.symbol, timeframe=args.timeframe)
        else:
            from hftlab.models.sanity import sim_bars

            sim_cfg = settings.venue.sim
            symbol = args.symbol or "BTC-USDT"
            log.info("no --data: simulating %d s of %s (seed %d, signal_strength %g)", args.sim_data_seconds,
                     symbol, sim_cfg.seed, sim_cfg.signal_strength)
            bars = sim_bars(seed=sim_cfg.seed, signal_strength=sim_cfg.signal_strength,
                            seconds=args.sim_data_seconds, inst_id=symbol)
            source = {"path": "simulator", "symbol": symbol, "timeframe": "1s",
                      "signal_strength": sim_cfg.signal_strength, "seed": sim_cfg.seed}
        if args.max_rows:
            bars = bars.iloc[-args.max_rows:].reset_index(drop=True)
        summary = train(bars, settings.model, settings.mlflow, source=source, options=opts,
                        sim=SimControls(seconds=args.sim_controls, signal_strength=args.sim_strength),
                        progress=not args.no_progress and sys.stderr.isatty())
    except (ValueError, FileNotFoundError) as e:
        print(f"hftlab train: {e}", file=sys.stderr)
        return 2
    if summary is None:  # a DDP rank other than 0
        return 0
    if args.json:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
    else:
        print(f"run {summary['run_id']}: {summary['model_name']} version {summary['model_version']}")
        for line in summary["verdicts"]:
            print(f"  {line}")
    return 0 if all(c["passed"] for c in summary["controls"].values()) else 1
