"""OkxVenue: OKX (production, demo, or hftlab.sim) as an `ExecutionVenue` for the order manager.

    client = AsyncOKXClient(endpoints, ClientConfig(reconcile_orders=False), credentials=creds, books=feed)
    specs = await client.rest.trading_specs(["BTC-USDT", "BTC-USDT-SWAP"])  # InstrumentRefused: null code
    venue = OkxVenue(client, client.rest, specs)     # or any OkxRest with the same credentials and venue
    await client.start()
    await venue.start()                              # private channels subscribed, socket logged in
    manager = OrderManager(venue, journal, portfolio, config)
    await manager.start()
    venue.on_sent = runner.on_sent                   # tick-to-order (or the `on_sent=` keyword)
    ...
    await manager.shutdown(); await venue.close(); await client.close()

`open_venue(endpoints, credentials, inst_ids, **venue_kw)` does the first five lines with a client of
its own. The venue may share the client with market data: it takes over the private pushes only.
`venue.start()` may be left out (`stream()`, which the manager calls at its start, takes the pushes
over and subscribes by itself; until the private socket is up with our channels on it `connected`
is False, so the manager's first pass counts as a gap and it reconciles again on the UP), but then
the manager starts before the venue is known to be up.

It keeps every promise of hftlab/domain/venue.py; what is OKX's own is below.

**Instruments.** Built from `InstrumentSpec`s the venue itself listed (`OkxRest.trading_specs`, with
the trading environment's headers: demo codes differ from production). A spec without `instIdCode`
is refused at construction (`InstrumentRefused`, naming it): a code is never guessed. A request
about an instrument the venue was not built with is refused locally (51001), nothing sent.

**Writes** go out as WebSocket ops on the private socket (`client.orders`), `instIdCode` per item
and a fresh op `id` (the channel's), `expTime` on every place and amend (the earliest deadline of
the items). One item is the single op, 2..20 the batch op. Each answer item is classed by its
`sCode` through okx/outcomes.py (one table; unknown -> AMBIGUOUS), matched to its request by
position and clOrdId; an item the answer lacks is AMBIGUOUS.
- **REST fallback, per operation, only when the WS op provably did not execute**: the socket was
  not ready (`NotSent`: nothing was sent), or the gateway refused the whole op (`WS_OP_REFUSED`:
  60011, 60012, 60013, 60028, 64007 — the simulator's `reject_ws_ops`). The same items then go to
  the REST twin (`instId`, the `expTime` header with the same deadline). After a WS timeout or a
  socket that closed before the answer, every item is AMBIGUOUS and nothing is sent again: the op
  may have executed, and a copy would be a resend.
- REST writes are never retried; no connection at all is REFUSED (nothing left), a lost answer
  AMBIGUOUS. `transport=Transport.REST` sends every write over REST (the WS path unused).
- `on_sent(cl_ord_ids, wall_ns)`: the hook for tick-to-order latency. Called once per request with
  the clOrdIds it carries and `time.time_ns()` when its WebSocket frame had been written to the
  socket, or when its HTTP request was handed to the connection (REST). A REST fallback calls it
  again for its own request. Exceptions it raises are logged, never propagated.
- Spot market orders carry `tgtCcy=base_ccy` (`PlaceRequest.sz` is base units).

**Reads** are REST, signed: `query` (`GET /trade/order?instId=&clOrdId=`: the latest order with the
id; 51603 NOT_FOUND; anything else that is not an answer FAILED), `open_orders` (`orders-pending`,
every page of `page_limit`, filtered by tag), `fills_since` (the instrument's fills above a trade
id, ascending, every page: `fills` (3 days) walked back to the cursor, continued in `fills-history`
(3 months) when the cursor is older or absent; the venue's own liquidation/ADL trades, with
negative ids, are left to positions), `positions`, `balances`. A read that did not answer, or
answered with a record that cannot be read, raises VenueUnavailable: never a partial list.
`cancel_all_after(tag, timeout_s)` is the REST dead man's switch (1/s per tag; its budget bucket
says so).

**The private stream.** `start()` (or the first `stream()`) subscribes `orders` (instType ANY),
`positions` (instType ANY, events only: the initial snapshot, then changes) and
`balance_and_position`, and takes the private pushes over from the client's queue; `start` then
waits until the socket is logged in and subscribed. `connected`: the socket is up with our channels
on it. `stream()` yields, from then on: `OrderUpdate` for every `orders` item (its fill
inside), `PositionsSnapshot` for `positions` pushes (never claimed complete: a snapshot may be
paged) and for `balance_and_position` pushes that carry positions (liquidations and ADL show there;
its snapshot is complete), and
`StreamStatus` DOWN when the private socket is lost, UP once a new one is logged in and
resubscribed (or once our channels are on a socket that was up already). The `fills` channel is not used: it carries no fee and aggregates a taker's fills by
price under the last trade id, so booking it would lose fees and count trades twice; every fill
comes with its fee on `orders`. A push item that cannot be read is logged and counted
(`stats.unreadable`); the reconciliation that follows every gap, and the periodic one, recover it.

**Closing.** `close()` ends the stream (its iterator stops). The client is the caller's: stop the
manager first (`shutdown()`, or `detach()`), then close the venue, then the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from hftlab.core.metrics import Stats
from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import Credentials
from hftlab.core.tasks import Supervisor
from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import Fill
from hftlab.domain.venue import (
    AmendRequest, CancelRequest, Lookup, OrderLookup, PlaceRequest, PositionsSnapshot, StreamState, StreamStatus,
    VenueBalance, VenueEvent, VenueLimits, VenueOrder, VenuePosition, VenueUnavailable, WriteOutcome, WriteResult,
    all_pages, check_batch, check_caa_timeout,
)
from hftlab.okx import records
from hftlab.okx.channels import Endpoints
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import OpResponse, PrivatePush
from hftlab.okx.execution import NotSent, OrderChannel
from hftlab.okx.limits import OKX_LIMITS
from hftlab.okx.outcomes import ORDER_NOT_FOUND, WS_OP_REFUSED, outcome
from hftlab.okx.records import BadRecord
from hftlab.okx.rest import InstrumentRefused, OkxRest, RestAnswerLost, RestError, RestNotSent

log = logging.getLogger(__name__)

OP_TIMEOUT_S = 5.0
START_TIMEOUT_S = 30.0
PAGE_LIMIT = 100  # OKX's largest page for orders-pending and fills
PRIVATE_ARGS = (
    {"channel": "orders", "instType": "ANY"},
    {"channel": "positions", "instType": "ANY", "extraParams": '{"updateInterval": "0"}'},
    {"channel": "balance_and_position"},
)
UNKNOWN_INSTRUMENT = ("51001", "not an instrument of this venue")

Request = PlaceRequest | AmendRequest | CancelRequest
OnSent = Callable[[tuple[str, ...], int], None]


class Transport(StrEnum):
    WS = "ws"  # WebSocket ops; REST per operation when the WS op provably did not execute
    REST = "rest"  # every write over REST


@dataclass(frozen=True, slots=True)
class _Kind:
    """One write kind: its WS ops and REST paths (single, batch), whether expTime applies, its args."""

    ws_ops: tuple[str, str]
    rest_paths: tuple[str, str]
    expiring: bool
    args: Callable[..., dict[str, Any]]


_PLACE = _Kind(("order", "batch-orders"), ("/trade/order", "/trade/batch-orders"), True, records.place_args)
_AMEND = _Kind(("amend-order", "batch-amend-orders"), ("/trade/amend-order", "/trade/amend-batch-orders"), True,
               records.amend_args)
_CANCEL = _Kind(("cancel-order", "batch-cancel-orders"), ("/trade/cancel-order", "/trade/cancel-batch-orders"), False,
                records.cancel_args)


class PrivateClient(Protocol):
    """What the venue needs of AsyncOKXClient."""

    orders: OrderChannel
    rest: OkxRest

    async def subscribe(self, args: Iterable[Mapping[str, Any]]) -> None: ...


@dataclass(slots=True)
class VenueStats(Stats):
    ws_ops: int = 0
    rest_ops: int = 0
    rest_fallbacks: int = 0  # WS ops that provably did not execute, sent again over REST
    ambiguous_items: int = 0
    local_refusals: int = 0  # items about an instrument the venue was not built with
    unreadable: int = 0  # private push items that could not be read (logged)
    stream_drops: int = 0
    on_sent_errors: int = 0
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks)


class _Stream:
    """The one private-stream consumer; a new `stream()` ends the previous one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[VenueEvent | None] = asyncio.Queue()

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> VenueEvent:
        ev = await self.queue.get()
        if ev is None:
            raise StopAsyncIteration
        return ev

    def end(self) -> None:
        self.queue.put_nowait(None)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class OkxVenue:
    def __init__(self, client: PrivateClient, rest: OkxRest | None,
                 specs: Mapping[str, InstrumentSpec] | Iterable[InstrumentSpec], *, transport: Transport = Transport.WS,
                 op_timeout_s: float = OP_TIMEOUT_S, page_limit: int = PAGE_LIMIT, on_sent: OnSent | None = None,
                 limits: VenueLimits = OKX_LIMITS, start_timeout_s: float = START_TIMEOUT_S):
        """`client`: the AsyncOKXClient with credentials (its private socket, `client.orders`); `rest`:
        the signed REST client with the same credentials and environment (None: the client's own);
        `specs`: the instruments, as the venue lists them (`OkxRest.trading_specs`; a mapping
        instId -> spec is taken too). `on_sent` may also be assigned later (`venue.on_sent = ...`)."""
        self._specs: dict[str, InstrumentSpec] = {}
        for s in (specs.values() if isinstance(specs, Mapping) else specs):
            if s.inst_id_code is None:
                raise InstrumentRefused(f"{s.inst_id}: no instIdCode from the venue; WebSocket order ops cannot "
                                        "name it and it is not guessed")
            self._specs[s.inst_id] = s
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise ValueError(f"page_limit must be 1..{PAGE_LIMIT}, not {page_limit}")
        self._client = client
        self._orders = client.orders
        self._rest = rest if rest is not None else client.rest
        self.transport = Transport(transport)
        self._op_timeout_s = op_timeout_s
        self._page = page_limit
        self.on_sent = on_sent
        self._limits = limits
        self._start_timeout_s = start_timeout_s
        self.stats = VenueStats()
        self._marks: dict[str, Decimal] = {}  # instId -> the latest mark from the positions channel
        self._stream: _Stream | None = None
        self._up = asyncio.Event()
        self._subscription: asyncio.Task | None = None
        self._tasks = Supervisor("okx-venue", self.stats.task_failures)
        self._subscribed = False  # the private channels are among the client's subscriptions

    def __repr__(self) -> str:
        return f"OkxVenue({sorted(self._specs)}, transport={self.transport.value}, connected={self.connected})"

    @property
    def specs(self) -> dict[str, InstrumentSpec]:
        return dict(self._specs)

    # -- life -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the private pushes over, subscribe the private channels, and wait (bounded) until the
        private socket is logged in and subscribed; ConnectionError if it is not within the timeout.
        (`stream()` does the first two by itself; `start` is how a runner knows the venue is up before
        the order manager's first reconciliation.)"""
        await asyncio.shield(self._take_over())
        try:
            await asyncio.wait_for(self._up.wait(), self._start_timeout_s)
        except TimeoutError:
            raise ConnectionError(f"the private socket did not come up within {self._start_timeout_s:g} s") from None

    def _take_over(self) -> asyncio.Task:
        if self._subscription is None:
            self._orders.take_private(self._on_push, self._on_state)
            self._subscription = self._tasks.spawn(self._subscribe(), "subscribe", name="okx-venue-subscribe")
        return self._subscription

    async def _subscribe(self) -> None:
        await self._client.subscribe(PRIVATE_ARGS)
        self._subscribed = True
        if self._orders.ready and not self._up.is_set():
            self._on_state(True, "")  # the socket was up already; our channels are on it from now on

    async def close(self) -> None:
        if self._subscription is not None and not self._subscription.done():
            self._subscription.cancel()
        if self._stream is not None:
            self._stream.end()
            self._stream = None

    # -- ExecutionVenue: what it is ---------------------------------------------------------------

    @property
    def limits(self) -> VenueLimits:
        return self._limits

    @property
    def connected(self) -> bool:
        return self._subscribed and self._orders.ready

    def stream(self) -> _Stream:
        self._take_over()
        if self._stream is not None:
            self._stream.end()
        self._stream = _Stream()
        return self._stream

    # -- writes -----------------------------------------------------------------------------------

    async def place(self, requests: Sequence[PlaceRequest]) -> list[WriteResult]:
        return await self._write(_PLACE, requests)

    async def amend(self, requests: Sequence[AmendRequest]) -> list[WriteResult]:
        return await self._write(_AMEND, requests)

    async def cancel(self, requests: Sequence[CancelRequest]) -> list[WriteResult]:
        return await self._write(_CANCEL, requests)

    async def _write(self, kind: _Kind, requests: Sequence[Request]) -> list[WriteResult]:
        check_batch(len(requests))
        out: list[WriteResult | None] = [None] * len(requests)
        go = []
        for i, r in enumerate(requests):
            if r.inst_id in self._specs:
                go.append(i)
            else:
                self.stats.local_refusals += 1
                out[i] = WriteResult(WriteOutcome.REFUSED, r.cl_ord_id, UNKNOWN_INSTRUMENT[0],
                                     f"{r.inst_id}: {UNKNOWN_INSTRUMENT[1]}", req_id=getattr(r, "req_id", None))
        if go:
            for i, res in zip(go, await self._send(kind, [requests[i] for i in go])):
                out[i] = res
        return out  # type: ignore[return-value]

    async def _send(self, kind: _Kind, reqs: list[Request]) -> list[WriteResult]:
        batch = len(reqs) > 1
        exp = min(r.exp_time_ms for r in reqs) if kind.expiring else None  # type: ignore[union-attr]
        if self.transport is Transport.WS:
            args = [kind.args(r, self._specs[r.inst_id], ws=True) for r in reqs]
            sent_ns = time.monotonic_ns()
            self.stats.ws_ops += 1
            try:
                resp: OpResponse = await self._orders.send_op(kind.ws_ops[batch], args, timeout_s=self._op_timeout_s,
                                                              exp_time_ms=exp, on_sent=self._sent_hook(reqs))
            except NotSent as e:
                log.info("%s not sent over WS (%s): sending it over REST", kind.ws_ops[batch], e)
            except (ConnectionError, TimeoutError) as e:  # sent, no answer: it may have executed
                reason = f"no answer over WS: {type(e).__name__}: {e}".rstrip(": ")
                return self._all(reqs, WriteOutcome.AMBIGUOUS, "", reason, sent_ns)
            else:
                acked_ns = time.monotonic_ns()
                if resp.data or resp.code not in WS_OP_REFUSED:
                    return self._results(reqs, resp.code, resp.msg, resp.data, sent_ns, acked_ns,
                                         resp.in_time_us, resp.out_time_us)
                log.warning("%s refused by the WS gateway (%s %s): sending it over REST", kind.ws_ops[batch],
                            resp.code, resp.msg)
            self.stats.rest_fallbacks += 1
        return await self._rest_write(kind, reqs, exp)

    async def _rest_write(self, kind: _Kind, reqs: list[Request], exp: int | None) -> list[WriteResult]:
        batch = len(reqs) > 1
        args = [kind.args(r, self._specs[r.inst_id], ws=False) for r in reqs]
        sent_ns = time.monotonic_ns()
        self.stats.rest_ops += 1
        try:
            ans = await self._rest.post(kind.rest_paths[batch], args if batch else args[0], exp_time_ms=exp,
                                        timeout_s=self._op_timeout_s, on_sent=self._sent_hook(reqs))
        except RestNotSent as e:
            return self._all(reqs, WriteOutcome.REFUSED, "", f"not sent: {e}", sent_ns)
        except RestAnswerLost as e:
            return self._all(reqs, WriteOutcome.AMBIGUOUS, "", f"no answer over REST: {e}", sent_ns)
        return self._results(reqs, ans.code, ans.msg, ans.data, sent_ns, time.monotonic_ns(), ans.in_time_us,
                             ans.out_time_us)

    def _all(self, reqs: list[Request], oc: WriteOutcome, code: str, msg: str, sent_ns: int,
             acked_ns: int | None = None, in_us: int | None = None, out_us: int | None = None) -> list[WriteResult]:
        if oc is WriteOutcome.AMBIGUOUS:
            self.stats.ambiguous_items += len(reqs)
        return [WriteResult(oc, r.cl_ord_id, code, msg, None, getattr(r, "req_id", None), sent_ns, acked_ns, in_us,
                            out_us) for r in reqs]

    def _results(self, reqs: list[Request], code: str, msg: str, data: list[dict], sent_ns: int, acked_ns: int,
                 in_us: int | None, out_us: int | None) -> list[WriteResult]:
        """Per-item results of an answer. No items: the top-level code classes the whole request
        ("0"/"1"/"2" without items prove nothing)."""
        if not data:
            oc = WriteOutcome.AMBIGUOUS if code in ("0", "1", "2") else outcome(code)
            return self._all(reqs, oc, code, msg or "no items in the answer", sent_ns, acked_ns, in_us, out_us)
        aligned = len(data) == len(reqs)
        by_cl = {d.get("clOrdId"): d for d in data if d.get("clOrdId")}
        out = []
        for k, r in enumerate(reqs):
            item = data[k] if aligned and data[k].get("clOrdId") in (r.cl_ord_id, "", None) else by_cl.get(r.cl_ord_id)
            req_id = getattr(r, "req_id", None)
            if item is None:
                self.stats.ambiguous_items += 1
                out.append(WriteResult(WriteOutcome.AMBIGUOUS, r.cl_ord_id, code, "no answer for this item", None,
                                       req_id, sent_ns, acked_ns, in_us, out_us))
                continue
            s_code = str(item.get("sCode", ""))
            oc = outcome(s_code)
            if oc is WriteOutcome.AMBIGUOUS:
                self.stats.ambiguous_items += 1
            out.append(WriteResult(oc, r.cl_ord_id, s_code, str(item.get("sMsg", "")), item.get("ordId") or None,
                                   req_id, sent_ns, acked_ns, in_us, out_us))
        return out

    def _sent_hook(self, reqs: list[Request]) -> Callable[[int], None] | None:
        hook = self.on_sent
        if hook is None:
            return None
        ids = tuple(r.cl_ord_id for r in reqs)

        def sent(wall_ns: int) -> None:
            try:
                hook(ids, wall_ns)
            except Exception:  # a monitoring hook must not change what a write answers
                self.stats.on_sent_errors += 1
                log.exception("on_sent hook raised")
        return sent

    # -- reads ------------------------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, Any]) -> list[dict]:
        try:
            return await self._rest.get(path, params, private=True)
        except RestError as e:
            raise VenueUnavailable(str(e)) from e

    async def query(self, inst_id: str, cl_ord_id: str) -> OrderLookup:
        try:
            data = await self._rest.get("/trade/order", {"instId": inst_id, "clOrdId": cl_ord_id}, private=True)
        except RestError as e:
            lookup = Lookup.NOT_FOUND if e.code == ORDER_NOT_FOUND else Lookup.FAILED
            return OrderLookup(lookup, code=e.code, msg=e.msg)
        if not data:
            return OrderLookup(Lookup.FAILED, msg="an answer without the order")
        try:
            return OrderLookup(Lookup.FOUND, records.venue_order(data[0]))
        except BadRecord as e:
            log.error("query %s %s: %s", inst_id, cl_ord_id, e)
            return OrderLookup(Lookup.FAILED, msg=str(e))

    async def open_orders(self, tag: str | None = None) -> list[VenueOrder]:
        async def fetch(after: str | None) -> tuple[list[dict], str | None]:
            page = await self._get("/trade/orders-pending", {"after": after, "limit": self._page})
            return page, (page[-1].get("ordId") if len(page) >= self._page else None)

        rows = await all_pages(fetch)
        out: dict[str, VenueOrder] = {}
        for rec in rows:
            if tag is not None and (rec.get("tag") or "") != tag:
                continue
            try:
                vo = records.venue_order(rec)
            except BadRecord as e:
                raise VenueUnavailable(f"orders-pending: {e}") from None
            out.setdefault(vo.ord_id, vo)
        return list(out.values())

    async def fills_since(self, inst_id: str, after_trade_id: str | None) -> list[Fill]:
        spec = self._specs.get(inst_id)
        inst_type = spec.inst_type.value if spec is not None else ("SWAP" if inst_id.endswith("-SWAP") else "SPOT")
        floor = None if after_trade_id is None else int(after_trade_id)
        rows: list[dict] = []
        oldest_bill: str | None = None
        reached = False
        if floor is not None:
            recent, reached, oldest_bill = await self._walk_fills("/trade/fills", inst_type, inst_id, floor, None)
            rows += recent
        if floor is None or not reached:
            older, _, _ = await self._walk_fills("/trade/fills-history", inst_type, inst_id, floor, oldest_bill)
            rows += older
        fills: dict[str, Fill] = {}
        for rec in rows:
            try:
                if floor is not None and records.trade_number(rec) <= floor:
                    continue
                f = records.history_fill(rec)
            except BadRecord as e:
                raise VenueUnavailable(f"fills: {e}") from None
            if f is not None:
                fills.setdefault(f.trade_id, f)
        return sorted(fills.values(), key=lambda f: int(f.trade_id))

    async def _walk_fills(self, path: str, inst_type: str, inst_id: str, floor: int | None,
                          start_bill: str | None) -> tuple[list[dict], bool, str | None]:
        """Newest first from `start_bill` (exclusive) back to `floor`: (rows, whether the floor was
        reached, the oldest billId seen)."""
        reached = False
        oldest = start_bill

        async def fetch(after: str | None) -> tuple[list[dict], str | None]:
            nonlocal reached, oldest
            page = await self._get(path, {"instType": inst_type, "instId": inst_id, "after": after or start_bill,
                                          "limit": self._page})
            if page:
                oldest = page[-1].get("billId") or oldest
            try:
                if floor is not None and any(0 <= records.trade_number(r) <= floor for r in page):
                    reached = True
            except BadRecord as e:
                raise VenueUnavailable(f"{path}: {e}") from None
            return page, (oldest if len(page) >= self._page and not reached else None)

        rows = await all_pages(fetch)
        return rows, reached, oldest

    async def positions(self) -> list[VenuePosition]:
        rows = await self._get("/account/positions", {})
        try:
            out = [records.position(r) for r in rows if r.get("pos") not in ("", None)]
        except BadRecord as e:
            raise VenueUnavailable(f"positions: {e}") from None
        return [p for p in out if p.qty]

    async def balances(self) -> list[VenueBalance]:
        rows = await self._get("/account/balance", {})
        try:
            return [b for r in rows for b in records.balances(r)]
        except BadRecord as e:
            raise VenueUnavailable(f"balance: {e}") from None

    async def cancel_all_after(self, tag: str, timeout_s: int) -> WriteResult:
        check_caa_timeout(timeout_s)
        sent_ns = time.monotonic_ns()
        try:
            ans = await self._rest.post("/trade/cancel-all-after", {"timeOut": str(timeout_s), "tag": tag},
                                        timeout_s=self._op_timeout_s)
        except RestNotSent as e:
            return WriteResult(WriteOutcome.REFUSED, "", "", f"not sent: {e}", sent_ns=sent_ns)
        except RestAnswerLost as e:
            return WriteResult(WriteOutcome.AMBIGUOUS, "", "", f"no answer: {e}", sent_ns=sent_ns)
        if ans.code == "0":
            oc = WriteOutcome.ACCEPTED if ans.data else WriteOutcome.AMBIGUOUS
        else:
            oc = outcome(ans.code)
        return WriteResult(oc, "", ans.code, ans.msg, sent_ns=sent_ns, acked_ns=time.monotonic_ns(),
                           venue_in_us=ans.in_time_us, venue_out_us=ans.out_time_us)

    # -- the private stream -----------------------------------------------------------------------

    def _emit(self, ev: VenueEvent) -> None:
        if self._stream is not None:
            self._stream.queue.put_nowait(ev)

    def _on_state(self, up: bool, reason: str) -> None:
        if up and not self._subscribed:
            return  # up, but our channels are not on it yet: `_subscribe` says UP once they are
        if up:
            self._up.set()
        else:
            self._up.clear()
            self.stats.stream_drops += 1
        self._emit(StreamStatus(StreamState.UP if up else StreamState.DOWN, _now_ms(), reason))

    def _on_push(self, ev: PrivatePush) -> None:
        try:
            if ev.channel == "orders":
                for item in ev.data:
                    self._emit(records.order_update(item))
            elif ev.channel == "positions":
                self._positions_push(ev)
            elif ev.channel == "balance_and_position":
                for item in ev.data:
                    positions = records.bp_positions(item, self._marks)
                    if positions:
                        self._emit(PositionsSnapshot(tuple(positions), max(p.ts_ms for p in positions),
                                                     complete=item.get("eventType") == "snapshot"))
        except BadRecord as e:
            self.stats.unreadable += 1
            log.error("unreadable %s push (reconciliation recovers it): %s", ev.channel, e)

    def _positions_push(self, ev: PrivatePush) -> None:
        positions = [records.position(r) for r in ev.data if r.get("pos") not in ("", None)]
        for p in positions:
            self._marks[p.inst_id] = p.mark_px
        ts = max((p.ts_ms for p in positions), default=ev.recv_ns // 1_000_000)
        # A positions snapshot may come in pages (the parsed push keeps no curPage/lastPage): none
        # is claimed complete.
        self._emit(PositionsSnapshot(tuple(positions), ts, complete=False))



async def open_venue(endpoints: Endpoints, credentials: Credentials, inst_ids: Iterable[str], *,
                     client_config: ClientConfig | None = None, connect_limiter: TokenBucket | None = None,
                     **venue_kw: Any) -> tuple[AsyncOKXClient, OkxVenue]:
    """A started client and venue for `inst_ids` (see the module doc for the order). `client_config`
    defaults to `ClientConfig(reconcile_orders=False)`; `venue_kw` go to OkxVenue. Close the venue,
    then the client."""
    config = client_config if client_config is not None else ClientConfig(reconcile_orders=False)
    client = AsyncOKXClient(endpoints, config, credentials=credentials, connect_limiter=connect_limiter)
    try:
        specs = await client.rest.trading_specs(inst_ids)
        venue = OkxVenue(client, client.rest, specs, **venue_kw)
        await client.start()
        await venue.start()
    except BaseException:
        await client.close()
        raise
    return client, venue
