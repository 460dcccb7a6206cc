"""Class probabilities over bars, for the rows a backtest decides on.

- `model_proba`: a logged SignalNet (raw feature windows in, probabilities out) over its own
  FeatureSpec's features, in batches (research path; the live path predicts one window at a time
  with hftlab.models.predictor).
- `baseline_proba`: the baselines of a training run (majority, logistic, gbt), refitted exactly as
  that run fitted them on its last fold (same bars, split, normalisation, samples and seed:
  deterministic), then applied to the backtest bars with that fold's normalisation. They are not
  stored in MLflow, so this is how "the same rule applied to the baselines' probabilities" gets
  their probabilities.

Rows without a complete input window (warm-up, gaps) get NaN probabilities: the rule is flat there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

BATCH = 4096


def _complete(x: np.ndarray, seq_len: int) -> np.ndarray:
    from hftlab.models.data import complete_windows

    return complete_windows(x, np.zeros(len(x)), seq_len)


def model_proba(signal_net, spec, bars: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 3) probabilities of the windows ending at `rows` (row -1: NaN)."""
    import torch

    from hftlab.features import compute_features

    rows = np.asarray(rows, dtype=np.int64)
    out = np.full((rows.size, 3), np.nan)
    if rows.size == 0 or rows.max() < 0:
        return out
    upto = int(rows.max()) + 1
    feats = compute_features(bars.iloc[:upto], spec)
    n_features, seq_len = signal_net.cfg.n_features, signal_net.cfg.seq_len
    if feats.shape[1] != n_features:
        raise ValueError(f"the model takes {n_features} features, its FeatureSpec gives {feats.shape[1]}")
    x = np.ascontiguousarray(feats.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float32)
    ok = np.zeros(rows.size, dtype=bool)
    valid = rows >= 0
    ok[valid] = _complete(x, seq_len)[rows[valid]]
    where = np.flatnonzero(ok)
    offsets = np.arange(-seq_len + 1, 1)
    with torch.inference_mode():
        for k in range(0, where.size, BATCH):
            part = where[k:k + BATCH]
            windows = torch.from_numpy(x[rows[part][:, None] + offsets])
            out[part] = signal_net(windows).numpy()
    return out


@dataclasses.dataclass(frozen=True)
class TrainingRun:
    """What refitting a run's baselines needs: its report, parameters and training bars."""

    run_id: str
    report: dict
    params: dict[str, str]
    bars: pd.DataFrame


def baseline_proba(run: TrainingRun, spec, bars: pd.DataFrame, rows: np.ndarray,
                   names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Each baseline of the run, fitted on its last fold, on the windows of `bars` ending at `rows`."""
    from hftlab.features import compute_features
    from hftlab.models.baselines import FITTERS, window_summary
    from hftlab.models.data import make_fold, prepare, walk_forward

    report, params = run.report, run.params
    try:
        opts = report["options"]
        seq_len, batch, seed = int(params["model.seq_len"]), int(params["model.batch_size"]), int(params["model.seed"])
        horizon, dead_zone = int(report["data"]["horizon"]), float(report["data"]["dead_zone_bps"])
        names = list(opts.get("baselines", ())) if names is None else list(names)
        prep = prepare(run.bars, spec, horizon, dead_zone)
        split = walk_forward(prep.n_rows, first_row=prep.first_complete_row(), n_folds=int(opts["n_folds"]),
                             test_fraction=float(opts["test_fraction"]), val_fraction=float(opts["val_fraction"]),
                             purge=int(opts["purge"]), min_train_rows=seq_len + horizon + batch)[-1]
        want = int(report["folds"][-1]["ts_ms"]["test_start"])
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"run {run.run_id}: its report or parameters lack what refitting the baselines needs ({e!r})") from None
    if int(prep.ts_ms[split.test.start]) != want:
        raise ValueError(f"run {run.run_id}: its training bars no longer give its last fold (test block starts at "
                         f"{int(prep.ts_ms[split.test.start])}, the report says {want}): the data file changed")
    fold = make_fold(prep, split, seq_len, stride=int(opts["train_stride"]), clip=opts.get("clip"))
    rows = np.asarray(rows, dtype=np.int64)
    upto = int(rows.max()) + 1 if rows.size else 0
    x = fold.normaliser.transform(compute_features(bars.iloc[:upto], spec)).to_numpy(dtype=np.float64, na_value=np.nan)
    x = np.ascontiguousarray(x, dtype=np.float32)
    ok = np.zeros(rows.size, dtype=bool)
    valid = rows >= 0
    ok[valid] = _complete(x, seq_len)[rows[valid]]
    ends = rows[ok]
    summary = window_summary(dataclasses.replace(fold, x=x), ends) if ends.size else None
    out = {}
    for name in names:
        if name not in FITTERS:
            raise ValueError(f"unknown baseline {name!r}; known: {list(FITTERS)}")
        p = np.full((rows.size, 3), np.nan)
        if summary is not None:
            # the seed the experiment used for this fold (hftlab.models.experiment: seed + fold)
            p[ok] = FITTERS[name](fold, seed + split.fold)(summary)
        out[name] = p
    return out
