"""`hftlab bench inference`: latency of one signal prediction (one raw feature window -> 3 probabilities).

Same SignalNet (random weights, seeded; sequence 64, 20 features, hidden 64, 2 layers by default),
four ways, interleaved in rounds so that load from other processes hits them alike:

- eager: the naive call, `net(torch.tensor(window)[None])` under `torch.no_grad()`, default threads
- torch_tuned: eager under `torch.inference_mode`, preallocated input, one intra-op thread
  (Predictor backend "torch")
- torchscript: `torch.jit.trace` + `torch.jit.freeze`, same tuning
- optimised: the numba kernel (Predictor backend "fast", the default)

Each call is timed alone (perf_counter_ns); p50/p99 over all calls. The paths are checked to agree
(max |difference| of probabilities < 1e-4) before timing.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from hftlab.bench import progress


def add_arguments(p) -> None:
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--calls", type=int, default=2000, help="timed calls per path")
    p.add_argument("--rounds", type=int, default=8, help="interleaved rounds the calls are split into")


def _percentiles(ns: list[int]) -> tuple[float, float]:
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return round(float(np.percentile(a, 50)), 1), round(float(np.percentile(a, 99)), 1)


def run(args) -> dict:
    import torch

    from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet
    from hftlab.models.predictor import Predictor

    T, F = args.seq_len, args.features
    torch.manual_seed(0)
    net = AttentionLSTM(NetConfig(F, args.hidden, args.layers, 0.1, T))
    rng = np.random.default_rng(0)
    signal = SignalNet(net, rng.normal(0, 1, F), rng.uniform(0.5, 2, F), 5.0).eval()
    windows = rng.normal(0, 1.5, (64, T, F)).astype(np.float32)
    default_threads = torch.get_num_threads()

    def eager(w):
        with torch.no_grad():
            return signal(torch.tensor(w)[None])[0].numpy()

    progress("compiling the numba kernel and tracing TorchScript ...")
    fast = Predictor(signal, backend="fast").predict_proba
    tuned = Predictor(signal, backend="torch").predict_proba  # sets one intra-op thread
    x_buf = torch.zeros((1, T, F))
    x_np = x_buf.numpy()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript deprecation notices
        scripted = torch.jit.freeze(torch.jit.trace(signal, x_buf))

    def torchscript(w):
        x_np[...] = w
        with torch.inference_mode():
            return scripted(x_buf)[0].numpy().copy()

    paths = {"eager": (eager, default_threads), "torch_tuned": (tuned, 1), "torchscript": (torchscript, 1),
             "optimised": (fast, 1)}
    ref = np.stack([eager(w) for w in windows[:8]])
    for name, (fn, threads) in paths.items():
        torch.set_num_threads(threads)
        got = np.stack([fn(w) for w in windows[:8]])
        diff = float(np.abs(got - ref).max())
        if diff > 1e-4:
            raise RuntimeError(f"{name} disagrees with eager PyTorch by {diff:.2e}")
    times: dict[str, list[int]] = {name: [] for name in paths}
    per_round = max(1, args.calls // args.rounds)
    for r in range(args.rounds):
        progress(f"round {r + 1}/{args.rounds}: {per_round} calls per path")
        for name, (fn, threads) in paths.items():
            torch.set_num_threads(threads)
            for i in range(50):  # re-warm caches after the other paths ran
                fn(windows[i % len(windows)])
            out = times[name]
            for i in range(per_round):
                w = windows[i % len(windows)]
                t0 = time.perf_counter_ns()
                fn(w)
                out.append(time.perf_counter_ns() - t0)
    torch.set_num_threads(default_threads)
    res: dict[str, float] = {}
    for name in paths:
        res[f"{name}_p50_us"], res[f"{name}_p99_us"] = _percentiles(times[name])
    res["speedup_p50_x"] = round(res["eager_p50_us"] / res["optimised_p50_us"], 2)
    res["speedup_p99_x"] = round(res["eager_p99_us"] / res["optimised_p99_us"], 2)
    res["eager_threads_count"] = default_threads
    return res
