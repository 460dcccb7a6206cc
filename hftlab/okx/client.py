"""AsyncOKXClient: OKX v5 sockets by role, kept up, their data routed into one bounded queue.

    feed = MarketFeed(channels, timeframes)                   # owns the books (hftlab.marketdata.feed)
    client = AsyncOKXClient(Endpoints.from_venue(settings.venue), settings.client, books=feed)
    async with client:
        await client.subscribe(args_for(["books", "trades"], ["BTC-USDT"]))
        while True:
            update = feed.on_event(await client.get())        # Trade, BookMsg, Ticker, Candle, PrivatePush

The client composes parts that each own their state:

- `connection.Connection`: one socket (connect through the process-wide 3/s bucket, login, subscribe
  and acks within 480 ops/h, text ping/pong keepalive, the reader).
- here: the subscriptions wanted, and one supervisor per role that opens a socket when a
  subscription needs one — `public` (books, trades, tickers), `business` (candles, trades-all),
  `private` (login; orders, positions, account; trading ops) — and after an unplanned loss reconnects
  with capped exponential backoff and full jitter (`core.backoff`), reset once a connection has
  stayed up `stable_after_s`, logs in again and resubscribes everything.
- `event: notice, code 64008`: a successor is opened and subscribed *before* the old socket is
  closed (`rollover_grace_s` later); `overlap.OverlapFilter` drops what both deliver (and the
  duplicates OKX sends anyway), so consumers see neither a gap nor a duplicate.
- `bookhealth.BookHealth`: the books belong to `books` (a `BookOwner`: the MarketFeed). A lost
  connection invalidates every book it carried at once (a stale book is never served while
  reconnecting, hummingbot #5813), so does a book update dropped from the queue or a book silent for
  `stale_after_s`; the owner then asks `resync` for ONE fresh snapshot (unsubscribe + subscribe of
  that arg only), and a resync that brings no snapshot within `snapshot_timeout_s` is seeded from
  REST (§3.4).
- `queue.EventQueue`: the reader stamps `recv_ns` before parsing, and data goes to a bounded queue
  whose policy `queue.py` states (market events dropped first, a dropped book update invalidates its
  book, private pushes never dropped). OKX error events are counted and logged (rate-limited).
- Hostile input is counted, not trusted: a frame the parser refuses (bad JSON, unknown channel, a
  field of the wrong type or value: okx/parse.py) and a frame whose exchange times are implausible
  (ahead of local time, older than its stream's newest: okx/timestamps.py, checked after the
  de-duplication) are *malformed*: counted (`parse_errors`), logged (rate-limited), never passed on
  and never raised out of the reader. A book update refused this way is a missing update: the next
  one does not chain, and the book resyncs.
- `execution.OrderChannel` (`client.orders`): WS trading ops on the private socket, open-order
  reconciliation over REST after every private (re)connect, and private pushes (to the queue unless
  `on_private` takes them).

`on_frame(raw, recv_ns, channel, inst_id)` sees every frame that carried something new (the
recorder's raw tap), and every malformed frame, under channel `_malformed`, for forensics;
`on_malformed(parse_error)` gets each malformed frame's reason (the recorder's `parse_error` table).

Every task of the client is supervised (`core.tasks`, failures counted in `task_failures`): a role's
socket supervisor and the maintenance loop are restarted if they fail; one-off work (resyncs, REST
seeds, rollovers) is logged and counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import websockets

from hftlab.core.backoff import Backoff
from hftlab.core.metrics import Stats
from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import Credentials
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.okx.bookhealth import BookHealth, BookHealthStats, BookOwner
from hftlab.okx.channels import PRIVATE, ROLES, ArgKey, Endpoints, arg_key, role_for
from hftlab.okx.config import ClientConfig
from hftlab.okx.connection import CONNECT_LIMITER, Connection, LoginError, SocketStats
from hftlab.okx.events import (
    BookMsg,
    Candle,
    ErrorEvent,
    Event,
    Notice,
    OpResponse,
    ParseError,
    Pong,
    PrivatePush,
    Ticker,
    Trade,
)
from hftlab.okx.execution import ExecutionStats, OrderChannel
from hftlab.okx.overlap import OverlapFilter, OverlapStats
from hftlab.okx.parse import malformed, parse_frame
from hftlab.okx.queue import EventQueue, channel_of
from hftlab.okx.rest import OkxRest
from hftlab.okx.timestamps import TimestampGuard

log = logging.getLogger(__name__)

NOTICE_UPGRADE = "64008"
LOGIN_TS_EXPIRED = "60006"  # the login's timestamp is more than 30 s off OKX's clock
CONTROL = "_control"  # raw-frame channel of acks, errors, notices, login and op answers
MALFORMED = "_malformed"  # raw-frame channel of frames refused as malformed
_DATA_TYPES = (Trade, BookMsg, Ticker, Candle, PrivatePush)
_CONNECT_ERRORS = (OSError, TimeoutError, LoginError, websockets.exceptions.WebSocketException)
_LOG_EVERY = 1000  # after the first few, log every Nth occurrence of a repeated problem


@dataclass(slots=True)
class ClientStats(Stats):
    """The client's counters and, nested, those of the parts it is made of."""

    sockets: SocketStats
    overlap: OverlapStats
    books: BookHealthStats
    orders: ExecutionStats
    events: Counter = field(default_factory=Counter)  # channel -> events passed on
    connects: Counter = field(default_factory=Counter)  # role -> connections established
    connect_failures: Counter = field(default_factory=Counter)
    reconnects: Counter = field(default_factory=Counter)  # role -> unplanned losses followed by a reconnect
    rollovers: Counter = field(default_factory=Counter)  # role -> 64008 rollovers completed
    parse_errors: int = 0
    handler_errors: int = 0  # exceptions in frame handling
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks)


