"""The signal rule: class probabilities (down, flat, up) -> the position to hold.

    edge[t] = P(up)[t] - P(down)[t]            (from the window ending at bar t's close)
    long    when edge > threshold
    exit    a long when edge <= exit_threshold (exit_threshold <= threshold; default threshold)
    short   when edge < -threshold             (allow_short only; exit when edge >= -exit_threshold)
    flat    when the edge is unknown (NaN: no complete input window, a gap in the bars)

The position is decided at a bar's close and held during the next bar (a backtest trades it at
that bar's open: hftlab.backtest.compare, hftlab.backtest.engine). With exit_threshold < threshold
the rule has hysteresis: a position survives small dips of the edge, which saves fees.

One definition, two forms. `transition` is the rule for one bar, plain Python; the streaming form
(`SignalRule`, the live hot path: O(1) a bar, numba never imported) calls it as it is, the batch
form (`decide`, backtests over millions of bars) compiles the same function into a numba loop on
its first call. tests/unit/strategy/test_rule.py holds the two equal.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

DOWN, FLAT, UP = 0, 1, 2  # class columns (hftlab.models.lstm.CLASSES = -1, 0, 1)


class Position(IntEnum):
    SHORT = -1
    FLAT = 0
    LONG = 1


_POSITIONS = (Position.SHORT, Position.FLAT, Position.LONG)  # by state + 1


def exit_level(threshold: float, exit_threshold: float | None) -> float:
    """The exit threshold in force (default: threshold); ValueError when it exceeds the threshold
    (a position would close on the bar it opens)."""
    exit_threshold = threshold if exit_threshold is None else exit_threshold
    if exit_threshold > threshold:
        raise ValueError(f"exit_threshold {exit_threshold} cannot exceed threshold {threshold}")
    return float(exit_threshold)


def transition(state: int, e: float, threshold: float, exit_threshold: float, allow_short: bool) -> int:
    """The position after a bar whose edge is `e`, holding `state` before it (-1, 0, 1)."""
    if not math.isfinite(e):
        return 0
    if e > threshold:
        return 1
    if allow_short and e < -threshold:
        return -1
    if state == 1 and e <= exit_threshold:
        return 0
    if state == -1 and e >= -exit_threshold:
        return 0
    return state


# ----- batch ----------------------------------------------------------------------------------------
def edge(proba: np.ndarray) -> np.ndarray:
    """P(up) - P(down) per row of an (n, 3) probability array; NaN rows stay NaN."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != 3:
        raise ValueError(f"expected (n, 3) class probabilities (down, flat, up), got shape {proba.shape}")
    return proba[:, UP] - proba[:, DOWN]


def decide(e: np.ndarray, threshold: float, exit_threshold: float | None = None,
           allow_short: bool = False) -> np.ndarray:
    """Position (-1, 0, 1 as int8) decided at each bar's close from the edge series, starting flat."""
    exit_threshold = exit_level(threshold, exit_threshold)
    return _kernel()(np.ascontiguousarray(e, dtype=np.float64), float(threshold), exit_threshold, bool(allow_short))


def _positions(e, threshold, exit_threshold, allow_short):
    out = np.zeros(e.size, dtype=np.int8)
    state = 0
    for t in range(e.size):
        state = transition(state, e[t], threshold, exit_threshold, allow_short)
        out[t] = state
    return out


@functools.cache
def _kernel():
    """`_positions` compiled (cached on disk), with `transition` made callable from numba code."""
    from numba import njit
    from numba.extending import register_jitable

    register_jitable(transition)  # registers an overload; `transition` itself stays plain Python
    return njit(cache=True)(_positions)


# ----- streaming ------------------------------------------------------------------------------------
def edge_of(proba: Sequence[float]) -> float:
    """P(up) - P(down) of one (down, flat, up) probability vector, as `edge` computes it per row."""
    return float(proba[UP]) - float(proba[DOWN])


class SignalRule:
    """The rule one bar at a time, for one series: starts flat, `step` at each bar's close.

    Holds nothing but the position; what to do with it (sizing, filters) sits beside it.
    """

    __slots__ = ("threshold", "exit_threshold", "allow_short", "_state")

    def __init__(self, threshold: float, exit_threshold: float | None = None, allow_short: bool = False) -> None:
        self.exit_threshold = exit_level(threshold, exit_threshold)
        self.threshold = float(threshold)
        self.allow_short = bool(allow_short)
        self._state = 0

    @property
    def position(self) -> Position:
        """The position decided at the last step (FLAT before the first)."""
        return _POSITIONS[self._state + 1]

    def step(self, proba: Sequence[float]) -> Position:
        """The position to hold after a bar whose (down, flat, up) probabilities are `proba`
        (NaN when the model had no complete input window)."""
        return self.step_edge(edge_of(proba))

    def step_edge(self, e: float) -> Position:
        """As `step`, from the edge P(up) - P(down) already computed (`edge_of`)."""
        self._state = transition(self._state, e, self.threshold, self.exit_threshold, self.allow_short)
        return _POSITIONS[self._state + 1]
