def test_backtest_bench_runs_tiny_and_names_its_size(run_bench):
    out = run_bench("backtest", "--bars", "2000", "--repeat", "1")
    # labels name one million bars only when that is what was run
    assert set(out) == {"vectorbt_import_s", "vectorbt_first_call_s", "vectorbt_backtest_s", "signal_rule_s",
                        "trades_count"}
    assert out["trades_count"] > 0 and out["vectorbt_backtest_s"] > 0
