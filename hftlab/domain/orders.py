"""Orders, venue-neutral: what the strategy wants, what risk approved, what the venue reports, and
the one state machine that turns those facts into an order's state.

**Types.** `OrderIntent` (the strategy's wish) -> `ApprovedOrder` (the intent plus risk's decision)
-> `Order` (one order's life, mutable). Venue facts arrive as `OrderUpdate` (a state report about
one order, perhaps carrying one `Fill`) or a bare `Fill` (a faster fills feed). `okx/` and `sim/`
build these at their edge; nothing here knows a venue field name or code.

**Only the risk engine approves.** `ApprovedOrder.__init__` demands the `ApprovalKey` that
`issue_approval_key()` hands out exactly once per process (a second call raises); the risk engine
takes it at import. The key is an init-only argument, never stored, so `dataclasses.replace` cannot
re-approve a changed intent without it; a key built by hand raises, and one smuggled in by
`object.__new__` is refused because only the issued instance is accepted. This stops accidents
and shortcuts, not deliberate tampering with module globals (nothing in Python can).

**State machine.** Every change of `Order.state` goes through `TRANSITIONS[(state, event)]`. Events
come from the order manager (`acked`, `refused`, `ambiguous`, `cancel_requested`, `amend_requested`)
and from venue facts (`apply`, `apply_fill`). A pair missing from the table is illegal: it is counted
in `OrderStats.illegal[(state, event)]` and raised as `IllegalTransition`, and the order is left
exactly as it was. Policy the table encodes:

- An outcome not yet proven is UNKNOWN (lost ack, timeout, ambiguous code, lost private stream).
  `AMBIGUOUS` is the only event a timeout produces and it never lands in a terminal state; UNKNOWN
  leaves only on a venue fact (a late ack, a refusal, a push or query result).
- Pushes may beat the ack: PENDING_SUBMIT accepts every venue event. A late ack never moves a state
  back (ACK in LIVE/PARTIALLY_FILLED/FILLED/CANCELLED/PENDING_CANCEL keeps the state).
- A fill beats a cancel, in either arrival order: PENDING_CANCEL -> PARTIALLY_FILLED/FILLED on new
  fill size, CANCELLED -> FILLED on new fill size reaching the order's size (the venue filled before
  the cancel), FILLED stays FILLED on a cancel report. CANCELLED stays CANCELLED on a smaller late fill.
- The venue cancels on its own (IOC/FOK remainder, post-only, self-trade, dead man's switch):
  LIVE/PARTIALLY_FILLED -> CANCELLED.
- A refused cancel proves nothing, so there is no cancel-refused event: the order stays
  PENDING_CANCEL until a venue fact ends it, and the manager re-sends the cancel (a cancel is safe
  to repeat; a place is not). A state report with no new fill size is no news to PENDING_CANCEL.
- REJECTED means the place request did nothing; a venue fact about a REJECTED order contradicts
  that and is illegal (loud), as is a FILLED report with no new size about a CANCELLED order.
- Amends are legal only on a resting, acknowledged order (LIVE, PARTIALLY_FILLED).

**Stale and duplicate facts** (pushes are duplicated and reordered; neither is an error):
- A `Fill` is applied once per `trade_id`; a repeat is ignored and counted (`duplicate_fills`).
  A new fill is applied wherever it arrives, even inside a stale update: a trade is a fact.
- An update whose `acc_fill_sz` is below the order's is stale (`stale_updates`): its filled size,
  average price and non-terminal state are ignored. A terminal state in it still applies (a cancel
  or a fill happened; sizes only grow), as state-only events.
- An update with the same `acc_fill_sz` is a state report (`VENUE_*` events, no new size); one with
  more is a fill (`FILL_PARTIAL`, or `FILL_COMPLETE` when the size reaches the order's `sz` or a
  current report says FILLED), followed by the report's terminal state when the fill event did not
  already complete the order (a cancel reporting a partial fill we had not seen).
- A FILLED report with no trade (a market order's `fillSz 0`) is a state report like any other.
- An amend result is taken once per `req_id` (`duplicate_amends`); the order's `sz`/`px` change
  on an applied amend (its update's `sz`/`px`, else the requested ones), never from a plain push that
  may predate the amend. A full venue record (`full_record`: a query answer or an open-orders row)
  states the venue's current size and price: they are taken unless the record is stale (smaller
  filled size, or older than the latest update applied), so an amend whose push was lost (a stream
  gap, a restart) cannot leave the order's size wrong. An amend that can no longer apply (refused,
  or past its deadline and covered by a later full record) leaves the in-flight set through
  `amend_void`.

**Quantities** are exact Decimals. `acc_fill_sz` = max(the venue's latest cumulative size, the sum of
applied fills), so it never goes backwards and a missed fill push cannot hide venue-reported size.
`avg_px` is the venue's when its cumulative size covers every applied fill (venue facts win), else
the VWAP of the applied fills. `fees` (per currency, venue sign: negative paid, positive rebate) are
the sum of the applied fills' fees: an update carries no cumulative fee, so a fill never seen is a
fee not counted until reconciliation delivers it.

**clOrdIds** are numeric (positive int64, ≤ 19 digits) because a venue fills feed may echo only
those: `clordid_for(epoch, seq)` = epoch × 10⁹ + seq, a pure function. Uniqueness across restarts
rests on each run of the order manager holding its own epoch: at start it takes
`next_epoch(now_s, last_epoch)` (strictly above the last one, even if the clock went back) and
persists it durably BEFORE its first send; `seq` then counts from 0 within the run and needs no
persistence. When `seq` reaches 10⁹ the manager takes (and persists) a new epoch. Several processes
trading one account must draw their epochs from the same persisted counter, under a lock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import InitVar, dataclass, field
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrdType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    POST_ONLY = "post_only"
    IOC = "ioc"
    FOK = "fok"


class OrderState(StrEnum):
    PENDING_SUBMIT = "pending_submit"  # sent (or about to be), no venue fact yet
    LIVE = "live"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"  # our cancel is in flight
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # the place request was refused: it did nothing
    UNKNOWN = "unknown"  # not proven either way: exposure, blocks its slot, resolved only by venue facts

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED})
# What a venue can report about an order. REJECTED is not among them: a refused place gets no push,
# only a refusal answer to the request (`Order.refused`).
VENUE_STATES = frozenset({OrderState.LIVE, OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELLED})


class CancelSource(StrEnum):
    USER = "user"
    VENUE_IOC = "venue_ioc"  # the unfilled remainder of an IOC
    VENUE_FOK = "venue_fok"  # a FOK that could not fill entirely
    POST_ONLY = "post_only"  # a post-only order that would have taken
    SELF_TRADE = "self_trade"  # self-trade prevention
    DEAD_MAN_SWITCH = "dead_man_switch"  # the venue's cancel-all-after timer lapsed
    OTHER = "other"


class AmendResult(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the amend failed and the venue cancelled the order as asked


class ExecType(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class Event(StrEnum):
    ACK = "ack"  # the venue accepted the place request (not proof of the order's fate)
    REFUSE = "refuse"  # the venue refused the place request: it did nothing
    AMBIGUOUS = "ambiguous"  # timeout, lost ack, ambiguous answer, lost private stream
    CANCEL_REQUEST = "cancel_request"
    AMEND_REQUEST = "amend_request"
    VENUE_LIVE = "venue_live"  # state reports carrying no new fill size
    VENUE_PARTIALLY_FILLED = "venue_partially_filled"
    VENUE_FILLED = "venue_filled"
    VENUE_CANCELLED = "venue_cancelled"
    FILL_PARTIAL = "fill_partial"  # the filled size grew, still below the order's size
    FILL_COMPLETE = "fill_complete"  # the filled size grew to the order's size (or the venue says filled)


_S, _E = OrderState, Event
_ALL_VENUE = (_E.VENUE_LIVE, _E.VENUE_PARTIALLY_FILLED, _E.VENUE_FILLED, _E.VENUE_CANCELLED,
              _E.FILL_PARTIAL, _E.FILL_COMPLETE)
# Where each venue event takes an order that has no state of its own to defend (not yet acked, or
# unproven): straight to what the venue says.
_RESOLVE = {
    _E.VENUE_LIVE: _S.LIVE, _E.VENUE_PARTIALLY_FILLED: _S.PARTIALLY_FILLED, _E.VENUE_FILLED: _S.FILLED,
    _E.VENUE_CANCELLED: _S.CANCELLED, _E.FILL_PARTIAL: _S.PARTIALLY_FILLED, _E.FILL_COMPLETE: _S.FILLED,
}

TRANSITIONS: dict[tuple[OrderState, Event], OrderState] = {
    # -- PENDING_SUBMIT: pushes can arrive before the ack
    (_S.PENDING_SUBMIT, _E.ACK): _S.LIVE,
    (_S.PENDING_SUBMIT, _E.REFUSE): _S.REJECTED,
    (_S.PENDING_SUBMIT, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.PENDING_SUBMIT, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    **{(_S.PENDING_SUBMIT, e): _RESOLVE[e] for e in _ALL_VENUE},
    # -- LIVE
    (_S.LIVE, _E.ACK): _S.LIVE,
    (_S.LIVE, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.LIVE, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    (_S.LIVE, _E.AMEND_REQUEST): _S.LIVE,
    **{(_S.LIVE, e): _RESOLVE[e] for e in _ALL_VENUE},  # incl. the venue's own cancels
    # -- PARTIALLY_FILLED: a LIVE report with the same size is no news
    (_S.PARTIALLY_FILLED, _E.ACK): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.PARTIALLY_FILLED, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    (_S.PARTIALLY_FILLED, _E.AMEND_REQUEST): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.VENUE_LIVE): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.VENUE_PARTIALLY_FILLED): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.VENUE_FILLED): _S.FILLED,
    (_S.PARTIALLY_FILLED, _E.VENUE_CANCELLED): _S.CANCELLED,
    (_S.PARTIALLY_FILLED, _E.FILL_PARTIAL): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.FILL_COMPLETE): _S.FILLED,
    # -- PENDING_CANCEL: only new size or a terminal report moves it; the fill may win the race
    (_S.PENDING_CANCEL, _E.ACK): _S.PENDING_CANCEL,  # cancel requested before the place's ack
    (_S.PENDING_CANCEL, _E.REFUSE): _S.REJECTED,  # the place itself was refused
    (_S.PENDING_CANCEL, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.PENDING_CANCEL, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,  # the re-send
    (_S.PENDING_CANCEL, _E.VENUE_LIVE): _S.PENDING_CANCEL,
    (_S.PENDING_CANCEL, _E.VENUE_PARTIALLY_FILLED): _S.PENDING_CANCEL,
    (_S.PENDING_CANCEL, _E.VENUE_FILLED): _S.FILLED,
    (_S.PENDING_CANCEL, _E.VENUE_CANCELLED): _S.CANCELLED,
    (_S.PENDING_CANCEL, _E.FILL_PARTIAL): _S.PARTIALLY_FILLED,
    (_S.PENDING_CANCEL, _E.FILL_COMPLETE): _S.FILLED,
    # -- FILLED: terminal; late acks, stale reports, a cancel report and surplus fills change nothing
    (_S.FILLED, _E.ACK): _S.FILLED,
    **{(_S.FILLED, e): _S.FILLED for e in _ALL_VENUE},
    # -- CANCELLED: terminal, except that a late fill reaching the order's size makes it FILLED
    (_S.CANCELLED, _E.ACK): _S.CANCELLED,
    (_S.CANCELLED, _E.VENUE_LIVE): _S.CANCELLED,
    (_S.CANCELLED, _E.VENUE_PARTIALLY_FILLED): _S.CANCELLED,
    (_S.CANCELLED, _E.VENUE_CANCELLED): _S.CANCELLED,
    (_S.CANCELLED, _E.FILL_PARTIAL): _S.CANCELLED,
    (_S.CANCELLED, _E.FILL_COMPLETE): _S.FILLED,
    # -- REJECTED: terminal, no rows: nothing can follow a request that did nothing
    # -- UNKNOWN: resolved by venue facts only
    (_S.UNKNOWN, _E.ACK): _S.LIVE,
    (_S.UNKNOWN, _E.REFUSE): _S.REJECTED,  # a late refusal, or queries proving it never existed
    (_S.UNKNOWN, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.UNKNOWN, _E.CANCEL_REQUEST): _S.UNKNOWN,  # a cancel proves nothing about an unproven order
    **{(_S.UNKNOWN, e): _RESOLVE[e] for e in _ALL_VENUE},
}

_REPORT = {_S.LIVE: _E.VENUE_LIVE, _S.PARTIALLY_FILLED: _E.VENUE_PARTIALLY_FILLED,
           _S.FILLED: _E.VENUE_FILLED, _S.CANCELLED: _E.VENUE_CANCELLED}

MAX_AMENDS_IN_FLIGHT = 3  # venues cap concurrent amends per order (OKX: 3)


class IllegalTransition(Exception):
    def __init__(self, cl_ord_id: str, state: OrderState, event: Event):
        super().__init__(f"order {cl_ord_id}: {event.value} is illegal in state {state.value}")
        self.cl_ord_id, self.state, self.event = cl_ord_id, state, event


class NotApproved(Exception):
    """An ApprovedOrder built without the risk engine's key."""


