from hftlab.bench.cache import WRITERS


def test_cache_bench_measures_every_writer_at_both_loads_and_counts_overflow_drops(run_bench):
    out = run_bench("cache", "--rate", "1000", "--seconds", "0.05", "--burst", "200", "--overflow", "7")
    expected = {f"rate_{w}_{q}" for w in WRITERS for q in ("p50_us", "p99_us", "p999_us", "events_per_s")}
    expected |= {f"burst_{w}_events_per_s" for w in WRITERS}
    expected |= {f"{load}_manager_vs_{w}_{u}" for w in WRITERS[1:] for load, u in (("rate", "p99_x"), ("burst", "x"))}
    expected |= {"backlog_max_count", "batch_max_count", "overflow_events_count", "overflow_dropped_count",
                 "overflow_written_count"}
    assert set(out) == expected
    # production settings, and a burst past the backlog keeps the newest backlog_max, reporting the rest
    assert (out["backlog_max_count"], out["batch_max_count"]) == (100_000, 1_000)
    assert out["overflow_events_count"] == 100_007 and out["overflow_dropped_count"] == 7
    assert out["overflow_written_count"] == 100_000
