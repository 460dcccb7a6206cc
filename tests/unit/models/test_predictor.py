import numpy as np
import pytest
import torch

from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet
from hftlab.models.predictor import Predictor


@pytest.fixture(scope="module")
def signal():
    torch.manual_seed(0)
    return SignalNet(AttentionLSTM(NetConfig(4, 8, 2, 0.0, 7)), np.zeros(4), np.ones(4), None).eval()


def test_backends_agree_and_validate(signal):
    fast, slow = Predictor(signal, backend="fast"), Predictor(signal, backend="torch")
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = rng.normal(size=(7, 4)).astype(np.float32)
        np.testing.assert_allclose(fast.predict_proba(w), slow.predict_proba(w), atol=2e-6)
    bad = np.zeros((7, 4), np.float32)
    bad[0, 0] = np.nan
    assert np.isnan(fast.predict_proba(bad)).all() and np.isnan(slow.predict_proba(bad)).all()
    for p in (fast, slow):
        with pytest.raises(ValueError, match="shape"):
            p.predict_proba(np.zeros((6, 4), np.float32))
    with pytest.raises(ValueError, match="backend"):
        Predictor(signal, backend="onnx")
    assert fast.classes == (-1, 0, 1)
