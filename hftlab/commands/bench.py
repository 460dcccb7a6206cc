"""Run a named benchmark: `hftlab bench NAME [--json]`.

With --json, stdout carries exactly one JSON object:
{"benchmark": NAME, "results": {LABEL: number}, "machine": {...}, "versions": {...}}; progress goes
to stderr. `hftlab bench list` names the benchmarks; options a benchmark takes follow its name
(`hftlab bench cache --json --events 100000`; `hftlab bench cache --help-bench` lists them).
"""

from __future__ import annotations

import sys


def add_arguments(p) -> None:
    from hftlab.bench import BENCHMARKS
    from hftlab.commands.common import add_common

    p.add_argument("name", help="one of: " + ", ".join(BENCHMARKS) + " (or 'list')")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--help-bench", action="store_true", help="list the options of this benchmark")
    add_common(p)


PASS_THROUGH_OPTIONS = True  # the benchmark's own options are parsed by the benchmark


def run(args) -> int:
    import argparse

    import orjson

    from hftlab import bench
    from hftlab.commands.common import load_settings

    load_settings(args)  # logging as configured
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
    if args.help_bench:
        sub.print_help()
        return 0
    bargs = sub.parse_args(args.extra)
    doc = bench.run(args.name, bargs)
    if args.json:
        sys.stdout.write(orjson.dumps(doc).decode() + "\n")
    else:
        print(bench.format_table(doc))
    return 0
