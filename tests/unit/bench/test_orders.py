import argparse

from hftlab.bench import orders


def test_orders_bench_runs_tiny_and_reports_every_label():
    p = argparse.ArgumentParser()
    orders.add_arguments(p)
    out = orders.run(p.parse_args(["--orders", "3", "--manager-orders", "3", "--rate", "30"]))
    latencies = {f"{op}_ack_{t}_{q}_us" for op in ("place", "cancel") for t in ("ws", "rest") for q in ("p50", "p99")}
    manager = {"manager_intent_to_frame_p50_us", "manager_intent_to_frame_p99_us", "manager_overhead_mean_us"}
    assert set(out) == latencies | manager | {"orders_count", "manager_orders_count"}
    assert (out["orders_count"], out["manager_orders_count"]) == (3, 3)
    assert all(isinstance(v, (int, float)) and v > 0 for v in out.values())
