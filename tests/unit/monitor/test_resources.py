import os

import psutil
import pytest

from hftlab.monitor.resources import ProcessSampler, memory_limit_bytes


def test_the_sampler_reads_this_process():
    s = ProcessSampler()()
    assert s.rss_bytes == pytest.approx(psutil.Process(os.getpid()).memory_info().rss, rel=0.5)
    assert s.cpu_seconds > 0


def test_the_limit_is_a_share_of_the_machines_memory():
    total = psutil.virtual_memory().total
    assert memory_limit_bytes(100) == total and memory_limit_bytes(50) == total // 2
    for bad in (0, -1, 100.5):
        with pytest.raises(ValueError):
            memory_limit_bytes(bad)
