"""Train the signal model, evaluate it beside baselines out of sample, log and register it in MLflow.

    hftlab train --data ../shared/data/okx/candles/BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv --json

--data takes candles in any layout of hftlab.models.barfiles: a CSV(.gz) with hftlab's columns
(ts_ms,open,high,low,close,volume), their common variants (timestamp/time/date, o/h/l/c, vol) or OKX's
own (ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm, newest first or oldest first), OKX's REST answer of
/market/history-candles as JSON (or one answer per line, .jsonl), or a Parquet of bars. Gaps become
NaN rows: windows spanning one are left out, and the count is in the summary (data.missing_bars).
Repeat --data for a panel: several series (BTC-, ETH- and SOL-USDT-SWAP, the seed's symbols) in one
model, each split walk-forward on its own rows, judged together and per series (summary `series`);
the version's symbol is theirs joined by '+'. Without --data the bars come from the simulator
(venue.sim.seed, venue.sim.signal_strength, --sim-data-seconds of 1 s bars). Model settings come
from the `model` section of the config, MLflow's from `mlflow` (HFTLAB__MLFLOW__TRACKING_URI=
sqlite:////tmp/x.db points it elsewhere).
Progress goes to stderr (Lightning's bar per epoch); --json prints one JSON summary on stdout.
Controls: the permuted-label control, the null-world control (hftlab.backtest.controls: the same
pipeline, rule and costs where nothing is predictable must not pass; the gate requires both), and
with --sim-controls the simulator's chance controls. Exit 0 when the run completed and every
control passed, 1 when a control failed, 2 on bad input or configuration.

Worlds. Every version records whose market its data shows (`sim` or `okx`), the venue when known,
the symbol, the timeframe and its feature-spec hash, as MLflow tags (hftlab.models.provenance),
because a model only competes with, and only trades on, its own world. The data's world:
simulator bars (no --data) are `sim`; a Parquet records its own (the research pipeline writes it
into bars.parquet's metadata); a candle CSV is external OKX market data, `okx`, unless
--data-world says otherwise (a CSV you made from the simulator). The version is registered into
`mlflow.model_name`, the configured venue's registry (hftlab-signal-sim on the simulator,
hftlab-signal-okx on okx-demo and okx-live); when the data's world is not the venue's, the run
still registers it and says, on stderr and in the --json summary's `warnings`, that the gate will
refuse it as champion there.
"""

from __future__ import annotations

import json
import logging
import sys

from hftlab.models.provenance import WORLDS

WORLD_HELP = ("The version records the data's world (sim: the simulator's market, okx: OKX's), venue, symbol, "
              "timeframe and feature-spec hash. Simulator bars (no --data) are sim; a Parquet from the research "
              "pipeline records its world; a candle CSV is okx. The version goes into mlflow.model_name (the "
              "configured venue's registry: hftlab-signal-sim or hftlab-signal-okx); when the data's world is not "
              "the venue's, a warning (stderr and --json) says the gate will refuse it as champion there.")


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--data", metavar="PATH", action="append",
                   help="candles: CSV(.gz), OKX JSON (.json/.jsonl) or Parquet (default: simulator bars); repeat it "
                        "for a panel: several series (e.g. BTC-, ETH-, SOL-USDT-SWAP) in one model, judged per series")
    g = p.add_argument_group("data world", WORLD_HELP)
    g.add_argument("--data-world", choices=WORLDS,
                   help="whose market --data shows: a candle CSV is okx unless this says sim; a Parquet records "
                        "its own (this may not contradict it) or needs this")
    p.add_argument("--symbol", help="instrument (picks a series from a Parquet; names the run)")
    p.add_argument("--timeframe", help="bar timeframe, e.g. 1m (picks a series from a Parquet; names the run)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--folds", type=int, default=3, help="walk-forward folds (default 3)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="test block per fold, fraction of the bars")
    p.add_argument("--stride", type=int, default=0, help="train on every k-th window (default: horizon // 2)")
    p.add_argument("--max-rows", type=int, default=0, help="use only the newest N bars (0: all)")
    p.add_argument("--no-permuted-control", action="store_true", help="skip the permuted-label control")
    p.add_argument("--no-null-world", action="store_true",
                   help="skip the null-world control (the same pipeline where nothing is predictable: the simulator "
                        "at signal 0 for simulator bars, the bars shuffled otherwise); the gate requires it")
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
    from hftlab.models.barfiles import data_world, load_bars, load_panel
    from hftlab.models.train import SimControls, train

    try:
        opts = Options(n_folds=args.folds, test_fraction=args.test_fraction, train_stride=args.stride,
                       permuted_control=not args.no_permuted_control)
        if args.data and len(args.data) > 1:
            bars, source = load_panel(args.data, world=args.data_world, timeframe=args.timeframe)
            if args.symbol:
                raise ValueError("--symbol picks one series from one file; a panel's symbols come from its files")
        elif args.data:
            bars, source = load_bars(args.data[0], symbol=args.symbol, timeframe=args.timeframe)
            source["world"] = data_world(source, args.data_world)
        elif args.data_world:
            raise ValueError("--data-world describes --data (simulator bars are the sim world)")
        else:
            from hftlab.models.sanity import sim_bars

            sim_cfg = settings.venue.sim
            symbol = args.symbol or "BTC-USDT"
            log.info("no --data: simulating %d s of %s (seed %d, signal_strength %g)", args.sim_data_seconds,
                     symbol, sim_cfg.seed, sim_cfg.signal_strength)
            bars = sim_bars(seed=sim_cfg.seed, signal_strength=sim_cfg.signal_strength,
                            seconds=args.sim_data_seconds, inst_id=symbol)
            source = {"path": "simulator", "symbol": symbol, "timeframe": "1s", "world": "sim", "venue": "sim",
                      "signal_strength": sim_cfg.signal_strength, "seed": sim_cfg.seed}
        if args.max_rows:
            def newest(b):
                return b.iloc[-args.max_rows:].reset_index(drop=True)

            bars = [(n, newest(b)) for n, b in bars] if isinstance(bars, list) else newest(bars)
        controls = {}
        if not args.no_null_world:
            from hftlab.backtest.controls import NullWorld

            controls["null_world"] = NullWorld.for_data(settings.backtest, settings.promote, source, bars)
        summary = train(bars, settings.model, settings.mlflow, venue_world=settings.venue.world, source=source,
                        options=opts, sim=SimControls(seconds=args.sim_controls, signal_strength=args.sim_strength),
                        controls=controls, progress=not args.no_progress and sys.stderr.isatty())
    except (ValueError, FileNotFoundError) as e:
        print(f"hftlab train: {e}", file=sys.stderr)
        return 2
    if summary is None:  # a DDP rank other than 0
        return 0
    for warning in summary["warnings"]:
        print(f"hftlab train: {summary['model_name']} version {summary['model_version']} {warning}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
    else:
        print(f"run {summary['run_id']}: {summary['model_name']} version {summary['model_version']}")
        for line in summary["verdicts"]:
            print(f"  {line}")
    return 0 if all(c["passed"] for c in summary["controls"].values()) else 1
