"""`hftlab bench inference`: latency of one signal prediction (one raw feature window -> 3 probabilities).

The champion's shape by default: the default `ModelConfig` network (hidden 64, 2 layers, seq_len 64)
over the default `FeatureSpec`'s features, as a `SignalNet` (random weights, seeded). Every way a user
could run it, each at one thread and at N threads (`--threads`, default: every core), interleaved in
rounds, and within a round call by call (every path of one thread count in turn, the order rotating),
so that load from other processes hits them alike:

- `eager`: the naive call, `net(torch.tensor(window)[None])` under `torch.no_grad()`;
- `torch_tuned`: eager under `torch.inference_mode` on a preallocated input (Predictor backend "torch");
- `torchscript`: `torch.jit.trace` + `torch.jit.freeze`, same tuning;
- `onnxruntime`: the network exported to ONNX (`torch.onnx.export`), run by ONNX Runtime's CPU
  provider with every graph optimisation, input and output bound once to preallocated arrays;
- `numba`: the numba kernel (hftlab.models.fastpath, Predictor backend "fast"), the served path.
  It is one sequential kernel with no parallel region, so it has no N-thread variant.

Labels: `<path>_<1t|nt>_p50_us`, `_p99_us`, `_p999_us` (each call timed alone with perf_counter_ns).
Between the one-thread and the N-thread paths the bench pauses `SETTLE_S`: the thread pools of torch
and ONNX Runtime spin a while after a call, and on a machine of few cores a spinning pool would steal
the next path's core.
The speed-up of the served path is quoted against the best peer at either thread count:
`served_vs_best_peer_p50_x` and `_p99_x` (peer time / served time: above 1, the served path is faster),
and `served_vs_<peer>_p99_x` for each. The paths are checked to agree (max |difference| of
probabilities < 1e-4) before timing.
"""

from __future__ import annotations

import io
import os
import time
import warnings

import numpy as np

from hftlab.bench import progress

PEERS = ("eager", "torch_tuned", "torchscript", "onnxruntime")
SETTLE_S = 0.05
SERVED = "numba"


def add_arguments(p) -> None:
    from hftlab.features.spec import FeatureSpec
    from hftlab.features.streaming import StreamingFeatures
    from hftlab.models.config import ModelConfig

    m = ModelConfig()
    p.add_argument("--seq-len", type=int, default=m.seq_len)
    p.add_argument("--features", type=int, default=len(StreamingFeatures(FeatureSpec()).names))
    p.add_argument("--hidden", type=int, default=m.hidden_size)
    p.add_argument("--layers", type=int, default=m.num_layers)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="N of the N-thread variants")
    p.add_argument("--calls", type=int, default=4000, help="timed calls per path")
    p.add_argument("--rounds", type=int, default=20, help="interleaved rounds the calls are split into")


def _quantiles(ns: list[int]) -> tuple[float, float, float]:
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return tuple(round(float(np.percentile(a, q)), 1) for q in (50, 99, 99.9))


def _onnx_session(signal, x_buf, threads: int):
    """The SignalNet exported to ONNX, an ORT session on `threads` threads, and a call that runs it
    on preallocated input and output arrays (I/O bound once)."""
    import onnxruntime as ort
    import torch

    blob = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notices
        torch.onnx.export(signal, (x_buf,), blob, dynamo=False, input_names=["x"], output_names=["proba"],
                          opset_version=17)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(blob.getvalue(), so, providers=["CPUExecutionProvider"])
    x = np.zeros(tuple(x_buf.shape), np.float32)
    y = np.zeros((1, 3), np.float32)
    binding = sess.io_binding()
    binding.bind_cpu_input("x", x)
    binding.bind_output("proba", "cpu", 0, np.float32, list(y.shape), y.ctypes.data)

    def run(w):
        x[0] = w
        sess.run_with_iobinding(binding)
        return y[0].copy()

    return run


