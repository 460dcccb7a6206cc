"""This process's resources (psutil): resident memory and CPU time, and the memory limit they are
held to (`system.max_memory_usage`, a percentage of the machine's memory)."""

from __future__ import annotations

from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class ProcessSample:
    rss_bytes: int
    cpu_seconds: float  # user + system, since the process started


class ProcessSampler:
    """One psutil handle on this process (sampling costs tens of microseconds)."""

    def __init__(self, pid: int | None = None):
        self._proc = psutil.Process(pid)

    def __call__(self) -> ProcessSample:
        with self._proc.oneshot():
            rss = self._proc.memory_info().rss
            cpu = self._proc.cpu_times()
        return ProcessSample(rss, cpu.user + cpu.system)


def memory_limit_bytes(max_memory_usage_pct: float) -> int:
    """`system.max_memory_usage` (percent of the machine's memory) in bytes."""
    if not 0 < max_memory_usage_pct <= 100:
        raise ValueError(f"max_memory_usage must be in (0, 100] percent, got {max_memory_usage_pct}")
    return int(psutil.virtual_memory().total * max_memory_usage_pct / 100)
