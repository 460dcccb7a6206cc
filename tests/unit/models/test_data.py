import numpy as np
import pandas as pd
import pytest

from hftlab.models.data import (
    Segment,
    complete_windows,
    default_spec,
    last_complete_window,
    make_fold,
    prepare,
    sample_ends,
    walk_forward,
)


def _splits(n=10_000, purge=50, folds=3):
    return walk_forward(n, first_row=40, n_folds=folds, test_fraction=0.1, val_fraction=0.15, purge=purge,
                        min_train_rows=500)


def test_walk_forward_orders_segments_with_purge_gaps():
    splits = _splits()
    assert [s.fold for s in splits] == [0, 1, 2]
    for s in splits:
        assert s.train.start == 40
        assert s.val.start - s.train.end >= 50
        assert s.test.start - s.val.end >= 50
    tests = [s.test for s in splits]
    assert tests[-1].end == 10_000
    assert all(a.end == b.start for a, b in zip(tests, tests[1:]))  # contiguous, disjoint, in time order
    assert splits[0].train.end < splits[1].train.end < splits[2].train.end  # expanding


def test_walk_forward_refuses_too_little_data():
    with pytest.raises(ValueError, match="too little data"):
        walk_forward(900, first_row=40, n_folds=3, test_fraction=0.1, val_fraction=0.15, purge=74,
                     min_train_rows=500)
    with pytest.raises(ValueError, match="test_fraction"):
        walk_forward(900, first_row=0, n_folds=5, test_fraction=0.2, val_fraction=0.15, purge=1, min_train_rows=1)


def test_samples_read_only_their_segment():
    seg = Segment(100, 300)
    ok = np.ones(400, bool)
    ends = sample_ends(seg, ok, seq_len=16, horizon=5)
    assert ends[0] - 16 + 1 == seg.start  # first window starts at the segment's first row
    assert ends[-1] + 5 == seg.end - 1  # last label's future close is the segment's last row
    assert list(sample_ends(seg, ok, 16, 5, stride=4)) == list(ends[::4])
    ok[200] = False
    assert 200 not in sample_ends(seg, ok, 16, 5)


def test_complete_windows_excludes_gaps_and_unknown_labels():
    x = np.ones((20, 2))
    x[7, 1] = np.nan
    labels = np.zeros(20)
    labels[-3:] = np.nan
    ok = complete_windows(x, labels, seq_len=4)
    assert not ok[:3].any()  # windows would start before row 0
    assert not ok[7:11].any() and ok[11] and ok[6]  # windows containing row 7
    assert not ok[-3:].any()


def test_no_look_ahead_perturbing_after_the_split_leaves_training_unchanged(candles):
    bars = candles.iloc[:3000].reset_index(drop=True)
    spec = default_spec(bars)
    prep = prepare(bars, spec, horizon=10, dead_zone_bps=2.0)
    split = walk_forward(prep.n_rows, first_row=prep.first_complete_row(), n_folds=1, test_fraction=0.25,
                         val_fraction=0.2, purge=26, min_train_rows=200)[0]
    cut = split.train.end
    changed = bars.copy()
    rng = np.random.default_rng(0)
    changed.loc[cut:, "close"] *= np.exp(rng.normal(0, 0.01, len(bars) - cut))
    changed.loc[cut:, "volume"] *= rng.uniform(0.1, 10, len(bars) - cut)
    a = make_fold(prep, split, seq_len=16)
    b = make_fold(prepare(changed, spec, horizon=10, dead_zone_bps=2.0), split, seq_len=16)
    assert a.normaliser == b.normaliser
    np.testing.assert_array_equal(a.train_ends, b.train_ends)
    np.testing.assert_array_equal(a.windows(a.train_ends), b.windows(b.train_ends))
    np.testing.assert_array_equal(a.y[a.train_ends], b.y[b.train_ends])
    # the perturbation did reach the test block, so the comparison above could have failed
    assert not np.array_equal(a.windows(a.test_ends), b.windows(b.test_ends))


def test_fold_normalises_with_training_statistics_only(learnable):
    prep = learnable()
    split = walk_forward(prep.n_rows, first_row=0, n_folds=1, test_fraction=0.2, val_fraction=0.2, purge=20,
                         min_train_rows=100)[0]
    fold = make_fold(prep, split, seq_len=8, clip=None)
    train_rows = prep.features.to_numpy()[: split.train.end]
    np.testing.assert_allclose(fold.normaliser.center, train_rows.mean(axis=0))
    np.testing.assert_allclose(fold.x[: split.train.end].mean(axis=0), 0, atol=1e-5)
    assert fold.x.dtype == np.float32
    assert set(np.unique(fold.y[fold.train_ends])) <= {0, 1, 2}


