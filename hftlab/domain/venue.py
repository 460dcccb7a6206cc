"""The execution venue, venue-neutral: what every venue adapter (OKX, the paper venue) implements
for the order manager, with its request and result types. No I/O and no venue names here: the
adapter translates these to its wire format and its codes into the outcome classes below.

**Writes** (`place`, `amend`, `cancel`: 1..`MAX_BATCH` items per call; a call with one item is the
venue's single-order op, more is its batch op) answer one `WriteResult` per item, in request
order, classed by what the answer proves (okx-v5-protocol.md §5.6):

- `ACCEPTED`: the venue took the request. Not the order's fate: that arrives on the stream (or a
  query). A place carries the venue's order id.
- `AMBIGUOUS`: nothing is proven (transport error, timeout, no answer, a code the venue documents as
  "does not mean the request succeeded or failed", a dropped acknowledgement). The request may
  have executed: the order is UNKNOWN until venue facts resolve it. Never resend a place for it.
- `REFUSED`: the request did nothing (rate limit, expired deadline, bad parameter, unknown
  instrument, price limits, balance, minimum size, lot grid, too many pending orders).
- `EVIDENCE_NEEDED`: the venue could not do it and says why only vaguely ("cancel failed: filled,
  cancelled or does not exist", "amend failed: order gone", "order does not exist"). Not a
  success, not a terminal state: query the order and its fills before deciding.
- `DUPLICATE`: an order with this clOrdId is still pending at the venue: adopt it (query it).

A place carries `exp_time_ms`, an absolute deadline (Unix ms, venue clock): a request arriving
later must be dropped by the venue (answered REFUSED when anyone is still listening). That is what
lets the manager conclude "never arrived" from venue facts once the deadline has passed.

**clOrdIds** are unique only among PENDING orders: after an order is terminal the same clOrdId
opens a new order, and `query` returns the latest order with that id. Tags (`PlaceRequest.tag`)
mark the orders of one system; `open_orders(tag)` and `cancel_all_after(tag, ...)` are scoped by it.

**Reads** raise `VenueUnavailable` when the venue did not answer (transport, timeout, its rate
limit): a read that did not answer proves nothing, so there is no partial result. `query` answers
FOUND (the order's venue record), NOT_FOUND (the venue says it has no such order: evidence, never
proof on its own, since a request may still be in flight and histories expire) or FAILED.
`open_orders` and `fills_since` return every page; `all_pages` is the one paging loop, which stops
with `PagingStalled` when a venue's cursor does not advance (a venue bug must not loop for ever).

**Rate limits** are data (`VenueLimits`): buckets keyed the way the venue keys them (per op and
instrument, per account), counting requests or items, and naming the ops that share each. The
manager's budget is built from them; the venue's own rate-limit codes are listed so that a venue
refusal for rate can be counted (it should never happen: the budget holds requests back).

**The private stream** (`stream()`) yields `OrderUpdate`, `Fill`, `PositionsSnapshot` and
`StreamStatus` (up/down). A venue may duplicate and reorder order pushes (`domain.orders`
handles that); events lost while the stream was down are recovered by reconciliation, never
assumed. `connected` is the stream's current state.

**Cancel-All-After** (`cancel_all_after(tag, timeout_s)`): a dead man's switch, armed and
heartbeated by the same request (10..120 s), disarmed with 0; when it lapses the venue cancels the
pending orders carrying `tag` (cancel source DEAD_MAN_SWITCH) and nothing else. It never closes
positions.

**What an adapter guarantees** (tests/conformance runs every venue against these):
1. Every write answers one `WriteResult` per item, in request order, carrying the item's clOrdId;
   it never raises for a venue or transport problem (that is AMBIGUOUS); 0 or more than MAX_BATCH
   items raise ValueError. Codes map to the classes above in one table; an unknown code is AMBIGUOUS.
2. A place sends `exp_time_ms` as the venue's request deadline, so a late request is dropped.
3. `query` returns the LATEST order with the clOrdId (FOUND with its full record), NOT_FOUND when the
   venue says it has none, FAILED when it did not answer; never raises.
4. `open_orders`/`fills_since` return every page through `all_pages` (or an equivalent walk that
   raises PagingStalled); fills ascend by trade id and carry clOrdId, order id and trade id; reads
   that did not answer raise VenueUnavailable, never return a partial list.
5. `stream()` subscribes when called (events from then on); one call replaces the previous
   subscription; StreamStatus DOWN on losing the private connection, UP once it is logged in and
   subscribed again; every order change is pushed as an OrderUpdate (fills inside), liquidations
   and ADL as PositionsSnapshot.
6. `cancel_all_after` is scoped to the tag; `limits` states every op's buckets the way the venue
   counts them, and `rate_limit_codes` its rate-limit refusals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from hftlab.domain.orders import (
    VENUE_STATES, AmendResult, CancelSource, Fill, OrderState, OrderUpdate, OrdType, Side,
)

MAX_BATCH = 20  # items per write call
CAA_MIN_S, CAA_MAX_S = 10, 120  # Cancel-All-After timeout range (0 disarms)
MAX_PAGES = 10_000  # a paging walk longer than this is a venue bug, like a cursor that stands still


class WriteOutcome(StrEnum):
    ACCEPTED = "accepted"
    AMBIGUOUS = "ambiguous"
    REFUSED = "refused"
    EVIDENCE_NEEDED = "evidence_needed"
    DUPLICATE = "duplicate"


class Lookup(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # the venue says no such order: evidence only (see the module doc)
    FAILED = "failed"  # the query itself did not answer: nothing learnt


class Op(StrEnum):
    PLACE = "place"
    PLACE_BATCH = "place_batch"
    AMEND = "amend"
    AMEND_BATCH = "amend_batch"
    CANCEL = "cancel"
    CANCEL_BATCH = "cancel_batch"
    QUERY = "query"
    OPEN_ORDERS = "open_orders"  # one page
    FILLS = "fills"  # one page
    POSITIONS = "positions"
    BALANCES = "balances"
    CANCEL_ALL_AFTER = "cancel_all_after"


CANCEL_OPS = frozenset({Op.CANCEL, Op.CANCEL_BATCH})
WRITE_OPS = frozenset({Op.PLACE, Op.PLACE_BATCH, Op.AMEND, Op.AMEND_BATCH, Op.CANCEL, Op.CANCEL_BATCH})
_BATCH_OF = {Op.PLACE: Op.PLACE_BATCH, Op.AMEND: Op.AMEND_BATCH, Op.CANCEL: Op.CANCEL_BATCH}


def write_op(single: Op, n_items: int) -> Op:
    """The op a write of `n_items` is: the single op for one item, its batch op for more."""
    check_batch(n_items)
    return single if n_items == 1 else _BATCH_OF[single]


class Scope(StrEnum):
    INSTRUMENT = "instrument"  # one bucket per instrument
    ACCOUNT = "account"  # one bucket for the account


class Unit(StrEnum):
    REQUEST = "request"  # a call takes one token
    ITEM = "item"  # a call takes one token per item (a batch of 20 takes 20)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` units per `window_s` (any window), per `scope` key, over every op in `ops`."""

    name: str
    ops: frozenset[Op]
    limit: int
    window_s: float
    scope: Scope
    unit: Unit = Unit.REQUEST

    def __post_init__(self) -> None:
        if not self.ops or self.limit < 1 or not self.window_s > 0:
            raise ValueError(f"rate limit {self.name}: needs ops, limit >= 1 and window_s > 0")


