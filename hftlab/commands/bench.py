"""Run a named benchmark: `hftlab bench NAME [--json]`.

With --json, stdout carries exactly one JSON object:
{"benchmark": NAME, "results": {LABEL: number}, "machine": {...}, "versions": {...}}; progress goes
to stderr. `hftlab bench list` names the benchmarks.
"""

from __future__ import annotations

import sys


def add_arguments(p) -> None:
    from hftlab.bench import BENCHMARKS

    p.add_argument("name", help="one of: " + ", ".join(BENCHMARKS) + " (or 'list')")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    # Benchmark-specific options are parsed by the benchmark itself from the remaining arguments.
    p.add_argument("options", nargs="*", help=argparse_hint())


def argparse_hint() -> str:
    return "benchmark options after `--`, e.g. `hftlab bench cache -- --events 100000`"


def run(args) -> int:
    import argparse

    import orjson

    from hftlab import bench

    if args.name == "list":
        for n, d in bench.BENCHMARKS.items():
            print(f"{n:<12} {d}")
        return 0
    try:
        mod = bench.load(args.name)
    except KeyError:
        print(f"hftlab bench: unknown benchmark {args.name!r}; known: {', '.join(bench.BENCHMARKS)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        print(f"hftlab bench {args.name}: not available in this build ({e})", file=sys.stderr)
        return 2
    sub = argparse.ArgumentParser(prog=f"hftlab bench {args.name}")
    if hasattr(mod, "add_arguments"):
        mod.add_arguments(sub)
    bargs = sub.parse_args(args.options)
    doc = bench.run(args.name, bargs)
    if args.json:
        sys.stdout.write(orjson.dumps(doc).decode() + "\n")
    else:
        print(bench.format_table(doc))
    return 0
