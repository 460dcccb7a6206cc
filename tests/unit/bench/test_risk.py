import argparse

from hftlab.bench import risk


def test_risk_bench_runs_tiny_and_reports_both_paths():
    p = argparse.ArgumentParser()
    risk.add_arguments(p)
    out = risk.run(p.parse_args(["--checks", "200"]))
    assert set(out) == {f"{path}_check_{s}_us" for path in ("approve", "deny") for s in ("p50", "p99", "mean")} | {
        "checks_count"}
    assert out["checks_count"] == 200 and all(v > 0 for v in out.values())
