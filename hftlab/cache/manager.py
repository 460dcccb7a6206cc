"""RedisCacheManager: the hot cache live consumers read, written without ever blocking the caller.

Key schema (`P` is `redis.key_prefix`, default `hftlab`; every value is a string; the fields are
written by `cache/schema.py`, from domain values):

| key | type | content |
|---|---|---|
| `P:ticker:{instId}` | hash | the latest ticker fields as OKX sends them (`last`, `bidPx`, `askPx`, ..., `ts`) |
| `P:book:{instId}` | hash | top of book: `bidPx bidSz askPx askSz ts seqId valid` (`valid` is `1`/`0`) |
| `P:trades:{instId}` | stream | recent trades (`tradeId px sz side ts`), trimmed to ~`trades_maxlen` |
| `P:bar:{tf}:{instId}` | hash | the latest closed bar (`ts open high low close volume ...`) |
| `P:bars:{tf}:{instId}` | stream | recent closed bars, trimmed to ~`bars_maxlen` |
| `P:positions` | hash | field `instId` -> JSON of the position; replaced whole on each snapshot |
| `P:orders:open` | hash | field `clOrdId` -> JSON of the open order; replaced whole on each snapshot |
| `P:equity` | hash | the account's equity, PnL, high-water mark, drawdown and the live runner's state |
| `P:monitor:{component}` | hash | a running process's health: pid, /metrics URL, memory, guard level, latencies |

Eviction: market data (ticker, book, trades, bar, bars) carries a TTL (`market_ttl_s`, refreshed by
every write), account state (positions, open orders, equity, monitor) none, and the embedded server
runs `volatile-lru`: under memory pressure Redis evicts market data, never a position or an open
order. A hash replaced whole (positions, open orders, monitor) is replaced in one MULTI/EXEC, so a
reader never sees it empty between the DEL and the HSET.

Two kinds of write. *State* (ticker, top of book, latest bar, positions, open orders, equity) is coalesced
by key: only the newest value waits to be written, so state never overflows. *Events* (trades, bar
streams) queue in a bounded backlog. A background task drains both through one pipeline per batch.
While Redis is down or slow, callers keep returning at once; the backlog holds the newest
`backlog_max` events and counts what it had to drop; the task reconnects with capped, jittered
backoff and logs one line per outage (and one when it ends); any failure of the writer counts as an
outage (`connected` goes false), and the writer task is supervised (`core.tasks`: restarted if it
fails anyway, counted in `task_failures`). Redis is a cache: history lives in the Parquet recordings.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import hiredis
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hftlab.cache.config import RedisConfig
from hftlab.cache.resp import RespConnection
from hftlab.core.metrics import Stats
from hftlab.core.tasks import OnFailure, Supervisor

log = logging.getLogger(__name__)

_HSET, _REPLACE_HASH, _XADD = 0, 1, 2


@dataclass(slots=True)
class CacheStats(Stats):
    events_enqueued: int = 0
    events_written: int = 0
    events_dropped: int = 0
    state_written: int = 0
    batches: int = 0
    outages: int = 0
    connected: bool = False
    last_error: str = ""
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks)


class RedisCacheManager:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "hftlab",
        trades_maxlen: int = 10_000,
        bars_maxlen: int = 5_000,
        backlog_max: int = 100_000,
        batch_max: int = 1_000,
        flush_interval_ms: float = 5.0,
        timeout_s: float = 1.0,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        market_ttl_s: float = 86_400.0,
    ):
        self._url = url
        self.prefix = prefix
        self.trades_maxlen = trades_maxlen
        self.bars_maxlen = bars_maxlen
        self.backlog_max = backlog_max
        self.batch_max = batch_max
        self.flush_interval_s = flush_interval_ms / 1000.0
        self.timeout_s = timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.market_ttl_ms = int(market_ttl_s * 1000)
        if self.market_ttl_ms < 1:
            raise ValueError("market_ttl_s must be positive: market keys are what Redis may evict")
        self.stats = CacheStats()
        self._events: deque[tuple[int, str, Any, int, int]] = deque()  # (op, key, fields, maxlen, ttl_ms)
        self._state: dict[str, tuple[int, Any, int]] = {}  # key -> (op, fields, ttl_ms)
        self._wake = asyncio.Event()  # the writer, waiting for work, has some
        self._now = False  # send without waiting for more to join the batch (a full batch, flush, close)
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: Supervisor | None = None
        self._closing = False
        self.client = self._new_client()  # reads; the writer has its own pipelining connection
        self._conn = RespConnection(url, timeout_s)

    def __repr__(self) -> str:  # the URL may carry the password
        return f"RedisCacheManager(prefix={self.prefix!r}, connected={self.stats.connected})"

    @classmethod
    def from_config(cls, r: RedisConfig, url: str) -> RedisCacheManager:
        return cls(
            url,
            prefix=r.key_prefix,
            trades_maxlen=r.trades_maxlen,
            bars_maxlen=r.bars_maxlen,
            backlog_max=r.backlog_max,
            batch_max=r.batch_max,
            flush_interval_ms=r.flush_interval_ms,
            timeout_s=r.timeout_s,
            market_ttl_s=r.market_ttl_s,
        )

    def _new_client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self._url,
            decode_responses=True,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            retry_on_timeout=False,
            health_check_interval=0,
        )

    # ----- keys -------------------------------------------------------------------------------
    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # ----- writes: synchronous, O(1), never block ---------------------------------------------
    def set_ticker(self, inst_id: str, fields: Mapping[str, Any]) -> None:
        self._put_state(self.key("ticker", inst_id), _HSET, fields, self.market_ttl_ms)

    def set_top_of_book(self, inst_id: str, fields: Mapping[str, Any]) -> None:
        self._put_state(self.key("book", inst_id), _HSET, fields, self.market_ttl_ms)

    def add_trade(self, inst_id: str, fields: Mapping[str, Any]) -> None:
        self._put_event(self.key("trades", inst_id), fields, self.trades_maxlen)

    def add_bar(self, timeframe: str, inst_id: str, fields: Mapping[str, Any]) -> None:
        self._put_state(self.key("bar", timeframe, inst_id), _HSET, fields, self.market_ttl_ms)
        self._put_event(self.key("bars", timeframe, inst_id), fields, self.bars_maxlen)

    def set_positions(self, positions: Mapping[str, Mapping[str, Any]]) -> None:
        self._put_state(self.key("positions"), _REPLACE_HASH, {k: orjson.dumps(v).decode() for k, v in positions.items()})

    def set_open_orders(self, orders: Mapping[str, Mapping[str, Any]]) -> None:
        self._put_state(self.key("orders", "open"), _REPLACE_HASH, {k: orjson.dumps(v).decode() for k, v in orders.items()})

    def set_equity(self, fields: Mapping[str, Any]) -> None:
        self._put_state(self.key("equity"), _HSET, fields)

    def set_monitor(self, component: str, fields: Mapping[str, Any]) -> None:
        self._put_state(self.key("monitor", component), _REPLACE_HASH, fields)

    def _put_state(self, key: str, op: int, fields: Mapping[str, Any], ttl_ms: int = 0) -> None:
        """`ttl_ms` 0: never expires, so never evicted (account state)."""
        self._state[key] = (op, dict(fields), ttl_ms)
        self._work()

    def _put_event(self, key: str, fields: Mapping[str, Any], maxlen: int) -> None:
        events = self._events
        if len(events) >= self.backlog_max:
            events.popleft()
            self.stats.events_dropped += 1
        events.append((_XADD, key, fields, maxlen, self.market_ttl_ms))
        self.stats.events_enqueued += 1
        if len(events) >= self.batch_max:
            self._now = True
            self._wake.set()
        self._work()

    def _work(self) -> None:
        # The first item after the writer went idle wakes it (it then waits `flush_interval` for more
        # to join the batch); later ones find it busy. Without this the writer only woke at a full batch.
        if self._idle.is_set():
            self._idle.clear()
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._state)

    # ----- reads (for consumers and tests) ----------------------------------------------------
    async def get_ticker(self, inst_id: str) -> dict[str, str]:
        return await self.client.hgetall(self.key("ticker", inst_id))

    async def get_top_of_book(self, inst_id: str) -> dict[str, str]:
        return await self.client.hgetall(self.key("book", inst_id))

    async def recent_trades(self, inst_id: str, count: int = 100) -> list[dict[str, str]]:
        rows = await self.client.xrevrange(self.key("trades", inst_id), count=count)
        return [fields for _id, fields in reversed(rows)]

    async def get_bar(self, timeframe: str, inst_id: str) -> dict[str, str]:
        return await self.client.hgetall(self.key("bar", timeframe, inst_id))

    async def get_positions(self) -> dict[str, Any]:
        raw = await self.client.hgetall(self.key("positions"))
        return {k: orjson.loads(v) for k, v in raw.items()}

    async def get_open_orders(self) -> dict[str, Any]:
        raw = await self.client.hgetall(self.key("orders", "open"))
        return {k: orjson.loads(v) for k, v in raw.items()}

    async def get_equity(self) -> dict[str, str]:
        return await self.client.hgetall(self.key("equity"))

    async def get_monitor(self, component: str) -> dict[str, str]:
        return await self.client.hgetall(self.key("monitor", component))

    # ----- lifecycle --------------------------------------------------------------------------
    async def start(self) -> RedisCacheManager:
        if self._tasks is None:
            self._closing = False
            self._tasks = Supervisor("redis-cache", self.stats.task_failures)
            self._tasks.spawn(self._run, "writer", OnFailure.RESTART, name="redis-cache-writer")
        return self

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is written; False if Redis could not take it in time."""
        if self.pending:
            self._now = True
            self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
            return True
        except TimeoutError:
            return False

    async def close(self, timeout_s: float = 2.0) -> None:
        if self._tasks is not None:
            if self.pending and self.stats.connected:
                await self.flush(timeout_s)
            self._closing = True
            self._now = True
            self._wake.set()
            await self._tasks.close()
            self._tasks = None
        if self.pending:
            log.warning("redis cache closed with %d unwritten items (Redis unavailable)", self.pending)
        await self._conn.close()
        await self.client.aclose()

    async def __aenter__(self) -> RedisCacheManager:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ----- the writer -------------------------------------------------------------------------
    INFLIGHT_BATCHES = 2  # pack the next batch while Redis executes the previous one

    async def _run(self) -> None:
        backoff = self.backoff_initial_s
        inflight: deque[tuple[asyncio.Future, list, dict]] = deque()
        while not self._closing:
            try:
                if self.pending and len(inflight) < self.INFLIGHT_BATCHES:
                    if not inflight and len(self._events) < self.batch_max and not self._now:
                        # Let a few more events join this batch: one round trip carries them all.
                        await asyncio.sleep(self.flush_interval_s)
                    self._now = False
                    self._wake.clear()
                    sent = await self._send_batch()
                    if sent is not None:
                        inflight.append(sent)
                    continue
                if inflight:
                    fut, batch, state = inflight[0]
                    replies = await self._conn.wait(fut)
                    inflight.popleft()
                    self._account(replies, batch, state)
                    if not self.stats.connected:
                        if self.stats.outages:
                            log.warning("redis reachable again; backlog %d, dropped so far %d",
                                        self.pending, self.stats.events_dropped)
                        self.stats.connected = True
                    backoff = self.backoff_initial_s
                    continue
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            except Exception as e:  # RedisError, OSError (RespConnectionError), TimeoutError, or a bug:
                # an outage either way. Everything in flight goes back, newest first, so older items
                # end up in front and the newest state for a key wins.
                if not isinstance(e, (RedisError, OSError, TimeoutError)):
                    log.error("redis cache writer: unexpected %r; handled as an outage", e, exc_info=e)
                while inflight:
                    _fut, batch, state = inflight.pop()
                    self._requeue(batch, state)
                self.stats.last_error = f"{type(e).__name__}: {e}"
                if self.stats.connected or self.stats.outages == 0:
                    self.stats.outages += 1
                    log.warning(
                        "redis unavailable (%s); callers continue, buffering up to %d events and retrying",
                        self.stats.last_error, self.backlog_max,
                    )
                self.stats.connected = False
                await self._reset_client()
                await asyncio.sleep(random.uniform(0, backoff))  # full jitter
                backoff = min(self.backoff_max_s, backoff * 2)

    async def _reset_client(self) -> None:
        await self._conn.close()
        old, self.client = self.client, self._new_client()
        try:
            await old.aclose()
        except Exception:  # a dead connection may fail to close; it is gone either way
            pass

    async def _send_batch(self) -> tuple[asyncio.Future, list, dict] | None:
        events = self._events
        n = min(len(events), self.batch_max)
        batch = [events.popleft() for _ in range(n)]
        state, self._state = self._state, {}
        try:
            fut = await self._conn.send(_commands(batch, state))
        except TypeError:
            # A value Redis cannot encode (None, an object): drop those items, keep the rest.
            good = [item for item in batch if _encodable(item[2])]
            good_state = {k: v for k, v in state.items() if _encodable(v[1])}
            bad = len(batch) - len(good) + len(state) - len(good_state)
            self.stats.events_dropped += bad
            log.error("dropped %d cache item(s) with values Redis cannot store (None or objects)", bad)
            self._requeue(good, good_state)
            return None
        except BaseException:
            self._requeue(batch, state)
            raise
        return fut, batch, state

    def _account(self, replies: list, batch: list, state: dict) -> None:
        errors = [r for r in replies if isinstance(r, hiredis.ReplyError)]
        if errors:  # e.g. WRONGTYPE on a key someone else wrote: not retryable, say so once per batch
            log.error("redis rejected %d of %d cache writes, first: %s", len(errors), len(replies), errors[0])
        self.stats.events_written += len(batch)
        self.stats.state_written += len(state)
        self.stats.batches += 1

    def _requeue(self, batch: list, state: dict) -> None:
        # Newer state written meanwhile wins; the failed batch goes back in front of newer events,
        # and the bound keeps the newest events (oldest are dropped and counted).
        for key, value in state.items():
            self._state.setdefault(key, value)
        self._events.extendleft(reversed(batch))
        while len(self._events) > self.backlog_max:
            self._events.popleft()
            self.stats.events_dropped += 1
        self._idle.clear()


