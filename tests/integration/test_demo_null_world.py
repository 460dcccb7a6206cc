"""`hftlab demo` end to end in a world where nothing is predictable: the gate promotes nothing, and says why.

The whole pipeline of pipelines/research.yaml (collect -> features -> train -> backtest -> promote ->
live) with the notebooks' small defaults (--quick: 20 s of collection at 60x, a tiny model) and the
demo world's rule and instrument (a swap, maker orders, hysteresis), at signal_strength 0. The
gate must refuse the candidate on the money test (its trades do not make money after costs with
t >= 2), no alias may move, and the live step must still run: the newest candidate traded in SHADOW
mode on the simulator, reconciled with the venue at the end. A few minutes on two busy cores. The
signal-1 counterpart is `make demo` itself (its summary states the gate's decision), too slow here.
"""

import argparse
import json

import pytest

pytestmark = pytest.mark.slow

WORLD = ["signal_strength=0", "symbol=BTC-USDT-SWAP", "execution=maker", "allow_short=true", "threshold=0.5",
         "exit_threshold=0.2"]


def test_at_signal_zero_the_demo_promotes_nothing_and_the_live_step_trades_in_shadow(tmp_path, monkeypatch, capsys):
    from hftlab.commands import demo
    from hftlab.models.tracking import import_mlflow

    db = tmp_path / "mlflow.db"
    monkeypatch.setenv("HFTLAB__SYSTEM__DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HFTLAB__MLFLOW__TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("HFTLAB__MLFLOW__ARTIFACT_LOCATION", str(tmp_path / "artifacts"))
    p = argparse.ArgumentParser()
    demo.add_arguments(p)
    args = p.parse_args(["--quick", *[a for kv in WORLD for a in ("-p", kv)]])
    assert demo.run(args) == 0
    out = capsys.readouterr().out
    [run_dir] = (tmp_path / "var" / "runs").iterdir()

    collected = json.loads((run_dir / "collect.json").read_text())
    assert collected["signal_strength"] == 0 and collected["symbol"] == "BTC-USDT-SWAP"
    decision = json.loads((run_dir / "promote.json").read_text())
    failed = {c["name"]: c["detail"] for c in decision["decision"]["checks"] if not c["passed"]}
    assert not decision["promoted"]
    assert "money" in failed and decision["reason"].startswith("not promoted: failed")
    assert "money (" in decision["reason"] and "floor 2" in failed["money"]
    client = import_mlflow().MlflowClient(f"sqlite:///{db}")
    name = json.loads((run_dir / "train.json").read_text())["model_name"]
    with pytest.raises(Exception, match="champion"):
        client.get_model_version_by_alias(name, "champion")

    session = json.loads((run_dir / "live.json").read_text())
    assert session["model"]["shadow"] is True
    assert session["duplicate_orders"] == 0
    assert session["positions_match_venue"] is True and session["open_orders_match_venue"] is True
    assert f"gate: {decision['reason']}" in out
    assert "champion: none yet" in out and "in SHADOW mode (no champion" in out
    assert "reconciled with the venue at the end: positions and open orders match" in out
