def test_backtest_bench_runs_tiny_and_names_its_size(run_bench):
    out = run_bench("backtest", "--bars", "2000", "--repeat", "1")
    # labels name one million bars only when that is what was run
    assert set(out) == {"engine_first_call_s", "engine_s", "engine_maker_s", "signal_rule_s", "trades_count"}
    assert out["trades_count"] > 0 and out["engine_s"] > 0 and out["engine_maker_s"] > 0
