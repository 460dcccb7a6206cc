"""A strategy asking for 200 places per 2 s on one instrument (4 s of it, as single orders and as
batches) against the real simulator, whose per-instrument (60 requests / 2 s; batch ops 300 orders
/ 2 s) and sub-account (1000 new+amend / 2 s) windows are OKX's: the manager's budget, built from
OkxVenue's limits, holds back what would exceed them (refused locally, THROTTLED), so the venue
never answers 50011 or 50061."""

from __future__ import annotations

import asyncio
import time

import pytest

from hftlab.domain import orders as om
from hftlab.domain.orders import OrdType
from hftlab.execution.manager import LocalRefusal
from hftlab.sim.config import SimConfig
from tests.okx_sim import SPOT_ID, approve, endpoints, manager_on, still_sim, venue_on

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
RATE_PER_S, SECONDS = 100, 4.0  # 200 places per 2 s


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setattr(om, "_issued_key", None)
    return om.issue_approval_key()


@pytest.mark.parametrize("batch", [1, 10])
async def test_200_places_per_2_s_on_one_instrument_never_earn_a_venue_rate_limit(batch, key, tmp_path):
    codes: list[str] = []
    async with still_sim(SimConfig()) as sim:
        client, venue = await venue_on(endpoints(sim))
        m = manager_on(venue, tmp_path, budget_wait_s=0.2)
        try:
            await m.start()
            n, tasks = 0, []
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < SECONDS:
                due = int(elapsed * RATE_PER_S)
                while n + batch <= due:
                    orders = [approve(key, SPOT_ID, OrdType.LIMIT, "0.01", f"{99 - (n + k) % 30 / 10:.1f}",
                                      slot=f"s{n + k}") for k in range(batch)]
                    tasks.append(asyncio.create_task(m.submit_batch(orders)))
                    n += batch
                await asyncio.sleep(0.005)
            tickets = [t for batch_tickets in await asyncio.gather(*tasks) for t in batch_tickets]
            codes = [t.code for t in tickets if t.sent]
            sent = sum(t.sent for t in tickets)
            throttled = sum(t.refusal is LocalRefusal.THROTTLED for t in tickets)
            assert len(tickets) == n >= RATE_PER_S * SECONDS * 0.9
            assert sent >= 40 and sent + throttled == n  # what was not sent was held back, not refused
            assert m.stats.venue_rate_limited == 0
            assert not {"50011", "50061"} & set(codes), sorted(set(codes))
            assert set(codes) == {"0"}
        finally:
            m.detach()
            await venue.close()
            await client.close()
