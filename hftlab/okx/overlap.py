"""De-duplication of data pushes: the duplicates OKX sends, and those of a 64008 rollover.

On `event: notice, code 64008` the client opens a successor connection and subscribes it *before*
it closes the old one (protocol §1.5), so for a while both deliver the same market. Consumers must
see neither a gap nor a duplicate. The filter, per subscription key (channel, instId):

- Books, always: the highest `seqId` passed on is the high-water mark. An *update* whose `prevSeqId`
  is behind the mark is a duplicate (OKX may send a message twice) or a stale reordered update:
  dropped. Keep-alives (`seqId == prevSeqId`) and sequence resets (`seqId < prevSeqId`) name the mark
  itself as `prevSeqId`, so they pass. Snapshots and top-N pushes (`books5`, `bbo-tbt`) at or below the
  mark are dropped only while connections overlap: alone, an old-looking snapshot is a sequence
  reset and must replace the book.
- Everything else only while connections overlap: trades by `tradeId`, tickers and candles by their
  values, private pushes by their content; the first copy passes.

An overlap of a role begins when its successor is being opened (`begin`) and ends `grace_s` after
the old connection is retired (`end`): the successor may still be behind the old socket. Time is
passed in (`now`, monotonic seconds), so the filter is a pure object; the memory of what was seen
is dropped once no overlap is active.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from hftlab.core.metrics import Stats
from hftlab.okx.channels import ArgKey
from hftlab.okx.events import BookMsg, Candle, Ticker, Trade

_FOREVER = float("inf")


@dataclass(slots=True)
class OverlapStats(Stats):
    duplicates: Counter = field(default_factory=Counter)  # channel -> duplicates dropped


class OverlapFilter:
    def __init__(self, grace_s: float):
        self.grace_s = grace_s
        self.stats = OverlapStats()
        self._book_hwm: dict[ArgKey, int] = {}  # highest seqId passed on per book
        self._until: dict[str, float] = {}  # role -> overlap active until (monotonic; inf while rolling over)
        self._seen: dict[ArgKey, set] = {}  # dedupe keys of non-book pushes during an overlap

    def begin(self, role: str, now: float) -> None:
        """A successor connection of `role` is being opened: both may deliver from now on."""
        for r in [r for r, until in self._until.items() if until <= now]:
            self.overlapping(r, now)  # an earlier overlap's memory must not outlive it
        self._until[role] = _FOREVER

    def end(self, role: str, now: float) -> None:
        """The old connection of `role` is gone (or no successor came): keep de-duplicating `grace_s`."""
        self._until[role] = now + self.grace_s

    def overlapping(self, role: str, now: float) -> bool:
        until = self._until.get(role)
        if until is None:
            return False
        if now < until:
            return True
        del self._until[role]
        if not self._until:
            self._seen.clear()
        return False

    def forget(self, key: ArgKey) -> None:
        """`key` was unsubscribed: a later subscription starts a new chain."""
        self._book_hwm.pop(key, None)
        self._seen.pop(key, None)

    def accept(self, role: str, key: ArgKey, ev: Any, now: float) -> bool:
        """Whether to pass `ev` (read on a connection of `role`, subscription `key`) on; False for a duplicate."""
        if isinstance(ev, BookMsg):
            seq, prev = ev.seq_id, ev.prev_seq_id
            if seq is None:
                return True
            hwm = self._book_hwm.get(key)
            if hwm is not None and seq <= hwm:
                if ev.action == "update" and prev is not None and prev != -1:
                    duplicate = prev < hwm
                else:
                    duplicate = bool(self._until) and self.overlapping(role, now)
                if duplicate:
                    self.stats.duplicates[key[0]] += 1
                    return False
            if hwm is None or seq > hwm or prev == -1 or (prev is not None and seq < prev):
                self._book_hwm[key] = seq
            return True
        if self._until and self.overlapping(role, now):
            seen = self._seen.setdefault(key, set())
            dk = _dedupe_key(ev)
            if dk in seen:
                self.stats.duplicates[key[0]] += 1
                return False
            seen.add(dk)
        return True


def _dedupe_key(ev: Any) -> Any:
    if isinstance(ev, Trade):
        return ev.trade_id
    if isinstance(ev, Ticker):
        return (ev.ts_ms, ev.last, ev.bid_px, ev.bid_sz, ev.ask_px, ev.ask_sz)
    if isinstance(ev, Candle):
        return (ev.ts_ms, ev.close, ev.vol, ev.confirm)
    return orjson.dumps(ev.data)