@dataclass(slots=True)
class OrderStats:
    """Counters for monitoring (pulled, never pushed)."""

    transitions: Counter = field(default_factory=Counter)  # (state, event) -> legal transitions taken
    illegal: Counter = field(default_factory=Counter)  # (state, event) -> refused
    stale_updates: int = 0
    duplicate_fills: int = 0
    duplicate_amends: int = 0


ORDER_STATS = OrderStats()  # the process's default; pass another to isolate (tests, several managers)


def _positive(name: str, v: object) -> None:
    if not isinstance(v, Decimal) or not v.is_finite() or v <= 0:
        raise ValueError(f"{name} must be a positive finite Decimal, got {v!r}")


def _non_negative(name: str, v: object) -> None:
    if not isinstance(v, Decimal) or not v.is_finite() or v < 0:
        raise ValueError(f"{name} must be a non-negative finite Decimal, got {v!r}")


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the strategy wants. `sz` is in base units (contracts for a swap); `px` is None only for
    a market order. `slot` names the quote it occupies (e.g. "BTC-USDT:maker:bid"): the manager
    refuses a new order into a slot while an order in it is not terminal, UNKNOWN included."""

    inst_id: str
    side: Side
    sz: Decimal
    ord_type: OrdType
    px: Decimal | None
    slot: str
    reduce_only: bool = False
    reason: str = ""
    created_ns: int = 0

    def __post_init__(self) -> None:
        _positive("sz", self.sz)
        if self.ord_type is OrdType.MARKET:
            if self.px is not None:
                raise ValueError("a market order takes no px")
        else:
            _positive("px", self.px)
        if not self.slot:
            raise ValueError("an intent needs a slot")


class ApprovalKey:
    """The capability to approve orders; see the module doc."""

    __slots__ = ()

    def __init__(self, _mint: object = None):
        if _mint is not _MINT:
            raise TypeError("an ApprovalKey comes only from issue_approval_key()")

    def __reduce__(self):
        raise TypeError("an ApprovalKey cannot be copied or pickled")


_MINT = object()
_issued_key: ApprovalKey | None = None


def issue_approval_key() -> ApprovalKey:
    """The one approval key of this process. The risk engine calls this at import; a second call raises."""
    global _issued_key
    if _issued_key is not None:
        raise RuntimeError("the approval key was already issued (the risk engine holds it)")
    _issued_key = ApprovalKey(_MINT)
    return _issued_key


@dataclass(frozen=True, slots=True)
class ApprovedOrder:
    """An intent the risk engine approved, with the facts of that decision. Needs the approval key."""

    intent: OrderIntent
    approved_ns: int
    checks: tuple[str, ...]  # the checks passed, one line each
    key: InitVar[ApprovalKey | None] = None

    def __post_init__(self, key: ApprovalKey | None) -> None:
        if _issued_key is None or key is not _issued_key:
            raise NotApproved("only the risk engine approves orders (ApprovedOrder needs its key)")


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade of one order. `fee` has the venue sign: negative paid, positive rebate.
    `trade_id` is unique per instrument; venues give liquidation/ADL trades negative ids."""

    inst_id: str
    trade_id: str
    cl_ord_id: str
    ord_id: str
    side: Side
    px: Decimal
    sz: Decimal
    fee: Decimal
    fee_ccy: str
    ts_ms: int
    exec_type: ExecType | None = None

    def __post_init__(self) -> None:
        if not self.trade_id:
            raise ValueError("a fill needs a trade id")
        _positive("px", self.px)
        _positive("sz", self.sz)  # a report with no trade (fillSz 0) is an OrderUpdate without a Fill
        if not isinstance(self.fee, Decimal) or not self.fee.is_finite():
            raise ValueError(f"fee must be a finite Decimal, got {self.fee!r}")


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A venue fact about one order: its state (one of VENUE_STATES), cumulative filled size and
    average price (0 when nothing filled), the trade it reports if any, an amend's result, and why
    it was cancelled. `sz`/`px`: the order's size and price as the venue now holds them (read with
    an applied amend result, or from a `full_record`)."""

    cl_ord_id: str
    ord_id: str
    state: OrderState
    acc_fill_sz: Decimal
    avg_px: Decimal
    ts_ms: int
    fill: Fill | None = None
    sz: Decimal | None = None
    px: Decimal | None = None
    amend_req_id: str | None = None
    amend_result: AmendResult | None = None
    cancel_source: CancelSource | None = None
    full_record: bool = False  # a query answer / open-orders row: sz and px are the venue's current ones

    def __post_init__(self) -> None:
        if self.state not in VENUE_STATES:
            raise ValueError(f"a venue reports only {sorted(VENUE_STATES)}, not {self.state}")
        _non_negative("acc_fill_sz", self.acc_fill_sz)
        _non_negative("avg_px", self.avg_px)
        if (self.amend_req_id is None) != (self.amend_result is None):
            raise ValueError("an amend result needs its req_id and the other way round")


class Order:
    """One order's life. State changes only through the event methods (see the module doc); each
    returns the new state. Build with `Order.submitted` (a new, approved order about to be sent) or
    `Order.recovered` (an order whose fate is unproven: a journaled intent after a restart, or one
    found on the venue); never send a recovered order, resolve it."""

    __slots__ = ("cl_ord_id", "intent", "approval", "ord_id", "sz", "px", "fees", "trade_ids",
                 "amends_in_flight", "amends_done", "cancel_source", "reject_code", "unknown_reason",
                 "submitted_ns", "acked_ns", "updated_ms",
                 "_state", "_stats", "_venue_acc", "_venue_avg", "_fill_sz", "_fill_notional")

    def __init__(self, intent: OrderIntent, cl_ord_id: str, state: OrderState, *,
                 approval: ApprovedOrder | None, ord_id: str | None, stats: OrderStats | None):
        self.cl_ord_id = cl_ord_id
        self.intent = intent
        self.approval = approval
        self.ord_id = ord_id
        self.sz: Decimal = intent.sz  # current size and price: changed only by applied amends
        self.px: Decimal | None = intent.px
        self.fees: dict[str, Decimal] = {}
        self.trade_ids: set[str] = set()
        self.amends_in_flight: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        self.amends_done: set[str] = set()
        self.cancel_source: CancelSource | None = None
        self.reject_code: str | None = None
        self.unknown_reason: str | None = None
        self.submitted_ns: int | None = None
        self.acked_ns: int | None = None
        self.updated_ms = 0  # venue time of the latest update applied
        self._state = state
        self._stats = ORDER_STATS if stats is None else stats
        self._venue_acc = ZERO
        self._venue_avg = ZERO
        self._fill_sz = ZERO
        self._fill_notional = ZERO

    @classmethod
    def submitted(cls, approved: ApprovedOrder, cl_ord_id: str, ts_ns: int,
                  stats: OrderStats | None = None) -> Order:
        """The order the manager is sending now (journal it first): PENDING_SUBMIT."""
        if not isinstance(approved, ApprovedOrder):
            raise TypeError(f"only an ApprovedOrder can be submitted, not {type(approved).__name__}")
        o = cls(approved.intent, cl_ord_id, OrderState.PENDING_SUBMIT, approval=approved, ord_id=None, stats=stats)
        o.submitted_ns = ts_ns
        return o

    @classmethod
    def recovered(cls, intent: OrderIntent, cl_ord_id: str, reason: str, *, ord_id: str | None = None,
                  sz: Decimal | None = None, px: Decimal | None = None, stats: OrderStats | None = None) -> Order:
        """An order whose fate must be proven by venue facts: UNKNOWN. `sz`/`px`: its size and price
        as last known (after applied amends), when they differ from the intent's."""
        o = cls(intent, cl_ord_id, OrderState.UNKNOWN, approval=None, ord_id=ord_id, stats=stats)
        o.unknown_reason = reason
        if sz is not None:
            _positive("sz", sz)
            o.sz = sz
        if px is not None:
            _positive("px", px)
            o.px = px
        return o

    # -- what it is -------------------------------------------------------------------------------

    @property
    def state(self) -> OrderState:
        return self._state

    @property
    def inst_id(self) -> str:
        return self.intent.inst_id

    @property
    def side(self) -> Side:
        return self.intent.side

    @property
    def slot(self) -> str:
        return self.intent.slot

    @property
    def acc_fill_sz(self) -> Decimal:
        return self._venue_acc if self._venue_acc > self._fill_sz else self._fill_sz

    @property
    def avg_px(self) -> Decimal:
        if self._venue_acc > 0 and self._venue_acc >= self._fill_sz and self._venue_avg > 0:
            return self._venue_avg
        return self._fill_notional / self._fill_sz if self._fill_sz else ZERO

    def __repr__(self) -> str:
        return (f"Order({self.cl_ord_id} {self.intent.side} {self.sz} {self.inst_id} {self._state.value}"
                f" filled={self.acc_fill_sz})")

    # -- the manager's events ---------------------------------------------------------------------

    def acked(self, ord_id: str, ts_ns: int) -> OrderState:
        self._check_ids("", ord_id)
        self._commit(self._target((Event.ACK,)))
        self.ord_id = ord_id
        if self.acked_ns is None:
            self.acked_ns = ts_ns
        return self._state

    def refused(self, code: str) -> OrderState:
        self._commit(self._target((Event.REFUSE,)))
        self.reject_code = code
        return self._state

    def ambiguous(self, reason: str) -> OrderState:
        self._commit(self._target((Event.AMBIGUOUS,)))
        self.unknown_reason = reason
        return self._state

    def cancel_requested(self) -> OrderState:
        self._commit(self._target((Event.CANCEL_REQUEST,)))
        return self._state

    def amend_requested(self, req_id: str, new_sz: Decimal | None = None, new_px: Decimal | None = None) -> OrderState:
        """`new_sz` includes what already filled (a size at or below it makes the venue fill the order)."""
        if new_sz is None and new_px is None:
            raise ValueError("an amend changes the size, the price or both")
        if new_sz is not None:
            _positive("new_sz", new_sz)
        if new_px is not None:
            _positive("new_px", new_px)
        if req_id in self.amends_in_flight or req_id in self.amends_done:
            raise ValueError(f"amend req_id {req_id} already used on order {self.cl_ord_id}")
        if len(self.amends_in_flight) >= MAX_AMENDS_IN_FLIGHT:
            raise ValueError(f"order {self.cl_ord_id} already has {MAX_AMENDS_IN_FLIGHT} amends in flight")
        self._commit(self._target((Event.AMEND_REQUEST,)))
        self.amends_in_flight[req_id] = (new_sz, new_px)
        return self._state

    def amend_void(self, req_id: str) -> bool:
        """An amend in flight that can no longer apply (refused, or past its deadline with a later full
        record read): it leaves the in-flight set; a late push for it counts as a duplicate. False
        when it was not in flight. Not a state change: the order's state is the venue's to say."""
        if req_id not in self.amends_in_flight:
            return False
        del self.amends_in_flight[req_id]
        self.amends_done.add(req_id)
        return True

    # -- venue facts ------------------------------------------------------------------------------

    def apply(self, u: OrderUpdate) -> OrderState:
        """A venue report about this order (see the module doc for stale and duplicate reports)."""
        self._check_ids(u.cl_ord_id, u.ord_id)
        fill = u.fill
        new_fill = fill is not None and fill.trade_id not in self.trade_ids
        if new_fill:
            self._check_fill(fill)
        sz, px, amend_taken = self.sz, self.px, False
        if u.amend_req_id is not None and u.amend_req_id not in self.amends_done:
            amend_taken = True
            if u.amend_result is AmendResult.APPLIED:
                want_sz, want_px = self.amends_in_flight.get(u.amend_req_id, (None, None))
                sz = u.sz if u.sz is not None else (want_sz if want_sz is not None else sz)
                px = u.px if u.px is not None else (want_px if want_px is not None else px)
        old_acc = self.acc_fill_sz
        stale = u.acc_fill_sz < old_acc
        if u.full_record and not stale and u.ts_ms >= self.updated_ms:
            sz = u.sz if u.sz is not None else sz
            px = u.px if u.px is not None else px
        fill_sz = self._fill_sz + fill.sz if new_fill else self._fill_sz
        venue_acc = u.acc_fill_sz if u.acc_fill_sz > self._venue_acc else self._venue_acc
        new_acc = venue_acc if venue_acc > fill_sz else fill_sz
        events: list[Event] = []
        if new_acc > old_acc:
            complete = new_acc >= sz or (u.state is OrderState.FILLED and not stale)
            events.append(Event.FILL_COMPLETE if complete else Event.FILL_PARTIAL)
            if u.state.terminal and not complete:
                events.append(_REPORT[u.state])
        elif not stale or u.state.terminal:
            events.append(_REPORT[u.state])
        target = self._target(events)
        if stale:
            self._stats.stale_updates += 1
        if fill is not None and not new_fill:
            self._stats.duplicate_fills += 1
        if u.amend_req_id is not None and not amend_taken:
            self._stats.duplicate_amends += 1
        if amend_taken:
            self.amends_in_flight.pop(u.amend_req_id, None)
            self.amends_done.add(u.amend_req_id)
        self.sz, self.px = sz, px
        if new_fill:
            self._add_fill(fill)
        if u.acc_fill_sz >= self._venue_acc and u.acc_fill_sz > 0:
            self._venue_acc = u.acc_fill_sz
            if u.avg_px > 0:
                self._venue_avg = u.avg_px
        if u.state is OrderState.CANCELLED and self.cancel_source is None:
            self.cancel_source = u.cancel_source
        if self.ord_id is None and u.ord_id:
            self.ord_id = u.ord_id
        if u.ts_ms > self.updated_ms:
            self.updated_ms = u.ts_ms
        self._commit(target)
        return self._state

    def apply_fill(self, fill: Fill) -> OrderState:
        """A trade from a fills feed (possibly before, after or instead of its order report)."""
        self._check_fill(fill)
        if fill.trade_id in self.trade_ids:
            self._stats.duplicate_fills += 1
            return self._state
        old_acc = self.acc_fill_sz
        fill_sz = self._fill_sz + fill.sz
        new_acc = self._venue_acc if self._venue_acc > fill_sz else fill_sz
        events = ()
        if new_acc > old_acc:
            events = (Event.FILL_COMPLETE if new_acc >= self.sz else Event.FILL_PARTIAL,)
        target = self._target(events)
        self._add_fill(fill)
        if self.ord_id is None and fill.ord_id:
            self.ord_id = fill.ord_id
        self._commit(target)
        return self._state

    # -- internals --------------------------------------------------------------------------------

    def _check_ids(self, cl_ord_id: str, ord_id: str) -> None:
        if cl_ord_id and self.cl_ord_id and cl_ord_id != self.cl_ord_id:
            raise ValueError(f"a fact about order {cl_ord_id} applied to order {self.cl_ord_id}")
        if ord_id and self.ord_id and ord_id != self.ord_id:
            raise ValueError(f"order {self.cl_ord_id} is venue order {self.ord_id}, not {ord_id}")

    def _check_fill(self, fill: Fill) -> None:
        self._check_ids(fill.cl_ord_id, fill.ord_id)
        if fill.inst_id != self.intent.inst_id or fill.side is not self.intent.side:
            raise ValueError(f"fill {fill.trade_id} ({fill.side} {fill.inst_id}) does not belong to {self!r}")

    def _add_fill(self, fill: Fill) -> None:
        self.trade_ids.add(fill.trade_id)
        self._fill_sz += fill.sz
        self._fill_notional += fill.px * fill.sz
        self.fees[fill.fee_ccy] = self.fees.get(fill.fee_ccy, ZERO) + fill.fee

    def _target(self, events) -> tuple[OrderState, list[tuple[OrderState, Event]]]:
        """Where `events` lead from the current state, and the pairs taken; raises on a missing pair."""
        state = self._state
        taken = []
        for ev in events:
            nxt = TRANSITIONS.get((state, ev))
            if nxt is None:
                self._stats.illegal[(state, ev)] += 1
                raise IllegalTransition(self.cl_ord_id, state, ev)
            taken.append((state, ev))
            state = nxt
        return state, taken

    def _commit(self, target: tuple[OrderState, list[tuple[OrderState, Event]]]) -> None:
        state, taken = target
        transitions = self._stats.transitions
        for pair in taken:
            transitions[pair] += 1
        self._state = state


