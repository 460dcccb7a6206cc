"""The supervision primitive: a failed task is logged, counted and restarted or stops its owner."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest

from hftlab.core.tasks import OnFailure, Supervisor


async def _until(pred, what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.001)


async def test_a_failed_task_is_logged_and_counted_by_kind(caplog):
    failures = Counter()
    tasks = Supervisor("owner", failures)

    async def boom():
        raise ValueError("bad px")

    with caplog.at_level(logging.ERROR, "hftlab.core.tasks"):
        task = tasks.spawn(boom(), "consumer")
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert failures == {"consumer": 1}
    assert "owner task owner-consumer failed (log)" in caplog.text and "bad px" in caplog.text
    assert len(tasks) == 0
    await tasks.close()


async def test_a_restarting_task_comes_back_until_closed():
    failures = Counter()
    tasks = Supervisor("owner", failures, backoff_initial_s=0.001, backoff_max_s=0.001)
    runs = []
    release = asyncio.Event()

    async def loop():
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("crash")
        await release.wait()

    tasks.spawn(loop, "flush", OnFailure.RESTART)
    await _until(lambda: len(runs) == 3, "the third run")
    assert failures == {"flush": 2} and tasks.current("flush") is not None
    await tasks.close()
    assert tasks.current("flush") is None and len(runs) == 3


async def test_a_stopping_task_asks_its_owner_to_stop():
    reasons = []
    tasks = Supervisor("owner", on_stop=reasons.append)

    async def reader():
        raise OSError("socket gone")

    await asyncio.gather(tasks.spawn(reader(), "reader", OnFailure.STOP), return_exceptions=True)
    await asyncio.sleep(0)
    assert reasons == ["reader failed: OSError: socket gone"]
    await tasks.close()


async def test_cancelled_and_finished_tasks_are_not_failures():
    failures = Counter()
    tasks = Supervisor("owner", failures)

    async def done():
        return 1

    async def forever():
        await asyncio.Event().wait()

    t1 = tasks.spawn(done(), "one-off")
    t2 = tasks.spawn(forever(), "loop")
    await t1
    t2.cancel()
    await asyncio.gather(t2, return_exceptions=True)
    assert failures == Counter() and len(tasks) == 0
    await tasks.close()


async def test_nothing_restarts_or_starts_after_close():
    tasks = Supervisor("owner", backoff_initial_s=0.001, backoff_max_s=0.001)

    async def crash():
        raise RuntimeError("x")

    tasks.spawn(crash, "loop", OnFailure.RESTART)
    await tasks.close()
    assert len(tasks) == 0
    with pytest.raises(RuntimeError, match="closed"):
        tasks.spawn(crash(), "late")


def test_a_restarting_task_needs_a_factory():
    async def work():
        pass

    coro = work()
    with pytest.raises(TypeError, match="factory"):
        Supervisor("owner").spawn(coro, "loop", OnFailure.RESTART)
    coro.close()
