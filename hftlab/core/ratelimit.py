"""Token buckets: the rate limiter every venue limit is built from.

A venue's limits are stated by its adapter (e.g. OKX's 3 new connections per second per IP and
480 subscribe/login requests per connection per hour live in `hftlab.okx.connection`); this module
only knows buckets. A bucket of capacity B refilled at r tokens/s admits at most B + r*T
operations in any window of T seconds, so `within(limit, window, burst)` sets
r = (limit - burst) / window: start-up may spend the burst at once and the total over the window
still never exceeds the limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or capacity < 1:
            raise ValueError(f"token bucket needs rate > 0 and capacity >= 1 (got rate={rate}, capacity={capacity})")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = float(capacity)
        self._stamp = clock()
        self.waits = 0  # how many acquisitions had to wait: a sign the limit is being approached

    @classmethod
    def within(cls, limit: int, window_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> TokenBucket:
        if not 1 <= burst < limit:
            raise ValueError(f"burst must be in [1, limit) (got burst={burst}, limit={limit})")
        return cls((limit - burst) / window_s, burst, clock)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def delay_for(self, n: float = 1.0) -> float:
        """Seconds until `n` tokens are available (0 if they are now)."""
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of capacity {self.capacity}")
        self._refill()
        return max(0.0, (n - self._tokens) / self.rate)

    def try_acquire(self, n: float = 1.0) -> bool:
        if self.delay_for(n) > 0:
            return False
        self._tokens -= n
        return True

    async def acquire(self, n: float = 1.0) -> float:
        """Take `n` tokens, sleeping until they exist; returns the seconds waited."""
        waited = 0.0
        while True:
            delay = self.delay_for(n)
            if delay <= 0:
                self._tokens -= n
                if waited:
                    self.waits += 1
                return waited
            await asyncio.sleep(delay)
            waited += delay