class AsyncOKXClient:
    def __init__(
        self,
        endpoints: Endpoints,
        config: ClientConfig | None = None,
        *,
        credentials: Credentials | None = None,
        books: BookOwner | None = None,
        on_frame: Callable[[str | bytes, int, str, str], None] | None = None,
        on_private: Callable[[PrivatePush], None] | None = None,
        on_open_orders: Callable[[list[dict]], None] | None = None,
        connect_limiter: TokenBucket | None = None,
        on_malformed: Callable[[ParseError], None] | None = None,
    ):
        self.endpoints = endpoints
        self.config = c = config or ClientConfig()
        self.credentials = credentials
        self.on_frame = on_frame
        self.on_malformed = on_malformed
        self.connect_limiter = connect_limiter or CONNECT_LIMITER
        self.queue = EventQueue(c.queue_maxsize, on_book_drop=self._book_dropped)
        self.rest = OkxRest(endpoints.rest, credentials, demo=endpoints.demo)
        self.overlap = OverlapFilter(c.rollover_grace_s)
        self.stamps = TimestampGuard(*(None if b is None else int(b * 1000) for b in (c.max_ts_ahead_s,
                                                                                       c.max_ts_behind_s)))
        self.health = BookHealth(c, books, resubscribe=self._resubscribe, connected=self.connected,
                                 fetch_books=self.rest.books)
        self.orders = OrderChannel(self.rest, on_push=on_private or self.queue.put, spawn=self._spawn,
                                   reconcile_orders=c.reconcile_orders, on_open_orders=on_open_orders)
        self.stats = ClientStats(SocketStats(), self.overlap.stats, self.health.stats, self.orders.stats)
        if books is not None:
            books.bind_resync(self.resync)
        self.failed_args: dict[ArgKey, str] = {}  # arg -> the OKX error that refused it
        self.last_close: dict[str, str] = {}  # role -> why its last connection ended
        self._desired: dict[ArgKey, dict] = {}
        self._conns: dict[str, Connection | None] = {r: None for r in ROLES}
        self._successors: dict[Connection, asyncio.Task] = {}  # conn -> the 64008 rollover replacing it
        self._roles: set[str] = set()  # roles with a socket supervisor
        self._tasks = Supervisor("okx-client", self.stats.task_failures)
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
            self._tasks.spawn(self._maintenance, "maintenance", OnFailure.RESTART, name="okx-maintenance")
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
                self.health.forget(key)
                self.overlap.forget(key)
                self.stamps.forget(key)
        for role, role_args in by_role.items():
            conn = self._conns[role]
            if conn is not None and conn.ready:
                await conn.unsubscribe(role_args)

    async def get(self) -> Event:
        return await self.queue.get()

    def get_batch(self, max_n: int = 1000) -> list[Event]:
        return self.queue.get_batch(max_n)

    def resync(self, channel: str, inst_id: str, reason: str) -> None:
        """Ask for a fresh snapshot of one book (the book owner's callback; one in flight per book)."""
        if not self._closing:
            self.health.resync(channel, inst_id, reason, time.monotonic())

    def connected(self, role: str) -> bool:
        conn = self._conns[role]
        return conn is not None and conn.ready

    def sockets_up(self) -> dict[str, bool]:
        """Every role in use (a socket is wanted for it) -> connected now (for monitoring)."""
        return {r: self.connected(r) for r in self._roles}

    def status(self) -> dict[str, Any]:
        return {
            "connections": {r: (c.conn_id or "connecting") if c else None for r, c in self._conns.items()
                            if r in self._roles},
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
        await self._tasks.close()
        conns = {c for c in [*self._conns.values(), *self._successors] if c is not None}
        await asyncio.gather(*(c.close("client closing") for c in conns), return_exceptions=True)
        self.queue.close()
        await self.rest.close()

    # ===== supervision ===========================================================================
    def _ensure(self, role: str) -> None:
        if self._tasks.current(f"supervisor-{role}") is None and not self._closing:
            self._roles.add(role)
            self._tasks.spawn(lambda: self._supervise(role), f"supervisor-{role}", OnFailure.RESTART,
                              name=f"okx-{role}")

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """One-off work (`name` is its task's name; its kind, for counting, is the name's first two words)."""
        return self._tasks.spawn(coro, "-".join(name.split("-")[:2]), name=name)

    async def _supervise(self, role: str) -> None:
        """Keep one healthy connection for `role`: connect, and after an unplanned loss reconnect
        with backoff. A 64008 rollover replaces the connection without counting as a loss."""
        c = self.config
        backoff = Backoff(c.backoff_initial_s, c.backoff_max_s)
        while not self._closing:
            try:
                conn = await self._establish(role)
            except _CONNECT_ERRORS as e:
                self.stats.connect_failures[role] += 1
                if isinstance(e, LoginError) and e.code == LOGIN_TS_EXPIRED:
                    await self.rest.try_sync_clock()  # the next login signs with the venue's time
                delay = backoff.next_delay()
                log.warning("%s socket: cannot connect to %s (%s); retrying in %.2f s", role,
                            self.endpoints.ws(role), _brief(e), delay)
                await asyncio.sleep(delay)
                continue
            self._conns[role] = conn
            while True:
                await asyncio.shield(conn.closed)
                successor = await self._successor(conn)
                if successor is None or self._closing:
                    break
                conn = successor
            if self._closing:
                return
            if self._conns[role] is conn:
                self._conns[role] = None
            self.health.lost(list(conn.args), conn.close_reason)
            self.last_close[role] = conn.close_reason
            self.stats.reconnects[role] += 1
            if time.monotonic() - conn.opened >= c.stable_after_s:
                backoff.reset()
            delay = backoff.next_delay()
            log.warning("%s socket %s lost (%s); reconnecting in %.2f s", role, conn, conn.close_reason, delay)
            await asyncio.sleep(delay)

    async def _establish(self, role: str) -> Connection:
        """Connect, log in (private), subscribe every wanted arg of the role and wait for the acks."""
        conn = await Connection.open(role, self.endpoints.ws(role), self.config, stats=self.stats.sockets,
                                     on_frame=self._on_frame, on_refused=self._refused, on_closed=self._closed,
                                     limiter=self.connect_limiter)
        try:
            if role == PRIVATE:
                await conn.login(self.credentials, self.rest.venue_now())
            await self._subscribe_on(conn, [a for k, a in self._desired.items() if role_for(k[0]) == role])
            # args added while we were subscribing
            late = [a for k, a in self._desired.items() if role_for(k[0]) == role and k not in conn.args]
            if late:
                await self._subscribe_on(conn, late)
        except BaseException:
            await conn.close("establishment failed")
            raise
        if conn.closed.done():
            raise OSError(f"connection closed while subscribing ({conn.close_reason})")
        conn.ready = True
        self.stats.connects[role] += 1
        log.info("%s socket %s up: %d subscriptions", role, conn, len(conn.args))
        if role == PRIVATE:
            self.orders.attach(conn)
        return conn

    async def _subscribe_on(self, conn: Connection, args: list[dict]) -> None:
        now = time.monotonic()
        for a in args:
            self.health.subscribed(arg_key(a), now)  # the stale clock starts at the request
        await conn.subscribe(args)

    def _resubscribe(self, channel: str, inst_id: str) -> bool:
        """Send one book resync (BookHealth's): False when its socket is down."""
        arg = self._desired.get((channel, inst_id))
        conn = self._conns[role_for(channel)]
        if arg is None or conn is None or not conn.ready:
            return False
        self._spawn(conn.resubscribe(arg), f"okx-resub-{channel}-{inst_id}")
        return True

    def _refused(self, key: ArgKey, reason: str, permanent: bool) -> None:
        if permanent:
            self.failed_args[key] = reason
            self._desired.pop(key, None)
        log.error("subscription %s:%s refused by OKX (%s); %s", key[0], key[1], reason,
                  "dropped" if permanent else "kept for the next attempt")

    def _closed(self, conn: Connection) -> None:
        if conn.role == PRIVATE:
            self.orders.detach(conn)

    # ===== 64008 rollover =======================================================================
    async def _rollover(self, old: Connection) -> Connection | None:
        """Open and subscribe a successor, then retire `old`; duplicates of the overlap are dropped."""
        role = old.role
        self.overlap.begin(role, time.monotonic())
        try:
            new = await self._establish(role)
        except _CONNECT_ERRORS as e:
            log.warning("%s socket: rollover connection failed (%s); the old one serves until it closes",
                        role, _brief(e))
            self.overlap.end(role, time.monotonic())
            return None
        self._conns[role] = new
        self.stats.rollovers[role] += 1
        log.info("%s socket: rolled over from %s to %s ahead of the service upgrade", role, old, new)
        await asyncio.sleep(self.config.rollover_grace_s)
        await old.close("retired after 64008 rollover")
        self.overlap.end(role, time.monotonic())
        return new

    async def _successor(self, conn: Connection) -> Connection | None:
        """The connection that replaced `conn` in a 64008 rollover, if any."""
        task = self._successors.pop(conn, None)
        if task is None:
            return None
        try:
            return await asyncio.shield(task)
        except Exception:
            return None

    # ===== reading ==============================================================================
    def _on_frame(self, conn: Connection, raw: str | bytes, recv_ns: int) -> None:
        try:
            events = parse_frame(raw, recv_ns)
            if type(events[0]) is ParseError:
                self._malformed(conn, events[0], raw)
                return
            now = time.monotonic()
            tap: tuple[str, str] | None = None
            fresh: list[tuple[Any, ArgKey]] = []
            for ev in events:
                if isinstance(ev, _DATA_TYPES):
                    key = (channel_of(ev), _scope(ev))
                    if self.overlap.accept(conn.role, key, ev, now):
                        fresh.append((ev, key))
                    elif type(ev) is BookMsg:
                        self.health.pushed(key, now, False)  # a duplicate still proves the book alive
                elif not isinstance(ev, Pong):
                    self._control(conn, ev)
                    tap = tap or (CONTROL, "_")
            if fresh:
                why = self.stamps.check([ev for ev, _ in fresh], recv_ns)
                if why is not None:
                    self._malformed(conn, malformed(why, raw, recv_ns), raw)
                    return
                for ev, key in fresh:
                    self._pass(ev, key, now)
                tap = tap or fresh[0][1]
            if tap is not None and self.on_frame is not None:
                self.on_frame(raw, recv_ns, tap[0], tap[1])
        except Exception:  # a bug in a handler must not end the reader
            self.stats.handler_errors += 1
            log.exception("error handling a frame on %s: %.200r", conn, raw)

    def _malformed(self, conn: Connection, err: ParseError, raw: str | bytes) -> None:
        """Counted, logged (rate-limited), recorded raw and with its reason; never passed on."""
        self.stats.parse_errors += 1
        self._warn("parse", "malformed frame on %s: %s: %.200s", conn, err.reason, err.raw)
        if self.on_frame is not None:
            self.on_frame(raw, err.recv_ns, MALFORMED, "_")
        if self.on_malformed is not None:
            self.on_malformed(err)

    def _pass(self, ev: Any, key: ArgKey, now: float) -> None:
        """A data event that is new and plausible: on to the books' health, the counters and its consumer."""
        if type(ev) is BookMsg:
            self.health.pushed(key, now, ev.action == "snapshot")
        self.stats.events[key[0]] += 1
        if type(ev) is PrivatePush:
            self.orders.route(ev)
        else:
            self.queue.put(ev)

    def _control(self, conn: Connection, ev: Event) -> None:
        conn.handle_control(ev)
        if isinstance(ev, (OpResponse, ErrorEvent)):
            self.orders.on_answer(ev)
        elif (isinstance(ev, Notice) and ev.code == NOTICE_UPGRADE and conn not in self._successors
              and not self._closing):
            self._successors[conn] = self._spawn(self._rollover(conn), f"okx-rollover-{conn.role}")

    # ===== maintenance ==========================================================================
    async def _maintenance(self) -> None:
        c = self.config
        period = max(0.05, min(1.0, c.stale_after_s / 4, c.snapshot_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            for channel, inst_id in self.health.tick(time.monotonic()):
                self._spawn(self.health.seed(channel, inst_id), f"okx-seed-{inst_id}")

    def _book_dropped(self, msg: BookMsg) -> None:
        self.health.dropped(msg, time.monotonic())

    def _warn(self, kind: str, fmt: str, *args: Any) -> None:
        n = self._warned[kind] = self._warned[kind] + 1
        if n <= 5 or n % _LOG_EVERY == 0:
            log.warning(fmt + (f" [{n} so far]" if n > 5 else ""), *args)


def _scope(ev: Any) -> str:
    if isinstance(ev, PrivatePush):
        return arg_key(ev.arg)[1]
    return ev.inst_id


def _brief(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
