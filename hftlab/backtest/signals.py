"""The signal rule: class probabilities (down, flat, up) -> the position to hold.

    edge[t] = P(up)[t] - P(down)[t]            (from the window ending at bar t's close)
    long    when edge > threshold
    exit    a long when edge <= exit_threshold (exit_threshold <= threshold; default threshold)
    short   when edge < -threshold             (allow_short only; exit when edge >= -exit_threshold)
    flat    when the edge is unknown (NaN: no complete input window, a gap in the bars)

`decide` gives the position decided at each bar's close; it is held during the next bar, traded
at that bar's open (`hftlab.backtest.compare` feeds it the rows before each window bar,
`hftlab.backtest.engine` trades it). With exit_threshold < threshold the rule has hysteresis: a position
survives small dips of the edge, which saves fees.
"""

from __future__ import annotations

import numpy as np
from numba import njit

DOWN, FLAT, UP = 0, 1, 2  # class columns (hftlab.models.lstm.CLASSES = -1, 0, 1)


def edge(proba: np.ndarray) -> np.ndarray:
    """P(up) - P(down) per row of an (n, 3) probability array; NaN rows stay NaN."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != 3:
        raise ValueError(f"expected (n, 3) class probabilities (down, flat, up), got shape {proba.shape}")
    return proba[:, UP] - proba[:, DOWN]


def decide(e: np.ndarray, threshold: float, exit_threshold: float | None = None, allow_short: bool = False) -> np.ndarray:
    """Position (-1, 0, 1 as int8) decided at each bar's close from the edge series."""
    exit_threshold = threshold if exit_threshold is None else exit_threshold
    if exit_threshold > threshold:
        raise ValueError(f"exit_threshold {exit_threshold} cannot exceed threshold {threshold}")
    return _decide(np.ascontiguousarray(e, dtype=np.float64), float(threshold), float(exit_threshold), bool(allow_short))


@njit(cache=True)
def _decide(e, threshold, exit_threshold, allow_short):
    out = np.zeros(e.size, dtype=np.int8)
    state = 0
    for t in range(e.size):
        x = e[t]
        if not np.isfinite(x):
            state = 0
        elif x > threshold:
            state = 1
        elif allow_short and x < -threshold:
            state = -1
        elif state == 1 and x <= exit_threshold:
            state = 0
        elif state == -1 and x >= -exit_threshold:
            state = 0
        out[t] = state
    return out

