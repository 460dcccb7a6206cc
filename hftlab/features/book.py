"""Order-book features at a bar's close, from the top levels as a live book gives them.

One function serves batch and streaming, so the two cannot drift apart. Levels are best first,
each `[px, sz, ...]` with strings (as OKX sends them) or numbers; only the first two fields are read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NAN = math.nan


def book_features(bids: Sequence[Sequence] | None, asks: Sequence[Sequence] | None, levels: int) -> tuple[float, float]:
    """(spread_bps, obi) of one book: (ask1 - bid1) / mid * 1e4, and (bid size - ask size) /
    (bid size + ask size) over the top `levels` of each side. NaN, NaN when a side is empty."""
    if not bids or not asks:
        return NAN, NAN
    bid = float(bids[0][0])
    ask = float(asks[0][0])
    mid = (bid + ask) * 0.5
    spread = (ask - bid) / mid * 1e4 if mid > 0.0 else NAN
    bq = 0.0
    for level in bids[:levels]:
        bq += float(level[1])
    aq = 0.0
    for level in asks[:levels]:
        aq += float(level[1])
    total = bq + aq
    return spread, ((bq - aq) / total if total > 0.0 else 0.0)
