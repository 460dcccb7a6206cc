"""An ambiguous submit against the real simulator, with each of the three venue truths behind it:
the order rests (its acknowledgement is lost: `drop_ack`), an IOC filled completely (answered
`50004`: "does not mean the request succeeded or failed"), the order never arrived (held past its
expTime: `delay_past_exptime`, the venue refuses it unexecuted). Over the WebSocket, and over REST
after the WebSocket gateway refused the op (`reject_ws_ops`: the per-operation fallback).

In every case the manager sends no second place for the intent (the venue holds at most one order
for its clOrdId, a WS timeout is never followed by a REST copy), resolves the order from venue facts
only, and ends with the venue's exposure equal to the one intended."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hftlab.domain import orders as om
from hftlab.domain.orders import OrderState, OrdType
from hftlab.domain.venue import WriteOutcome
from hftlab.sim.config import SimConfig
from tests.okx_sim import (
    EXEC, SPOT_ID, SWAP_ID, approve, endpoints, manager_on, orders_made, still_sim, until, venue_on, venue_open,
    venue_position,
)

pytestmark = pytest.mark.timeout(60)
D = Decimal
TAG = EXEC["tag"]

# truth -> (the fault, the order, its state once resolved)
TRUTHS = {
    "rests": (lambda f, target: f.drop_ack(target, count=1, hold_s=3.0), (SPOT_ID, OrdType.LIMIT, "0.05", "100"),
              OrderState.LIVE),
    "ioc_filled": (lambda f, target: f.answer_50004(target, count=1), (SWAP_ID, OrdType.IOC, "2", "100.5"),
                   OrderState.FILLED),
    "never_arrived": (lambda f, target: f.delay_past_exptime(margin_ms=100, count=1),
                      (SPOT_ID, OrdType.LIMIT, "0.05", "100"), OrderState.REJECTED),
}


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setattr(om, "_issued_key", None)  # the process's real key belongs to the risk engine
    return om.issue_approval_key()


@pytest.mark.parametrize("transport", ["ws", "rest"])
@pytest.mark.parametrize("truth", list(TRUTHS))
async def test_an_ambiguous_submit_is_resolved_by_venue_facts_never_by_a_second_place(truth, transport, key,
                                                                                     tmp_path):
    arm, (inst, ord_type, sz, px), resolved = TRUTHS[truth]
    sent: list[str] = []
    async with still_sim(SimConfig()) as sim:
        client, venue = await venue_on(endpoints(sim), op_timeout_s=1.0, on_sent=lambda ids, ns: sent.extend(ids))
        m = manager_on(venue, tmp_path)
        try:
            await m.start()
            if transport == "rest":
                sim.faults.reject_ws_ops(count=1)
            arm(sim.faults, transport)
            t = await m.submit(approve(key, inst, ord_type, sz, px, slot="q"))
            assert t.outcome is WriteOutcome.AMBIGUOUS, t
            await until(lambda: not m.unknown_orders() and not m.busy and m.order(t.cl_ord_id).state is resolved,
                        timeout=20, what=f"the order resolved as {resolved}")
            view = m.order(t.cl_ord_id)
            made = orders_made(sim, TAG)
            assert made[t.cl_ord_id] == (0 if resolved is OrderState.REJECTED else 1)
            assert m.stats.places == 1 and sent.count(t.cl_ord_id) == (1 if transport == "ws" else 2)
            assert venue.stats.rest_ops == (0 if transport == "ws" else 1)  # no REST copy after a WS timeout
            e = m.exposure(inst)
            intended = D(sz) if resolved is not OrderState.REJECTED else D(0)
            if resolved is OrderState.LIVE:
                assert (e.buy_open, e.position) == (intended, 0) and venue_open(sim, TAG) == {t.cl_ord_id}
            else:
                assert e.buy_open == 0 and not venue_open(sim, TAG)
                assert view.acc_fill_sz == intended and e.position == venue_position(sim, inst)
                if inst == SWAP_ID:
                    assert e.position == intended
            assert (e.buy_unknown, e.sell_unknown) == (0, 0)
        finally:
            m.detach()
            await venue.close()
            await client.close()