@dataclass(frozen=True, slots=True)
class VenueLimits:
    buckets: tuple[RateLimit, ...]
    rate_limit_codes: frozenset[str]  # the venue's codes for "refused: rate limit"

    def __post_init__(self) -> None:
        names = [b.name for b in self.buckets]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate bucket names in {names}")

    def for_op(self, op: Op) -> tuple[RateLimit, ...]:
        return tuple(b for b in self.buckets if op in b.ops)

    def shared(self, a: Op, b: Op) -> tuple[RateLimit, ...]:
        """The buckets both ops draw from."""
        return tuple(x for x in self.buckets if a in x.ops and b in x.ops)


# -- requests -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PlaceRequest:
    cl_ord_id: str
    tag: str
    inst_id: str
    side: Side
    ord_type: OrdType
    sz: Decimal  # base units (contracts for a swap)
    px: Decimal | None  # None only for a market order
    exp_time_ms: int  # the venue must drop the request if it arrives after this (Unix ms)
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class AmendRequest:
    inst_id: str
    cl_ord_id: str
    req_id: str  # unique per order; the venue echoes it on the amend's push
    exp_time_ms: int
    new_sz: Decimal | None = None  # the new TOTAL size, what already filled included
    new_px: Decimal | None = None
    ord_id: str | None = None

    def __post_init__(self) -> None:
        if self.new_sz is None and self.new_px is None:
            raise ValueError("an amend changes the size, the price or both")


@dataclass(frozen=True, slots=True)
class CancelRequest:
    inst_id: str
    cl_ord_id: str
    ord_id: str | None = None


# -- results --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WriteResult:
    """The venue's answer to one item of a write. Times: `sent_ns`/`acked_ns` on the adapter's
    monotonic clock (`acked_ns` None when no answer came back); `venue_in_us`/`venue_out_us` the
    gateway's own receive/send stamps (Unix µs) when it gives them."""

    outcome: WriteOutcome
    cl_ord_id: str
    code: str = ""
    msg: str = ""
    ord_id: str | None = None
    req_id: str | None = None
    sent_ns: int | None = None
    acked_ns: int | None = None
    venue_in_us: int | None = None
    venue_out_us: int | None = None


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue holds it now (a query answer or an open-orders row): full facts.
    `last_amend`: the venue's latest amend of it, (req_id, result), when it reports one."""

    inst_id: str
    cl_ord_id: str
    ord_id: str
    tag: str
    side: Side
    ord_type: OrdType
    sz: Decimal
    px: Decimal | None
    state: OrderState
    acc_fill_sz: Decimal
    avg_px: Decimal
    created_ms: int
    updated_ms: int
    reduce_only: bool = False
    cancel_source: CancelSource | None = None
    last_amend: tuple[str, AmendResult] | None = None

    def __post_init__(self) -> None:
        if self.state not in VENUE_STATES:
            raise ValueError(f"a venue reports only {sorted(VENUE_STATES)}, not {self.state}")

    @property
    def open(self) -> bool:
        return not self.state.terminal

    def as_update(self) -> OrderUpdate:
        """This record as an order fact; its size and price are the venue's current ones."""
        req_id, result = self.last_amend if self.last_amend is not None else (None, None)
        return OrderUpdate(self.cl_ord_id, self.ord_id, self.state, self.acc_fill_sz, self.avg_px, self.updated_ms,
                           sz=self.sz, px=self.px, amend_req_id=req_id, amend_result=result,
                           cancel_source=self.cancel_source, full_record=True)


