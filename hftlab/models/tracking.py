"""MLflow: where runs go, what a training run logs, and the registry's aliases.

The logged model is a `SignalNet` (normalisation + network + softmax, raw feature windows in,
class probabilities out) in `mlflow.pytorch`'s format (pickled, with a signature and an input example),
for MLflow's own tools. hftlab never unpickles it: a pickle runs whatever code whoever could write to
the artifact store put in it, and live loads the champion with the venue's keys in its environment.
Inside the model's directory travel `net.json` (`SignalNet.describe`: architecture and clip), `weights.pt`
(its `state_dict`, tensors only, loaded with `torch.load(weights_only=True)`) and `feature_bundle.json`
(FeatureSpec + Normaliser, `hftlab.features.dump_bundle`), so `models:/<name>@champion` alone rebuilds
the live feature pipeline and the predictor (`hftlab.models.predictor.load_model`). The bundle, `net.json`,
the evaluation report (JSON) and its plot are also run artifacts.

`import mlflow` costs seconds: it happens inside these functions only.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

CHAMPION = "champion"
MODEL_DIR = "model"
BUNDLE_FILE = "feature_bundle.json"
NET_FILE = "net.json"
WEIGHTS_FILE = "weights.pt"


def import_mlflow():
    """mlflow, imported on first use, with telemetry off."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # its per-download progress bars would interleave with ours on stderr
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    return mlflow


def use_experiment(cfg) -> str:
    """Point MLflow at the store of the `mlflow` section (hftlab.models.config.MlflowConfig, its
    paths resolved by hftlab.settings), creating a local SQLite file's and artifact directory's
    parents, and make sure the experiment exists; returns its id."""
    tracking_uri, artifact_location, experiment = cfg.tracking_uri, cfg.artifact_location, cfg.experiment
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if artifact_location.startswith("file://"):
        Path(urlparse(artifact_location).path).mkdir(parents=True, exist_ok=True)
    mlflow = import_mlflow()
    mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return client.create_experiment(experiment, artifact_location=artifact_location)
    return exp.experiment_id


def flat_params(prefix: str, values: dict[str, Any]) -> dict[str, str]:
    return {f"{prefix}.{k}": json.dumps(v) if isinstance(v, (list, tuple, dict)) else str(v) for k, v in values.items()}


def epoch_sink(prefix: str):
    """A per-epoch metrics sink for `hftlab.models.lightning_module.fit` logging into the active run."""
    mlflow = import_mlflow()

    def sink(row: dict[str, float], epoch: int) -> None:
        mlflow.log_metrics({f"{prefix}{k}": v for k, v in row.items() if np.isfinite(v)}, step=epoch)

    return sink


def pip_requirements() -> list[str]:
    from importlib.metadata import version

    # explicit requirements: MLflow's inference of them costs ~10 s per log_model
    return [f"{name}=={version(name).split('+')[0]}" for name in ("torch", "numpy", "numba")]


def log_signal_model(signal_net, example: np.ndarray, bundle_json: str, model_name: str | None,
                     workdir: Path, tags: dict[str, str] | None = None) -> tuple[str, str | None]:
    """Log the model into the active run (and register a version of `model_name` when given, with
    `tags` on the version from its creation: hftlab.models.provenance). Returns (model URI,
    registered version or None)."""
    mlflow = import_mlflow()
    import mlflow.pytorch
    import torch
    from mlflow.models import infer_signature

    with torch.inference_mode():
        out = signal_net(torch.from_numpy(example)).numpy()
    # MLflow's pickle is for MLflow's tools only (see above); it warns about it on every call
    logging.getLogger("mlflow.pytorch").setLevel(logging.ERROR)
    workdir.mkdir(parents=True, exist_ok=True)
    bundle = workdir / BUNDLE_FILE
    bundle.write_text(bundle_json)
    net_json = workdir / NET_FILE
    net_json.write_text(json.dumps(signal_net.describe(), sort_keys=True))
    weights = workdir / WEIGHTS_FILE
    torch.save(signal_net.state_dict(), weights)
    info = mlflow.pytorch.log_model(
        signal_net,
        name=MODEL_DIR,
        serialization_format="pickle",
        signature=infer_signature(example, out),
        input_example=example,
        pip_requirements=pip_requirements(),
        extra_files=[str(bundle), str(net_json), str(weights)],
        registered_model_name=model_name,
        tags=tags,
    )
    mlflow.log_artifact(str(bundle))
    mlflow.log_artifact(str(net_json))
    version = getattr(info, "registered_model_version", None)
    return info.model_uri, None if version is None else str(version)


def set_alias(name: str, version: str, alias: str = CHAMPION, tracking_uri: str | None = None) -> None:
    """Point `models:/<name>@<alias>` at a version (the promotion gate decides when)."""
    mlflow = import_mlflow()
    mlflow.MlflowClient(tracking_uri).set_registered_model_alias(name, alias, str(version))
