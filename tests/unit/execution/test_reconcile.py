"""Reconciliation: `reconciling` while a pass runs and until one syncs after a gap; paging that does
not advance stops the pass (logged, counted) instead of looping; reads that do not answer fail it; the
fills cursor is the last complete read, not the highest id seen; 'no such order' after the history
window; a query that does not answer is retried; positions from the venue for swaps only."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hftlab.domain.orders import OrderState, OrdType, Side
from hftlab.domain.venue import PlaceRequest, WriteOutcome
from hftlab.execution.paper import Fault
from hftlab.execution.reconcile import PassOutcome, Resolution
from hftlab.execution.testing import SPOT, SWAP, TAG

D = Decimal
S = OrderState


async def test_reconciling_is_true_while_a_pass_runs(rig):
    await rig.start()
    assert not rig.m.reconciling
    gate, seen = asyncio.Event(), []
    real = rig.venue.open_orders

    async def slow(tag=None):
        seen.append(rig.m.reconciling)
        await gate.wait()
        return await real(tag)
    rig.venue.open_orders = slow
    task = asyncio.create_task(rig.m.reconcile())
    for _ in range(1000):
        if seen:
            break
        await asyncio.sleep(0)
    assert seen == [True] and rig.m.reconciling
    gate.set()
    assert (await task).outcome is PassOutcome.SYNCED and not rig.m.reconciling


async def test_a_paging_cursor_that_does_not_move_stops_the_pass(make_rig, caplog):
    rig = make_rig(venue_kw={"page_size": 3})
    await rig.start()
    for i in range(7):
        await rig.m.submit(rig.approved(px=str(95 - i)))
    rig.venue.inject(Fault.STALL_PAGING, "open_orders")
    report = await rig.m.reconcile()
    assert report.outcome is PassOutcome.FAILED and "paging_stalled" in report.reason
    assert rig.m.stats.paging_stalls == 1 and rig.m.reconciling
    assert "paging" in caplog.text
    assert (await rig.m.reconcile()).outcome is PassOutcome.SYNCED and not rig.m.reconciling
    assert len(rig.local_open()) == 7


async def test_a_read_that_does_not_answer_fails_the_pass(rig):
    await rig.start()
    rig.venue.inject(Fault.UNAVAILABLE, "fills")
    report = await rig.m.reconcile()
    assert report.outcome is PassOutcome.FAILED and rig.m.reconciling
    assert rig.m.stats.reconcile_failures["venue_unavailable"] == 1


async def test_a_stream_drop_during_the_pass_leaves_it_unsynced(rig):
    await rig.start()
    real = rig.venue.positions

    async def dropping():
        rig.venue.drop_stream()
        return await real()
    rig.venue.positions = dropping
    await rig.m.submit(rig.approved(SWAP, sz="1", ord_type=OrdType.IOC, px="101"))
    report = await rig.m.reconcile()
    assert report.outcome is PassOutcome.GAP and rig.m.reconciling
    rig.venue.positions = real
    rig.venue.restore_stream()
    await rig.settle()
    assert not rig.m.reconciling


async def test_the_fills_cursor_is_the_last_complete_read_not_the_highest_id_seen(make_rig):
    """A push after a gap would move a max-seen cursor past the fills the gap lost."""
    rig = make_rig(venue_kw={"pushes_first": False})
    await rig.start()
    await rig.m.submit(rig.approved(SWAP, sz="5", px="99"))
    rig.venue.drop_stream()
    rig.venue.set_mark(SWAP.inst_id, D(99), D(1))  # lost with the stream
    rig.venue.restore_stream()
    rig.venue.set_mark(SWAP.inst_id, D(99), D(1))  # pushed, queued behind the reconnect
    await rig.settle()
    lost, pushed = [f.trade_id for f in rig.venue.all_fills()]
    assert {f.trade_id for f in rig.m.portfolio.ledger} == {lost, pushed}
    assert rig.m.portfolio.ledger.last_trade_id(SWAP.inst_id) == pushed
    rig.check_synced()


async def test_an_order_that_existed_and_left_the_venue_s_history_ended(make_rig):
    rig = make_rig(venue_kw={"history_ms": 60_000})
    await rig.start()
    t = await rig.m.submit(rig.approved(px="99"))
    rig.venue.drop_stream()
    await rig.settle()
    rig.clock.advance(1.1)  # Cancel-All-After takes one request a second
    assert (await rig.venue.cancel_all_after(TAG, 10)).outcome is WriteOutcome.ACCEPTED  # it will fire unheard
    rig.clock.advance(11)
    rig.venue.tick()
    rig.clock.advance(120)  # and forgets it: never filled, cancelled long ago
    rig.venue.restore_stream()
    await rig.settle()
    await rig.m.resolve()
    assert rig.m.order(t.cl_ord_id).state is S.CANCELLED
    assert rig.m.stats.resolved[Resolution.ENDED_UNSEEN] == 1


async def test_a_query_that_does_not_answer_is_retried(make_rig):
    rig = make_rig(venue_kw={"pushes_first": False})
    await rig.start()
    rig.m.on_event = lambda ev: None  # its pushes are lost too (no stream drop to warn us)
    rig.venue.inject(Fault.DROP_ACK, "place")
    t = await rig.m.submit(rig.approved(px="99"))
    rig.venue.inject(Fault.UNAVAILABLE, "query")
    await rig.m.resolve()
    assert rig.m.stats.resolved[Resolution.RETRY] == 1 and rig.m.order(t.cl_ord_id).state is S.UNKNOWN
    assert await rig.m.resolve() == 0  # not before its retry time
    rig.clock.advance(rig.config.resolve_retry_s)
    assert await rig.m.resolve() == 1
    assert rig.m.order(t.cl_ord_id).state is S.LIVE


async def test_positions_win_only_where_the_venue_keeps_positions(rig):
    await rig.start()
    await rig.m.submit(rig.approved(SWAP, sz="4", ord_type=OrdType.IOC, px="101"))
    await rig.m.submit(rig.approved(SPOT, sz="0.5", ord_type=OrdType.IOC, px="101"))
    await rig.settle()
    rig.venue.liquidate(SWAP.inst_id, D(1))
    await rig.settle()
    assert rig.m.portfolio.position(SWAP.inst_id).qty == 1 and rig.m.stats.position_discrepancies == 1
    assert rig.m.portfolio.position(SPOT.inst_id).qty == D("0.5")  # balances are read, never forced in
    assert {b.ccy for b in rig.m.balances} == {"BTC", "USDT"}
    assert (await rig.m.reconcile()).discrepancies == ()  # settled: nothing more to replace


async def test_untagged_orders_are_never_adopted_or_cancelled(rig):
    await rig.start()
    await rig.venue.place([PlaceRequest("42", "", SPOT.inst_id, Side.BUY, OrdType.LIMIT, D(1), D(90),
                                        rig.clock.time_ms() + 5000),
                           PlaceRequest("43", "other", SPOT.inst_id, Side.BUY, OrdType.LIMIT, D(1), D(90),
                                        rig.clock.time_ms() + 5000)])
    await rig.m.reconcile()
    await rig.m.cancel_all_tagged()
    await rig.settle()
    assert {o.cl_ord_id for o in rig.venue.venue_open()} == {"42", "43"}
    assert not rig.m.orders() and rig.m.stats.adopted == 0
    assert not rig.venue.log.sent_items("cancel")
