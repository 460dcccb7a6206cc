"""The collector: one OKX client feeding books, bars, the Parquet recorder and the Redis hot cache.

    client (sockets, recv_ns) ──raw frames──────────────────────────► recorder raw/
       │ queue
       ▼
    consumer: BookMsg -> BookKeeper -> top of book ─► Redis P:book:{inst} (valid flag, seqId)
              Trade   -> bars (1s, 3s, 1m, ...)   ─► Redis P:trades / P:bar(s), recorder events/bar
              Ticker  ─────────────────────────────► Redis P:ticker:{inst}
              every event ─────────────────────────► recorder events/<type>/

Bars close on exchange time: a trade past the bar's end closes it, and so does the instrument's
exchange clock (the newest `ts` of its book and ticker pushes) once it is `bar_grace_ms` past the
end, so bars keep coming when trading pauses (see hftlab.marketdata.bars).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hftlab.marketdata.bars import MultiBarBuilder, source_channel
from hftlab.collect.recorder import Recorder
from hftlab.domain.market import Bar
from hftlab.okx.channels import Endpoints, args_for
from hftlab.okx.client import AsyncOKXClient, ClientOptions
from hftlab.okx.events import BookMsg, Candle, PrivatePush, Ticker, Trade
from hftlab.okx.queue import QueueClosed

log = logging.getLogger(__name__)

# Which book feeds the cached top of book when several are subscribed: tick-by-tick first.
TOP_OF_BOOK_PREFERENCE = ("bbo-tbt", "books-l2-tbt", "books50-l2-tbt", "books", "books5")
CONSUME_BATCH = 1000


def bar_fields(bar: Bar) -> dict[str, Any]:
    return {"ts": bar.ts_ms, "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
            "volume": bar.volume, "trades": bar.trade_count, "vwap": bar.vwap, "buyVolume": bar.buy_volume,
            "sellVolume": bar.sell_volume}


class Collector:
    def __init__(
        self,
        settings,
        endpoints: Endpoints,
        record_dir: Path,
        *,
        cache=None,  # hftlab.cache.manager.RedisCacheManager, started; None: no Redis
        options: ClientOptions | None = None,
        rotate_s: float | None = None,
        bar_grace_ms: int | None = None,
        fill_empty_bars: bool | None = None,
    ):
        # keyword arguments override the config (tests shorten the timings)
        self.settings = settings
        t, c = settings.trading, settings.collect
        self.channels = list(t.channels)
        self.symbols = list(t.symbols)
        self.record_dir = Path(record_dir)
        self.cache = cache
        self.recorder = Recorder(self.record_dir, record_raw=c.record_raw, flush_interval_s=c.flush_interval_s,
                                 rotate_rows=c.rotate_rows, rotate_s=c.rotate_s if rotate_s is None else rotate_s)
        self.options = options or ClientOptions(**settings.client.model_dump())
        self.client = AsyncOKXClient(endpoints, options=self.options, on_frame=self._tap)
        self.bars = MultiBarBuilder(
            t.timeframes,
            grace_ms=c.bar_grace_ms if bar_grace_ms is None else bar_grace_ms,
            fill_empty=c.fill_empty_bars if fill_empty_bars is None else fill_empty_bars,
        )
        self.bar_channel = source_channel(self.channels)
        self.top_channel = next((ch for ch in TOP_OF_BOOK_PREFERENCE if ch in self.channels), None)
        self.frames_tapped = 0
        self.bars_closed = 0
        self.events = 0
        self.started = 0.0
        self.stopped_by = "duration"

    # ----- wiring ------------------------------------------------------------------------------
    def _tap(self, frame: str | bytes, recv_ns: int, channel: str, inst_id: str) -> None:
        self.frames_tapped += 1
        self.recorder.add_raw(recv_ns, channel, inst_id, frame)

    def _handle(self, ev: Any) -> None:
        self.events += 1
        rec, cache = self.recorder, self.cache
        rec.add_event(ev)
        if isinstance(ev, BookMsg):
            self.client.books.apply(ev)
            if ev.channel == self.top_channel:
                if cache is not None:
                    self._publish_top(ev)
                self._closed_bars(self.bars.advance(ev.inst_id, ev.ts_ms))
        elif isinstance(ev, Trade):
            if cache is not None:
                cache.add_trade(ev.inst_id, {"tradeId": ev.trade_id, "px": ev.px, "sz": ev.sz, "side": ev.side,
                                             "ts": ev.ts_ms})
            if ev.channel == self.bar_channel:
                self._closed_bars(self.bars.add(ev))
        elif isinstance(ev, Ticker):
            if cache is not None:
                cache.set_ticker(ev.inst_id, ev.fields)
            self._closed_bars(self.bars.advance(ev.inst_id, ev.ts_ms))
        elif not isinstance(ev, (Candle, PrivatePush)):
            log.debug("collector ignores %s", type(ev).__name__)

    def _publish_top(self, ev: BookMsg) -> None:
        book = self.client.books.books.get((ev.channel, ev.inst_id))
        if book is not None and book.valid:
            top = book.top_of_book()
            self.cache.set_top_of_book(ev.inst_id, {
                "bidPx": top["bid_px"], "bidSz": top["bid_sz"], "askPx": top["ask_px"], "askSz": top["ask_sz"],
                "ts": top["ts_ms"], "seqId": top["seq_id"], "valid": 1})
        else:  # never serve an invalid book: the last prices stay, flagged invalid
            self.cache.set_top_of_book(ev.inst_id, {"valid": 0})

    def _closed_bars(self, bars: list[Bar]) -> None:
        for bar in bars:
            self.bars_closed += 1
            self.recorder.add_event(bar)
            if self.cache is not None:
                self.cache.add_bar(bar.timeframe, bar.inst_id, bar_fields(bar))

    # ----- running -----------------------------------------------------------------------------
    async def run(self, duration_s: float, stop: asyncio.Event | None = None,
                  progress: Callable[[dict], None] | None = None, progress_interval_s: float = 5.0) -> dict:
        stop = stop or asyncio.Event()
        self.started = time.monotonic()
        await self.recorder.start()
        await self.client.start()
        await self.client.subscribe(args_for(self.channels, self.symbols))
        consumer = asyncio.create_task(self._consume(), name="collect-consumer")
        reporter = asyncio.create_task(self._report(progress, progress_interval_s), name="collect-progress")
        try:
            try:
                await asyncio.wait_for(stop.wait(), duration_s)
                self.stopped_by = "signal"
            except TimeoutError:
                pass
        finally:
            reporter.cancel()
            # Stop receiving, then let the consumer drain the queue before the files are closed.
            await self.client.close()
            try:
                await asyncio.wait_for(consumer, 30)
            except TimeoutError:
                consumer.cancel()
                log.error("consumer did not drain the queue in 30 s; %d events left", len(self.client.queue))
            await self.recorder.close()
            if self.cache is not None:
                await self.cache.flush(5.0)
        return self.summary()

    async def _consume(self) -> None:
        client = self.client
        while True:
            try:
                ev = await client.get()
            except QueueClosed:
                return
            self._handle(ev)
            for ev in client.get_batch(CONSUME_BATCH):
                self._handle(ev)

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
        client, books = self.client, self.client.books
        cs = client.stats
        q = client.queue.stats
        valid = sum(1 for b in books.books.values() if b.valid)
        out = {
            "elapsed_s": round(time.monotonic() - self.started, 3),
            "frames": cs.frames,
            "events": dict(cs.events),
            "books_valid": valid,
            "books_total": len(books.books),
            "reconnects": sum(cs.reconnects.values()),
            "rollovers": sum(cs.rollovers.values()),
            "queue_depth": q.depth,
            "queue_max_depth": q.max_depth,
            "dropped": dict(q.dropped),
            "parse_errors": cs.parse_errors,
            "error_events": dict(cs.error_events),
            "bars_closed": self.bars_closed,
            "late_trades": self.bars.late_trades,
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
            "frames_recorded": self.frames_tapped if self.settings.collect.record_raw else 0,
            "rates_per_s": {ch: round(n / elapsed, 2) for ch, n in snap["events"].items()},
            "book_stats": self.client.books.stats().as_dict(),
            "client": self.client.status(),
        }
