"""Metrics primitives. Components own their numbers; `hftlab.monitor` only reads and exports them.

- `Stats` is the base of every component's stats record (`ClientStats`, `QueueStats`, `BookStats`,
  `CacheStats`, `RecorderStats`, `SimStats`, ...): a slotted dataclass whose fields the owner bumps
  on its hot path (an attribute add, nothing more), read by progress lines, summaries and the
  Prometheus exporter through `as_dict()`. `collections.Counter` fields hold per-label counts
  (channel, code, role); nested `Stats` are flattened into dicts.
- `Histogram` counts observations into fixed buckets (Prometheus-style cumulative `le` bounds when
  exported). The default bounds are log-spaced from 10 µs to 10 s, in seconds, so sub-millisecond
  latencies are resolved. `observe` is a bisect over ~20 floats plus two adds.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

# 10 µs .. 10 s, 1-2.5-5 per decade (seconds)
LATENCY_BUCKETS_S: tuple[float, ...] = tuple(
    m * 10.0**e for e in range(-5, 1) for m in (1.0, 2.5, 5.0)
) + (10.0,)


@dataclass(slots=True)
class Stats:
    """Base of the components' stats records; subclasses are `@dataclass(slots=True)` with defaults."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Stats):
                v = v.as_dict()
            elif isinstance(v, dict):  # Counter included
                v = dict(v)
            out[f.name] = v
        return out

    def add(self, other: Stats) -> None:
        """Accumulate `other` (same type) into self: numbers add, Counters merge."""
        if type(other) is not type(self):
            raise TypeError(f"cannot add {type(other).__name__} to {type(self).__name__}")
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            elif isinstance(mine, Stats):
                mine.add(theirs)
            elif isinstance(mine, (int, float)) and not isinstance(mine, bool):
                setattr(self, f.name, mine + theirs)


class Histogram:
    """Observations counted into buckets `v <= bounds[i]` (plus +Inf), with their count and sum."""

    __slots__ = ("bounds", "counts", "count", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS_S):
        if not bounds or any(b >= c for b, c in zip(bounds, bounds[1:])):
            raise ValueError(f"histogram bounds must be non-empty and strictly increasing: {bounds!r}")
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # last: above every bound (+Inf)
        self.count = 0
        self.sum = 0.0

    def observe(self, v: float) -> None:
        self.counts[bisect_left(self.bounds, v)] += 1
        self.count += 1
        self.sum += v

    def cumulative(self) -> list[tuple[float, int]]:
        """[(le, observations <= le)], ending with (inf, count): what Prometheus exports."""
        out, acc = [], 0
        for le, n in zip((*self.bounds, float("inf")), self.counts):
            acc += n
            out.append((le, acc))
        return out

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket holding the q-quantile (NaN when empty; inf past the last bound)."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q}")
        if self.count == 0:
            return float("nan")
        rank = q * self.count
        for le, acc in self.cumulative():
            if acc >= rank and acc > 0:
                return le
        return float("inf")
