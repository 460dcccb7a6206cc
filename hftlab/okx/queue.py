"""The bounded queue between the socket readers and the consumers, with an explicit backpressure policy.

Readers never wait for consumers (a blocked reader stops answering the venue, which then drops the
connection), so a full queue must drop something. The policy, in order:

1. Drop the oldest *market* event (trade, ticker, candle) — the newest one counts too, so a trade
   arriving at a queue full of book updates is the one dropped. These are snapshots of a moving
   market; losing one loses information but never corrupts state. Each drop is counted per channel.
2. Only when no market event is queued, drop the oldest *book* event and call `on_book_drop(msg)`:
   a book that missed an update is wrong from that point on, so it must be invalidated and
   resynchronised, never silently continue (the consumer-side drop of ccxt #23251).
3. Private pushes (orders, positions, account) are never dropped: the queue grows past `maxsize`
   for them (counted in `overflow`). They are rare and losing one would desynchronise order state.

Events leave in arrival order across all three classes (each class is a deque tagged with a
sequence number; `get` takes the oldest head), so dropping from the middle costs O(1).

Any number of consumers may wait in `get` at once: every put wakes them all (whoever finds the
queue empty again waits again), and `close()` wakes them all too, so no waiter is left behind.
After `close()`, `put` refuses every event (counted in `after_close`): nothing is queued that no
consumer will read.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hftlab.core.metrics import Stats
from hftlab.okx.events import BookMsg, Candle, Event, Ticker, Trade


class QueueClosed(Exception):
    """`get` on a closed queue that has been drained."""


def channel_of(ev: Event) -> str:
    if isinstance(ev, Ticker):
        return "tickers"
    return getattr(ev, "channel", type(ev).__name__)


@dataclass(slots=True)
class QueueStats(Stats):
    maxsize: int
    depth: int = 0
    max_depth: int = 0
    put: int = 0
    dropped: Counter = field(default_factory=Counter)  # channel -> events dropped
    books_invalidated: int = 0
    overflow: int = 0  # private events admitted beyond maxsize
    after_close: int = 0  # events refused because the queue was closed

    def as_dict(self) -> dict:
        return {**Stats.as_dict(self), "dropped_total": sum(self.dropped.values())}


class EventQueue:
    def __init__(self, maxsize: int, on_book_drop: Callable[[BookMsg], None] | None = None):
        if maxsize < 1:
            raise ValueError(f"queue maxsize must be >= 1 (got {maxsize})")
        self.maxsize = maxsize
        self.on_book_drop = on_book_drop
        self.stats = QueueStats(maxsize)
        self._market: deque[tuple[int, Event]] = deque()
        self._book: deque[tuple[int, BookMsg]] = deque()
        self._critical: deque[tuple[int, Event]] = deque()
        self._seq = 0
        self._waiters: list[asyncio.Future] = []
        self._closed = False

    def __len__(self) -> int:
        return len(self._market) + len(self._book) + len(self._critical)

    def put(self, ev: Event) -> bool:
        """Enqueue without waiting; False if `ev` itself was the event dropped (or the queue is closed)."""
        stats = self.stats
        if self._closed:
            stats.after_close += 1
            return False
        stats.put += 1
        self._seq += 1
        market = isinstance(ev, (Trade, Ticker, Candle))
        accepted = True
        if len(self) >= self.maxsize:
            if self._market:
                _s, old = self._market.popleft()
                stats.dropped[channel_of(old)] += 1
            elif market:
                stats.dropped[channel_of(ev)] += 1
                accepted = False
            elif self._book:
                _s, old_book = self._book.popleft()
                self._drop_book(old_book)
            else:
                stats.overflow += 1
        if accepted:
            if market:
                self._market.append((self._seq, ev))
            elif isinstance(ev, BookMsg):
                self._book.append((self._seq, ev))
            else:
                self._critical.append((self._seq, ev))
            n = len(self)
            stats.depth = n
            if n > stats.max_depth:
                stats.max_depth = n
            if self._waiters:
                self._wake()
        return accepted

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def _drop_book(self, msg: BookMsg) -> None:
        self.stats.dropped[msg.channel] += 1
        self.stats.books_invalidated += 1
        if self.on_book_drop is not None:
            self.on_book_drop(msg)

    def get_nowait(self) -> Event:
        best: deque | None = None
        for d in (self._market, self._book, self._critical):
            if d and (best is None or d[0][0] < best[0][0]):
                best = d
        if best is None:
            if self._closed:
                raise QueueClosed
            raise asyncio.QueueEmpty
        ev = best.popleft()[1]
        self.stats.depth = len(self)
        return ev

    async def get(self) -> Event:
        while True:
            try:
                return self.get_nowait()
            except asyncio.QueueEmpty:
                w = asyncio.get_running_loop().create_future()
                self._waiters.append(w)
                try:
                    await w
                finally:
                    if not w.done():  # cancelled while waiting
                        self._waiters.remove(w)

    def get_batch(self, max_n: int) -> list[Event]:
        """Up to `max_n` events without waiting (consumers amortise per-call overhead)."""
        out: list[Event] = []
        try:
            while len(out) < max_n:
                out.append(self.get_nowait())
        except (asyncio.QueueEmpty, QueueClosed):
            pass
        return out

    def close(self) -> None:
        """No more puts will come; `get` drains what is queued, then raises QueueClosed."""
        self._closed = True
        self._wake()

    @property
    def closed(self) -> bool:
        return self._closed
