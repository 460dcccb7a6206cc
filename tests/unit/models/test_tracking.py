"""MLflow round trip in a throwaway SQLite store: log -> register -> alias -> load -> same predictions."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from hftlab.models import tracking

    d = tmp_path_factory.mktemp("mlflow")
    from hftlab.models.config import MlflowConfig

    uri, art = f"sqlite:///{d}/mlflow.db", (d / "artifacts").as_uri()
    return uri, art, tracking.use_experiment(MlflowConfig(tracking_uri=uri, artifact_location=art, experiment="test"))


@pytest.fixture(scope="module")
def model():
    from hftlab.features import FeatureSpec, Normaliser

    spec = FeatureSpec(flow_window=0, book_levels=0)
    n = len(spec.names)
    rng = np.random.default_rng(0)
    norm = Normaliser(spec.names, tuple(rng.normal(size=n)), tuple(rng.uniform(0.5, 2, n)), clip=4.0, rows=100)
    torch.manual_seed(0)
    net = AttentionLSTM(NetConfig(n, 8, 2, 0.1, 6)).eval()
    return SignalNet(net, norm.center, norm.scale, norm.clip).eval(), spec, norm


def test_log_register_alias_load_gives_identical_predictions(store, model, tmp_path):
    import mlflow

    from hftlab.features import dump_bundle
    from hftlab.models import tracking
    from hftlab.models.predictor import load_champion, load_model

    uri, _, exp_id = store
    signal, spec, norm = model
    rng = np.random.default_rng(1)
    example = rng.normal(0, 2, (1, 6, len(spec.names))).astype(np.float32)
    with mlflow.start_run(experiment_id=exp_id) as run:
        model_uri, version = tracking.log_signal_model(signal, example, dump_bundle(spec, norm), "sig-test", tmp_path)
    assert version == "1"
    tracking.set_alias("sig-test", version, tracking_uri=uri)
    client = mlflow.MlflowClient(uri)
    assert str(client.get_model_version_by_alias("sig-test", "champion").version) == "1"
    assert {"feature_bundle.json", "net.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}

    champion = load_champion("sig-test", uri, backend="torch")
    assert champion.spec == spec and champion.normaliser == norm
    assert (champion.seq_len, champion.n_features) == (6, len(spec.names))
    windows = rng.normal(0, 2, (10, 6, len(spec.names))).astype(np.float32)
    with torch.inference_mode():
        expected = signal(torch.from_numpy(windows)).numpy()
    got = np.stack([champion.predict_proba(w) for w in windows])
    np.testing.assert_array_equal(got, expected)
    fast = load_model(model_uri, tracking_uri=uri)  # by the logged model's own URI, default backend
    np.testing.assert_allclose(np.stack([fast.predict_proba(w) for w in windows]), expected, atol=2e-6)

    # as live does it: a fresh process that knows only the name and the store
    np.save(tmp_path / "windows.npy", windows)
    code = ("import sys, json, numpy as np; from hftlab.models.predictor import load_champion; "
            "p = load_champion(sys.argv[1], sys.argv[2]); "
            "print(json.dumps([p.predict_proba(w).tolist() for w in np.load(sys.argv[3])]))")
    out = subprocess.run([sys.executable, "-c", code, "sig-test", uri, str(tmp_path / "windows.npy")],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(np.array(json.loads(out.stdout.strip().splitlines()[-1])), expected, atol=2e-6)

    info = mlflow.models.get_model_info(f"models:/sig-test/{version}")
    assert json.loads(info.signature.inputs.to_json())[0]["tensor-spec"]["shape"] == [-1, 6, len(spec.names)]
    assert json.loads(info.signature.outputs.to_json())[0]["tensor-spec"]["shape"] == [-1, 3]


def test_a_second_run_registers_a_new_version(store, model, tmp_path):
    import mlflow

    from hftlab.features import dump_bundle
    from hftlab.models import tracking

    _, _, exp_id = store
    signal, spec, norm = model
    example = np.zeros((1, 6, len(spec.names)), np.float32)
    with mlflow.start_run(experiment_id=exp_id):
        _, v = tracking.log_signal_model(signal, example, dump_bundle(spec, norm), "sig-test-2", tmp_path)
    with mlflow.start_run(experiment_id=exp_id):
        _, v2 = tracking.log_signal_model(signal, example, dump_bundle(spec, norm), "sig-test-2", tmp_path)
    assert (v, v2) == ("1", "2")


def test_load_model_refuses_a_directory_that_is_not_a_model(tmp_path):
    from hftlab.models.predictor import load_model

    with pytest.raises(FileNotFoundError, match="not an MLflow model directory"):
        load_model(str(tmp_path))


@pytest.fixture()
def model_dir(store, model, tmp_path):
    """A logged model's directory, downloaded as live downloads it, to tamper with."""
    import mlflow

    from hftlab.features import dump_bundle
    from hftlab.models import tracking

    uri, _, exp_id = store
    signal, spec, norm = model
    with mlflow.start_run(experiment_id=exp_id):
        model_uri, _ = tracking.log_signal_model(signal, np.zeros((1, 6, len(spec.names)), np.float32),
                                                 dump_bundle(spec, norm), None, tmp_path / "work")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, tracking_uri=uri,
                                                   dst_path=str(tmp_path / "dl")))


class _Payload:
    """What a hostile writer of the artifact store would pickle: code that runs on unpickling."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_the_weights_are_loaded_as_tensors_only_so_a_pickled_payload_never_runs(model_dir, tmp_path):
    from hftlab.models.predictor import load_model

    marker = tmp_path / "payload-ran"
    torch.save({"net.fc2.bias": _Payload(marker)}, model_dir / "extra_files" / "weights.pt")
    with pytest.raises(ValueError, match="do not make a SignalNet"):
        load_model(str(model_dir))
    assert not marker.exists()
    # the pickle MLflow keeps for its own tools is never read: a payload there does not run either
    torch.save(_Payload(marker), model_dir / "data" / "model.pth")
    (model_dir / "extra_files" / "weights.pt").unlink()
    with pytest.raises(FileNotFoundError, match="Train it again"):
        load_model(str(model_dir))
    assert not marker.exists()


def test_weights_of_another_architecture_are_refused_not_half_loaded(model_dir):
    from hftlab.models.predictor import load_model

    other = SignalNet(AttentionLSTM(NetConfig(3, 4, 1, 0.0, 6)), np.zeros(3), np.ones(3), None)
    torch.save(other.state_dict(), model_dir / "extra_files" / "weights.pt")
    with pytest.raises(ValueError, match="do not make a SignalNet"):
        load_model(str(model_dir))
