"""What every ExecutionVenue guarantees the order manager (domain/venue.py; okx-v5-protocol.md §5.6):
outcome classes, clOrdId reuse after terminal, queries of unknown orders, deadlines, batches, paging
that ends and returns everything, Cancel-All-After scoped to our tag, fills carrying their ids,
pushes for every change, positions, balances and limits as data."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from hftlab.domain.orders import AmendResult, CancelSource, Fill, OrderState, OrderUpdate, OrdType, Side
from hftlab.domain.venue import (
    CANCEL_OPS, MAX_BATCH, WRITE_OPS, AmendRequest, CancelRequest, ExecutionVenue, Lookup, Op, PlaceRequest,
    WriteOutcome,
)

D = Decimal
TAG = "conf"
_ids = itertools.count(1)


def cl() -> str:
    return f"{7_000_000_000_000 + next(_ids)}"


def place(rig, spec, *, side=Side.BUY, ord_type=OrdType.LIMIT, px=None, sz=None, cl_ord_id=None, tag=TAG,
          exp_in_ms=5_000) -> PlaceRequest:
    if ord_type is OrdType.MARKET:
        px = None
    elif px is None:
        px = rig.resting_px(spec, side)
    return PlaceRequest(cl_ord_id or cl(), tag, spec.inst_id, side, ord_type, sz or rig.size(spec), px,
                        rig.now_ms() + exp_in_ms)


async def one(rig, req: PlaceRequest):
    (r,) = await rig.venue.place([req])
    return r


def pushed(cl_ord_id, state=None):
    return lambda ev: isinstance(ev, OrderUpdate) and ev.cl_ord_id == cl_ord_id and (state is None or ev.state is state)


async def test_an_accepted_place_rests_is_listed_queried_and_pushed(venue_rig):
    rig = venue_rig
    req = place(rig, rig.spot)
    r = await one(rig, req)
    assert r.outcome is WriteOutcome.ACCEPTED and r.ord_id and r.cl_ord_id == req.cl_ord_id
    assert r.sent_ns is not None and r.acked_ns is not None and r.acked_ns >= r.sent_ns
    q = await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)
    assert q.outcome is Lookup.FOUND
    o = q.order
    assert (o.cl_ord_id, o.ord_id, o.tag, o.state, o.sz, o.px, o.side) == (
        req.cl_ord_id, r.ord_id, TAG, OrderState.LIVE, req.sz, req.px, Side.BUY)
    assert req.cl_ord_id in {x.cl_ord_id for x in await rig.venue.open_orders(TAG)}
    ev = await rig.wait_for(pushed(req.cl_ord_id, OrderState.LIVE))
    assert ev.ord_id == r.ord_id
    assert rig.venue.connected


async def test_a_refused_place_does_nothing(venue_rig):
    rig = venue_rig
    off_grid = place(rig, rig.spot, sz=rig.spot.lot_sz / 2)
    unknown = PlaceRequest(cl(), TAG, "NOPE-USDT", Side.BUY, OrdType.LIMIT, D(1), D(1), rig.now_ms() + 5_000)
    for req in (off_grid, unknown):
        r = await one(rig, req)
        assert r.outcome is WriteOutcome.REFUSED and r.code
        assert (await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)).outcome is Lookup.NOT_FOUND
    assert not await rig.venue.open_orders(TAG)


async def test_a_request_arriving_after_its_deadline_is_dropped(venue_rig):
    rig = venue_rig
    req = place(rig, rig.spot, exp_in_ms=-1_000)
    r = await one(rig, req)
    assert r.outcome is WriteOutcome.REFUSED
    assert (await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)).outcome is Lookup.NOT_FOUND


async def test_a_clordid_is_a_duplicate_only_while_pending_and_then_opens_a_new_order(venue_rig):
    rig = venue_rig
    req = place(rig, rig.spot)
    first = await one(rig, req)
    dup = await one(rig, place(rig, rig.spot, cl_ord_id=req.cl_ord_id))
    assert dup.outcome is WriteOutcome.DUPLICATE
    assert [o.ord_id for o in await rig.venue.open_orders(TAG)] == [first.ord_id]
    (c,) = await rig.venue.cancel([CancelRequest(rig.spot.inst_id, req.cl_ord_id)])
    assert c.outcome is WriteOutcome.ACCEPTED
    await rig.wait_for(pushed(req.cl_ord_id, OrderState.CANCELLED))
    q = await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)
    assert q.order.state is OrderState.CANCELLED and q.order.cancel_source is CancelSource.USER
    again = await one(rig, place(rig, rig.spot, cl_ord_id=req.cl_ord_id))
    assert again.outcome is WriteOutcome.ACCEPTED and again.ord_id != first.ord_id  # a NEW order
    q = await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)
    assert (q.order.ord_id, q.order.state) == (again.ord_id, OrderState.LIVE)  # the latest match


async def test_querying_an_unknown_order_says_not_found(venue_rig):
    q = await venue_rig.venue.query(venue_rig.spot.inst_id, cl())
    assert q.outcome is Lookup.NOT_FOUND and q.order is None


async def test_cancelling_what_is_gone_needs_evidence_never_claims_success(venue_rig):
    rig = venue_rig
    (r,) = await rig.venue.cancel([CancelRequest(rig.spot.inst_id, cl())])
    assert r.outcome is WriteOutcome.EVIDENCE_NEEDED
    req = place(rig, rig.spot)
    await one(rig, req)
    await rig.trade_through(rig.spot, req.cl_ord_id)
    await rig.wait_for(pushed(req.cl_ord_id, OrderState.FILLED))
    (r,) = await rig.venue.cancel([CancelRequest(rig.spot.inst_id, req.cl_ord_id)])
    assert r.outcome is WriteOutcome.EVIDENCE_NEEDED
    assert (await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)).order.state is OrderState.FILLED


async def test_an_amend_is_pushed_with_its_req_id_and_shows_in_the_record(venue_rig):
    rig = venue_rig
    req = place(rig, rig.spot)
    await one(rig, req)
    new_px = req.px - rig.spot.tick_sz * 10
    (r,) = await rig.venue.amend([AmendRequest(rig.spot.inst_id, req.cl_ord_id, "77001", rig.now_ms() + 5_000,
                                               new_sz=req.sz * 2, new_px=new_px)])
    assert r.outcome is WriteOutcome.ACCEPTED
    ev = await rig.wait_for(lambda e: isinstance(e, OrderUpdate) and e.amend_req_id == "77001")
    assert ev.amend_result is AmendResult.APPLIED
    o = (await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)).order
    assert (o.px, o.sz) == (new_px, req.sz * 2)
    assert o.last_amend is None or o.last_amend == ("77001", AmendResult.APPLIED)
    gone_amend = AmendRequest(rig.spot.inst_id, cl(), "77002", rig.now_ms() + 5_000, new_px=new_px)
    (gone,) = await rig.venue.amend([gone_amend])
    assert gone.outcome is WriteOutcome.EVIDENCE_NEEDED


@pytest.mark.parametrize("ord_type", [OrdType.IOC, OrdType.MARKET, OrdType.LIMIT])
async def test_a_taking_order_fills_and_its_fills_carry_their_ids(venue_rig, ord_type):
    rig = venue_rig
    spec = rig.swap
    req = place(rig, spec, ord_type=ord_type, px=rig.taking_px(spec, Side.BUY))
    r = await one(rig, req)
    assert r.outcome is WriteOutcome.ACCEPTED
    await rig.wait_for(pushed(req.cl_ord_id, OrderState.FILLED))
    fills = [f for f in await rig.venue.fills_since(spec.inst_id, None) if f.cl_ord_id == req.cl_ord_id]
    assert fills and sum(f.sz for f in fills) == req.sz
    for f in fills:
        assert isinstance(f, Fill) and f.trade_id and f.ord_id == r.ord_id and f.side is Side.BUY
    ids = [int(f.trade_id) for f in await rig.venue.fills_since(spec.inst_id, None)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert await rig.venue.fills_since(spec.inst_id, str(max(ids))) == []
    q = (await rig.venue.query(spec.inst_id, req.cl_ord_id)).order
    assert (q.state, q.acc_fill_sz) == (OrderState.FILLED, req.sz)
    assert any(p.inst_id == spec.inst_id and p.qty > 0 for p in await rig.venue.positions())
    assert await rig.venue.balances()


async def test_batches_answer_per_item_in_order_and_have_bounds(venue_rig):
    rig = venue_rig
    reqs = [place(rig, rig.spot), place(rig, rig.spot, sz=rig.spot.lot_sz / 2), place(rig, rig.spot)]
    results = await rig.venue.place(reqs)
    assert [r.cl_ord_id for r in results] == [q.cl_ord_id for q in reqs]
    assert [r.outcome for r in results] == [WriteOutcome.ACCEPTED, WriteOutcome.REFUSED, WriteOutcome.ACCEPTED]
    cancels = await rig.venue.cancel([CancelRequest(rig.spot.inst_id, q.cl_ord_id) for q in reqs])
    assert [c.outcome for c in cancels] == [WriteOutcome.ACCEPTED, WriteOutcome.EVIDENCE_NEEDED, WriteOutcome.ACCEPTED]
    for bad in ([], [place(rig, rig.spot) for _ in range(MAX_BATCH + 1)]):
        with pytest.raises(ValueError):
            await rig.venue.place(bad)


async def test_paging_ends_and_returns_every_order_and_fill_once(venue_rig):
    rig = venue_rig
    n = rig.page_size * 2 + 3
    reqs = [place(rig, rig.spot, px=rig.resting_px(rig.spot, Side.BUY) - i * rig.spot.tick_sz) for i in range(n)]
    for k in range(0, n, MAX_BATCH):
        assert {r.outcome for r in await rig.venue.place(reqs[k:k + MAX_BATCH])} == {WriteOutcome.ACCEPTED}
    listed = [o.cl_ord_id for o in await rig.venue.open_orders(TAG)]
    assert sorted(listed) == sorted(q.cl_ord_id for q in reqs)
    takers = [place(rig, rig.swap, ord_type=OrdType.IOC, px=rig.taking_px(rig.swap, Side.BUY), sz=rig.swap.min_sz)
              for _ in range(rig.page_size + 2)]
    for k in range(0, len(takers), MAX_BATCH):
        await rig.venue.place(takers[k:k + MAX_BATCH])
    fills = await rig.venue.fills_since(rig.swap.inst_id, None)
    assert len({f.trade_id for f in fills}) == len(fills) >= len(takers)


async def test_cancel_all_after_cancels_only_our_tagged_orders(venue_rig):
    rig = venue_rig
    ours, untagged, other = place(rig, rig.spot), place(rig, rig.spot, tag=""), place(rig, rig.spot, tag="other")
    for req in (ours, untagged, other):
        assert (await one(rig, req)).outcome is WriteOutcome.ACCEPTED
    r = await rig.venue.cancel_all_after(TAG, 10)
    assert r.outcome is WriteOutcome.ACCEPTED
    await rig.elapse(11)
    ev = await rig.wait_for(pushed(ours.cl_ord_id, OrderState.CANCELLED))
    assert ev.cancel_source is CancelSource.DEAD_MAN_SWITCH
    open_ids = {o.cl_ord_id for o in await rig.venue.open_orders()}
    assert ours.cl_ord_id not in open_ids and {untagged.cl_ord_id, other.cl_ord_id} <= open_ids


async def test_cancel_all_after_disarms_with_zero_and_has_bounds(venue_rig):
    rig = venue_rig
    req = place(rig, rig.spot)
    await one(rig, req)
    assert (await rig.venue.cancel_all_after(TAG, 10)).outcome is WriteOutcome.ACCEPTED
    await rig.elapse(2)
    assert (await rig.venue.cancel_all_after(TAG, 0)).outcome is WriteOutcome.ACCEPTED
    await rig.elapse(11)
    assert (await rig.venue.query(rig.spot.inst_id, req.cl_ord_id)).order.state is OrderState.LIVE
    for bad in (5, 121):
        with pytest.raises(ValueError):
            await rig.venue.cancel_all_after(TAG, bad)


async def test_open_orders_filter_by_tag(venue_rig):
    rig = venue_rig
    ours, untagged = place(rig, rig.spot), place(rig, rig.spot, tag="")
    await one(rig, ours)
    await one(rig, untagged)
    assert {o.cl_ord_id for o in await rig.venue.open_orders(TAG)} == {ours.cl_ord_id}
    assert {ours.cl_ord_id, untagged.cl_ord_id} <= {o.cl_ord_id for o in await rig.venue.open_orders()}


def test_it_is_an_execution_venue_with_its_limits_as_data(venue_rig):
    assert isinstance(venue_rig.venue, ExecutionVenue)
    limits = venue_rig.venue.limits
    for op in WRITE_OPS | {Op.QUERY, Op.OPEN_ORDERS, Op.FILLS, Op.CANCEL_ALL_AFTER}:
        assert limits.for_op(op), f"no rate limit stated for {op}"
    assert limits.rate_limit_codes
    for b in limits.buckets:
        assert b.limit >= 1 and b.window_s > 0 and b.ops
    assert CANCEL_OPS <= {op for b in limits.buckets for op in b.ops}
