"""The kill -9 matrix against the real simulator: the manager PROCESS (OrderManager + OkxVenue, in a
driver process of its own) is SIGKILLed at each point of an order's life — journaled not sent; sent
not acked; acked, no push read; fills applied, not persisted; cancel in flight; amend in flight —
with limit, post-only, IOC and market orders on spot and swap (amends: the resting ones) in flight
at once. The simulator lives in the test's process and outlives it.

Each point is reached deterministically: the driver stops itself there (its event loop frozen, so
nothing more is sent, read or written) and says so; the test then kills it. Simulator faults hold
what must stay unanswered (a delayed place, dropped amend acks). After a restart, and before any new
order: local open orders == `orders-pending` as a set, the fill ledger (and the journal's) == the
venue's fills, positions == the venue's, no clOrdId made two orders, nothing unproven; a second and
a third restart add nothing."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from hftlab.sim.config import SimConfig
from tests.okx_sim import (
    EXEC, SPOT_ID, SWAP_ID, ManagerProcess, Taker, orders_made, still_sim, venue_fills, venue_open, venue_position,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
D = Decimal
TAG = EXEC["tag"]
SETTLE_MS = EXEC["order_deadline_ms"] + EXEC["deadline_grace_ms"] + 100
RESTING = {"limit", "post_only"}
# The orders' states once the venue's truth is rebuilt: (resting orders, taking orders).
EXPECTED = {
    "journaled_not_sent": ({"rejected"}, {"rejected"}),
    "sent_not_acked": ({"live"}, {"filled"}),
    "acked_no_push": ({"live"}, {"filled"}),
    "fills_applied_not_persisted": ({"live", "partially_filled"}, {"filled"}),
    "cancel_in_flight": ({"cancelled"}, {"filled"}),
    "amend_in_flight": ({"live"}, set()),
}


async def _act(sim, taker: Taker, need: dict) -> None:
    """What a point asks of the outside world."""
    if "trade" in need:  # trade into the first resting order of each instrument, partly
        for inst in dict.fromkeys(inst for inst, _ in need["trade"]):
            await taker.take(inst, "sell", D(100), D(1) if inst == SWAP_ID else D("0.02"))
    elif "delay_next_place_ms" in need:
        sim.faults.delay_acks(need["delay_next_place_ms"], count=1)
    elif "drop_acks" in need:
        sim.faults.drop_ack("ws", count=need["drop_acks"])
    else:
        raise AssertionError(f"unknown need {need}")


def check_synced(sim, state: dict) -> None:
    """The restarted manager's state equals the venue's facts (before any new order)."""
    assert state["unknown"] == 0 and state["pass"] == "synced" and not state["reconciling"], state
    assert state["illegal"] == 0
    assert set(state["open"]) == venue_open(sim, TAG)
    fills = venue_fills(sim)
    ledger = sorted((i, t, s, D(px), D(sz), D(fee), ccy) for i, t, s, px, sz, fee, ccy in state["ledger"])
    assert ledger == fills
    assert sorted(tuple(f) for f in state["journal_fills"]) == [f[:2] for f in fills]
    for inst in (SPOT_ID, SWAP_ID):
        assert D(state["positions"][inst]) == venue_position(sim, inst)
    made = orders_made(sim, TAG)
    assert not [c for c, n in made.items() if n > 1], made
    assert set(made) <= set(state["journal_states"])  # every order at the venue was journaled first
    assert state["places"] == 0 and state["sent_places"] == []  # reconciliation never places


def _stable(state: dict) -> dict:
    """What every restart must rebuild identically (the first one also loaded the orders the kill
    left unfinished; later ones load none that ended)."""
    open_orders = {cl: row for cl, row in state["orders"].items() if cl in state["open"]}
    return {**{k: v for k, v in state.items() if k not in ("places", "sent_places", "passes", "orders")},
            "open_orders": open_orders}


@pytest.mark.parametrize("point", list(EXPECTED))
async def test_kill_9_at_each_point_and_three_restarts_rebuild_the_venue_s_truth(point, tmp_path):
    async with still_sim(SimConfig()) as sim:
        taker = Taker(sim)
        first = await ManagerProcess.spawn(sim, tmp_path, "point", point=point, exec=EXEC)
        try:
            while True:
                msg = await first.read()
                if "at" in msg:
                    break
                await _act(sim, taker, msg["need"])
                await first.tell()
            killed_ms = time.time_ns() // 1_000_000
        finally:
            await first.kill()
            await taker.close()
        states, first_state = [], None
        for _ in range(3):
            proc = await ManagerProcess.spawn(sim, tmp_path, "recover", exec=EXEC, settle_until_ms=killed_ms + SETTLE_MS)
            try:
                state = await proc.expect("state")
            finally:
                await proc.kill()
            check_synced(sim, state)
            first_state = first_state or state
            states.append(_stable(state))
    assert states[0] == states[1] == states[2]
    orders = first_state["orders"]
    assert {cl: row[2] for cl, row in orders.items()} == states[0]["journal_states"]
    resting, taking = EXPECTED[point]
    assert len(orders) == (4 if point == "amend_in_flight" else 8)
    for cl, (inst, ord_type, st, sz, px, acc) in orders.items():
        assert st in (resting if ord_type in RESTING else taking), (cl, ord_type, st)
    if point == "amend_in_flight":  # the venue applied the amends the dead process never heard of
        assert {(inst, sz, px) for inst, _, _, sz, px, _ in orders.values()} == {
            (SPOT_ID, "0.1", "99.9"), (SWAP_ID, "4", "99.9")}
    if point == "fills_applied_not_persisted":
        assert {st for _, ot, st, *_ in orders.values() if ot == "limit"} == {"partially_filled"}