@dataclass(frozen=True, slots=True)
class OrderLookup:
    outcome: Lookup
    order: VenueOrder | None = None
    code: str = ""
    msg: str = ""

    def __post_init__(self) -> None:
        if (self.outcome is Lookup.FOUND) != (self.order is not None):
            raise ValueError("a FOUND lookup carries the order, and only a FOUND one")


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A position the venue holds (derivatives; spot holdings are balances). `qty` signed, long > 0."""

    inst_id: str
    qty: Decimal
    avg_px: Decimal | None
    mark_px: Decimal
    ts_ms: int


@dataclass(frozen=True, slots=True)
class VenueBalance:
    ccy: str
    total: Decimal
    available: Decimal
    ts_ms: int


# -- the private stream ---------------------------------------------------------------------------

class StreamState(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class StreamStatus:
    state: StreamState
    ts_ms: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PositionsSnapshot:
    """The venue's positions (`complete`: every non-zero position; else only those that changed)."""

    positions: tuple[VenuePosition, ...]
    ts_ms: int
    complete: bool


VenueEvent = OrderUpdate | Fill | PositionsSnapshot | StreamStatus


class VenueUnavailable(Exception):
    """A read the venue did not answer (transport, timeout, its rate limit): nothing was learnt."""


class PagingStalled(Exception):
    """A venue's paging cursor did not advance (or never ended): a venue bug; the walk stopped."""


@runtime_checkable
class ExecutionVenue(Protocol):
    """What the order manager needs from a venue (see the module doc)."""

    @property
    def limits(self) -> VenueLimits: ...

    @property
    def connected(self) -> bool: ...

    async def place(self, requests: Sequence[PlaceRequest]) -> list[WriteResult]: ...

    async def amend(self, requests: Sequence[AmendRequest]) -> list[WriteResult]: ...

    async def cancel(self, requests: Sequence[CancelRequest]) -> list[WriteResult]: ...

    async def query(self, inst_id: str, cl_ord_id: str) -> OrderLookup: ...

    async def open_orders(self, tag: str | None = None) -> list[VenueOrder]:
        """Every pending order (every page), only those carrying `tag` when one is given."""
        ...

    async def fills_since(self, inst_id: str, after_trade_id: str | None) -> list[Fill]:
        """Every fill on `inst_id` with a trade id above `after_trade_id` (all the venue still holds
        when None), every page, in ascending trade id order."""
        ...

    async def positions(self) -> list[VenuePosition]:
        """Every non-zero position."""
        ...

    async def balances(self) -> list[VenueBalance]: ...

    async def cancel_all_after(self, tag: str, timeout_s: int) -> WriteResult:
        """Arm or heartbeat (10..120 s) or disarm (0) the dead man's switch for orders with `tag`."""
        ...

    def stream(self) -> AsyncIterator[VenueEvent]: ...


def check_batch(n_items: int) -> None:
    if not 1 <= n_items <= MAX_BATCH:
        raise ValueError(f"a write takes 1..{MAX_BATCH} items, not {n_items}")


def check_caa_timeout(timeout_s: int) -> None:
    if timeout_s != 0 and not CAA_MIN_S <= timeout_s <= CAA_MAX_S:
        raise ValueError(f"Cancel-All-After takes 0 (disarm) or {CAA_MIN_S}..{CAA_MAX_S} s, not {timeout_s}")


T = TypeVar("T")
C = TypeVar("C", bound=Hashable)


async def all_pages(fetch: Callable[[C | None], Awaitable[tuple[list[T], C | None]]], *,
                    max_pages: int = MAX_PAGES) -> list[T]:
    """Every item of a paged read: `fetch(cursor)` returns (items, next cursor or None at the end),
    starting from None. A next cursor already seen, or more than `max_pages` pages, raises
    PagingStalled: the walk must end even when the venue's paging is broken."""
    out: list[T] = []
    seen: set[C] = set()
    cursor: C | None = None
    for _ in range(max_pages):
        items, nxt = await fetch(cursor)
        out.extend(items)
        if nxt is None or not items:
            return out
        if nxt in seen:
            raise PagingStalled(f"paging cursor {nxt!r} did not advance after {len(seen)} pages")
        seen.add(nxt)
        cursor = nxt
    raise PagingStalled(f"paging did not end within {max_pages} pages")
