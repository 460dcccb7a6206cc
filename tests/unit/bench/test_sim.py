def test_sim_bench_runs_the_simulator_as_a_process_and_samples_its_cpu(run_bench):
    out = run_bench("sim", "--clients", "1", "--seconds", "1", "--warmup", "0.5")
    assert set(out) == {"sim_cpu_pct", "frames_received_per_s", "clients_count"}
    assert out["clients_count"] == 1 and out["frames_received_per_s"] > 0 and out["sim_cpu_pct"] > 0
