"""Honest maker fills: a resting limit order fills only when the market trades through its price.

Policy. A buy resting at px fills in an interval of the tape (a bar, or a single trade) only when
that interval traded *below* px: under price-time priority a trade below px means every order at
px, ours included wherever it queued, was consumed first. An interval whose lowest trade is exactly
px filled some of the queue at px, and ours only if the queue ahead was smaller than what traded:
unknown from bars, so `touch_fill` (default 0) of what is left fills then. An interval that never
reached px fills nothing, however close it came. Sells mirror this with the highs. A fill is at px,
never better (no price improvement for a resting order), and pays the maker rate.

    maker_fill(True, 100.0, low=99.9, high=100.4, touch_fill=0.0)   -> 1.0   (traded through)
    maker_fill(True, 100.0, low=100.0, high=100.4, touch_fill=0.0)  -> 0.0   (touched only)
    rest_on_tape(True, 100.0, 2.0, lows, highs)                     -> (filled, interval it completed)

The same function decides every maker fill of the backtest engine (hftlab.backtest.engine), bar by
bar; `rest_on_tape` walks a tape (e.g. one interval per trade, low = high = its price) for tests
and studies.
"""

from __future__ import annotations

import numpy as np


def maker_fill(is_buy: bool, px: float, low: float, high: float, touch_fill: float) -> float:
    """The fraction of a resting order's remaining size that fills in one interval of the tape."""
    if is_buy:
        if low < px:
            return 1.0
        return touch_fill if low == px else 0.0
    if high > px:
        return 1.0
    return touch_fill if high == px else 0.0


def rest_on_tape(is_buy: bool, px: float, size: float, lows, highs, touch_fill: float = 0.0) -> tuple[float, int]:
    """An order of `size` resting at px over a tape of (low, high) intervals: (size filled, index of
    the interval in which it completed, -1 if it never did)."""
    left = float(size)
    for i, (lo, hi) in enumerate(zip(np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64))):
        left -= left * maker_fill(is_buy, px, float(lo), float(hi), touch_fill)
        if left <= 1e-12 * size:
            return float(size), i
    return float(size) - left, -1
