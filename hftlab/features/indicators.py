"""RSI (Wilder), MACD and Bollinger Bands: batch over numpy arrays, and streaming with O(1) work per update.

Both forms follow TA-Lib's conventions, so values agree with `talib` after its lookback (within
1e-9 relative on the real OKX candles; the MACD line and histogram, being differences of two
price-level EMAs, within 1e-9 relative or 1e-12 x price near their zero crossings):

- RSI: the first `period` price changes are averaged (Wilder's SMA seed); after that
  avg = (avg * (period - 1) + change) * (1 / period), the reciprocal as TA-Lib's build computes
  it. First value at index `period`.
- MACD: EMAs with k = 2 / (n + 1), each seeded with the SMA of its first n values, where the fast
  EMA's seed window is aligned to end with the slow one's (index slow - 1); the signal line is an
  EMA of the MACD line seeded with the SMA of its first `signal` values. All three outputs start
  at index slow + signal - 2 (TA-Lib's lookback).
- Bollinger: SMA middle band, population standard deviation (divide by `period`), bands at
  middle +/- nbdev * std. First value at index period - 1. Streaming work is O(1) per update
  plus O(period) once every `period` updates (the exact recompute below).

Deliberate differences from TA-Lib, both only on degenerate input:
- RSI when the average gain and loss are both exactly zero (a flat series since the seed) is 50,
  neutral; TA-Lib returns 0 whenever gain + loss < 1e-8, an absolute threshold that also zeroes
  the RSI of assets priced below about 1e-6.
- The Bollinger variance comes from window sums of (close - pivot) and its square, updated in
  O(1) and recomputed exactly around a new pivot (a recent close) every `period` values, instead
  of TA-Lib's running sums of close and close^2 over the whole series: its error then depends on
  the window's spread, not the price level or how long the stream has run (TA-Lib's error grows
  with both). A window of equal closes has bands exactly equal to the close.

Missing input: a NaN or infinite close yields NaN (a tuple of NaNs) and resets the indicator;
warm-up restarts with the next finite value. So the output over `a + [nan] + b` is the output
over `a`, then NaN, then the output over `b` on its own. This matches TA-Lib's treatment of
leading NaNs and never lets one bad tick poison an EMA forever.

The batch functions run numba kernels (`hftlab.features.kernels`), imported on first call so that
`import hftlab.features` and the streaming classes never import numba. The streaming classes are
plain Python floats and `__slots__` and perform the same floating-point operations in the same
order as the kernels, so streaming output equals batch output element by element.
"""

from __future__ import annotations

import math
from math import sqrt
from numbers import Integral, Real

import numpy as np

NAN = math.nan
_NAN3 = (NAN, NAN, NAN)


def check_period(name: str, value: object, minimum: int) -> int:
    """An integer period >= minimum, or a ValueError naming the parameter and the accepted range."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_macd(fast: object, slow: object, signal: object) -> tuple[int, int, int]:
    fast = check_period("fast", fast, 2)
    slow = check_period("slow", slow, 2)
    signal = check_period("signal", signal, 1)
    if fast >= slow:
        raise ValueError(f"fast must be shorter than slow, got fast={fast} slow={slow}")
    return fast, slow, signal


def check_nbdev(nbdev: object) -> float:
    if isinstance(nbdev, bool) or not isinstance(nbdev, Real) or not math.isfinite(nbdev) or nbdev < 0:
        raise ValueError(f"nbdev must be a finite number >= 0, got {nbdev!r}")
    return float(nbdev)


def _series(close) -> np.ndarray:
    x = np.ascontiguousarray(close, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"close must be one-dimensional, got shape {x.shape}")
    return x


# ---- batch ---------------------------------------------------------------------------------

def rsi(close, period: int = 14) -> np.ndarray:
    """Wilder's RSI of `close` (1-D), NaN during the first `period` values and at missing input."""
    period = check_period("period", period, 2)
    from hftlab.features import kernels

    x = _series(close)
    out = np.empty_like(x)
    kernels.rsi_into(x, period, out)
    return out


def macd(close, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, hist) of `close`; NaN during the first slow + signal - 2 values."""
    fast, slow, signal = check_macd(fast, slow, signal)
    from hftlab.features import kernels

    x = _series(close)
    m, s, h = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    kernels.macd_into(x, fast, slow, signal, m, s, h)
    return m, s, h


def bollinger(close, period: int = 20, nbdev: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower) Bollinger Bands of `close`; NaN during the first period - 1 values."""
    period = check_period("period", period, 2)
    nbdev = check_nbdev(nbdev)
    from hftlab.features import kernels

    x = _series(close)
    u, m, lo = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    kernels.bollinger_into(x, period, nbdev, u, m, lo)
    return u, m, lo


# ---- streaming -----------------------------------------------------------------------------
# The branches are ordered steady state first: after warm-up every update takes the first one.
# `x - x != 0.0` is true exactly for NaN and +/-inf, and is cheaper than math.isfinite.

