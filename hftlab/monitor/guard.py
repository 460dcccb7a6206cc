"""The resource guard: memory above `system.max_memory_usage` sheds load step by step, then stops the
process cleanly. Each step is logged and counted (`GuardStats`, `hftlab_resource_guard_*`).

The ladder (`ESCALATION`, the only transitions), one step per check made while resident memory is
above the limit:

    NORMAL ─► SHED_RAW (stop recording raw frames) ─► STOP_INTENTS (no new order intents; open
    orders stay managed) ─► STOPPING (a clean stop: files finished, sockets closed)

A check at or under the limit keeps the level: the guard never steps back down (a process that hit
its limit is restarted, not resumed at full load; what it shed stays shed). The steps are callbacks
the process gives (`on_shed_raw`, `on_stop_intents`, `on_stop`): the collector records raw frames
and has no intents, the live runner has both. A step without a callback is still taken and counted,
so the ladder's timing is the same everywhere.

    guard = ResourceGuard(memory_limit_bytes(settings.system.max_memory_usage), interval_s=1.0,
                          on_shed_raw=collector.shed_raw, on_stop=lambda: collector.request_stop("memory_guard"))
    task = asyncio.create_task(guard.run())        # checks every interval_s; ends after STOPPING
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from hftlab.core.metrics import Stats
from hftlab.monitor.resources import ProcessSample, ProcessSampler

log = logging.getLogger(__name__)


class GuardLevel(StrEnum):
    NORMAL = "normal"
    SHED_RAW = "shed_raw"
    STOP_INTENTS = "stop_intents"
    STOPPING = "stopping"


ESCALATION: dict[GuardLevel, GuardLevel] = {
    GuardLevel.NORMAL: GuardLevel.SHED_RAW,
    GuardLevel.SHED_RAW: GuardLevel.STOP_INTENTS,
    GuardLevel.STOP_INTENTS: GuardLevel.STOPPING,
}


def next_level(level: GuardLevel, rss_bytes: int, limit_bytes: int) -> GuardLevel:
    """Over the limit: one step up the ladder (STOPPING stays); at or under it: the same level."""
    if rss_bytes <= limit_bytes:
        return level
    return ESCALATION.get(level, level)


@dataclass(slots=True)
class GuardStats(Stats):
    checks: int = 0
    level: GuardLevel = GuardLevel.NORMAL
    actions: Counter = field(default_factory=Counter)  # GuardLevel entered -> times
    rss_bytes: int = 0
    limit_bytes: int = 0
    cpu_seconds: float = 0.0


class ResourceGuard:
    def __init__(self, limit_bytes: int, *, interval_s: float = 1.0,
                 on_shed_raw: Callable[[], None] | None = None,
                 on_stop_intents: Callable[[], None] | None = None,
                 on_stop: Callable[[], None] | None = None,
                 sample: Callable[[], ProcessSample] | None = None):
        if limit_bytes <= 0 or interval_s <= 0:
            raise ValueError("the guard needs a positive memory limit and interval")
        self.interval_s = interval_s
        self.stats = GuardStats(limit_bytes=limit_bytes)
        self._actions: dict[GuardLevel, Callable[[], None] | None] = {
            GuardLevel.SHED_RAW: on_shed_raw, GuardLevel.STOP_INTENTS: on_stop_intents, GuardLevel.STOPPING: on_stop,
        }
        self._sample = sample or ProcessSampler()

    @property
    def level(self) -> GuardLevel:
        return self.stats.level

    def check(self) -> GuardLevel:
        """Sample this process, take the next step if it is over the limit, and say where it stands."""
        s = self.stats
        sample = self._sample()
        s.checks += 1
        s.rss_bytes, s.cpu_seconds = sample.rss_bytes, sample.cpu_seconds
        new = next_level(s.level, sample.rss_bytes, s.limit_bytes)
        if new is not s.level:
            s.level = new
            s.actions[new] += 1
            log.log(logging.ERROR if new is GuardLevel.STOPPING else logging.WARNING,
                    "memory guard: resident %.1f MiB over the limit of %.1f MiB (system.max_memory_usage): %s",
                    sample.rss_bytes / 2**20, s.limit_bytes / 2**20, _WHAT[new])
            action = self._actions[new]
            if action is not None:
                try:
                    action()
                except Exception:  # the next step must still come
                    log.exception("memory guard: the %s action failed", new.value)
        return new

    async def run(self) -> None:
        """Check every `interval_s` until cancelled, or until the guard has stopped the process."""
        while self.stats.level is not GuardLevel.STOPPING:
            await asyncio.sleep(self.interval_s)
            self.check()


_WHAT = {
    GuardLevel.SHED_RAW: "shedding load: raw frames are no longer recorded",
    GuardLevel.STOP_INTENTS: "shedding load: no new order intents",
    GuardLevel.STOPPING: "stopping cleanly",
}
