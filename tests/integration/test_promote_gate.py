"""The promotion gate on real MLflow (a throwaway SQLite store) with models whose skill is set by hand.

The bars follow an AR(1) return process (returns persist), so a SignalNet that reads the newest
1-bar return and bets on its sign makes money, one betting against it loses, and one reading the
15-bar return sits in between. Each model is logged and registered the way `hftlab train` does it
(tracking.log_signal_model, with the run's report.json and data tags), with its weights set so
that P(up) - P(down) follows the chosen feature.
"""

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import torch

from hftlab.backtest.config import BacktestConfig, PromoteConfig
from hftlab.backtest.promote import promote
from hftlab.backtest.registry import Registry
from hftlab.features import FeatureSpec, Normaliser, dump_bundle
from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet
from hftlab.settings import Settings

N, TEST = 1500, 300
NAME = "gate-test"
SPEC = FeatureSpec(flow_window=0, book_levels=0)
RET_1, RET_15 = SPEC.names.index("ret_1"), SPEC.names.index("ret_15")
BT = BacktestConfig()  # OKX taker fee 0.1%, 1 bp slippage, 1% stop
# the floor is lowered so that the head-to-head path is reached with a losing candidate; the default
# floor (0) has its own tests (tests/unit/backtest/test_gate.py)
GATE = PromoteConfig(metric="sharpe", margin=0.5, min_trades=5, max_drawdown_pct=100.0, min_metric=-1e9)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    rng = np.random.default_rng(5)
    r = np.zeros(N)
    eps = rng.normal(0, 0.005, N)
    for t in range(1, N):
        r[t] = 0.6 * r[t - 1] + eps[t]
    close = 100 * np.exp(np.cumsum(r))
    opens = np.concatenate([[100.0], close[:-1]])
    bars = pd.DataFrame({"ts_ms": 1_700_000_000_000 + 60_000 * np.arange(N), "open": opens,
                         "high": np.maximum(opens, close) * 1.0005, "low": np.minimum(opens, close) * 0.9995,
                         "close": close, "volume": 1.0})
    path = d / "X-USDT_1m_bars.parquet"
    bars.to_parquet(path, index=False)
    settings = Settings.model_validate({"mlflow": {"tracking_uri": f"sqlite:///{d}/mlflow.db",
                                                   "artifact_location": str(d / "artifacts"), "model_name": NAME}})
    return settings, path, bars


def signal_net(feature: int | None, sign: float) -> SignalNet:
    """P(up) - P(down) ~ sign * tanh(feature / its scale); no feature: always 1/3 each (never trades)."""
    n = len(SPEC.names)
    net = AttentionLSTM(NetConfig(n, hidden_size=2, num_layers=1, dropout=0.0, seq_len=4))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        if feature is not None:
            lstm = net.lstm
            lstm.bias_ih_l0[0:2] = 10.0   # input gates open
            lstm.bias_ih_l0[2:4] = -10.0  # forget gates shut: the newest bar decides
            lstm.bias_ih_l0[6:8] = 10.0   # output gates open
            lstm.weight_ih_l0[4, feature] = 3.0 * sign   # unit 0 follows the feature
            lstm.weight_ih_l0[5, feature] = -3.0 * sign  # unit 1 its opposite
            net.fc1.weight[0, 2] = 1.0    # z = [context, last state]: last state only
            net.fc1.weight[1, 3] = 1.0
            net.fc2.weight[2, 0] = 5.0    # up <- unit 0
            net.fc2.weight[0, 1] = 5.0    # down <- unit 1
    scale = np.ones(n)
    scale[RET_1], scale[RET_15] = 0.006, 0.02
    norm = Normaliser(SPEC.names, tuple(np.zeros(n)), tuple(scale), rows=N)
    return SignalNet(net.eval(), norm.center, norm.scale, None).eval(), norm


def register(world, tmp_path, feature, sign, *, control_passed=True) -> str:
    """A run as `hftlab train` leaves it: data tags, report.json, a registered SignalNet. Returns its version."""
    from hftlab.models import tracking

    settings, path, bars = world
    exp = tracking.use_experiment(settings.mlflow)
    mlflow = tracking.import_mlflow()
    net, norm = signal_net(feature, sign)
    ts = bars["ts_ms"].to_numpy()
    report = {"folds": [{"ts_ms": {"test_start": int(ts[N - TEST]), "test_end": int(ts[-1])}}],
              "controls": {"permuted_labels": {"passed": control_passed, "what": "labels permuted: at chance"}}}
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.set_tags({"hftlab.path": str(path), "hftlab.symbol": "X-USDT", "hftlab.timeframe": "1m"})
        (tmp_path / "report.json").write_text(json.dumps(report))
        mlflow.log_artifact(str(tmp_path / "report.json"))
        example = np.zeros((1, 4, len(SPEC.names)), dtype=np.float32)
        _uri, version = tracking.log_signal_model(net, example, dump_bundle(SPEC, norm), NAME, tmp_path / "model")
    return version, run.info.run_id


def gate(world, candidate, **kw):
    settings = world[0]
    return promote(Registry.from_config(settings.mlflow), candidate, BT, GATE, settings.mlflow, **kw)


