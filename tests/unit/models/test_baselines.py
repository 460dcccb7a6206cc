import numpy as np

from hftlab.models.baselines import BASELINES, baseline_probabilities, window_summary
from hftlab.models.data import make_fold, walk_forward


def _fold(prep, seq_len=16):
    split = walk_forward(prep.n_rows, first_row=0, n_folds=1, test_fraction=0.25, val_fraction=0.2, purge=30,
                         min_train_rows=200)[0]
    return make_fold(prep, split, seq_len=seq_len, stride=1)


def test_window_summary_matches_direct_computation(learnable):
    fold = _fold(learnable())
    ends = fold.test_ends[:5]
    got = window_summary(fold, ends)
    w = fold.windows(ends).astype(np.float64)
    expected = np.hstack([w[:, -1], w[:, -2:].mean(axis=1), w.mean(axis=1), w.std(axis=1)])
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_baselines_learn_a_learnable_signal_and_majority_does_not(learnable):
    from hftlab.models.evaluate import balanced_accuracy

    fold = _fold(learnable(lag=0))  # the summaries hold the newest row exactly, older ones only averaged
    probas = baseline_probabilities(fold, seed=0)
    assert list(probas) == list(BASELINES)
    y = fold.y[fold.test_ends]
    for p in probas.values():
        assert p.shape == (len(y), 3)
        np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-9)
    assert balanced_accuracy(y, probas["majority"].argmax(axis=1)) == 1 / 3
    # the label is a threshold of a lagged feature: trees recover it, a linear model partly
    assert balanced_accuracy(y, probas["gbt"].argmax(axis=1)) > 0.8
    assert balanced_accuracy(y, probas["logistic"].argmax(axis=1)) > 0.5
