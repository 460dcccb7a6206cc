"""AsyncOKXClient: the resilient OKX v5 WebSocket client (public, business and private sockets).

    client = AsyncOKXClient(Endpoints.from_venue(settings.venue), credentials=creds)
    async with client:
        await client.subscribe(args_for(["books", "trades"], ["BTC-USDT"]))
        while True:
            ev = await client.get()                 # Trade, BookMsg, Ticker, Candle, PrivatePush
            if isinstance(ev, BookMsg):
                client.books.apply(ev)              # the BookKeeper decides when to resync

What it guarantees (protocol §1, §3.3, §4.2, §6, §7):

- Sockets by role, opened when a subscription needs one: `public` (books, trades, tickers),
  `business` (candles, trades-all), `private` (login; orders, positions, account; trading ops).
- Liveness: after `ping_interval_s` of silence a socket sends the text `ping`; if nothing (not even
  `pong`) arrives within `pong_timeout_s` the socket is declared dead and replaced.
- Reconnects use capped exponential backoff with full jitter (`backoff.py`), reset once a
  connection has stayed healthy for `stable_after_s`; new connections pass a process-wide 3/s
  token bucket; each connection's subscribe/unsubscribe/login requests pass a 480/h bucket, and
  subscribe args are packed into as few <= 64 KB frames as possible.
- Private sockets log in with a fresh timestamp and wait for the login ack before subscribing
  (no 60011), on every (re)connect; then open orders are reconciled over REST (the `orders`
  channel has no snapshot) and handed to `on_open_orders`.
- `event: notice, code 64008`: a new connection is opened and subscribed *before* the old one is
  closed; while both are open their data is deduplicated (books by seqId high-water mark, trades
  by tradeId, other pushes by content), so consumers see neither a gap nor a duplicate.
- Books: a lost connection invalidates every book it carried at once (a stale book is never served
  while reconnecting — hummingbot #5813); the reconnect's fresh snapshot replaces it. A sequence
  gap, a dropped queued update, or a book silent for `stale_after_s` makes the `BookKeeper` ask for
  ONE resync, which unsubscribes and resubscribes that arg only. A book whose snapshot does not
  come within `snapshot_timeout_s` of its resubscribe is seeded from REST (§3.4).
- The reader stamps `recv_ns = time.time_ns()` before parsing; events go to a bounded `EventQueue`
  whose backpressure policy is described in `queue.py` (market events dropped first, a dropped book
  update invalidates its book, private pushes never dropped). OKX error events, malformed frames
  and unknown channels are counted and logged (rate-limited), never raised out of the reader.
- `send_op(op, args)` sends a WS trading op on the private socket and awaits its answer by `id`.
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

from hftlab.core.backoff import Backoff
from hftlab.core.metrics import Stats
from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import Credentials
from hftlab.okx import auth
from hftlab.okx.book import BookKeeper, SeedResult
from hftlab.okx.channels import BOOK_CHANNELS, PRIVATE, ROLES, ArgKey, Endpoints, arg_key, batch_args, role_for
from hftlab.okx.events import (
    BookMsg,
    Candle,
    ChannelConnCount,
    ErrorEvent,
    Event,
    Login,
    Notice,
    OpResponse,
    ParseError,
    Pong,
    PrivatePush,
    Subscribed,
    Ticker,
    Trade,
)
from hftlab.okx.parse import parse_frame
from hftlab.okx.queue import EventQueue, channel_of
from hftlab.okx.rest import OkxRest, RestError

log = logging.getLogger(__name__)

NOTICE_UPGRADE = "64008"
LOGIN_ERROR_CODES = frozenset({"60004", "60005", "60006", "60007", "60009", "60023", "60024", "60026", "60031",
                               "60032", "63999"})
# Subscribe refusals that retrying cannot fix (bad channel/instId, wrong URL, fee tier): the arg is dropped.
# Others (60014 too frequent, 64007 internal error, ...) keep the arg for the next attempt.
PERMANENT_SUB_ERRORS = frozenset({"60008", "60013", "60018", "64000", "64001", "64002", "64003", "64004"})
CONTROL = "_control"  # raw-frame channel of acks, errors, notices, login and op answers
_DATA_TYPES = (Trade, BookMsg, Ticker, Candle, PrivatePush)
_LOG_EVERY = 1000  # after the first few, log every Nth occurrence of a repeated problem
# OKX counts new connections per IP (3/s, protocol §1.5): one bucket for every client in this process.
CONNECT_LIMITER = TokenBucket(rate=3.0, capacity=3.0)


@dataclass(slots=True)
class ClientOptions:
    """Timing and limit knobs. OKX defaults; tests shrink the timings to run in seconds."""

    ping_interval_s: float = 25.0  # silence before a text `ping` (OKX closes after 30 s)
    pong_timeout_s: float = 10.0  # nothing back this long after a ping: the socket is dead
    stale_after_s: float = 90.0  # a subscribed book silent this long is resynced (OKX keep-alive ~60 s)
    snapshot_timeout_s: float = 5.0  # resubscribed book without a WS snapshot this long: seed from REST
    resync_timeout_s: float = 30.0  # a resync still unanswered this long is requested again
    connect_timeout_s: float = 10.0
    login_timeout_s: float = 10.0
    ack_timeout_s: float = 10.0  # subscribe acks; on timeout the client carries on (data may flow anyway)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    stable_after_s: float = 10.0  # a connection up this long resets the backoff
    rollover_grace_s: float = 1.0  # 64008: keep the old socket this long after the new one is subscribed
    ops_per_hour: int = 480  # OKX: subscribe + unsubscribe + login requests per connection per hour
    ops_burst: int = 240  # of which at most this many at once (so no hour ever exceeds ops_per_hour)
    queue_maxsize: int = 100_000
    max_frame_bytes: int = 1 << 24
    reconcile_orders: bool = True  # private: fetch open orders over REST after each (re)connect


@dataclass(slots=True)
class ClientStats(Stats):
    frames: int = 0
    events: Counter = field(default_factory=Counter)  # channel -> events queued
    duplicates: Counter = field(default_factory=Counter)  # channel -> overlap duplicates dropped (64008)
    connects: Counter = field(default_factory=Counter)  # role -> connections established
    connect_failures: Counter = field(default_factory=Counter)
    reconnects: Counter = field(default_factory=Counter)  # role -> unplanned losses followed by a reconnect
    rollovers: Counter = field(default_factory=Counter)  # role -> 64008 rollovers completed
    pings: int = 0
    pongs: int = 0
    pong_timeouts: int = 0
    parse_errors: int = 0
    error_events: Counter = field(default_factory=Counter)  # OKX code -> count
    notices: Counter = field(default_factory=Counter)
    handler_errors: int = 0
    subscribe_requests: int = 0
    resubscribes: int = 0  # single-arg unsubscribe+subscribe (book resyncs)
    stale_resyncs: int = 0
    rest_seeds: Counter = field(default_factory=Counter)  # SeedResult -> count
    books_invalidated_on_loss: int = 0
    reconciles: int = 0
    login_failures: int = 0
    ops_sent: int = 0


class LoginError(Exception):
    pass


@dataclass(slots=True)
class _Request:
    """A subscribe request: OKX answers each of its args with an ack or an error."""

    keys: list[ArgKey]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (code, msg)


class _Conn:
    """One WebSocket connection and the requests waiting on it."""

    _ids = itertools.count(1)

    def __init__(self, role: str, url: str, ws: ClientConnection, ops: TokenBucket):
        self.n = next(self._ids)
        self.role = role
        self.url = url
        self.ws = ws
        self.ops = ops
        self.conn_id: str | None = None  # the server's, from its first ack
        self.opened = time.monotonic()
        self.last_recv = self.opened
        self.ready = False  # logged in (private) and subscribed
        self.retired = False  # closed by us on purpose (64008 rollover, client close)
        self.close_reason = ""
        self.args: dict[ArgKey, dict] = {}  # subscribed (requested) on this connection
        self.acks: dict[ArgKey, asyncio.Future] = {}
        self.requests: dict[str, _Request] = {}  # subscribe request id -> what it asked for
        self.key_req: dict[ArgKey, str] = {}  # arg -> the request awaiting its ack
        self.login: asyncio.Future | None = None
        self.rollover: asyncio.Task | None = None
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.tasks: list[asyncio.Task] = []

    def __repr__(self) -> str:
        return f"<conn {self.n} {self.role} {self.conn_id or '-'}>"

    def send(self, payload: dict | str) -> Any:
        return self.ws.send(payload if isinstance(payload, str) else orjson.dumps(payload).decode())


class AsyncOKXClient:
    def __init__(
        self,
        endpoints: Endpoints,
        *,
        credentials: Credentials | None = None,
        options: ClientOptions | None = None,
        on_frame: Callable[[str | bytes, int, str, str], None] | None = None,
        on_open_orders: Callable[[list[dict]], None] | None = None,
        connect_limiter: TokenBucket | None = None,
        books: BookKeeper | None = None,
    ):
        self.endpoints = endpoints
        self.credentials = credentials
        self.options = o = options or ClientOptions()
        self.on_frame = on_frame  # (frame, recv_ns, channel, inst_id): the recorder's raw tap
        self.on_open_orders = on_open_orders
        self.connect_limiter = connect_limiter or CONNECT_LIMITER
        self.stats = ClientStats()
        self.books = books or BookKeeper()
        self.books.on_resync = self.resync
        self.queue = EventQueue(o.queue_maxsize, on_book_drop=self._book_dropped)
        self.rest = OkxRest(endpoints.rest, credentials, demo=endpoints.demo)
        self.open_orders: dict[str, dict] = {}
        self.failed_args: dict[ArgKey, str] = {}  # arg -> the OKX error that refused it
        self.last_close: dict[str, str] = {}  # role -> why its last connection ended
        self._desired: dict[ArgKey, dict] = {}
        self._conns: dict[str, _Conn | None] = {r: None for r in ROLES}
        self._supervisors: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._ops: dict[str, asyncio.Future] = {}
        self._op_ids = itertools.count(1)
        self._req_ids = itertools.count(1)
        self._last_data: dict[ArgKey, float] = {}  # arg -> monotonic time of its last push
        self._resubscribing: dict[ArgKey, float] = {}  # arg -> monotonic time of its resubscribe
        self._book_hwm: dict[ArgKey, int] = {}  # highest seqId passed on per book (duplicate filter)
        self._overlap: dict[str, float] = {}  # role -> dedupe active until (monotonic; inf while rolling)
        self._seen: dict[ArgKey, set] = {}  # dedupe keys of non-book pushes during an overlap
        self._started = False
        self._closing = False
        self._warned: Counter = Counter()

    def __repr__(self) -> str:
        up = [r for r, c in self._conns.items() if c is not None and c.ready]
        return f"AsyncOKXClient({self.endpoints.public!r}, up={up}, queue={len(self.queue)})"

    # ===== public API ============================================================================
    async def start(self) -> AsyncOKXClient:
        if not self._started:
            self._started = True
            self._spawn(self._maintenance(), "okx-maintenance")
            for role in {role_for(k[0]) for k in self._desired}:
                self._ensure(role)
        return self

    async def __aenter__(self) -> AsyncOKXClient:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def subscribe(self, args: Iterable[Mapping[str, Any]]) -> None:
        """Add subscriptions; they are (re)sent on every (re)connect of their socket."""
        new: dict[str, list[dict]] = {}
        for a in args:
            arg = dict(a)
            key = arg_key(arg)
            if role_for(arg["channel"]) == PRIVATE and self.credentials is None:
                raise ValueError(f"channel {arg['channel']!r} is private: the client needs credentials")
            if key not in self._desired:
                self._desired[key] = arg
                new.setdefault(role_for(arg["channel"]), []).append(arg)
        if not self._started:
            return
        for role, role_args in new.items():
            conn = self._conns[role]
            if conn is not None and conn.ready:
                await self._subscribe_on(conn, role_args)
            self._ensure(role)

    async def unsubscribe(self, args: Iterable[Mapping[str, Any]]) -> None:
        by_role: dict[str, list[dict]] = {}
        for a in args:
            key = arg_key(a)
            arg = self._desired.pop(key, None)
            if arg is not None:
                by_role.setdefault(role_for(arg["channel"]), []).append(arg)
                for state in (self._last_data, self._book_hwm, self._resubscribing):
                    state.pop(key, None)
        for role, role_args in by_role.items():
            conn = self._conns[role]
            if conn is not None and conn.ready:
                for batch in batch_args(role_args):
                    await conn.ops.acquire()
                    await conn.send({"id": self._req_id(), "op": "unsubscribe", "args": batch})
                for a in role_args:
                    conn.args.pop(arg_key(a), None)

    async def get(self) -> Event:
        return await self.queue.get()

    def get_batch(self, max_n: int = 1000) -> list[Event]:
        return self.queue.get_batch(max_n)

    async def send_op(self, op: str, args: list[dict], *, timeout_s: float = 5.0, exp_time_ms: int | None = None
                      ) -> OpResponse:
        """A WS trading op (`order`, `cancel-order`, `amend-order`, `batch-*`) on the private socket,
        answered by `id`. Instruments are named by `instIdCode` (see `rest.inst_id_codes`). Raises
        ConnectionError when the private socket is down or closes before the answer (the op may
        or may not have executed: reconcile), TimeoutError when no answer comes in time."""
        conn = self._conns[PRIVATE]
        if conn is None or not conn.ready:
            raise ConnectionError("the private socket is not connected and logged in")
        op_id = f"o{next(self._op_ids)}"
        fut = asyncio.get_running_loop().create_future()
        self._ops[op_id] = fut
        req: dict[str, Any] = {"id": op_id, "op": op, "args": args}
        if exp_time_ms is not None:
            req["expTime"] = str(exp_time_ms)
        try:
            await conn.send(req)
            self.stats.ops_sent += 1
            return await asyncio.wait_for(fut, timeout_s)
        finally:
            self._ops.pop(op_id, None)

    def resync(self, channel: str, inst_id: str, reason: str) -> None:
        """Unsubscribe and resubscribe one book arg for a fresh snapshot (the BookKeeper's callback:
        it calls this once per trouble, never again while the resync is in flight)."""
        key = (channel, inst_id)
        arg = self._desired.get(key)
        if arg is None or self._closing:
            return
        conn = self._conns[role_for(channel)]
        if conn is None or not conn.ready:
            return  # the reconnect subscribes afresh and its snapshot settles the book
        log.info("resync %s %s: %s", channel, inst_id, reason)
        self._resubscribing[key] = time.monotonic()
        self._spawn(self._resubscribe(conn, arg), f"okx-resub-{channel}-{inst_id}")

    def connected(self, role: str) -> bool:
        conn = self._conns[role]
        return conn is not None and conn.ready

    def status(self) -> dict[str, Any]:
        return {
            "connections": {r: (c.conn_id or "connecting") if c else None for r, c in self._conns.items()
                            if r in self._supervisors},
            "subscriptions": len(self._desired),
            "failed_args": {f"{k[0]}:{k[1]}": v for k, v in self.failed_args.items()},
            "last_close": dict(self.last_close),
            "queue": self.queue.stats.as_dict(),
            **self.stats.as_dict(),
        }

    async def close(self) -> None:
        """Close every socket and task; queued events stay readable (`get_batch`), then the queue ends."""
        if self._closing:
            return
        self._closing = True
        for task in list(self._supervisors.values()) + list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._supervisors.values(), *self._tasks, return_exceptions=True)
        conns = [c for c in self._conns.values() if c is not None]
        await asyncio.gather(*(self._close_conn(c, "client closing") for c in conns), return_exceptions=True)
        self.queue.close()
        await self.rest.close()

    # ===== connections ===========================================================================
    def _ensure(self, role: str) -> None:
        task = self._supervisors.get(role)
        if task is None or task.done():
            self._supervisors[role] = asyncio.get_running_loop().create_task(self._supervise(role),
                                                                            name=f"okx-{role}")

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats.handler_errors += 1
            log.error("task %s failed: %r", task.get_name(), task.exception(), exc_info=task.exception())

    async def _supervise(self, role: str) -> None:
        """Keep one healthy connection for `role`: connect, and after an unplanned loss reconnect
        with backoff. A 64008 rollover replaces the connection without counting as a loss."""
        o = self.options
        backoff = Backoff(o.backoff_initial_s, o.backoff_max_s)
        while not self._closing:
            try:
                conn = await self._establish(role)
            except (OSError, TimeoutError, LoginError, websockets.exceptions.WebSocketException) as e:
                self.stats.connect_failures[role] += 1
                delay = backoff.next_delay()
                log.warning("%s socket: cannot connect to %s (%s); retrying in %.2f s", role,
                            self.endpoints.ws(role), _brief(e), delay)
                await asyncio.sleep(delay)
                continue
            self._conns[role] = conn
            while True:
                await asyncio.shield(conn.closed)
                successor = await _successor(conn)
                if successor is None or self._closing:
                    break
                conn = successor
            if self._closing:
                return
            if self._conns[role] is conn:
                self._conns[role] = None
            self._lost(conn)
            self.last_close[role] = conn.close_reason
            self.stats.reconnects[role] += 1
            if time.monotonic() - conn.opened >= o.stable_after_s:
                backoff.reset()
            delay = backoff.next_delay()
            log.warning("%s socket %s lost (%s); reconnecting in %.2f s", role, conn, conn.close_reason, delay)
            await asyncio.sleep(delay)

    async def _establish(self, role: str) -> _Conn:
        """Connect, log in (private), subscribe every wanted arg of the role and wait for the acks."""
        o = self.options
        url = self.endpoints.ws(role)
        await self.connect_limiter.acquire()
        host = urlsplit(url).hostname or ""
        ws = await websockets.connect(
            url, open_timeout=o.connect_timeout_s, ping_interval=None, close_timeout=1.0,
            max_size=o.max_frame_bytes, max_queue=1024,
            proxy=None if host in ("127.0.0.1", "localhost", "::1") else True,
        )
        conn = _Conn(role, url, ws, TokenBucket.within(o.ops_per_hour, 3600.0, o.ops_burst))
        conn.tasks = [
            asyncio.get_running_loop().create_task(self._read(conn), name=f"okx-read-{role}-{conn.n}"),
            asyncio.get_running_loop().create_task(self._keepalive(conn), name=f"okx-ping-{role}-{conn.n}"),
        ]
        try:
            if role == PRIVATE:
                await self._login(conn)
            wanted = [a for k, a in self._desired.items() if role_for(k[0]) == role]
            await self._subscribe_on(conn, wanted)
            # args added while we were subscribing
            late = [a for k, a in self._desired.items() if role_for(k[0]) == role and k not in conn.args]
            if late:
                await self._subscribe_on(conn, late)
        except BaseException:
            await self._close_conn(conn, "establishment failed")
            raise
        if conn.closed.done():
            raise OSError(f"connection closed while subscribing ({conn.close_reason})")
        conn.ready = True
        self.stats.connects[role] += 1
        log.info("%s socket %s up: %d subscriptions", role, conn, len(conn.args))
        if role == PRIVATE and o.reconcile_orders:
            self._spawn(self._reconcile(), "okx-reconcile")
        return conn

    async def _login(self, conn: _Conn) -> None:
        c = self.credentials
        if c is None:
            raise LoginError("private socket without credentials")
        conn.login = asyncio.get_running_loop().create_future()
        await conn.ops.acquire()
        # A fresh timestamp on every (re)connect: OKX rejects a login older than 30 s (60006).
        await conn.send({"op": "login", "args": [auth.ws_login_args(
            c.api_key.get_secret_value(), c.api_secret.get_secret_value(), c.passphrase.get_secret_value())]})
        try:
            ev = await asyncio.wait_for(asyncio.shield(conn.login), self.options.login_timeout_s)
        except TimeoutError:
            self.stats.login_failures += 1
            raise LoginError(f"no login answer within {self.options.login_timeout_s:g} s") from None
        if isinstance(ev, ErrorEvent) or ev.code != "0":
            self.stats.login_failures += 1
            raise LoginError(f"login refused: {ev.code} {ev.msg}")

    async def _subscribe_on(self, conn: _Conn, args: list[dict]) -> None:
        """Send `args` in as few requests as fit, then wait (bounded) for every ack or error."""
        if not args:
            return
        loop = asyncio.get_running_loop()
        waits = []
        for batch in batch_args(args):
            req_id = self._req_id()
            conn.requests[req_id] = _Request([arg_key(a) for a in batch])
            for a in batch:
                key = arg_key(a)
                conn.args[key] = a
                conn.key_req[key] = req_id
                fut = conn.acks.get(key)
                if fut is None or fut.done():
                    fut = conn.acks[key] = loop.create_future()
                waits.append(fut)
                self._last_data[key] = time.monotonic()  # the stale clock starts at the request
            await conn.ops.acquire()
            await conn.send({"id": req_id, "op": "subscribe", "args": batch})
            self.stats.subscribe_requests += 1
        pending = await _wait_acks(waits, conn.closed, self.options.ack_timeout_s)
        if pending and not conn.closed.done():
            log.warning("%s socket %s: %d of %d subscribe acks missing after %.0f s; carrying on", conn.role, conn,
                        len(pending), len(waits), self.options.ack_timeout_s)

    async def _resubscribe(self, conn: _Conn, arg: dict) -> None:
        """unsubscribe + subscribe one arg: OKX sends a fresh snapshot on the new subscription."""
        await conn.ops.acquire(2)
        if conn.closed.done():
            return
        key = arg_key(arg)
        await conn.send({"id": self._req_id(), "op": "unsubscribe", "args": [arg]})
        rid = self._req_id()
        conn.requests[rid] = _Request([key])
        conn.key_req[key] = rid
        conn.acks[key] = asyncio.get_running_loop().create_future()
        await conn.send({"id": rid, "op": "subscribe", "args": [arg]})
        self.stats.resubscribes += 1
        self._last_data[key] = time.monotonic()

    async def _close_conn(self, conn: _Conn, reason: str) -> None:
        conn.retired = True
        conn.close_reason = conn.close_reason or reason
        try:
            await asyncio.wait_for(conn.ws.close(), 1.0)
        except (TimeoutError, OSError, websockets.exceptions.WebSocketException):
            conn.ws.transport.abort()
        for t in conn.tasks:
            t.cancel()
        await asyncio.gather(*conn.tasks, return_exceptions=True)
        self._finish(conn)

    def _finish(self, conn: _Conn) -> None:
        """Everything waiting on a connection learns it is gone."""
        if not conn.closed.done():
            conn.closed.set_result(None)
        err = ConnectionError(f"{conn.role} socket closed: {conn.close_reason}")
        for fut in [*conn.acks.values(), *([conn.login] if conn.login else [])]:
            if not fut.done():
                fut.set_exception(err)
                fut.exception()  # retrieved: nobody may be waiting any more
        if conn.role == PRIVATE:
            for fut in self._ops.values():
                if not fut.done():
                    fut.set_exception(err)

    def _lost(self, conn: _Conn) -> None:
        """An unplanned loss: the books it carried stop being served at once."""
        for key in conn.args:
            if key[0] in BOOK_CHANNELS and key in self.books.books and self.books.books[key].valid:
                self.books.invalidate(key[0], key[1], f"connection lost ({conn.close_reason})")
                self.stats.books_invalidated_on_loss += 1

    def _req_id(self) -> str:
        return f"s{next(self._req_ids)}"

    # ===== reading ==============================================================================
    async def _read(self, conn: _Conn) -> None:
        try:
            async for raw in conn.ws:
                self._on_frame(conn, raw)
            conn.close_reason = conn.close_reason or _close_text(conn.ws)
        except websockets.exceptions.ConnectionClosed:
            conn.close_reason = conn.close_reason or _close_text(conn.ws)
        except OSError as e:
            conn.close_reason = conn.close_reason or f"{type(e).__name__}: {e}"
        finally:
            self._finish(conn)

    async def _keepalive(self, conn: _Conn) -> None:
        o = self.options
        while True:
            idle = time.monotonic() - conn.last_recv
            if idle < o.ping_interval_s:
                await asyncio.sleep(o.ping_interval_s - idle)
                continue
            sent = time.monotonic()
            try:
                await conn.send("ping")
            except websockets.exceptions.ConnectionClosed:
                return
            self.stats.pings += 1
            await asyncio.sleep(o.pong_timeout_s)
            if conn.last_recv < sent:
                self.stats.pong_timeouts += 1
                conn.close_reason = f"no pong within {o.pong_timeout_s:g} s"
                log.warning("%s socket %s: %s, replacing it", conn.role, conn, conn.close_reason)
                conn.ws.transport.abort()  # the reader ends; the supervisor reconnects
                return

    def _on_frame(self, conn: _Conn, raw: str | bytes) -> None:
        recv_ns = time.time_ns()
        conn.last_recv = time.monotonic()
        stats = self.stats
        stats.frames += 1
        if raw == "pong":
            stats.pongs += 1
            return
        try:
            events = parse_frame(raw, recv_ns)
            tap: tuple[str, str] | None = None
            for ev in events:
                if isinstance(ev, _DATA_TYPES):
                    if self._accept(conn, ev):
                        tap = tap or (channel_of(ev), _scope(ev))
                elif isinstance(ev, ParseError):
                    stats.parse_errors += 1
                    self._warn("parse", "unreadable frame on %s: %s: %.200s", conn, ev.reason, ev.raw)
                elif not isinstance(ev, Pong):
                    self._control(conn, ev)
                    tap = tap or (CONTROL, "_")
            if tap is not None and self.on_frame is not None:
                self.on_frame(raw, recv_ns, tap[0], tap[1])
        except Exception:  # a bug in a handler must not end the reader
            stats.handler_errors += 1
            log.exception("error handling a frame on %s: %.200r", conn, raw)

    def _accept(self, conn: _Conn, ev: Any) -> bool:
        """Queue a data event unless it duplicates one already passed on during a 64008 overlap."""
        channel = channel_of(ev)
        key = (channel, _scope(ev))
        now = time.monotonic()
        self._last_data[key] = now
        if isinstance(ev, BookMsg):
            seq, prev = ev.seq_id, ev.prev_seq_id
            if seq is not None:
                hwm = self._book_hwm.get(key)
                if hwm is not None and seq <= hwm and self._stale_book(conn, ev, hwm, now):
                    self.stats.duplicates[channel] += 1
                    return False
                if hwm is None or seq > hwm or prev == -1 or (prev is not None and seq < prev):
                    self._book_hwm[key] = seq
            if ev.action == "snapshot" and key in self._resubscribing:
                del self._resubscribing[key]
        elif self._overlap and now < self._overlap.get(conn.role, 0.0):
            seen = self._seen.setdefault(key, set())
            dk = _dedupe_key(ev)
            if dk in seen:
                self.stats.duplicates[channel] += 1
                return False
            seen.add(dk)
        self.stats.events[channel] += 1
        self.queue.put(ev)
        return True

    def _stale_book(self, conn: _Conn, ev: BookMsg, hwm: int, now: float) -> bool:
        """A book push at or below the highest seqId already passed on: a duplicate (OKX may send a
        message twice; a 64008 overlap sends everything twice) or a stale reordered update. Updates
        whose prevSeqId is behind that mark are dropped (keep-alives and sequence resets name the
        mark itself and pass); snapshots and top-N pushes only while connections overlap — alone,
        an old-looking snapshot is a sequence reset and must replace the book."""
        prev = ev.prev_seq_id
        if ev.action == "update" and prev is not None and prev != -1:
            return prev < hwm
        return bool(self._overlap) and now < self._overlap.get(conn.role, 0.0)

    def _control(self, conn: _Conn, ev: Event) -> None:
        if isinstance(ev, Subscribed):
            conn.conn_id = conn.conn_id or ev.conn_id
            key = arg_key(ev.arg)
            if not ev.unsubscribed:
                fut = conn.acks.get(key)
                if fut is not None and not fut.done():
                    fut.set_result(True)
                rid = conn.key_req.pop(key, None)
                if rid is not None:
                    self._answered(conn, rid)
        elif isinstance(ev, ErrorEvent):
            self.stats.error_events[ev.code] += 1
            conn.conn_id = conn.conn_id or ev.conn_id
            if conn.login is not None and not conn.login.done() and ev.code in LOGIN_ERROR_CODES:
                conn.login.set_result(ev)
            elif ev.id is not None and ev.id in self._ops:
                fut = self._ops[ev.id]
                if not fut.done():
                    fut.set_result(OpResponse(ev.id, "", ev.code, ev.msg, [], time.time_ns()))
            elif ev.id is not None and ev.id in conn.requests:
                conn.requests[ev.id].errors.append((ev.code, ev.msg))
                self._answered(conn, ev.id)
            self._warn(f"error{ev.code}", "OKX error on %s: code %s %s (request %s)", conn, ev.code, ev.msg, ev.id)
        elif isinstance(ev, Login):
            conn.conn_id = conn.conn_id or ev.conn_id
            if conn.login is not None and not conn.login.done():
                conn.login.set_result(ev)
        elif isinstance(ev, OpResponse):
            fut = self._ops.get(ev.id)
            if fut is not None and not fut.done():
                fut.set_result(ev)
        elif isinstance(ev, Notice):
            self.stats.notices[ev.code] += 1
            log.warning("%s socket %s: notice %s %s", conn.role, conn, ev.code, ev.msg)
            if ev.code == NOTICE_UPGRADE and conn.rollover is None and not self._closing:
                conn.rollover = self._spawn(self._rollover(conn), f"okx-rollover-{conn.role}")
        elif isinstance(ev, ChannelConnCount):
            if ev.error:
                self.stats.error_events["channel-conn-count-error"] += 1
                log.error("%s: over OKX's connection limit for channel %s (%d connections); this socket gets "
                          "no %s pushes", conn, ev.channel, ev.conn_count, ev.channel)

    def _answered(self, conn: _Conn, req_id: str) -> None:
        """An ack or error of a subscribe request came; once every arg is answered, the args without
        an ack were refused: dropped for good when the error is permanent, else kept for a retry."""
        req = conn.requests.get(req_id)
        if req is None:
            return
        unacked = [k for k in req.keys if not conn.acks[k].done()]
        if len(unacked) > len(req.errors):
            return
        del conn.requests[req_id]
        if not unacked:
            return
        permanent = any(code in PERMANENT_SUB_ERRORS for code, _ in req.errors)
        reason = "; ".join(f"{code} {msg}" for code, msg in req.errors)
        for key in unacked:
            conn.key_req.pop(key, None)
            conn.acks[key].set_result(False)
            if permanent:
                self.failed_args[key] = reason
                self._desired.pop(key, None)
                conn.args.pop(key, None)
            log.error("subscription %s:%s refused by OKX (%s); %s", key[0], key[1], reason,
                      "dropped" if permanent else "kept for the next attempt")

    # ===== 64008 rollover =======================================================================
    async def _rollover(self, old: _Conn) -> _Conn | None:
        """Open and subscribe a successor, then retire `old`; duplicates of the overlap are dropped."""
        role = old.role
        self._overlap[role] = float("inf")
        try:
            new = await self._establish(role)
        except (OSError, TimeoutError, LoginError, websockets.exceptions.WebSocketException) as e:
            log.warning("%s socket: rollover connection failed (%s); the old one serves until it closes",
                        role, _brief(e))
            self._end_overlap(role)
            return None
        self._conns[role] = new
        self.stats.rollovers[role] += 1
        log.info("%s socket: rolled over from %s to %s ahead of the service upgrade", role, old, new)
        await asyncio.sleep(self.options.rollover_grace_s)
        await self._close_conn(old, "retired after 64008 rollover")
        self._end_overlap(role)
        return new

    def _end_overlap(self, role: str) -> None:
        # the successor may still be behind the old socket: keep deduplicating a little longer
        self._overlap[role] = time.monotonic() + self.options.rollover_grace_s
        self._spawn(self._forget_overlap(role), f"okx-overlap-{role}")

    async def _forget_overlap(self, role: str) -> None:
        await asyncio.sleep(self.options.rollover_grace_s)
        if time.monotonic() >= self._overlap.get(role, 0.0):
            self._overlap.pop(role, None)
            if not self._overlap:
                self._seen.clear()

    # ===== maintenance: stale books, resync retries, REST seeding, private reconcile =============
    async def _maintenance(self) -> None:
        o = self.options
        period = max(0.05, min(1.0, o.stale_after_s / 4, o.snapshot_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for key in list(self._desired):
                if key[0] not in BOOK_CHANNELS or not self.connected(role_for(key[0])):
                    continue
                if key in self._resubscribing:
                    if now - self._resubscribing[key] > o.snapshot_timeout_s and self.books.resync_pending(*key):
                        del self._resubscribing[key]
                        self._spawn(self._seed_from_rest(*key), f"okx-seed-{key[1]}")
                    continue
                if now - self._last_data.get(key, now) > o.stale_after_s:
                    self.stats.stale_resyncs += 1
                    self._last_data[key] = now
                    self.books.invalidate(key[0], key[1], f"stale: no push for {o.stale_after_s:g} s")
            self.books.retry_resyncs(time.time_ns(), o.resync_timeout_s)

    async def _seed_from_rest(self, channel: str, inst_id: str, attempts: int = 3) -> None:
        """Protocol §3.4: no WS snapshot came after the resubscribe; build the book from REST plus the
        updates the keeper buffered."""
        for _ in range(attempts):
            try:
                data0 = await self.rest.books(inst_id)
            except (RestError, OSError) as e:
                log.warning("REST seed of %s %s failed: %s", channel, inst_id, e)
                return
            if not self.books.resync_pending(channel, inst_id):
                return  # a WS snapshot arrived meanwhile
            result = self.books.seed_from_rest(channel, inst_id, data0)
            self.stats.rest_seeds[str(result)] += 1
            if result is SeedResult.SEEDED:
                log.info("%s %s seeded from REST (seqId %s)", channel, inst_id, data0.get("seqId"))
                return

    async def _reconcile(self) -> None:
        """Open orders from REST after a private (re)connect: the `orders` channel has no snapshot."""
        try:
            orders = await self.rest.orders_pending()
        except (RestError, OSError) as e:
            log.error("open-order reconciliation failed: %s (orders may be stale until the next reconnect)", e)
            return
        self.open_orders = {o["ordId"]: o for o in orders}
        self.stats.reconciles += 1
        log.info("reconciled %d open order(s) over REST", len(orders))
        if self.on_open_orders is not None:
            self.on_open_orders(orders)

    # ===== misc =================================================================================
    def _book_dropped(self, msg: BookMsg) -> None:
        pending = self.books.resync_pending(msg.channel, msg.inst_id)
        self.books.invalidate(msg.channel, msg.inst_id, "update dropped from the full event queue")
        if pending and msg.action == "snapshot":
            # the dropped message was the answer to the resync in flight: ask again now
            self.resync(msg.channel, msg.inst_id, "resync snapshot dropped from the full event queue")

    def _warn(self, kind: str, fmt: str, *args: Any) -> None:
        n = self._warned[kind] = self._warned[kind] + 1
        if n <= 5 or n % _LOG_EVERY == 0:
            log.warning(fmt + (f" [{n} so far]" if n > 5 else ""), *args)


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


async def _successor(conn: _Conn) -> _Conn | None:
    """The connection that replaced `conn` in a 64008 rollover, if any."""
    if conn.rollover is None:
        return None
    try:
        return await asyncio.shield(conn.rollover)
    except Exception:
        return None


def _scope(ev: Any) -> str:
    if isinstance(ev, PrivatePush):
        return arg_key(ev.arg)[1]
    return ev.inst_id


def _dedupe_key(ev: Any) -> Any:
    if isinstance(ev, Trade):
        return ev.trade_id
    if isinstance(ev, Ticker):
        return (ev.ts_ms, ev.last, ev.bid_px, ev.bid_sz, ev.ask_px, ev.ask_sz)
    if isinstance(ev, Candle):
        return (ev.ts_ms, ev.close, ev.vol, ev.confirm)
    return orjson.dumps(ev.data)


def _close_text(ws: ClientConnection) -> str:
    code, reason = ws.close_code, ws.close_reason
    return f"close {code} {reason}".strip() if code is not None else "connection dropped"


def _brief(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__

