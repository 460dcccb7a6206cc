"""ProcessMonitor: everything one process's monitoring runs, on its event loop: the `Sources` its
components register, the /metrics endpoint, the resource guard and the status hash in Redis.

    limit = memory_limit_bytes(settings.system.max_memory_usage)
    mon = ProcessMonitor(settings.monitor, "live", memory_limit_bytes=limit, cache=cache,
                         on_stop_intents=runner.stop_intents, on_stop=lambda: runner.request_stop("memory_guard"))
    mon.sources.record(manager.stats)                 # each component's records and probes (catalogued)
    mon.sources.probe("trading_state", lambda: risk.state)
    async with mon:                                   # serves /metrics, runs the guard and the publisher
        print(mon.url)

The process's own numbers are registered here: the guard (memory, CPU, level), the event loop's
lag, the exporter's scrapes, and `hftlab_build_info{version}`.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable

from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.monitor.config import MonitorConfig
from hftlab.monitor.exporter import MetricsExporter
from hftlab.monitor.guard import ResourceGuard
from hftlab.monitor.looplag import LoopLag
from hftlab.monitor.resources import ProcessSample
from hftlab.monitor.sources import Sources
from hftlab.monitor.status import StatusPublisher

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return importlib.metadata.version("hftlab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class ProcessMonitor:
    def __init__(self, config: MonitorConfig, component: str, *, memory_limit_bytes: int, cache=None,
                 on_shed_raw: Callable[[], None] | None = None,
                 on_stop_intents: Callable[[], None] | None = None,
                 on_stop: Callable[[], None] | None = None,
                 sample: Callable[[], ProcessSample] | None = None):
        """`component`: collect, live or sim (it picks the port, `MonitorConfig.port_for`); `cache`: a
        started RedisCacheManager to publish the status hash to (None: not published)."""
        self.config = config
        self.component = component
        self.sources = Sources()
        self.guard = ResourceGuard(memory_limit_bytes, interval_s=config.guard_interval_s, on_shed_raw=on_shed_raw,
                                   on_stop_intents=on_stop_intents, on_stop=on_stop, sample=sample)
        self.sources.record(self.guard.stats)
        self.loop_lag = LoopLag(config.loop_lag_interval_s)
        self.sources.record(self.loop_lag.stats)
        build = {"version": _version()}
        self.sources.probe("build", lambda: build)
        self.exporter = (MetricsExporter(self.sources, host=config.prometheus_host, port=config.port_for(component))
                         if config.export else None)
        self._cache = cache
        # monitoring must not take the process down: a failed task is logged and counted, nothing more
        self._tasks: Supervisor | None = None

    @property
    def url(self) -> str:
        """The /metrics URL ('' when not exported)."""
        return self.exporter.url if self.exporter is not None else ""

    async def start(self) -> ProcessMonitor:
        if self._tasks is not None:
            return self
        self._tasks = Supervisor("monitoring")
        if self.exporter is not None:
            await self.exporter.start()
        self.guard.check()  # the first sample: memory and CPU are known from the first scrape on
        self._spawn(self.guard.run(), "resource-guard")
        self._spawn(self.loop_lag.run(), "loop-lag")
        if self._cache is not None:
            publisher = StatusPublisher(self._cache, self.component, self.sources, self.guard.stats,
                                        metrics_url=self.url, interval_s=self.config.interval_s)
            self._spawn(publisher.run(), "status")
        return self

    def _spawn(self, coro, name: str) -> None:
        self._tasks.spawn(coro, name, OnFailure.LOG, name=f"{self.component}-{name}")

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, None
        if tasks is not None:
            await tasks.close()
        if self.exporter is not None:
            await self.exporter.close()

    async def __aenter__(self) -> ProcessMonitor:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()
