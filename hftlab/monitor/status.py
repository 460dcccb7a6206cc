"""The status hash: every `interval_s` a running process writes its health to Redis
(`P:monitor:{component}`, fields from `cache.schema.monitor_fields`), so `hftlab status` can show it
from Redis alone: pid, uptime, the /metrics URL, memory against its limit, the guard's level, and a
summary (count, mean, p50, p99) of every latency histogram the process exports.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping

from hftlab.cache import schema
from hftlab.core.metrics import Histogram
from hftlab.monitor.guard import GuardStats
from hftlab.monitor.sources import Sources


def series_name(metric: str, labels: Mapping[str, str]) -> str:
    """`hftlab_md_exchange_to_receive_seconds` + {channel: books} -> `md_exchange_to_receive{channel=books}`."""
    base = metric.removeprefix("hftlab_").removesuffix("_seconds")
    if not labels:
        return base
    return base + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def summary(h: Histogram) -> dict[str, float]:
    return {"n": h.count, "mean_ms": round(h.sum / h.count * 1e3, 3), "p50_ms": h.quantile(0.5) * 1e3,
            "p99_ms": h.quantile(0.99) * 1e3}


def latency_summaries(sources: Sources) -> dict[str, dict[str, float]]:
    """Every histogram series with observations, by `series_name`."""
    return {series_name(name, labels): summary(h) for name, labels, h in sources.histograms() if h.count}


class StatusPublisher:
    def __init__(self, cache, component: str, sources: Sources, guard: GuardStats, *, metrics_url: str = "",
                 interval_s: float = 5.0):
        """`cache`: a started `hftlab.cache.manager.RedisCacheManager`."""
        self.cache = cache
        self.component = component
        self.sources = sources
        self.guard = guard
        self.metrics_url = metrics_url
        self.interval_s = interval_s
        self.started_ms = int(time.time() * 1000)

    def publish(self) -> None:
        g = self.guard
        self.cache.set_monitor(self.component, schema.monitor_fields(
            self.component, os.getpid(), self.started_ms, int(time.time() * 1000), self.metrics_url, g.rss_bytes,
            g.limit_bytes, g.level.value, latency_summaries(self.sources)))

    async def run(self) -> None:
        """Publish now and every `interval_s` until cancelled."""
        while True:
            self.publish()
            await asyncio.sleep(self.interval_s)
