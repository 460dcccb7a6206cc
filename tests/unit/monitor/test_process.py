import asyncio
import urllib.request

from hftlab.monitor.config import MonitorConfig
from hftlab.monitor.guard import GuardLevel
from hftlab.monitor.process import ProcessMonitor
from hftlab.monitor.resources import ProcessSample


class FakeCache:
    def __init__(self):
        self.written = asyncio.Event()
        self.fields: dict = {}

    def set_monitor(self, component, fields):
        self.fields = fields
        self.written.set()


async def test_a_process_monitor_serves_guards_and_publishes_then_closes():
    cache, stopped = FakeCache(), asyncio.Event()
    mon = ProcessMonitor(MonitorConfig(prometheus_port=0, guard_interval_s=0.01, interval_s=0.01), "live",
                         memory_limit_bytes=100, cache=cache, on_stop=stopped.set,
                         sample=lambda: ProcessSample(50, 0.5))
    async with mon:
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(mon.url, timeout=5).read().decode())
        await asyncio.wait_for(cache.written.wait(), 5)
    assert 'hftlab_build_info{version="' in body and "hftlab_process_resident_memory_bytes 50.0" in body
    assert cache.fields["metricsUrl"] == mon.url and cache.fields["component"] == "live"
    assert mon.guard.level is GuardLevel.NORMAL and mon.guard.stats.checks >= 1 and not stopped.is_set()


async def test_the_guard_task_stops_the_process_over_its_limit():
    stopped = asyncio.Event()
    mon = ProcessMonitor(MonitorConfig(export=False, guard_interval_s=0.01), "sim", memory_limit_bytes=100,
                         on_stop=stopped.set, sample=lambda: ProcessSample(150, 0.5))
    async with mon:
        assert mon.url == ""
        await asyncio.wait_for(stopped.wait(), 5)
    assert mon.guard.level is GuardLevel.STOPPING


async def test_a_failing_sampler_is_logged_and_the_process_carries_on(caplog):
    calls = []

    def sample():
        calls.append(1)
        if len(calls) > 1:
            raise OSError("psutil went away")
        return ProcessSample(50, 0.5)

    mon = ProcessMonitor(MonitorConfig(export=False, guard_interval_s=0.01), "collect", memory_limit_bytes=100,
                         sample=sample)
    async def logged():
        while "monitoring task collect-resource-guard failed" not in caplog.text:
            await asyncio.sleep(0.01)

    async with mon:
        await asyncio.wait_for(logged(), 10)
    assert "psutil went away" in caplog.text
