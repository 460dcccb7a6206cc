"""Fixtures shared by the integration tests: a registered signal model with simulator provenance."""

from __future__ import annotations

import numpy as np
import pytest


def momentum_net(seq_len: int = 4, *, always_long: bool = False):
    """A SignalNet that follows the last bar's return: P(up) - P(down) ~ tanh(ret_1 / 1 bp) — a
    model that trades often, so a short live session exercises the whole order path. `always_long`:
    P(up) ~ 1 whatever the market (a position to hold while the market moves against it)."""
    import torch

    from hftlab.features import FeatureSpec, Normaliser
    from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet

    spec = FeatureSpec(flow_window=0, book_levels=0)
    n = len(spec.names)
    ret1 = spec.names.index("ret_1")
    net = AttentionLSTM(NetConfig(n, hidden_size=2, num_layers=1, dropout=0.0, seq_len=seq_len))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        lstm = net.lstm
        lstm.bias_ih_l0[0:2] = 10.0
        lstm.bias_ih_l0[2:4] = -10.0
        lstm.bias_ih_l0[6:8] = 10.0
        lstm.weight_ih_l0[4, ret1] = 3.0
        lstm.weight_ih_l0[5, ret1] = -3.0
        net.fc1.weight[0, 2] = 1.0
        net.fc1.weight[1, 3] = 1.0
        net.fc2.weight[2, 0] = 5.0
        net.fc2.weight[0, 1] = 5.0
        if always_long:
            net.fc2.weight.zero_()
            net.fc2.bias[2] = 8.0
    scale = np.ones(n)
    scale[ret1] = 1e-4
    norm = Normaliser(spec.names, tuple(np.zeros(n)), tuple(scale), rows=1000)
    return SignalNet(net.eval(), norm.center, norm.scale, None).eval(), spec, norm


def register(d, net, spec, norm):
    """(MlflowConfig, version): `net` registered under hftlab-signal-sim with sim provenance for
    BTC-USDT 1s bars, in a store of its own under `d`."""
    from hftlab.features import dump_bundle
    from hftlab.features.spec import spec_hash
    from hftlab.models import tracking
    from hftlab.models.config import MlflowConfig
    from hftlab.models.provenance import Provenance

    cfg = MlflowConfig(tracking_uri=f"sqlite:///{d}/mlflow.db", artifact_location=(d / "artifacts").as_uri(),
                       experiment="live-test", model_name="hftlab-signal-sim")
    prov = Provenance("sim", "sim", "BTC-USDT", "1s", spec_hash(spec))
    exp = tracking.use_experiment(cfg)
    mlflow = tracking.import_mlflow()
    with mlflow.start_run(experiment_id=exp):
        mlflow.set_tags(prov.tags())
        example = np.zeros((1, 4, len(spec.names)), dtype=np.float32)
        _uri, version = tracking.log_signal_model(net, example, dump_bundle(spec, norm), cfg.model_name, d / "model",
                                                  tags=prov.tags())
    return cfg, version


@pytest.fixture(scope="module")
def sim_model(tmp_path_factory):
    """A momentum model (it trades often) registered with sim provenance: (MlflowConfig, version)."""
    return register(tmp_path_factory.mktemp("live-mlflow"), *momentum_net())


@pytest.fixture(scope="module")
def long_model(tmp_path_factory):
    """A model that always wants to be long: (MlflowConfig, version)."""
    return register(tmp_path_factory.mktemp("long-mlflow"), *momentum_net(always_long=True))
