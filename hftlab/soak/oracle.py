"""The venue's truth about its books, to hold every book a consumer is served against.

The simulator announces every seqId it spends, with the changes it made, published or lost to a
fault (`sim.feeds.MarketFeeds.on_books`). The oracle keeps its own copy of each instrument's book
from those changes and remembers, for the last `history` seqIds of each instrument, the top
`DEPTH` levels (as a hash) and the best bid and ask (as strings). A book a consumer holds as valid
at a seqId is right if its top levels are the venue's at that seqId: `verify` says MATCH or
MISMATCH, or UNKNOWN when the seqId is not (or no longer) remembered; it never raises.

Levels are compared as OKX sends them: (price, size) strings, best first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sortedcontainers import SortedDict

DEPTH = 5


class Verdict(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"  # the seqId is not remembered (never spent, or too old)


@dataclass(frozen=True, slots=True)
class Truth:
    """The venue's book at one seqId: the hash of its top levels and its best bid and ask."""

    top_hash: int
    bid: tuple[str, str] | None  # (px, sz)
    ask: tuple[str, str] | None


def top_hash(bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> int:
    """The hash of the top levels, (px, sz) per level, bids then asks (what `verify` compares)."""
    return hash((tuple((b[0], b[1]) for b in bids), tuple((a[0], a[1]) for a in asks)))


class _Book:
    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # -px -> (px, sz): best first
        self.asks: SortedDict = SortedDict()  # px -> (px, sz)

    def apply(self, bids, asks) -> None:
        for side, sign, changes in ((self.bids, -1.0, bids), (self.asks, 1.0, asks)):
            for px, sz, *_ in changes:
                key = sign * float(px)
                if sz == "0":
                    side.pop(key, None)
                else:
                    side[key] = (px, sz)

    def truth(self) -> Truth:
        bids = list(self.bids.values()[:DEPTH])
        asks = list(self.asks.values()[:DEPTH])
        return Truth(top_hash(bids, asks), bids[0] if bids else None, asks[0] if asks else None)


class BookOracle:
    def __init__(self, history: int = 10_000):
        self.history = history
        self._books: dict[str, _Book] = {}
        self._truth: dict[str, dict[int, Truth]] = {}
        self._order: dict[str, deque[int]] = {}

    def start(self, inst_id: str, seq_id: int, bids, asks) -> None:
        """The book as published at `seq_id` (the whole book: the chain starts from it)."""
        book = self._books[inst_id] = _Book()
        book.apply(bids, asks)
        self._truth[inst_id] = {}
        self._order[inst_id] = deque()
        self._remember(inst_id, seq_id, book)

    def on_books(self, inst_id: str, seq_id: int, bids, asks) -> None:
        """One seqId spent with these changes ((px, sz, count) rows; size "0" deletes)."""
        book = self._books.get(inst_id)
        if book is None:
            return
        book.apply(bids, asks)
        self._remember(inst_id, seq_id, book)

    def _remember(self, inst_id: str, seq_id: int, book: _Book) -> None:
        truth, order = self._truth[inst_id], self._order[inst_id]
        truth[seq_id] = book.truth()
        order.append(seq_id)
        if len(order) > self.history:
            truth.pop(order.popleft(), None)

    def truth(self, inst_id: str, seq_id: int | None) -> Truth | None:
        if seq_id is None:
            return None
        return self._truth.get(inst_id, {}).get(seq_id)

    def verify(self, inst_id: str, seq_id: int | None, bids, asks) -> Verdict:
        """A book's top levels (best first, [px, sz, ...] each) at `seq_id` against the venue's."""
        t = self.truth(inst_id, seq_id)
        if t is None:
            return Verdict.UNKNOWN
        return Verdict.MATCH if top_hash(bids[:DEPTH], asks[:DEPTH]) == t.top_hash else Verdict.MISMATCH

    def verify_top(self, inst_id: str, seq_id: int | None, bid: tuple[str, str] | None,
                   ask: tuple[str, str] | None) -> Verdict:
        """A published top of book (best bid and ask, (px, sz) each) at `seq_id` against the venue's."""
        t = self.truth(inst_id, seq_id)
        if t is None:
            return Verdict.UNKNOWN
        return Verdict.MATCH if (t.bid, t.ask) == (bid, ask) else Verdict.MISMATCH
