import numpy as np
import pytest
import torch

from hftlab.models.fastpath import FastSignal
from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet


def _signal(n_features, hidden, layers, seq_len, clip, seed=0):
    torch.manual_seed(seed)
    net = AttentionLSTM(NetConfig(n_features, hidden, layers, 0.2, seq_len))
    with torch.no_grad():  # larger weights than the default init, so gates saturate too
        for p in net.parameters():
            p.mul_(3.0)
    rng = np.random.default_rng(seed)
    return SignalNet(net, rng.normal(size=n_features), rng.uniform(0.5, 2, n_features), clip).eval()


@pytest.mark.parametrize("n_features,hidden,layers,seq_len,clip", [
    (20, 64, 2, 64, 5.0),   # the benchmark's shape
    (3, 6, 1, 5, None),     # hidden not a multiple of 4, one layer
    (7, 13, 3, 9, 2.0),     # three layers
])
def test_matches_pytorch(n_features, hidden, layers, seq_len, clip):
    signal = _signal(n_features, hidden, layers, seq_len, clip)
    fast = FastSignal(signal)
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.normal(0, 2, (seq_len, n_features)).astype(np.float32)
        with torch.inference_mode():
            ref = signal(torch.from_numpy(x)[None])[0].numpy()
        got = fast(x)
        np.testing.assert_allclose(got, ref, atol=2e-6)
        assert got.dtype == np.float32


def test_non_finite_window_gives_nan_and_wrong_shape_raises():
    fast = FastSignal(_signal(3, 6, 1, 5, None))
    x = np.zeros((5, 3), np.float32)
    x[2, 1] = np.inf
    assert np.isnan(fast(x)).all()
    assert np.isfinite(fast(np.zeros((5, 3), np.float32))).all()
    with pytest.raises(ValueError, match="shape"):
        fast(np.zeros((4, 3), np.float32))


def test_result_is_not_an_internal_buffer():
    fast = FastSignal(_signal(3, 6, 1, 5, None))
    a = fast(np.zeros((5, 3), np.float32))
    b = fast(np.ones((5, 3), np.float32))
    assert not np.shares_memory(a, b) and not np.allclose(a, b)
