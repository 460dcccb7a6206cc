import numpy as np
import pytest
import torch

from hftlab.models.lstm import CLASSES, AttentionLSTM, NetConfig, SignalNet


def _net(**kw) -> AttentionLSTM:
    torch.manual_seed(0)
    cfg = dict(n_features=5, hidden_size=12, num_layers=2, dropout=0.1, seq_len=9)
    cfg.update(kw)
    return AttentionLSTM(NetConfig(**cfg)).eval()


def test_shapes():
    net = _net()
    logits, att = net.attend(torch.randn(4, 9, 5))
    assert logits.shape == (4, len(CLASSES))
    assert att.shape == (4, 9)
    assert net(torch.randn(3, 9, 5)).shape == (3, 3)


def test_attention_sums_to_one_over_valid_steps_and_ignores_padding():
    net = _net()
    x = torch.randn(3, 9, 5)
    valid = torch.tensor([9, 4, 1])
    mask = torch.arange(9)[None, :] >= (9 - valid)[:, None]  # right-aligned: newest steps valid
    x = x.masked_fill(~mask[..., None], 0.0)
    with torch.no_grad():
        _, att = net.attend(x, mask)
    assert torch.allclose(att.sum(dim=1), torch.ones(3))
    assert (att[~mask] == 0).all()
    assert (att[mask] > 0).all()
    assert att[2, -1] == 1.0  # one valid step takes all the weight


def test_one_layer_has_no_dropout_between_layers():
    net = _net(num_layers=1, dropout=0.5)
    assert net.lstm.dropout == 0.0


@pytest.mark.parametrize("bad", [dict(n_features=0), dict(hidden_size=-1), dict(dropout=1.0), dict(seq_len=2.5)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        _net(**bad)


@pytest.mark.parametrize("clip", [None, 1.5])
def test_signalnet_applies_the_normaliser_arithmetic(clip):
    from hftlab.features import Normaliser

    net = _net()
    rng = np.random.default_rng(1)
    norm = Normaliser(tuple("abcde"), tuple(rng.normal(size=5)), tuple(rng.uniform(0.5, 2, 5)), clip=clip)
    signal = SignalNet(net, norm.center, norm.scale, norm.clip).eval()
    x = rng.normal(0, 3, (2, 9, 5)).astype(np.float32)
    z = torch.from_numpy(norm.transform(x).astype(np.float32))
    with torch.no_grad():
        expected = torch.softmax(net(z), dim=-1)
        got = signal(torch.from_numpy(x))
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(got.sum(dim=-1), torch.ones(2))


@pytest.mark.parametrize("clip", [None, 2.5])
def test_a_signalnet_rebuilt_from_its_description_and_state_predicts_the_same(clip):
    rng = np.random.default_rng(2)
    signal = SignalNet(_net(), rng.normal(size=5), rng.uniform(0.5, 2, 5), clip).eval()
    rebuilt = SignalNet.from_state(signal.describe(), signal.state_dict())
    assert rebuilt.cfg == signal.cfg and rebuilt.clip == signal.clip and not rebuilt.training
    x = torch.from_numpy(rng.normal(0, 4, (3, 9, 5)).astype(np.float32))
    with torch.no_grad():
        assert torch.equal(rebuilt(x), signal(x))


def test_a_state_missing_a_tensor_is_refused():
    signal = SignalNet(_net(), np.zeros(5), np.ones(5), None)
    state = signal.state_dict()
    del state["scale"]
    with pytest.raises(RuntimeError, match="scale"):
        SignalNet.from_state(signal.describe(), state)
