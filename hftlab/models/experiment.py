"""One honest evaluation: the LSTM and the baselines on the same walk-forward folds, out of sample,
with the permuted-label control. No MLflow here (hftlab.models.train logs what this returns).

For each fold: normalise on its training rows, train the LSTM (early-stopped on the validation
block), fit the baselines on the same samples, predict the test block. Every model is judged per
fold, and the headline is the mean over the folds with its spread (`report["headline"]`): pooling
the folds' predictions would weigh a fold by its size and let one good fold hide bad ones. The
pooled metrics and their chance tests are kept beside it (`report["models"]`, the test blocks are
disjoint and in time order). Beside three-class balanced accuracy, which also rewards telling a move
from no move (volatility), the directional skill of each model: the accuracy of the sign of
P(up) - P(down) on the bars where the rule would trade (|edge| > `trade_threshold`) against the sign
of the forward return, and the information coefficient (Spearman) of that edge with the forward
return. A panel (hftlab.models.data.prepare_panel: several symbols in one model) is also judged
per symbol. The model that ships is the last fold's: it saw the most data, and its test block is
the newest out-of-sample period. `Outcome.predictions` keeps every fold's test predictions, so that
the same probabilities can be backtested after costs (hftlab.pipeline.evaluation).

Permuted-label control (last fold): training and validation labels shuffled, test labels true; no
model may then recover a material part (hftlab.models.evaluate.PERMUTED_SHARE) of the skill it has
fitted to the true labels, or the labels leak into training (hftlab.models.evaluate.permuted_verdict:
a fit to shuffled labels is a random function of the features, which has some skill of its own
where the features predict strongly, so "at chance" would be the wrong test there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from hftlab.models.baselines import BASELINES, baseline_probabilities
from hftlab.models.data import FoldData, Prepared, Split, complete_windows, make_fold, plan_folds
from hftlab.models.evaluate import (PERMUTED_SHARE, block_bootstrap_difference, directional, evaluate_models,
                                    fold_summary, information_coefficient, metrics, permuted_verdict)

log = logging.getLogger("hftlab.models")

LSTM = "lstm"


@dataclass(frozen=True)
class Options:
    """Evaluation settings beside ModelConfig."""

    n_folds: int = 3
    test_fraction: float = 0.1       # of the usable rows, per fold
    val_fraction: float = 0.15       # of each fold's training span, for early stopping
    train_stride: int = 0            # every k-th training window; 0: max(1, horizon // 2)
    purge: int = 0                   # rows between segments; 0: horizon + seq_len
    patience: int = 3                # early-stopping epochs without a better validation loss
    gradient_clip: float = 1.0
    clip: float | None = 5.0         # normalised features clipped to +-clip
    alpha: float = 0.05
    n_shifts: int = 1000
    permuted_control: bool = True
    baselines: tuple[str, ...] = BASELINES
    trade_threshold: float = 0.1     # directional skill: bars where |P(up) - P(down)| exceeds this

    def stride(self, horizon: int) -> int:
        return self.train_stride or max(1, horizon // 2)

    def purge_rows(self, horizon: int, seq_len: int) -> int:
        return max(self.purge, horizon + seq_len)


@dataclass
class Outcome:
    report: dict                      # JSON-serialisable
    net: object                       # AttentionLSTM of the last fold, on the CPU, eval mode
    normaliser: object                # its Normaliser
    history: list[list[dict]] = field(default_factory=list)  # per fold, per epoch
    predictions: list[dict] = field(default_factory=list)    # per fold: ends, y, forward, probas per model


FoldSink = Callable[[int], Callable[[dict[str, float], int], None] | None]


def _train_and_predict(fold: FoldData, cfg, opts: Options, seed: int, sink, progress: bool):
    from hftlab.models.lightning_module import fit, predict_proba

    res = fit(fold, cfg, seed=seed, patience=opts.patience, gradient_clip=opts.gradient_clip, sink=sink,
              progress=progress)
    probas = {LSTM: predict_proba(res.net, fold, fold.test_ends, device=res.device)}
    probas.update(baseline_probabilities(fold, seed, opts.baselines))
    return res, probas


def plan_all(prep: Prepared, cfg, opts: Options) -> list[tuple[Split, ...]]:
    """Every fold's splits, one per series (hftlab.models.data.plan_folds), or a ValueError saying why
    this data and these settings cannot work; cheap, so a caller can fail before it sets anything up."""
    if cfg.strategy == "ddp_spawn":
        raise ValueError("model.strategy ddp_spawn is not supported: use ddp (Lightning launches one process per "
                         "device and each runs the same training; ddp_spawn would not bring the best weights back)")
    T, h = cfg.seq_len, prep.horizon
    return plan_folds(prep, n_folds=opts.n_folds, test_fraction=opts.test_fraction, val_fraction=opts.val_fraction,
                      purge=opts.purge_rows(h, T), min_train_rows=T + h + cfg.batch_size)


def plan(prep: Prepared, cfg, opts: Options) -> list[Split]:
    """The walk-forward splits of a single series (a panel: of its first series); see `plan_all`."""
    return [parts[0] for parts in plan_all(prep, cfg, opts)]


def skill(y: np.ndarray, forward: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Out-of-sample metrics of probabilities `p` against labels `y`, with the directional skill of
    their edge P(up) - P(down) against the forward returns (where |edge| > threshold) and its IC."""
    edge = p[:, 2] - p[:, 0]
    return {**metrics(y, p), **directional(edge, forward, threshold), "ic": information_coefficient(edge, forward)}


