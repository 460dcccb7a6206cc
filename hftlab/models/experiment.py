"""One honest evaluation: the LSTM and the baselines on the same walk-forward folds, out of sample,
with the permuted-label control. No MLflow here (hftlab.models.train logs what this returns).

For each fold: normalise on its training rows, train the LSTM (early-stopped on the validation
block), fit the baselines on the same samples, predict the test block. Test predictions of all
folds are pooled (they are disjoint and in time order) for the headline metrics and the chance
tests; per-fold metrics are kept beside them. The model that ships is the last fold's: it saw the
most data, and its test block is the newest out-of-sample period.

Permuted-label control (last fold): training and validation labels shuffled, test labels true;
every model must then sit at chance, or the pipeline leaks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from hftlab.models.baselines import BASELINES, baseline_probabilities
from hftlab.models.data import FoldData, Prepared, Split, make_fold, walk_forward
from hftlab.models.evaluate import block_bootstrap_difference, chance_verdict, evaluate_models, metrics

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


FoldSink = Callable[[int], Callable[[dict[str, float], int], None] | None]


def _train_and_predict(fold: FoldData, cfg, opts: Options, seed: int, sink, progress: bool):
    from hftlab.models.lightning_module import fit, predict_proba

    res = fit(fold, cfg, seed=seed, patience=opts.patience, gradient_clip=opts.gradient_clip, sink=sink,
              progress=progress)
    probas = {LSTM: predict_proba(res.net, fold, fold.test_ends, device=res.device)}
    probas.update(baseline_probabilities(fold, seed, opts.baselines))
    return res, probas


def plan(prep: Prepared, cfg, opts: Options) -> list[Split]:
    """The walk-forward splits, or a ValueError saying why this data and these settings cannot work;
    cheap, so a caller can fail before it sets anything up."""
    if cfg.strategy == "ddp_spawn":
        raise ValueError("model.strategy ddp_spawn is not supported: use ddp (Lightning launches one process per "
                         "device and each runs the same training; ddp_spawn would not bring the best weights back)")
    T, h = cfg.seq_len, prep.horizon
    return walk_forward(prep.n_rows, first_row=prep.first_complete_row(), n_folds=opts.n_folds,
                        test_fraction=opts.test_fraction, val_fraction=opts.val_fraction,
                        purge=opts.purge_rows(h, T), min_train_rows=T + h + cfg.batch_size)


def run_experiment(prep: Prepared, cfg, opts: Options = Options(), *, fold_sink: FoldSink | None = None,
                   progress: bool = False) -> Outcome:
    """`cfg`: hftlab.models.config.ModelConfig. `fold_sink(k)` gives the per-epoch metrics sink of fold k."""
    T, h, seed = cfg.seq_len, prep.horizon, cfg.seed
    purge = opts.purge_rows(h, T)
    splits = plan(prep, cfg, opts)
    ys, probas, per_fold, training, histories = [], {}, [], [], []
    for split in splits:
        fold = make_fold(prep, split, T, stride=opts.stride(h), clip=opts.clip)
        log.info("fold %d/%d: train %d windows, validate %d, test %d", split.fold + 1, len(splits),
                 fold.train_ends.size, fold.val_ends.size, fold.test_ends.size)
        res, fold_probas = _train_and_predict(fold, cfg, opts, seed + split.fold,
                                              fold_sink(split.fold) if fold_sink else None, progress)
        y = fold.y[fold.test_ends]
        ys.append(y)
        for name, p in fold_probas.items():
            probas.setdefault(name, []).append(p)
        per_fold.append({
            "fold": split.fold,
            "rows": {"train": [split.train.start, split.train.end], "val": [split.val.start, split.val.end],
                     "test": [split.test.start, split.test.end]},
            "ts_ms": {"train_start": int(prep.ts_ms[split.train.start]), "test_start": int(prep.ts_ms[split.test.start]),
                      "test_end": int(prep.ts_ms[split.test.end - 1])},
            "windows": {"train": int(fold.train_ends.size), "val": int(fold.val_ends.size), "test": int(fold.test_ends.size)},
            "models": {name: metrics(y, p) for name, p in fold_probas.items()},
        })
        training.append({"fold": split.fold, "epochs_run": res.epochs_run, "best_epoch": res.best_epoch,
                         "best_val_loss": res.best_val_loss, "device": res.device})
        histories.append(res.history)
    y_all = np.concatenate(ys)
    pooled = {name: np.concatenate(ps) for name, ps in probas.items()}
    models = evaluate_models(y_all, pooled, min_shift=purge, alpha=opts.alpha, seed=seed, n_shifts=opts.n_shifts)
    lstm_pred = pooled[LSTM].argmax(axis=1)
    versus = {name: block_bootstrap_difference(y_all, lstm_pred, p.argmax(axis=1), block=purge, seed=seed)
              for name, p in pooled.items() if name != LSTM}
    report = {
        "data": _data_summary(prep),
        "options": {**asdict(opts), "train_stride": opts.stride(h), "purge": purge},
        "folds": per_fold,
        "lstm_training": training,
        "models": models,
        "lstm_vs_baselines": versus,
        "controls": {},
    }
    if opts.permuted_control:
        log.info("control: permuted training labels (fold %d)", fold.split.fold + 1)
        _, control = _train_and_predict(fold.with_permuted_labels(seed), cfg, opts, seed, None, progress)
        y = fold.y[fold.test_ends]
        results = evaluate_models(y, control, min_shift=purge, alpha=opts.alpha, seed=seed, n_shifts=opts.n_shifts)
        report["controls"]["permuted_labels"] = {
            "what": f"fold {fold.split.fold}: training and validation labels permuted, test labels true; "
                    "every model must sit at chance",
            **chance_verdict(results, alpha=opts.alpha, n_shifts=opts.n_shifts, sided="two"),
        }
    return Outcome(report, res.net, fold.normaliser, histories)


def _data_summary(prep: Prepared) -> dict:
    known = prep.labels[np.isfinite(prep.labels)]
    return {
        "rows": prep.n_rows,
        "first_ts_ms": int(prep.ts_ms[0]),
        "last_ts_ms": int(prep.ts_ms[-1]),
        "features": list(prep.features.columns),
        "feature_window": getattr(prep.spec, "window", None),
        "horizon": prep.horizon,
        "dead_zone_bps": prep.dead_zone_bps,
        "label_rates": {"down": float(np.mean(known == -1)), "flat": float(np.mean(known == 0)),
                        "up": float(np.mean(known == 1))},
    }