def test_permuted_labels_keep_test_labels_and_training_label_counts(learnable):
    prep = learnable()
    split = walk_forward(prep.n_rows, first_row=0, n_folds=1, test_fraction=0.2, val_fraction=0.2, purge=20,
                         min_train_rows=100)[0]
    fold = make_fold(prep, split, seq_len=8)
    perm = fold.with_permuted_labels(seed=1)
    np.testing.assert_array_equal(perm.y[fold.test_ends], fold.y[fold.test_ends])
    for ends in (fold.train_ends, fold.val_ends):
        assert sorted(perm.y[ends]) == sorted(fold.y[ends])
    assert np.mean(perm.y[fold.train_ends] == fold.y[fold.train_ends]) < 0.6


def test_class_weights_balance_the_training_labels(learnable):
    prep = learnable()
    split = walk_forward(prep.n_rows, first_row=0, n_folds=1, test_fraction=0.2, val_fraction=0.2, purge=20,
                         min_train_rows=100)[0]
    fold = make_fold(prep, split, seq_len=8)
    w = fold.class_weights()
    counts = np.bincount(fold.y[fold.train_ends], minlength=3)
    np.testing.assert_allclose(w * counts, counts.sum() / 3)


def test_last_complete_window_and_spec_for_candles(candles):
    bars = candles.iloc[:500]
    spec = default_spec(bars)
    assert spec.flow_window == 0 and spec.book_levels == 0  # candles carry no taker split, no book
    prep = prepare(bars, spec, horizon=10, dead_zone_bps=2.0)
    w = last_complete_window(prep, 16)
    assert w.shape == (16, len(spec.names)) and np.isfinite(w).all()
    np.testing.assert_allclose(w[-1], prep.features.iloc[-1].to_numpy(), rtol=1e-6)


def test_prepare_refuses_unsorted_bars(candles):
    with pytest.raises(ValueError, match="increasing ts_ms"):
        prepare(candles.iloc[:100].iloc[::-1], default_spec(candles), 10, 2.0)


def test_a_panel_stacks_series_that_never_read_each_other():
    from hftlab.models.data import plan_folds, prepare_panel

    rng = np.random.default_rng(4)

    def series(n, start, px):
        close = px * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
        return pd.DataFrame({"ts_ms": start + 60_000 * np.arange(n), "open": close, "high": close, "low": close,
                             "close": close, "volume": 1.0})

    spec = default_spec(series(10, 0, 1.0))
    parts = [("A", series(900, 0, 100.0)), ("B", series(700, 30_000_000, 5.0))]
    panel = prepare_panel(parts, spec, horizon=5, dead_zone_bps=1.0)
    assert [(n, a, b) for n, a, b in panel.series] == [("A", 0, 900), ("B", 901, 1601)]
    assert panel.n_rows == 1601 and np.isnan(panel.features.iloc[900]).all() and np.isnan(panel.labels[900])
    alone = prepare(parts[1][1], spec, horizon=5, dead_zone_bps=1.0)
    np.testing.assert_array_equal(panel.labels[901:], alone.labels)  # each series' own labels and features
    np.testing.assert_allclose(panel.features.iloc[901:].to_numpy(), alone.features.to_numpy())
    folds = plan_folds(panel, n_folds=2, test_fraction=0.1, val_fraction=0.2, purge=20, min_train_rows=100)
    assert len(folds) == 2 and all(len(f) == 2 for f in folds)
    for (a, b) in folds:  # each series is tested on its own newest rows
        assert a.test.end <= 900 and b.test.start > 901 and b.test.end <= 1601
    fold = make_fold(panel, folds[-1], seq_len=8)
    x = fold.x
    for ends in (fold.train_ends, fold.val_ends, fold.test_ends):
        starts = ends - 7
        assert not ((starts <= 900) & (ends >= 900)).any()  # no window spans the separator
        assert np.isfinite(x[ends]).all()
    assert fold.splits == folds[-1] and fold.split == folds[-1][0]
    assert ((fold.test_ends < 900).any() and (fold.test_ends > 901).any())
    with pytest.raises(ValueError, match="split"):
        make_fold(panel, folds[-1][0], seq_len=8)


def test_forward_returns_beside_the_labels():
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, 300)))
    bars = pd.DataFrame({"ts_ms": 1000 * np.arange(300), "open": close, "high": close, "low": close, "close": close,
                         "volume": 1.0})
    prep = prepare(bars, default_spec(bars), horizon=7, dead_zone_bps=1.0)
    np.testing.assert_allclose(prep.forward[:-7], np.log(close[7:] / close[:-7]))
    assert np.isnan(prep.forward[-7:]).all()
    known = np.isfinite(prep.labels)
    assert (np.sign(prep.forward[known]) == np.sign(prep.labels[known])).mean() > 0.8  # the same future
