"""Cancel-All-After against the real simulator: the manager process (OrderManager + OkxVenue with its
heartbeat, in a process of its own) is SIGSTOPped for longer than its dead man's switch timeout; the
simulator cancels our tagged orders (cancelSource 20) and nothing else. On SIGCONT the manager hears
the cancels, reconciles by itself and places nothing again."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from hftlab.sim.config import SimConfig
from tests.okx_sim import ACCOUNT, EXEC, ManagerProcess, orders_made, still_sim, until, venue_open

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
DEADMAN = {**EXEC, "caa_timeout_s": 10, "caa_heartbeat_s": 3.0, "reconcile_interval_s": 1.0}
TAG = DEADMAN["tag"]


async def test_a_stopped_manager_s_orders_are_cancelled_by_the_venue_and_not_sent_again(tmp_path):
    async with still_sim(SimConfig()) as sim:
        proc = await ManagerProcess.spawn(sim, tmp_path, "deadman", exec=DEADMAN)
        try:
            ids = (await proc.read())["ids"]
            assert venue_open(sim, TAG) == set(ids) and len(ids) == 4
            proc.signal(signal.SIGSTOP)
            stopped = time.monotonic()
            ex = sim.exchange

            def cancelled() -> list[dict]:
                recs = [r for r in ex.finished_orders(ACCOUNT) if r["clOrdId"] in ids]
                return recs if len(recs) == len(ids) else []
            await until(lambda: bool(cancelled()), timeout=DEADMAN["caa_timeout_s"] + 10,
                        what="the venue's Cancel-All-After")
            # stopped longer than the timeout (the venue may cancel sooner: its deadline ran from the last heartbeat)
            await asyncio.sleep(max(0.0, DEADMAN["caa_timeout_s"] + 0.5 - (time.monotonic() - stopped)))
            assert {(r["state"], r["cancelSource"]) for r in cancelled()} == {("canceled", "20")}
            proc.signal(signal.SIGCONT)
            await proc.tell("report")
            state = await proc.expect("state")
        finally:
            await proc.kill()
    assert state["pass"] == "synced" and not state["reconciling"] and state["unknown"] == 0, state
    assert state["open"] == [] and {row[2] for row in state["orders"].values()} == {"cancelled"}
    assert state["places"] == 4 and sorted(state["sent_places"]) == sorted(ids)  # nothing placed again
    assert orders_made(sim, TAG) == {i: 1 for i in ids}
