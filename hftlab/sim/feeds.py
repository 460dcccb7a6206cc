"""Market-data publication: after each exchange step, build OKX frames for the channels someone is
subscribed to and hand them to the hub (serialised once, fanned out to every subscriber).

Per instrument one sequence space, shared by `books`, `books5`, `bbo-tbt` and `trades`: every
`books` publication spends a new seqId, larger by a varying amount; the update names the previous
one in `prevSeqId`; a subscriber's snapshot carries `prevSeqId: -1` and the current seqId, so the
next update chains onto it. Nothing changed for `keepalive_s`: an empty update with seqId ==
prevSeqId, as OKX sends for idle books. `checksum` is 0 (OKX since 2026-06) unless the legacy mode
fills the CRC32 of the post-update top 25 levels.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Iterable

import orjson

from hftlab.okx.checksum import okx_checksum
from hftlab.sim.hub import Hub

CHECKSUM_DEPTH = 25
SNAPSHOT_DEPTH = 400


def candle_bar(channel: str) -> str | None:
    """`candle1m` -> `1m`; None for other channels."""
    return channel[6:] if channel.startswith("candle") and len(channel) > 6 else None


def levels(rows: Iterable[tuple]) -> list[list[str]]:
    """(px, sz, count) -> OKX level [px, sz, "0", count] (index 2: the deprecated liquidation field)."""
    return [[px, sz, "0", str(count)] for px, sz, count in rows]


class SeqChain:
    """An instrument's market-data sequence: ids start large and grow by varying steps."""

    def __init__(self, inst_id: str, seed: int):
        self._rng = random.Random(seed * 1_000_003 + zlib.crc32(inst_id.encode()))
        self.last = self._rng.randrange(10**10, 10**11)

    def next(self) -> int:
        self.last += self._rng.randint(1, 97)
        return self.last


class PublishedBook:
    """The book as published so far (the state at the chain's last seqId): what a snapshot, on
    subscribe or over REST, must show so that the next update applies cleanly to it. The exchange's
    current book can be ahead of it, and a level that appeared and vanished in between would
    otherwise linger in the subscriber's copy."""

    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: dict[str, tuple[str, int]] = {}
        self.asks: dict[str, tuple[str, int]] = {}

    def apply(self, bids, asks) -> None:
        for side, changes in ((self.bids, bids), (self.asks, asks)):
            for px, sz, count in changes:
                if sz == "0":
                    side.pop(px, None)
                else:
                    side[px] = (sz, count)

    def levels(self, depth: int) -> tuple[list[tuple], list[tuple]]:
        bids = sorted(self.bids, key=float, reverse=True)[:depth]
        asks = sorted(self.asks, key=float)[:depth]
        return [(p, *self.bids[p]) for p in bids], [(p, *self.asks[p]) for p in asks]


class _InstState:
    __slots__ = ("seq", "book", "books_ts", "last_books_pub", "top5", "bbo", "ticker_sig", "pending_trades")

    def __init__(self, inst_id: str, seed: int, ts: int):
        self.seq = SeqChain(inst_id, seed)
        self.book = PublishedBook()
        self.books_ts = ts  # exchange time of the last books publication
        self.last_books_pub = time.monotonic()
        self.top5: tuple | None = None
        self.bbo: tuple | None = None
        self.ticker_sig: tuple | None = None
        self.pending_trades: dict[str, list] = {"trades": [], "trades-all": []}


