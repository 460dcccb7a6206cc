"""The in-flight table: every order this process tracks, with what the manager needs besides the
order's own state (tag, deadline, wanted cancel, follow-ups due, fill size booked), its indexes
(clOrdId, venue order id, slot), and the ONE place where venue facts and request answers change an
order, the portfolio and the journal. The manager (requests) and the reconciler (venue reads) both
go through these methods; nothing else touches an `Order`.

**Every change is journaled** (`Journal.record_order`) before the method returns; a fill is
journaled before it is booked into the portfolio, so the journal's ledger is never behind what was
booked.

**Facts that contradict the order** (an illegal transition, a fill of another side) are counted
(`ExecutionStats.illegal_facts`; the order's own `OrderStats.illegal` holds the pair), leave the
order as it was, and are reported to the caller as `Applied.CONTRADICTED`, which asks for a
reconciliation pass: the venue's full record decides.

**Exposure** (`exposure(inst_id)`, for the risk engine): the booked position plus, per order not
REJECTED, what may still become position: for an open order its largest size (pending amends
included) minus the size booked from its fills; for a terminal one what the venue reported filled
but is not booked yet. UNKNOWN orders count the same way, apart, as if filled: the worst case.

**Never arrived** (`conclude_absent`) is decided by the reconciler from venue facts; the table
only applies the conclusion: an order that never existed at the venue is REJECTED (the place did
nothing); one that existed and ended without a trace in the venue's history ended with its booked
fills (FILLED when they cover its size, else CANCELLED).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from hftlab.domain.orders import (
    IllegalTransition, Order, OrderIntent, OrderState, OrderStats, OrderUpdate, OrdType, Side,
)
from hftlab.domain.venue import VenueOrder
from hftlab.execution.clock import Clock
from hftlab.execution.journal import Journal, JournaledOrder, Origin
from hftlab.execution.stats import ExecutionStats, LatencyStats
from hftlab.portfolio.equity import Portfolio

ZERO = Decimal(0)
OPEN_STATES = frozenset({OrderState.LIVE, OrderState.PARTIALLY_FILLED, OrderState.PENDING_CANCEL})


class Applied(StrEnum):
    APPLIED = "applied"
    UNTRACKED = "untracked"  # about an order this table does not hold
    CONTRADICTED = "contradicted"  # the order refused it (counted): reconcile


@dataclass(slots=True)
class Tracked:
    order: Order
    tag: str
    origin: Origin
    exp_time_ms: int  # the place's venue deadline (0: adopted, it exists)
    existed: bool = False  # the venue acknowledged or reported it at least once
    in_flight: bool = False  # its place request awaits an answer
    cancel_wanted: bool = False
    cancel_in_flight: bool = False
    cancel_due_ms: int = 0  # a wanted cancel may be (re)sent from then
    needs_query: bool = False  # evidence needed (a vague refusal, a duplicate, a contradiction)
    query_due_ms: int = 0
    amend_deadlines: dict[str, int] = field(default_factory=dict)  # req_id -> the amend's venue deadline
    booked: Decimal = ZERO  # size of its fills booked into the portfolio
    handed_s: float | None = None  # monotonic time its place went to the venue
    acked_s: float | None = None
    pushed: bool = False
    first_fill: bool = False

    @property
    def key(self) -> str:
        return self.order.cl_ord_id


@dataclass(frozen=True, slots=True)
class OrderView:
    """A read-only copy of one tracked order, for the runner, risk and monitoring."""

    cl_ord_id: str
    ord_id: str | None
    inst_id: str
    side: Side
    ord_type: OrdType
    slot: str
    state: OrderState
    sz: Decimal
    px: Decimal | None
    acc_fill_sz: Decimal
    avg_px: Decimal
    tag: str
    origin: Origin
    cancel_wanted: bool
    created_ns: int  # the intent's creation time (the live runner: the triggering frame's receive time)


@dataclass(frozen=True, slots=True)
class Exposure:
    """Sizes in the instrument's unit (base; contracts for a swap), signed position long > 0."""

    inst_id: str
    position: Decimal  # booked from fills (venue positions win on reconciliation)
    buy_open: Decimal
    sell_open: Decimal
    buy_unknown: Decimal  # UNKNOWN orders, as if filled
    sell_unknown: Decimal

    @property
    def max_long(self) -> Decimal:
        return self.position + self.buy_open + self.buy_unknown

    @property
    def max_short(self) -> Decimal:
        return self.position - self.sell_open - self.sell_unknown


