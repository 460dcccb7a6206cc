"""The private socket down for 30 s (a relay in front of it cut; REST keeps working) while the
simulator fills our resting orders, cancels one (the manager's own cancel, which goes over REST
while the socket is down) and liquidates our swap position (no order update, only positions show
it). On reconnect: zero missed fills (the ledger equals the venue's fills), positions exact, the
open orders the venue's, nothing unproven, nothing placed again."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from decimal import Decimal

import pytest

from hftlab.domain import orders as om
from hftlab.domain.orders import OrderState, OrdType
from hftlab.domain.venue import WriteOutcome
from hftlab.sim.config import SimConfig
from tests.okx_sim import (
    EXEC, SPOT_ID, SWAP_ID, CutProxy, Taker, approve, endpoints, ledger_rows, manager_on, still_sim, until,
    venue_fills, venue_on, venue_open, venue_position,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
D = Decimal
OUTAGE_S = 30.0


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setattr(om, "_issued_key", None)
    return om.issue_approval_key()


async def test_thirty_seconds_without_the_private_socket_lose_no_fill_and_leave_positions_exact(key, tmp_path):
    async with still_sim(SimConfig()) as sim:
        proxy = await CutProxy(sim.port).start()
        ends = endpoints(sim)
        client, venue = await venue_on(dataclasses.replace(ends, private=proxy.url(ends.private)))
        m = manager_on(venue, tmp_path, reconcile_interval_s=5.0, caa_timeout_s=60, caa_heartbeat_s=5)
        taker = Taker(sim)
        try:
            await m.start()
            tickets = await m.submit_batch([
                approve(key, SPOT_ID, OrdType.LIMIT, "0.05", "100", slot="a"),  # filled in the outage
                approve(key, SPOT_ID, OrdType.LIMIT, "0.05", "100", slot="c"),  # cancelled in the outage
                approve(key, SWAP_ID, OrdType.LIMIT, "2", "100", slot="b"),  # filled in two parts around a liquidation
                approve(key, SWAP_ID, OrdType.POST_ONLY, "2", "100", slot="d"),  # rests throughout
            ])
            a, c, b, d = (t.cl_ord_id for t in tickets)
            await until(lambda: all(m.order(i).state is OrderState.LIVE for i in (a, b, c, d)), what="all live")

            proxy.cut()
            cut_at = time.monotonic()
            await until(lambda: not venue.connected and m.stats.stream_drops == 1, what="the loss")
            await taker.take(SPOT_ID, "sell", D(100), D("0.05"))
            await taker.take(SWAP_ID, "sell", D(100), D(1))
            (cancel,) = await m.cancel_batch([c])
            assert cancel.outcome is WriteOutcome.ACCEPTED and venue.stats.rest_fallbacks >= 1
            assert sim.faults.liquidate(SWAP_ID, 1.0)  # our long 1 is closed by the venue
            await taker.take(SWAP_ID, "sell", D(100), D(1))
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))  # the outage is the condition
            assert not venue.connected and proxy.refused > 0, "the socket stayed down the whole time"
            proxy.restore()
            await until(lambda: venue.connected and not m.reconciling and not m.unknown_orders() and not m.busy,
                        timeout=30, what="reconnected and reconciled")

            fills = venue_fills(sim)
            assert len(fills) == 3 and ledger_rows(m.portfolio.ledger) == fills  # zero missed fills
            assert m.stats.fills_recovered == 3  # none came as a push: all three from the venue's fills
            for inst in (SPOT_ID, SWAP_ID):
                assert m.portfolio.position(inst).qty == venue_position(sim, inst)
            assert venue_position(sim, SWAP_ID) == 1 and m.stats.position_discrepancies >= 1  # the liquidation
            assert {v.cl_ord_id for v in m.open_orders()} == venue_open(sim, EXEC["tag"]) == {d}
            assert [m.order(i).state for i in (a, b, c, d)] == [OrderState.FILLED, OrderState.FILLED,
                                                                 OrderState.CANCELLED, OrderState.LIVE]
            assert m.stats.places == 4 and m.stats.stream_drops == 1
        finally:
            m.detach()
            await taker.close()
            await venue.close()
            await client.close()
            await proxy.close()
