def test_indicators_bench_runs_tiny_and_reports_every_comparison(run_bench):
    out = run_bench("indicators", "--n", "2000", "--ticks", "200", "--seconds", "600", "--repeat", "1")
    assert set(out) == {"hftlab_batch_s", "talib_batch_s", "python_lib_batch_s", "batch_vs_talib_x",
                        "streaming_tick_us", "panel_s", "panel_kernel_s", "panel_one_thread_s",
                        "panel_process_pool_s", "panel_bars_count", "numba_compile_s", "numba_first_call_s"}
    # 3 symbols x (600 one-second + 200 three-second + 10 one-minute bars)
    assert out["panel_bars_count"] == 3 * (600 + 200 + 10)
    assert out["numba_compile_s"] > 0 and out["streaming_tick_us"] > 0
