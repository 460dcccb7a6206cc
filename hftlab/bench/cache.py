"""`hftlab bench cache`: events/s into the embedded redis-server, pipelined vs one round trip each."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from hftlab.bench import progress


def add_arguments(p) -> None:
    p.add_argument("--events", type=int, default=200_000, help="events for the pipelined writer")
    p.add_argument("--naive-events", type=int, default=20_000, help="events for the one-per-event writer")


def _trades(n: int) -> list[dict[str, str]]:
    return [
        {"tradeId": str(100000 + i), "px": f"{60000 + (i % 500) * 0.1:.1f}", "sz": "0.015", "side": "buy" if i % 2 else "sell", "ts": str(1786540436090 + i)}
        for i in range(n)
    ]


async def _measure(url: str, n: int, n_naive: int) -> dict[str, float]:
    from hftlab.cache.manager import RedisCacheManager, one_round_trip_per_event

    events = _trades(max(n, n_naive))
    cache = RedisCacheManager(url, trades_maxlen=100_000, backlog_max=max(n, n_naive) + 1, batch_max=1000)
    await cache.start()
    # warm up the connection and the server's stream
    for e in events[:2000]:
        cache.add_trade("WARM-UP", e)
    await cache.flush(30)
    progress(f"pipelined writer: {n:,} trades ...")
    t0 = time.perf_counter()
    for e in events[:n]:
        cache.add_trade("BTC-USDT", e)
    ok = await cache.flush(120)
    dt_pipe = time.perf_counter() - t0
    if not ok or cache.stats.events_dropped:
        raise RuntimeError(f"pipelined writer did not complete: {cache.stats}")
    progress(f"one round trip per event: {n_naive:,} trades ...")
    t0 = time.perf_counter()
    await one_round_trip_per_event(cache.client, cache.key("trades", "ETH-USDT"), events[:n_naive], 100_000)
    dt_naive = time.perf_counter() - t0
    written = await cache.client.xlen(cache.key("trades", "BTC-USDT"))
    await cache.close()
    pipe, naive = n / dt_pipe, n_naive / dt_naive
    return {
        "pipelined_events_per_s": round(pipe),
        "one_per_event_events_per_s": round(naive),
        "speedup_x": round(pipe / naive, 2),
        "pipelined_written_count": written,
    }


def run(args) -> dict[str, float]:
    from hftlab.cache.server import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="hftlab-bench-redis-") as d:
        with EmbeddedRedis(Path(d), appendonly=True) as server:
            progress(f"embedded redis-server pid {server.pid} on port {server.port} (appendonly yes, allkeys-lru)")
            return asyncio.run(_measure(server.url, args.events, args.naive_events))
