"""OkxVenue against the real simulator, where the conformance suite does not reach: instruments
listed without an instIdCode are refused by name; the per-operation REST fallback when the WS
gateway refuses ops, and none after a WS timeout; the sub-account cap's code; an amend whose
outcome comes later than its acknowledgement; the private socket's loss and return on the stream;
every write over REST."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.domain.orders import AmendResult, OrderUpdate, OrdType, Side
from hftlab.domain.venue import (
    AmendRequest, CancelRequest, Lookup, PlaceRequest, StreamState, StreamStatus, WriteOutcome,
)
from hftlab.okx.channels import args_for
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import Ticker
from hftlab.okx.rest import InstrumentRefused, OkxRest
from hftlab.okx.venue import OkxVenue, Transport
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer
from tests.okx_sim import (
    EXEC, FAST, SPOT_ID, SWAP_ID, endpoints, manager_on, orders_made, still_sim, until, venue_on,
)

pytestmark = pytest.mark.timeout(60)
D = Decimal
W = WriteOutcome
TAG = EXEC["tag"]
_n = iter(range(1, 10**6))


def place(inst: str = SPOT_ID, px: str = "100", sz: str | None = None) -> PlaceRequest:
    return PlaceRequest(str(8_000_000_000 + next(_n)), TAG, inst, Side.BUY, OrdType.LIMIT,
                        D(sz or ("2" if inst == SWAP_ID else "0.05")), D(px), time.time_ns() // 1_000_000 + 5_000)


class Opened:
    """A still simulator and our venue on it, with the private stream collected."""

    def __init__(self, cfg: SimConfig | None = None, **kw):
        self.sim = still_sim(cfg or SimConfig(), **kw.pop("exchange", {}))
        self.kw = kw
        self.events: list = []

    async def __aenter__(self):
        await self.sim.start()
        self.client, self.venue = await venue_on(endpoints(self.sim), **self.kw)
        stream = self.venue.stream()

        async def consume():
            async for ev in stream:
                self.events.append(ev)
        self.task = asyncio.create_task(consume())
        return self

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.venue.close()
        await self.client.close()
        await self.sim.stop()


async def test_an_instrument_listed_without_inst_id_code_is_refused_by_name_never_guessed():
    async with SimServer(SimConfig(seed=3, null_inst_id_code=["ETH-USDT"])) as sim:
        async with OkxRest(sim.rest_url, SIM_CREDENTIALS, demo=True) as rest:  # demo: the environment's headers
            (btc,) = await rest.trading_specs(["BTC-USDT"])
            assert btc.inst_id_code == 1000000001
            with pytest.raises(InstrumentRefused, match="ETH-USDT.*instIdCode"):
                await rest.trading_specs(["BTC-USDT", "ETH-USDT"])
            with pytest.raises(InstrumentRefused, match="NOPE-USDT"):
                await rest.trading_specs(["NOPE-USDT"])


async def test_ws_ops_refused_by_the_gateway_go_over_rest_once_each():
    async with Opened(op_timeout_s=1.0) as o:
        o.sim.faults.reject_ws_ops(count=2)
        single, pair = place(), [place(), place(SWAP_ID)]
        assert [r.outcome for r in await o.venue.place([single])] == [W.ACCEPTED]
        assert [r.outcome for r in await o.venue.place(pair)] == [W.ACCEPTED, W.ACCEPTED]
        made = orders_made(o.sim, TAG)
        assert [made[r.cl_ord_id] for r in [single, *pair]] == [1, 1, 1]
        assert (o.venue.stats.rest_fallbacks, o.venue.stats.rest_ops) == (2, 2)
        assert [f.kind for f in o.sim.fault_log] == ["reject_ws_ops", "reject_ws_ops"]


async def test_no_answer_over_ws_is_ambiguous_and_nothing_goes_over_rest():
    async with Opened(op_timeout_s=0.5) as o:
        o.sim.faults.drop_ack("ws", count=1)
        req = place()
        (r,) = await o.venue.place([req])
        assert r.outcome is W.AMBIGUOUS and o.venue.stats.rest_ops == 0
        assert orders_made(o.sim, TAG)[req.cl_ord_id] == 1  # it executed: a resend would have made two
        assert (await o.venue.query(SPOT_ID, req.cl_ord_id)).outcome is Lookup.FOUND


async def test_the_sub_account_cap_is_a_rate_limit_refusal():
    async with Opened(SimConfig(sub_account_rate_limit=2)) as o:
        results = [(await o.venue.place([place()]))[0] for _ in range(3)]
        assert [r.outcome for r in results] == [W.ACCEPTED, W.ACCEPTED, W.REFUSED]
        assert results[2].code == "50061" and results[2].code in o.venue.limits.rate_limit_codes


async def test_an_amend_taken_now_and_applied_later_reports_its_outcome_on_the_stream():
    async with Opened(exchange={"amend_latency_ms": 300}) as o:
        req = place()
        await o.venue.place([req])
        (r,) = await o.venue.amend([AmendRequest(SPOT_ID, req.cl_ord_id, "91", time.time_ns() // 1_000_000 + 5_000,
                                                 new_px=D("99.8"))])
        assert (r.outcome, r.req_id) == (W.ACCEPTED, "91")
        await until(lambda: any(isinstance(e, OrderUpdate) and e.amend_req_id == "91" for e in o.events),
                    what="the amend's push")
        (u,) = [e for e in o.events if isinstance(e, OrderUpdate) and e.amend_req_id == "91"]
        assert (u.amend_result, u.px) == (AmendResult.APPLIED, D("99.8"))


async def test_losing_the_private_socket_is_down_then_up_on_the_stream():
    async with Opened() as o:
        o.sim.faults.drop("private")
        await until(lambda: [e.state for e in o.events if isinstance(e, StreamStatus)] == [StreamState.DOWN,
                                                                                          StreamState.UP],
                    what="down, then up once re-logged in and resubscribed")
        assert o.venue.connected
        req = place()
        assert (await o.venue.place([req]))[0].outcome is W.ACCEPTED  # and the new socket serves ops
        await until(lambda: any(isinstance(e, OrderUpdate) and e.cl_ord_id == req.cl_ord_id for e in o.events),
                    what="pushes on the new socket")


async def test_every_write_over_rest():
    sent: list[tuple[str, ...]] = []
    async with Opened(transport=Transport.REST, on_sent=lambda ids, ns: sent.append(ids)) as o:
        reqs = [place(), place(SWAP_ID)]
        assert [r.outcome for r in await o.venue.place(reqs)] == [W.ACCEPTED, W.ACCEPTED]
        cancels = await o.venue.cancel([CancelRequest(r.inst_id, r.cl_ord_id) for r in reqs])
        assert [c.outcome for c in cancels] == [W.ACCEPTED, W.ACCEPTED]
        assert o.venue.stats.ws_ops == 0 and o.venue.stats.rest_ops == 2
        assert sent == [tuple(r.cl_ord_id for r in reqs)] * 2


async def test_a_runner_s_wiring_one_client_for_market_data_and_the_venue_no_venue_start(tmp_path):
    """Built before the client starts, started by the manager alone: its first pass is a gap (the
    private socket is not up yet), the UP that follows brings a synced pass; market data still comes
    out of the client's queue."""
    async with still_sim(SimConfig()) as sim:
        client = AsyncOKXClient(endpoints(sim), ClientConfig(**FAST), credentials=SIM_CREDENTIALS,
                                connect_limiter=TokenBucket(100.0, 100.0))
        specs = {s.inst_id: s for s in await client.rest.trading_specs([SPOT_ID, SWAP_ID])}
        venue = OkxVenue(client, client.rest, specs)
        await client.start()
        m = manager_on(venue, tmp_path)
        try:
            await m.start()
            await until(lambda: venue.connected and not m.reconciling and not m.busy, what="a synced pass")
            await client.subscribe(args_for(["tickers"], [SPOT_ID]))
            ticker = await asyncio.wait_for(client.get(), 10)
            assert isinstance(ticker, Ticker) and ticker.inst_id == SPOT_ID
        finally:
            m.detach()
            await venue.close()
            await client.close()
