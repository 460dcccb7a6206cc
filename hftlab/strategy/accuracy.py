"""Realised signal accuracy: did the direction the model predicted happen?

Each bar's prediction (the sign of P(up) - P(down), or only the bars the strategy acted on) is
scored once `horizon` bars later against the sign of the close-to-close move over those bars, and
the last `window` scores make a rolling accuracy. A prediction of 0 (flat) or a move of exactly 0
is not scored. O(1) per bar.
"""

from __future__ import annotations

from collections import deque


class RollingAccuracy:
    def __init__(self, horizon: int, window: int):
        if horizon < 1 or window < 1:
            raise ValueError(f"horizon and window must be >= 1 (got {horizon}, {window})")
        self.horizon = horizon
        self._pending: deque[tuple[int, float]] = deque()  # (predicted sign, close at prediction)
        self._scores: deque[int] = deque(maxlen=window)
        self._hits = 0
        self.scored = 0

    def update(self, close: float, predicted: int) -> None:
        """The bar's close, and the direction predicted at it (-1, 0, 1)."""
        if len(self._pending) == self.horizon:
            sign, then = self._pending.popleft()
            move = close - then
            if sign != 0 and move != 0 and move == move:
                hit = int((move > 0) == (sign > 0))
                if len(self._scores) == self._scores.maxlen:
                    self._hits -= self._scores[0]
                self._scores.append(hit)
                self._hits += hit
                self.scored += 1
        self._pending.append((0 if predicted == 0 else (1 if predicted > 0 else -1), close))

    @property
    def accuracy(self) -> float:
        """Hits over the scored predictions in the window (NaN before the first)."""
        return self._hits / len(self._scores) if self._scores else float("nan")

    @property
    def count(self) -> int:
        return len(self._scores)
