"""Monitoring: Prometheus export of the metrics components own, health, and the resource guard.

A long-running process (collect, live, sim) runs one `process.ProcessMonitor` on its event loop: the
/metrics endpoint (`exporter`), the memory guard (`guard`) and, with Redis, the status hash `hftlab
status` reads (`status`). Its components register what they own in `mon.sources` (`sources`), each
record and probe described by `catalogue`. The live runner:

    mon = ProcessMonitor(settings.monitor, "live", cache=cache,
                         memory_limit_bytes=memory_limit_bytes(settings.system.max_memory_usage),
                         on_shed_raw=..., on_stop_intents=runner.stop_intents,
                         on_stop=lambda: runner.request_stop("memory_guard"))
    register_market_data(mon.sources, client, feed, symbols, feed_latency)   # registration.py
    register_cache(mon.sources, cache)
    register_trading(mon.sources, manager, risk, snapshot=..., ccy=..., pipelines=..., model=...)
    mon.sources.record(tick_latency)   # latency.TickLatency: observe_stages(d.stage_ns), risk, tick_to_order
    async with mon: ...

`feed_latency` (latency.FeedLatency) is observed once per event: `feed_latency.observe_event(ev, ts_ms)`.
"""
