"""The collector: one OKX client feeding a MarketFeed, the Parquet recorder and the Redis hot cache.

    client (sockets, recv_ns) ──raw frames──────────────────────────► recorder raw/
       │ queue
       ▼
    consumer ─► MarketFeed: books -> top of book ──► Redis P:book:{inst} (valid flag, seqId)
       │                    trades -> bars ────────► Redis P:bar(s), recorder events/bar
       ├─ trades ──────────────────────────────────► Redis P:trades
       ├─ tickers ─────────────────────────────────► Redis P:ticker:{inst}
       └─ every event ─────────────────────────────► recorder events/<type>/
    malformed frames: raw/channel=_malformed and their reasons in events/parse_error (forensics)

Bars close on exchange time: a trade past the bar's end closes it, and so does the instrument's
exchange clock (the newest `ts` of its book and ticker pushes) once it is `bar_grace_ms` past the
end, so bars keep coming when trading pauses (see hftlab.marketdata.bars). The cache's fields are
`cache/schema.py`'s.

Monitoring (pulled by hftlab.monitor): `stats` (CollectorStats) and `latency` (`monitor.latency.FeedLatency`:
venue time -> receive, receive -> handled). `shed_raw()` stops recording raw frames (the resource
guard's first step) and `request_stop(reason)` ends `run` cleanly, as a signal does.

Nothing dies silently: an event the consumer cannot handle is counted (`handler_errors`), logged
(rate-limited) and skipped; the consumer, the progress reporter and the stop watcher are supervised
(`core.tasks`: a consumer that fails anyway is restarted, every failure counted in `task_failures`);
and however `run` ends, the recorder finishes its files and the cache is flushed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hftlab.cache import schema
from hftlab.collect.config import CollectConfig
from hftlab.collect.recorder import Recorder
from hftlab.core.metrics import Stats
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.domain.market import Bar, TopOfBook
from hftlab.marketdata.feed import MarketFeed
from hftlab.monitor.latency import FeedLatency
from hftlab.okx.channels import Endpoints, args_for
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import BookMsg, Ticker, Trade
from hftlab.okx.queue import QueueClosed

log = logging.getLogger(__name__)

CONSUME_BATCH = 1000
DRAIN_TIMEOUT_S = 30.0
_LOG_EVERY = 1000  # after the first few, log every Nth event that could not be handled
_PUSH_STAMPED = frozenset({BookMsg, Ticker, Trade})  # `ts_ms` is when the venue made the push (a candle's is its open)


@dataclass(slots=True)
class CollectorStats(Stats):
    frames_tapped: int = 0  # frames that carried something new, and malformed ones (channel _malformed)
    frames_recorded: int = 0  # of those, handed to the raw recorder
    events: int = 0
    bars_closed: int = 0
    raw_shed: bool = False  # raw recording was stopped to shed load
    handler_errors: int = 0  # events the consumer could not handle (counted, logged, skipped)
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks)


class Collector:
    def __init__(
        self,
        endpoints: Endpoints,
        record_dir: Path,
        *,
        symbols: Iterable[str],
        channels: Iterable[str],
        timeframes: Iterable[str],
        collect: CollectConfig,
        client: ClientConfig,
        cache=None,  # hftlab.cache.manager.RedisCacheManager, started; None: no Redis
    ):
        self.channels = list(channels)
        self.symbols = list(symbols)
        self.config = collect
        self.record_dir = Path(record_dir)
        self.cache = cache
        self.recorder = Recorder(self.record_dir, record_raw=collect.record_raw,
                                 flush_interval_s=collect.flush_interval_s, rotate_rows=collect.rotate_rows,
                                 rotate_s=collect.rotate_s)
        self.feed = MarketFeed(self.channels, timeframes, grace_ms=collect.bar_grace_ms,
                               fill_empty=collect.fill_empty_bars, on_top=self._publish_top)
        self.client = AsyncOKXClient(endpoints, client, books=self.feed, on_frame=self._tap,
                                     on_malformed=self.recorder.add_event)
        self.stats = CollectorStats()
        self.latency = FeedLatency()
        self.started = 0.0
        self.stopped_by = "duration"
        self._stop = asyncio.Event()
        self._tasks = Supervisor("collector", self.stats.task_failures, on_stop=self.request_stop)

    # ----- wiring ------------------------------------------------------------------------------
    def _tap(self, frame: str | bytes, recv_ns: int, channel: str, inst_id: str) -> None:
        self.stats.frames_tapped += 1
        if self.recorder.record_raw:
            self.stats.frames_recorded += 1
            self.recorder.add_raw(recv_ns, channel, inst_id, frame)

    def _handle_safely(self, ev: Any) -> None:
        try:
            self._handle(ev)
        except Exception:  # one bad event must not end the consumer (nor the recording)
            n = self.stats.handler_errors = self.stats.handler_errors + 1
            if n <= 5 or n % _LOG_EVERY == 0:
                log.exception("collector: cannot handle %.200r [%d so far]", ev, n)

    def _handle(self, ev: Any) -> None:
        self.stats.events += 1
        self.latency.observe_event(ev, ev.ts_ms if type(ev) in _PUSH_STAMPED else 0)
        self.recorder.add_event(ev)
        update = self.feed.on_event(ev)
        cache = self.cache
        if cache is not None:
            if isinstance(ev, Trade):
                cache.add_trade(ev.inst_id, schema.trade_fields(ev))
            elif isinstance(ev, Ticker):
                cache.set_ticker(ev.inst_id, schema.ticker_fields(ev))
        if update.top is not None:
            self._publish_top(update.top)
        if update.bars:
            self._closed_bars(update.bars)

    def _publish_top(self, top: TopOfBook) -> None:
        if self.cache is not None:
            self.cache.set_top_of_book(top.inst_id, schema.top_of_book_fields(top))

    def _closed_bars(self, bars: Iterable[Bar]) -> None:
        for bar in bars:
            self.stats.bars_closed += 1
            self.recorder.add_event(bar)
            if self.cache is not None:
                self.cache.add_bar(bar.timeframe, bar.inst_id, schema.bar_fields(bar))

    # ----- load shedding and stopping ---------------------------------------------------------
    def shed_raw(self) -> None:
        """Stop recording raw frames (normalised events are still recorded)."""
        if not self.stats.raw_shed:
            self.stats.raw_shed = True
            self.recorder.record_raw = False
            log.warning("raw frames are no longer recorded (%d recorded so far)", self.stats.frames_recorded)

    def request_stop(self, reason: str) -> None:
        """End `run` cleanly, as a signal does; `stopped_by` says why."""
        if not self._stop.is_set():
            self.stopped_by = reason
            self._stop.set()

    # ----- running -----------------------------------------------------------------------------
    async def run(self, duration_s: float, stop: asyncio.Event | None = None,
                  progress: Callable[[dict], None] | None = None, progress_interval_s: float = 5.0) -> dict:
        """Collect for `duration_s`, or until `stop` is set (a signal) or `request_stop` is called."""
        self.started = time.monotonic()
        tasks = self._tasks
        if stop is not None:
            tasks.spawn(self._stop_on(stop), "stop")
        try:
            await self.recorder.start()
            await self.client.start()
            await self.client.subscribe(args_for(self.channels, self.symbols))
            tasks.spawn(self._consume, "consumer", OnFailure.RESTART)
            tasks.spawn(self._report(progress, progress_interval_s), "progress")
            try:
                await asyncio.wait_for(self._stop.wait(), duration_s)
            except TimeoutError:
                pass
        finally:
            await self._shutdown()
        return self.summary()

    async def _shutdown(self) -> None:
        """Stop receiving, let the consumer drain the queue, then finish the files and flush the
        cache: each step runs whatever the one before it raised."""
        try:
            await self.client.close()
            consumer = self._tasks.current("consumer")
            if consumer is not None:
                done, _ = await asyncio.wait({consumer}, timeout=DRAIN_TIMEOUT_S)
                if not done:
                    log.error("consumer did not drain the queue in %g s; %d events left", DRAIN_TIMEOUT_S,
                              len(self.client.queue))
        finally:
            try:
                await self._tasks.close()
            finally:
                try:
                    await self.recorder.close()
                finally:
                    if self.cache is not None:
                        await self.cache.flush(5.0)

    async def _stop_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.request_stop("signal")

    async def _consume(self) -> None:
        client = self.client
        while True:
            try:
                ev = await client.get()
            except QueueClosed:
                return
            self._handle_safely(ev)
            for ev in client.get_batch(CONSUME_BATCH):
                self._handle_safely(ev)

    async def _report(self, progress: Callable[[dict], None] | None, interval_s: float) -> None:
        if progress is None:
            return
        last = dict(self.client.stats.events)
        last_t = time.monotonic()
        while True:
            await asyncio.sleep(interval_s)
            now = time.monotonic()
            events = dict(self.client.stats.events)
            rates = {ch: (n - last.get(ch, 0)) / (now - last_t) for ch, n in sorted(events.items())}
            last, last_t = events, now
            progress({**self.snapshot(), "rates_per_s": rates})

    def snapshot(self) -> dict:
        """Where the collection stands (progress lines and the summary)."""
        client, feed = self.client, self.feed
        cs = client.stats
        q = client.queue.stats
        out = {
            "elapsed_s": round(time.monotonic() - self.started, 3),
            "frames": cs.sockets.frames,
            "events": dict(cs.events),
            "books_valid": feed.books_valid,
            "books_total": feed.books_total,
            "reconnects": sum(cs.reconnects.values()),
            "rollovers": sum(cs.rollovers.values()),
            "queue_depth": q.depth,
            "queue_max_depth": q.max_depth,
            "dropped": dict(q.dropped),
            "parse_errors": cs.parse_errors,
            "handler_errors": self.stats.handler_errors,
            "error_events": dict(cs.sockets.error_events),
            "bars_closed": self.stats.bars_closed,
            "late_trades": feed.late_trades,
            "outlier_trades": feed.outlier_trades,
            "recorder": self.recorder.stats.as_dict(),
        }
        if self.cache is not None:
            s = self.cache.stats
            out["redis"] = {"connected": s.connected, "backlog": self.cache.pending, "written": s.events_written,
                            "dropped": s.events_dropped, "outages": s.outages}
        return out

    def summary(self) -> dict:
        snap = self.snapshot()
        elapsed = max(snap["elapsed_s"], 1e-9)
        return {
            **snap,
            "stopped_by": self.stopped_by,
            "record_dir": str(self.record_dir),
            "frames_recorded": self.stats.frames_recorded,
            "raw_shed": self.stats.raw_shed,
            "rates_per_s": {ch: round(n / elapsed, 2) for ch, n in snap["events"].items()},
            "book_stats": self.feed.book_stats().as_dict(),
            "client": self.client.status(),
        }
