"""Baselines on the same folds, samples and normalised features as the LSTM.

The LSTM has to beat these out of sample to earn its keep (qlib's own benchmark has gradient-boosted
trees ahead of its attention LSTM). Each sees a small summary of the window instead of the window:
the newest row, the mean of the last seq_len // 8 rows, the mean and the standard deviation over the
whole window (4 x n_features columns). Classes are balanced like the LSTM's loss: by class
weights, or for the trees by dividing the predicted probabilities by the training class rates and
renormalising (the same decision rule in expectation; sklearn's weighted binning is ~15x slower).

- majority: always the most frequent training class (with its training frequencies as probabilities)
- logistic: multinomial logistic regression, L2, balanced class weights
- gbt: scikit-learn HistGradientBoostingClassifier (LightGBM's algorithm; LightGBM itself is not
  installed), early-stopped on the fold's validation block, prior-corrected
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hftlab.models.data import N_CLASSES, FoldData

BASELINES = ("majority", "logistic", "gbt")


def window_summary(fold: FoldData, ends: np.ndarray) -> np.ndarray:
    """(len(ends), 4 * n_features): last row, short mean, window mean, window std, via cumulative sums."""
    x = fold.x.astype(np.float64)
    # sample windows are complete; zeroing the NaN rows elsewhere (warm-up, gaps) keeps the sums finite
    x = np.where(np.isfinite(x), x, 0.0)
    cs = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    cs2 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])
    T = fold.seq_len
    short = max(1, T // 8)

    def mean(sums: np.ndarray, n: int) -> np.ndarray:
        return (sums[ends + 1] - sums[ends + 1 - n]) / n

    m = mean(cs, T)
    var = np.maximum(mean(cs2, T) - m * m, 0.0)
    return np.hstack([x[ends], mean(cs, short), m, np.sqrt(var)])


def _full_proba(model, x: np.ndarray) -> np.ndarray:
    """predict_proba with a column per class even when training lacked one."""
    p = model.predict_proba(x)
    out = np.zeros((len(x), N_CLASSES))
    out[:, model.classes_.astype(int)] = p
    return out


def fit_majority(fold: FoldData, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier(strategy="prior").fit(window_summary(fold, fold.train_ends), fold.y[fold.train_ends])
    return lambda x: _full_proba(model, x)


def fit_logistic(fold: FoldData, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500, random_state=seed)
    model.fit(window_summary(fold, fold.train_ends), fold.y[fold.train_ends])
    return lambda x: _full_proba(model, x)


def fit_gbt(fold: FoldData, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    y = fold.y[fold.train_ends]
    model = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=50, l2_regularization=1.0,
        early_stopping=True, n_iter_no_change=20, random_state=seed,
    )
    model.fit(window_summary(fold, fold.train_ends), y,
              X_val=window_summary(fold, fold.val_ends), y_val=fold.y[fold.val_ends])
    prior = np.bincount(y, minlength=N_CLASSES) / len(y)
    inv_prior = np.where(prior > 0, 1.0 / np.maximum(prior, 1e-12), 0.0)

    def proba(x: np.ndarray) -> np.ndarray:
        p = _full_proba(model, x) * inv_prior
        return p / p.sum(axis=1, keepdims=True)

    return proba


FITTERS = {"majority": fit_majority, "logistic": fit_logistic, "gbt": fit_gbt}


def baseline_probabilities(fold: FoldData, seed: int, names=BASELINES) -> dict[str, np.ndarray]:
    """Each baseline fitted on the fold's training samples; its class probabilities on the test samples."""
    x_test = window_summary(fold, fold.test_ends)
    return {name: FITTERS[name](fold, seed)(x_test) for name in names}
