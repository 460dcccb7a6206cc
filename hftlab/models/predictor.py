"""The live predictor: one raw feature window in, class probabilities (down, flat, up) out.

    predictor = load_champion("hftlab-signal-sim", tracking_uri)   # once, at start-up (imports mlflow)
    live = StreamingFeatures(predictor.spec, normaliser=None)  # raw features, bar by bar
    probs = predictor.predict_proba(window)                    # (seq_len, n_features) raw -> (3,)

The window holds raw features (what `StreamingFeatures` gives without a normaliser), oldest row
first; the predictor applies the training normalisation itself. A window with a non-finite value
gives NaN probabilities, never an exception, so a bad bar cannot kill the loop.

Backends: "fast" (default) is the numba kernel of `hftlab.models.fastpath`, no PyTorch call per
prediction; "torch" runs the SignalNet eagerly under `torch.inference_mode` on a preallocated
input tensor with one intra-op thread (measured best for one window; the setting is process-wide).
`hftlab bench inference` measures both against naive eager PyTorch and TorchScript.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from hftlab.models.data import CLASSES

BACKENDS = ("fast", "torch")


class Predictor:
    classes = CLASSES

    def __init__(self, signal_net, spec=None, normaliser=None, *, backend: str = "fast"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.net = signal_net.eval()
        self.spec = spec
        self.normaliser = normaliser
        self.backend = backend
        self.seq_len = signal_net.cfg.seq_len
        self.n_features = signal_net.cfg.n_features
        if backend == "fast":
            from hftlab.models.fastpath import FastSignal

            self._predict = FastSignal(signal_net)
        else:
            self._predict = _TorchSignal(signal_net)

    def predict_proba(self, window: np.ndarray) -> np.ndarray:
        """(seq_len, n_features) raw features, oldest first -> (3,) float32 probabilities."""
        return self._predict(window)

    @classmethod
    def from_dir(cls, path: str | Path, *, backend: str = "fast") -> Predictor:
        """A model directory as `hftlab.models.tracking.log_signal_model` logs it (MLmodel, extra_files/...).

        Built from `net.json` and a `weights.pt` of tensors only, never by unpickling the module: a pickle
        runs any code put in it (tracking's docstring). A model logged without them is refused."""
        import torch

        from hftlab.models.lstm import SignalNet
        from hftlab.models.tracking import BUNDLE_FILE, NET_FILE, WEIGHTS_FILE

        path = Path(path)
        extra = path / "extra_files"
        described, weights = extra / NET_FILE, extra / WEIGHTS_FILE
        if not (path / "MLmodel").is_file():
            raise FileNotFoundError(f"{path} is not an MLflow model directory (no MLmodel)")
        if not (described.is_file() and weights.is_file()):
            raise FileNotFoundError(
                f"{path} has no extra_files/{NET_FILE} and extra_files/{WEIGHTS_FILE}: it was not logged by this "
                "hftlab (an older one logged the module as a pickle only, which hftlab does not load). "
                "Train it again (`hftlab train`) and promote the new version.")
        try:
            net = SignalNet.from_state(json.loads(described.read_text()),
                                       torch.load(weights, map_location="cpu", weights_only=True))
        except (ValueError, KeyError, TypeError, RuntimeError, pickle.UnpicklingError) as e:
            raise ValueError(f"{path}: its {NET_FILE} and {WEIGHTS_FILE} do not make a SignalNet "
                             f"({type(e).__name__}: {e})") from e
        spec = normaliser = None
        bundle = extra / BUNDLE_FILE
        if bundle.is_file():
            from hftlab.features import load_bundle

            spec, normaliser = load_bundle(bundle.read_text())
        return cls(net, spec, normaliser, backend=backend)


class _TorchSignal:
    def __init__(self, signal_net):
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.net = signal_net
        self._x = torch.zeros((1, signal_net.cfg.seq_len, signal_net.cfg.n_features))
        self._x_np = self._x.numpy()[0]

    def __call__(self, window: np.ndarray) -> np.ndarray:
        if window.shape != self._x_np.shape:
            raise ValueError(f"expected one window of shape {self._x_np.shape} (seq_len, n_features), got {window.shape}")
        self._x_np[...] = window
        with self.torch.inference_mode():
            return self.net(self._x)[0].numpy().copy()


def load_model(uri: str, *, tracking_uri: str | None = None, backend: str = "fast") -> Predictor:
    """A predictor from an MLflow model URI (models:/<name>@<alias>, models:/<name>/<version>, or
    the logged model's models:/m-... that `hftlab train` reports) or a local model directory."""
    if Path(uri).is_dir():
        return Predictor.from_dir(uri, backend=backend)
    from hftlab.models.tracking import import_mlflow

    mlflow = import_mlflow()
    if tracking_uri is not None:
        # a logged model's models:/m-... URI is looked up in the process-wide tracking store
        mlflow.set_tracking_uri(tracking_uri)
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=tracking_uri, registry_uri=tracking_uri)
    return Predictor.from_dir(local, backend=backend)


def load_champion(name: str, tracking_uri: str, *, backend: str = "fast") -> Predictor:
    """The model live trades: `models:/<name>@champion`."""
    from hftlab.models.tracking import CHAMPION

    return load_model(f"models:/{name}@{CHAMPION}", tracking_uri=tracking_uri, backend=backend)
