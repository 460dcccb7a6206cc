"""The order manager on the paper venue: approved orders only, write-ahead, the three venue truths
behind an ambiguous place, evidence instead of assumptions, duplicates adopted, slots, exposure,
budgets that never earn a venue refusal, the kill switch, amends, stream gaps, liquidations, and the
lessons of okx-v5-protocol.md §5.6 "What went wrong elsewhere", one test each."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal

import pytest

from hftlab.domain.orders import OrderState, OrdType, Side, clordid_for, parse_clordid
from hftlab.domain.venue import Op, PlaceRequest, RateLimit, Scope, Unit, VenueLimits, WriteOutcome
from hftlab.execution.journal import Journal
from hftlab.execution.manager import LocalRefusal, OrderManager
from hftlab.execution.paper import PAPER_LIMITS, RATE_LIMITED, Fault
from hftlab.execution.testing import SPECS, SPOT, SWAP, TAG
from hftlab.portfolio.equity import Portfolio

D = Decimal
S = OrderState


async def test_only_an_approved_order_is_taken(rig):
    await rig.start()
    a = rig.approved()
    with pytest.raises(TypeError):
        await rig.m.submit(a.intent)
    with pytest.raises(TypeError):
        await rig.m.submit_batch([a, object()])
    assert not rig.venue.log.sent_items("place")


async def test_clordids_are_numeric_and_unique_across_restarts(rig):
    await rig.start()
    first = [(await rig.m.submit(rig.approved())).cl_ord_id for _ in range(3)]
    await rig.restart()
    second = [(await rig.m.submit(rig.approved())).cl_ord_id for _ in range(3)]
    ids = first + second
    assert len(set(ids)) == 6 and all(c.isdigit() and 0 < int(c) < 2**63 for c in ids)
    epochs = [parse_clordid(c)[0] for c in ids]
    assert len(set(epochs[:3])) == 1 and min(epochs[3:]) > max(epochs[:3])


async def test_the_intent_is_committed_before_the_send(rig):
    await rig.start()
    seen = []
    real = rig.venue.place

    async def place(requests):
        db = sqlite3.connect(rig.config.journal_path)  # another connection sees only committed rows
        seen.extend(db.execute("SELECT cl_ord_id, state FROM orders").fetchall())
        db.close()
        return await real(requests)
    rig.venue.place = place
    t = await rig.m.submit(rig.approved())
    assert seen == [(t.cl_ord_id, "pending_submit")]


async def test_local_refusals_are_typed_and_never_sent(rig):
    await rig.start()
    off = rig.approved(sz="0.0005")
    assert (await rig.m.submit(off)).refusal is LocalRefusal.OFF_GRID
    a = rig.approved(slot="q")
    assert (await rig.m.submit(a)).outcome is WriteOutcome.ACCEPTED
    assert (await rig.m.submit(rig.approved(slot="q"))).refusal is LocalRefusal.SLOT_BUSY
    rig.venue.drop_stream()
    await rig.settle()
    assert (await rig.m.submit(rig.approved())).refusal is LocalRefusal.DISCONNECTED
    assert len(rig.venue.log.sent_items("place")) == 1
    assert rig.m.stats.local_refusals[LocalRefusal.SLOT_BUSY] == 1


# -- an ambiguous place: three venue truths ---------------------------------------------------------

async def _reach(rig, approved_for, target: Decimal, venue_exposure) -> int:
    """A strategy that wants `target` of exposure in one slot: it submits only while the slot is free
    and the venue does not have it yet (resolving what is unproven in between)."""
    submits = 0
    for _ in range(4):
        if venue_exposure() == target:
            break
        if not rig.m.open_orders():
            t = await rig.m.submit(approved_for())
            submits += t.sent
        await rig.settle()
        await rig.m.resolve()
        await rig.settle()
        if rig.m.unknown_orders():
            await rig.settle_all()
    return submits


@pytest.mark.parametrize("fault", [Fault.DROP_ACK, Fault.AMBIGUOUS_AFTER])
async def test_ambiguous_place_of_an_order_that_rests(make_rig, fault):
    rig = make_rig(venue_kw={"pushes_first": False})  # the (lost) answer comes before the pushes
    await rig.start()
    rig.venue.inject(fault, "place")
    t = await rig.m.submit(rig.approved(slot="bid", px="99"))
    assert (t.outcome, t.state) == (WriteOutcome.AMBIGUOUS, S.UNKNOWN)
    e = rig.m.exposure(SPOT.inst_id)
    assert (e.buy_unknown, e.max_long) == (D(1), D(1))  # as if filled
    assert (await rig.m.submit(rig.approved(slot="bid"))).refusal is LocalRefusal.SLOT_BUSY
    await rig.m.resolve()  # the query proves it (its pushes would too)
    assert rig.m.order(t.cl_ord_id).state is S.LIVE
    assert rig.m.exposure(SPOT.inst_id).buy_open == D(1)
    await rig.settle()
    assert rig.m.order(t.cl_ord_id).state is S.LIVE
    assert [o.sz for o in rig.venue.venue_open(TAG)] == [D(1)]
    rig.check_no_duplicates()
    assert len(rig.venue.log.sent_items("place")) == 1


@pytest.mark.parametrize("pushes_first", [False, True])
@pytest.mark.parametrize("fault", [Fault.DROP_ACK, Fault.AMBIGUOUS_AFTER])
async def test_ambiguous_place_of_an_ioc_that_filled_completely(make_rig, fault, pushes_first):
    rig = make_rig(venue_kw={"pushes_first": pushes_first})
    await rig.start()
    rig.venue.inject(fault, "place")
    approved = lambda: rig.approved(SWAP, sz="3", ord_type=OrdType.IOC, px="101", slot="take")  # noqa: E731
    submits = await _reach(rig, approved, D(3), lambda: rig.venue.position_qty(SWAP.inst_id))
    assert submits == 1 and len(rig.venue.log.sent_items("place")) == 1
    assert rig.venue.position_qty(SWAP.inst_id) == D(3)  # once, not twice
    (view,) = [v for v in rig.m.orders()]
    assert (view.state, view.acc_fill_sz) == (S.FILLED, D(3))
    await rig.settle_all()
    rig.check_synced()


async def test_ambiguous_place_that_never_arrived_is_concluded_only_after_its_deadline(rig):
    await rig.start()
    rig.venue.inject(Fault.NEVER_RECEIVE, "place")
    approved = lambda: rig.approved(SWAP, sz="2", ord_type=OrdType.IOC, px="101", slot="take")  # noqa: E731
    t = await rig.m.submit(approved())
    assert t.state is S.UNKNOWN
    await rig.m.resolve()
    await rig.m.reconcile()  # a pass cannot conclude it either: the request might still be on its way
    assert rig.m.order(t.cl_ord_id).state is S.UNKNOWN
    assert rig.m.exposure(SWAP.inst_id).buy_unknown == D(2)
    rig.clock.advance((rig.config.order_deadline_ms + rig.config.deadline_grace_ms) / 1000)
    await rig.m.resolve()
    assert rig.m.order(t.cl_ord_id).state is S.REJECTED
    assert rig.m.exposure(SWAP.inst_id).max_long == 0
    submits = await _reach(rig, approved, D(2), lambda: rig.venue.position_qty(SWAP.inst_id))
    assert submits == 1 and rig.venue.position_qty(SWAP.inst_id) == D(2)  # the intended exposure, once
    rig.check_no_duplicates()


@pytest.mark.parametrize("arrives", ["before_deadline", "after_deadline"])
async def test_a_delayed_place_executes_only_if_it_arrives_before_its_deadline(rig, arrives):
    await rig.start()
    rig.venue.inject(Fault.DELAY, "place")
    t = await rig.m.submit(rig.approved(SWAP, sz="2", ord_type=OrdType.IOC, px="101"))
    assert t.state is S.UNKNOWN
    await rig.m.resolve()  # not found: still on the wire
    assert rig.m.order(t.cl_ord_id).state is S.UNKNOWN
    if arrives == "after_deadline":
        rig.clock.advance((rig.config.order_deadline_ms + 1) / 1000)
    rig.venue.release()
    await rig.settle()
    await rig.settle_all()
    expected = (S.FILLED, D(2)) if arrives == "before_deadline" else (S.REJECTED, D(0))
    assert (rig.m.order(t.cl_ord_id).state, rig.venue.position_qty(SWAP.inst_id)) == expected
    rig.check_synced()


# -- evidence, duplicates, pushes ------------------------------------------------------------------

async def test_cannot_cancel_is_never_taken_for_cancelled(rig):
    """hummingbot #4738 (and its OKX connector mapping 51400 to "cancelled")."""
    await rig.start()
    t = await rig.m.submit(rig.approved(SWAP, sz="2", px="99"))
    rig.venue.inject(Fault.FILL_BEFORE_CANCEL, "cancel")
    c = await rig.m.cancel(t.cl_ord_id)
    assert c.outcome is WriteOutcome.EVIDENCE_NEEDED
    await rig.settle()
    await rig.m.resolve()
    assert rig.m.order(t.cl_ord_id).state is S.FILLED
    assert rig.m.portfolio.position(SWAP.inst_id).qty == D(2) == rig.venue.position_qty(SWAP.inst_id)


async def test_a_duplicate_clordid_adopts_the_pending_order(make_rig):
    rig = make_rig(venue_kw={"pushes_first": False})
    await rig.start()
    epoch = rig.journal.last_epoch()
    pending = clordid_for(epoch, 0)  # the id the manager will use next
    await rig.venue.place([PlaceRequest(pending, TAG, SPOT.inst_id, Side.BUY, OrdType.LIMIT, D("0.5"), D(98),
                                        rig.clock.time_ms() + 5000)])
    t = await rig.m.submit(rig.approved(px="99"))
    assert (t.cl_ord_id, t.outcome, t.state) == (pending, WriteOutcome.DUPLICATE, S.UNKNOWN)
    await rig.settle()
    await rig.m.resolve()
    view = rig.m.order(pending)
    assert (view.state, view.sz, view.px) == (S.LIVE, D("0.5"), D(98))  # the venue's order, as it is
    assert len(rig.venue.log.created) == 1


async def test_duplicated_pushes_before_acks_count_once(make_rig):
    rig = make_rig(venue_kw={"duplicate_pushes": True})
    await rig.start()
    t = await rig.m.submit(rig.approved(SWAP, sz="2", ord_type=OrdType.IOC, px="101"))
    assert t.state is S.FILLED  # the fill pushes came before the ack
    await rig.settle()
    assert rig.m.portfolio.position(SWAP.inst_id).qty == D(2)
    assert len(rig.m.portfolio.ledger) == 1 and rig.m.order_stats.duplicate_fills >= 1
    await rig.settle_all()
    rig.check_synced()


# -- exposure and slots ----------------------------------------------------------------------------

async def test_exposure_counts_fills_resting_orders_and_unknown_ones_as_if_filled(rig):
    await rig.start()
    await rig.m.submit(rig.approved(SWAP, sz="5", px="99"))
    rig.venue.set_mark(SWAP.inst_id, D(99), D(2))
    await rig.settle()
    rig.venue.inject(Fault.NEVER_RECEIVE, "place")
    await rig.m.submit(rig.approved(SWAP, side=Side.SELL, sz="4", px="120"))
    e = rig.m.exposure(SWAP.inst_id)
    assert (e.position, e.buy_open, e.sell_open, e.buy_unknown, e.sell_unknown) == (D(2), D(3), 0, 0, D(4))
    assert (e.max_long, e.max_short) == (D(5), D(-2))


# -- budgets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wait_s", [0.0, 30.0])
async def test_200_places_in_2s_on_one_instrument_never_earn_a_venue_rate_limit(make_rig, wait_s):
    rig = make_rig(budget_wait_s=wait_s)
    await rig.start()
    tickets = []
    for i in range(200):
        rig.clock.advance(0.01)
        tickets.append(await rig.m.submit(rig.approved(px=str(90 - i * D("0.1")))))
    refused_for_rate = [r for r in rig.m.stats.outcomes if r == ("place", WriteOutcome.REFUSED)]
    assert not refused_for_rate and rig.m.stats.venue_rate_limited == 0
    sent = [t for t in tickets if t.sent]
    assert all(t.outcome is WriteOutcome.ACCEPTED for t in sent)
    held = [t for t in tickets if not t.sent]
    assert all(t.refusal is LocalRefusal.THROTTLED for t in held)
    if wait_s:
        assert len(sent) == 200  # all of them, paced
    else:
        assert 24 <= len(sent) < 200 and held


async def test_a_burst_of_concurrent_places_is_paced_not_refused(make_rig):
    rig = make_rig(budget_wait_s=60.0)
    await rig.start()
    tickets = await asyncio.gather(*(rig.m.submit(rig.approved(px=str(90 - i * D("0.1")))) for i in range(150)))
    assert all(t.outcome is WriteOutcome.ACCEPTED for t in tickets)
    assert rig.m.stats.venue_rate_limited == 0


SHARED = VenueLimits(tuple(b for b in PAPER_LIMITS.buckets if b.name not in ("place", "cancel")) + (
    RateLimit("orders", frozenset({Op.PLACE, Op.CANCEL}), 40, 2.0, Scope.INSTRUMENT, Unit.REQUEST),
), frozenset({RATE_LIMITED}))


@pytest.mark.parametrize("reserve", [0.25, 0.0])
async def test_the_kill_switch_goes_out_when_the_place_budget_is_spent(make_rig, reserve):
    rig = make_rig(venue_kw={"limits": SHARED}, budget_wait_s=0.0, cancel_reserve=reserve)
    await rig.start()
    placed = []
    while True:
        t = await rig.m.submit(rig.approved(px="90"))
        if not t.sent:
            assert t.refusal is LocalRefusal.THROTTLED
            break
        placed.append(t.cl_ord_id)
    c = await rig.m.cancel(placed[0])
    if reserve:
        assert c.outcome is WriteOutcome.ACCEPTED
    else:
        assert c.refusal is LocalRefusal.THROTTLED  # what the reserve is for
    assert rig.m.stats.venue_rate_limited == 0


# -- the kill switch and the tag -------------------------------------------------------------------

async def test_the_kill_switch_cancels_every_tagged_order_found_at_the_venue(rig):
    await rig.start()
    mine = [(await rig.m.submit(rig.approved(px=str(95 - i)))).cl_ord_id for i in range(3)]
    exp = rig.clock.time_ms() + 5000
    stray = PlaceRequest("123456789", TAG, SPOT.inst_id, Side.BUY, OrdType.LIMIT, D(1), D(90), exp)
    untagged = PlaceRequest("987654321", "", SPOT.inst_id, Side.BUY, OrdType.LIMIT, D(1), D(90), exp)
    await rig.venue.place([stray, untagged])
    report = await rig.m.cancel_all_tagged()
    assert report.listed and report.venue_open == 4
    assert {t.cl_ord_id for t in report.tickets if t.outcome is WriteOutcome.ACCEPTED} == {*mine, "123456789"}
    await rig.settle()
    assert not rig.venue.venue_open(TAG)
    assert [o.cl_ord_id for o in rig.venue.venue_open()] == ["987654321"]  # never touched
    assert rig.m.stats.adopted == 1 and not rig.m.open_orders()


# -- amends ----------------------------------------------------------------------------------------

async def test_an_amend_size_includes_what_filled(rig):
    await rig.start()
    t = await rig.m.submit(rig.approved(sz="1", px="99"))
    rig.venue.set_mark(SPOT.inst_id, D(99), D("0.4"))
    await rig.settle()
    a = await rig.m.amend(t.cl_ord_id, new_sz=D("0.5"), new_px=D("98"))
    assert a.outcome is WriteOutcome.ACCEPTED and a.req_id
    await rig.settle()
    view = rig.m.order(t.cl_ord_id)
    assert (view.sz, view.px, view.acc_fill_sz) == (D("0.5"), D(98), D("0.4"))
    assert rig.m.exposure(SPOT.inst_id).buy_open == D("0.1")
    (vo,) = rig.venue.venue_open(TAG)
    assert (vo.sz, vo.px) == (D("0.5"), D(98))
    assert (await rig.m.amend(t.cl_ord_id, new_px=D("98.05"))).refusal is LocalRefusal.OFF_GRID


async def test_amends_in_flight_are_capped_and_settled_by_the_record_after_their_deadline(rig):
    await rig.start()
    t = await rig.m.submit(rig.approved(sz="1", px="99"))
    for px in ("98", "97", "96"):
        rig.venue.inject(Fault.DELAY, "amend")
        assert (await rig.m.amend(t.cl_ord_id, new_px=D(px))).outcome is WriteOutcome.AMBIGUOUS
    assert (await rig.m.amend(t.cl_ord_id, new_px=D("95"))).refusal is LocalRefusal.AMEND_LIMIT
    assert rig.m.exposure(SPOT.inst_id).buy_open == D(1)
    rig.venue.release()  # all three arrive in time, in order; their answers were lost
    await rig.settle()
    rig.clock.advance((rig.config.order_deadline_ms + rig.config.deadline_grace_ms) / 1000)
    await rig.m.resolve()
    view = rig.m.order(t.cl_ord_id)
    (vo,) = rig.venue.venue_open(TAG)
    assert (view.sz, view.px) == (vo.sz, vo.px) == (D(1), D(96))
    assert (await rig.m.amend(t.cl_ord_id, new_px=D("95"))).outcome is WriteOutcome.ACCEPTED  # slots freed


async def test_an_amend_lost_on_the_way_leaves_the_venue_s_order_as_it_was(rig):
    await rig.start()
    t = await rig.m.submit(rig.approved(sz="1", px="99"))
    rig.venue.inject(Fault.NEVER_RECEIVE, "amend")
    await rig.m.amend(t.cl_ord_id, new_sz=D(3))
    assert rig.m.exposure(SPOT.inst_id).buy_open == D(3)  # the amend may have applied: the larger size counts
    await rig.settle_all()
    assert (rig.m.order(t.cl_ord_id).sz, rig.m.exposure(SPOT.inst_id).buy_open) == (D(1), D(1))


# -- stream gaps, liquidations, cancels that never land (the lessons) -------------------------------

async def test_transport_errors_are_no_evidence_and_the_dead_order_s_fill_is_tracked(rig):
    """hummingbot #8457, #3374, #493: an order marked failed on a transport error, re-quoted, and
    the 'dead' order filled into an untracked position."""
    await rig.start()
    rig.venue.inject(Fault.NEVER_RECEIVE, "cancel", times=5)
    rig.venue.inject(Fault.DROP_ACK, "place")
    t = await rig.m.submit(rig.approved(SWAP, sz="2", px="99", slot="quote"))
    assert (await rig.m.submit(rig.approved(SWAP, sz="2", px="99", slot="quote"))).refusal is LocalRefusal.SLOT_BUSY
    await rig.m.cancel(t.cl_ord_id)  # lost
    rig.venue.set_mark(SWAP.inst_id, D(99))  # the "dead" order fills
    await rig.settle()
    await rig.settle_all()
    assert rig.m.order(t.cl_ord_id).state is S.FILLED
    assert rig.m.portfolio.position(SWAP.inst_id).qty == D(2) == rig.venue.position_qty(SWAP.inst_id)
    rig.check_synced()


async def test_every_reconnect_gap_fills_before_new_risk(rig):
    """hummingbot #5896: after a close the bot looped cancelling an order that no longer existed."""
    await rig.start()
    rest = await rig.m.submit(rig.approved(SWAP, sz="4", px="99"))
    gone = await rig.m.submit(rig.approved(SWAP, side=Side.SELL, sz="1", px="102"))
    rig.venue.drop_stream()
    await rig.settle()
    assert rig.m.reconciling and {v.state for v in rig.m.open_orders()} == {S.UNKNOWN}
    rig.venue.set_mark(SWAP.inst_id, D(99), D(1))  # fills during the gap: pushes lost
    rig.venue.fill_order(gone.cl_ord_id)
    assert (await rig.m.cancel(gone.cl_ord_id)).outcome is WriteOutcome.EVIDENCE_NEEDED
    rig.venue.restore_stream()
    await rig.settle()  # the reconnect triggers a pass
    assert not rig.m.reconciling
    assert rig.m.order(rest.cl_ord_id).state is S.PARTIALLY_FILLED
    assert rig.m.order(gone.cl_ord_id).state is S.FILLED
    cancels = len(rig.venue.log.sent_items("cancel"))
    for _ in range(5):
        rig.clock.advance(2)
        await rig.m.resolve()
    assert len(rig.venue.log.sent_items("cancel")) == cancels  # no loop on a finished order
    rig.check_synced()


async def test_a_liquidation_without_order_update_is_reconciled_the_same_on_every_restart(rig):
    await rig.start()
    await rig.m.submit(rig.approved(SWAP, sz="6", ord_type=OrdType.IOC, px="101"))
    await rig.settle()
    rig.venue.set_book(SWAP.inst_id, D(80), D("80.5"))
    rig.venue.set_mark(SWAP.inst_id, D(80))
    rig.venue.liquidate(SWAP.inst_id, D(0))
    await rig.settle()  # the positions push asks for a pass
    assert rig.m.portfolio.position(SWAP.inst_id).qty == 0
    assert rig.m.stats.position_discrepancies == 1
    (d,) = rig.journal.discrepancies()
    # the venue lists no flat position, so no venue mark: it closes at our average (a pure function of
    # the ledger, hence the same on every restart); the loss itself shows in the venue's balance
    assert (d.local_qty, d.venue_qty, d.mark_px) == (D(6), D(0), D("100.5"))
    rig.check_synced()
    state = rig.state()
    for _ in range(2):
        await rig.restart()
        rig.check_synced()
        assert rig.state() == state


async def test_pending_cancels_are_never_closed_by_retries_running_out(rig):
    """nautilus #4152: pending cancels force-closed after retries; the real outcome could not land."""
    await rig.start()
    t = await rig.m.submit(rig.approved(px="99"))
    rig.venue.inject(Fault.NEVER_RECEIVE, "cancel", times=50)
    await rig.m.cancel(t.cl_ord_id)
    for _ in range(30):
        rig.clock.advance(3)
        await rig.m.heartbeat()
        await rig.m.resolve()
    assert rig.m.order(t.cl_ord_id).state is S.PENDING_CANCEL
    assert len(rig.venue.log.sent_items("cancel")) > 10  # re-sent, never given up into a fake state
    rig.venue.clear_faults()
    rig.clock.advance(3)
    await rig.m.resolve()
    await rig.settle()
    assert rig.m.order(t.cl_ord_id).state is S.CANCELLED


@pytest.mark.parametrize("policy", ["adopt", "cancel"])
async def test_tagged_orders_unknown_to_the_journal_follow_the_policy_and_untagged_are_untouched(make_rig, policy):
    """nautilus #5000: kill -9 with resting orders, and the journal lost with them."""
    first = make_rig()
    await first.start()
    for i in range(14):
        await first.m.submit(first.approved(px=str(95 - i)))
    await first.venue.place([PlaceRequest("555", "", SPOT.inst_id, Side.SELL, OrdType.LIMIT, D(1), D(120),
                                          first.clock.time_ms() + 5000)])
    first.crash()
    second = make_rig(adoption=policy)  # a fresh state directory on the same venue
    second.venue, second.clock = first.venue, first.clock
    report = await second.start()
    assert len(report.adopted) == 14
    if policy == "adopt":
        assert second.local_open() == second.venue_open() and len(second.venue_open()) == 14
        assert all(v.slot.startswith("adopted:") for v in second.m.open_orders())
    else:
        assert not second.venue_open() and not second.m.open_orders()
        assert second.m.stats.adopted_cancelled == 14
    untagged = [o for o in second.venue.venue_open() if o.tag != TAG]
    assert [(o.cl_ord_id, o.state) for o in untagged] == [("555", S.LIVE)]  # never touched
    state = second.state()
    await second.restart()
    assert second.state() == state


async def test_stats_and_latencies_are_there_to_export(rig):
    """freqtrade #7141: no metrics, users bolt on pollers."""
    await rig.start()
    t = await rig.m.submit(rig.approved(px="99"))
    rig.clock.advance(0.002)
    rig.venue.set_mark(SPOT.inst_id, D(99))
    await rig.settle()
    await rig.m.submit(rig.approved(px="98"))
    await rig.m.cancel_all_tagged()
    lat = rig.m.latency
    for h in (lat.place_ack, lat.cancel_ack, lat.ack_push, lat.first_fill, lat.overhead, lat.journal_write):
        assert h.count >= 1
    stats = rig.m.stats.as_dict()
    assert stats["places"] == 2 and stats["kill_switch"] == 1 and stats["caa_heartbeats"] == 1
    assert stats["outcomes"][("place", WriteOutcome.ACCEPTED)] == 2
    assert rig.m.order(t.cl_ord_id).state is S.FILLED


async def test_shutdown_cancels_then_disarms_and_leaves_the_switch_armed_if_an_order_remains(make_rig):
    clean = make_rig()
    await clean.start()
    await clean.m.submit(clean.approved(px="99"))
    r = await clean.m.shutdown()
    assert r.disarmed and not r.open_left and not clean.venue.venue_open(TAG)
    assert clean.venue.log.sent["cancel_all_after"][-1] == ((TAG, 0),)
    stuck = make_rig()
    await stuck.start()
    await stuck.m.submit(stuck.approved(px="99"))
    stuck.venue.inject(Fault.NEVER_RECEIVE, "cancel", times=1000)
    r = await stuck.m.shutdown()
    assert r.open_left and not r.disarmed
    assert stuck.venue.log.sent["cancel_all_after"][-1] != ((TAG, 0),)
    stuck.clock.advance(stuck.config.caa_timeout_s + 1)
    stuck.venue.tick()
    assert not stuck.venue.venue_open(TAG)  # the venue's dead man's switch did it


async def test_timers_drive_heartbeats_periodic_passes_and_follow_ups(make_rig):
    rig = make_rig(reconcile_interval_s=10.0, caa_heartbeat_s=5.0, resolve_retry_s=1.0)
    journal = Journal(rig.config.journal_path)
    m = OrderManager(rig.venue, journal, Portfolio(SPECS, D(0), "USDT"), rig.config, clock=rig.clock)
    await m.start(timers=True)  # the simulated clock moves as the timers sleep
    for _ in range(100_000):
        await asyncio.sleep(0)
        if m.stats.reconcile_passes >= 4 and m.stats.caa_heartbeats >= 6:
            break
    assert m.stats.reconcile_passes >= 4 and m.stats.caa_heartbeats >= 6
    report = await m.shutdown()
    assert report.disarmed and not m.running
    passes = m.stats.reconcile_passes
    for _ in range(100):
        await asyncio.sleep(0)
    assert m.stats.reconcile_passes == passes  # the timers stopped
    with pytest.raises(RuntimeError):
        await m.start()  # a manager runs once; a restart is a new one on the journal
    journal.close()


async def _until(pred, what: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.001)


async def test_a_runner_that_fails_is_restarted_and_counted_not_silently_gone(rig):
    """The reconciliation runner's task dying (here: its wake-up raises) must not end reconciliation."""
    await rig.start()
    real = rig.m._pass_wanted
    calls = []

    class FlakyEvent:
        async def wait(self):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("wake-up failed")
            return await real.wait()

        def set(self):
            real.set()

        def clear(self):
            real.clear()

    rig.m._pass_wanted = FlakyEvent()
    passes = rig.m.stats.reconcile_passes
    real.set()  # one pass; the runner's next wait raises, and the supervisor restarts it
    await _until(lambda: rig.m.stats.task_failures["passes"] == 1 and len(calls) >= 2, "the runner restarted")
    assert rig.m.stats.task_failures == {"passes": 1}
    real.set()  # the restarted runner still runs passes
    await _until(lambda: rig.m.stats.reconcile_passes >= passes + 2, "a pass by the restarted runner")
    rig.m.detach()
