"""MarketFeed: the books, the bars and the top of book of one stream of market events, in one owner.

    feed = MarketFeed(channels, timeframes, grace_ms=2000, on_top=publish)
    client = AsyncOKXClient(endpoints, config, books=feed)     # the feed's resyncs go to the client
    ...
    update = feed.on_event(await client.get())
    if update.top is not None: ...                             # the top of book after this event
    for bar in update.bars: ...                                # the bars this event closed

What each event does:

- `BookMsg` -> its book (`okx.book.BookKeeper`: seqId chain, checksum, one resync per trouble). On the
  top channel (the most granular book channel subscribed, `TOP_OF_BOOK_PREFERENCE`) the update
  carries the instrument's `TopOfBook` after the message, and the message's exchange time ticks the
  instrument's bar clock.
- `Trade` on the bar channel (`bars.source_channel`: `trades-all` if subscribed, else `trades`) -> bars.
- `Ticker` -> its exchange time ticks the bar clock, so bars close while trading pauses.
- anything else (candles, private pushes): nothing.

An invalid book is never a price source: its `TopOfBook` has `valid=False` and keeps the last valid
prices, for display only.

The feed is the `BookOwner` of the sockets that feed it (`okx.bookhealth`, DESIGN rule 8): they
`invalidate` its books when they lose a message, ask whether a resync is pending, and hand it REST
snapshots (`seed_from_rest`); its resync requests go to the callback bound with `bind_resync`
(`AsyncOKXClient.resync`; unbound, e.g. over a recording, nothing is asked). Those calls change a top
of book between events, so they announce the new `TopOfBook` to `on_top`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from hftlab.domain.market import Bar, TopOfBook
from hftlab.marketdata.bars import MultiBarBuilder, source_channel
from hftlab.okx.book import BookKeeper, BookStats, OrderBook, ResyncCallback, SeedResult
from hftlab.okx.events import BookMsg, Ticker, Trade

# Which book feeds the top of book when several are subscribed: tick-by-tick first.
TOP_OF_BOOK_PREFERENCE = ("bbo-tbt", "books-l2-tbt", "books50-l2-tbt", "books", "books5")


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What one event changed: the new top of book (top channel only) and the bars it closed (oldest first)."""

    top: TopOfBook | None = None
    bars: tuple[Bar, ...] = ()


NOTHING = FeedUpdate()


class MarketFeed:
    def __init__(self, channels: Iterable[str], timeframes: Iterable[str], *, grace_ms: int = 0,
                 fill_empty: bool = False, on_top: Callable[[TopOfBook], None] | None = None,
                 buffer_max: int = 10_000):
        channels = list(channels)
        self.top_channel = next((ch for ch in TOP_OF_BOOK_PREFERENCE if ch in channels), None)
        self.bar_channel = source_channel(channels)
        self._books = BookKeeper(buffer_max=buffer_max)
        self._bars = MultiBarBuilder(timeframes, grace_ms=grace_ms, fill_empty=fill_empty)
        self._tops: dict[str, TopOfBook] = {}  # inst_id -> its latest top of book
        self._on_top = on_top

    def __repr__(self) -> str:
        return (f"MarketFeed(top={self.top_channel}, bars={self.bar_channel}, "
                f"books {self.books_valid}/{self.books_total} valid)")

    # ----- the stream --------------------------------------------------------------------------
    def on_event(self, ev: Any) -> FeedUpdate:
        kind = type(ev)
        if kind is BookMsg:
            self._books.apply(ev)
            if ev.channel != self.top_channel:
                return NOTHING
            bars = self._bars.advance(ev.inst_id, ev.ts_ms)
            return FeedUpdate(self._top(ev.channel, ev.inst_id), tuple(bars) if bars else ())
        if kind is Trade:
            if ev.channel != self.bar_channel:
                return NOTHING
            bars = self._bars.add(ev)
        elif kind is Ticker:
            bars = self._bars.advance(ev.inst_id, ev.ts_ms)
        else:
            return NOTHING
        return FeedUpdate(bars=tuple(bars)) if bars else NOTHING

    def _top(self, channel: str, inst_id: str) -> TopOfBook:
        top = self._books.books[(channel, inst_id)].top_of_book()
        if not top.valid:
            last = self._tops.get(inst_id)
            if last is not None:
                top = replace(last, valid=False, recv_ns=top.recv_ns)
        self._tops[inst_id] = top
        return top

    def _announce(self, channel: str, inst_id: str) -> None:
        if channel == self.top_channel:
            top = self._top(channel, inst_id)
            if self._on_top is not None:
                self._on_top(top)

    # ----- the sockets' side (BookOwner) -------------------------------------------------------
    def bind_resync(self, resync: ResyncCallback) -> None:
        self._books.bind_resync(resync)

    def invalidate(self, channel: str, inst_id: str, reason: str) -> bool:
        served = self._books.invalidate(channel, inst_id, reason)
        if served:
            self._announce(channel, inst_id)
        return served

    def resync_pending(self, channel: str, inst_id: str) -> bool:
        return self._books.resync_pending(channel, inst_id)

    def seed_from_rest(self, channel: str, inst_id: str, data0: dict[str, Any]) -> SeedResult:
        result = self._books.seed_from_rest(channel, inst_id, data0)
        if result is SeedResult.SEEDED:
            self._announce(channel, inst_id)
        return result

    # ----- reading -----------------------------------------------------------------------------
    def top(self, inst_id: str) -> TopOfBook | None:
        """The latest top of book of `inst_id` on the top channel (None before its first book message)."""
        return self._tops.get(inst_id)

    def book(self, channel: str, inst_id: str) -> OrderBook | None:
        """The book if it may be served (valid), else None."""
        return self._books.get(channel, inst_id)

    @property
    def books_valid(self) -> int:
        return sum(1 for b in self._books.books.values() if b.valid)

    @property
    def books_total(self) -> int:
        return len(self._books.books)

    def book_stats(self) -> BookStats:
        return self._books.stats()

    @property
    def late_trades(self) -> int:
        return self._bars.late_trades

    @property
    def outlier_trades(self) -> int:
        """Trades held as an implausible jump of exchange time and not confirmed (marketdata/bars.py)."""
        return self._bars.outlier_trades
