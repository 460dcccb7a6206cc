"""Supervised asyncio tasks: no long-lived task ends without someone hearing of it.

An asyncio task that raises just stops; unless somebody awaits it, the error surfaces (if at all)
as "Task exception was never retrieved" when the task is garbage-collected, long after the reader
kept queueing and the progress lines kept looking healthy. Every long-lived task of hftlab is
therefore started through a `Supervisor`, whose done-callback decides, per task, what a failure
means (`OnFailure`):

- `LOG`: a one-off piece of work (a resubscribe, a REST seed): logged and counted; the owner
  carries on without it.
- `RESTART`: a loop the owner cannot do without (a consumer, a flush loop, a socket supervisor, a
  writer): logged, counted and started again from its factory after a capped, jittered backoff
  (`core.backoff`), reset once a run has lasted `stable_s`.
- `STOP`: the owner cannot go on without it (a socket reader, the live runner's market task):
  logged, counted and `on_stop(reason)` is called (even while closing), so that the owner stops
  cleanly (closes a socket, ends a run, finishes its files) instead of running blind.

Failures are counted into `failures` (a `Counter` by task kind, owned by the component's stats
record, so monitoring exports it), and logged with the traceback. A task cancelled, or one that
returns, is not a failure; after `close()` (or `cancel()`) nothing restarts.

    tasks = Supervisor("collector", self.stats.task_failures, on_stop=self.request_stop)
    tasks.spawn(self._consume, "consumer", OnFailure.RESTART)   # a factory: it can be started again
    tasks.spawn(self._report(), "progress")                     # a coroutine: LOG
    ...
    await tasks.close()                                         # cancel and wait for every task
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hftlab.core.backoff import Backoff

log = logging.getLogger(__name__)

Work = Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]]


class OnFailure(StrEnum):
    LOG = "log"
    RESTART = "restart"
    STOP = "stop"


@dataclass(slots=True)
class _Entry:
    kind: str
    on_failure: OnFailure
    factory: Callable[[], Coroutine[Any, Any, Any]] | None
    name: str
    backoff: Backoff
    started: float  # monotonic time the current incarnation started


async def _after(delay_s: float, factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    await asyncio.sleep(delay_s)
    return await factory()


class Supervisor:
    def __init__(self, owner: str, failures: Counter | None = None, *, on_stop: Callable[[str], None] | None = None,
                 backoff_initial_s: float = 0.05, backoff_max_s: float = 5.0, stable_s: float = 10.0):
        self.owner = owner
        self.failures = failures if failures is not None else Counter()
        self.on_stop = on_stop
        self._backoff = (backoff_initial_s, backoff_max_s)
        self.stable_s = stable_s
        self._tasks: dict[asyncio.Task, _Entry] = {}
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self):
        """The tasks running now (a snapshot)."""
        return iter(list(self._tasks))

    def spawn(self, work: Work, kind: str, on_failure: OnFailure = OnFailure.LOG, *,
              name: str | None = None) -> asyncio.Task:
        """Start `work` (a coroutine, or for RESTART a factory of them) as a task named `name`
        (default `<owner>-<kind>`); `kind` is the bounded label its failures are counted under."""
        if on_failure is OnFailure.RESTART and not callable(work):
            raise TypeError(f"{kind}: a task that restarts needs a factory (a callable returning a coroutine)")
        factory = work if callable(work) else None
        coro = factory() if factory is not None else work
        return self._start(coro, _Entry(kind, on_failure, factory, name or f"{self.owner}-{kind}",
                                        Backoff(*self._backoff), time.monotonic()))

    def current(self, kind: str) -> asyncio.Task | None:
        """The running task of `kind` (for a RESTART task: its latest incarnation), if any."""
        return next((t for t, e in self._tasks.items() if e.kind == kind), None)

    def _start(self, coro: Coroutine, entry: _Entry) -> asyncio.Task:
        if self._closed:
            coro.close()
            raise RuntimeError(f"{self.owner}: supervisor closed, {entry.kind} not started")
        task = asyncio.get_running_loop().create_task(coro, name=entry.name)
        self._tasks[task] = entry
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        entry = self._tasks.pop(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self.failures[entry.kind] += 1
        log.error("%s task %s failed (%s): %r", self.owner, entry.name, entry.on_failure.value, exc, exc_info=exc)
        if entry.on_failure is OnFailure.RESTART and not self._closed:
            if time.monotonic() - entry.started >= self.stable_s:
                entry.backoff.reset()
            delay = entry.backoff.next_delay()
            log.warning("%s: restarting %s in %.2f s", self.owner, entry.name, delay)
            entry.started = time.monotonic() + delay
            self._start(_after(delay, entry.factory), entry)
        elif entry.on_failure is OnFailure.STOP and self.on_stop is not None:
            self.on_stop(f"{entry.kind} failed: {type(exc).__name__}: {exc}")

    def cancel(self) -> list[asyncio.Task]:
        """Stop restarting and cancel every task; returns them (await them, or call `close`)."""
        self._closed = True
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        return tasks

    async def close(self) -> None:
        """Cancel every task and wait until each has ended."""
        await asyncio.gather(*self.cancel(), return_exceptions=True)
