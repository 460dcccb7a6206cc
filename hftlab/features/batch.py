"""Batch features over a DataFrame of bars: the research side of the one feature definition.

`compute_features(bars, spec, books)` gives, row for row, what `StreamingFeatures` gives bar by bar
(tests/unit/features/test_parity.py holds them equal on real data). See `hftlab.features.spec`
for what each column is and how missing inputs are handled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hftlab.features.book import book_features
from hftlab.features.indicators import bollinger, macd, rsi
from hftlab.features.spec import FeatureSpec

NAN = np.nan


def compute_features(bars: pd.DataFrame, spec: FeatureSpec, books=None) -> pd.DataFrame:
    """Features of one series of bars (one instrument, one timeframe), in time order.

    bars: columns of `hftlab.domain.market.Bar`; `close` and `volume` always, `buy_volume` and
    `sell_volume` when `spec.flow_window > 0`. A missing bar should be a row of NaN (it resets
    the indicators) rather than absent, since features count bars, not seconds.
    books: with `spec.book_levels > 0`, the book at each bar's close, one entry per row: a
    sequence of `(bids, asks)` pairs or a DataFrame with `bids` and `asks` columns; levels best
    first as `[px, sz, ...]`; None or an empty side where no book is known (NaN features).
    Returns a DataFrame with `bars`' index and the columns `spec.names`.
    """
    _check(bars, spec, books)
    close = _level(bars["close"], allow_zero=False)
    # one array per feature, in the order of spec.names (StreamingFeatures builds the same order)
    cols = [log_return(close, h) for h in spec.return_horizons]
    r1 = log_return(close, 1)
    cols.append(np.sqrt(window_sum(r1 * r1, spec.vol_window)))
    cols.append(np.log1p(_level(bars["volume"], allow_zero=True)))
    if spec.uses_flow:
        buy = window_sum(_level(bars["buy_volume"], allow_zero=True), spec.flow_window)
        sell = window_sum(_level(bars["sell_volume"], allow_zero=True), spec.flow_window)
        cols.append(flow_imbalance(buy, sell))
    if spec.uses_book:
        cols.extend(_book_columns(books, spec.book_levels))
    cols.extend(indicator_features(close, spec))
    return pd.DataFrame(dict(zip(spec.names, cols, strict=True)), index=bars.index)


def indicator_features(close: np.ndarray, spec: FeatureSpec) -> list[np.ndarray]:
    """rsi, macd, signal and histogram over the close, Bollinger %B and width."""
    m, s, h = macd(close, spec.macd_fast, spec.macd_slow, spec.macd_signal)
    upper, middle, lower = bollinger(close, spec.bb_period, spec.bb_nbdev)
    width = upper - lower
    with np.errstate(invalid="ignore", divide="ignore"):
        pctb = np.where(width > 0.0, (close - lower) / width, np.where(np.isnan(width), NAN, 0.5))
        return [rsi(close, spec.rsi_period), m / close, s / close, h / close, pctb, width / middle]


def log_return(close: np.ndarray, h: int) -> np.ndarray:
    out = np.full(close.size, NAN)
    if close.size > h:
        out[h:] = np.log(close[h:] / close[:-h])
    return out


def window_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last `window` values, added oldest first (the streaming order); NaN if any is NaN."""
    from hftlab.features import kernels

    out = np.empty_like(x)
    kernels.window_sum_into(np.ascontiguousarray(x), window, out)
    return out


def flow_imbalance(buy: np.ndarray, sell: np.ndarray) -> np.ndarray:
    total = buy + sell
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.0, (buy - sell) / total, np.where(np.isnan(total), NAN, 0.0))


def _level(col: pd.Series, *, allow_zero: bool) -> np.ndarray:
    """Prices must be finite and > 0, volumes finite and >= 0; anything else is missing (NaN)."""
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=NAN)
    ok = np.isfinite(x) & ((x >= 0.0) if allow_zero else (x > 0.0))
    return np.where(ok, x, NAN)


def _book_columns(books, levels: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = zip(books["bids"], books["asks"]) if isinstance(books, pd.DataFrame) else books
    spread, obi = [], []
    for pair in pairs:
        s, o = book_features(*(pair or (None, None)), levels)
        spread.append(s)
        obi.append(o)
    return np.array(spread, dtype=np.float64), np.array(obi, dtype=np.float64)


def _check(bars: pd.DataFrame, spec: FeatureSpec, books) -> None:
    if not isinstance(spec, FeatureSpec):
        raise TypeError(f"spec must be a FeatureSpec, got {type(spec).__name__}")
    if not isinstance(bars, pd.DataFrame):
        raise TypeError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    missing = [c for c in spec.required_columns() if c not in bars.columns]
    if missing:
        hint = " (candles have no buy/sell split: use FeatureSpec(flow_window=0))" if "buy_volume" in missing else ""
        raise ValueError(f"bars lack columns {missing} needed by the spec{hint}")
    for key in ("inst_id", "timeframe"):
        if key in bars.columns and bars[key].nunique(dropna=False) > 1:
            raise ValueError(f"bars hold several {key} values: compute features one series at a time "
                             "(hftlab.features.indicator_panel handles a panel)")
    if "ts_ms" in bars.columns and not (np.diff(bars["ts_ms"].to_numpy()) > 0).all():
        raise ValueError("bars must be in time order, one row per bar (ts_ms strictly increasing)")
    if spec.uses_book:
        if books is None:
            raise ValueError("the spec has book features (book_levels > 0) but no books were given: "
                             "pass books, or use FeatureSpec(book_levels=0)")
        if isinstance(books, pd.DataFrame):
            if not {"bids", "asks"} <= set(books.columns):
                raise ValueError("books DataFrame needs `bids` and `asks` columns")
        elif not isinstance(books, Sequence):
            raise TypeError("books must be a sequence of (bids, asks) or a DataFrame with bids/asks columns")
        if len(books) != len(bars):
            raise ValueError(f"books has {len(books)} entries for {len(bars)} bars: give one per bar (None where unknown)")
