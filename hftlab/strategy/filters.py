"""Validation and filtering of a signal: which directions the rule's position may keep.

The signal rule (hftlab.strategy.rule) turns probabilities into a position; these filters may only
make it flatter, never flip it or enlarge it, and each refusal is named (`Veto`) and counted, so a
quiet strategy can be explained. In order:

- `INCOMPLETE`: the input window holds a non-finite value (a gap, a warm-up) or the probabilities are
  NaN: no signal at all.
- `BOOK`: the instrument's book is invalid (a sequence break awaiting its snapshot) or older than
  `max_book_age_ms`: no signal from a book that cannot be trusted.
- `CONFIDENCE`: the model's largest class probability is below `min_confidence`.
- `COOLDOWN`: the target changed less than `cooldown_s` ago (an exit to flat is always allowed).
- `REGIME`: an indicator disagrees with the direction (each configured one must agree):
  rsi: a long needs 50 <= RSI < overbought, a short oversold < RSI <= 50 (momentum in the
  direction, not exhausted); macd: the histogram's sign is the direction's; bollinger: a long needs
  0.5 <= %b < 1, a short 0 < %b <= 0.5 (on the right side of the middle band, inside the bands).
A vetoed entry means flat; a vetoed hold of an existing direction also means flat (the rule would
not enter now, so the position is not kept on a signal the filters refuse).
"""

from __future__ import annotations

import math
from collections import Counter
from enum import StrEnum

import numpy as np

from hftlab.domain.market import TopOfBook


class Veto(StrEnum):
    INCOMPLETE = "incomplete"
    BOOK = "book"
    CONFIDENCE = "confidence"
    COOLDOWN = "cooldown"
    REGIME = "regime"


class Filters:
    """Stateful only for the cooldown (the time of the last target change); one per instrument."""

    def __init__(self, cfg, feature_names: tuple[str, ...]):
        self.cfg = cfg
        self.vetoes: Counter = Counter()
        self._last_change_ns: int | None = None
        self._target = 0
        self._rsi = next((i for i, n in enumerate(feature_names) if n.startswith("rsi_")), None)
        self._hist = next((i for i, n in enumerate(feature_names) if n.startswith("macd_hist_")), None)
        self._pctb = next((i for i, n in enumerate(feature_names) if n.startswith("bb_pctb_")), None)
        missing = [r for r, i in (("rsi", self._rsi), ("macd", self._hist), ("bollinger", self._pctb))
                   if r in cfg.regime and i is None]
        if missing:
            raise ValueError(f"regime filter(s) {missing} need features the model's spec does not compute")

    def apply(self, position: int, proba: np.ndarray, window_complete: bool, top: TopOfBook | None,
              features: np.ndarray, now_ns: int) -> tuple[int, Veto | None]:
        """(the position to hold, the veto that flattened it or None)."""
        veto = self._veto(position, proba, window_complete, top, features, now_ns)
        if veto is not None:
            self.vetoes[veto] += 1
            position = 0
        if position != self._target:
            self._target = position
            self._last_change_ns = now_ns
        return position, veto

    def _veto(self, position, proba, window_complete, top, features, now_ns) -> Veto | None:
        cfg = self.cfg
        if not window_complete or not np.all(np.isfinite(proba)):
            return Veto.INCOMPLETE
        if top is None or not top.valid or (now_ns - top.recv_ns) / 1e6 > cfg.max_book_age_ms:
            return Veto.BOOK
        if position == 0:
            return None
        if float(np.max(proba)) < cfg.min_confidence:
            return Veto.CONFIDENCE
        if (position != self._target and self._last_change_ns is not None
                and (now_ns - self._last_change_ns) / 1e9 < cfg.cooldown_s):
            return Veto.COOLDOWN
        for regime in cfg.regime:
            if not self._agrees(regime, position, features):
                return Veto.REGIME
        return None

    def _agrees(self, regime: str, position: int, f: np.ndarray) -> bool:
        cfg = self.cfg
        if regime == "rsi":
            r = float(f[self._rsi])
            return (50.0 <= r < cfg.rsi_overbought) if position > 0 else (cfg.rsi_oversold < r <= 50.0)
        if regime == "macd":
            h = float(f[self._hist])
            return h > 0.0 if position > 0 else h < 0.0
        b = float(f[self._pctb])
        if math.isnan(b):
            return False
        return (0.5 <= b < 1.0) if position > 0 else (0.0 < b <= 0.5)
