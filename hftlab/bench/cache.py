"""`hftlab bench cache`: trades into the embedded redis-server as production writes them, against its peers.

The server and the cache run with the production settings (`RedisConfig()`: appendonly yes,
volatile-lru, maxmemory; `RedisCacheManager.from_config`, so `backlog_max`, `batch_max`,
`flush_interval_ms` and `trades_maxlen` are the defaults). Three writers take the same events, each
into its own stream, each warmed up the same way first:

- `manager`: `RedisCacheManager.add_trade` (never blocks the caller; its background task pipelines
  batches over hiredis);
- `one_per_event`: one awaited `XADD` per event (redis-py);
- `pipeline`: redis-py's own `pipeline(transaction=False)`, flushed every `flush_interval_ms` or at
  `batch_max` events, the manager's batching done with the ordinary client.

Two loads, the same N for every writer:

- `rate_*`: a producer at a realistic `--rate` (events/s, delivered each millisecond as a socket read
  delivers them) for `--seconds`. End-to-end latency is measured as a consumer sees it: a reader
  blocked in `XREAD` on each stream notes when each event becomes visible, against the time the
  event was due (so a writer that falls behind its schedule is charged for it): `_p50_us`,
  `_p99_us`, `_p999_us`, and the events/s achieved.
- `burst_*`: `--burst` events as fast as the producer can hand them over (chunks of 1,000 with a yield
  to the loop between, as socket reads arrive); events/s until the last one is written.

`overflow_*`: a burst larger than the backlog (`backlog_max` + `--overflow` events handed over without
a yield, as while Redis is slow): the manager keeps the newest `backlog_max` and reports the drops.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from hftlab.bench import progress

WRITERS = ("manager", "one_per_event", "pipeline")
WARMUP = 2_000


def add_arguments(p) -> None:
    p.add_argument("--rate", type=float, default=5_000.0, help="events/s of the realistic producer")
    p.add_argument("--seconds", type=float, default=2.0, help="duration of the realistic load")
    p.add_argument("--burst", type=int, default=50_000, help="events in the burst")
    p.add_argument("--overflow", type=int, default=50_000, help="events beyond backlog_max in the overflow burst")


def _trade(i: int) -> dict[str, str]:
    return {"tradeId": str(100_000 + i), "px": f"{60_000 + (i % 500) * 0.1:.1f}", "sz": "0.015",
            "side": "buy" if i % 2 else "sell", "ts": str(1_786_540_436_090 + i)}


class _Writer:
    """One way of getting events into a stream: `put` (may await), `drain` (all written)."""

    def __init__(self, kind: str, cache, client, inst_id: str):
        self.kind, self.cache, self.client, self.inst_id = kind, cache, client, inst_id
        self.key = cache.key("trades", inst_id)
        self.maxlen = cache.trades_maxlen
        self._buf: list[dict] = []
        self._last_flush = time.perf_counter()
        self._flushes: set[asyncio.Task] = set()

    async def put(self, fields: dict) -> None:
        if self.kind == "manager":
            self.cache.add_trade(self.inst_id, fields)
        elif self.kind == "one_per_event":
            await self.client.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)
        else:
            self._buf.append(fields)
            now = time.perf_counter()
            if len(self._buf) >= self.cache.batch_max or now - self._last_flush >= self.cache.flush_interval_s:
                self._flush()

    def tick(self) -> None:
        """The producer's clock ticked: a pipeline older than the flush interval goes out."""
        if self.kind == "pipeline" and self._buf and time.perf_counter() - self._last_flush >= \
                self.cache.flush_interval_s:
            self._flush()

    def _flush(self) -> None:
        batch, self._buf = self._buf, []
        self._last_flush = time.perf_counter()

        async def send() -> None:
            pipe = self.client.pipeline(transaction=False)
            for f in batch:
                pipe.xadd(self.key, f, maxlen=self.maxlen, approximate=True)
            await pipe.execute()

        task = asyncio.get_running_loop().create_task(send())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def drain(self) -> None:
        if self.kind == "pipeline":
            if self._buf:
                self._flush()
            await asyncio.gather(*list(self._flushes))
        elif self.kind == "manager":
            if not await self.cache.flush(120):
                raise RuntimeError(f"the cache did not write its backlog: {self.cache.stats}")


async def _visible(client, key: str, n: int, seen_ns: list[int], due: dict[bytes, int]) -> None:
    """The consumer: XREAD until `n` new events of `key` were seen; the latency of each against its due time."""
    newest = await client.xrevrange(key, count=1)
    last = newest[0][0] if newest else b"0-0"
    while len(seen_ns) < n:
        got = await client.xread({key: last}, count=10_000, block=2_000)
        now = time.perf_counter_ns()
        if not got:
            raise RuntimeError(f"{key}: no new entry for 2 s after {len(seen_ns)} of {n}")
        for _stream, entries in got:
            for entry_id, fields in entries:
                last = entry_id
                seen_ns.append(now - due[fields[b"tradeId"]])


