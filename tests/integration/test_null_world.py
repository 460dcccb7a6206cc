"""A feature that reads the future: the permuted-label control passes it, the null world refuses it.

The leak is planted the way a look-ahead bug would be: every feature computation (training, the
null world's, the backtest's) gains a column that is the return over the label horizon. With
shuffled training labels no model can learn from it (the permuted-label control passes); in the
simulator at signal 0 it is the only thing to learn, and the models do (the null-world control
fails); the gate then refuses a candidate whose backtest looks excellent.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H = 10


@pytest.fixture
def leaky_features(monkeypatch):
    import hftlab.features as features

    honest = features.compute_features

    def with_the_future(bars, spec, books=None):
        close = bars["close"].to_numpy(dtype=np.float64)
        ahead = np.full(close.size, np.nan)
        ahead[:-H] = np.log(close[H:] / close[:-H])
        return honest(bars, spec, books).assign(ahead=ahead)

    monkeypatch.setattr(features, "compute_features", with_the_future)


def _pipeline():
    from hftlab.backtest.config import BacktestConfig, PromoteConfig
    from hftlab.models.config import ModelConfig
    from hftlab.models.experiment import Options

    cfg = ModelConfig(hidden_size=8, num_layers=1, seq_len=16, batch_size=128, max_epochs=2, horizon=H,
                      dead_zone_bps=1.0, accelerator="cpu")
    # zero costs: the candidate's backtest shows the leak at its most tempting
    bt = BacktestConfig(stop_loss_pct=0, taker_fee=0.0, slippage_bps=0.0)
    return cfg, Options(n_folds=1, test_fraction=0.25, n_shifts=200), bt, PromoteConfig(baselines=[])


def _train_and_judge(bars, spec, cfg, opts, bt, gate_cfg):
    from hftlab.backtest import gate
    from hftlab.backtest.compare import compare_predictions
    from hftlab.backtest.controls import NullWorld
    from hftlab.backtest.engine import execution
    from hftlab.models.data import prepare
    from hftlab.models.experiment import run_experiment
    from hftlab.models.provenance import Provenance

    out = run_experiment(prepare(bars, spec, cfg.horizon, cfg.dead_zone_bps), cfg, opts)
    null = NullWorld.simulator(bt, gate_cfg, symbol="BTC-USDT", seconds=2400, seed=23)
    out.report["controls"]["null_world"] = null(spec, cfg, opts, bars)
    pred = out.predictions[-1]
    best = max(out.report["models"], key=lambda n: out.report["models"][n]["balanced_accuracy"])
    comp = compare_predictions(bars, pred["ends"], {best: ("model", pred["probas"][best])}, bt,
                               execution(bt, bars, 1000, "BTC-USDT"), {"path": "simulator"})
    evidence = gate.Evidence.of(comp.strategies[best].metrics)
    prov = Provenance("sim", "sim", "BTC-USDT", "1s", "ab" * 32)
    decision = gate.decide(evidence, None, [], out.report, gate_cfg, venue_world="sim", candidate_provenance=prov,
                           champion_provenance=None)
    return out.report, evidence, decision


def test_a_leaky_feature_passes_the_permuted_labels_and_is_refused_through_the_null_world(leaky_features):
    from hftlab.models.data import default_spec
    from hftlab.models.sanity import sim_bars

    cfg, opts, bt, gate_cfg = _pipeline()
    bars = sim_bars(seed=3, signal_strength=1.0, seconds=2400)
    report, evidence, decision = _train_and_judge(bars, default_spec(bars), cfg, opts, bt, gate_cfg)
    assert report["controls"]["permuted_labels"]["passed"]  # shuffled labels cannot see the leak
    null = report["controls"]["null_world"]
    assert not null["passed"] and any(null["beats_chance"].values())  # where nothing is predictable, it "predicts"
    assert evidence.trade_t > gate_cfg.floor  # and its own backtest would pass the money test
    assert not decision.promoted
    assert [c.name for c in decision.checks if not c.passed] == ["control:null_world"]


def test_the_honest_pipeline_passes_the_null_world():
    from hftlab.models.data import default_spec
    from hftlab.models.sanity import sim_bars

    cfg, opts, bt, gate_cfg = _pipeline()
    bars = sim_bars(seed=3, signal_strength=1.0, seconds=2400)
    report, _evidence, _decision = _train_and_judge(bars, default_spec(bars), cfg, opts, bt, gate_cfg)
    null = report["controls"]["null_world"]
    assert null["passed"] and not any(null["beats_chance"].values()), null
    assert report["controls"]["permuted_labels"]["passed"]
