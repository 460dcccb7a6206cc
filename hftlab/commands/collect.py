"""Collect OKX market data (`trading.channels` x `trading.symbols`) to Parquet and the Redis hot cache.

With the default configuration everything runs locally: an in-process OKX simulator on a free port
(venue `sim` without URLs) and an embedded redis-server. `okx-demo` / `okx-live` (or a `sim` venue
with URLs, e.g. a separate `hftlab sim`) point the same client at that venue. Progress goes to
stderr every few seconds; the summary (or `--json`) to stdout at the end. Ctrl-C / SIGTERM stop
cleanly: sockets closed, every received frame flushed to Parquet, Redis and the simulator stopped.
Prometheus metrics are served on `monitor.prometheus_port` (the URL is printed and published in Redis
for `hftlab status`); memory above `system.max_memory_usage` first stops raw-frame recording, then
stops the collection cleanly (hftlab.monitor.guard).
Exit 0 on a clean run, 1 if no market data arrived or the memory guard stopped it, 2 on a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import orjson

log = logging.getLogger("hftlab.collect")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--duration", type=float, metavar="S", help="seconds to collect (default collect.duration_s)")
    p.add_argument("--out", type=Path, metavar="DIR", help="recording directory (default collect.record_dir, "
                                                           "else <system.data_dir>/recordings)")
    p.add_argument("--progress-interval", type=float, metavar="S",
                   help="seconds between progress lines (default collect.progress_interval_s)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    from hftlab.commands.common import load_settings

    settings = load_settings(args)
    duration = args.duration if args.duration is not None else settings.collect.duration_s
    if duration <= 0:
        print("hftlab collect: --duration must be > 0 seconds", file=sys.stderr)
        return 2
    out = args.out.resolve() if args.out else settings.collect.record_dir
    interval = args.progress_interval or settings.collect.progress_interval_s
    try:
        summary = asyncio.run(_collect(settings, duration, out, interval))
    except _StartError as e:
        print(f"hftlab collect: {e}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
    else:
        print(format_summary(summary))
    if summary["stopped_by"] == MEMORY_GUARD:
        print("hftlab collect: stopped by the memory guard (system.max_memory_usage)", file=sys.stderr)
        return 1
    if not summary["events"]:
        print("hftlab collect: no market data was received (see the log above)", file=sys.stderr)
        return 1
    return 0


MEMORY_GUARD = "memory_guard"


def register_sources(sources, collector, cache=None, sim=None) -> None:
    """What a collector process exports (hftlab.monitor.catalogue says how): its market data (client,
    books, latency), the recorder and its own counters, Redis, and the in-process simulator if any."""
    from hftlab.monitor.registration import register_cache, register_market_data

    register_market_data(sources, collector.client, collector.feed, collector.symbols, collector.latency)
    sources.record(collector.recorder.stats)
    sources.record(collector.stats)
    if cache is not None:
        register_cache(sources, cache)
    if sim is not None:
        sources.record(sim.stats)


class _StartError(Exception):
    pass


async def _collect(settings, duration: float, out: Path, interval: float) -> dict:
    from hftlab.cache.manager import RedisCacheManager
    from hftlab.cache.server import RedisServerError, redis_for
    from hftlab.collect.collector import Collector
    from hftlab.monitor.process import ProcessMonitor
    from hftlab.monitor.resources import memory_limit_bytes
    from hftlab.okx.channels import Endpoints

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        try:
            url = stack.enter_context(redis_for(settings.redis))
        except RedisServerError as e:
            raise _StartError(f"cannot start the embedded redis-server: {e}") from None
        cache = await stack.enter_async_context(RedisCacheManager.from_config(settings.redis, url))
        venue = settings.venue
        sim = None
        if venue.name == "sim" and venue.ws_public_url is None:
            from hftlab.sim.server import SimServer

            sim = await stack.enter_async_context(SimServer(venue.sim))
            endpoints = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
            where = f"the in-process simulator at {sim.rest_url}"
        else:
            try:
                endpoints = Endpoints.from_venue(venue)
            except ValueError as e:
                raise _StartError(str(e)) from None
            where = f"{venue.name} ({endpoints.public})"
        t = settings.trading
        collector = Collector(endpoints, out, symbols=t.symbols, channels=t.channels, timeframes=t.timeframes,
                              collect=settings.collect, client=settings.client, cache=cache)
        monitor = ProcessMonitor(settings.monitor, "collect",
                                 memory_limit_bytes=memory_limit_bytes(settings.system.max_memory_usage), cache=cache,
                                 on_shed_raw=collector.shed_raw, on_stop=lambda: collector.request_stop(MEMORY_GUARD))
        register_sources(monitor.sources, collector, cache, sim)
        await stack.enter_async_context(monitor)
        print(f"hftlab collect: {', '.join(collector.channels)} for {', '.join(collector.symbols)} from {where} "
              f"for {duration:g} s into {out}; Ctrl-C to stop early", file=sys.stderr, flush=True)
        if monitor.url:
            print(f"hftlab collect: metrics on {monitor.url}", file=sys.stderr, flush=True)
        summary = await collector.run(duration, stop, progress=_print_progress, progress_interval_s=interval)
        summary["monitor"] = {"metrics_url": monitor.url, "guard": monitor.guard.stats.as_dict()}
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    return summary


def _print_progress(p: dict) -> None:
    rates = " ".join(f"{ch} {r:.1f}/s" for ch, r in p["rates_per_s"].items()) or "no data yet"
    redis = p.get("redis")
    redis_txt = (f"redis {'ok' if redis['connected'] else 'DOWN'} backlog {redis['backlog']}" if redis else "redis off")
    print(f"[{p['elapsed_s']:7.1f}s] {rates} | books valid {p['books_valid']}/{p['books_total']} | "
          f"reconnects {p['reconnects']} | queue {p['queue_depth']} (max {p['queue_max_depth']}) "
          f"dropped {sum(p['dropped'].values())} | parse errors {p['parse_errors']} | {redis_txt} | "
          f"parquet rows {p['recorder']['raw_rows'] + p['recorder']['event_rows']}", file=sys.stderr, flush=True)


def format_summary(s: dict) -> str:
    lines = [
        f"collected {s['elapsed_s']:.1f} s (stopped by {s['stopped_by']}) into {s['record_dir']}",
        f"  frames received {s['frames']:,}, recorded raw {s['recorder']['raw_rows']:,}, "
        f"event rows {s['recorder']['event_rows']:,}, files {s['recorder']['files_closed']}",
    ]
    for ch, n in sorted(s["events"].items()):
        lines.append(f"  {ch:<12} {n:>10,} events  {s['rates_per_s'].get(ch, 0):>9,.1f}/s")
    bs = s["book_stats"]
    lines += [
        f"  books valid {s['books_valid']}/{s['books_total']}: {bs['snapshots']} snapshots, {bs['updates']:,} updates, "
        f"{bs['breaks']} breaks, {bs['resyncs']} resyncs, {bs['checksum_mismatched']} checksum mismatches",
        f"  bars closed {s['bars_closed']:,} (late trades {s['late_trades']})",
        f"  reconnects {s['reconnects']}, rollovers {s['rollovers']}, queue max depth {s['queue_max_depth']}, "
        f"dropped {sum(s['dropped'].values())}, parse errors {s['parse_errors']}, "
        f"OKX errors {sum(s['error_events'].values())}",
    ]
    guard = s["monitor"]["guard"]
    if guard["level"] != "normal":
        lines.append(f"  memory guard: {guard['level']} (resident {guard['rss_bytes'] / 2**20:.0f} MiB, limit "
                     f"{guard['limit_bytes'] / 2**20:.0f} MiB); raw frames recorded {s['frames_recorded']:,}")
    if "redis" in s:
        r = s["redis"]
        lines.append(f"  redis {'connected' if r['connected'] else 'NOT connected'}: {r['written']:,} events written, "
                     f"{r['dropped']} dropped, {r['outages']} outages")
    return "\n".join(lines)
