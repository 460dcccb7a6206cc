"""The components under test in processes of their own: `hftlab collect` and the live runner, each
started, watched, killed with SIGKILL at any point and started again, or stopped with SIGTERM.

A `Child` reads its process's stdout and stderr line by line (into a log file under the soak's
directory and a short tail kept in memory): the line that says it is working (`ready`), the URL of
its /metrics (`metrics on URL`). `scrape` reads that endpoint; the soak keeps each incarnation's last scrape,
since a killed process says nothing more. A clean stop (SIGTERM) returns the JSON summary the
command prints as the last line of its stdout. The processes are killed if the soak itself dies
(`cache.server.die_with_parent`), so none is ever left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

import aiohttp

from hftlab.cache.server import die_with_parent
from hftlab.soak.scrape import Metrics, parse_metrics

log = logging.getLogger(__name__)


def _orphan_dies() -> None:
    """SIGKILL when the soak dies: nobody is left to read what it would say on its way out."""
    die_with_parent(signal.SIGKILL)

_METRICS = re.compile(r"metrics (?:on )?(http://\S+/metrics)")


class Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path,
                 ready: Callable[[str], bool]):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_dir = Path(log_dir)
        self.is_ready = ready
        self.proc: asyncio.subprocess.Process | None = None
        self.incarnation = 0
        self.metrics_url: str | None = None
        self.tail: deque[str] = deque(maxlen=200)
        self.ready = asyncio.Event()
        self.stdout: deque[str] = deque(maxlen=5)  # the last lines of this incarnation's stdout
        self.meant_down = False  # killed or stopped by the soak (any other exit is a crash)
        self._readers: list[asyncio.Task] = []
        self._log_file = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def crashed(self) -> bool:
        """It exited and nobody asked it to."""
        return self.proc is not None and self.proc.returncode is not None and not self.meant_down

    async def start(self) -> None:
        self.incarnation += 1
        self.ready.clear()
        self.metrics_url = None
        self.stdout.clear()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hftlab", *self.argv, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=_orphan_dies)
        self.meant_down = False  # only now: until then `proc` is the last incarnation's, which was meant down
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.log_dir / f"{self.name}.{self.incarnation}.log").open("w")
        loop = asyncio.get_running_loop()
        readers = [loop.create_task(self._read(self.proc.stdout, log_file, self.stdout), name=f"soak-{self.name}-out"),
                   loop.create_task(self._read(self.proc.stderr, log_file, None), name=f"soak-{self.name}-err")]
        self._readers = readers
        self._log_file = log_file

    async def _read(self, stream: asyncio.StreamReader, out, keep: deque | None) -> None:
        """Drain a stream to its end whatever it holds (a child whose pipe fills blocks on its next line):
        chunks, not lines, so that no line is too long to read."""
        partial = b""
        while chunk := await stream.read(1 << 16):
            *lines, partial = (partial + chunk).split(b"\n")
            for raw in lines:
                self._line(raw.decode(errors="replace"), out, keep)
        if partial:
            self._line(partial.decode(errors="replace"), out, keep)

    def _line(self, line: str, out, keep: deque | None) -> None:
        out.write(line + "\n")
        if keep is not None:
            keep.append(line)
        self.tail.append(line[:2000])
        m = _METRICS.search(line)
        if m:
            self.metrics_url = m.group(1)
        if not self.ready.is_set():
            try:
                ready = self.is_ready(line)
            except Exception:  # a predicate's bug must not stop the draining
                log.exception("%s: the readiness check failed on %.200r", self.name, line)
                ready = False
            if ready:
                self.ready.set()

    async def wait_ready(self, timeout_s: float) -> None:
        """Until the process says it is working; RuntimeError (with its last lines) if it exits or
        stays silent past the deadline."""
        waiter = asyncio.ensure_future(self.ready.wait())
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            done, _ = await asyncio.wait({waiter, exited}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            exited.cancel()
        if not self.ready.is_set():
            why = "exited" if self.proc.returncode is not None else f"was not ready within {timeout_s:g} s"
            raise RuntimeError(f"{self.name} {why}:\n" + "\n".join(list(self.tail)[-15:]))

    def kill9(self) -> None:
        self.meant_down = True
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)

    async def reap(self) -> None:
        if self.proc is not None:
            await self.proc.wait()
        if self._readers:
            await asyncio.gather(*self._readers, return_exceptions=True)
            self._readers = []
            self._log_file.close()

    async def stop(self, timeout_s: float = 120.0) -> dict | None:
        """SIGTERM, then its JSON summary (the last line of its stdout; None when it printed none);
        SIGKILL past the deadline."""
        self.meant_down = True
        if not self.alive:
            await self.reap()
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            log.error("%s did not stop within %g s of SIGTERM: killed", self.name, timeout_s)
            self.kill9()
        await self.reap()
        with contextlib.suppress(ValueError, IndexError):
            return json.loads(self.stdout[-1])
        return None

    async def scrape(self) -> Metrics | None:
        """The process's /metrics now (None when it has none yet, or it does not answer)."""
        if self.metrics_url is None or not self.alive:
            return None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
        try:
            async with self._session.get(self.metrics_url) as r:
                return parse_metrics(await r.text())
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    async def close(self) -> None:
        self.kill9()
        await self.reap()
        if self._session is not None:
            await self._session.close()
