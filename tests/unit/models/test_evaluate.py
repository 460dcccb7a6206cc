import numpy as np
import pytest

from hftlab.models.evaluate import (
    balanced_accuracy,
    block_bootstrap_difference,
    chance_verdict,
    evaluate_models,
    metrics,
    permuted_verdict,
    shift_test,
)


def _autocorrelated_labels(n, seed, run=20):
    """Labels in runs (like overlapping-horizon labels): strong autocorrelation."""
    rng = np.random.default_rng(seed)
    return np.repeat(rng.integers(0, 3, n // run + 1), run)[:n]


def test_balanced_accuracy_is_mean_recall_over_present_classes():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 0, 0, 0, 2, 1])
    assert balanced_accuracy(y, pred) == pytest.approx((1 + 0 + 0.5) / 3)
    assert balanced_accuracy(np.array([0, 0, 2]), np.array([0, 0, 0])) == pytest.approx(0.5)
    assert balanced_accuracy(y, np.zeros_like(y)) == pytest.approx(1 / 3)  # constant: chance


def test_metrics_of_a_perfect_and_a_constant_model():
    y = np.array([0, 1, 2, 2, 1, 0])
    perfect = np.eye(3)[y]
    m = metrics(y, perfect)
    assert m["accuracy"] == 1 and m["balanced_accuracy"] == 1 and m["f1_macro"] == 1 and m["auc_macro"] == 1
    const = metrics(y, np.tile([0.2, 0.5, 0.3], (6, 1)))
    assert const["balanced_accuracy"] == pytest.approx(1 / 3) and const["auc_macro"] == pytest.approx(0.5)
    assert const["pred_rate"] == [0, 1, 0]
    assert np.isnan(metrics(np.array([0, 0, 1]), np.eye(3)[[0, 0, 1]])["auc_macro"])  # a class never occurs


def test_shift_test_separates_signal_from_autocorrelated_noise():
    y = _autocorrelated_labels(3000, seed=1)
    informative = np.where(np.random.default_rng(2).random(3000) < 0.6, y, (y + 1) % 3)
    noise = _autocorrelated_labels(3000, seed=3)  # as autocorrelated as y, independent of it
    good = shift_test(y, informative, min_shift=50, n_shifts=300, seed=0)
    null = shift_test(y, noise, min_shift=50, n_shifts=300, seed=0)
    assert good["p_greater"] < 0.01 and good["balanced_accuracy"] > good["null_q975"]
    assert null["p_two_sided"] > 0.05
    assert null["null_q025"] < 1 / 3 < null["null_q975"]
    with pytest.raises(ValueError, match="too few"):
        shift_test(y[:90], noise[:90], min_shift=50)


def test_verdicts():
    y = _autocorrelated_labels(2000, seed=4)
    probas = {"oracle": np.eye(3)[y], "noise": np.eye(3)[_autocorrelated_labels(2000, seed=5)],
              "constant": np.tile([0.1, 0.8, 0.1], (2000, 1))}
    res = evaluate_models(y, probas, min_shift=40, n_shifts=200)
    assert res["oracle"]["beats_chance"] and not res["noise"]["beats_chance"] and not res["constant"]["beats_chance"]
    assert not chance_verdict(res, n_shifts=200)["passed"]
    assert not chance_verdict(res, n_shifts=200, sided="greater")["models"]["oracle"]["at_chance"]
    del res["oracle"]
    v = chance_verdict(res, n_shifts=200)
    assert v["passed"] and "Bonferroni alpha 0.05/2" in v["test"]


def test_the_permuted_label_control_fails_a_fit_that_recovers_its_real_skill_not_one_with_a_fraction_of_it():
    y = _autocorrelated_labels(6000, seed=9)
    rng = np.random.default_rng(10)

    def skilled(share):  # right on `share` of the samples, else an independent run-structured guess
        return np.eye(3)[np.where(rng.random(y.size) < share, y, _autocorrelated_labels(y.size, rng.integers(99)))]

    # fitted to shuffled labels: a little real skill (a random function of informative features), and a leak
    permuted = evaluate_models(y, {"random_function": skilled(0.15), "leak": skilled(0.55)}, min_shift=40, n_shifts=200)
    assert permuted["random_function"]["beats_chance"] and permuted["leak"]["beats_chance"]
    real = {"random_function": 0.7, "leak": 0.7}  # both models' balanced accuracy fitted to the true labels
    v = permuted_verdict(permuted, real, n_shifts=200)
    assert not v["passed"]
    assert not v["models"]["random_function"]["leaks"] and v["models"]["leak"]["leaks"]
    assert not v["models"]["random_function"]["at_chance"]  # "at chance" would have failed an honest fit
    del permuted["leak"], real["leak"]
    assert permuted_verdict(permuted, real, n_shifts=200)["passed"]
    # a model with no real skill may show none fitted to shuffled labels either
    assert not permuted_verdict(permuted, {"random_function": 1 / 3}, n_shifts=200)["passed"]


def test_block_bootstrap_difference():
    y = _autocorrelated_labels(1500, seed=6)
    good = np.where(np.random.default_rng(7).random(1500) < 0.7, y, (y + 2) % 3)
    bad = _autocorrelated_labels(1500, seed=8)
    d = block_bootstrap_difference(y, good, bad, block=30, n_boot=300)
    assert d["difference"] > 0.3 and d["ci95"][0] > 0 and d["p_not_better"] < 0.01
    same = block_bootstrap_difference(y, good, good, block=30, n_boot=50)
    assert same["difference"] == 0 and same["ci95"] == [0, 0]


def test_directional_skill_is_scored_where_the_rule_would_trade():
    from hftlab.models.evaluate import directional, information_coefficient

    edge = np.array([0.5, -0.4, 0.05, -0.02, 0.3, np.nan, -0.6])
    fwd = np.array([0.01, 0.02, -0.03, 0.01, -0.01, 0.5, 0.0])
    d = directional(edge, fwd, 0.1)
    # traded: 0.5, -0.4, 0.3, -0.6 (of 6 known); the last did not move; right on 1 of 3
    assert d == {"traded": pytest.approx(4 / 6), "n_traded": 4, "directional_accuracy": pytest.approx(1 / 3)}
    assert np.isnan(directional(edge, fwd, 0.9)["directional_accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    assert information_coefficient(x, x ** 3) == pytest.approx(1.0)  # ranks: any increasing relation
    assert abs(information_coefficient(x, rng.normal(size=2000))) < 0.1
    assert np.isnan(information_coefficient(np.ones(10), x[:10]))


def test_fold_summary_is_the_mean_and_spread_over_folds():
    from hftlab.models.evaluate import fold_summary

    s = fold_summary([0.420, 0.345, 0.338])
    assert s["mean"] == pytest.approx(0.3677, abs=1e-4) and s["std"] == pytest.approx(np.std([0.42, 0.345, 0.338], ddof=1))
    assert s["folds"] == [0.42, 0.345, 0.338]
    one = fold_summary([0.5, float("nan")])
    assert one["mean"] == 0.5 and np.isnan(one["std"])
