"""Connections and fan-out: each WebSocket session has one ordered send queue drained by its own
writer task, and the hub maps (channel, instId) to the sessions subscribed to it.

A publication is serialised once (bytes) and the same object is queued to every subscriber; a slow
client only grows its own queue (closed with 4005 past `max_queue`, as OKX closes on a full buffer)
and never blocks the others. Market-data frames can be held back by a fixed latency.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from hftlab.core.metrics import Stats
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.sim import codes

log = logging.getLogger("hftlab.sim.ws")


@dataclass(slots=True)
class SimStats(Stats):
    connections_total: int = 0
    connections_open: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    publications: int = 0
    rest_requests: int = 0
    ws_requests: int = 0
    steps: int = 0
    lag_ms: float = 0.0  # how far the feed loop trails market time
    slowdowns: int = 0  # times market time was slowed because the simulation could not keep up
    by_role: dict[str, int] = field(default_factory=lambda: {r: 0 for r in codes.ROLES})
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks)


class Session:
    """One WebSocket connection: identity, login and subscription state, and its send queue."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, role: str, stats: SimStats,
                 spawn: Callable[[Coroutine], None], md_latency_s: float = 0.0, max_queue: int = 50_000):
        self.ws = ws
        self._spawn = spawn  # runs background work the server tracks (and ends on shutdown)
        self.request = request
        self.role = role
        self.conn_id = os.urandom(4).hex()
        self.account: str | None = None
        self.md_keys: set[tuple[str, str]] = set()
        self.private_args: list[dict] = []
        self.opened = time.monotonic()
        self.last_sent = self.opened
        self.active = False  # has subscribed or logged in (the 30 s rule)
        self.closing = False
        self._stats = stats
        self._md_latency_s = md_latency_s
        self._max_queue = max_queue
        self._queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self._wake = asyncio.Event()
        # a writer that fails for another reason than the peer going drops the connection, counted
        tasks = Supervisor(f"sim-ws-{self.conn_id}", stats.task_failures, on_stop=lambda _why: self.abort())
        self._writer = tasks.spawn(self._write_loop(), "writer", OnFailure.STOP, name=f"sim-ws-{self.conn_id}")

    def send(self, payload: bytes, md: bool = False) -> None:
        if self.closing:
            return
        if len(self._queue) >= self._max_queue:
            log.warning("conn %s: send buffer full (%d frames), closing", self.conn_id, len(self._queue))
            self.close_soon(*codes.CLOSE_BUFFER_FULL)
            return
        due = time.monotonic() + self._md_latency_s if md and self._md_latency_s else 0.0
        self._queue.append((due, payload))
        self._wake.set()

    async def _write_loop(self) -> None:
        ws, queue, stats = self.ws, self._queue, self._stats
        try:
            while True:
                if not queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                due, payload = queue[0]
                if due:
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                queue.popleft()
                if ws.closed:
                    return
                await ws.send_frame(payload, WSMsgType.TEXT)
                self.last_sent = time.monotonic()
                stats.frames_sent += 1
                stats.bytes_sent += len(payload)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait (bounded) until queued frames are written, e.g. an error frame before a close."""
        deadline = time.monotonic() + timeout
        while self._queue and not self.ws.closed and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        await self.flush()
        self._writer.cancel()
        await self.ws.close(code=code, message=reason.encode())

    def close_soon(self, code: int, reason: str) -> None:
        self._spawn(self.close(code, reason))

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (the client sees 1006)."""
        self.closing = True
        self._writer.cancel()
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def finish(self) -> None:
        self.closing = True
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)


class Hub:
    """Market-data subscriptions (channel, instId) -> sessions, and the fan-out of publications."""

    def __init__(self, stats: SimStats, faults):
        self.stats = stats
        self.faults = faults
        self.subs: dict[tuple[str, str], list[Session]] = {}

    def has(self, key: tuple[str, str]) -> bool:
        return key in self.subs

    def add(self, key: tuple[str, str], session: Session) -> bool:
        """Subscribe; False if the session already had it."""
        if key in session.md_keys:
            return False
        session.md_keys.add(key)
        self.subs.setdefault(key, []).append(session)
        return True

    def discard(self, key: tuple[str, str], session: Session) -> None:
        session.md_keys.discard(key)
        lst = self.subs.get(key)
        if lst and session in lst:
            lst.remove(session)
            if not lst:
                del self.subs[key]

    def drop_session(self, session: Session) -> None:
        for key in list(session.md_keys):
            self.discard(key, session)

    def publish(self, key: tuple[str, str], payload: bytes) -> None:
        sessions = self.subs.get(key)
        if not sessions:
            return
        self.stats.publications += 1
        if self.faults.shaping:
            for p in self.faults.on_publish(key[0], key[1], payload):
                for s in sessions:
                    s.send(p, md=True)
            return
        for s in sessions:
            s.send(payload, md=True)