async def _rate(writer: _Writer, reader, rate: float, seconds: float, offset: int) -> dict[str, float]:
    n = max(1, int(rate * seconds))
    events = [_trade(offset + i) for i in range(n)]
    due: dict[bytes, int] = {}
    seen: list[int] = []
    consumer = asyncio.get_running_loop().create_task(_visible(reader, writer.key, n, seen, due))
    await asyncio.sleep(0.05)  # the reader is blocked in XREAD
    t0 = time.perf_counter_ns()
    period_ns = 1e9 / rate
    i = 0
    while i < n:
        now = time.perf_counter_ns()
        while i < n and t0 + i * period_ns <= now:  # what one millisecond's socket reads delivered
            due[events[i]["tradeId"].encode()] = int(t0 + i * period_ns)
            await writer.put(events[i])
            i += 1
        writer.tick()
        await asyncio.sleep(0.001)
    await writer.drain()
    await consumer
    dt = (time.perf_counter_ns() - t0) / 1e9
    a = np.asarray(seen, np.float64) / 1e3
    p50, p99, p999 = (round(float(np.percentile(a, q)), 1) for q in (50, 99, 99.9))
    return {"p50_us": p50, "p99_us": p99, "p999_us": p999, "events_per_s": round(n / dt)}


async def _burst(writer: _Writer, n: int, offset: int) -> float:
    from hftlab.cache.manager import one_round_trip_per_event

    events = [_trade(offset + i) for i in range(n)]
    t0 = time.perf_counter()
    if writer.kind == "one_per_event":
        await one_round_trip_per_event(writer.client, writer.key, events, writer.maxlen)
        return round(n / (time.perf_counter() - t0))
    for k in range(0, n, 1000):
        for e in events[k:k + 1000]:
            await writer.put(e)
        writer.tick()
        await asyncio.sleep(0)
    await writer.drain()
    return round(n / (time.perf_counter() - t0))


async def _measure(url: str, args) -> dict[str, float]:
    import redis.asyncio as aioredis

    from hftlab.cache.config import RedisConfig
    from hftlab.cache.manager import RedisCacheManager

    cfg = RedisConfig()
    cache = RedisCacheManager.from_config(cfg, url)
    await cache.start()
    client = aioredis.Redis.from_url(url)  # the peers' connection
    reader = aioredis.Redis.from_url(url)  # the consumer's
    out: dict[str, float] = {"backlog_max_count": cache.backlog_max, "batch_max_count": cache.batch_max}
    writers = {k: _Writer(k, cache, client, f"BENCH-{k}") for k in WRITERS}
    for w in writers.values():  # every side warmed up alike: connection, stream, server
        await _burst(w, WARMUP, 0)
    n_rate = max(1, int(args.rate * args.seconds))
    for k, w in writers.items():
        progress(f"{k}: {n_rate:,} events at {args.rate:,.0f}/s, end to end as a reader sees them ...")
        for q, v in (await _rate(w, reader, args.rate, args.seconds, WARMUP)).items():
            out[f"rate_{k}_{q}"] = v
    for k, w in writers.items():
        progress(f"{k}: a burst of {args.burst:,} events ...")
        out[f"burst_{k}_events_per_s"] = await _burst(w, args.burst, WARMUP + n_rate)
    for k in WRITERS[1:]:
        out[f"rate_manager_vs_{k}_p99_x"] = round(out[f"rate_{k}_p99_us"] / out["rate_manager_p99_us"], 2)
        out[f"burst_manager_vs_{k}_x"] = round(out["burst_manager_events_per_s"] / out[f"burst_{k}_events_per_s"], 2)
    # a burst larger than the backlog, handed over without a yield: the newest backlog_max are kept
    n = cache.backlog_max + args.overflow
    progress(f"manager: an overflow burst of {n:,} events (backlog_max {cache.backlog_max:,}) ...")
    before_dropped, before_written = cache.stats.events_dropped, cache.stats.events_written
    key = cache.key("trades", "BENCH-overflow")
    for i in range(n):
        cache.add_trade("BENCH-overflow", _trade(i))
    if not await cache.flush(120):
        raise RuntimeError(f"the cache did not write its backlog: {cache.stats}")
    dropped = cache.stats.events_dropped - before_dropped
    written = cache.stats.events_written - before_written
    newest = await client.xrevrange(key, count=1)
    if dropped != args.overflow or written != cache.backlog_max or newest[0][1][b"tradeId"] != _trade(n - 1)[
            "tradeId"].encode():
        raise RuntimeError(f"overflow: expected {args.overflow} dropped and the newest {cache.backlog_max} written, "
                           f"got {dropped} dropped, {written} written")
    out["overflow_events_count"] = n
    out["overflow_dropped_count"] = dropped
    out["overflow_written_count"] = written
    await cache.close()
    await client.aclose()
    await reader.aclose()
    return out


def run(args) -> dict[str, float]:
    from hftlab.cache.config import RedisConfig
    from hftlab.cache.server import EmbeddedRedis

    cfg = RedisConfig()
    with tempfile.TemporaryDirectory(prefix="hftlab-bench-redis-") as d:
        with EmbeddedRedis(Path(d), maxmemory=cfg.maxmemory, maxmemory_policy=cfg.maxmemory_policy,
                           appendonly=cfg.appendonly) as server:
            progress(f"embedded redis-server pid {server.pid} on port {server.port} (appendonly "
                     f"{'yes' if cfg.appendonly else 'no'}, {cfg.maxmemory_policy}, maxmemory {cfg.maxmemory})")
            return asyncio.run(_measure(server.url, args))
