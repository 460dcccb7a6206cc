"""`hftlab train` end to end on real OKX candles: evaluation, MLflow run and registry, a servable model.

Small model, few epochs, the newest ~6000 one-minute bars: under a minute on one CPU thread.
MLflow goes to a throwaway SQLite store, never the repository's mlruns/.
"""

import argparse
import json

import numpy as np
import pytest

CSV = "BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv"
SMALL = {"HFTLAB__MODEL__HIDDEN_SIZE": "8", "HFTLAB__MODEL__NUM_LAYERS": "1", "HFTLAB__MODEL__SEQ_LEN": "16",
         "HFTLAB__MODEL__BATCH_SIZE": "128", "HFTLAB__MODEL__MAX_EPOCHS": "2", "HFTLAB__MODEL__ACCELERATOR": "cpu"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run_cli(argv: list[str]) -> int:
    from hftlab.commands import train as cli

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return cli.run(p.parse_args(argv))


def test_train_cli_evaluates_logs_registers_and_serves(shared_data, tmp_path, monkeypatch, capsys):
    import mlflow

    from hftlab.models.predictor import load_model

    db, art = tmp_path / "mlflow.db", tmp_path / "artifacts"
    monkeypatch.setenv("HFTLAB__MLFLOW__TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("HFTLAB__MLFLOW__ARTIFACT_LOCATION", str(art))
    for k, v in SMALL.items():
        monkeypatch.setenv(k, v)
    rc = _run_cli(["--data", str(shared_data / "okx" / "candles" / CSV), "--json", "--max-rows", "6000",
                   "--folds", "2", "--no-progress", "--sim-controls", "0"])
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert rc == 0, summary["verdicts"]

    # OKX candles trained on the default (simulator) venue: registered there, and said to be useless there
    refusal = ("registered, but the gate will refuse it as champion here: trained on okx data, "
               "this venue trades the sim world")
    assert summary["warnings"] == [refusal] and refusal in out.err
    assert summary["model_name"] == "hftlab-signal-sim" and summary["venue_world"] == "sim"

    # every model side by side, out of sample, with a chance test
    assert set(summary["metrics"]) == {"lstm", "majority", "logistic", "gbt"}
    assert summary["metrics"]["majority"]["balanced_accuracy"] == pytest.approx(1 / 3)
    assert all(0 < m["p_beats_chance"] <= 1 for m in summary["metrics"].values())
    assert set(summary["lstm_vs_baselines"]) == {"majority", "logistic", "gbt"}
    assert [f["fold"] for f in summary["folds"]] == [0, 1]
    assert summary["folds"][0]["ts_ms"]["test_start"] < summary["folds"][1]["ts_ms"]["test_start"]
    control = summary["controls"]["permuted_labels"]
    assert control["passed"] and set(control["models"]) == set(summary["metrics"])
    assert "shift" in control["test"]
    assert summary["data"]["symbol"] == "BTC-USDT-SWAP" and summary["data"]["rows"] == 6000

    # MLflow: params, per-epoch metrics, artifacts, a registered version
    client = mlflow.MlflowClient(summary["tracking_uri"])
    run = client.get_run(summary["run_id"])
    assert run.data.params["model.hidden_size"] == "8"
    assert len(client.get_metric_history(summary["run_id"], "fold1.val_loss")) == 2
    assert run.data.metrics["control.permuted_labels.passed"] == 1.0
    artifacts = {a.path for a in client.list_artifacts(summary["run_id"])}
    assert {"report.json", "report.png", "feature_bundle.json", "net.json"} <= artifacts
    assert summary["model_version"] == "1"
    assert str(client.get_registered_model(summary["model_name"]).latest_versions[0].version) == "1"
    assert art.is_dir() and db.is_file()

    # the registered model serves raw feature windows
    from hftlab.features import compute_features
    from hftlab.models.barfiles import load_bars

    predictor = load_model(f"models:/{summary['model_name']}/{summary['model_version']}", tracking_uri=summary["tracking_uri"])
    bars, _ = load_bars(shared_data / "okx" / "candles" / CSV)
    raw = compute_features(bars.iloc[-500:].reset_index(drop=True), predictor.spec).to_numpy(np.float32)
    probs = predictor.predict_proba(raw[-16:])
    assert probs.shape == (3,) and probs.sum() == pytest.approx(1, abs=1e-5)

    # the version and the run record what it was trained on, its features included
    from hftlab.features.spec import spec_hash

    provenance = {"hftlab.world": "okx", "hftlab.symbol": "BTC-USDT-SWAP", "hftlab.timeframe": "1m",
                  "hftlab.feature_spec_hash": spec_hash(predictor.spec)}
    version_tags = client.get_model_version(summary["model_name"], "1").tags
    assert {k: version_tags.get(k) for k in provenance} == provenance and "hftlab.venue" not in version_tags
    assert provenance.items() <= run.data.tags.items()
    assert summary["provenance"] == {"world": "okx", "venue": None, "symbol": "BTC-USDT-SWAP", "timeframe": "1m",
                                     "feature_spec_hash": spec_hash(predictor.spec)}


def test_same_seed_same_metrics(candles_small):
    from hftlab.models.config import ModelConfig
    from hftlab.models.experiment import Options, run_experiment

    cfg = ModelConfig(hidden_size=8, num_layers=1, seq_len=16, batch_size=128, max_epochs=2, accelerator="cpu")
    opts = Options(n_folds=1, test_fraction=0.25, permuted_control=False, n_shifts=200)
    a = run_experiment(candles_small, cfg, opts).report
    b = run_experiment(candles_small, cfg, opts).report
    assert a["models"] == b["models"] and a["lstm_training"] == b["lstm_training"]
    c = run_experiment(candles_small, cfg.model_copy(update={"seed": 43}), opts).report
    assert c["models"]["lstm"] != a["models"]["lstm"]


@pytest.fixture
def candles_small(shared_data):
    from hftlab.models.data import default_spec, prepare
    from hftlab.models.barfiles import load_bars

    bars, _ = load_bars(shared_data / "okx" / "candles" / CSV)
    bars = bars.iloc[:3000].reset_index(drop=True)
    return prepare(bars, default_spec(bars), horizon=10, dead_zone_bps=2.0)


def test_a_data_world_that_cannot_be_known_or_contradicts_the_file_is_bad_input(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from hftlab.pipeline.research import save_bars

    monkeypatch.setenv("HFTLAB__MLFLOW__TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    bars = pd.DataFrame({"ts_ms": 1000 * np.arange(50), "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0,
                         "volume": 1.0})
    bars.to_parquet(tmp_path / "anonymous.parquet", index=False)
    save_bars(bars, tmp_path / "recorded.parquet", world="sim", venue="sim")
    for argv, says in ((["--data-world", "okx"], "--data-world describes --data"),
                       (["--data", str(tmp_path / "anonymous.parquet")], "give --data-world sim|okx"),
                       (["--data", str(tmp_path / "recorded.parquet"), "--data-world", "okx"],
                        "records world 'sim' in its metadata; --data-world okx contradicts it")):
        assert _run_cli([*argv, "--json", "--no-progress"]) == 2
        out = capsys.readouterr()
        assert says in out.err and out.out == ""
    assert not (tmp_path / "mlflow.db").exists()  # refused before MLflow is touched


@pytest.mark.parametrize("layout", ["csv", "json"])
def test_train_reads_okxs_own_candle_layout(shared_data, tmp_path, monkeypatch, capsys, layout):
    """OKX's candles as REST returns them (ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm; newest first; the
    newest still forming), as a CSV with OKX's column names or as the REST answer in JSON."""
    import pandas as pd

    from hftlab.models.barfiles import OKX_CANDLE

    monkeypatch.setenv("HFTLAB__MLFLOW__TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("HFTLAB__MLFLOW__ARTIFACT_LOCATION", str(tmp_path / "artifacts"))
    for k, v in SMALL.items():
        monkeypatch.setenv(k, v)
    ours = pd.read_csv(shared_data / "okx" / "candles" / CSV).iloc[-2501:]
    rows = pd.DataFrame({"ts": ours["ts_ms"].astype(str), "o": ours["open"].astype(str), "h": ours["high"].astype(str),
                         "l": ours["low"].astype(str), "c": ours["close"].astype(str),
                         "vol": (ours["volume"] / 0.01).round(2).astype(str),  # contracts of 0.01 BTC
                         "volCcy": ours["volume"].astype(str), "volCcyQuote": (ours["volume"] * ours["close"]).astype(str),
                         "confirm": "1"})[list(OKX_CANDLE)].iloc[::-1]
    rows.iloc[0, -1] = "0"  # the newest candle is still forming: not a bar yet
    path = tmp_path / f"BTC-USDT-SWAP_1m_okx.{layout}"
    if layout == "csv":
        rows.to_csv(path, index=False)
    else:
        path.write_text(json.dumps({"code": "0", "msg": "", "data": rows.values.tolist()}))
    rc = _run_cli(["--data", str(path), "--json", "--folds", "1", "--test-fraction", "0.25", "--no-progress",
                   "--sim-controls", "0", "--no-null-world", "--no-permuted-control"])
    out = capsys.readouterr()
    assert rc == 0, out.err[-2000:]
    summary = json.loads(out.out)
    assert summary["data"]["rows"] == 2500 and summary["data"]["layout"] == "okx"
    assert summary["data"]["volume_column"] == "volCcy" and summary["provenance"]["symbol"] == "BTC-USDT-SWAP"
    assert summary["data"]["first_ts_ms"] == int(ours["ts_ms"].iloc[0])  # oldest first after loading


PANEL = ["BTC-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz", "ETH-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz",
         "SOL-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz"]


def test_train_on_the_three_symbols_together_judges_each_one(shared_data, tmp_path, monkeypatch, capsys):
    import mlflow

    monkeypatch.setenv("HFTLAB__MLFLOW__TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("HFTLAB__MLFLOW__ARTIFACT_LOCATION", str(tmp_path / "artifacts"))
    for k, v in SMALL.items():
        monkeypatch.setenv(k, v)
    data = [a for name in PANEL for a in ("--data", str(shared_data / "okx" / "candles" / name))]
    rc = _run_cli([*data, "--json", "--max-rows", "2500", "--folds", "2", "--no-progress", "--sim-controls", "0"])
    summary = json.loads(capsys.readouterr().out)
    symbols = [n.split("_")[0] for n in PANEL]
    assert rc in (0, 1) and summary["data"]["series"] == symbols
    assert summary["data"]["rows"] == 3 * 2500 + 2  # the series stacked, one NaN row between two
    # judged together and per series, every model on each symbol's own test rows
    assert set(summary["series"]) == set(symbols)
    assert all(set(by_model) == {"lstm", "majority", "logistic", "gbt"} for by_model in summary["series"].values())
    assert any(line.startswith("SOL-USDT-SWAP: lstm balanced accuracy") for line in summary["verdicts"])
    # both controls, the null world on each series shuffled on its own, traded at swap costs
    null = summary["controls"]["null_world"]
    assert null["source"] == "shuffled" and set(null["money"]) == set(symbols) == set(null["backtest"])
    assert summary["controls"]["permuted_labels"]["passed"]
    # the version says it is a panel: its symbol is none that a live runner trades alone
    assert summary["provenance"]["symbol"] == "+".join(symbols) and summary["provenance"]["timeframe"] == "5m"
    tags = mlflow.MlflowClient(summary["tracking_uri"]).get_run(summary["run_id"]).data.tags
    assert tags["hftlab.panel"] == ",".join(symbols)


def test_one_symbol_of_a_panel_cannot_be_picked_with_symbol(shared_data, capsys):
    data = [a for name in PANEL[:2] for a in ("--data", str(shared_data / "okx" / "candles" / name))]
    assert _run_cli([*data, "--symbol", "BTC-USDT-SWAP", "--no-progress"]) == 2
    assert "a panel's symbols come from its files" in capsys.readouterr().err
