"""The paper venue's own behaviour (what the conformance suite does not ask of every venue): matching
at the touch and on the mark, partial fills, FOK/IOC/post-only/market rules, balances and positions,
exact rate limits, history expiry, and each scripted fault."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hftlab.domain.orders import CancelSource, ExecType, Fill, OrderState, OrderUpdate, OrdType, Side
from hftlab.domain.venue import (
    CancelRequest, Lookup, PagingStalled, PlaceRequest, PositionsSnapshot, StreamState, StreamStatus,
    VenueUnavailable, WriteOutcome,
)
from hftlab.execution.clock import ManualClock
from hftlab.execution.paper import RATE_LIMITED, Fault, PaperVenue
from hftlab.execution.testing import SPOT, START_BALANCES, SWAP

D = Decimal
S = OrderState


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def venue(clock):
    v = PaperVenue((SPOT, SWAP), clock, balances=START_BALANCES, page_size=5)
    for spec in (SPOT, SWAP):
        v.set_book(spec.inst_id, D(100), D("100.5"), bid_sz=D(10), ask_sz=D(10))
    return v


_ids = iter(range(1, 10**6))


def req(clock, spec=SWAP, side=Side.BUY, ord_type=OrdType.LIMIT, sz="2", px="99", tag="t"):
    return PlaceRequest(str(10**9 + next(_ids)), tag, spec.inst_id, side, ord_type, D(sz),
                        None if ord_type is OrdType.MARKET else D(px), clock.time_ms() + 5000)


def drain(sub) -> list:
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


async def test_takers_fill_at_the_touch_up_to_its_size_and_the_rest_follows_the_type(venue, clock):
    sub = venue.stream()
    (ioc,) = await venue.place([req(clock, ord_type=OrdType.IOC, sz="12", px="101")])
    fills = [e.fill for e in drain(sub) if isinstance(e, OrderUpdate) and e.fill]
    assert [(f.px, f.sz, f.exec_type) for f in fills] == [(D("100.5"), D(10), ExecType.TAKER)]
    o = (await venue.query(SWAP.inst_id, ioc.cl_ord_id)).order
    assert (o.state, o.acc_fill_sz, o.cancel_source) == (S.CANCELLED, D(10), CancelSource.VENUE_IOC)
    (fok,) = await venue.place([req(clock, ord_type=OrdType.FOK, sz="3", px="101")])  # touch used up: 0 left
    assert (await venue.query(SWAP.inst_id, fok.cl_ord_id)).order.cancel_source is CancelSource.VENUE_FOK
    venue.set_book(SWAP.inst_id, D(100), D("100.5"))
    (po,) = await venue.place([req(clock, ord_type=OrdType.POST_ONLY, px="101")])
    assert (await venue.query(SWAP.inst_id, po.cl_ord_id)).order.cancel_source is CancelSource.POST_ONLY
    (lim,) = await venue.place([req(clock, sz="3", px="101")])
    assert (await venue.query(SWAP.inst_id, lim.cl_ord_id)).order.state is S.FILLED


async def test_resting_orders_fill_on_the_mark_partially_as_makers(venue, clock):
    (r,) = await venue.place([req(clock, sz="5", px="99")])
    assert venue.set_mark(SWAP.inst_id, D("99.5")) == 0  # not through its price
    assert venue.set_mark(SWAP.inst_id, D(99), D(2)) == 1
    venue.set_mark(SWAP.inst_id, D("98.5"), D(2))
    o = (await venue.query(SWAP.inst_id, r.cl_ord_id)).order
    assert (o.state, o.acc_fill_sz, o.avg_px) == (S.PARTIALLY_FILLED, D(4), D(99))
    fills = await venue.fills_since(SWAP.inst_id, None)
    assert all(f.exec_type is ExecType.MAKER and f.fee == -(f.px * f.sz * SWAP.ct_val * D("0.0002")) for f in fills)
    assert venue.position_qty(SWAP.inst_id) == 4


async def test_spot_moves_balances_and_refuses_what_it_cannot_pay(venue, clock):
    await venue.place([req(clock, SPOT, ord_type=OrdType.IOC, sz="2", px="101")])
    assert venue.balance("BTC") == START_BALANCES["BTC"] + 2
    assert venue.balance("USDT") == START_BALANCES["USDT"] - D("201") - D("201") * D("0.0005")
    (r,) = await venue.place([req(clock, SPOT, side=Side.SELL, sz="5000", px="120")])
    assert (r.outcome, r.code) == (WriteOutcome.REFUSED, "insufficient_balance")


async def test_rate_limits_are_enforced_exactly(venue, clock):
    outcomes = [(await venue.place([req(clock, px="90")]))[0] for _ in range(61)]
    assert all(r.outcome is WriteOutcome.ACCEPTED for r in outcomes[:60])
    assert (outcomes[60].outcome, outcomes[60].code) == (WriteOutcome.REFUSED, RATE_LIMITED)
    assert (await venue.place([req(clock, SPOT, px="90", sz="0.01")]))[0].outcome is WriteOutcome.ACCEPTED  # per inst
    clock.advance(2)
    assert (await venue.place([req(clock, px="90")]))[0].outcome is WriteOutcome.ACCEPTED


async def test_history_forgets_old_cancelled_orders_that_never_filled(clock):
    venue = PaperVenue((SPOT,), clock, balances=START_BALANCES, history_ms=1000)
    venue.set_book(SPOT.inst_id, D(100), D("100.5"))
    (r,) = await venue.place([req(clock, SPOT, sz="1", px="90")])
    await venue.cancel([CancelRequest(SPOT.inst_id, r.cl_ord_id)])
    assert (await venue.query(SPOT.inst_id, r.cl_ord_id)).outcome is Lookup.FOUND
    clock.advance(2)
    assert (await venue.query(SPOT.inst_id, r.cl_ord_id)).outcome is Lookup.NOT_FOUND


async def test_write_faults(venue, clock):
    venue.inject(Fault.DROP_ACK, "place")
    (a,) = await venue.place([x := req(clock)])
    assert a.outcome is WriteOutcome.AMBIGUOUS and a.acked_ns is None
    assert (await venue.query(SWAP.inst_id, x.cl_ord_id)).outcome is Lookup.FOUND  # executed
    venue.inject(Fault.AMBIGUOUS_AFTER, "place")
    (b,) = await venue.place([y := req(clock)])
    assert (b.outcome, b.code) == (WriteOutcome.AMBIGUOUS, "internal_error")
    assert (await venue.query(SWAP.inst_id, y.cl_ord_id)).outcome is Lookup.FOUND
    for kind in (Fault.NEVER_RECEIVE, Fault.UNAVAILABLE):
        venue.inject(kind, "place")
        (c,) = await venue.place([z := req(clock)])
        assert c.outcome is WriteOutcome.AMBIGUOUS
        assert (await venue.query(SWAP.inst_id, z.cl_ord_id)).outcome is Lookup.NOT_FOUND  # not executed
    venue.inject(Fault.DELAY, "place", cl_ord_id=(late := req(clock)).cl_ord_id)
    assert (await venue.place([late]))[0].outcome is WriteOutcome.AMBIGUOUS
    assert venue.held == 1
    clock.advance(6)
    venue.release()
    assert (await venue.query(SWAP.inst_id, late.cl_ord_id)).outcome is Lookup.NOT_FOUND  # arrived too late


async def test_hold_executes_on_release_even_if_nobody_waits(venue, clock):
    venue.inject(Fault.HOLD, "place")
    task = asyncio.create_task(venue.place([r := req(clock)]))
    await asyncio.sleep(0)
    assert not task.done() and venue.held == 1
    task.cancel()
    venue.release()
    assert (await venue.query(SWAP.inst_id, r.cl_ord_id)).order.state is S.LIVE
    venue.inject(Fault.HOLD, "place")
    task = asyncio.create_task(venue.place([q := req(clock)]))
    await asyncio.sleep(0)
    venue.release(deliver=False)
    ((res,),) = [await task]
    assert res.outcome is WriteOutcome.AMBIGUOUS
    assert (await venue.query(SWAP.inst_id, q.cl_ord_id)).outcome is Lookup.NOT_FOUND


async def test_a_fill_just_before_the_cancel(venue, clock):
    (r,) = await venue.place([req(clock, sz="2", px="99")])
    venue.inject(Fault.FILL_BEFORE_CANCEL, "cancel")
    (c,) = await venue.cancel([CancelRequest(SWAP.inst_id, r.cl_ord_id)])
    assert c.outcome is WriteOutcome.EVIDENCE_NEEDED
    assert (await venue.query(SWAP.inst_id, r.cl_ord_id)).order.state is S.FILLED


async def test_read_faults(venue, clock):
    for op, call in (("open_orders", venue.open_orders), ("fills", lambda: venue.fills_since(SWAP.inst_id, None)),
                     ("positions", venue.positions), ("balances", venue.balances)):
        venue.inject(Fault.UNAVAILABLE, op)
        with pytest.raises(VenueUnavailable):
            await call()
    venue.inject(Fault.UNAVAILABLE, "query")
    assert (await venue.query(SWAP.inst_id, "1")).outcome is Lookup.FAILED
    await venue.place([req(clock, px=str(90 - i)) for i in range(7)])
    venue.inject(Fault.STALL_PAGING, "open_orders")
    with pytest.raises(PagingStalled):
        await venue.open_orders()
    assert len(await venue.open_orders()) == 7


async def test_the_stream_drops_pushes_while_down_and_a_new_one_replaces_the_old(venue, clock):
    old = venue.stream()
    sub = venue.stream()
    assert [ev async for ev in old] == []  # ended
    venue.drop_stream()
    assert not venue.connected
    await venue.place([req(clock, ord_type=OrdType.IOC, px="101")])  # pushes lost
    venue.liquidate(SWAP.inst_id, D(0))  # and the positions push
    venue.restore_stream()
    events = drain(sub)
    assert [type(e) for e in events] == [StreamStatus, StreamStatus]
    assert [e.state for e in events] == [StreamState.DOWN, StreamState.UP]
    venue.liquidate(SWAP.inst_id, D(1))
    (snap,) = drain(sub)
    assert isinstance(snap, PositionsSnapshot) and snap.positions[0].qty == 1
    assert all(isinstance(f, Fill) for f in await venue.fills_since(SWAP.inst_id, None))
    assert len(await venue.fills_since(SWAP.inst_id, None)) == 1  # the liquidation made no fill
