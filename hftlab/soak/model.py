"""The model a soak trades: one that acts on almost every bar, so that a short session exercises the
whole order path (and the conftest of the integration tests registers the same one).

`momentum_net` follows the last bar's return: P(up) - P(down) ~ tanh(ret_1 / 1 bp); with
`always_long`, P(up) ~ 1 whatever the market (a position to hold while the market moves against
it). `register` puts a net in an MLflow store of its own with simulator provenance for BTC-USDT
1 s bars, the way `hftlab train` would. Both import torch and MLflow: call them off the hot path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SYMBOL = "BTC-USDT"
TIMEFRAME = "1s"
MODEL_NAME = "hftlab-signal-sim"


def momentum_net(seq_len: int = 4, *, always_long: bool = False):
    """(SignalNet, FeatureSpec, Normaliser) of the momentum model (weights set by hand, not trained)."""
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


def register(d: Path, net, spec, norm, experiment: str = "live-test"):
    """(MlflowConfig, version): `net` registered under hftlab-signal-sim with sim provenance for
    BTC-USDT 1 s bars, in a store of its own under `d`."""
    from hftlab.features import dump_bundle
    from hftlab.features.spec import spec_hash
    from hftlab.models import tracking
    from hftlab.models.config import MlflowConfig
    from hftlab.models.provenance import Provenance

    d = Path(d)
    cfg = MlflowConfig(tracking_uri=f"sqlite:///{d}/mlflow.db", artifact_location=(d / "artifacts").as_uri(),
                       experiment=experiment, model_name=MODEL_NAME)
    prov = Provenance("sim", "sim", SYMBOL, TIMEFRAME, spec_hash(spec))
    exp = tracking.use_experiment(cfg)
    mlflow = tracking.import_mlflow()
    with mlflow.start_run(experiment_id=exp):
        mlflow.set_tags(prov.tags())
        example = np.zeros((1, 4, len(spec.names)), dtype=np.float32)
        _uri, version = tracking.log_signal_model(net, example, dump_bundle(spec, norm), cfg.model_name, d / "model",
                                                  tags=prov.tags())
    return cfg, version


def main(argv: list[str] | None = None) -> None:
    """`python -m hftlab.soak.model DIR`: register the momentum model in a store under DIR and print
    {tracking_uri, artifact_location, experiment, model_name, version} as one JSON line (the soak
    runs it in a process of its own, so that torch and MLflow stay out of the soak's)."""
    import json
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m hftlab.soak.model DIR")
    cfg, version = register(Path(args[0]), *momentum_net(), experiment="soak")
    print(json.dumps({"tracking_uri": cfg.tracking_uri, "artifact_location": cfg.artifact_location,
                      "experiment": cfg.experiment, "model_name": cfg.model_name, "version": version}))


if __name__ == "__main__":
    main()
