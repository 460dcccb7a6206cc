"""The soak's own consumer of market data: the client and the MarketFeed, as the collector and the
live runner use them, with every book it is served held against the venue's truth.

- Books: after every book message, and whenever the sockets invalidate or seed a book (the feed's
  `on_top`), a book the feed serves as valid is compared with the oracle at its seqId; a mismatch
  is an invalid book served (must never happen). Each valid -> invalid -> valid round trip is a
  recovery, timed on the monotonic clock.
- Trades: the venue numbers trades per instrument (a `trades` message's tradeId is its last fill,
  `count` fills after the previous message's), so a gap is trades never delivered. A gap is put down
  to the documented policy that explains it — the public socket was lost and reconnected (the
  venue does not replay trades), the client's queue dropped trades (market events first), or a
  frame could not be read — and is `unexplained` otherwise (must be 0). What happened between two
  trades is read from the client's counters as they stood when each trade was *received* (the raw
  tap, `on_frame`), not when it was consumed: the reader runs ahead of the consumer, and a garbled
  frame read before the earlier trade was consumed is still between the two. A trade at or before
  the last one is a duplicate delivered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hftlab.core.ratelimit import TokenBucket
from hftlab.domain.market import TopOfBook
from hftlab.marketdata.feed import MarketFeed
from hftlab.okx.channels import Endpoints, args_for
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import Trade
from hftlab.okx.queue import QueueClosed
from hftlab.soak.figures import spread
from hftlab.soak.oracle import BookOracle, Verdict

log = logging.getLogger(__name__)

BOOKS = "books"
CHANNELS = (BOOKS, "trades")
GAPS_KEPT = 20
RECEIVED_KEPT = 100_000


class GapCause:
    RECONNECT = "reconnect"  # the public socket was lost in between: the venue does not replay trades
    QUEUE = "queue_drop"  # the client's queue dropped trades (its policy: market events first)
    MALFORMED = "malformed"  # a frame could not be read
    UNEXPLAINED = "unexplained"


@dataclass
class ProbeFigures:
    books_verified: int = 0
    invalid_served: int = 0  # a book served as valid whose top levels are not the venue's at its seqId
    unverifiable: int = 0  # valid books at a seqId the oracle no longer remembers
    invalidations: int = 0
    recoveries: int = 0
    recover_s: list[float] = field(default_factory=list)
    trades: int = 0
    trades_lost: Counter = field(default_factory=Counter)  # GapCause -> trades never delivered
    trade_duplicates: int = 0
    gaps: list[dict] = field(default_factory=list)  # the first gaps, for forensics

    def as_dict(self) -> dict:
        return {"books_verified": self.books_verified, "invalid_served": self.invalid_served,
                "unverifiable": self.unverifiable, "invalidations": self.invalidations,
                "recoveries": self.recoveries, "recover_ms": spread(s * 1e3 for s in self.recover_s),
                "trades": self.trades, "trades_lost": dict(self.trades_lost),
                "trade_duplicates": self.trade_duplicates, "gaps": self.gaps}


class Probe:
    def __init__(self, endpoints: Endpoints, client: ClientConfig, symbols: list[str], oracle: BookOracle,
                 clock: Callable[[], float] = time.monotonic):
        """`clock`: when a gap is noted (the soak passes simulated seconds)."""
        self.symbols = symbols
        self.clock = clock
        self.oracle = oracle
        self.figures = ProbeFigures()
        self.feed = MarketFeed(CHANNELS, ["1s"], on_top=self._on_top)
        self.client = AsyncOKXClient(endpoints, client, books=self.feed, connect_limiter=TokenBucket(100.0, 100.0),
                                     on_frame=self._on_frame)
        self._invalid_since: dict[str, float] = {}
        self._seen_valid: set[str] = set()
        self._last_trade: dict[str, int] = {}
        self._last_marks: dict[str, tuple[int, int, int]] = {}  # instId -> marks when its last trade was received
        self._received: dict[tuple[str, int], tuple[int, int, int]] = {}  # (instId, recv_ns) -> marks then
        self._received_order: deque[tuple[str, int]] = deque()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.client.start()
        await self.client.subscribe(args_for(CHANNELS, self.symbols))
        self._task = asyncio.get_running_loop().create_task(self._consume(), name="soak-probe")

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def all_valid(self) -> bool:
        """Every book valid and every invalidation seen counted as a recovery."""
        return not self._invalid_since and all(self.feed.book(BOOKS, s) is not None for s in self.symbols)

    # ----- consuming ----------------------------------------------------------------------------
    async def _consume(self) -> None:
        client = self.client
        while True:
            try:
                ev = await client.get()
            except QueueClosed:
                return
            self._handle(ev)
            for ev in client.get_batch(1000):
                self._handle(ev)

    def _handle(self, ev) -> None:
        update = self.feed.on_event(ev)
        if update.top is not None:
            self._on_top(update.top)
        elif type(ev) is Trade:
            self._on_trade(ev)

    def _on_top(self, top: TopOfBook) -> None:
        inst = top.inst_id
        now = time.monotonic()
        book = self.feed.book(BOOKS, inst)
        f = self.figures
        if book is None:
            if inst in self._seen_valid and inst not in self._invalid_since:
                self._invalid_since[inst] = now
                f.invalidations += 1
            return
        since = self._invalid_since.pop(inst, None)
        if since is not None:
            f.recoveries += 1
            f.recover_s.append(now - since)
        self._seen_valid.add(inst)
        verdict = self.oracle.verify(inst, book.seq_id, book.bids(5), book.asks(5))
        if verdict is Verdict.MATCH:
            f.books_verified += 1
        elif verdict is Verdict.MISMATCH:
            f.invalid_served += 1
            log.error("soak: %s served as valid at seqId %s differs from the venue's book", inst, book.seq_id)
        else:
            f.unverifiable += 1

    def _marks(self) -> tuple[int, int, int]:
        s = self.client.stats
        return s.reconnects["public"], s.parse_errors, self.client.queue.stats.dropped["trades"]

    def _on_frame(self, raw, recv_ns: int, channel: str, inst_id: str) -> None:
        """The raw tap, at read time: the counters as they stand when a trades frame is received."""
        if channel == "trades":
            key = (inst_id, recv_ns)
            self._received[key] = self._marks()
            self._received_order.append(key)
            if len(self._received_order) > RECEIVED_KEPT:  # frames dropped by the queue are never consumed
                self._received.pop(self._received_order.popleft(), None)

    def _on_trade(self, ev: Trade) -> None:
        f = self.figures
        f.trades += 1
        inst = ev.inst_id
        tid = int(ev.trade_id)
        last = self._last_trade.get(inst)
        now = self._marks()
        received = self._received.pop((inst, ev.recv_ns), None) or now
        before = self._last_marks.get(inst, received)
        self._last_marks[inst] = received
        if last is not None:
            if tid <= last:
                f.trade_duplicates += 1
                return
            missing = tid - (ev.count or 1) - last
            if missing > 0:
                cause = _cause(before, received, now)
                f.trades_lost[cause] += missing
                if len(f.gaps) < GAPS_KEPT:
                    f.gaps.append({"at_s": round(self.clock(), 3), "inst_id": inst, "missing": missing,
                                   "cause": cause, "after_trade_id": last})
        self._last_trade[inst] = tid


def _cause(before: tuple[int, int, int], received: tuple[int, int, int], now: tuple[int, int, int]) -> str:
    """What explains trades missing between two trades: the marks (reconnects, parse errors, queue drops)
    when the earlier and the later were received, and now that the later is consumed. A trade between
    them arrived after the earlier one and, if the queue dropped it, was dropped before the later one
    is consumed: drops count up to now."""
    if received[0] != before[0]:
        return GapCause.RECONNECT
    if received[1] != before[1]:
        return GapCause.MALFORMED
    if now[2] != before[2]:
        return GapCause.QUEUE
    return GapCause.UNEXPLAINED