_RESERVED = "\x00reserved"


class OrderTable:
    def __init__(self, portfolio: Portfolio, journal: Journal, clock: Clock, stats: ExecutionStats,
                 latency: LatencyStats, order_stats: OrderStats):
        self.portfolio = portfolio
        self._journal = journal
        self._clock = clock
        self._stats = stats
        self._latency = latency
        self.order_stats = order_stats
        self._orders: dict[str, Tracked] = {}
        self._by_ord_id: dict[str, str] = {}
        self._slots: dict[str, str] = {}  # slot -> clOrdId of its non-terminal order (or a reservation)

    # -- lookups ----------------------------------------------------------------------------------

    def get(self, cl_ord_id: str) -> Tracked | None:
        return self._orders.get(cl_ord_id)

    def find(self, cl_ord_id: str, ord_id: str | None) -> Tracked | None:
        t = self._orders.get(cl_ord_id) if cl_ord_id else None
        if t is None and ord_id:
            key = self._by_ord_id.get(ord_id)
            t = None if key is None else self._orders.get(key)
        return t

    def __iter__(self) -> Iterator[Tracked]:
        return iter(self._orders.values())

    def unfinished(self) -> list[Tracked]:
        return [t for t in self._orders.values() if not t.order.state.terminal]

    def view(self, t: Tracked) -> OrderView:
        o = t.order
        return OrderView(o.cl_ord_id, o.ord_id, o.inst_id, o.side, o.intent.ord_type, o.slot, o.state, o.sz, o.px,
                         o.acc_fill_sz, o.avg_px, t.tag, t.origin, t.cancel_wanted, o.intent.created_ns)

    # -- slots ------------------------------------------------------------------------------------

    def slot_busy(self, slot: str) -> bool:
        return slot in self._slots

    def reserve_slot(self, slot: str) -> None:
        if slot in self._slots:
            raise ValueError(f"slot {slot} is busy")
        self._slots[slot] = _RESERVED

    def release_slot(self, slot: str) -> None:
        if self._slots.get(slot) == _RESERVED:
            del self._slots[slot]

    # -- tracking ---------------------------------------------------------------------------------

    def track_new(self, order: Order, tag: str, exp_time_ms: int) -> Tracked:
        """A new order about to be sent: journaled (committed) first, then tracked."""
        self._journal.record_intent(order.cl_ord_id, order.intent, origin=Origin.INTENT, tag=tag,
                                    exp_time_ms=exp_time_ms)
        t = Tracked(order, tag, Origin.INTENT, exp_time_ms)
        self._index(t)
        return t

    def recover(self, jo: JournaledOrder) -> Tracked:
        """A journaled order not known to be terminal, after a restart: UNKNOWN until venue facts."""
        o = Order.recovered(jo.intent, jo.cl_ord_id, "journaled, fate unknown after restart", ord_id=jo.ord_id,
                            sz=jo.sz, px=jo.px, stats=self.order_stats)
        t = Tracked(o, jo.tag, jo.origin, jo.exp_time_ms, existed=jo.acked, cancel_wanted=jo.cancel_wanted)
        self._index(t)
        self._journal.record_order(o)
        self._stats.unknown_orders += 1
        return t

    def adopt(self, vo: VenueOrder) -> Tracked:
        """An order carrying our tag found at the venue, unknown to the journal. Everything derived
        from it is a pure function of the venue's record (its slot included), so adopting it again
        after a restart gives the same row."""
        key = vo.cl_ord_id or f"ord{vo.ord_id}"
        px = None if vo.ord_type is OrdType.MARKET else vo.px
        intent = OrderIntent(vo.inst_id, vo.side, vo.sz, vo.ord_type, px, f"adopted:{key}", vo.reduce_only,
                             "adopted: found at the venue", vo.created_ms)
        self._journal.record_intent(key, intent, origin=Origin.ADOPTED, tag=vo.tag, exp_time_ms=0,
                                    state=OrderState.UNKNOWN)
        o = Order.recovered(intent, key, "adopted: found at the venue", ord_id=vo.ord_id, stats=self.order_stats)
        t = Tracked(o, vo.tag, Origin.ADOPTED, 0, existed=True)
        self._index(t)
        self._stats.adopted += 1
        self.apply_record(t, vo)
        return t

    def _index(self, t: Tracked) -> None:
        o = t.order
        if o.cl_ord_id in self._orders:
            raise ValueError(f"order {o.cl_ord_id} is tracked already")
        self._orders[o.cl_ord_id] = t
        if o.ord_id:
            self._by_ord_id[o.ord_id] = o.cl_ord_id
        if not o.state.terminal:
            self._slots[o.slot] = o.cl_ord_id

    def book_journaled_fills(self) -> int:
        """At start: the journal's fills into the (empty) portfolio, and each order's booked size."""
        if len(self.portfolio.ledger):
            raise ValueError("the portfolio must be empty: positions are rebuilt from the journal")
        n = 0
        for f in self._journal.fills():
            if f.inst_id not in self.portfolio.positions:
                continue
            if self.portfolio.apply_fill(f):
                n += 1
                t = self.find(f.cl_ord_id, f.ord_id)
                if t is not None:
                    t.booked += f.sz
        return n

    # -- answers to our requests ------------------------------------------------------------------

    def acked(self, t: Tracked, ord_id: str | None) -> Applied:
        t.acked_s = self._clock.monotonic()
        if t.pushed:  # the push beat the ack: it was there when the ack came
            self._stats.pushes_before_ack += 1
            self._latency.ack_push.observe(0.0)
        return self._change(t, lambda o: o.acked(ord_id or o.ord_id or "", self._clock.time_ms() * 1_000_000),
                            existed=True)

    def refused(self, t: Tracked, code: str) -> Applied:
        return self._change(t, lambda o: o.refused(code))

    def unknown(self, t: Tracked, reason: str) -> Applied:
        """Nothing is proven about the order any more: UNKNOWN, to be queried at once."""
        was = t.order.state
        r = self._change(t, lambda o: o.ambiguous(reason))
        if was is not OrderState.UNKNOWN and t.order.state is OrderState.UNKNOWN:
            self._stats.unknown_orders += 1
        t.query_due_ms = 0
        return r

    def want_query(self, t: Tracked, due_ms: int = 0) -> None:
        t.needs_query = True
        t.query_due_ms = due_ms

    def cancel_requested(self, t: Tracked) -> Applied:
        if not t.cancel_wanted:
            t.cancel_wanted = True
            self._journal.record_cancel_wanted(t.key)
        return self._change(t, lambda o: o.cancel_requested())

    def amend_requested(self, t: Tracked, req_id: str, new_sz: Decimal | None, new_px: Decimal | None,
                        exp_time_ms: int) -> None:
        t.order.amend_requested(req_id, new_sz, new_px)  # raises before anything is recorded
        t.amend_deadlines[req_id] = exp_time_ms
        self._journal.record_amend(t.key, req_id, new_sz, new_px, exp_time_ms)

    def amend_void(self, t: Tracked, req_id: str) -> None:
        t.order.amend_void(req_id)
        t.amend_deadlines.pop(req_id, None)

    # -- venue facts ------------------------------------------------------------------------------

    def apply_update(self, u: OrderUpdate) -> Applied:
        t = self.find(u.cl_ord_id, u.ord_id)
        if u.fill is not None:  # a trade is a fact whatever the order makes of the report
            self._book(u.fill, t)
        if t is None:
            self._stats.untracked_pushes += 1
            return Applied.UNTRACKED
        r = self._change(t, lambda o: o.apply(u), existed=True)
        if r is Applied.APPLIED:
            if not t.pushed:
                t.pushed = True
                if t.acked_s is not None:
                    self._latency.ack_push.observe(max(0.0, self._clock.monotonic() - t.acked_s))
            if u.amend_req_id is not None:
                t.amend_deadlines.pop(u.amend_req_id, None)
        return r

    def apply_record(self, t: Tracked, vo: VenueOrder) -> Applied:
        """A full venue record of a tracked order (query answer, open-orders row)."""
        r = self._change(t, lambda o: o.apply(vo.as_update()), existed=True)
        if r is Applied.APPLIED:
            t.needs_query = False
            if vo.last_amend is not None:
                t.amend_deadlines.pop(vo.last_amend[0], None)
        return r

    def apply_fill(self, f) -> Applied:
        """A trade: booked into the portfolio once (journaled first), and applied to its order."""
        t = self.find(f.cl_ord_id, f.ord_id)
        self._book(f, t)
        if t is None:
            return Applied.UNTRACKED
        return self._change(t, lambda o: o.apply_fill(f), existed=True)

    def _book(self, f, t: Tracked | None) -> bool:
        if f.inst_id not in self.portfolio.positions:
            self._stats.untracked_pushes += 1
            return False
        try:
            self.portfolio.position(f.inst_id).check_fee(f.fee, f.fee_ccy)  # before the journal keeps it
        except ValueError:
            self._stats.illegal_facts += 1
            return False
        self._journal.record_fill(f)
        if not self.portfolio.apply_fill(f):
            return False
        if t is not None:
            t.booked += f.sz
            if not t.first_fill:
                t.first_fill = True
                if t.handed_s is not None:
                    self._latency.first_fill.observe(max(0.0, self._clock.monotonic() - t.handed_s))
        return True

    def stream_lost(self) -> int:
        """The private stream dropped: pushes may be lost, so every unfinished order is unproven."""
        n = 0
        for t in self.unfinished():
            if t.order.state is not OrderState.UNKNOWN:
                self.unknown(t, "private stream lost")
                n += 1
        return n

    def conclude_absent(self, t: Tracked) -> Applied:
        """Apply the reconciler's conclusion that the venue holds no such order (see the module doc)."""
        o = t.order
        if not t.existed and not t.booked:
            return self._change(t, lambda o: o.refused("never arrived: unknown to the venue after its deadline"))
        state = OrderState.FILLED if t.booked >= o.sz else OrderState.CANCELLED
        u = OrderUpdate(o.cl_ord_id, o.ord_id or "", state, t.booked, o.avg_px if t.booked else ZERO, o.updated_ms)
        return self._change(t, lambda o: o.apply(u), existed=True)

    # -- the change protocol ----------------------------------------------------------------------

    def _change(self, t: Tracked, fn, *, existed: bool = False) -> Applied:
        o = t.order
        try:
            fn(o)
        except (IllegalTransition, ValueError):
            self._stats.illegal_facts += 1
            t.needs_query = True
            return Applied.CONTRADICTED
        if existed:
            t.existed = True
        if o.ord_id and o.ord_id not in self._by_ord_id:
            self._by_ord_id[o.ord_id] = o.cl_ord_id
        if o.state.terminal:
            if self._slots.get(o.slot) == o.cl_ord_id:
                del self._slots[o.slot]
            t.needs_query = False
            t.cancel_in_flight = False
        self._journal.record_order(o)
        return Applied.APPLIED

    # -- exposure ---------------------------------------------------------------------------------

    def exposure(self, inst_id: str) -> Exposure:
        position = self.portfolio.position(inst_id).qty
        sums = {(s, u): ZERO for s in Side for u in (False, True)}
        for t in self._orders.values():
            o = t.order
            if o.inst_id != inst_id or o.state is OrderState.REJECTED:
                continue
            if o.state.terminal:
                pending = o.acc_fill_sz - t.booked
            else:
                largest = max([o.sz, *(sz for sz, _ in o.amends_in_flight.values() if sz is not None)])
                pending = largest - t.booked
            if pending > 0:
                sums[(o.side, o.state is OrderState.UNKNOWN)] += pending
        return Exposure(inst_id, position, sums[(Side.BUY, False)], sums[(Side.SELL, False)],
                        sums[(Side.BUY, True)], sums[(Side.SELL, True)])

    def views(self, states: Iterable[OrderState] | None = None) -> list[OrderView]:
        wanted = None if states is None else frozenset(states)
        return [self.view(t) for t in self._orders.values() if wanted is None or t.order.state in wanted]
