"""The resource guard: one step up the ladder per check over the limit, never down; each step's callback
once, logged and counted."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.monitor.guard import ESCALATION, GuardLevel, ResourceGuard, next_level
from hftlab.monitor.resources import ProcessSample

LADDER = [GuardLevel.NORMAL, GuardLevel.SHED_RAW, GuardLevel.STOP_INTENTS, GuardLevel.STOPPING]


class Memory:
    """A sampler whose resident memory the test sets."""

    def __init__(self, rss: int = 100):
        self.rss = rss

    def __call__(self) -> ProcessSample:
        return ProcessSample(self.rss, 1.5)


def test_the_ladder_is_the_only_way_up_and_stopping_is_final():
    assert list(ESCALATION.items()) == list(zip(LADDER, LADDER[1:]))
    for level in LADDER:
        assert next_level(level, 100, 100) is level, "at the limit: stay"
        assert next_level(level, 101, 100) is (ESCALATION.get(level, level))


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_levels_never_go_down_and_rise_one_step_per_check_over_the_limit(rss_series):
    level, over = GuardLevel.NORMAL, 0
    for rss in rss_series:
        new = next_level(level, rss, 100)
        assert LADDER.index(new) in (LADDER.index(level), LADDER.index(level) + 1)
        over += rss > 100
        level = new
    assert LADDER.index(level) == min(over, 3)


def test_each_step_calls_its_action_once_in_order_and_is_counted(caplog):
    caplog.set_level(logging.WARNING)
    calls, mem = [], Memory(50)
    guard = ResourceGuard(100, on_shed_raw=lambda: calls.append("raw"), on_stop_intents=lambda: calls.append("intents"),
                          on_stop=lambda: calls.append("stop"), sample=mem)
    assert guard.check() is GuardLevel.NORMAL and calls == []
    mem.rss = 150
    assert [guard.check() for _ in range(5)] == LADDER[1:] + [GuardLevel.STOPPING] * 2
    assert calls == ["raw", "intents", "stop"]
    s = guard.stats
    assert (s.checks, s.rss_bytes, s.limit_bytes, s.cpu_seconds) == (6, 150, 100, 1.5)
    assert dict(s.actions) == {GuardLevel.SHED_RAW: 1, GuardLevel.STOP_INTENTS: 1, GuardLevel.STOPPING: 1}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3 and all("over the limit" in m for m in messages)
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING, logging.ERROR]


def test_memory_back_under_the_limit_keeps_what_was_shed():
    mem = Memory(150)
    guard = ResourceGuard(100, sample=mem)
    assert guard.check() is GuardLevel.SHED_RAW
    mem.rss = 10
    assert guard.check() is GuardLevel.SHED_RAW and guard.level is GuardLevel.SHED_RAW


def test_a_failing_action_is_logged_and_the_next_step_still_comes(caplog):
    def boom():
        raise RuntimeError("no recorder")

    stopped = []
    guard = ResourceGuard(1, on_shed_raw=boom, on_stop=lambda: stopped.append(True), sample=Memory(10))
    assert [guard.check() for _ in range(3)] == LADDER[1:]
    assert stopped == [True] and "the shed_raw action failed" in caplog.text


async def test_run_checks_on_its_interval_and_ends_once_stopping():
    stopped = asyncio.Event()
    guard = ResourceGuard(1, interval_s=0.001, on_stop=stopped.set, sample=Memory(10))
    await asyncio.wait_for(guard.run(), 10)
    assert stopped.is_set() and guard.stats.checks == 3


def test_a_limit_and_an_interval_must_be_positive():
    with pytest.raises(ValueError):
        ResourceGuard(0)
    with pytest.raises(ValueError):
        ResourceGuard(1, interval_s=0)
