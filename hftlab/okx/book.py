"""Sequence-checked OKX order books.

`OrderBook` is one (channel, instId) book: a snapshot replaces it; an update must chain
(`prevSeqId == last seqId`; keep-alives `seqId == prevSeqId` and resets `seqId < prevSeqId` pass the
same rule; a missing `prevSeqId` — 2022-era data — is "unknown", so only the checksum guards); the
legacy CRC32 checksum is verified whenever it is non-zero (0 or absent means "not provided", OKX's
behaviour since 2026-06). A break, a mismatch or a malformed level marks the book invalid: it is not
served, and updates are ignored until a fresh snapshot. Deleting an unknown price is a no-op; crossed
books (pre-open, call auction) are counted, not rejected. `books5`/`bbo-tbt` pushes replace the top.

`BookKeeper` holds every book of a feed, asks for at most ONE resync per book until a snapshot
comes (no resubscription storm), and buffers updates while a book awaits its snapshot so that it can
be seeded from REST `/api/v5/market/books` (protocol doc §3.4, `splice_rest_snapshot`). It is a
`BookOwner` (`okx/bookhealth.py`): the sockets invalidate its books and feed it REST snapshots only
through those methods; timing (staleness, retries, when to seed) is theirs.

Each side is an `okx.levels.Levels`: the levels as OKX sent them (`[px, sz, "0", numOrders]`, strings
untouched), sorted by numeric price, best first (compiled; an update whose levels come best first, as
OKX sends them, is merged in one pass). The checksum reads the first 25 levels of each side; nothing
re-sorts the book.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hftlab.core.metrics import Stats
from hftlab.domain.market import TopOfBook
from hftlab.okx.checksum import crc32_signed
from hftlab.okx.events import BookMsg, Level
from hftlab.okx.levels import Levels, checksum_text


class Status(StrEnum):
    """What applying one book message did."""

    SNAPSHOT = "snapshot"  # the book was replaced (snapshot, books5/bbo-tbt push, REST seed)
    UPDATE = "update"  # chained and applied (keep-alives and sequence resets included)
    IGNORED = "ignored"  # the book is invalid and awaits a snapshot
    SKIPPED = "skipped"  # an update already contained in the REST snapshot the book was seeded from
    BREAK = "break"  # prevSeqId does not chain: the book is now invalid
    MISMATCH = "mismatch"  # non-zero checksum differs from the book's: the book is now invalid
    MALFORMED = "malformed"  # a level could not be read (price/size not a finite number): invalid


_UPDATE, _SNAPSHOT, _IGNORED, _SKIPPED = Status.UPDATE, Status.SNAPSHOT, Status.IGNORED, Status.SKIPPED


class SeedResult(StrEnum):
    SEEDED = "seeded"  # book built from the REST snapshot and every buffered update after it
    REFETCH = "refetch"  # the REST snapshot predates the buffered updates: fetch it again
    BREAK = "break"  # the buffered updates do not continue the REST snapshot: fetch again


@dataclass(slots=True)
class BookStats(Stats):
    snapshots: int = 0
    rest_seeds: int = 0
    updates: int = 0
    seq_checked: int = 0  # updates whose prevSeqId was checked against the last seqId
    keepalives: int = 0  # updates with seqId == prevSeqId
    resets: int = 0  # updates with seqId < prevSeqId (sequence reset after maintenance)
    checksum_verified: int = 0
    checksum_mismatched: int = 0
    checksum_absent: int = 0  # checksum 0 or missing: nothing to verify
    breaks: int = 0
    malformed: int = 0
    crossed: int = 0  # messages after which best bid >= best ask
    ignored: int = 0  # updates received while the book awaited a snapshot
    skipped: int = 0  # updates already contained in the REST snapshot the book was seeded from
    resyncs: int = 0  # resync requests made by the keeper


@dataclass(slots=True)
class RestSnapshot:
    """`GET /api/v5/market/books` answer `data[0]`: {asks, bids, ts, seqId}."""

    asks: list[Level]
    bids: list[Level]
    ts_ms: int
    seq_id: int

    @classmethod
    def from_response(cls, data0: dict[str, Any]) -> RestSnapshot:
        """Raises ValueError naming what is wrong (the REST answer is the client's input)."""
        try:
            asks, bids, seq = data0["asks"], data0["bids"], data0["seqId"]
            ts = int(data0["ts"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"REST books data[0] needs asks, bids, ts and seqId: {e!r}") from None
        if type(asks) is not list or type(bids) is not list or type(seq) is not int:
            raise ValueError("REST books data[0]: asks/bids must be arrays and seqId an integer")
        return cls(asks, bids, ts, seq)


class OrderBook:
    """One (channel, instId) book. Read it only while `valid`."""

    __slots__ = ("channel", "inst_id", "valid", "reason", "seq_id", "ts_ms", "recv_ns", "stats",
                 "_bids", "_asks", "_checksum", "_seeded")

    def __init__(self, channel: str = "books", inst_id: str = "") -> None:
        self.channel = channel
        self.inst_id = inst_id
        self.valid = False
        self.reason = "no snapshot yet"  # why the book is invalid
        self.seq_id: int | None = None  # last seqId applied; None: unknown (2022-era data)
        self.ts_ms = 0  # exchange time of the last message applied
        self.recv_ns = 0  # local receive time of the last message seen (applied or not)
        self.stats = BookStats()
        self._bids = Levels(-1.0)
        self._asks = Levels(1.0)
        self._checksum: int | None = None  # of the current top levels; None: to compute
        self._seeded = False  # set by a REST seed: the next update chains by prevSeqId <= seq_id < seqId

    # -- applying messages ---------------------------------------------------------------------

    def apply(self, msg: BookMsg) -> Status:
        stats = self.stats
        self.recv_ns = msg.recv_ns
        if msg.action == "update":
            if not self.valid:
                stats.ignored += 1
                return _IGNORED
            prev, seq, last = msg.prev_seq_id, msg.seq_id, self.seq_id
            if prev is not None and last is not None:
                if prev != last:
                    # After a REST seed the first update only needs prevSeqId <= seqId(REST) < seqId;
                    # one with seqId <= seqId(REST) is already in the snapshot.
                    if not self._seeded or prev > last:
                        stats.breaks += 1
                        self.invalidate(f"sequence break: prevSeqId {prev} after seqId {last}")
                        return Status.BREAK
                    if seq is not None and seq <= last:
                        stats.skipped += 1
                        return Status.SKIPPED
                stats.seq_checked += 1
            bids, asks = msg.bids, msg.asks
            try:  # most updates touch one side only: skip the other's call
                if bids and self._bids.apply(bids):
                    self._checksum = None
                if asks and self._asks.apply(asks):
                    self._checksum = None
            except (ValueError, TypeError, IndexError, KeyError) as e:
                return self._malformed(e)
            self._seeded = False
            if seq is not None:
                if prev is not None:
                    if seq == prev:
                        stats.keepalives += 1
                    elif seq < prev:
                        stats.resets += 1
                self.seq_id = seq
            stats.updates += 1
            status = _UPDATE
        else:  # "snapshot", or None: a books5 / bbo-tbt push replaces the top
            try:
                self._replace(msg.bids, msg.asks)
            except (ValueError, TypeError, IndexError, KeyError) as e:
                return self._malformed(e)
            self.seq_id = msg.seq_id
            self._seeded = False
            self.valid = True
            self.reason = ""
            stats.snapshots += 1
            status = _SNAPSHOT
        self.ts_ms = msg.ts_ms
        expected = msg.checksum
        if expected:
            actual = self.checksum()
            if actual != expected:
                stats.checksum_mismatched += 1
                self.invalidate(f"checksum mismatch: book {actual} != message {expected}")
                return Status.MISMATCH
            stats.checksum_verified += 1
        else:
            stats.checksum_absent += 1
        bk, ak = self._bids.best_key(), self._asks.best_key()
        if bk is not None and ak is not None and -bk >= ak:
            stats.crossed += 1
        return status

    def load_rest(self, snap: RestSnapshot, recv_ns: int) -> Status:
        """Replace the book with a REST snapshot; the next update chains by `prevSeqId <= seqId < next`."""
        self.recv_ns = recv_ns
        try:
            self._replace(snap.bids, snap.asks)
        except (ValueError, TypeError, IndexError, KeyError) as e:
            return self._malformed(e)
        self.seq_id = snap.seq_id
        self.ts_ms = snap.ts_ms
        self._seeded = True
        self.valid = True
        self.reason = ""
        self.stats.rest_seeds += 1
        return Status.SNAPSHOT

    def invalidate(self, reason: str) -> None:
        """Stop serving the book until a fresh snapshot (its levels are dropped, never merged into)."""
        self.valid = False
        self.reason = reason
        self._seeded = False
        self._bids.clear()
        self._asks.clear()
        self._checksum = None

    def _replace(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        self._checksum = None
        self._bids.load(bids)
        self._asks.load(asks)

    def _malformed(self, e: Exception) -> Status:
        self.stats.malformed += 1
        self.invalidate(f"malformed level: {type(e).__name__}: {e}")
        return Status.MALFORMED

    # -- reading -------------------------------------------------------------------------------

    def checksum(self) -> int:
        """OKX's CRC32 over the top 25 levels of this book, signed."""
        cs = self._checksum
        if cs is None:
            cs = self._checksum = crc32_signed(checksum_text(self._bids, self._asks))
        return cs

    def bids(self, n: int | None = None) -> list[Level]:
        """Best (highest) first, as received."""
        return self._bids.first(n)

    def asks(self, n: int | None = None) -> list[Level]:
        """Best (lowest) first, as received."""
        return self._asks.first(n)

    def best_bid(self) -> Level | None:
        return self._bids.best()

    def best_ask(self) -> Level | None:
        return self._asks.best()

    @property
    def crossed(self) -> bool:
        bk, ak = self._bids.best_key(), self._asks.best_key()
        return bk is not None and ak is not None and -bk >= ak

    def depth(self) -> tuple[int, int]:
        return len(self._bids), len(self._asks)

    def top_of_book(self) -> TopOfBook:
        """Best bid and ask as received (None for an empty side; both None while invalid)."""
        b, a = self.best_bid(), self.best_ask()
        return TopOfBook(self.inst_id, b[0] if b else None, b[1] if b else None, a[0] if a else None,
                         a[1] if a else None, self.ts_ms, self.seq_id, self.valid, self.recv_ns)


def splice_rest_snapshot(snapshot_seq_id: int, buffered: Iterable[BookMsg]) -> list[BookMsg] | None:
    """Protocol doc §3.4: which buffered updates follow a REST snapshot, or None to fetch it again.

    `buffered` are the updates received (in order) since subscribing; a WS snapshot among them is
    ignored. The snapshot must not predate the first buffered update's `prevSeqId` (else updates
    between them are lost); updates with `seqId <= snapshot seqId` are already in it. The first
    one kept must satisfy `prevSeqId <= snapshot seqId < seqId`, which `OrderBook.apply` checks
    after `OrderBook.load_rest`.
    """
    updates = [m for m in buffered if m.action == "update" and m.seq_id is not None]
    if updates and updates[0].prev_seq_id is not None and snapshot_seq_id < updates[0].prev_seq_id:
        return None
    return [m for m in updates if m.seq_id > snapshot_seq_id]


ResyncCallback = Callable[[str, str, str], None]  # (channel, inst_id, reason)
Key = tuple[str, str]  # (channel, inst_id)


class BookKeeper:
    """Every book of a feed, keyed by (channel, inst_id), with one resync request per book in flight.

    `on_resync(channel, inst_id, reason)` is called when a book needs a fresh snapshot (break,
    checksum mismatch, malformed level, an update before any snapshot, or `invalidate`). Until that
    book gets a snapshot (WS, or REST via `seed_from_rest`), further trouble never calls it again
    (re-sending a request that went unanswered is the caller's: `okx/bookhealth.py`).
    """

    def __init__(self, on_resync: ResyncCallback | None = None, buffer_max: int = 10_000) -> None:
        self.on_resync = on_resync
        self.buffer_max = buffer_max
        self.books: dict[Key, OrderBook] = {}
        self._pending: set[Key] = set()  # books that asked for a snapshot and have not had one since
        self._buffers: dict[Key, deque[BookMsg]] = {}  # updates seen while awaiting a snapshot

    def bind_resync(self, resync: ResyncCallback) -> None:
        self.on_resync = resync

    def apply(self, msg: BookMsg) -> Status:
        key = (msg.channel, msg.inst_id)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = OrderBook(msg.channel, msg.inst_id)
        status = book.apply(msg)
        if status is _UPDATE or status is _SKIPPED:
            return status
        if status is _SNAPSHOT:
            if key in self._pending:
                self._pending.discard(key)
                self._buffers.pop(key, None)
            return status
        if msg.action != "update":  # an unusable snapshot still answered the request in flight
            self._pending.discard(key)
        self._request(key, book, book.reason)
        if status is _IGNORED and msg.seq_id is not None:  # kept for a REST seed (§3.4); useless without ids
            buf = self._buffers.get(key)
            if buf is None:
                buf = self._buffers[key] = deque(maxlen=self.buffer_max)
            buf.append(msg)
        return status

    def invalidate(self, channel: str, inst_id: str, reason: str) -> bool:
        """The sockets lost a message of this book (its connection died, the full queue dropped an
        update) or it went silent: stop serving it and resync it. True if it was being served."""
        key = (channel, inst_id)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = OrderBook(channel, inst_id)
        served = book.valid
        book.invalidate(reason)
        self._buffers.pop(key, None)  # a lost message may sit among them: start buffering afresh
        self._request(key, book, reason)
        return served

    def _request(self, key: Key, book: OrderBook, reason: str) -> None:
        if key in self._pending:
            return
        self._pending.add(key)
        book.stats.resyncs += 1
        if self.on_resync is not None:
            self.on_resync(key[0], key[1], reason)

    def seed_from_rest(self, channel: str, inst_id: str, data0: dict[str, Any],
                       recv_ns: int | None = None) -> SeedResult:
        """Build a book from a REST `/api/v5/market/books` answer (`data[0]`) and the updates buffered
        since the request. REFETCH/BREAK: fetch again (the request stays in flight). ValueError if
        `data0` is not a books answer."""
        key = (channel, inst_id)
        snap = RestSnapshot.from_response(data0)
        recv_ns = time.time_ns() if recv_ns is None else recv_ns
        follow = splice_rest_snapshot(snap.seq_id, self._buffers.get(key, ()))
        if follow is None:
            return SeedResult.REFETCH
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = OrderBook(channel, inst_id)
        if book.load_rest(snap, recv_ns) is not Status.SNAPSHOT:
            return SeedResult.BREAK
        for m in follow:
            if book.apply(m) is not Status.UPDATE:  # the book invalidated itself
                return SeedResult.BREAK
        book.recv_ns = max(book.recv_ns, recv_ns)
        self._pending.discard(key)
        self._buffers.pop(key, None)
        return SeedResult.SEEDED

    def resync_pending(self, channel: str, inst_id: str) -> bool:
        return (channel, inst_id) in self._pending

    def get(self, channel: str, inst_id: str) -> OrderBook | None:
        """The book if it may be served (valid), else None."""
        book = self.books.get((channel, inst_id))
        return book if book is not None and book.valid else None

    def stats(self) -> BookStats:
        total = BookStats()
        for b in self.books.values():
            total.add(b.stats)
        return total
