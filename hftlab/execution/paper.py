"""The paper venue: an in-memory `ExecutionVenue` that behaves like a real one where the order
manager's safety depends on it, with deterministic, scriptable faults. It is how the manager's
logic is tested without a network; the OKX adapter runs the same conformance suite.

**Market.** `set_book(inst, bid, ask, bid_sz, ask_sz)` sets the touch (sizes None: unlimited);
marketable orders fill at the touch, as takers, up to its size (and use it up). `set_mark(inst, px,
fill_sz)` prints a trade at `px`: resting buys at or above it and sells at or below it fill, as
makers at their own price, up to `fill_sz` each (None: completely), so partial fills are a mark
away. Market orders take the touch and the rest is cancelled; IOC likewise; FOK fills completely or
is cancelled; a post-only order that would take is cancelled (cancel source POST_ONLY); a limit
takes what is marketable and rests the remainder. Fees: maker/taker rates on the notional, paid in
the quote currency (negative). Spot moves balances (a buy needs the quote, a sell the base); a swap
keeps a net position (through `portfolio.positions.Position`) and books fees and realised PnL to
the settle currency. `reduce_only` is recorded, not enforced.

**Venue rules kept as a real venue keeps them.** A clOrdId is refused (DUPLICATE) only while an
order with it is pending; after it is terminal the id opens a new order, and `query` returns the
latest. A request arriving after its `exp_time_ms` is refused ("expired") and does nothing. Rate
limits are enforced exactly (sliding windows over `limits`): a call over a limit is refused whole
("rate_limited"). Cancel-All-After per tag: when the deadline passes (checked on every call and on
`tick()`), the tag's pending orders are cancelled with source DEAD_MAN_SWITCH; other tags and
untagged orders stay. Pushes are enqueued before a write answers; with `pushes_first` (the default)
the answer yields once, so the consumer takes the pushes before the caller gets the ack; without it
the caller sees the answer first (the common order on a real venue). `history_ms` (optional) forgets terminal orders
that never filled after that long, as OKX does for cancelled ones.

**Faults** (`inject(kind, op, cl_ord_id=None, times=1)`), applied to a whole call:
- DROP_ACK: the request executes; its answer is lost (AMBIGUOUS, no code).
- AMBIGUOUS_AFTER: the request executes; the answer is an ambiguous code ("internal_error").
- NEVER_RECEIVE: the request is lost on the way: nothing executes; AMBIGUOUS (timeout).
- HOLD: the request waits in transit until `release(deliver=...)`: delivered, it executes then (its
  deadline checked at that moment) whether or not its sender still waits; not delivered, it is lost.
- DELAY: the sender times out at once (AMBIGUOUS) while the request is still on the wire; it arrives
  at `release()`, its deadline checked then (a late one is dropped, as the venue promises).
- FILL_BEFORE_CANCEL: the order fills completely just before the cancel arrives: EVIDENCE_NEEDED.
- UNAVAILABLE: a read raises VenueUnavailable (a query answers FAILED); a write answers AMBIGUOUS
  without executing.
- STALL_PAGING: a paged read's cursor stops moving (the walk raises PagingStalled).
Outside calls: `liquidate(inst, qty)` moves a swap position with no order update and no fill (only
a positions push); `drop_stream()` / `restore_stream()`: while down, every push is lost.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import (
    AmendResult, CancelSource, ExecType, Fill, OrderState, OrderUpdate, OrdType, Side,
)
from hftlab.domain.venue import (
    AmendRequest, CancelRequest, Lookup, Op, OrderLookup, PlaceRequest, PositionsSnapshot, RateLimit,
    Scope, StreamState, StreamStatus, Unit, VenueBalance, VenueEvent, VenueLimits, VenueOrder, VenuePosition,
    VenueUnavailable, WriteOutcome, WriteResult, all_pages, check_batch, check_caa_timeout, write_op,
)
from hftlab.execution.clock import Clock
from hftlab.portfolio.positions import Position

ZERO = Decimal(0)
RATE_LIMITED = "rate_limited"


def _rl(name: str, ops: Iterable[Op], limit: int, window_s: float, scope: Scope,
        unit: Unit = Unit.REQUEST) -> RateLimit:
    return RateLimit(name, frozenset(ops), limit, window_s, scope, unit)


# OKX's numbers (okx-v5-protocol.md §5.1, §5.2), keyed as OKX keys them.
PAPER_LIMITS = VenueLimits((
    _rl("place", [Op.PLACE], 60, 2.0, Scope.INSTRUMENT),
    _rl("place_batch", [Op.PLACE_BATCH], 300, 2.0, Scope.INSTRUMENT, Unit.ITEM),
    _rl("amend", [Op.AMEND], 60, 2.0, Scope.INSTRUMENT),
    _rl("amend_batch", [Op.AMEND_BATCH], 300, 2.0, Scope.INSTRUMENT, Unit.ITEM),
    _rl("cancel", [Op.CANCEL], 60, 2.0, Scope.INSTRUMENT),
    _rl("cancel_batch", [Op.CANCEL_BATCH], 300, 2.0, Scope.INSTRUMENT, Unit.ITEM),
    _rl("new_and_amend", [Op.PLACE, Op.PLACE_BATCH, Op.AMEND, Op.AMEND_BATCH], 1000, 2.0, Scope.ACCOUNT, Unit.ITEM),
    _rl("query", [Op.QUERY], 60, 2.0, Scope.INSTRUMENT),
    _rl("open_orders", [Op.OPEN_ORDERS], 60, 2.0, Scope.ACCOUNT),
    _rl("fills", [Op.FILLS], 60, 2.0, Scope.ACCOUNT),
    _rl("positions", [Op.POSITIONS], 10, 2.0, Scope.ACCOUNT),
    _rl("balances", [Op.BALANCES], 10, 2.0, Scope.ACCOUNT),
    _rl("cancel_all_after", [Op.CANCEL_ALL_AFTER], 1, 1.0, Scope.ACCOUNT),
), frozenset({RATE_LIMITED}))


class Fault(StrEnum):
    DROP_ACK = "drop_ack"
    AMBIGUOUS_AFTER = "ambiguous_after"
    NEVER_RECEIVE = "never_receive"
    HOLD = "hold"
    DELAY = "delay"
    FILL_BEFORE_CANCEL = "fill_before_cancel"
    UNAVAILABLE = "unavailable"
    STALL_PAGING = "stall_paging"


@dataclass(slots=True)
class _Armed:
    kind: Fault
    op: str  # place | amend | cancel | query | open_orders | fills | positions | balances | cancel_all_after
    cl_ord_id: str | None
    times: int


@dataclass(slots=True)
class _Order:
    ord_id: str
    cl_ord_id: str
    tag: str
    inst_id: str
    side: Side
    ord_type: OrdType
    sz: Decimal
    px: Decimal | None
    reduce_only: bool
    created_ms: int
    state: OrderState = OrderState.LIVE
    acc: Decimal = ZERO
    notional: Decimal = ZERO
    updated_ms: int = 0
    cancel_source: CancelSource | None = None
    last_amend: tuple[str, AmendResult] | None = None

    @property
    def avg(self) -> Decimal:
        return self.notional / self.acc if self.acc else ZERO

    @property
    def remaining(self) -> Decimal:
        return self.sz - self.acc

    def record(self) -> VenueOrder:
        return VenueOrder(self.inst_id, self.cl_ord_id, self.ord_id, self.tag, self.side, self.ord_type, self.sz,
                          self.px, self.state, self.acc, self.avg, self.created_ms, self.updated_ms, self.reduce_only,
                          self.cancel_source, self.last_amend)


@dataclass(slots=True)
class _Book:
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_sz: Decimal | None = None  # None: unlimited
    ask_sz: Decimal | None = None
    mark: Decimal | None = None


@dataclass(slots=True)
class _Held:
    handler: object
    requests: tuple
    future: asyncio.Future
    sent_ns: int


class _Subscription:
    """The one private-stream consumer (a new `stream()` replaces it, as a reconnect does)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> VenueEvent:
        if self.closed and self.queue.empty():
            raise StopAsyncIteration
        ev = await self.queue.get()
        if ev is None:
            raise StopAsyncIteration
        return ev


