"""One OKX v5 WebSocket: connect, log in, subscribe and collect the acks, keep alive, read, close.

`Connection.open(role, url, config, ...)` connects through a token bucket of new connections
(OKX counts them per IP, 3/s, protocol §1.5: `CONNECT_LIMITER` is the one bucket of this process)
and starts two tasks:

- the reader stamps `recv_ns = time.time_ns()` on each frame before anything else and hands it to
  `on_frame(conn, raw, recv_ns)`; the text `pong` is taken here (protocol §1.3);
- the keepalive (protocol §1.4): after `ping_interval_s` without any frame the text `ping` goes out;
  if nothing at all, not even `pong`, arrives within `pong_timeout_s` the socket is dead: it is
  aborted, and `close_reason` says so.

Requests: every `subscribe`/`unsubscribe`/`login` passes the connection's 480/h bucket
(`ops_per_hour`, `ops_burst`), and subscribe args are packed into as few <= 64 KB requests as fit.
OKX answers each arg of a subscribe with an ack or an error; once a request is fully answered, its
args without an ack were refused and `on_refused(key, reason, permanent)` says whether retrying can
help (`PERMANENT_SUB_ERRORS`: a bad channel or instId, the wrong URL, the fee tier). `subscribe`
waits for the answers at most `ack_timeout_s`, then carries on (data may flow anyway: a push can
beat its ack).

`login` signs a fresh timestamp each time (OKX rejects one older than 30 s, 60006) and waits for the
answer, so nothing is subscribed before the login is accepted (no 60011).

`closed` resolves once the socket is gone, whatever the cause (`close_reason`); at that moment every
ack and login waiting on it fails with ConnectionError, its reader and keepalive are cancelled, and
`on_closed(conn)` is called. The connection does not reconnect: its owner (`AsyncOKXClient`)
decides what follows. The two tasks are supervised (`core.tasks`): one that fails for any reason
other than the socket closing is logged, counted (`task_failures`) and aborts the socket, so that
the owner's reconnect takes over rather than a socket living on without its reader or keepalive.

The control events of a frame (acks, errors, login answers, notices) are parsed by the owner, who
hands them to `handle_control`; this class never parses market data.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from hftlab.core.metrics import Stats
from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import Credentials
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.okx import auth
from hftlab.okx.channels import ArgKey, arg_key, batch_args
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import ChannelConnCount, ErrorEvent, Event, Login, Notice, Subscribed

log = logging.getLogger(__name__)

# OKX counts new connections per IP (3/s, protocol §1.5): one bucket for every client in this process.
CONNECT_LIMITER = TokenBucket(rate=3.0, capacity=3.0)
LOGIN_ERROR_CODES = frozenset({"60004", "60005", "60006", "60007", "60009", "60023", "60024", "60026", "60031",
                               "60032", "63999"})
# Subscribe refusals that retrying cannot fix (bad channel/instId, wrong URL, fee tier): the arg is dropped.
# Others (60014 too frequent, 64007 internal error, ...) keep the arg for the next attempt.
PERMANENT_SUB_ERRORS = frozenset({"60008", "60013", "60018", "64000", "64001", "64002", "64003", "64004"})
CLOSE_TIMEOUT_S = 1.0  # a peer that does not finish the close handshake in this long is cut off
_LOG_EVERY = 1000  # after the first few, log every Nth occurrence of a repeated OKX error

FrameHandler = Callable[["Connection", str | bytes, int], None]  # (conn, raw frame, recv_ns)
RefusalHandler = Callable[[ArgKey, str, bool], None]  # (arg key, OKX's reason, permanent)


class LoginError(Exception):
    def __init__(self, msg: str, code: str = ""):
        super().__init__(msg)
        self.code = code  # OKX's, when it answered (60006: the timestamp is off its clock)


@dataclass(slots=True)
class SocketStats(Stats):
    """Counters of every connection one client opens (they outlive each connection)."""

    frames: int = 0  # every frame read, pongs included
    pings: int = 0
    pongs: int = 0
    pong_timeouts: int = 0
    subscribe_requests: int = 0
    login_failures: int = 0
    error_events: Counter = field(default_factory=Counter)  # OKX code -> count
    notices: Counter = field(default_factory=Counter)
    task_failures: Counter = field(default_factory=Counter)  # reader | keepalive -> failures (core.tasks)


@dataclass(slots=True)
class _Request:
    """A subscribe request: OKX answers each of its args with an ack or an error."""

    keys: list[ArgKey]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (code, msg)


class Connection:
    """One WebSocket of one role (`public`, `business` or `private`) and the requests waiting on it.

    `args` are the subscriptions requested on this connection; `ready` is set by the owner once
    the connection is logged in (private) and subscribed; `retired` means closed on purpose (a 64008
    rollover, the client closing), not lost.
    """

    _ids = itertools.count(1)

    def __init__(self, role: str, url: str, ws: ClientConnection, config: ClientConfig, *, stats: SocketStats,
                 on_frame: FrameHandler, on_refused: RefusalHandler,
                 on_closed: Callable[[Connection], None] | None = None):
        self.n = next(self._ids)
        self.role = role
        self.url = url
        self.ws = ws
        self.config = config
        self.stats = stats
        self.ops = TokenBucket.within(config.ops_per_hour, 3600.0, config.ops_burst)
        self.conn_id: str | None = None  # the server's, from its first answer
        self.opened = time.monotonic()
        self.last_recv = self.opened
        self.ready = False
        self.retired = False
        self.close_reason = ""
        self.args: dict[ArgKey, dict] = {}
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self._on_frame = on_frame
        self._on_refused = on_refused
        self._on_closed = on_closed
        self._acks: dict[ArgKey, asyncio.Future] = {}
        self._requests: dict[str, _Request] = {}  # subscribe request id -> what it asked for
        self._key_req: dict[ArgKey, str] = {}  # arg -> the request awaiting its answer
        self._login: asyncio.Future | None = None
        self._tasks = Supervisor(f"okx-{role}-{self.n}", stats.task_failures, on_stop=self._abort)
        self._warned: Counter = Counter()

    def __repr__(self) -> str:
        return f"<conn {self.n} {self.role} {self.conn_id or '-'}>"

    @classmethod
    async def open(cls, role: str, url: str, config: ClientConfig, *, stats: SocketStats, on_frame: FrameHandler,
                   on_refused: RefusalHandler, on_closed: Callable[[Connection], None] | None = None,
                   limiter: TokenBucket = CONNECT_LIMITER) -> Connection:
        """Connect (through `limiter`) and start reading and keeping alive. Raises OSError,
        TimeoutError or websockets' exceptions when the connection cannot be made."""
        await limiter.acquire()
        host = urlsplit(url).hostname or ""
        ws = await websockets.connect(
            url, open_timeout=config.connect_timeout_s, ping_interval=None, close_timeout=CLOSE_TIMEOUT_S,
            max_size=config.max_frame_bytes, max_queue=1024,
            proxy=None if host in ("127.0.0.1", "localhost", "::1") else True,
        )
        conn = cls(role, url, ws, config, stats=stats, on_frame=on_frame, on_refused=on_refused, on_closed=on_closed)
        conn.start()
        return conn

    def start(self) -> None:
        """Start reading and keeping alive (`open` does this once connected)."""
        self._tasks.spawn(self._read(), "reader", OnFailure.STOP, name=f"okx-read-{self.role}-{self.n}")
        self._tasks.spawn(self._keepalive(), "keepalive", OnFailure.STOP, name=f"okx-ping-{self.role}-{self.n}")

    def _abort(self, reason: str) -> None:
        """A task of the socket failed: the socket goes, and the owner's reconnect takes over."""
        self.close_reason = self.close_reason or reason
        self.ws.transport.abort()
        self._finish()

    # ----- requests ---------------------------------------------------------------------------
    async def send(self, payload: Mapping[str, Any] | str) -> None:
        await self.ws.send(payload if isinstance(payload, str) else orjson.dumps(payload).decode())

    async def login(self, credentials: Credentials | None, now: float | None = None) -> None:
        """Log in and wait for OKX's answer; LoginError if refused or unanswered in time. `now`: the
        venue's Unix time to sign with (default: ours)."""
        if credentials is None:
            raise LoginError("private socket without credentials")
        self._login = asyncio.get_running_loop().create_future()
        await self.ops.acquire()
        await self.send({"op": "login", "args": [auth.ws_login_args(
            credentials.api_key.get_secret_value(), credentials.api_secret.get_secret_value(),
            credentials.passphrase.get_secret_value(), now)]})
        timeout_s = self.config.login_timeout_s
        try:
            ev = await asyncio.wait_for(asyncio.shield(self._login), timeout_s)
        except TimeoutError:
            self.stats.login_failures += 1
            raise LoginError(f"no login answer within {timeout_s:g} s") from None
        if isinstance(ev, ErrorEvent) or ev.code != "0":
            self.stats.login_failures += 1
            raise LoginError(f"login refused: {ev.code} {ev.msg}", ev.code)

    async def subscribe(self, args: Iterable[dict]) -> None:
        """Send `args` in as few requests as fit, then wait (bounded) for every ack or error."""
        args = list(args)
        if not args:
            return
        loop = asyncio.get_running_loop()
        waits = []
        for batch in batch_args(args):
            req_id = _next_request_id()
            self._requests[req_id] = _Request([arg_key(a) for a in batch])
            for a in batch:
                key = arg_key(a)
                self.args[key] = a
                self._key_req[key] = req_id
                fut = self._acks.get(key)
                if fut is None or fut.done():
                    fut = self._acks[key] = loop.create_future()
                waits.append(fut)
            await self.ops.acquire()
            await self.send({"id": req_id, "op": "subscribe", "args": batch})
            self.stats.subscribe_requests += 1
        timeout_s = self.config.ack_timeout_s
        pending = await _wait_acks(waits, self.closed, timeout_s)
        if pending and not self.closed.done():
            log.warning("%s socket %s: %d of %d subscribe acks missing after %.0f s; carrying on", self.role, self,
                        len(pending), len(waits), timeout_s)

    async def unsubscribe(self, args: Iterable[dict]) -> None:
        args = list(args)
        for batch in batch_args(args):
            await self.ops.acquire()
            await self.send({"id": _next_request_id(), "op": "unsubscribe", "args": batch})
        for a in args:
            self.args.pop(arg_key(a), None)

    async def resubscribe(self, arg: dict) -> bool:
        """unsubscribe + subscribe one arg (OKX sends a fresh snapshot on the new subscription), without
        waiting for the ack. False if the connection closed before the requests could go out."""
        await self.ops.acquire(2)
        if self.closed.done():
            return False
        key = arg_key(arg)
        await self.send({"id": _next_request_id(), "op": "unsubscribe", "args": [arg]})
        rid = _next_request_id()
        self._requests[rid] = _Request([key])
        self._key_req[key] = rid
        self._acks[key] = asyncio.get_running_loop().create_future()
        await self.send({"id": rid, "op": "subscribe", "args": [arg]})
        return True

    # ----- answers ----------------------------------------------------------------------------
    def handle_control(self, ev: Event) -> None:
        """An ack, error, login answer, notice or connection-count event read on this socket."""
        if isinstance(ev, Subscribed):
            self.conn_id = self.conn_id or ev.conn_id
            if ev.unsubscribed:
                return
            key = arg_key(ev.arg)
            fut = self._acks.get(key)
            if fut is not None and not fut.done():
                fut.set_result(True)
            rid = self._key_req.pop(key, None)
            if rid is not None:
                self._answered(rid)
        elif isinstance(ev, ErrorEvent):
            self.stats.error_events[ev.code] += 1
            self.conn_id = self.conn_id or ev.conn_id
            if self._login is not None and not self._login.done() and ev.code in LOGIN_ERROR_CODES:
                self._login.set_result(ev)
            elif ev.id is not None and ev.id in self._requests:
                self._requests[ev.id].errors.append((ev.code, ev.msg))
                self._answered(ev.id)
            self._warn(f"error{ev.code}", "OKX error on %s: code %s %s (request %s)", self, ev.code, ev.msg, ev.id)
        elif isinstance(ev, Login):
            self.conn_id = self.conn_id or ev.conn_id
            if self._login is not None and not self._login.done():
                self._login.set_result(ev)
        elif isinstance(ev, Notice):
            self.stats.notices[ev.code] += 1
            log.warning("%s socket %s: notice %s %s", self.role, self, ev.code, ev.msg)
        elif isinstance(ev, ChannelConnCount) and ev.error:
            self.stats.error_events["channel-conn-count-error"] += 1
            log.error("%s: over OKX's connection limit for channel %s (%d connections); this socket gets no %s "
                      "pushes", self, ev.channel, ev.conn_count, ev.channel)

    def _answered(self, req_id: str) -> None:
        """An ack or error of a subscribe request came; once every arg is answered, the args without an
        ack were refused: for good when the error is permanent, else until the next attempt."""
        req = self._requests.get(req_id)
        if req is None:
            return
        unacked = [k for k in req.keys if not self._acks[k].done()]
        if len(unacked) > len(req.errors):
            return
        del self._requests[req_id]
        if not unacked:
            return
        permanent = any(code in PERMANENT_SUB_ERRORS for code, _ in req.errors)
        reason = "; ".join(f"{code} {msg}" for code, msg in req.errors)
        for key in unacked:
            self._key_req.pop(key, None)
            self._acks[key].set_result(False)
            if permanent:
                self.args.pop(key, None)
            self._on_refused(key, reason, permanent)

    # ----- reading and keeping alive ----------------------------------------------------------
    async def _read(self) -> None:
        stats, on_frame = self.stats, self._on_frame
        try:
            async for raw in self.ws:
                recv_ns = time.time_ns()
                self.last_recv = time.monotonic()
                stats.frames += 1
                if raw == "pong":
                    stats.pongs += 1
                    continue
                on_frame(self, raw, recv_ns)
            self.close_reason = self.close_reason or _close_text(self.ws)
        except websockets.exceptions.ConnectionClosed:
            self.close_reason = self.close_reason or _close_text(self.ws)
        except OSError as e:
            self.close_reason = self.close_reason or f"{type(e).__name__}: {e}"
        finally:
            self._finish()

    async def _keepalive(self) -> None:
        interval, timeout = self.config.ping_interval_s, self.config.pong_timeout_s
        while True:
            idle = time.monotonic() - self.last_recv
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            sent = time.monotonic()
            try:
                await self.send("ping")
            except websockets.exceptions.ConnectionClosed:
                return
            self.stats.pings += 1
            await asyncio.sleep(timeout)
            if self.last_recv < sent:
                self.stats.pong_timeouts += 1
                self.close_reason = f"no pong within {timeout:g} s"
                log.warning("%s socket %s: %s, replacing it", self.role, self, self.close_reason)
                self.ws.transport.abort()  # the reader ends; the owner decides what follows
                return

    # ----- closing ----------------------------------------------------------------------------
    async def close(self, reason: str) -> None:
        """Close on purpose (`retired`), cutting off a peer that does not answer the close."""
        self.retired = True
        self.close_reason = self.close_reason or reason
        try:
            await asyncio.wait_for(self.ws.close(), CLOSE_TIMEOUT_S)
        except (TimeoutError, OSError, websockets.exceptions.WebSocketException):
            self.ws.transport.abort()
        await self._tasks.close()
        self._finish()

    def _finish(self) -> None:
        """Everything waiting on the connection learns it is gone (once)."""
        if self.closed.done():
            return
        self.closed.set_result(None)
        self._tasks.cancel()  # the keepalive of a socket the venue closed would live on, sending pings
        err = ConnectionError(f"{self.role} socket closed: {self.close_reason}")
        for fut in [*self._acks.values(), *([self._login] if self._login else [])]:
            if not fut.done():
                fut.set_exception(err)
                fut.exception()  # retrieved: nobody may be waiting any more
        if self._on_closed is not None:
            self._on_closed(self)

    def _warn(self, kind: str, fmt: str, *args: Any) -> None:
        n = self._warned[kind] = self._warned[kind] + 1
        if n <= 5 or n % _LOG_EVERY == 0:
            log.warning(fmt + (f" [{n} so far]" if n > 5 else ""), *args)


_request_ids = itertools.count(1)


def _next_request_id() -> str:
    return f"s{next(_request_ids)}"


async def _wait_acks(waits: list[asyncio.Future], closed: asyncio.Future, timeout_s: float) -> set[asyncio.Future]:
    """Wait until every ack future is done, the connection closes, or the timeout passes."""
    pending = {f for f in waits if not f.done()}
    deadline = time.monotonic() + timeout_s
    while pending and not closed.done():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        await asyncio.wait(pending | {closed}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        pending = {f for f in pending if not f.done()}
    for f in waits:
        if f.done() and not f.cancelled():
            f.exception()  # consume: a closed connection fails them all
    return pending


def _close_text(ws: ClientConnection) -> str:
    code, reason = ws.close_code, ws.close_reason
    return f"close {code} {reason}".strip() if code is not None else "connection dropped"
