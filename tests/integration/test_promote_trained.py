"""A real (tiny) training run, then the backtest's view of it: the model's and the baselines'
probabilities over the bars must be the ones training evaluated, window for window."""

import numpy as np
import pytest

from hftlab.backtest.config import BacktestConfig
from hftlab.backtest.predict import TrainingRun, baseline_proba, model_proba
from hftlab.backtest.registry import Registry
from hftlab.backtest.runner import backtest
from hftlab.settings import Settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import torch

    from hftlab.models.experiment import Options
    from hftlab.models.sanity import sim_bars
    from hftlab.models.barfiles import data_world, load_bars
    from hftlab.models.train import train

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("trained")
    path = d / "BTC-USDT_1s_sim.parquet"
    sim_bars(seed=5, signal_strength=1.0, seconds=1500).to_parquet(path, index=False)
    bars, info = load_bars(path)
    info["world"] = data_world(info, "sim")  # simulator bars, in a Parquet that does not say so
    settings = Settings.model_validate({
        "mlflow": {"tracking_uri": f"sqlite:///{d}/mlflow.db", "artifact_location": str(d / "artifacts")},
        "model": {"hidden_size": 8, "num_layers": 1, "seq_len": 16, "batch_size": 64, "max_epochs": 2,
                  "horizon": 5, "dead_zone_bps": 0.5, "accelerator": "cpu"}})
    summary = train(bars, settings.model, settings.mlflow, venue_world=settings.venue.world, source=info,
                    options=Options(n_folds=1, test_fraction=0.25, n_shifts=100, permuted_control=False))
    return settings, bars, summary


def test_backtest_inputs_are_the_windows_training_evaluated(trained):
    from hftlab.models.data import make_fold, prepare, walk_forward
    from hftlab.models.evaluate import balanced_accuracy

    settings, bars, summary = trained
    reg = Registry.from_config(settings.mlflow)
    ref = reg.resolve(summary["run_id"])
    report = reg.report(ref.run_id)
    _tags, params = reg.run_info(ref.run_id)
    predictor = reg.load(ref)
    cfg, opts = settings.model, report["options"]
    prep = prepare(bars, predictor.spec, cfg.horizon, cfg.dead_zone_bps)
    split = walk_forward(prep.n_rows, first_row=prep.first_complete_row(), n_folds=1, test_fraction=0.25,
                         val_fraction=opts["val_fraction"], purge=opts["purge"],
                         min_train_rows=cfg.seq_len + cfg.horizon + cfg.batch_size)[-1]
    fold = make_fold(prep, split, cfg.seq_len, stride=opts["train_stride"], clip=opts["clip"])
    y = fold.y[fold.test_ends]
    expected = report["folds"][-1]["models"]

    refitted = baseline_proba(TrainingRun(ref.run_id, report, params, bars), predictor.spec, bars, fold.test_ends)
    assert set(refitted) == {"majority", "logistic", "gbt"}
    for name, p in refitted.items():
        assert balanced_accuracy(y, p.argmax(axis=1)) == pytest.approx(expected[name]["balanced_accuracy"], abs=1e-12)

    lstm = model_proba(predictor.net, predictor.spec, bars, fold.test_ends)
    assert np.isfinite(lstm).all()
    assert balanced_accuracy(y, lstm.argmax(axis=1)) == pytest.approx(expected["lstm"]["balanced_accuracy"], abs=0.01)


def test_backtest_of_the_run_on_its_test_block_beside_its_baselines(trained):
    settings, bars, summary = trained
    reg = Registry.from_config(settings.mlflow)
    ref = reg.resolve(summary["model_version"])
    comp = backtest(reg, ref, BacktestConfig(threshold=0.0))
    assert set(comp.strategies) == {ref.label, "majority", "logistic", "gbt", "buy_and_hold"}
    assert comp.window.what.startswith("out-of-sample test block")
    assert comp.window.start_ms == summary["folds"][-1]["ts_ms"]["test_start"]
    assert comp.notes == []
    assert comp.execution.slippage_source == "slippage_bps"  # simulator bars carry no spread column
    logged = reg.resolve(summary["model_uri"])  # the logged model's own models:/m-... URI
    assert logged.run_id == summary["run_id"] and logged.version is None
