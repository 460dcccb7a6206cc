"""Indicators over a panel of series (symbols x timeframes), computed in parallel.

One numba kernel spreads the series over threads (`prange`, one series per chunk so a long 1 s
series does not hold back a thread that drew two short ones). Threads beat a process pool here
by a wide margin: a day of bars takes the kernels milliseconds, while a pool pays pickling both
ways on every call (`hftlab bench indicators` measures kernel, serial and pool). On two shared
cores the threads gain little over serial; they pay off with more cores and longer panels. Each
series gets exactly the batch functions' values: the kernel runs the same per-series kernels.
With numba's `workqueue` threading layer (used when neither OpenMP nor TBB is available), call
it from one Python thread at a time.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hftlab.features.spec import FeatureSpec

COLUMNS = ("rsi", "macd", "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower")
KEYS = ("inst_id", "timeframe")


def indicator_panel(bars: pd.DataFrame | Mapping[tuple[str, str], pd.DataFrame], spec: FeatureSpec | None = None) -> pd.DataFrame:
    """RSI, MACD and Bollinger Bands for every (inst_id, timeframe) series of `bars`.

    bars: a long DataFrame with `inst_id`, `timeframe` and `close` columns (each series' rows in
    time order; series may interleave), or a mapping (inst_id, timeframe) -> DataFrame with a
    `close` column. Parameters come from `spec` (default FeatureSpec()).
    Returns, for a long DataFrame, its index and `inst_id`, `timeframe` (and `ts_ms` if present)
    plus the indicator columns, row for row; for a mapping, the frames concatenated in order
    with those columns (inst_id and timeframe categorical) and a fresh index.
    """
    spec = spec or FeatureSpec()
    if isinstance(bars, Mapping):
        return _from_mapping(bars, spec)
    missing = [c for c in (*KEYS, "close") if c not in bars.columns]
    if missing:
        raise ValueError(f"panel lacks columns {missing}")
    # lay the series end to end (each keeping its row order), compute, and put rows back in place
    codes = bars.groupby(list(KEYS), sort=False, dropna=False, observed=True).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    offsets = np.concatenate(([0], np.cumsum(np.bincount(codes)))).astype(np.int64)
    out = _compute(bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)[order], offsets, spec)
    values = np.empty_like(out)
    values[:, order] = out
    result = bars[[c for c in (*KEYS, "ts_ms") if c in bars.columns]].copy()
    for name, col in zip(COLUMNS, values, strict=True):
        result[name] = col
    return result


def _from_mapping(bars: Mapping, spec: FeatureSpec) -> pd.DataFrame:
    if not bars:
        raise ValueError("empty panel")
    closes, stamps = [], []
    for key, frame in bars.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"panel keys must be (inst_id, timeframe) tuples, got {key!r}")
        if "close" not in frame.columns:
            raise ValueError(f"panel frame {key} lacks a close column")
        closes.append(frame["close"].to_numpy(dtype=np.float64, na_value=np.nan))
        stamps.append(frame["ts_ms"].to_numpy() if "ts_ms" in frame.columns else None)
    sizes = np.array([c.size for c in closes], dtype=np.int64)
    out = _compute(np.concatenate(closes), np.concatenate(([0], np.cumsum(sizes))).astype(np.int64), spec)
    cols: dict[str, object] = {}
    for j, name in enumerate(KEYS):
        # categorical: one small array per key instead of a string per row
        labels = [key[j] for key in bars]
        categories = list(dict.fromkeys(labels))
        codes = np.repeat(np.array([categories.index(v) for v in labels], dtype=np.int32), sizes)
        cols[name] = pd.Categorical.from_codes(codes, categories=categories)
    if all(t is not None for t in stamps):
        cols["ts_ms"] = np.concatenate(stamps)
    cols.update(zip(COLUMNS, out, strict=True))
    return pd.DataFrame(cols)


def _compute(close: np.ndarray, offsets: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    from hftlab.features import kernels

    out = np.empty((len(COLUMNS), close.size))
    with kernels.parallel_chunks(1):
        kernels.panel_into(np.ascontiguousarray(close), offsets, spec.rsi_period, spec.macd_fast, spec.macd_slow,
                           spec.macd_signal, spec.bb_period, spec.bb_nbdev, out)
    return out