@dataclass(slots=True)
class PaperLog:
    """What reached the venue, for tests: every call as sent (lost ones included) and every order made."""

    sent: dict[str, list[tuple]] = field(default_factory=dict)  # op -> requests of each call
    created: list[_Order] = field(default_factory=list)

    def sent_items(self, op: str) -> list:
        return [r for call in self.sent.get(op, []) for r in call]


class PaperVenue:
    def __init__(self, specs: Iterable[InstrumentSpec], clock: Clock, *, balances: Mapping[str, Decimal] | None = None,
                 limits: VenueLimits = PAPER_LIMITS, maker_fee: Decimal = Decimal("0.0002"),
                 taker_fee: Decimal = Decimal("0.0005"), page_size: int = 100, max_pending: int = 500,
                 history_ms: int | None = None, duplicate_pushes: bool = False, pushes_first: bool = True):
        self._specs = {s.inst_id: s for s in specs}
        self._clock = clock
        self._limits = limits
        self._maker, self._taker = maker_fee, taker_fee
        self._page = page_size
        self._max_pending = max_pending
        self._history_ms = history_ms
        self._duplicate_pushes = duplicate_pushes
        self._pushes_first = pushes_first
        self._books = {inst: _Book() for inst in self._specs}
        self._orders: dict[str, _Order] = {}  # ord_id -> order, in creation order
        self._latest: dict[str, str] = {}  # clOrdId -> ord_id of the latest order with it
        self._fills: dict[str, list[Fill]] = {inst: [] for inst in self._specs}
        self._positions = {inst: Position(s) for inst, s in self._specs.items() if s.is_swap}
        self._pos_ts: dict[str, int] = {}
        self._balances: dict[str, Decimal] = dict(balances or {})
        self._ord_ids = itertools.count(5_000_000_001)
        self._trade_ids = {inst: itertools.count(1_000) for inst in self._specs}
        self._windows: dict[tuple[str, str], deque] = {}
        self._caa: dict[str, int] = {}  # tag -> venue deadline (ms)
        self._faults: list[_Armed] = []
        self._held: list[_Held] = []
        self._sub: _Subscription | None = None
        self._up = True
        self.log = PaperLog()

    # -- test controls ----------------------------------------------------------------------------

    def inject(self, kind: Fault, op: str, cl_ord_id: str | None = None, times: int = 1) -> None:
        self._faults.append(_Armed(Fault(kind), op, cl_ord_id, times))

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def held(self) -> int:
        return len(self._held)

    def release(self, *, deliver: bool = True) -> None:
        """Let every held request arrive now (`deliver`) or be lost."""
        held, self._held = self._held, []
        for h in held:
            if deliver:
                self._tick()
                results = h.handler(h.requests, h.sent_ns)  # type: ignore[operator]
            else:
                results = [self._timeout(r, h.sent_ns) for r in h.requests]
            if not h.future.done():
                h.future.set_result(results)

    def set_book(self, inst_id: str, bid: Decimal | None, ask: Decimal | None, *, bid_sz: Decimal | None = None,
                 ask_sz: Decimal | None = None) -> None:
        b = self._books[inst_id]
        b.bid, b.ask, b.bid_sz, b.ask_sz = bid, ask, bid_sz, ask_sz
        if b.mark is None and bid is not None and ask is not None:
            b.mark = (bid + ask) / 2

    def set_mark(self, inst_id: str, px: Decimal, fill_sz: Decimal | None = None) -> int:
        """A trade prints at `px`: crossing resting orders fill (each up to `fill_sz`). Returns how many filled."""
        self._tick()
        self._books[inst_id].mark = px
        n = 0
        for o in self._pending(inst_id):
            if o.px is None or not (o.px >= px if o.side is Side.BUY else o.px <= px):
                continue
            sz = o.remaining if fill_sz is None else min(o.remaining, fill_sz)
            if sz > 0:
                self._fill(o, o.px, sz, ExecType.MAKER)
                n += 1
        return n

    def fill_order(self, cl_ord_id: str, sz: Decimal | None = None) -> None:
        """Fill one pending order at its own price (a maker fill), completely or by `sz`."""
        o = self._pending_by(cl_ord_id, None)
        if o is None:
            raise ValueError(f"no pending order {cl_ord_id}")
        px = o.px if o.px is not None else self._books[o.inst_id].mark
        self._fill(o, px, o.remaining if sz is None else min(sz, o.remaining), ExecType.MAKER)

    def liquidate(self, inst_id: str, qty: Decimal = ZERO) -> None:
        """The venue moves a swap position to `qty` (a liquidation, an ADL): no order update, no fill."""
        pos = self._positions[inst_id]
        mark = self._mark(inst_id)
        now = self._clock.time_ms()
        pos.replace(qty, None, mark, now)
        self._pos_ts[inst_id] = now
        self._push(PositionsSnapshot((self._venue_position(inst_id),), now, complete=False))

    def drop_stream(self, reason: str = "connection lost") -> None:
        if self._up:
            self._push(StreamStatus(StreamState.DOWN, self._clock.time_ms(), reason))
            self._up = False

    def restore_stream(self) -> None:
        if not self._up:
            self._up = True
            self._push(StreamStatus(StreamState.UP, self._clock.time_ms()))

    def tick(self) -> None:
        """Fire the timers that are due (Cancel-All-After) at the clock's time."""
        self._tick()

    @property
    def undelivered(self) -> int:
        return 0 if self._sub is None else self._sub.queue.qsize()

    def venue_open(self, tag: str | None = None) -> list[VenueOrder]:
        return [o.record() for o in self._orders.values() if not o.state.terminal and (tag is None or o.tag == tag)]

    def all_fills(self) -> list[Fill]:
        return [f for fills in self._fills.values() for f in fills]

    def balance(self, ccy: str) -> Decimal:
        return self._balances.get(ccy, ZERO)

    def position_qty(self, inst_id: str) -> Decimal:
        return self._positions[inst_id].qty

    # -- ExecutionVenue ---------------------------------------------------------------------------

    @property
    def limits(self) -> VenueLimits:
        return self._limits

    @property
    def connected(self) -> bool:
        return self._up

    def stream(self) -> _Subscription:
        if self._sub is not None:
            self._sub.closed = True
            self._sub.queue.put_nowait(None)
        self._sub = _Subscription()
        return self._sub

    async def place(self, requests: Sequence[PlaceRequest]) -> list[WriteResult]:
        return await self._write("place", Op.PLACE, requests, self._do_place)

    async def amend(self, requests: Sequence[AmendRequest]) -> list[WriteResult]:
        return await self._write("amend", Op.AMEND, requests, self._do_amend)

    async def cancel(self, requests: Sequence[CancelRequest]) -> list[WriteResult]:
        return await self._write("cancel", Op.CANCEL, requests, self._do_cancel)

    async def query(self, inst_id: str, cl_ord_id: str) -> OrderLookup:
        self._tick()
        fault = self._take("query", [cl_ord_id])
        if fault is Fault.UNAVAILABLE or not self._admit(Op.QUERY, {inst_id: 1}):
            return OrderLookup(Lookup.FAILED, code="unavailable" if fault else RATE_LIMITED)
        await asyncio.sleep(0)
        ord_id = self._latest.get(cl_ord_id)
        o = None if ord_id is None else self._orders.get(ord_id)
        if o is None or o.inst_id != inst_id or self._forgotten(o):
            return OrderLookup(Lookup.NOT_FOUND, code="not_found", msg="order does not exist")
        return OrderLookup(Lookup.FOUND, o.record())

    async def open_orders(self, tag: str | None = None) -> list[VenueOrder]:
        stall = self._read_gate("open_orders", Op.OPEN_ORDERS)
        rows = sorted((o for o in self._orders.values() if not o.state.terminal and (tag is None or o.tag == tag)),
                      key=lambda o: int(o.ord_id))

        async def page(cursor: int | None):
            if stall is Fault.STALL_PAGING and cursor is not None:
                return rows[:self._page], cursor  # the cursor does not move
            chunk = [o for o in rows if cursor is None or int(o.ord_id) > cursor][:self._page]
            nxt = int(chunk[-1].ord_id) if len(chunk) == self._page else None
            return [o.record() for o in chunk], nxt
        return await all_pages(page)

    async def fills_since(self, inst_id: str, after_trade_id: str | None) -> list[Fill]:
        stall = self._read_gate("fills", Op.FILLS)
        after = None if after_trade_id is None else int(after_trade_id)
        rows = [f for f in self._fills.get(inst_id, []) if after is None or int(f.trade_id) > after]

        async def page(cursor: int | None):
            if stall is Fault.STALL_PAGING and cursor is not None:
                return rows[:self._page], cursor
            chunk = [f for f in rows if cursor is None or int(f.trade_id) > cursor][:self._page]
            nxt = int(chunk[-1].trade_id) if len(chunk) == self._page else None
            return chunk, nxt
        return await all_pages(page)

    async def positions(self) -> list[VenuePosition]:
        self._read_gate("positions", Op.POSITIONS)
        return [self._venue_position(inst) for inst, p in self._positions.items() if p.qty]

    async def balances(self) -> list[VenueBalance]:
        self._read_gate("balances", Op.BALANCES)
        now = self._clock.time_ms()
        return [VenueBalance(ccy, amt, amt, now) for ccy, amt in sorted(self._balances.items())]

    async def cancel_all_after(self, tag: str, timeout_s: int) -> WriteResult:
        check_caa_timeout(timeout_s)
        self._tick()
        self.log.sent.setdefault("cancel_all_after", []).append(((tag, timeout_s),))
        sent = self._now_ns()
        if self._take("cancel_all_after", []) is Fault.UNAVAILABLE:
            return WriteResult(WriteOutcome.AMBIGUOUS, "", "timeout", "no answer", sent_ns=sent)
        if not self._admit(Op.CANCEL_ALL_AFTER, {"": 1}):
            return WriteResult(WriteOutcome.REFUSED, "", RATE_LIMITED, "rate limit", sent_ns=sent, acked_ns=sent)
        if timeout_s:
            self._caa[tag] = self._clock.time_ms() + timeout_s * 1000
        else:
            self._caa.pop(tag, None)
        await asyncio.sleep(0)
        return WriteResult(WriteOutcome.ACCEPTED, "", sent_ns=sent, acked_ns=self._now_ns())

    # -- request plumbing -------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return int(self._clock.monotonic() * 1e9)

    def _take(self, op: str, cl_ord_ids: Sequence[str]) -> Fault | None:
        for a in self._faults:
            if a.op == op and (a.cl_ord_id is None or a.cl_ord_id in cl_ord_ids):
                a.times -= 1
                if a.times <= 0:
                    self._faults.remove(a)
                return a.kind
        return None

    def _read_gate(self, op: str, limit_op: Op) -> Fault | None:
        self._tick()
        fault = self._take(op, [])
        if fault is Fault.UNAVAILABLE:
            raise VenueUnavailable(f"{op}: no answer")
        if not self._admit(limit_op, {"": 1}):
            raise VenueUnavailable(f"{op}: {RATE_LIMITED}")
        return fault

    def _admit(self, op: Op, counts: Mapping[str, int]) -> bool:
        """Within every limit of `op` (sliding windows)? If so the call is counted."""
        now = self._clock.monotonic()
        draws = []
        for rl in self._limits.for_op(op):
            if rl.scope is Scope.INSTRUMENT:
                parts = [(inst, n if rl.unit is Unit.ITEM else 1) for inst, n in counts.items() if n]
            else:
                parts = [("", sum(counts.values()) if rl.unit is Unit.ITEM else 1)]
            for key, n in parts:
                w = self._windows.setdefault((rl.name, key), deque())
                while w and w[0][0] <= now - rl.window_s:
                    w.popleft()
                if sum(k for _, k in w) + n > rl.limit:
                    return False
                draws.append((w, n))
        for w, n in draws:
            w.append((now, n))
        return True

    async def _write(self, op: str, single: Op, requests: Sequence, handler) -> list[WriteResult]:
        check_batch(len(requests))
        requests = tuple(requests)
        self.log.sent.setdefault(op, []).append(requests)
        self._tick()
        sent = self._now_ns()
        fault = self._take(op, [r.cl_ord_id for r in requests])
        if fault in (Fault.NEVER_RECEIVE, Fault.UNAVAILABLE):
            return [self._timeout(r, sent) for r in requests]
        if fault in (Fault.HOLD, Fault.DELAY):
            fut = asyncio.get_running_loop().create_future()
            self._held.append(_Held(lambda reqs, s: self._arrive(single, reqs, handler, s, None), requests, fut, sent))
            if fault is Fault.DELAY:
                return [self._timeout(r, sent) for r in requests]
            return await fut
        results = self._arrive(single, requests, handler, sent, fault)
        if self._pushes_first:
            await asyncio.sleep(0)  # the stream consumer runs before the caller resumes
        if fault is Fault.DROP_ACK:
            return [self._timeout(r, sent) for r in requests]
        if fault is Fault.AMBIGUOUS_AFTER:
            return [WriteResult(WriteOutcome.AMBIGUOUS, r.cl_ord_id, "internal_error",
                                "operation failed, outcome unknown", sent_ns=sent, acked_ns=self._now_ns())
                    for r in requests]
        return results

    def _arrive(self, single: Op, requests: tuple, handler, sent: int, fault: Fault | None) -> list[WriteResult]:
        counts: dict[str, int] = {}
        for r in requests:
            counts[r.inst_id] = counts.get(r.inst_id, 0) + 1
        if not self._admit(write_op(single, len(requests)), counts):
            return [self._result(WriteOutcome.REFUSED, r.cl_ord_id, sent, RATE_LIMITED, "rate limit reached")
                    for r in requests]
        return [handler(r, sent, fault) for r in requests]

    def _timeout(self, r, sent: int) -> WriteResult:
        return WriteResult(WriteOutcome.AMBIGUOUS, r.cl_ord_id, "", "timeout: no answer", sent_ns=sent,
                           req_id=getattr(r, "req_id", None))

    def _result(self, outcome: WriteOutcome, cl_ord_id: str, sent: int, code: str = "", msg: str = "",
                ord_id: str | None = None, req_id: str | None = None) -> WriteResult:
        now = self._clock.time_ms()
        return WriteResult(outcome, cl_ord_id, code, msg, ord_id, req_id, sent, self._now_ns(), now * 1000, now * 1000)

    def _expired(self, exp_time_ms: int) -> bool:
        return self._clock.time_ms() > exp_time_ms

    def _off_grid(self, spec: InstrumentSpec, sz: Decimal | None, px: Decimal | None) -> str | None:
        if sz is not None and not spec.on_lot_grid(sz):
            return "bad_size"
        if px is not None and (px <= 0 or (px / spec.tick_sz) != (px / spec.tick_sz).to_integral_value()):
            return "bad_price"
        return None

    # -- the handlers (one item at its arrival) ---------------------------------------------------

    def _do_place(self, r: PlaceRequest, sent: int, fault: Fault | None) -> WriteResult:
        spec = self._specs.get(r.inst_id)
        refuse = lambda code, msg: self._result(WriteOutcome.REFUSED, r.cl_ord_id, sent, code, msg)  # noqa: E731
        if spec is None:
            return refuse("unknown_instrument", f"no instrument {r.inst_id}")
        if self._expired(r.exp_time_ms):
            return refuse("expired", "request arrived after its expTime")
        if not r.cl_ord_id.isalnum() or len(r.cl_ord_id) > 32 or len(r.tag) > 16:
            return refuse("bad_param", "clOrdId or tag")
        if (r.px is None) != (r.ord_type is OrdType.MARKET):
            return refuse("bad_param", "px")
        bad = self._off_grid(spec, r.sz, r.px)
        if bad:
            return refuse(bad, "off the instrument's grid")
        if self._pending_by(r.cl_ord_id, None) is not None:
            return self._result(WriteOutcome.DUPLICATE, r.cl_ord_id, sent, "duplicate_cl_ord_id", "clOrdId is pending")
        if len(self._pending(r.inst_id)) >= self._max_pending:
            return refuse("too_many_pending", "pending orders limit")
        if not spec.is_swap and not self._affordable(spec, r):
            return refuse("insufficient_balance", "insufficient balance")
        now = self._clock.time_ms()
        o = _Order(str(next(self._ord_ids)), r.cl_ord_id, r.tag, r.inst_id, r.side, r.ord_type, r.sz, r.px,
                   r.reduce_only, now, updated_ms=now)
        self._orders[o.ord_id] = o
        if r.cl_ord_id:
            self._latest[r.cl_ord_id] = o.ord_id
        self.log.created.append(o)
        self._push_order(o)
        self._match_incoming(o)
        return self._result(WriteOutcome.ACCEPTED, r.cl_ord_id, sent, ord_id=o.ord_id)

    def _affordable(self, spec: InstrumentSpec, r: PlaceRequest) -> bool:
        if r.side is Side.SELL:
            return self.balance(spec.base_ccy) >= r.sz
        px = r.px if r.px is not None else self._books[r.inst_id].ask
        return px is not None and self.balance(spec.quote_ccy) >= r.sz * px * (1 + self._taker)

    def _do_amend(self, r: AmendRequest, sent: int, fault: Fault | None) -> WriteResult:
        o = self._pending_by(r.cl_ord_id, r.ord_id)
        if self._expired(r.exp_time_ms):
            return self._result(WriteOutcome.REFUSED, r.cl_ord_id, sent, "expired", "request arrived after its expTime",
                                req_id=r.req_id)
        if o is None:
            return self._result(WriteOutcome.EVIDENCE_NEEDED, r.cl_ord_id, sent, "amend_failed",
                                "order filled, cancelled or does not exist", req_id=r.req_id)
        bad = self._off_grid(self._specs[o.inst_id], None, r.new_px)
        if bad or (r.new_sz is not None and r.new_sz <= 0):
            return self._result(WriteOutcome.REFUSED, r.cl_ord_id, sent, bad or "bad_size", "amend", req_id=r.req_id)
        o.updated_ms = self._clock.time_ms()
        o.last_amend = (r.req_id, AmendResult.APPLIED)
        if r.new_px is not None:
            o.px = r.new_px
        if r.new_sz is not None:
            o.sz = max(r.new_sz, o.acc)
            if o.sz == o.acc:  # a new size at or below the filled size finishes the order
                o.state = OrderState.FILLED
        self._push_order(o, amend=r.req_id)
        if not o.state.terminal:
            self._match_incoming(o)
        return self._result(WriteOutcome.ACCEPTED, r.cl_ord_id, sent, ord_id=o.ord_id, req_id=r.req_id)

    def _do_cancel(self, r: CancelRequest, sent: int, fault: Fault | None) -> WriteResult:
        o = self._pending_by(r.cl_ord_id, r.ord_id)
        if o is not None and fault is Fault.FILL_BEFORE_CANCEL:
            px = o.px if o.px is not None else self._mark(o.inst_id)
            self._fill(o, px, o.remaining, ExecType.MAKER)
            o = None
        if o is None:
            return self._result(WriteOutcome.EVIDENCE_NEEDED, r.cl_ord_id, sent, "cancel_failed",
                                "order filled, cancelled or does not exist")
        self._end(o, CancelSource.USER)
        return self._result(WriteOutcome.ACCEPTED, r.cl_ord_id, sent, ord_id=o.ord_id)

    # -- matching ---------------------------------------------------------------------------------

    def _match_incoming(self, o: _Order) -> None:
        b = self._books[o.inst_id]
        touch = b.ask if o.side is Side.BUY else b.bid
        marketable = touch is not None and (o.px is None or (o.px >= touch if o.side is Side.BUY else o.px <= touch))
        if o.ord_type is OrdType.POST_ONLY:
            if marketable:
                self._end(o, CancelSource.POST_ONLY)
            return
        available = (b.ask_sz if o.side is Side.BUY else b.bid_sz) if marketable else ZERO
        can = o.remaining if available is None else min(o.remaining, available)
        if o.ord_type is OrdType.FOK and can < o.remaining:
            self._end(o, CancelSource.VENUE_FOK)
            return
        if can > 0:
            self._fill(o, touch, can, ExecType.TAKER)
            if o.side is Side.BUY and b.ask_sz is not None:
                b.ask_sz -= can
            elif o.side is Side.SELL and b.bid_sz is not None:
                b.bid_sz -= can
        if not o.state.terminal and o.ord_type in (OrdType.MARKET, OrdType.IOC, OrdType.FOK):
            self._end(o, CancelSource.VENUE_IOC if o.ord_type is not OrdType.FOK else CancelSource.VENUE_FOK)

    def _fill(self, o: _Order, px: Decimal, sz: Decimal, exec_type: ExecType) -> None:
        spec = self._specs[o.inst_id]
        now = self._clock.time_ms()
        n = next(self._trade_ids[o.inst_id])
        tid = str(n * 7 + n % 3)  # increasing, by uneven steps, as venue trade ids are
        notional = px * sz * spec.ct_val
        fee = -(notional * (self._maker if exec_type is ExecType.MAKER else self._taker))
        f = Fill(o.inst_id, tid, o.cl_ord_id, o.ord_id, o.side, px, sz, fee, spec.quote_ccy, now, exec_type)
        o.acc += sz
        o.notional += px * sz
        o.updated_ms = now
        o.state = OrderState.FILLED if o.acc >= o.sz else OrderState.PARTIALLY_FILLED
        self._fills[o.inst_id].append(f)
        if spec.is_swap:
            pos = self._positions[o.inst_id]
            before = pos.realised
            pos.apply_fill(o.side, px, sz, ZERO, spec.quote_ccy)
            self._balances[spec.quote_ccy] = self.balance(spec.quote_ccy) + (pos.realised - before) + fee
            self._pos_ts[o.inst_id] = now
        else:
            sign = 1 if o.side is Side.BUY else -1
            self._balances[spec.base_ccy] = self.balance(spec.base_ccy) + sign * sz
            self._balances[spec.quote_ccy] = self.balance(spec.quote_ccy) - sign * notional + fee
        self._push_order(o, fill=f)

    def _end(self, o: _Order, source: CancelSource) -> None:
        o.state = OrderState.CANCELLED
        o.cancel_source = source
        o.updated_ms = self._clock.time_ms()
        self._push_order(o)

    # -- state ------------------------------------------------------------------------------------

    def _pending(self, inst_id: str) -> list[_Order]:
        return [o for o in self._orders.values() if o.inst_id == inst_id and not o.state.terminal]

    def _pending_by(self, cl_ord_id: str, ord_id: str | None) -> _Order | None:
        o = self._orders.get(ord_id) if ord_id else None
        if o is None and cl_ord_id:
            latest = self._latest.get(cl_ord_id)
            o = None if latest is None else self._orders.get(latest)
        return o if o is not None and not o.state.terminal else None

    def _forgotten(self, o: _Order) -> bool:
        return (self._history_ms is not None and o.state is OrderState.CANCELLED and not o.acc
                and self._clock.time_ms() - o.updated_ms > self._history_ms)

    def _mark(self, inst_id: str) -> Decimal:
        b = self._books[inst_id]
        if b.mark is not None:
            return b.mark
        raise ValueError(f"{inst_id}: no mark (set_book or set_mark first)")

    def _venue_position(self, inst_id: str) -> VenuePosition:
        p = self._positions[inst_id]
        return VenuePosition(inst_id, p.qty, p.avg_px if p.qty else None, self._mark(inst_id),
                             self._pos_ts.get(inst_id, 0))

    def _tick(self) -> None:
        now = self._clock.time_ms()
        for tag, deadline in list(self._caa.items()):
            if now >= deadline:
                del self._caa[tag]
                for o in list(self._orders.values()):
                    if o.tag == tag and not o.state.terminal:
                        self._end(o, CancelSource.DEAD_MAN_SWITCH)

    # -- the private stream -----------------------------------------------------------------------

    def _push_order(self, o: _Order, *, fill: Fill | None = None, amend: str | None = None) -> None:
        self._push(OrderUpdate(o.cl_ord_id, o.ord_id, o.state, o.acc, o.avg, o.updated_ms, fill=fill, sz=o.sz, px=o.px,
                               amend_req_id=amend, amend_result=AmendResult.APPLIED if amend else None,
                               cancel_source=o.cancel_source if o.state is OrderState.CANCELLED else None))

    def _push(self, ev: VenueEvent) -> None:
        if not self._up or self._sub is None:
            return  # lost
        self._sub.queue.put_nowait(ev)
        if self._duplicate_pushes and not isinstance(ev, StreamStatus):
            self._sub.queue.put_nowait(ev)

