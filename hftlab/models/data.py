"""From bars to labelled windows: features, labels, walk-forward splits with purge gaps, folds.

A sample is a window of `seq_len` feature rows ending at row i (its newest bar) labelled by the
return from close[i] to close[i + horizon]. A sample belongs to a segment [start, end) of rows
only if everything it reads lies inside: i - seq_len + 1 >= start and i + horizon <= end - 1.
Segments of a split (train, validation, test, in time order) are further separated by `purge`
rows (default horizon + seq_len), so no training label overlaps a test window. The normaliser is
fitted on the rows before the end of the training segment, so perturbing anything at or after
that row leaves the training windows, labels and statistics unchanged
(tests/unit/models/test_data.py perturbs it to prove this).

Pure numpy/pandas; torch enters in `hftlab.models.datamodule`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the live predictor imports CLASSES from here and need not load pandas
    import pandas as pd

CLASSES = (-1, 0, 1)  # label value of class index 0, 1, 2: down, flat, up
N_CLASSES = len(CLASSES)


@dataclass(frozen=True)
class Prepared:
    """Features and labels of one series of bars (or of a panel: `prepare_panel`), row-aligned,
    positional index. `forward` is the log return over the label horizon (NaN where unknown), for the
    directional statistics of the evaluation; no model reads it."""

    features: pd.DataFrame
    labels: np.ndarray  # float in {-1, 0, 1}, NaN where the future is unknown
    ts_ms: np.ndarray
    spec: object  # hftlab.features.FeatureSpec
    horizon: int
    dead_zone_bps: float
    forward: np.ndarray | None = None
    series: tuple[tuple[str, int, int], ...] = ()  # a panel: (name, first row, end row) of each series

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    @property
    def parts(self) -> tuple[tuple[str, int, int], ...]:
        """(name, first row, end row) of each series; one unnamed part for a single series."""
        return self.series or (("", 0, self.n_rows),)

    def first_complete_row(self, start: int = 0, end: int | None = None) -> int:
        """First row (of rows start..end) from which every feature is defined (after the indicators' warm-up)."""
        x = self.features.iloc[start:end].to_numpy(dtype=np.float64, na_value=np.nan)
        idx = np.flatnonzero(np.isfinite(x).all(axis=1))
        if idx.size == 0:
            raise ValueError(f"no row has every feature defined ({len(x)} rows; the features need "
                             f"{getattr(self.spec, 'window', '?')} bars of clean history)")
        return start + int(idx[0])


def last_complete_window(prep: Prepared, seq_len: int) -> np.ndarray:
    """The newest (seq_len, n_features) window of raw features with every value defined, float32."""
    x = prep.features.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = complete_windows(x, np.zeros(len(x)), seq_len)
    if not ok.any():
        raise ValueError(f"no complete window of {seq_len} bars in {len(x)} rows")
    end = int(np.flatnonzero(ok)[-1])
    return x[end - seq_len + 1:end + 1].astype(np.float32)


def default_spec(bars: pd.DataFrame):
    """The FeatureSpec the bars can feed: trade-flow imbalance only when they carry taker buy/sell
    volume (bars built from trades do, OKX candles do not); no book features (no book in a bar file)."""
    from hftlab.features import FeatureSpec

    has_flow = {"buy_volume", "sell_volume"} <= set(bars.columns)
    return FeatureSpec(flow_window=1 if has_flow else 0, book_levels=0)


def prepare(bars: pd.DataFrame, spec, horizon: int, dead_zone_bps: float) -> Prepared:
    """Features (hftlab.features.compute_features) and labels (make_labels) of bars in time order."""
    from hftlab.features import compute_features, make_labels

    if "ts_ms" in bars.columns:
        ts = bars["ts_ms"].to_numpy(dtype=np.int64)
        if ts.size > 1 and not (np.diff(ts) > 0).all():
            raise ValueError("bars must be in strictly increasing ts_ms order (sort them and drop duplicates)")
    else:
        ts = np.arange(len(bars), dtype=np.int64)
    bars = bars.reset_index(drop=True)
    features = compute_features(bars, spec)
    close = bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)
    labels = make_labels(close, horizon, dead_zone_bps)
    forward = np.full(close.size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        forward[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return Prepared(features, labels, ts, spec, int(horizon), float(dead_zone_bps), forward)


def prepare_panel(parts, spec, horizon: int, dead_zone_bps: float) -> Prepared:
    """Several series (name, bars) in one Prepared: each series' features and labels computed on its
    own bars, the series stacked with one row of NaN between them, so no window and no label reads
    across two series. Walk-forward splits are made per series (`plan_folds`), so every series is
    tested on its own newest rows and trained on its own older ones, all in one model."""
    import pandas as pd

    parts = list(parts)
    if not parts:
        raise ValueError("a panel needs at least one series")
    preps = [(name, prepare(bars, spec, horizon, dead_zone_bps)) for name, bars in parts]
    cols = list(preps[0][1].features.columns)
    frames, labels, ts, fwd, series = [], [], [], [], []
    row = 0
    for k, (name, p) in enumerate(preps):
        if k:
            frames.append(pd.DataFrame(np.full((1, len(cols)), np.nan), columns=cols))
            labels.append(np.full(1, np.nan))
            ts.append(np.full(1, -1, dtype=np.int64))
            fwd.append(np.full(1, np.nan))
            row += 1
        frames.append(p.features)
        labels.append(p.labels)
        ts.append(p.ts_ms)
        fwd.append(p.forward)
        series.append((name, row, row + p.n_rows))
        row += p.n_rows
    features = pd.concat(frames, ignore_index=True)
    return Prepared(features, np.concatenate(labels), np.concatenate(ts), spec, int(horizon), float(dead_zone_bps),
                    np.concatenate(fwd), tuple(series))


@dataclass(frozen=True)
class Segment:
    start: int
    end: int  # exclusive

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Split:
    fold: int
    train: Segment
    val: Segment
    test: Segment


def walk_forward(n_rows: int, *, first_row: int, n_folds: int, test_fraction: float, val_fraction: float,
                 purge: int, min_train_rows: int) -> list[Split]:
    """Expanding-window walk-forward: the last n_folds * test_fraction of the usable rows are test
    blocks in time order; fold k trains on everything before its block, less `purge` rows, the last
    val_fraction of it (after another purge) held out for early stopping."""
    if n_folds < 1:
        raise ValueError(f"n_folds must be >= 1, got {n_folds}")
    if not 0 < test_fraction * n_folds < 1:
        raise ValueError(f"test_fraction * n_folds must be in (0, 1), got {test_fraction} * {n_folds}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    usable = n_rows - first_row
    test_len = int(usable * test_fraction)
    splits = []
    for k in range(n_folds):
        test_start = n_rows - (n_folds - k) * test_len
        dev_end = test_start - purge
        val_len = max(0, int((dev_end - first_row) * val_fraction))
        train_end = dev_end - val_len - purge
        if train_end - first_row < min_train_rows or val_len < purge or test_len < purge:
            raise ValueError(
                f"too little data for {n_folds} walk-forward folds ({n_rows} rows, {first_row} of feature warm-up): "
                f"fold {k} would train on {max(0, train_end - first_row)} rows (need {min_train_rows}), validate on "
                f"{val_len} and test on {test_len} (each needs more than the purge gap of {purge} rows); give more "
                "bars, fewer folds or a shorter seq_len/horizon")
        splits.append(Split(k, Segment(first_row, train_end), Segment(dev_end - val_len, dev_end),
                            Segment(test_start, test_start + test_len)))
    return splits


def plan_folds(prep: Prepared, *, n_folds: int, test_fraction: float, val_fraction: float, purge: int,
               min_train_rows: int) -> list[tuple[Split, ...]]:
    """Walk-forward splits of each series of `prep` (`walk_forward` over its own rows): fold k is the
    tuple of every series' fold k."""
    per_series = [walk_forward(end, first_row=prep.first_complete_row(start, end), n_folds=n_folds,
                               test_fraction=test_fraction, val_fraction=val_fraction, purge=purge,
                               min_train_rows=min_train_rows)
                  for _name, start, end in prep.parts]
    return [tuple(s[k] for s in per_series) for k in range(n_folds)]


def sample_ends(seg: Segment, ok: np.ndarray, seq_len: int, horizon: int, stride: int = 1) -> np.ndarray:
    """End rows of the samples inside `seg` (see the module doc) whose window and label are complete,
    every `stride`-th one."""
    lo, hi = seg.start + seq_len - 1, seg.end - 1 - horizon
    if hi < lo:
        return np.empty(0, dtype=np.int64)
    ends = np.arange(lo, hi + 1, dtype=np.int64)
    return ends[ok[ends]][::stride]


def complete_windows(x: np.ndarray, labels: np.ndarray, seq_len: int) -> np.ndarray:
    """ok[i]: rows i-seq_len+1..i all finite and label i known."""
    bad_row = ~np.isfinite(x).all(axis=1)
    csum = np.concatenate([[0], np.cumsum(bad_row)])
    i = np.arange(len(x))
    start = np.maximum(i - seq_len + 1, 0)
    ok = (csum[i + 1] - csum[start] == 0) & (i >= seq_len - 1)
    return ok & np.isfinite(labels)


@dataclass(frozen=True)
class FoldData:
    """One split, normalised with statistics of its training rows: what every model trains on."""

    split: Split
    x: np.ndarray  # (rows, n_features) float32, normalised
    y: np.ndarray  # (rows,) int64 class index (label + 1), -1 where unknown
    train_ends: np.ndarray
    val_ends: np.ndarray
    test_ends: np.ndarray
    seq_len: int
    normaliser: object  # hftlab.features.Normaliser
    splits: tuple[Split, ...] = ()  # a panel: every series' split (`split` is the first's)

    @property
    def n_features(self) -> int:
        return self.x.shape[1]

    def windows(self, ends: np.ndarray) -> np.ndarray:
        """(len(ends), seq_len, n_features) copies of the windows ending at `ends`."""
        return self.x[ends[:, None] + np.arange(-self.seq_len + 1, 1)]

    def class_weights(self) -> np.ndarray:
        """n / (3 n_c) over the training labels (1 for an absent class): the loss weights."""
        counts = np.bincount(self.y[self.train_ends], minlength=N_CLASSES).astype(np.float64)
        return np.where(counts > 0, counts.sum() / (N_CLASSES * np.maximum(counts, 1)), 1.0)

    def with_permuted_labels(self, seed: int) -> FoldData:
        """Training and validation labels shuffled among their own samples; test labels untouched.
        A model fitted to them is a random function of the features: what it recovers of the real
        fit's skill on the test block is the permuted-label control (hftlab.models.evaluate.permuted_verdict)."""
        rng = np.random.default_rng(seed)
        y = self.y.copy()
        for ends in (self.train_ends, self.val_ends):
            y[ends] = self.y[rng.permutation(ends)]
        return replace(self, y=y)


def make_fold(prep: Prepared, split, seq_len: int, *, stride: int = 1, clip: float | None = 5.0) -> FoldData:
    """`split`: a Split, or for a panel (`prepare_panel`) a tuple of one Split per series (`plan_folds`)."""
    from hftlab.features import Normaliser

    splits = (split,) if isinstance(split, Split) else tuple(split)
    if len(splits) != len(prep.parts):
        raise ValueError(f"{len(splits)} split(s) for {len(prep.parts)} series")
    if len(splits) == 1:
        # Normaliser.fit reads only rows with index < until: the training segment and what precedes it
        normaliser = Normaliser.fit(prep.features, until=splits[0].train.end, clip=clip)
    else:
        train_rows = np.zeros(prep.n_rows, dtype=bool)
        for (_name, start, _end), s in zip(prep.parts, splits):
            train_rows[start:s.train.end] = True
        normaliser = Normaliser.fit(prep.features[train_rows], clip=clip)
    x = np.ascontiguousarray(normaliser.transform(prep.features).to_numpy(dtype=np.float64), dtype=np.float32)
    ok = complete_windows(x, prep.labels, seq_len)
    y = np.where(np.isfinite(prep.labels), prep.labels + 1, -1).astype(np.int64)
    h = prep.horizon

    def ends(seg: str, step: int) -> np.ndarray:
        return np.concatenate([sample_ends(getattr(s, seg), ok, seq_len, h, step) for s in splits])

    fold = FoldData(
        splits[0], x, y,
        train_ends=ends("train", stride), val_ends=ends("val", 1), test_ends=ends("test", 1),
        seq_len=seq_len, normaliser=normaliser, splits=splits if len(splits) > 1 else (),
    )
    for name in ("train_ends", "val_ends", "test_ends"):
        if getattr(fold, name).size == 0:
            raise ValueError(f"fold {splits[0].fold}: no complete {name.split('_')[0]} window (segment "
                             f"{getattr(splits[0], name.split('_')[0])}, seq_len {seq_len}, horizon {h})")
    return fold
