import numpy as np
import pytest
import torch

from hftlab.models.config import ModelConfig
from hftlab.models.data import make_fold, walk_forward
from hftlab.models.evaluate import balanced_accuracy


@pytest.fixture(scope="module")
def fold(learnable):
    prep = learnable(n=2500, lag=2)
    split = walk_forward(prep.n_rows, first_row=0, n_folds=1, test_fraction=0.2, val_fraction=0.2, purge=20,
                         min_train_rows=200)[0]
    return make_fold(prep, split, seq_len=8, stride=1)


CFG = ModelConfig(hidden_size=12, num_layers=1, dropout=0.0, seq_len=8, batch_size=64, max_epochs=4,
                  learning_rate=1e-2, accelerator="cpu", devices=1)


def test_fit_learns_a_lagged_signal_and_reports_each_epoch(fold):
    from hftlab.models.lightning_module import fit, predict_proba

    rows = []
    res = fit(fold, CFG, seed=3, patience=10, sink=lambda row, epoch: rows.append((epoch, row)))
    assert res.epochs_run == CFG.max_epochs and res.device == "cpu"
    assert [e for e, _ in rows] == list(range(CFG.max_epochs))
    assert {"train_loss", "val_loss", "val_bal_acc", "val_acc", "val_f1", "val_auc", "lr"} <= set(rows[0][1])
    assert res.best_val_loss == min(r["val_loss"] for _, r in rows)
    assert not res.net.training
    p = predict_proba(res.net, fold, fold.test_ends, batch_size=100)
    assert p.shape == (fold.test_ends.size, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    # the label is the sign of a feature two rows back: an LSTM over the window must find it
    assert balanced_accuracy(fold.y[fold.test_ends], p.argmax(axis=1)) > 0.5  # chance: 1/3


def test_same_seed_same_weights_and_metrics(fold):
    from hftlab.models.lightning_module import fit

    cfg = CFG.model_copy(update={"max_epochs": 2})
    a, b = fit(fold, cfg, seed=5), fit(fold, cfg, seed=5)
    assert a.history == b.history
    for (k, va), (_, vb) in zip(a.net.state_dict().items(), b.net.state_dict().items()):
        assert torch.equal(va, vb), k
    c = fit(fold, cfg, seed=6)
    assert c.history != a.history


def test_early_stopping_restores_the_best_epoch(fold):
    from hftlab.models.lightning_module import fit, predict_proba

    # permuted labels: nothing to learn, the validation loss stops improving quickly
    perm = fold.with_permuted_labels(seed=0)
    res = fit(perm, CFG.model_copy(update={"max_epochs": 30, "learning_rate": 3e-2}), seed=1, patience=2)
    assert res.epochs_run < 30
    losses = [r["val_loss"] for r in res.history]
    assert res.best_epoch == int(np.argmin(losses))
    # the returned weights are the best epoch's: recomputing the validation loss gives its value
    p = predict_proba(res.net, perm, perm.val_ends)
    w = torch.tensor(perm.class_weights(), dtype=torch.float32)
    loss = torch.nn.functional.nll_loss(torch.log(torch.from_numpy(p).float()), torch.from_numpy(perm.y[perm.val_ends]),
                                        weight=w)
    assert float(loss) == pytest.approx(res.best_val_loss, rel=1e-4)


def test_selection_by_validation_balanced_accuracy_and_noisy_inputs(fold):
    from hftlab.models.lightning_module import fit

    cfg = CFG.model_copy(update={"select": "val_bal_acc", "input_noise": 0.3, "lr_patience": 3})
    res = fit(fold, cfg, seed=3, patience=10)
    scores = [r["val_bal_acc"] for r in res.history]
    assert res.best_epoch == int(np.argmax(scores))  # the epoch of the best validation balanced accuracy
    assert res.best_val_loss == pytest.approx(res.history[res.best_epoch]["val_loss"])
    assert all(r["lr"] == CFG.learning_rate for r in res.history)  # no three stalls in a row: the rate held
    noisy_again = fit(fold, cfg, seed=3, patience=10)
    assert noisy_again.history == res.history  # the noise is seeded too
