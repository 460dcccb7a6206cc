"""The `hftlab` command.

Each subcommand lives in its own module with `add_arguments(parser)` and `run(args) -> int`; only
the module of the command being run is imported, so `hftlab --help` and light commands stay fast.
Exit codes: 0 success, 1 the command ran and found a failure, 2 bad usage or invalid configuration.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("hftlab.commands.config", "validate configuration files (exit 2 naming every bad field)"),
    "redis": ("hftlab.commands.redis", "run the embedded redis-server in the foreground"),
    "bench": ("hftlab.commands.bench", "run a named benchmark (--json for one JSON object)"),
    "soak": ("hftlab.commands.soak", "load ramp and soak under faults: invalid books, lost orders, recovery (--json)"),
    "sim": ("hftlab.commands.sim", "run the local OKX v5 exchange until interrupted"),
    "collect": ("hftlab.commands.collect", "collect OKX market data to Parquet and Redis"),
    "replay": ("hftlab.commands.replay", "replay recorded frames through the parser and book engine"),
    "status": ("hftlab.commands.status", "terminal dashboard of a running collector or live runner (from Redis)"),
    "train": ("hftlab.commands.train", "train the signal model, evaluate beside baselines, register in MLflow"),
    "evaluate": ("hftlab.commands.evaluate", "the honest report on real OKX candles: models vs baselines per fold, "
                                             "direction, IC, after costs"),
    "backtest": ("hftlab.commands.backtest", "backtest a registered model beside buy-and-hold and the baselines"),
    "promote": ("hftlab.commands.promote", "promote a candidate to champion only if it wins the same backtest"),
    "pipeline": ("hftlab.commands.pipeline", "run a papermill pipeline of notebooks (pipelines/*.yaml)"),
    "live": ("hftlab.commands.live", "trade the champion through the risk engine (python -m hftlab.live)"),
    "kill": ("hftlab.commands.kill", "halt a running live runner, cancel every order with our tag, optionally flatten"),
    "demo": ("hftlab.commands.demo", "the main job on the embedded default (make demo)"),
}

log = logging.getLogger("hftlab")


def _top_help() -> str:
    width = max(len(n) for n in COMMANDS)
    rows = "\n".join(f"  {n:<{width}}  {h}" for n, (_m, h) in COMMANDS.items())
    return (
        "usage: hftlab COMMAND [options]\n\n"
        "hftlab — OKX high-frequency research-to-production workbench\n\n"
        f"commands:\n{rows}\n\n"
        "`hftlab COMMAND --help` describes a command's options."
    )


def build_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"hftlab {name}", description=(module.__doc__ or help_text).strip().split("\n\n")[0])
    module.add_arguments(parser)
    return parser, module


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_top_help())
        return 0 if argv else 2
    name = argv[0]
    if name not in COMMANDS:
        print(f"hftlab: unknown command {name!r}\n\n{_top_help()}", file=sys.stderr)
        return 2
    parser, module = build_parser(name)
    if getattr(module, "PASS_THROUGH_OPTIONS", False):
        # e.g. `hftlab bench cache --json --events 1000`: unknown options go to the benchmark itself
        args, extra = parser.parse_known_args(argv[1:])
        args.extra = [a for a in extra if a != "--"]
    else:
        args = parser.parse_args(argv[1:])
    from hftlab.core.config import ConfigError

    try:
        return int(module.run(args) or 0)
    except ConfigError as e:
        print(f"hftlab {name}: invalid configuration:", file=sys.stderr)
        for src, path, reason in e.problems:
            print(f"  {src}: {path}: {reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hftlab {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
