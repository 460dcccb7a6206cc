"""Exchange timestamps, checked against local time and each stream's own past.

The parser (okx/parse.py) knows a `ts` is a positive integer; whether it is plausible takes state,
which lives here. A frame whose market events fail either rule is malformed as a whole (its events
are not passed on, the frame is counted and recorded raw as such):

- within a tolerance of local time (the frame's `recv_ns`): not ahead by more than `max_ahead_ms`
  (OKX's clock and ours agree within seconds; one far-future `ts` accepted would be the newest of
  its stream for good, and bars would fill up to it: marketdata/bars.py bounds that too), nor behind
  by more than `max_behind_ms`, which is loose (the first trade pushed on a subscription is the
  instrument's last, hours old for an illiquid one). None turns a bound off: a simulator running
  faster than real time is ahead by design and replays old recordings (`hftlab.settings` turns both
  off for the sim venue); a `recv_ns` of 0 (a recording without receive times) is no local time.
- per stream (channel, instId) of trades, tickers and books, never older than the newest `ts`
  passed on: pushes of one stream come in order, so an older one is a replay or a forgery.
  Candles are exempt: the closing push of a candle may follow the new candle's first. Only frames
  that pass move a stream's clock, so a rejected far-future `ts` cannot make the stream's later
  pushes look old.

Duplicates are not this module's business: the client drops those (okx/overlap.py) before the
check, so the lagging copy of a 64008 overlap is a duplicate, not a stream going back in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hftlab.okx.events import BookMsg, Candle, Ticker, Trade

MAX_AHEAD_S = 300.0  # default: exchange time ahead of local time by more than this is implausible
MAX_BEHIND_S = 30 * 86_400.0  # default: and behind it by more than this
_NO_LIMIT = 1 << 62
_CHANNEL_OF_TICKER = "tickers"


class TimestampGuard:
    __slots__ = ("max_ahead_ms", "max_behind_ms", "_last")

    def __init__(self, max_ahead_ms: int | None = int(MAX_AHEAD_S * 1000),
                 max_behind_ms: int | None = int(MAX_BEHIND_S * 1000)):
        self.max_ahead_ms = max_ahead_ms
        self.max_behind_ms = max_behind_ms
        self._last: dict[tuple[str, str], int] = {}  # stream -> newest ts passed on

    def check(self, events: Sequence[Any], recv_ns: int) -> str | None:
        """Why the frame's events cannot be trusted, or None: then they are their streams' newest.
        Events without an exchange time (private pushes, control) are not looked at."""
        ahead, behind, now_ms = self.max_ahead_ms, self.max_behind_ms, recv_ns // 1_000_000
        limit = now_ms + ahead if ahead is not None and recv_ns > 0 else _NO_LIMIT
        floor = now_ms - behind if behind is not None and recv_ns > 0 else 0
        last = self._last
        seen: dict[tuple[str, str], int] | None = None
        for ev in events:
            kind = type(ev)
            if kind is BookMsg or kind is Trade:
                key = (ev.channel, ev.inst_id)
            elif kind is Ticker:
                key = (_CHANNEL_OF_TICKER, ev.inst_id)
            elif kind is Candle:
                if not floor <= ev.ts_ms <= limit:
                    return _off(ev.ts_ms, now_ms)
                continue
            else:
                continue
            ts = ev.ts_ms
            if not floor <= ts <= limit:
                return _off(ts, now_ms)
            prev = seen.get(key) if seen is not None and key in seen else last.get(key, 0)
            if ts < prev:
                return f"ts {ts} is {prev - ts} ms older than the newest of {key[0]} {key[1]}"
            if seen is None:
                seen = {}
            seen[key] = ts
        if seen:
            last.update(seen)
        return None

    def forget(self, key: tuple[str, str]) -> None:
        """A stream unsubscribed: its next subscription starts a new past."""
        self._last.pop(key, None)


def _off(ts: int, now_ms: int) -> str:
    return (f"ts {ts} is {ts - now_ms} ms ahead of local time" if ts > now_ms else
            f"ts {ts} is {now_ms - ts} ms behind local time")