async def one_round_trip_per_event(client: aioredis.Redis, key: str, events: list[Mapping[str, Any]], maxlen: int) -> None:
    """The naive writer, kept for the benchmark's comparison: one awaited XADD per event."""
    for fields in events:
        await client.xadd(key, fields, maxlen=maxlen, approximate=True)


def _encodable(fields: Mapping[str, Any]) -> bool:
    return all(isinstance(v, (str, bytes, int, float)) and not isinstance(v, bool) for v in fields.values())


def _commands(batch: list, state: dict) -> list[tuple]:
    flat = chain.from_iterable
    commands: list[tuple] = []
    for key, (op, fields, ttl_ms) in state.items():
        if op == _REPLACE_HASH:  # atomic: a reader sees the old hash or the new one, never none
            commands.append(("MULTI",))
            commands.append(("DEL", key))
            if fields:
                commands.append(("HSET", key, *flat(fields.items())))
            commands.append(("EXEC",))
        elif fields:
            commands.append(("HSET", key, *flat(fields.items())))
        if ttl_ms:
            commands.append(("PEXPIRE", key, ttl_ms))
    streams: dict[str, int] = {}
    for _op, key, fields, maxlen, ttl_ms in batch:
        commands.append(("XADD", key, "MAXLEN", "~", maxlen, "*", *flat(fields.items())))
        if ttl_ms:
            streams[key] = ttl_ms
    commands.extend(("PEXPIRE", key, ttl_ms) for key, ttl_ms in streams.items())
    return commands