def test_first_model_rule_then_worse_refused_then_better_promoted(world, tmp_path):
    settings = world[0]
    reg = Registry.from_config(settings.mlflow)

    flat, _ = register(world, tmp_path, None, 0.0)
    d = gate(world, flat)
    assert not d["promoted"] and "failed trades" in d["reason"] and d["champion"] is None
    assert reg.alias("champion") is None  # no champion until a model passes the checks

    weak, weak_run = register(world, tmp_path, RET_15, 1.0)
    d = gate(world, weak_run)  # by run id
    assert d["promoted"] and "first model" in d["reason"]
    assert reg.alias("champion").version == weak
    tags = reg.client.get_model_version(NAME, weak).tags
    assert tags["promotion.decision"] == "promoted" and tags["promotion.previous_champion"] == "none"
    assert tags["promotion.metric"] == "sharpe" and float(tags["promotion.candidate_value"]) == pytest.approx(
        d["metrics"]["candidate"]["sharpe"])
    assert tags["promotion.window"].endswith(f"({TEST} bars)") and tags["promotion.date"].endswith("Z")

    contrarian, _ = register(world, tmp_path, RET_1, -1.0)
    d = gate(world, contrarian)
    assert not d["promoted"] and "vs the champion's" in d["reason"], d["reason"]
    assert d["metrics"]["candidate"]["sharpe"] < d["metrics"]["champion"]["sharpe"]
    assert reg.alias("champion").version == weak
    assert reg.client.get_model_version(NAME, contrarian).tags["promotion.decision"] == "refused"

    strong, _ = register(world, tmp_path, RET_1, 1.0)
    d = gate(world, strong)
    assert d["promoted"] and "beats the champion" in d["reason"], d["reason"]
    m = d["metrics"]
    assert m["candidate"]["sharpe"] - m["champion"]["sharpe"] > GATE.margin
    assert m["candidate"]["total_return"] > 0  # the momentum bet pays its fees here
    assert d["window"]["bars"] == TEST and set(m) == {"candidate", "champion", "buy_and_hold"}
    assert reg.alias("champion").version == strong
    assert reg.client.get_model_version(NAME, weak).tags["promotion.replaced_by"].startswith(f"v{strong} ")
    assert reg.client.get_model_version(NAME, strong).tags["promotion.previous_champion"] == f"v{weak}"

    again = gate(world, strong)
    assert not again["promoted"] and "already" in again["reason"]


def test_a_leaking_pipeline_is_refused_however_good_and_dry_run_touches_nothing(world, tmp_path):
    reg = Registry.from_config(world[0].mlflow)
    before = reg.alias("champion")
    leaky, _ = register(world, tmp_path, RET_1, 1.0, control_passed=False)
    d = gate(world, leaky)
    assert not d["promoted"] and "control:permuted_labels" in d["reason"]
    assert reg.alias("champion") == before
    fine, _ = register(world, tmp_path, RET_1, 1.0)
    dry = gate(world, fine, dry_run=True)
    assert dry["dry_run"] and "promotion.decision" not in reg.client.get_model_version(NAME, fine).tags
    assert reg.alias("champion") == before


def _cli(module, argv):
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    return module.run(p.parse_args(argv))


def test_commands_exit_codes_and_json(world, tmp_path, capsys, monkeypatch):
    from hftlab.commands import backtest as cli
    from hftlab.commands import promote as promote_cli

    settings, path, _bars = world
    monkeypatch.setenv("HFTLAB__MLFLOW__TRACKING_URI", settings.mlflow.tracking_uri)
    monkeypatch.setenv("HFTLAB__MLFLOW__ARTIFACT_LOCATION", settings.mlflow.artifact_location)
    monkeypatch.setenv("HFTLAB__MLFLOW__MODEL_NAME", NAME)
    version, _ = register(world, tmp_path, RET_1, 1.0)

    assert _cli(promote_cli, ["--candidate", "999"]) == 2
    assert "no version 999" in capsys.readouterr().err
    assert _cli(promote_cli, ["--candidate", "0123456789abcdef0123456789abcdef"]) == 2
    assert "no run" in capsys.readouterr().err
    assert _cli(promote_cli, ["--candidate", version, "--margin", "-1"]) == 2
    assert "margin" in capsys.readouterr().err
    assert _cli(promote_cli, ["--candidate", version, "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["candidate"]["version"] == version and isinstance(doc["promoted"], bool)

    assert _cli(cli, ["--model", version, "--json", "--no-log", "--plots", str(tmp_path / "plots")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "out-of-sample" in doc["window"]["what"] and {"buy_and_hold"} < set(doc["metrics"])
    assert any(n.startswith("no baselines") for n in doc["notes"])  # this report does not describe its folds
    assert {p.split("/")[-1] for p in doc["plots"]} >= {"equity.png", "drawdown.png"}
    assert _cli(cli, ["--model", version, "--data", str(path), "--start", "2023-11-14T22:30:00Z",
                      "--end", "2023-11-14T23:30:00Z", "--no-log"]) == 0
    out = capsys.readouterr().out
    assert "--start/--end" in out and "buy_and_hold" in out
    assert _cli(cli, ["--model", version, "--start", "yesterday", "--end", "today", "--no-log"]) == 2
    assert "not a time" in capsys.readouterr().err
