"""A terminal dashboard of a running collector or live runner, read from Redis: books, last trades,
bars, positions, open orders, PnL and the trading state, each process's health and latencies.

It finds Redis as the running process does: `redis.url` when it names a server, else the embedded
redis-server whose config file is in `redis.data_dir` (the one `hftlab collect` / `hftlab live`
started with the same configuration); `--redis-url` overrides both. It refreshes every
`monitor.status_refresh_s` until Ctrl-C; `--once` prints one frame and exits (for scripts and
tests). Exit 0, or 1 when Redis cannot be found or read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--redis-url", metavar="URL", help="read this Redis (default: the configured or embedded one)")
    p.add_argument("--symbols", nargs="+", metavar="INST", help="instruments to show (default trading.symbols)")
    p.add_argument("--timeframe", help="bars of this timeframe (default the first of trading.timeframes)")
    p.add_argument("--refresh", type=float, metavar="S",
                   help="seconds between frames (default monitor.status_refresh_s)")
    p.add_argument("--once", action="store_true", help="print one frame and exit")
    p.add_argument("--width", type=int, metavar="COLS", help="render this wide (default: the terminal's)")


def _redis_url(args: argparse.Namespace, settings) -> str | None:
    from hftlab.cache.server import configured_url, embedded_url

    return args.redis_url or configured_url(settings.redis) or embedded_url(settings.redis.data_dir)


def run(args: argparse.Namespace) -> int:
    from hftlab.commands.common import load_settings

    settings = load_settings(args)
    url = _redis_url(args, settings)
    if url is None:
        print(f"hftlab status: no embedded redis-server config in {settings.redis.data_dir} (start hftlab collect "
              "or hftlab live with the same configuration, or pass --redis-url)", file=sys.stderr)
        return 1
    symbols = args.symbols or settings.trading.symbols
    timeframe = args.timeframe or settings.trading.timeframes[0]
    refresh = args.refresh or settings.monitor.status_refresh_s
    return asyncio.run(_show(url, settings.redis, symbols, timeframe, refresh, args.once, args.width))


async def _show(url: str, redis_cfg, symbols: list[str], timeframe: str, refresh: float, once: bool,
                width: int | None) -> int:
    from rich.console import Console
    from rich.live import Live

    from hftlab.cache.manager import RedisCacheManager
    from hftlab.monitor.dashboard import read_snapshot, render

    console = Console(width=width)
    cache = RedisCacheManager.from_config(redis_cfg, url)
    try:
        snap = await read_snapshot(cache, symbols, timeframe)
        if once:
            console.print(render(snap))
            return 1 if snap.error else 0
        with Live(render(snap), console=console, auto_refresh=False, screen=False) as live:
            while True:
                await asyncio.sleep(refresh)
                live.update(render(await read_snapshot(cache, symbols, timeframe)), refresh=True)
    finally:
        await cache.close()
