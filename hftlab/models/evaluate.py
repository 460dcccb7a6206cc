"""Out-of-sample metrics and the statistical tests behind the report's verdicts.

Chance is judged by a circular-shift permutation test of balanced accuracy: the test labels are
compared with the model's predictions rotated by a random offset (at least horizon + seq_len
rows, so a rotated prediction shares no window or label with its original position). Rotation
keeps the autocorrelation of both series, which overlapping windows and overlapping label horizons
make strong; an iid binomial interval around 1/3 ignores it and is too narrow (it would call
noise a signal). A model beats chance when its balanced accuracy is above the (1 - alpha)
quantile of the rotated ones. Balanced accuracy (mean recall over the classes present) is 1/3 for
any predictor independent of the labels, whatever the class balance, which is why it is the
statistic rather than accuracy.

The LSTM-versus-baseline comparison is a moving-block bootstrap of the difference in balanced
accuracy on the same test samples (blocks of horizon + seq_len rows).

Balanced accuracy over down/flat/up rewards telling a move from no move as much as telling up from
down; what a trade needs is the direction. `directional` scores the sign of the edge P(up) - P(down)
against the sign of the forward return on the samples where the rule would trade (|edge| above its
threshold; 0.5 is chance), and `information_coefficient` is the Spearman correlation of the edge
with the forward return over every sample (0 is chance). `fold_summary` is how a statistic is
reported across walk-forward folds: their mean, their spread and each fold's value.
`permuted_verdict` judges the permuted-label control (see there why "at chance" is not its test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from hftlab.models.data import N_CLASSES


def _confusion(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.bincount(N_CLASSES * y + pred, minlength=N_CLASSES * N_CLASSES).reshape(N_CLASSES, N_CLASSES)


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    cm = _confusion(y, pred)
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """accuracy, balanced_accuracy, f1_macro, auc_macro (one-vs-rest; NaN unless all classes occur),
    log_loss, and how often each class is true and predicted."""
    from sklearn.metrics import f1_score, log_loss, roc_auc_score

    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 only within ~1e-7
    pred = proba.argmax(axis=1)
    labels = list(range(N_CLASSES))
    present = np.bincount(y, minlength=N_CLASSES) > 0
    auc = float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels)) if present.all() else math.nan
    return {
        "n": int(len(y)),
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "f1_macro": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "auc_macro": auc,
        "log_loss": float(log_loss(y, np.clip(proba, 1e-12, 1.0), labels=labels)),
        "true_rate": (np.bincount(y, minlength=N_CLASSES) / len(y)).round(4).tolist(),
        "pred_rate": (np.bincount(pred, minlength=N_CLASSES) / len(y)).round(4).tolist(),
    }


def shift_test(y: np.ndarray, pred: np.ndarray, *, min_shift: int, n_shifts: int = 1000, seed: int = 0) -> dict:
    """Balanced accuracy against its distribution under random circular shifts of the predictions."""
    y = np.asarray(y, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    n = len(y)
    if n <= 2 * min_shift:
        raise ValueError(f"{n} test samples are too few for a shift test with min_shift {min_shift}")
    stat = balanced_accuracy(y, pred)
    shifts = np.random.default_rng(seed).integers(min_shift, n - min_shift + 1, n_shifts)
    null = np.array([balanced_accuracy(y, np.roll(pred, s)) for s in shifts])
    p_greater = (1 + int((null >= stat - 1e-12).sum())) / (n_shifts + 1)
    p_less = (1 + int((null <= stat + 1e-12).sum())) / (n_shifts + 1)
    return {
        "balanced_accuracy": stat,
        "null_mean": float(null.mean()),
        "null_q025": float(np.quantile(null, 0.025)),
        "null_q975": float(np.quantile(null, 0.975)),
        "p_greater": p_greater,
        "p_two_sided": min(1.0, 2 * min(p_greater, p_less)),
    }


def block_bootstrap_difference(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *, block: int,
                               n_boot: int = 1000, seed: int = 0) -> dict:
    """Balanced accuracy of a minus b, with a 95% moving-block bootstrap interval."""
    n = len(y)
    block = max(1, min(block, n))
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(n / block)
    offsets = np.arange(block)
    diffs = np.empty(n_boot)
    for k in range(n_boot):
        idx = (rng.integers(0, n - block + 1, n_blocks)[:, None] + offsets).ravel()[:n]
        diffs[k] = balanced_accuracy(y[idx], pred_a[idx]) - balanced_accuracy(y[idx], pred_b[idx])
    return {
        "difference": balanced_accuracy(y, pred_a) - balanced_accuracy(y, pred_b),
        "ci95": [float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))],
        "p_not_better": float((1 + (diffs <= 0).sum()) / (n_boot + 1)),
    }


SHIFT_TEST = ("circular-shift permutation test of balanced accuracy (predictions rotated by >= horizon + "
              "seq_len rows, {n} rotations; keeps the series' autocorrelation)")


def evaluate_models(y: np.ndarray, probas: dict[str, np.ndarray], *, min_shift: int, alpha: float = 0.05,
                    seed: int = 0, n_shifts: int = 1000) -> dict[str, dict]:
    """Metrics plus the shift test for each model; `beats_chance` is one-sided at alpha."""
    out = {}
    for name, p in probas.items():
        test = shift_test(y, p.argmax(axis=1), min_shift=min_shift, n_shifts=n_shifts, seed=seed)
        out[name] = {**metrics(y, p), "chance_test": test, "beats_chance": test["p_greater"] < alpha}
    return out


def chance_verdict(results: dict[str, dict], *, alpha: float = 0.05, n_shifts: int = 1000,
                   sided: str = "two") -> dict:
    """Verdict of a control where nothing is learnable: no model's shift test rejects at
    alpha / n_models (Bonferroni). sided="two": every model at chance (neither above nor below);
    sided="greater": no model above chance."""
    if sided not in ("two", "greater"):
        raise ValueError(f"sided must be 'two' or 'greater', got {sided!r}")
    level = alpha / max(1, len(results))
    key = "p_two_sided" if sided == "two" else "p_greater"
    models = {name: {"balanced_accuracy": r["chance_test"]["balanced_accuracy"],
                     "null_q025": r["chance_test"]["null_q025"], "null_q975": r["chance_test"]["null_q975"],
                     key: r["chance_test"][key], "at_chance": r["chance_test"][key] >= level}
              for name, r in results.items()}
    side = "two-sided" if sided == "two" else "one-sided (above chance)"
    return {
        "test": SHIFT_TEST.format(n=n_shifts) + f", {side}, Bonferroni alpha {alpha}/{len(results)}",
        "passed": all(m["at_chance"] for m in models.values()),
        "models": models,
    }


PERMUTED_SHARE = 0.5


def permuted_verdict(results: dict[str, dict], real: Mapping[str, float], *, alpha: float = 0.05,
                     n_shifts: int = 1000, share: float = PERMUTED_SHARE) -> dict:
    """Verdict of the permuted-label control: `results` of the models fitted to shuffled training
    labels (evaluate_models on the true test labels), `real` the balanced accuracy of the same
    models fitted to the true labels, on the same test block.

    Fitted to shuffled labels, a model is a random function of the features. Where the features
    predict strongly (the simulator at signal 1, thousands of test rows), a random function of them
    has real skill of either sign, on the order of 1/sqrt(number of features) of the best fit's, so
    "every model at chance" would fail an honest pipeline there. A leak of the labels into training
    (through the sample order, a normaliser, anything but the (features, label) pairs) gives the
    permuted fit the real fit's skill. So a model fails when it beats chance (one-sided shift test,
    Bonferroni over the models) by more than `share` of the real fit's excess over chance (1/3);
    with no real skill, any significant skill fails. Whether each sits at chance (two-sided) is
    reported beside it."""
    level = alpha / max(1, len(results))
    models = {}
    for name, r in results.items():
        test = r["chance_test"]
        excess = test["balanced_accuracy"] - 1 / 3
        real_excess = real[name] - 1 / 3
        beats = test["p_greater"] < level
        models[name] = {"balanced_accuracy": test["balanced_accuracy"], "null_q025": test["null_q025"],
                        "null_q975": test["null_q975"], "p_greater": test["p_greater"],
                        "p_two_sided": test["p_two_sided"], "at_chance": test["p_two_sided"] >= level,
                        "real_balanced_accuracy": real[name], "pred_rate": r.get("pred_rate"),
                        "true_rate": r.get("true_rate"),
                        "leaks": bool(beats and excess > share * max(real_excess, 0.0))}
    return {
        "test": SHIFT_TEST.format(n=n_shifts) + f", one-sided (above chance), Bonferroni alpha {alpha}/{len(results)}; "
                f"a model leaks when it beats chance by more than {share:g} of the same model's excess over chance "
                "fitted to the true labels",
        "passed": not any(m["leaks"] for m in models.values()),
        "models": models,
    }


def directional(edge: np.ndarray, forward: np.ndarray, threshold: float) -> dict:
    """Share of samples traded (|edge| > threshold, forward return known) and the accuracy of the edge's
    sign against the forward return's there (moves of exactly 0 left out; NaN without a trade)."""
    edge, forward = np.asarray(edge, dtype=np.float64), np.asarray(forward, dtype=np.float64)
    known = np.isfinite(edge) & np.isfinite(forward)
    traded = known & (np.abs(edge) > threshold)
    moved = traded & (forward != 0)
    hits = np.sign(edge[moved]) == np.sign(forward[moved])
    return {"traded": float(traded.sum() / known.sum()) if known.any() else math.nan, "n_traded": int(traded.sum()),
            "directional_accuracy": float(hits.mean()) if hits.size else math.nan}


def information_coefficient(edge: np.ndarray, forward: np.ndarray) -> float:
    """Spearman rank correlation of the edge with the forward return (NaN with fewer than 3 pairs or
    a constant side)."""
    from scipy.stats import rankdata

    edge, forward = np.asarray(edge, dtype=np.float64), np.asarray(forward, dtype=np.float64)
    ok = np.isfinite(edge) & np.isfinite(forward)
    if ok.sum() < 3:
        return math.nan
    a, b = rankdata(edge[ok]), rankdata(forward[ok])
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def fold_summary(values) -> dict:
    """{"mean", "std", "folds"} of one statistic over the walk-forward folds (NaN folds left out of the
    mean and spread; the spread needs two folds)."""
    v = [float(x) for x in values]
    finite = np.array([x for x in v if math.isfinite(x)])
    return {"mean": float(finite.mean()) if finite.size else math.nan,
            "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan, "folds": v}
