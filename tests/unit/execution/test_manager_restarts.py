"""The restart matrix: the manager is discarded (as kill -9 would: no cancels, no disarm, pushes in
flight lost) at each point of an order's life, for limit, post-only, IOC and market orders on spot and
swap. After a restart and reconciliation, before any new order: local open orders == the venue's as a
set, fill ledger == the venue's fills, positions == the venue's, no duplicate order; a second and a
third restart change nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hftlab.domain.orders import OrderState, OrdType, Side
from hftlab.execution.paper import Fault
from hftlab.execution.testing import SPOT, SWAP, Rig

D = Decimal
TYPES = [OrdType.LIMIT, OrdType.POST_ONLY, OrdType.IOC, OrdType.MARKET]
RESTING = {OrdType.LIMIT, OrdType.POST_ONLY}


def order_for(rig: Rig, spec, ord_type):
    """A resting order for limit and post-only; a taking one (it fills) for IOC and market."""
    sz = "4" if spec.is_swap else "0.5"
    px = {OrdType.LIMIT: "99", OrdType.POST_ONLY: "99", OrdType.IOC: "101", OrdType.MARKET: None}[ord_type]
    return rig.approved(spec, Side.BUY, sz, ord_type, px)


async def _pending(task: asyncio.Task, rig: Rig) -> None:
    await rig.settle()
    assert not task.done()


async def _abandon(task: asyncio.Task) -> None:
    """The dead process's request: cancelled, and it must die quietly (nothing written after death)."""
    task.cancel()
    (result,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(result, asyncio.CancelledError), result


async def journaled_not_sent(rig, spec, ord_type):
    rig.venue.inject(Fault.HOLD, "place")
    task = asyncio.create_task(rig.m.submit(order_for(rig, spec, ord_type)))
    await _pending(task, rig)
    rig.crash()
    await _abandon(task)
    rig.venue.release(deliver=False)  # lost on the way


async def journaled_arrives_late(rig, spec, ord_type):
    rig.venue.inject(Fault.HOLD, "place")
    task = asyncio.create_task(rig.m.submit(order_for(rig, spec, ord_type)))
    await _pending(task, rig)
    rig.crash()
    await _abandon(task)
    rig.clock.advance((rig.config.order_deadline_ms + 1) / 1000)
    rig.venue.release()  # arrives after its deadline: the venue drops it


async def in_transit_across_the_restart(rig, spec, ord_type):
    rig.venue.inject(Fault.HOLD, "place")
    task = asyncio.create_task(rig.m.submit(order_for(rig, spec, ord_type)))
    await _pending(task, rig)
    rig.crash()
    await _abandon(task)
    await rig.start()  # "does not exist" now proves nothing: the request is still on its way
    assert [v.state for v in rig.m.open_orders()] == [OrderState.UNKNOWN]
    rig.venue.release()  # and arrives before its deadline
    return True


async def sent_not_acked(rig, spec, ord_type):
    rig.venue.inject(Fault.HOLD, "place")
    task = asyncio.create_task(rig.m.submit(order_for(rig, spec, ord_type)))
    await _pending(task, rig)
    rig.crash()
    await _abandon(task)
    rig.venue.release()  # executes, nobody hears the answer or the pushes


async def acked_no_push(rig, spec, ord_type):
    rig.m.on_event = lambda ev: None  # the process dies with the pushes unread
    t = await rig.m.submit(order_for(rig, spec, ord_type))
    assert t.sent
    rig.crash()


async def fills_applied_not_persisted(rig, spec, ord_type):
    if ord_type in RESTING:
        t = await rig.m.submit(order_for(rig, spec, ord_type))
        await rig.settle()
        rig.journal.record_fill = lambda f: True  # as if these writes never reached the disk
        rig.journal.record_order = lambda o: None
        rig.venue.set_mark(spec.inst_id, D(99), spec.lot_sz * 2 if spec.is_swap else D("0.2"))
    else:
        rig.venue.set_book(spec.inst_id, D(100), D("100.5"), ask_sz=spec.lot_sz * 2 if spec.is_swap else D("0.2"))
        rig.journal.record_fill = lambda f: True
        rig.journal.record_order = lambda o: None
        t = await rig.m.submit(order_for(rig, spec, ord_type))  # partly filled, the rest cancelled
    await rig.settle()
    assert rig.m.order(t.cl_ord_id).acc_fill_sz > 0  # applied in memory
    rig.crash()


async def cancel_in_flight(rig, spec, ord_type):
    if ord_type in RESTING:
        t = await rig.m.submit(order_for(rig, spec, ord_type))
        await rig.settle()
    else:  # nothing rests: the cancel races the place itself
        rig.venue.inject(Fault.HOLD, "place")
        task = asyncio.create_task(rig.m.submit(order_for(rig, spec, ord_type)))
        await _pending(task, rig)
        (t,) = rig.m.open_orders()
    rig.venue.inject(Fault.HOLD, "cancel")
    cancel = asyncio.create_task(rig.m.cancel(t.cl_ord_id))
    await _pending(cancel, rig)
    rig.crash()
    await _abandon(cancel)
    rig.venue.release()


async def amend_in_flight(rig, spec, ord_type):
    t = await rig.m.submit(order_for(rig, spec, ord_type))
    await rig.settle()
    rig.venue.inject(Fault.HOLD, "amend")
    amend = asyncio.create_task(rig.m.amend(t.cl_ord_id, new_sz=D(8) if spec.is_swap else D(1), new_px=D("98")))
    await _pending(amend, rig)
    rig.crash()
    await _abandon(amend)
    rig.venue.release()


POINTS = {
    "journaled_not_sent": journaled_not_sent,
    "journaled_arrives_late": journaled_arrives_late,
    "in_transit_across_the_restart": in_transit_across_the_restart,
    "sent_not_acked": sent_not_acked,
    "acked_no_push": acked_no_push,
    "fills_applied_not_persisted": fills_applied_not_persisted,
    "cancel_in_flight": cancel_in_flight,
    "amend_in_flight": amend_in_flight,
}
S = OrderState
# The order's state once the venue's truth is rebuilt: (resting types, taking types).
EXPECTED = {
    "journaled_not_sent": (S.REJECTED, S.REJECTED),
    "journaled_arrives_late": (S.REJECTED, S.REJECTED),
    "in_transit_across_the_restart": (S.LIVE, S.FILLED),
    "sent_not_acked": (S.LIVE, S.FILLED),
    "acked_no_push": (S.LIVE, S.FILLED),
    "fills_applied_not_persisted": (S.PARTIALLY_FILLED, S.CANCELLED),
    "cancel_in_flight": (S.CANCELLED, S.FILLED),
    "amend_in_flight": (S.LIVE, None),
}
CASES = [(p, t, s) for p in POINTS for t in TYPES for s in (SPOT, SWAP)
         if not (p == "amend_in_flight" and t not in RESTING)]  # only a resting order can be amended


@pytest.mark.parametrize(("point", "ord_type", "spec"), CASES,
                         ids=[f"{p}-{t.value}-{'swap' if s.is_swap else 'spot'}" for p, t, s in CASES])
async def test_restart_at_each_point_rebuilds_the_venue_s_truth(rig, point, ord_type, spec):
    await rig.start()
    restarted = await POINTS[point](rig, spec, ord_type)
    places = len(rig.venue.log.sent_items("place"))
    if not restarted:
        await rig.start()
    await rig.settle_all()
    rig.check_synced()
    (view,) = rig.m.orders()
    assert view.state is EXPECTED[point][ord_type not in RESTING]
    if point == "amend_in_flight":
        assert (view.sz, view.px) == (D(8) if spec.is_swap else D(1), D(98))
    state = rig.state()
    for _ in range(2):
        await rig.restart()
        await rig.settle_all()
        rig.check_synced()
        assert rig.state() == state
    assert len(rig.venue.log.sent_items("place")) == places  # reconciliation never places


async def test_a_restart_adopts_nothing_twice_and_recovers_every_resting_order(rig):
    """nautilus #5000 and #3176/#3878: kill -9 with resting orders; restarts inventing records."""
    await rig.start()
    for i in range(14):
        await rig.m.submit(rig.approved(SPOT if i % 2 else SWAP, sz="0.5" if i % 2 else "2", px=str(95 - i)))
    rig.venue.set_mark(SWAP.inst_id, D(95), D(1))
    rig.crash()
    await rig.start()
    assert rig.local_open() == rig.venue_open() and len(rig.venue_open()) == 14
    assert rig.m.stats.adopted == 0
    rig.check_synced()
    state = rig.state()
    for _ in range(3):
        await rig.restart()
        assert rig.state() == state
