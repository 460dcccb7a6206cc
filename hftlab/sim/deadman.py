"""Cancel-All-After (`POST /api/v5/trade/cancel-all-after`): the venue's dead man's switch.

A client arms a countdown (`timeOut` 10..120 s, or "0" to disarm) and keeps re-arming it as a
heartbeat; when one lapses the venue cancels the account's pending orders (only those with the
timer's `tag` when it has one) with `cancelSource` 20. It cancels orders, never positions. One
account-level timer and up to MAX_TAG_TIMERS tag-level ones per account (51071 past that).

Deadlines run on the server's wall clock, not market time: what matters is that the client went
quiet (a crashed or SIGSTOPped process), whatever speed the market runs at. The server asks `due`
regularly and cancels what it returns.
"""

from __future__ import annotations

from hftlab.sim import codes
from hftlab.sim.validation import Rejected

MAX_TAG_TIMERS = 20

Timer = tuple[str, str]  # (account, tag); tag "" = the account-level timer


class CancelAllAfter:
    def __init__(self) -> None:
        self.deadlines: dict[Timer, float] = {}  # wall seconds

    def arm(self, account: str, tag: str, timeout_s: int, now: float) -> float | None:
        """Set (timeout_s > 0) or disarm (0) a timer; returns its deadline (None: disarmed)."""
        key = (account, tag)
        if timeout_s == 0:
            self.deadlines.pop(key, None)
            return None
        if tag and key not in self.deadlines and \
                sum(1 for a, t in self.deadlines if a == account and t) >= MAX_TAG_TIMERS:
            raise Rejected(*codes.CAA_TAG_LIMIT)
        self.deadlines[key] = now + timeout_s
        return self.deadlines[key]

    def due(self, now: float) -> list[Timer]:
        """The timers that lapsed by `now`, oldest deadline first; they are disarmed."""
        lapsed = sorted((d, key) for key, d in self.deadlines.items() if d <= now)
        for _, key in lapsed:
            del self.deadlines[key]
        return [key for _, key in lapsed]
