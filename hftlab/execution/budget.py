"""Rate budgets: the venue's limits (`VenueLimits`) as token buckets the manager draws from BEFORE a
request is sent, so no request is ever sent to earn a venue rate-limit refusal.

**Sizing.** A venue limit of L per window W becomes a bucket of L' = floor(L x fraction) (at least 1)
per window: capacity max(1, L' // 2) (the burst), refilled at (L' − capacity) / W, so that any window
of W seconds admits at most L' ≤ L (core.ratelimit's rule). For L' = 1 the bucket holds one token and
refills at fraction / W, strictly under one per window. The fraction (default 0.8) is headroom for
the venue's window not being ours (clock skew, a window that is not sliding).

**Keys** follow the venue's: a bucket of scope INSTRUMENT exists per instrument, ACCOUNT once. A
call takes one token per bucket (Unit.REQUEST; per instrument touched when the bucket is per
instrument) or one per item (Unit.ITEM). A call is granted only when every bucket it draws from
has the tokens, and then takes from all of them at once.

**Cancels first.** In a bucket that cancels share with other ops, the other ops may not take the
last `cancel_reserve` share of its capacity: a kill-switch cancel still goes out when the place
budget is spent. (Where a venue gives cancels buckets of their own, as OKX does, this never binds.)

**Waiting.** `take` waits for tokens up to `max_wait_s` (bounded), on the given clock, then grants
or answers THROTTLED; a call that needs more tokens than a bucket can ever hold is OVERSIZE. Either
refusal is local: nothing was sent.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum

from hftlab.core.ratelimit import TokenBucket
from hftlab.domain.venue import CANCEL_OPS, Op, RateLimit, Scope, Unit, VenueLimits
from hftlab.execution.clock import Clock


class Grant(StrEnum):
    GRANTED = "granted"
    THROTTLED = "throttled"  # not within the allowed wait
    OVERSIZE = "oversize"  # more tokens than a bucket holds: never grantable (split the batch)


class RateBudget:
    def __init__(self, limits: VenueLimits, clock: Clock, *, fraction: float = 0.8, cancel_reserve: float = 0.25,
                 max_wait_s: float = 0.5):
        if not 0 < fraction <= 1 or not 0 <= cancel_reserve < 1 or max_wait_s < 0:
            raise ValueError("budget needs 0 < fraction <= 1, 0 <= cancel_reserve < 1, max_wait_s >= 0")
        self.limits = limits
        self._clock = clock
        self._fraction = fraction
        self._cancel_reserve = cancel_reserve
        self.max_wait_s = max_wait_s
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.granted: Counter = Counter()  # op -> calls granted
        self.throttled: Counter = Counter()  # op -> calls refused locally
        self.waits = 0

    def _bucket(self, rl: RateLimit, key: str) -> TokenBucket:
        b = self._buckets.get((rl.name, key))
        if b is None:
            effective = max(1, math.floor(rl.limit * self._fraction))
            if effective == 1:
                b = TokenBucket(self._fraction / rl.window_s, 1, clock=self._clock.monotonic)
            else:
                b = TokenBucket.within(effective, rl.window_s, max(1, effective // 2), clock=self._clock.monotonic)
            self._buckets[(rl.name, key)] = b
        return b

    def headroom(self) -> dict[str, float]:
        """Venue limit name -> the lowest share of capacity left over its buckets (1: untouched, 0: spent),
        for monitoring."""
        out = {rl.name: 1.0 for rl in self.limits.buckets}
        for (name, _key), b in self._buckets.items():
            share = b.tokens / b.capacity
            out[name] = min(out[name], share)
        return out

    def entry_headroom(self, ops: frozenset[Op] = frozenset({Op.PLACE, Op.PLACE_BATCH, Op.AMEND, Op.AMEND_BATCH})
                       ) -> float:
        """`headroom` over the limits order entry draws from: below a threshold the runner stops adding
        risk before the budget runs out. Other limits (the dead man's switch's 1/s, reads) do not count:
        they are empty by design between their calls."""
        room = self.headroom()
        return min((room[rl.name] for rl in self.limits.buckets if rl.ops & ops), default=1.0)

    def _draws(self, op: Op, counts: Mapping[str, int]) -> list[tuple[TokenBucket, float, float]]:
        """(bucket, tokens, reserve kept for cancels) for every bucket `op` draws from."""
        out = []
        for rl in self.limits.for_op(op):
            keep = op not in CANCEL_OPS and bool(rl.ops & CANCEL_OPS)
            if rl.scope is Scope.INSTRUMENT:
                parts = [(inst, n if rl.unit is Unit.ITEM else 1) for inst, n in counts.items() if n]
            else:
                parts = [("", sum(counts.values()) if rl.unit is Unit.ITEM else 1)]
            for key, n in parts:
                b = self._bucket(rl, key)
                out.append((b, float(n), math.ceil(b.capacity * self._cancel_reserve) if keep else 0.0))
        return out

    def delay(self, op: Op, counts: Mapping[str, int]) -> float | None:
        """Seconds until `op` over `counts` (instrument -> items) could be granted; None: never."""
        worst = 0.0
        for b, n, reserve in self._draws(op, counts):
            if n + reserve > b.capacity:
                return None
            worst = max(worst, b.delay_for(n + reserve))
        return worst

    def try_take(self, op: Op, counts: Mapping[str, int]) -> Grant:
        d = self.delay(op, counts)
        if d is None:
            return Grant.OVERSIZE
        if d > 0:
            return Grant.THROTTLED
        for b, n, _ in self._draws(op, counts):
            if not b.try_acquire(n):  # cannot happen after delay() == 0 on one clock reading
                raise RuntimeError(f"bucket refused {n} tokens it had")
        self.granted[op] += 1
        return Grant.GRANTED

    async def take(self, op: Op, counts: Mapping[str, int], max_wait_s: float | None = None) -> Grant:
        """Wait (bounded) until `op` is within every budget and take it; THROTTLED past the wait."""
        limit = self.max_wait_s if max_wait_s is None else max_wait_s
        waited = 0.0
        while True:
            d = self.delay(op, counts)
            if d is None:
                self.throttled[op] += 1
                return Grant.OVERSIZE
            if d <= 0:
                grant = self.try_take(op, counts)
                if grant is Grant.GRANTED:
                    if waited:
                        self.waits += 1
                    return grant
                d = 1e-6
            if waited + d > limit:
                self.throttled[op] += 1
                return Grant.THROTTLED
            d = max(d, 1e-6)  # a refill a hair short of a token (float) must not spin
            await self._clock.sleep(d)
            waited += d