# -- clOrdIds -------------------------------------------------------------------------------------

CLORDID_SEQ_SPAN = 10**9  # ids per epoch
EPOCH_ORIGIN_S = 1_704_067_200  # 2024-01-01T00:00:00Z: epochs count seconds from here
MAX_EPOCH = (2**63 - 1) // CLORDID_SEQ_SPAN - 1  # keeps every id a positive int64 (year ~2316)


def clordid_for(epoch: int, seq: int) -> str:
    """The clOrdId of order `seq` of the run holding `epoch`: decimal, positive int64, ≤ 19 chars."""
    if not 1 <= epoch <= MAX_EPOCH:
        raise ValueError(f"epoch {epoch} outside [1, {MAX_EPOCH}]")
    if not 0 <= seq < CLORDID_SEQ_SPAN:
        raise ValueError(f"seq {seq} outside [0, {CLORDID_SEQ_SPAN}): take a new epoch")
    return str(epoch * CLORDID_SEQ_SPAN + seq)


def next_epoch(now_s: float, last_epoch: int | None) -> int:
    """The epoch for a new run: the current second since EPOCH_ORIGIN_S, but strictly above the last
    persisted epoch (a clock that went back, or two starts in one second, cannot reuse one)."""
    epoch = max(int(now_s) - EPOCH_ORIGIN_S, 1 if last_epoch is None else last_epoch + 1, 1)
    if epoch > MAX_EPOCH:
        raise ValueError(f"epoch {epoch} beyond {MAX_EPOCH}")
    return epoch


def parse_clordid(cl_ord_id: str) -> tuple[int, int] | None:
    """(epoch, seq) of a clOrdId made by `clordid_for`, None for any other id (not ours)."""
    if not (cl_ord_id.isascii() and cl_ord_id.isdigit()) or cl_ord_id[0] == "0" or len(cl_ord_id) > 19:
        return None
    epoch, seq = divmod(int(cl_ord_id), CLORDID_SEQ_SPAN)
    return (epoch, seq) if 1 <= epoch <= MAX_EPOCH else None