class RSI:
    """Streaming Wilder RSI: `update(close) -> float` (NaN during warm-up)."""

    __slots__ = ("period", "_pm1", "_inv", "_n", "_prev", "_gain", "_loss")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period, 2)
        self._pm1 = float(self.period - 1)
        self._inv = 1.0 / self.period
        self.reset()

    def reset(self) -> None:
        self._n = 0  # finite values since the last reset
        self._prev = 0.0
        self._gain = 0.0
        self._loss = 0.0

    def update(self, x: float) -> float:
        if x - x != 0.0:
            self.reset()
            return NAN
        if self._n > self.period:
            d = x - self._prev
            self._prev = x
            gain = self._gain * self._pm1
            loss = self._loss * self._pm1
            if d < 0:
                loss -= d
            else:
                gain += d
            gain *= self._inv
            loss *= self._inv
            self._gain = gain
            self._loss = loss
            s = gain + loss
            return 100.0 * (gain / s) if s != 0.0 else 50.0
        if self._n == 0:
            self._n = 1
            self._prev = x
            return NAN
        d = x - self._prev
        self._prev = x
        if d < 0:
            self._loss -= d
        else:
            self._gain += d
        self._n += 1
        if self._n <= self.period:
            return NAN
        gain = self._gain / self.period
        loss = self._loss / self.period
        self._gain = gain
        self._loss = loss
        s = gain + loss
        return 100.0 * (gain / s) if s != 0.0 else 50.0


class MACD:
    """Streaming MACD: `update(close) -> (macd, signal, hist)` (NaNs during warm-up)."""

    __slots__ = ("fast", "slow", "signal", "_kf", "_ks", "_kg", "_fast_from", "_ready",
                 "_n", "_fsum", "_ssum", "_gsum", "_fema", "_sema", "_sig")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast, self.slow, self.signal = check_macd(fast, slow, signal)
        self._kf = 2.0 / (self.fast + 1)
        self._ks = 2.0 / (self.slow + 1)
        self._kg = 2.0 / (self.signal + 1)
        self._fast_from = self.slow - self.fast  # first value of the fast seed window
        self._ready = self.slow + self.signal - 2  # index of the first output
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self._fsum = self._ssum = self._gsum = 0.0
        self._fema = self._sema = self._sig = 0.0

    def update(self, x: float) -> tuple[float, float, float]:
        if x - x != 0.0:
            self.reset()
            return _NAN3
        i = self._n
        self._n = i + 1
        if i > self._ready:
            f = (x - self._fema) * self._kf + self._fema
            s = (x - self._sema) * self._ks + self._sema
            self._fema = f
            self._sema = s
            m = f - s
            g = (m - self._sig) * self._kg + self._sig
            self._sig = g
            return m, g, m - g
        slow = self.slow
        if i < slow - 1:
            self._ssum += x
            if i >= self._fast_from:
                self._fsum += x
            return _NAN3
        if i == slow - 1:
            self._ssum += x
            self._fsum += x
            f = self._fsum / self.fast
            s = self._ssum / slow
        else:
            f = (x - self._fema) * self._kf + self._fema
            s = (x - self._sema) * self._ks + self._sema
        self._fema = f
        self._sema = s
        m = f - s
        self._gsum += m
        if i < self._ready:
            return _NAN3
        g = self._gsum / self.signal
        self._sig = g
        return m, g, m - g


class Bollinger:
    """Streaming Bollinger Bands: `update(close) -> (upper, middle, lower)` (NaNs during warm-up)."""

    __slots__ = ("period", "nbdev", "_inv", "_buf", "_pos", "_n", "_pivot", "_s1", "_s2", "_prev", "_run")

    def __init__(self, period: int = 20, nbdev: float = 2.0) -> None:
        self.period = check_period("period", period, 2)
        self.nbdev = check_nbdev(nbdev)
        self._inv = 1.0 / self.period
        self._buf = [0.0] * self.period
        self.reset()

    def reset(self) -> None:
        self._pos = 0  # next slot of the ring buffer; 0 after a write means it holds the window in order
        self._n = 0
        self._pivot = self._s1 = self._s2 = self._prev = 0.0
        self._run = 0  # equal values in a row, ending with the latest

    def update(self, x: float) -> tuple[float, float, float]:
        if x - x != 0.0:
            self.reset()
            return _NAN3
        if x == self._prev and self._n:
            self._run += 1
        else:
            self._run = 1
        self._prev = x
        p = self.period
        buf = self._buf
        pos = self._pos
        old = buf[pos]
        buf[pos] = x
        pos += 1
        if pos < p and self._n >= p:
            self._pos = pos
            k = self._pivot
            yn = x - k
            yo = old - k
            s1 = self._s1 + (yn - yo)
            s2 = self._s2 + (yn * yn - yo * yo)
        else:
            if self._n < p:
                self._n += 1
                if self._n < p:
                    self._pos = pos
                    return _NAN3
            # the buffer now holds the window in order: recompute the sums exactly around a new pivot
            self._pos = 0
            k = self._pivot = x
            s1 = s2 = 0.0
            for v in buf:
                y = v - k
                s1 += y
                s2 += y * y
        self._s1 = s1
        self._s2 = s2
        if self._run >= p:
            return x, x, x
        m = s1 * self._inv
        var = s2 * self._inv - m * m
        mean = k + m
        if var > 0.0:
            sd = sqrt(var) * self.nbdev
            return mean + sd, mean, mean - sd
        return mean, mean, mean
