"""Streaming features: the live side of the one feature definition.

`StreamingFeatures(spec, normaliser)` takes books as they change (`update_book`) and bars as they
close (`update_bar`), and returns, for each bar, the vector `compute_features` gives for that row
(same operations, same order; tests/unit/features/test_parity.py holds them equal on real data).
Pure Python and numpy, no numba, no pandas: cheap to import in the live runner.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from hftlab.features.book import book_features
from hftlab.features.indicators import MACD, RSI, Bollinger
from hftlab.features.normalise import Normaliser
from hftlab.features.spec import FeatureSpec

NAN = math.nan
INF = math.inf


class StreamingFeatures:
    """Feature vector of one series (one instrument, one timeframe), one bar at a time.

    Bars are `hftlab.domain.market.Bar` (or anything with its attributes), closed and in time order.
    The book features of a bar use the latest book passed to `update_book` before `update_bar`,
    i.e. the book at the bar's close, as `compute_features`' `books` argument expects.
    """

    def __init__(self, spec: FeatureSpec, normaliser: Normaliser | None = None) -> None:
        if not isinstance(spec, FeatureSpec):
            raise TypeError(f"spec must be a FeatureSpec, got {type(spec).__name__}")
        if normaliser is not None and tuple(normaliser.names) != spec.names:
            raise ValueError(f"normaliser was fitted on features {list(normaliser.names)}, the spec has {list(spec.names)}")
        self.spec = spec
        self.normaliser = normaliser
        self._horizons = spec.return_horizons
        self._closes: deque[float] = deque(maxlen=max(spec.return_horizons) + 1)
        self._r2: deque[float] = deque(maxlen=spec.vol_window)
        self._buy: deque[float] = deque(maxlen=max(spec.flow_window, 1))
        self._sell: deque[float] = deque(maxlen=max(spec.flow_window, 1))
        self._rsi = RSI(spec.rsi_period)
        self._macd = MACD(spec.macd_fast, spec.macd_slow, spec.macd_signal)
        self._bb = Bollinger(spec.bb_period, spec.bb_nbdev)
        self._book = (NAN, NAN)
        self._series: tuple[str, str] | None = None
        self._last_ts: int | None = None
        self.raw: np.ndarray | None = None  # the latest vector before normalisation

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    def update_book(self, bids, asks) -> None:
        """The current top of the book, best first, levels `[px, sz, ...]` (strings or numbers)."""
        if self.spec.uses_book:
            self._book = book_features(bids, asks, self.spec.book_levels)

    def update_bar(self, bar) -> np.ndarray:
        """Add a closed bar; returns its feature vector (normalised when a normaliser was given)."""
        series = (bar.inst_id, bar.timeframe)
        if self._series is None:
            self._series = series
        elif series != self._series:
            raise ValueError(f"bar for {series} fed to the features of {self._series}: use one StreamingFeatures per series")
        if self._last_ts is not None and bar.ts_ms <= self._last_ts:
            raise ValueError(f"bar ts_ms {bar.ts_ms} not after the previous bar's {self._last_ts}: bars must be closed and in order")
        self._last_ts = bar.ts_ms

        c = _price(bar.close)
        closes = self._closes
        closes.append(c)
        out = [_log_ratio(c, closes[-1 - h]) if len(closes) > h else NAN for h in self._horizons]
        r1 = _log_ratio(c, closes[-2]) if len(closes) > 1 else NAN
        self._r2.append(r1 * r1)
        out.append(math.sqrt(_window_sum(self._r2)))
        out.append(math.log1p(_volume(bar.volume)))
        if self.spec.uses_flow:
            self._buy.append(_volume(bar.buy_volume))
            self._sell.append(_volume(bar.sell_volume))
            out.append(_imbalance(_window_sum(self._buy), _window_sum(self._sell)))
        if self.spec.uses_book:
            out.extend(self._book)
        out.append(self._rsi.update(c))
        m, s, h = self._macd.update(c)
        out += [m / c, s / c, h / c]
        upper, middle, lower = self._bb.update(c)
        width = upper - lower
        out.append((c - lower) / width if width > 0.0 else (0.5 if width == 0.0 else NAN))
        out.append(width / middle)
        raw = np.array(out, dtype=np.float64)
        self.raw = raw
        return raw if self.normaliser is None else self.normaliser.transform(raw)


def _price(x) -> float:
    x = float(x)
    return x if 0.0 < x < INF else NAN


def _volume(x) -> float:
    x = float(x)
    return x if 0.0 <= x < INF else NAN


def _log_ratio(c: float, prev: float) -> float:
    # NaN in, NaN out; both are > 0 otherwise (see _price)
    return math.log(c / prev) if c == c and prev == prev else NAN


def _window_sum(values: deque) -> float:
    """Oldest first, as the batch kernel adds; NaN until the window is full."""
    if len(values) < values.maxlen:
        return NAN
    s = 0.0
    for v in values:
        s += v
    return s


def _imbalance(buy: float, sell: float) -> float:
    total = buy + sell
    if total > 0.0:
        return (buy - sell) / total
    return 0.0 if total == total else NAN
