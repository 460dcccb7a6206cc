PATHS = ("eager", "torch_tuned", "torchscript", "onnxruntime")


def test_inference_bench_times_every_runtime_at_one_and_n_threads(run_bench, one_torch_thread):
    out = run_bench("inference", "--seq-len", "8", "--features", "4", "--hidden", "8", "--layers", "2",
                    "--threads", "2", "--calls", "16", "--rounds", "2")
    timed = {f"{p}_{t}" for p in PATHS for t in ("1t", "nt")} | {"numba_1t"}
    expected = {f"{p}_{q}_us" for p in timed for q in ("p50", "p99", "p999")}
    expected |= {f"best_peer_{q}_us" for q in ("p50", "p99")} | {f"served_vs_best_peer_{q}_x" for q in ("p50", "p99")}
    expected |= {f"served_vs_{p}_p99_x" for p in PATHS} | {"threads_count", "calls_count"}
    assert set(out) == expected
    assert out["threads_count"] == 2 and out["calls_count"] == 16 and all(v > 0 for v in out.values())
    # the best peer is the fastest of the peers
    assert out["best_peer_p99_us"] == min(out[f"{p}_p99_us"] for p in timed - {"numba_1t"})


def test_the_default_shape_is_the_champions():
    import argparse

    from hftlab.bench import inference
    from hftlab.features.spec import FeatureSpec
    from hftlab.features.streaming import StreamingFeatures

    p = argparse.ArgumentParser()
    inference.add_arguments(p)
    a = p.parse_args([])
    assert (a.seq_len, a.hidden, a.layers, a.features) == (64, 64, 2, len(StreamingFeatures(FeatureSpec()).names))
