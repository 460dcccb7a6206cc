"""Orders on OKX: the WS trading op, open-order reconciliation, and where private pushes go.

`OrderChannel` is the trading side of the private socket; `AsyncOKXClient` keeps that socket up
(login, subscriptions, reconnects, 64008 rollovers) and exposes the channel as `client.orders`.
What it offers the order manager (the OKX execution venue is built on it):

- `ready`: the private socket is logged in and subscribed; ops can be sent.
- `await send_op(op, args, timeout_s=5.0, exp_time_ms=None, on_sent=None) -> OpResponse`: one WS trading op
  (`order`, `batch-orders`, `cancel-order`, `batch-cancel-orders`, `amend-order`, `batch-amend-orders`;
  protocol §5.1) with a fresh `id` (`o1`, `o2`, ...), answered by the response carrying that id.
  Instruments are named by `instIdCode` (`InstrumentSpec.inst_id_code`, from `OkxRest.instrument_specs`).
  `exp_time_ms` sets OKX's `expTime`: a request arriving later is refused (50037) instead of executed.
  `on_sent(wall_ns)` is called once the frame has been written to the socket (`time.time_ns()`).
  An error event answering the id comes back as an `OpResponse` with its code and no data. Raises
  `NotSent` (a ConnectionError) when the socket is not ready: nothing was sent, nothing executed.
  Raises ConnectionError when the socket closes before the answer and TimeoutError when no answer
  comes within `timeout_s`: then the op may or may not have executed, so the order is unknown until
  a query settles it (protocol §5.6; never resend).
- `await reconcile() -> list[dict] | None`: the open orders (`GET /api/v5/trade/orders-pending`, OKX's
  records), also kept in `open_orders` (ordId -> record) and handed to `on_open_orders`. The
  `orders` channel sends no snapshot, so this runs after every private (re)connect, rollovers
  included, when `reconcile_orders` is set (`ClientConfig.reconcile_orders`). None: the query failed
  (logged); `open_orders` keeps its previous content.
- private pushes (`orders`, `positions`, `account`, `fills`, ...; OKX's dicts, parsed as `PrivatePush`)
  arrive in order, de-duplicated across a 64008 overlap, never dropped, and go to `on_push`: by
  default the client's event queue, where they come out of `client.get()` with the market data.
- `take_private(on_push, on_state)`: the execution venue takes the private side over: pushes go to
  its `on_push` from then on, and `on_state(ready, reason)` hears every change of readiness: False
  when the private socket in use is lost (its pushes may be lost with it), True once a new one is
  logged in and subscribed. A 64008 rollover hands over without a gap and changes nothing.

What the client calls: `attach(conn)` when a private connection is ready (every later op goes to it),
`detach(conn)` when one closes (every op sent on it fails with ConnectionError: its answer can no
longer come), `on_answer(ev)` with every op answer and error event, `route(ev)` with every push.

Monitoring (pulled, never pushed): `stats` counts ops and the items OKX refused by `sCode`
(`rejects`); `latency` times each answered op by op name, from the request sent to its answer on this
process's clock (`ack`), and by OKX's own gateway stamps, `outTime - inTime` (`gateway`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import websockets

from hftlab.core.metrics import Histogram, Stats
from hftlab.okx.connection import Connection
from hftlab.okx.events import ErrorEvent, OpResponse, PrivatePush
from hftlab.okx.rest import OkxRest, RestError

log = logging.getLogger(__name__)

OP_TIMEOUT_S = 5.0

Spawn = Callable[[Coroutine[Any, Any, Any], str], asyncio.Task]


class NotSent(ConnectionError):
    """The private socket is not ready: the op was not sent, so it certainly did not execute."""


@dataclass(slots=True)
class ExecutionStats(Stats):
    ops_sent: int = 0
    ops_not_sent: int = 0  # refused before sending: the socket was not ready
    op_failures: int = 0  # ops sent that ended in ConnectionError or TimeoutError (outcome unknown)
    rejects: Counter = field(default_factory=Counter)  # sCode (or the op's code when no item says) -> items refused
    reconciles: int = 0
    reconcile_failures: int = 0


@dataclass(slots=True)
class OpLatency:
    """Seconds, by op name (`order`, `cancel-order`, ...)."""

    ack: defaultdict[str, Histogram] = field(default_factory=lambda: defaultdict(Histogram))
    gateway: defaultdict[str, Histogram] = field(default_factory=lambda: defaultdict(Histogram))


class OrderChannel:
    def __init__(self, rest: OkxRest, *, on_push: Callable[[PrivatePush], None], spawn: Spawn,
                 reconcile_orders: bool = True, on_open_orders: Callable[[list[dict]], None] | None = None):
        self.rest = rest
        self.reconcile_orders = reconcile_orders
        self.stats = ExecutionStats()
        self.latency = OpLatency()
        self.open_orders: dict[str, dict] = {}  # ordId -> OKX record, as of the last reconciliation
        self._on_push = on_push
        self._on_open_orders = on_open_orders
        self._spawn = spawn
        self._on_state: Callable[[bool, str], None] | None = None
        self._up = False  # a private socket is attached (logged in, subscribed) and not lost since
        self._conn: Connection | None = None
        self._ops: dict[str, tuple[asyncio.Future, Connection]] = {}  # op id -> (its answer, where it went)
        self._op_ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"OrderChannel(ready={self.ready}, in_flight={len(self._ops)}, open_orders={len(self.open_orders)})"

    @property
    def ready(self) -> bool:
        conn = self._conn
        return conn is not None and conn.ready and not conn.closed.done()

    # ----- the order manager's side ------------------------------------------------------------
    async def send_op(self, op: str, args: list[dict], *, timeout_s: float = OP_TIMEOUT_S,
                      exp_time_ms: int | None = None, on_sent: Callable[[int], None] | None = None) -> OpResponse:
        conn = self._conn
        if conn is None or not self.ready:
            self.stats.ops_not_sent += 1
            raise NotSent("the private socket is not connected and logged in")
        op_id = f"o{next(self._op_ids)}"
        fut = asyncio.get_running_loop().create_future()
        self._ops[op_id] = (fut, conn)
        req: dict[str, Any] = {"id": op_id, "op": op, "args": args}
        if exp_time_ms is not None:
            req["expTime"] = str(exp_time_ms)
        try:
            sent_ns = time.time_ns()
            try:
                await conn.send(req)
            except websockets.exceptions.ConnectionClosed as e:
                raise ConnectionError(f"private socket closed while sending {op}: {e}") from e
            self.stats.ops_sent += 1
            if on_sent is not None:
                on_sent(time.time_ns())
            resp = await asyncio.wait_for(fut, timeout_s)
            self._account(op, resp, sent_ns)
            return resp
        except (ConnectionError, TimeoutError):
            self.stats.op_failures += 1
            raise
        finally:
            self._ops.pop(op_id, None)

    def _account(self, op: str, resp: OpResponse, sent_ns: int) -> None:
        self.latency.ack[op].observe(max(0, resp.recv_ns - sent_ns) * 1e-9)
        if resp.in_time_us and resp.out_time_us:
            self.latency.gateway[op].observe(max(0, resp.out_time_us - resp.in_time_us) * 1e-6)
        refused = [d.get("sCode") for d in resp.data if d.get("sCode") not in (None, "", "0")]
        if refused:
            self.stats.rejects.update(refused)
        elif resp.code != "0" and not resp.data:
            self.stats.rejects[resp.code] += 1

    async def reconcile(self) -> list[dict] | None:
        try:
            orders = await self.rest.orders_pending()
        except (RestError, OSError) as e:
            self.stats.reconcile_failures += 1
            log.error("open-order reconciliation failed: %s (orders may be stale until the next reconnect)", e)
            return None
        self.open_orders = {o["ordId"]: o for o in orders}
        self.stats.reconciles += 1
        log.info("reconciled %d open order(s) over REST", len(orders))
        if self._on_open_orders is not None:
            self._on_open_orders(orders)
        return orders

    def take_private(self, on_push: Callable[[PrivatePush], None], on_state: Callable[[bool, str], None]) -> None:
        """Private pushes go to `on_push` from now on, readiness changes to `on_state` (module doc)."""
        self._on_push = on_push
        self._on_state = on_state

    # ----- the client's side ---------------------------------------------------------------------
    def attach(self, conn: Connection) -> None:
        """`conn` is the private socket now, logged in and subscribed."""
        self._conn = conn
        if not self._up:
            self._up = True
            if self._on_state is not None:
                self._on_state(True, "")
        if self.reconcile_orders:
            self._spawn(self.reconcile(), "okx-reconcile")

    def detach(self, conn: Connection) -> None:
        """`conn` closed: the ops sent on it will get no answer."""
        if self._conn is conn:
            self._conn = None
            if self._up:
                self._up = False
                if self._on_state is not None:
                    self._on_state(False, conn.close_reason or "private socket closed")
        err = ConnectionError(f"{conn.role} socket closed: {conn.close_reason}")
        for fut, sent_on in self._ops.values():
            if sent_on is conn and not fut.done():
                fut.set_exception(err)

    def on_answer(self, ev: OpResponse | ErrorEvent) -> None:
        """An op's answer, or an error event (only those naming an op in flight concern us)."""
        entry = self._ops.get(ev.id) if ev.id is not None else None
        if entry is None or entry[0].done():
            return
        if isinstance(ev, ErrorEvent):
            entry[0].set_result(OpResponse(ev.id, "", ev.code, ev.msg, [], time.time_ns()))
        else:
            entry[0].set_result(ev)

    def route(self, ev: PrivatePush) -> None:
        self._on_push(ev)
