"""The health of subscribed books, seen from the sockets: the stale watchdog, resync requests (one in
flight per book), the REST seed when a resubscribe brings no snapshot, and resync retries.

The books belong to their consumer (the `MarketFeed`, or a bare `BookKeeper`): it applies every book
message and decides when a book needs a fresh snapshot. The socket side never touches a book
(DESIGN rule 8); it talks to the owner through `BookOwner`:

- `invalidate(channel, inst_id, reason)`: the sockets lost a message of that book (the connection
  carrying it died, the full event queue dropped one of its updates) or the book went silent for
  `stale_after_s`. The owner stops serving it and asks for a resync.
- the owner's requests come back through the `resync` callback it was bound to (`bind_resync`);
  `BookHealth.resync` keeps one in flight per book: asked again before a snapshot has come, it
  does nothing.
- `resync_pending(channel, inst_id)`: does the book still wait for a snapshot?
- `seed_from_rest(channel, inst_id, data0)`: build it from this REST `/market/books` answer (§3.4).

Timing, on `time.monotonic()` seconds passed in as `now`: a resubscribe that brings no WS snapshot
within `snapshot_timeout_s` is answered from REST (`tick` lists the book, `seed` fetches and hands
the answer to the owner); a resync still unanswered after `resync_timeout_s` is sent again; a book
with no push for `stale_after_s` (keep-alives count; OKX sends one per idle minute) is invalidated.
A (re)subscription restarts a book's clocks: after a reconnect the new subscription's snapshot
answers a resync asked for while the socket was down.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hftlab.core.metrics import Stats
from hftlab.okx.book import ResyncCallback, SeedResult
from hftlab.okx.channels import BOOK_CHANNELS, ArgKey, role_for
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import BookMsg
from hftlab.okx.rest import RestError

log = logging.getLogger(__name__)

SEED_ATTEMPTS = 3  # REST snapshots fetched per seed before waiting for the resync's retry


class BookOwner(Protocol):
    """What the sockets may ask of whoever owns the books they carry."""

    def bind_resync(self, resync: ResyncCallback) -> None:
        """`resync(channel, inst_id, reason)` is how the owner asks for a fresh snapshot of one book."""

    def invalidate(self, channel: str, inst_id: str, reason: str) -> bool:
        """Stop serving the book (a message of it was lost); True if it was being served."""

    def resync_pending(self, channel: str, inst_id: str) -> bool: ...

    def seed_from_rest(self, channel: str, inst_id: str, data0: dict[str, Any]) -> SeedResult: ...


@dataclass(slots=True)
class BookHealthStats(Stats):
    resubscribes: int = 0  # single-arg unsubscribe + subscribe requested (resyncs and their retries)
    resync_retries: int = 0  # resyncs sent again after resync_timeout_s without a snapshot
    stale_resyncs: int = 0  # books invalidated by the stale watchdog
    rest_seeds: Counter = field(default_factory=Counter)  # SeedResult -> count
    books_invalidated_on_loss: int = 0  # served books invalidated because their connection died


@dataclass(slots=True)
class _Resync:
    since: float  # monotonic time of the request, or of the (re)subscription that carries it
    answered: bool = False  # a snapshot of the book was passed on since
    seeding: bool = False  # a REST seed was started for this request


class BookHealth:
    """`resubscribe(channel, inst_id)` sends one resync (False: its socket is down, the reconnect will
    resubscribe); `connected(role)` says whether a role's socket is up; `fetch_books(inst_id)` is the
    REST `/market/books` call. Without an owner nothing is watched: nobody applies the books."""

    def __init__(self, config: ClientConfig, books: BookOwner | None, *, resubscribe: Callable[[str, str], bool],
                 connected: Callable[[str], bool], fetch_books: Callable[[str], Awaitable[dict[str, Any]]]):
        self.config = config
        self.stats = BookHealthStats()
        self._books = books
        self._resubscribe = resubscribe
        self._connected = connected
        self._fetch_books = fetch_books
        self._last_push: dict[ArgKey, float] = {}  # every watched book -> its last push (or request)
        self._resyncs: dict[ArgKey, _Resync] = {}  # resyncs asked for and not yet settled

    # ----- what the sockets see ---------------------------------------------------------------
    def subscribed(self, key: ArgKey, now: float) -> None:
        """`key` is being (re)subscribed: watch it if it is a book; its clocks start now."""
        if self._books is None or key[0] not in BOOK_CHANNELS:
            return
        self._last_push[key] = now
        if key in self._resyncs:
            self._resyncs[key] = _Resync(now)

    def forget(self, key: ArgKey) -> None:
        self._last_push.pop(key, None)
        self._resyncs.pop(key, None)

    def pushed(self, key: ArgKey, now: float, snapshot: bool) -> None:
        """A push of book `key` arrived (duplicates too: they prove the book is alive); `snapshot`: a
        snapshot was passed on to the owner."""
        if key in self._last_push:
            self._last_push[key] = now
            if snapshot:
                r = self._resyncs.get(key)
                if r is not None:
                    r.answered = True

    def lost(self, keys: list[ArgKey], reason: str) -> None:
        """The connection that carried `keys` died: none of its books may be served until a new snapshot."""
        books = self._books
        for key in keys:
            if key in self._last_push and books.invalidate(key[0], key[1], f"connection lost ({reason})"):
                self.stats.books_invalidated_on_loss += 1

    def dropped(self, msg: BookMsg, now: float) -> None:
        """The full event queue dropped `msg`: its book is wrong from there on."""
        books = self._books
        if books is None:
            return
        pending = books.resync_pending(msg.channel, msg.inst_id)
        books.invalidate(msg.channel, msg.inst_id, "update dropped from the full event queue")
        if pending and msg.action == "snapshot":  # the answer to the resync in flight: ask again now
            self.resync(msg.channel, msg.inst_id, "resync snapshot dropped from the full event queue", now)

    # ----- requests ---------------------------------------------------------------------------
    def resync(self, channel: str, inst_id: str, reason: str, now: float) -> None:
        """Resubscribe one book for a fresh snapshot, unless a resync of it is already in flight."""
        key = (channel, inst_id)
        if key not in self._last_push:
            return
        r = self._resyncs.get(key)
        if r is not None and not r.answered:
            return
        self._send(key, reason, now)

    def _send(self, key: ArgKey, reason: str, now: float) -> None:
        self._resyncs[key] = _Resync(now)
        self._last_push[key] = now
        if self._resubscribe(*key):
            self.stats.resubscribes += 1
            log.info("resync %s %s: %s", key[0], key[1], reason)
        else:
            log.info("resync %s %s: %s (its socket is down: the reconnect resubscribes)", key[0], key[1], reason)

    # ----- the clock --------------------------------------------------------------------------
    def tick(self, now: float) -> list[ArgKey]:
        """One round of the watchdog: settle answered resyncs, retry those unanswered too long,
        invalidate silent books. Returns the books due for a REST seed (call `seed` for each)."""
        books, cfg = self._books, self.config
        due: list[ArgKey] = []
        for key, last in list(self._last_push.items()):
            if not self._connected(role_for(key[0])):
                continue
            r = self._resyncs.get(key)
            if r is not None:
                if not books.resync_pending(*key):
                    del self._resyncs[key]
                elif now - r.since > cfg.resync_timeout_s:
                    self.stats.resync_retries += 1
                    self._send(key, f"resync timed out after {cfg.resync_timeout_s:g} s", now)
                elif not r.answered and not r.seeding and now - r.since > cfg.snapshot_timeout_s:
                    r.seeding = True
                    due.append(key)
                continue
            if now - last > cfg.stale_after_s:
                self.stats.stale_resyncs += 1
                self._last_push[key] = now
                books.invalidate(key[0], key[1], f"stale: no push for {cfg.stale_after_s:g} s")
        return due

    async def seed(self, channel: str, inst_id: str, attempts: int = SEED_ATTEMPTS) -> SeedResult | None:
        """Protocol §3.4: no WS snapshot came after the resubscribe; build the book from REST plus the
        updates its owner buffered. Returns the last outcome (None: nothing was seeded, because the
        fetch failed or a WS snapshot came meanwhile)."""
        books = self._books
        result = None
        for _ in range(attempts):
            try:
                data0 = await self._fetch_books(inst_id)
            except (RestError, OSError) as e:
                log.warning("REST seed of %s %s failed: %s", channel, inst_id, e)
                return None
            if not books.resync_pending(channel, inst_id):
                return None  # a WS snapshot arrived meanwhile
            result = books.seed_from_rest(channel, inst_id, data0)
            self.stats.rest_seeds[str(result)] += 1
            if result is SeedResult.SEEDED:
                log.info("%s %s seeded from REST (seqId %s)", channel, inst_id, data0.get("seqId"))
                return result
        return result
