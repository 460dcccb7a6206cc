"""The dead man's switch: the venue's Cancel-All-After for our tag, armed at start, heartbeated,
disarmed only on a clean shutdown.

Arming and heartbeating are the same request (`cancel_all_after(tag, timeout_s)`): each accepted
one moves the venue's deadline to now + timeout. If this process dies or loses the venue for longer
than the timeout, the venue cancels every pending order carrying our tag (and only those). The
heartbeat interval is at least a second (venues allow about one such request per second) and at
most a third of the timeout, so two lost heartbeats in a row do not lapse it. A heartbeat the venue
did not accept is counted and the next one tries again; `expires_ms` is the venue deadline the last
accepted request set, which the runner can watch.
"""

from __future__ import annotations

import logging

from hftlab.domain.venue import ExecutionVenue, Op, WriteOutcome, WriteResult, check_caa_timeout
from hftlab.execution.budget import Grant, RateBudget
from hftlab.execution.clock import Clock
from hftlab.execution.stats import ExecutionStats

log = logging.getLogger(__name__)


class DeadManSwitch:
    def __init__(self, venue: ExecutionVenue, budget: RateBudget, clock: Clock, stats: ExecutionStats, *,
                 tag: str, timeout_s: int, heartbeat_s: float):
        check_caa_timeout(timeout_s)
        if timeout_s == 0 or heartbeat_s < 1 or heartbeat_s * 3 > timeout_s:
            raise ValueError("the heartbeat must be at least 1 s and at most a third of a non-zero timeout")
        self._venue = venue
        self._budget = budget
        self._clock = clock
        self._stats = stats
        self.tag = tag
        self.timeout_s = timeout_s
        self.heartbeat_s = heartbeat_s
        self.armed = False
        self.expires_ms: int | None = None

    async def _send(self, timeout_s: int) -> WriteResult | None:
        if await self._budget.take(Op.CANCEL_ALL_AFTER, {"": 1}, max_wait_s=self.heartbeat_s) is not Grant.GRANTED:
            return None
        sent_ms = self._clock.time_ms()
        r = await self._venue.cancel_all_after(self.tag, timeout_s)
        if r.outcome is WriteOutcome.ACCEPTED:
            self.expires_ms = sent_ms + timeout_s * 1000 if timeout_s else None
        return r

    async def beat(self) -> WriteResult | None:
        """Arm or heartbeat; None when the rate budget did not allow it."""
        r = await self._send(self.timeout_s)
        if r is not None and r.outcome is WriteOutcome.ACCEPTED:
            self.armed = True
            self._stats.caa_heartbeats += 1
        else:
            self._stats.caa_failures += 1
            log.warning("Cancel-All-After heartbeat not accepted: %s",
                        "no rate budget" if r is None else (r.outcome, r.code, r.msg))
        return r

    async def disarm(self) -> WriteResult | None:
        r = await self._send(0)
        if r is not None and r.outcome is WriteOutcome.ACCEPTED:
            self.armed = False
        else:
            self._stats.caa_failures += 1
        return r

    async def run(self) -> None:
        """Heartbeat until cancelled."""
        while True:
            await self._clock.sleep(self.heartbeat_s)
            await self.beat()
