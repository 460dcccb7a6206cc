"""The honest report on real OKX candles: models vs baselines per fold, directional skill, IC, after costs.

    hftlab evaluate                       # ../shared/data/okx/candles, BTC/ETH/SOL-USDT-SWAP 5m -> notebooks/results/
    hftlab evaluate --symbols BTC-USDT-SWAP --timeframe 1m --max-rows 6000 --out /tmp/r --json

Each symbol's candles alone, then all of them in one model (a panel; --no-panel skips it): the
attention LSTM beside its baselines (majority class, logistic regression, gradient-boosted trees) on
walk-forward folds, out of sample, with the permuted-label control; per fold, balanced accuracy, the
direction's accuracy where the rule would trade and the information coefficient of P(up) - P(down)
with the forward return; and each model's test predictions traded through the backtest at OKX's costs
(the `backtest` settings: rule, fee tier, swap fees and funding; positions of the whole starting cash,
so a return is the strategy's on its capital) beside buy-and-hold
(hftlab.pipeline.evaluation). Writes <out>/okx-<timeframe>.json and .md (the table the README links);
nothing goes to MLflow. Model settings: the `model` section with the options below on top. Progress
on stderr. Exit 0 when the report was written (whatever it says), 2 for missing data or bad options.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from hftlab.core.config import REPO_ROOT

DATA = REPO_ROOT.parent / "shared" / "data" / "okx" / "candles"
OUT = REPO_ROOT / "notebooks" / "results"


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common
    from hftlab.pipeline.evaluation import SYMBOLS

    add_common(p)
    p.add_argument("--data", type=Path, default=DATA, help="folder of candle files SYMBOL_TIMEFRAME_*.csv[.gz] "
                                                           "(default ../shared/data/okx/candles)")
    p.add_argument("--symbols", nargs="+", default=list(SYMBOLS), metavar="SYMBOL",
                   help=f"instruments (default {' '.join(SYMBOLS)})")
    p.add_argument("--timeframe", default="5m", help="bar size in the file names (default 5m: the three symbols' "
                                                     "8 months of 2022)")
    p.add_argument("--out", type=Path, default=OUT, help="folder for okx-<timeframe>.json and .md "
                                                         "(default notebooks/results)")
    p.add_argument("--no-panel", action="store_true", help="only each symbol alone, not all of them in one model")
    p.add_argument("--max-rows", type=int, default=0, help="only the newest N bars of each series (0: all)")
    p.add_argument("--folds", type=int, default=3, help="walk-forward folds (default 3)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="test block per fold, fraction of the rows")
    p.add_argument("--stride", type=int, default=0, help="train on every k-th window (default: horizon // 2)")
    p.add_argument("--no-permuted-control", action="store_true", help="skip the permuted-label control")
    m = p.add_argument_group("model (default: the model section)")
    for flag, kind in (("--hidden-size", int), ("--num-layers", int), ("--seq-len", int), ("--batch-size", int),
                       ("--max-epochs", int), ("--learning-rate", float), ("--horizon", int),
                       ("--dead-zone-bps", float)):
        m.add_argument(flag, type=kind)
    m.add_argument("--accelerator", choices=["auto", "cpu", "gpu", "cuda", "mps"])
    b = p.add_argument_group("backtest (default: the backtest section)")
    b.add_argument("--threshold", type=float, help="trade when |P(up) - P(down)| exceeds this")
    b.add_argument("--execution", choices=["taker", "maker"])
    b.add_argument("--allow-short", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--json", action="store_true", help="print the report's headline and paths as JSON on stdout")


def run(args) -> int:
    from hftlab.commands.common import load_settings

    settings = load_settings(args)

    def progress(line: str) -> None:
        print(f"hftlab evaluate: {line}", file=sys.stderr, flush=True)

    from hftlab.backtest.config import updated
    from hftlab.backtest.window import iso
    from hftlab.models.barfiles import load_bars
    from hftlab.models.experiment import Options
    from hftlab.pipeline import evaluation
    from hftlab.strategy.config import SizingConfig

    try:
        found = evaluation.find_candles(args.data, args.symbols, args.timeframe)
        cfg = settings.model
        for key in ("hidden_size", "num_layers", "seq_len", "batch_size", "max_epochs", "learning_rate", "horizon",
                    "dead_zone_bps", "accelerator"):
            if getattr(args, key) is not None:
                setattr(cfg, key, getattr(args, key))  # validated (validate_assignment)
        bt = settings.backtest
        # positions of the whole starting cash (1x): returns are the strategy's on its capital, and
        # buy-and-hold's the market's over the same block
        whole = SizingConfig(mode="fixed", notional_usd=bt.init_cash)
        bt = updated(bt, sizing=whole.model_dump(), position_cap_usd=bt.init_cash,
                     **{k: getattr(args, k) for k in ("threshold", "execution", "allow_short")})
        opts = Options(n_folds=args.folds, test_fraction=args.test_fraction, train_stride=args.stride,
                       permuted_control=not args.no_permuted_control, trade_threshold=bt.threshold)
        series, info = [], {}
        for symbol, path in found:
            bars, meta = load_bars(path, symbol=symbol)
            if args.max_rows:
                bars = bars.iloc[-args.max_rows:].reset_index(drop=True)
            info[symbol] = {"file": path.name, "rows": len(bars), "first": iso(int(bars["ts_ms"].iloc[0])),
                            "last": iso(int(bars["ts_ms"].iloc[-1])), "missing_bars": meta.get("missing_bars", 0)}
            series.append((symbol, bars))
            progress(f"{symbol}: {len(bars):,} {args.timeframe} bars from {path}")
    except (ValueError, FileNotFoundError) as e:
        print(f"hftlab evaluate: {e}", file=sys.stderr)
        return 2
    doc = evaluation.evaluate(series, cfg, opts, bt, panel=not args.no_panel, progress=progress,
                              info={"symbols": list(args.symbols), "timeframe": args.timeframe, "series": info})
    command = "hftlab " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["evaluate"] else "hftlab evaluate"
    js, md = evaluation.write(doc, args.out, f"okx-{args.timeframe}", command)
    for line in doc["headline"]:
        progress(line)
    progress(f"wrote {md} and {js}")
    if args.json:
        sys.stdout.write(json.dumps({"headline": doc["headline"], "markdown": str(md), "json": str(js)}) + "\n")
    return 0