def run(args) -> dict:
    import torch

    from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet
    from hftlab.models.predictor import Predictor

    T, F, N = args.seq_len, args.features, max(1, args.threads)
    torch.manual_seed(0)
    net = AttentionLSTM(NetConfig(F, args.hidden, args.layers, 0.1, T))
    rng = np.random.default_rng(0)
    signal = SignalNet(net, rng.normal(0, 1, F), rng.uniform(0.5, 2, F), 5.0).eval()
    windows = rng.normal(0, 1.5, (64, T, F)).astype(np.float32)
    default_threads = torch.get_num_threads()

    def eager(w):
        with torch.no_grad():
            return signal(torch.tensor(w)[None])[0].numpy()

    progress(f"SignalNet seq_len {T}, {F} features, hidden {args.hidden}, {args.layers} layers; "
             f"1 and {N} threads; compiling the numba kernel, tracing TorchScript, exporting ONNX ...")
    fast = Predictor(signal, backend="fast").predict_proba
    tuned = Predictor(signal, backend="torch").predict_proba  # (sets one intra-op thread; reset per path)
    x_buf = torch.zeros((1, T, F))
    x_np = x_buf.numpy()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript deprecation notices
        scripted = torch.jit.freeze(torch.jit.trace(signal, x_buf))

    def torchscript(w):
        x_np[...] = w
        with torch.inference_mode():
            return scripted(x_buf)[0].numpy().copy()

    # name -> (call, torch threads while it runs)
    paths: dict[str, tuple] = {}
    for tag, n in (("1t", 1), ("nt", N)):
        paths[f"eager_{tag}"] = (eager, n)
        paths[f"torch_tuned_{tag}"] = (tuned, n)
        paths[f"torchscript_{tag}"] = (torchscript, n)
        paths[f"onnxruntime_{tag}"] = (_onnx_session(signal, x_buf, n), n)
    paths[f"{SERVED}_1t"] = (fast, 1)
    ref = np.stack([eager(w) for w in windows[:8]])
    for name, (fn, threads) in paths.items():
        torch.set_num_threads(threads)
        got = np.stack([fn(w) for w in windows[:8]])
        diff = float(np.abs(got - ref).max())
        if diff > 1e-4:
            raise RuntimeError(f"{name} disagrees with eager PyTorch by {diff:.2e}")
    times: dict[str, list[int]] = {name: [] for name in paths}
    per_round = max(1, args.calls // args.rounds)
    groups = [[n for n, (_fn, th) in paths.items() if th == 1], [n for n, (_fn, th) in paths.items() if th != 1]]
    for r in range(args.rounds):
        progress(f"round {r + 1}/{args.rounds}: {per_round} calls per path")
        for threads, group in zip((1, N), groups):
            if not group:
                continue
            torch.set_num_threads(threads)
            time.sleep(SETTLE_S)  # the other group's idle worker threads stop spinning before this one runs
            for i in range(min(50, per_round)):  # re-warm caches after the other group ran
                for name in group:
                    paths[name][0](windows[i % len(windows)])
            for i in range(per_round):  # call by call, the order rotating: every path meets the same load
                w = windows[i % len(windows)]
                k = i % len(group)
                for name in group[k:] + group[:k]:
                    fn = paths[name][0]
                    t0 = time.perf_counter_ns()
                    fn(w)
                    times[name].append(time.perf_counter_ns() - t0)
    torch.set_num_threads(default_threads)
    res: dict[str, float] = {}
    for name in paths:
        res[f"{name}_p50_us"], res[f"{name}_p99_us"], res[f"{name}_p999_us"] = _quantiles(times[name])
    served = f"{SERVED}_1t"
    peers = [n for n in paths if n != served]
    for q in ("p50", "p99"):
        best = min(peers, key=lambda n: res[f"{n}_{q}_us"])
        res[f"best_peer_{q}_us"] = res[f"{best}_{q}_us"]
        res[f"served_vs_best_peer_{q}_x"] = round(res[f"{best}_{q}_us"] / res[f"{served}_{q}_us"], 2)
        progress(f"best peer at {q}: {best} ({res[f'{best}_{q}_us']} us) vs served {res[f'{served}_{q}_us']} us")
    for peer in PEERS:
        best = min((f"{peer}_1t", f"{peer}_nt"), key=lambda n: res[f"{n}_p99_us"])
        res[f"served_vs_{peer}_p99_x"] = round(res[f"{best}_p99_us"] / res[f"{served}_p99_us"], 2)
    res["threads_count"] = N
    res["calls_count"] = per_round * args.rounds
    return res
