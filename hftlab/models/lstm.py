"""The signal network: an LSTM whose time steps are pooled by additive attention.

    h_1..h_T = LSTM(x_1..x_T)                        (num_layers, hidden_size, dropout between layers)
    e_t      = v . tanh(W h_t + b)                   one score per step
    a        = softmax(e) over the valid steps       (mask: True = a real bar)
    z        = [sum_t a_t h_t, h_T]                  attention context and the last state
    logits   = W2 relu(W1 dropout(z) + b1) + b2      three classes: down, flat, up

Windows are right-aligned: step T is the newest bar and always valid; a window shorter than T is
left-padded with zeros and masked. The LSTM still runs over the padding (zeros are the training
mean after normalisation); only the attention ignores it.

`SignalNet` is what travels to MLflow and to live: the training normalisation, then the network,
then a softmax, so it maps raw feature windows to class probabilities.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from hftlab.models.data import CLASSES


@dataclass(frozen=True)
class NetConfig:
    n_features: int
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.1
    seq_len: int = 64

    def __post_init__(self) -> None:
        for name in ("n_features", "hidden_size", "num_layers", "seq_len"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class AttentionLSTM(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden_size
        self.lstm = nn.LSTM(cfg.n_features, h, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.att_proj = nn.Linear(h, h)
        self.att_score = nn.Linear(h, 1, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc1 = nn.Linear(2 * h, h)
        self.fc2 = nn.Linear(h, len(CLASSES))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.attend(x, mask)[0]

    def attend(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, 3) and attention weights (B, T); x is (B, T, n_features), mask (B, T) bool."""
        h, _ = self.lstm(x)
        e = self.att_score(torch.tanh(self.att_proj(h))).squeeze(-1)
        if mask is not None:
            e = e.masked_fill(~mask, float("-inf"))
        a = torch.softmax(e, dim=1)
        context = torch.bmm(a.unsqueeze(1), h).squeeze(1)
        z = torch.cat([context, h[:, -1]], dim=-1)
        return self.fc2(torch.relu(self.fc1(self.drop(z)))), a


class SignalNet(nn.Module):
    """Raw feature windows (B, T, F) -> class probabilities (B, 3), normalisation included.

    (x - center) / scale, clipped to [-clip, clip] when clip is set: the arithmetic of
    `hftlab.features.Normaliser.transform`, so research and live feed the network the same numbers.
    """

    def __init__(self, net: AttentionLSTM, center, scale, clip: float | None):
        super().__init__()
        self.net = net
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32).reshape(-1))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).reshape(-1))
        self.clip = None if clip is None else float(clip)

    @property
    def cfg(self) -> NetConfig:
        return self.net.cfg

    def describe(self) -> dict:
        """What rebuilds this module around its `state_dict` (`from_state`): the architecture and the clip."""
        return {"net": self.cfg.to_dict(), "clip": self.clip}

    @classmethod
    def from_state(cls, described: dict, state: dict[str, torch.Tensor]) -> SignalNet:
        """The module `describe` and `state_dict` were taken from (strict: every tensor, nothing else)."""
        cfg = NetConfig(**described["net"])
        signal = cls(AttentionLSTM(cfg), torch.zeros(cfg.n_features), torch.ones(cfg.n_features), described["clip"])
        signal.load_state_dict(state, strict=True)
        return signal.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.center) / self.scale
        if self.clip is not None:
            z = z.clamp(-self.clip, self.clip)
        return torch.softmax(self.net(z), dim=-1)
