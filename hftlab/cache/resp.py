"""A minimal pipelining RESP connection for the cache writer's hot path.

redis-py packs every command in Python (~50 µs per XADD here), which caps a pipeline far below what
the server takes. This connection packs with hiredis (C), writes a whole batch in one syscall and
parses replies with hiredis' reader in a background task, so the writer can send the next batch
while the server is still executing the previous one (a window of batches in flight). Reads and
everything else keep using redis-py.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_lib
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.connection import parse_url

log = logging.getLogger(__name__)

Command = tuple[str | bytes | int | float, ...]


class RespConnectionError(ConnectionError):
    pass


class RespConnection:
    def __init__(self, url: str, timeout_s: float = 1.0):
        opts = parse_url(url)
        self.host = opts.get("host", "127.0.0.1")
        self.port = int(opts.get("port", 6379))
        self.path = opts.get("path")
        self.db = int(opts.get("db", 0) or 0)
        self._username = opts.get("username")
        self._password = opts.get("password")
        self._ssl = url.startswith("rediss://")
        self.timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task | None = None
        # one entry per batch in flight: [expected replies, replies so far, future]
        self._inflight: deque[list[Any]] = deque()

    def __repr__(self) -> str:
        return f"RespConnection({self.host}:{self.port}/{self.db}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        await self.close()
        if self.path:
            coro = asyncio.open_unix_connection(self.path)
        else:
            coro = asyncio.open_connection(self.host, self.port, ssl=ssl_lib.create_default_context() if self._ssl else None)
        try:
            self._reader, self._writer = await asyncio.wait_for(coro, self.timeout_s)
        except (OSError, TimeoutError) as e:
            raise RespConnectionError(f"cannot connect to redis at {self.host}:{self.port}: {e}") from None
        self._read_task = asyncio.create_task(self._read_loop(self._reader, hiredis.Reader()), name="resp-reader")
        hello: list[Command] = []
        if self._password:
            hello.append(("AUTH", self._username, self._password) if self._username else ("AUTH", self._password))
        if self.db:
            hello.append(("SELECT", self.db))
        if hello:
            for reply in await self.execute(hello):
                if isinstance(reply, hiredis.ReplyError):
                    await self.close()
                    raise RespConnectionError(f"redis refused the connection setup: {reply}")

    async def send(self, commands: Sequence[Command]) -> asyncio.Future:
        """Write all commands now; the returned future resolves to one reply per command, in order
        (error replies as hiredis.ReplyError). Raises TypeError, before writing anything, if a
        command holds a value RESP cannot carry (None, an object)."""
        if not self.connected:
            await self.connect()
        payload = b"".join(hiredis.pack_command(c) for c in commands)
        fut = asyncio.get_running_loop().create_future()
        self._inflight.append([len(commands), [], fut])
        assert self._writer is not None
        try:
            self._writer.write(payload)
            await asyncio.wait_for(self._writer.drain(), self.timeout_s * 5)
        except (OSError, TimeoutError) as e:
            await self._fail(RespConnectionError(f"redis connection lost while writing: {type(e).__name__} {e}"))
        return fut

    async def wait(self, fut: asyncio.Future) -> list[Any]:
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.timeout_s * 5)
        except TimeoutError:
            await self._fail(RespConnectionError(f"redis did not answer within {self.timeout_s * 5:.1f}s"))
            return await fut  # raises the failure set above

    async def execute(self, commands: Sequence[Command]) -> list[Any]:
        return await self.wait(await self.send(commands))

    async def _read_loop(self, reader: asyncio.StreamReader, parser: hiredis.Reader) -> None:
        inflight = self._inflight
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    raise RespConnectionError("redis closed the connection")
                parser.feed(data)
                while inflight:
                    reply = parser.gets()
                    if reply is False:
                        break
                    head = inflight[0]
                    head[1].append(reply)
                    if len(head[1]) == head[0]:
                        inflight.popleft()
                        if not head[2].done():
                            head[2].set_result(head[1])
        except asyncio.CancelledError:
            raise
        except (OSError, RespConnectionError, hiredis.ProtocolError) as e:
            await self._fail(e if isinstance(e, RespConnectionError) else RespConnectionError(f"redis connection lost: {e}"))
        except Exception as e:  # anything else: the replies can no longer be matched; the connection goes
            log.error("redis reply reader failed: %r", e, exc_info=e)
            await self._fail(RespConnectionError(f"redis reply reader failed: {type(e).__name__}: {e}"))

    async def _fail(self, err: RespConnectionError) -> None:
        inflight, self._inflight = self._inflight, deque()
        for _n, _replies, fut in inflight:
            if not fut.done():
                fut.set_exception(err)
                fut.exception()  # mark retrieved: the caller may have moved on after an earlier failure
        await self.close()

    async def close(self) -> None:
        task, self._read_task = self._read_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 0.5)
            except (OSError, TimeoutError):
                pass
        for _n, _replies, fut in self._inflight:
            if not fut.done():
                fut.set_exception(RespConnectionError("connection closed"))
                fut.exception()
        self._inflight.clear()
