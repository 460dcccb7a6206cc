"""Figures from samples: quantiles by nearest rank, and the growth of a quantity over simulated time.

Pure functions over plain numbers; the soak and the load ramp report what they return.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def quantile(sorted_xs: Sequence[float], q: float) -> float:
    """The nearest-rank `q` quantile (0 < q <= 1) of an ascending sequence; NaN when empty."""
    if not sorted_xs:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_xs)))
    return sorted_xs[min(rank, len(sorted_xs)) - 1]


def spread(xs: Iterable[float], ndigits: int = 3) -> dict:
    """{count, p50, p99, max} of the samples (None for the quantiles of no samples)."""
    s = sorted(xs)
    if not s:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    return {"count": len(s), "p50": round(quantile(s, 0.5), ndigits), "p99": round(quantile(s, 0.99), ndigits),
            "max": round(s[-1], ndigits)}


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope dy/dx of (x, y) points; None with fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx
