"""The dead man's switch: armed at start for our tag, heartbeated at most once a second, disarmed only
by a clean shutdown; a crash leaves it to lapse, and the venue then cancels our tagged orders only."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hftlab.domain.orders import CancelSource, OrderState, OrdType, Side
from hftlab.domain.venue import PlaceRequest, WriteOutcome
from hftlab.execution.deadman import DeadManSwitch
from hftlab.execution.manager import StartupError
from hftlab.execution.paper import Fault
from hftlab.execution.testing import SPOT, TAG

D = Decimal


async def test_armed_at_start_with_our_tag(rig):
    await rig.start()
    assert rig.venue.log.sent["cancel_all_after"] == [((TAG, rig.config.caa_timeout_s),)]
    assert rig.m.deadman.armed
    assert rig.m.deadman.expires_ms == rig.clock.time_ms() + rig.config.caa_timeout_s * 1000


async def test_heartbeats_keep_it_armed_at_most_once_a_second(make_rig):
    rig = make_rig(caa_timeout_s=10, caa_heartbeat_s=1.0)
    await rig.start()
    await rig.m.submit(rig.approved(px="99"))
    times = []
    real = rig.venue.cancel_all_after

    async def timed(tag, timeout_s):
        times.append(rig.clock.monotonic())
        return await real(tag, timeout_s)
    rig.venue.cancel_all_after = timed
    loop = asyncio.create_task(rig.m.deadman.run())
    for _ in range(10_000):  # the loop's sleeps move the simulated clock
        await asyncio.sleep(0)
        if len(times) >= 40:
            break
    loop.cancel()
    assert len(times) >= 40 and min(b - a for a, b in zip(times, times[1:])) >= 1.0
    assert rig.m.stats.caa_failures == 0  # the venue never refused one for rate
    assert [o.state for o in rig.venue.venue_open(TAG)] == [OrderState.LIVE]  # 40 s later, still armed


async def test_a_crash_lets_it_lapse_and_the_venue_cancels_only_our_orders(rig):
    await rig.start()
    t = await rig.m.submit(rig.approved(px="99"))
    await rig.venue.place([PlaceRequest("42", "", SPOT.inst_id, Side.BUY, OrdType.LIMIT, D(1), D(90),
                                        rig.clock.time_ms() + 5000)])
    rig.crash()
    rig.clock.advance(rig.config.caa_timeout_s + 1)
    rig.venue.tick()
    assert [o.cl_ord_id for o in rig.venue.venue_open()] == ["42"]
    await rig.start()
    view = rig.m.order(t.cl_ord_id)
    assert view.state is OrderState.CANCELLED
    (vo,) = [o for o in rig.venue.log.created if o.cl_ord_id == t.cl_ord_id]
    assert vo.cancel_source is CancelSource.DEAD_MAN_SWITCH


async def test_no_trading_without_it(rig):
    rig.venue.inject(Fault.UNAVAILABLE, "cancel_all_after", times=3)
    with pytest.raises(StartupError):
        await rig.start()
    assert not rig.m.running
    assert (await rig.m.submit(rig.approved())).outcome is None


async def test_a_heartbeat_the_venue_did_not_take_is_counted_and_retried(rig):
    await rig.start()
    rig.venue.inject(Fault.UNAVAILABLE, "cancel_all_after")
    rig.clock.advance(5)
    r = await rig.m.heartbeat()
    assert r.outcome is WriteOutcome.AMBIGUOUS and rig.m.stats.caa_failures == 1
    rig.clock.advance(5)
    assert (await rig.m.heartbeat()).outcome is WriteOutcome.ACCEPTED


def test_heartbeat_bounds(rig):
    for timeout_s, beat in ((0, 1.0), (30, 0.5), (30, 11.0), (5, 1.0)):
        with pytest.raises(ValueError):
            DeadManSwitch(rig.venue, None, rig.clock, None, tag=TAG, timeout_s=timeout_s, heartbeat_s=beat)
