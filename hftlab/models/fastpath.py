"""`SignalNet`'s forward pass for one window as a numba kernel: the live inference path.

Why not PyTorch: with a batch of one, the LSTM is 2 x seq_len small sequential steps, and
oneDNN's RNN primitive spends most of ~5 us a step on overhead; TorchScript removes Python
dispatch but not that. This kernel keeps every buffer preallocated, runs the recurrence as a
vectorised axpy over the 4H gate rows (four hidden units per pass, so the gate vector is loaded
and stored a quarter as often), and evaluates tanh/sigmoid with a vectorisable rational
approximation (Eigen's float tanh, max error 3e-7) instead of scalar libm calls; numba's
`error_model="numpy"` is what lets the divisions vectorise. The result matches the PyTorch
module to ~1e-6 (tests/unit/models/test_fastpath.py). `hftlab bench inference` measures it.

Non-finite input gives NaN probabilities (checked before the fastmath code, which assumes
finite numbers).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_FAST = {"fastmath": True, "error_model": "numpy", "cache": True}


@njit(inline="always", **_FAST)
def _tanh(x):
    # Eigen's generic_fast_tanh_float: a 13/6 rational approximation on [-7.9, 7.9]
    c = np.float32(7.90531110763549805)
    x = min(max(x, -c), c)
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return p * x / q


@njit(inline="always", **_FAST)
def _axpy_rows(out, wT, v, n_in):
    """out += wT.T @ v, four input rows per pass over out (out: (G,), wT: (n_in, G))."""
    G = out.shape[0]
    k = 0
    while k + 4 <= n_in:
        v0 = v[k]
        v1 = v[k + 1]
        v2 = v[k + 2]
        v3 = v[k + 3]
        for r in range(G):
            out[r] += wT[k, r] * v0 + wT[k + 1, r] * v1 + wT[k + 2, r] * v2 + wT[k + 3, r] * v3
        k += 4
    while k < n_in:
        vk = v[k]
        for r in range(G):
            out[r] += wT[k, r] * vk
        k += 1


@njit(**_FAST)
def _lstm_layer(inp, n_in, wihT, whhT, b, out, xp, g, a, c):
    """One LSTM layer over the window: inp (T, >= n_in) -> out (T, H). PyTorch gate order i, f, g, o."""
    T = inp.shape[0]
    H = out.shape[1]
    half = np.float32(0.5)
    for t in range(T):
        for r in range(4 * H):
            xp[t, r] = b[r]
        _axpy_rows(xp[t], wihT, inp[t], n_in)
    for j in range(H):
        c[j] = 0.0
    for t in range(T):
        for r in range(4 * H):
            g[r] = xp[t, r]
        if t > 0:
            _axpy_rows(g, whhT, out[t - 1], H)
        for r in range(2 * H):
            a[r] = half * _tanh(half * g[r]) + half
        for r in range(2 * H, 3 * H):
            a[r] = _tanh(g[r])
        for r in range(3 * H, 4 * H):
            a[r] = half * _tanh(half * g[r]) + half
        for j in range(H):
            c[j] = a[H + j] * c[j] + a[j] * a[2 * H + j]
        for j in range(H):
            out[t, j] = a[3 * H + j] * _tanh(c[j])


@njit(cache=True)
def _all_finite(x):
    for v in x.ravel():
        if not math.isfinite(v):
            return False
    return True


@njit(**_FAST)
def _forward(x, center, inv_scale, clip, wih0T, wihT, whhT, b, waT, ba, va, w1T, b1, w2T, b2,
             z, hs, xp, g, a, c, u, e, zc, y1, probs):
    T, F = x.shape
    L = whhT.shape[0]
    H = whhT.shape[1]
    # normalise as hftlab.features.Normaliser does (clip <= 0: no clipping)
    for t in range(T):
        for f in range(F):
            v = (x[t, f] - center[f]) * inv_scale[f]
            if clip > 0:
                v = min(max(v, -clip), clip)
            z[t, f] = v
    _lstm_layer(z, F, wih0T, whhT[0], b[0], hs[0], xp, g, a, c)
    for layer in range(1, L):
        _lstm_layer(hs[(layer - 1) % 2], H, wihT[layer - 1], whhT[layer], b[layer], hs[layer % 2], xp, g, a, c)
    h = hs[(L - 1) % 2]
    # additive attention over the steps
    for t in range(T):
        for r in range(H):
            u[r] = ba[r]
        _axpy_rows(u, waT, h[t], H)
        s = np.float32(0.0)
        for r in range(H):
            s += va[r] * _tanh(u[r])
        e[t] = s
    emax = e[0]
    for t in range(1, T):
        emax = max(emax, e[t])
    total = np.float32(0.0)
    for t in range(T):
        e[t] = math.exp(e[t] - emax)
        total += e[t]
    for k in range(H):
        zc[k] = 0.0
        zc[H + k] = h[T - 1, k]
    for t in range(T):
        w = e[t] / total
        for k in range(H):
            zc[k] += w * h[t, k]
    # head: relu(W1 z + b1), then W2, then softmax
    for r in range(H):
        y1[r] = b1[r]
    _axpy_rows(y1, w1T, zc, 2 * H)
    for r in range(H):
        y1[r] = max(y1[r], np.float32(0.0))
    n_cls = probs.shape[0]
    for r in range(n_cls):
        probs[r] = b2[r]
    _axpy_rows(probs, w2T, y1, H)
    pmax = probs[0]
    for r in range(1, n_cls):
        pmax = max(pmax, probs[r])
    total = np.float32(0.0)
    for r in range(n_cls):
        probs[r] = math.exp(probs[r] - pmax)
        total += probs[r]
    for r in range(n_cls):
        probs[r] /= total


def _f32(t) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


class FastSignal:
    """Callable on one raw window (seq_len, n_features) -> class probabilities (3,), from a SignalNet.

    Not thread-safe: one instance owns its buffers. The returned array is a fresh copy.
    """

    def __init__(self, signal_net):
        net = signal_net.net
        cfg = net.cfg
        T, F, H, L = cfg.seq_len, cfg.n_features, cfg.hidden_size, cfg.num_layers
        lstm = net.lstm
        self.seq_len, self.n_features = T, F
        self.center = _f32(signal_net.center)
        self.inv_scale = (1.0 / _f32(signal_net.scale)).astype(np.float32)
        self.clip = np.float32(signal_net.clip if signal_net.clip is not None else 0.0)
        wih = [_f32(getattr(lstm, f"weight_ih_l{k}")).T.copy() for k in range(L)]
        self.wih0T = wih[0]
        self.wihT = np.stack(wih[1:]) if L > 1 else np.zeros((0, H, 4 * H), np.float32)
        self.whhT = np.stack([_f32(getattr(lstm, f"weight_hh_l{k}")).T.copy() for k in range(L)])
        self.b = np.stack([_f32(getattr(lstm, f"bias_ih_l{k}")) + _f32(getattr(lstm, f"bias_hh_l{k}"))
                           for k in range(L)])
        self.waT = _f32(net.att_proj.weight).T.copy()
        self.ba = _f32(net.att_proj.bias)
        self.va = _f32(net.att_score.weight).reshape(-1)
        self.w1T = _f32(net.fc1.weight).T.copy()
        self.b1 = _f32(net.fc1.bias)
        self.w2T = _f32(net.fc2.weight).T.copy()
        self.b2 = _f32(net.fc2.bias)
        n_cls = self.b2.shape[0]
        self._x = np.empty((T, F), np.float32)
        self._bufs = (
            np.empty((T, F), np.float32),          # z: normalised input
            np.empty((2, T, H), np.float32),       # hs: layer outputs, ping-pong
            np.empty((T, 4 * H), np.float32),      # xp: input projections of a layer
            np.empty(4 * H, np.float32),           # g: gate pre-activations
            np.empty(4 * H, np.float32),           # a: gate activations
            np.empty(H, np.float32),               # c: cell state
            np.empty(H, np.float32),               # u: attention projection
            np.empty(T, np.float32),               # e: attention scores, then weights
            np.empty(2 * H, np.float32),           # zc: [context, last state]
            np.empty(H, np.float32),               # y1: head hidden layer
            np.empty(n_cls, np.float32),           # probs
        )
        self._probs = self._bufs[-1]
        self(np.zeros((T, F), np.float32))  # compile (or load from numba's cache) now, not on the first bar

    def __call__(self, window: np.ndarray) -> np.ndarray:
        x = self._x
        if window.shape != x.shape:
            raise ValueError(f"expected one window of shape {x.shape} (seq_len, n_features), got {window.shape}")
        x[...] = window
        if not _all_finite(x):
            return np.full(self._probs.shape, np.nan, np.float32)
        _forward(x, self.center, self.inv_scale, self.clip, self.wih0T, self.wihT, self.whhT, self.b,
                 self.waT, self.ba, self.va, self.w1T, self.b1, self.w2T, self.b2, *self._bufs)
        return self._probs.copy()