def _ts(prep: Prepared, split: Split) -> dict:
    return {"train_start": int(prep.ts_ms[split.train.start]), "test_start": int(prep.ts_ms[split.test.start]),
            "test_end": int(prep.ts_ms[split.test.end - 1])}


def run_experiment(prep: Prepared, cfg, opts: Options = Options(), *, fold_sink: FoldSink | None = None,
                   progress: bool = False) -> Outcome:
    """`cfg`: hftlab.models.config.ModelConfig. `fold_sink(k)` gives the per-epoch metrics sink of fold k."""
    T, h, seed = cfg.seq_len, prep.horizon, cfg.seed
    purge = opts.purge_rows(h, T)
    folds = plan_all(prep, cfg, opts)
    forward = prep.forward if prep.forward is not None else np.full(prep.n_rows, np.nan)
    series_of = np.full(prep.n_rows, -1, dtype=np.int64)
    for k, (_name, start, end) in enumerate(prep.parts):
        series_of[start:end] = k
    ys, fwds, sids, probas, per_fold, training, histories, predictions = [], [], [], {}, [], [], [], []
    for splits in folds:
        split = splits[0]
        fold = make_fold(prep, splits if len(splits) > 1 else split, T, stride=opts.stride(h), clip=opts.clip)
        log.info("fold %d/%d: train %d windows, validate %d, test %d", split.fold + 1, len(folds),
                 fold.train_ends.size, fold.val_ends.size, fold.test_ends.size)
        res, fold_probas = _train_and_predict(fold, cfg, opts, seed + split.fold,
                                              fold_sink(split.fold) if fold_sink else None, progress)
        ends = fold.test_ends
        y, fwd = fold.y[ends], forward[ends]
        ys.append(y)
        fwds.append(fwd)
        sids.append(series_of[ends])
        for name, p in fold_probas.items():
            probas.setdefault(name, []).append(p)
        record = {
            "fold": split.fold,
            "rows": {"train": [split.train.start, split.train.end], "val": [split.val.start, split.val.end],
                     "test": [split.test.start, split.test.end]},
            "ts_ms": _ts(prep, split),
            "windows": {"train": int(fold.train_ends.size), "val": int(fold.val_ends.size), "test": int(ends.size)},
            "models": {name: skill(y, fwd, p, opts.trade_threshold) for name, p in fold_probas.items()},
        }
        if prep.series:
            record["series"] = {name: _ts(prep, s) for (name, _a, _b), s in zip(prep.series, splits)}
        per_fold.append(record)
        training.append({"fold": split.fold, "epochs_run": res.epochs_run, "best_epoch": res.best_epoch,
                         "best_val_loss": res.best_val_loss, "device": res.device})
        histories.append(res.history)
        predictions.append({"fold": split.fold, "ends": ends, "y": y, "forward": fwd, "series": series_of[ends],
                            "probas": fold_probas})
    y_all, fwd_all, sid_all = np.concatenate(ys), np.concatenate(fwds), np.concatenate(sids)
    pooled = {name: np.concatenate(ps) for name, ps in probas.items()}
    models = evaluate_models(y_all, pooled, min_shift=purge, alpha=opts.alpha, seed=seed, n_shifts=opts.n_shifts)
    for name, p in pooled.items():
        edge = p[:, 2] - p[:, 0]
        models[name].update(directional(edge, fwd_all, opts.trade_threshold),
                            ic=information_coefficient(edge, fwd_all))
    lstm_pred = pooled[LSTM].argmax(axis=1)
    versus = {name: block_bootstrap_difference(y_all, lstm_pred, p.argmax(axis=1), block=purge, seed=seed)
              for name, p in pooled.items() if name != LSTM}
    headline = {name: {key: fold_summary([f["models"][name][key] for f in per_fold])
                       for key in ("balanced_accuracy", "directional_accuracy", "ic", "traded")}
                for name in pooled}
    report = {
        "data": _data_summary(prep, T),
        "options": {**asdict(opts), "train_stride": opts.stride(h), "purge": purge},
        "folds": per_fold,
        "lstm_training": training,
        "headline": headline,
        "models": models,
        "lstm_vs_baselines": versus,
        "controls": {},
    }
    if prep.series:
        report["series"] = {
            name: {m: skill(y_all[sid_all == k], fwd_all[sid_all == k], p[sid_all == k], opts.trade_threshold)
                   for m, p in pooled.items()}
            for k, (name, _a, _b) in enumerate(prep.series)}
    if opts.permuted_control:
        log.info("control: permuted training labels (fold %d)", fold.split.fold + 1)
        _, control = _train_and_predict(fold.with_permuted_labels(seed), cfg, opts, seed, None, progress)
        y = fold.y[fold.test_ends]
        results = evaluate_models(y, control, min_shift=purge, alpha=opts.alpha, seed=seed, n_shifts=opts.n_shifts)
        real = {name: r["balanced_accuracy"] for name, r in per_fold[-1]["models"].items()}
        report["controls"]["permuted_labels"] = {
            "what": f"fold {fold.split.fold}: training and validation labels permuted, test labels true; no model "
                    f"may recover more than {PERMUTED_SHARE:g} of its real skill (a label leak would recover it all)",
            **permuted_verdict(results, real, alpha=opts.alpha, n_shifts=opts.n_shifts),
        }
    return Outcome(report, res.net, fold.normaliser, histories, predictions)


def _data_summary(prep: Prepared, seq_len: int) -> dict:
    known = prep.labels[np.isfinite(prep.labels)]
    x = prep.features.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = complete_windows(x, prep.labels, seq_len)
    excluded = 0
    for _name, start, end in prep.parts:
        first = prep.first_complete_row(start, end) + seq_len - 1
        excluded += int((~ok[first:end - prep.horizon]).sum())
    return {
        "rows": prep.n_rows,
        "first_ts_ms": int(prep.ts_ms[0]),
        "last_ts_ms": int(prep.ts_ms[-1]),
        "features": list(prep.features.columns),
        "feature_window": getattr(prep.spec, "window", None),
        "horizon": prep.horizon,
        "dead_zone_bps": prep.dead_zone_bps,
        "series": [name for name, _a, _b in prep.series],
        "windows_excluded": excluded,  # after the warm-up: windows holding a gap (or its indicators' re-warm-up)
        "label_rates": {"down": float(np.mean(known == -1)), "flat": float(np.mean(known == 0)),
                        "up": float(np.mean(known == 1))},
    }