class MarketFeeds:
    def __init__(self, exchange, hub: Hub, faults, *, seed: int = 7, legacy_checksum: bool = False,
                 keepalive_s: float = 60.0, candle_channels: Iterable[str] = ("candle1s", "candle1m"),
                 external_keys: Iterable[tuple[str, str]] = ()):
        self.ex = exchange
        self.hub = hub
        self.faults = faults
        self.legacy_checksum = legacy_checksum
        self.keepalive_s = keepalive_s
        self.candle_channels = frozenset(candle_channels)
        self.external = frozenset(external_keys)  # (channel, instId) served by a replay instead
        self.state = {inst: _InstState(inst, seed, exchange.now_ms) for inst in exchange.instruments}
        for inst_id, st in self.state.items():
            st.book.apply(*exchange.take_book_changes(inst_id))  # the chain starts from the book as it is
        self._second = -1
        self._candle_last: dict[tuple[str, str], list] = {}
        # an observer of the books' truth (the soak's oracle): (instId, seqId, bid changes, ask changes)
        # for every seqId spent, published or lost to a fault
        self.on_books: Callable[[str, int, list, list], None] | None = None

    # --- what is served ----------------------------------------------------------------------
    def serves(self, channel: str, inst_id: str) -> bool:
        if inst_id not in self.state:
            return False
        return channel in ("books", "books5", "bbo-tbt", "tickers", "trades", "trades-all") or \
            channel in self.candle_channels

    def _live(self, channel: str, inst_id: str) -> bool:
        key = (channel, inst_id)
        return key in self.hub.subs and key not in self.external

    # --- frames ----------------------------------------------------------------------------------
    def _true_checksum(self, inst_id: str) -> int:
        bids, asks = self.state[inst_id].book.levels(CHECKSUM_DEPTH)
        return okx_checksum(bids, asks)

    def _checksum(self, inst_id: str) -> int:
        return self._true_checksum(inst_id) if self.legacy_checksum else 0

    def _corrupted(self, inst_id: str) -> int:
        """A checksum that is wrong for the published book (non-zero even when checksums are off)."""
        wrong = self._true_checksum(inst_id) ^ 1
        return wrong if wrong != 0 else 2

    def published_book(self, inst_id: str, depth: int) -> tuple[list[tuple], list[tuple], int]:
        """(bids, asks, seqId): the book as of the last books publication (REST market/books too)."""
        st = self.state[inst_id]
        bids, asks = st.book.levels(depth)
        return bids, asks, st.seq.last

    def books_snapshot(self, inst_id: str) -> bytes:
        bids, asks, seq = self.published_book(inst_id, SNAPSHOT_DEPTH)
        return orjson.dumps({
            "arg": {"channel": "books", "instId": inst_id}, "action": "snapshot",
            "data": [{"asks": levels(asks), "bids": levels(bids), "ts": str(self.state[inst_id].books_ts),
                      "checksum": self._checksum(inst_id), "prevSeqId": -1, "seqId": seq}],
        })

    def _top_frame(self, channel: str, inst_id: str, bids, asks, ts: int) -> bytes:
        data = {"asks": levels(asks), "bids": levels(bids)}
        if channel == "books5":
            data["instId"] = inst_id
        data["ts"] = str(ts)
        data["seqId"] = self.state[inst_id].seq.last
        return orjson.dumps({"arg": {"channel": channel, "instId": inst_id}, "data": [data]})

    def _ticker_frame(self, inst_id: str, ticker: dict) -> bytes:
        return orjson.dumps({"arg": {"channel": "tickers", "instId": inst_id}, "data": [ticker]})

    def _trade_frame(self, channel: str, inst_id: str, t, seq_id: int) -> bytes:
        """`trades`: one message per taker order and price with `count`/`seqId`; `trades-all` without."""
        d = {"instId": inst_id, "tradeId": t.trade_id, "px": t.px, "sz": t.sz, "side": t.side, "ts": str(t.ts_ms)}
        if channel == "trades":
            d.update(count=str(t.count), source="0", seqId=seq_id)
        else:
            d["source"] = "0"
        return orjson.dumps({"arg": {"channel": channel, "instId": inst_id}, "data": [d]})

    def _candle_frame(self, channel: str, inst_id: str, row: list) -> bytes:
        return orjson.dumps({"arg": {"channel": channel, "instId": inst_id}, "data": [row]})

    def initial(self, channel: str, inst_id: str) -> bytes | None:
        """What a new subscriber gets first: the book snapshot, the current top/ticker/candle."""
        if channel == "books":
            return self.books_snapshot(inst_id)
        if channel in ("books5", "bbo-tbt"):
            bids, asks = self.ex.book_levels(inst_id, 5 if channel == "books5" else 1)
            return self._top_frame(channel, inst_id, bids, asks, self.ex.now_ms)
        if channel == "tickers":
            return self._ticker_frame(inst_id, self.ex.ticker(inst_id))
        bar = candle_bar(channel)
        if bar is not None:
            rows = self.ex.candles(inst_id, bar, limit=1)
            return self._candle_frame(channel, inst_id, rows[0]) if rows else None
        return None

    # --- one step ----------------------------------------------------------------------------------
    def step(self, t_ms: int) -> None:
        """Publish what changed since the previous step (the exchange has advanced to t_ms)."""
        now = time.monotonic()
        for inst_id, st in self.state.items():
            self._books(inst_id, st, t_ms, now)
            self._tops(inst_id, st, t_ms)
            self._trades(inst_id, st)
            if self._live("tickers", inst_id) and not self.faults.stalled("tickers", inst_id):
                ticker = self.ex.ticker(inst_id)
                sig = (ticker.get("last"), ticker.get("lastSz"), ticker.get("askPx"), ticker.get("askSz"),
                       ticker.get("bidPx"), ticker.get("bidSz"))
                if sig != st.ticker_sig:
                    st.ticker_sig = sig
                    self.hub.publish(("tickers", inst_id), self._ticker_frame(inst_id, ticker))
        second = t_ms // 1000
        if second != self._second:
            self._second = second
            self._candles()

    def _books(self, inst_id: str, st: _InstState, t_ms: int, now: float) -> None:
        key = ("books", inst_id)
        if self.faults.stalled("books", inst_id):
            return  # changes stay in the exchange and go out, merged, when the stall ends
        bids, asks = self.ex.take_book_changes(inst_id)
        if key in self.external:
            return
        if bids or asks:
            st.book.apply(bids, asks)
        if not bids and not asks:
            if now - st.last_books_pub >= self.keepalive_s:
                st.last_books_pub = now
                if key in self.hub.subs:
                    seq = st.seq.last
                    self.hub.publish(key, orjson.dumps({
                        "arg": {"channel": "books", "instId": inst_id}, "action": "update",
                        "data": [{"asks": [], "bids": [], "ts": str(t_ms), "checksum": self._checksum(inst_id),
                                  "prevSeqId": seq, "seqId": seq}]}))
            return
        prev = st.seq.last
        seq = st.seq.next()
        st.last_books_pub = now
        st.books_ts = t_ms
        if self.on_books is not None:
            self.on_books(inst_id, seq, bids, asks)
        if key not in self.hub.subs or self.faults.take_skip(inst_id, seq):
            return
        checksum = self._corrupted(inst_id) if self.faults.take_corrupt(inst_id, seq) else self._checksum(inst_id)
        self.hub.publish(key, orjson.dumps({
            "arg": {"channel": "books", "instId": inst_id}, "action": "update",
            "data": [{"asks": levels(asks), "bids": levels(bids), "ts": str(t_ms), "checksum": checksum,
                      "prevSeqId": prev, "seqId": seq}]}))

    def _tops(self, inst_id: str, st: _InstState, t_ms: int) -> None:
        live5 = self._live("books5", inst_id) and not self.faults.stalled("books5", inst_id)
        live1 = self._live("bbo-tbt", inst_id) and not self.faults.stalled("bbo-tbt", inst_id)
        if not (live5 or live1):
            return
        bids, asks = self.ex.book_levels(inst_id, 5)
        if live5:
            sig = (tuple(bids), tuple(asks))
            if sig != st.top5:
                st.top5 = sig
                self.hub.publish(("books5", inst_id), self._top_frame("books5", inst_id, bids, asks, t_ms))
        if live1:
            sig = (tuple(bids[:1]), tuple(asks[:1]))
            if sig != st.bbo:
                st.bbo = sig
                self.hub.publish(("bbo-tbt", inst_id), self._top_frame("bbo-tbt", inst_id, bids[:1], asks[:1], t_ms))

    def _trades(self, inst_id: str, st: _InstState) -> None:
        trades = self.ex.take_trades(inst_id)
        for channel in ("trades", "trades-all"):
            if not self._live(channel, inst_id):
                continue
            pending = st.pending_trades[channel]
            if self.faults.stalled(channel, inst_id):
                pending.extend(trades)
                continue
            if pending:
                trades_out = pending + trades
                pending.clear()
            else:
                trades_out = trades
            key = (channel, inst_id)
            for t in trades_out:
                self.hub.publish(key, self._trade_frame(channel, inst_id, t, st.seq.last))

    def _candles(self) -> None:
        for key in [k for k in self.hub.subs if k[0] in self.candle_channels and k[1] in self.state]:
            channel, inst_id = key
            if key in self.external or self.faults.stalled(channel, inst_id):
                continue
            rows = self.ex.candles(inst_id, candle_bar(channel), limit=2)
            if not rows:
                continue
            last = self._candle_last.get(key)
            if last is not None and rows[0][0] != last[0] and len(rows) > 1 and rows[1][0] == last[0]:
                self.hub.publish(key, self._candle_frame(channel, inst_id, rows[1]))  # the bar just closed
            if rows[0] != last:
                self._candle_last[key] = rows[0]
                self.hub.publish(key, self._candle_frame(channel, inst_id, rows[0]))
