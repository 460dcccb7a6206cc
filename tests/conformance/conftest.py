"""The venue-conformance suite's rigs: one factory per ExecutionVenue. Every test in this directory
runs against every factory in `VENUE_RIGS`; a new venue (the OKX adapter against hftlab.sim) joins
by adding one factory that builds a rig with the attributes and methods of `VenueRig`.

A rig owns the venue and whatever drives its market and its clock: the tests only place, amend,
cancel and read through `ExecutionVenue`, and ask the rig for prices that rest or take, for a
resting order to trade, and for venue time to pass.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

import pytest

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import Side
from hftlab.domain.venue import ExecutionVenue, VenueEvent
from hftlab.execution.clock import ManualClock
from hftlab.execution.paper import PaperVenue
from hftlab.execution.testing import SPOT, START_BALANCES, SWAP
from hftlab.sim.config import SimConfig
from tests.okx_sim import SPOT_ID, SWAP_ID, Taker, endpoints, still_sim, venue_on

D = Decimal


class VenueRig(Protocol):
    venue: ExecutionVenue
    spot: InstrumentSpec
    swap: InstrumentSpec
    page_size: int  # more open orders (or fills) than this take a second page
    events: list[VenueEvent]  # the private stream, as received since the rig started

    def now_ms(self) -> int: ...  # the venue's clock (deadlines are on it)

    def resting_px(self, spec: InstrumentSpec, side: Side) -> Decimal: ...  # rests, never takes

    def taking_px(self, spec: InstrumentSpec, side: Side) -> Decimal: ...  # a limit that takes at once

    def size(self, spec: InstrumentSpec) -> Decimal: ...  # a valid size the touch can fill

    async def trade_through(self, spec: InstrumentSpec, cl_ord_id: str) -> None: ...  # fill a resting order

    async def elapse(self, seconds: float) -> None: ...  # venue time passes (timers fire)

    async def wait_for(self, pred: Callable[[VenueEvent], bool], timeout_s: float = 5.0) -> VenueEvent: ...

    async def close(self) -> None: ...


class PaperRig:
    page_size = 7

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.spot, self.swap = SPOT, SWAP
        self.venue = PaperVenue((SPOT, SWAP), self.clock, balances=START_BALANCES, page_size=self.page_size)
        for spec in (SPOT, SWAP):
            self.venue.set_book(spec.inst_id, D(100), D("100.5"))
        self.events: list[VenueEvent] = []
        self._task = asyncio.create_task(self._consume(self.venue.stream()))

    async def _consume(self, stream) -> None:
        async for ev in stream:
            self.events.append(ev)

    def now_ms(self) -> int:
        return self.clock.time_ms()

    def resting_px(self, spec, side):
        return D(90) if side is Side.BUY else D(110)

    def taking_px(self, spec, side):
        return D(101) if side is Side.BUY else D(99)

    def size(self, spec):
        return D(2) if spec.is_swap else D("0.01")

    async def trade_through(self, spec, cl_ord_id):
        self.venue.fill_order(cl_ord_id)
        await asyncio.sleep(0)

    async def elapse(self, seconds):
        self.clock.advance(seconds)
        self.venue.tick()
        await asyncio.sleep(0)

    async def wait_for(self, pred, timeout_s=5.0):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            for ev in self.events:
                if pred(ev):
                    return ev
            if loop.time() > deadline:
                raise AssertionError("the expected push never came")
            await asyncio.sleep(0.001)

    async def close(self):
        self._task.cancel()


class OkxSimRig:
    """OkxVenue against the real simulator on loopback (WebSocket ops, REST reads, private pushes): a
    still market (bid 99.9, ask 100.1) where only the clients trade; another account (the taker)
    trades into our orders. Venue time is wall time, except for the simulator's Cancel-All-After
    timers, which `elapse` moves on without waiting them out."""

    page_size = 7  # the venue pages open orders and fills 7 at a time here

    @classmethod
    async def create(cls) -> OkxSimRig:
        rig = cls()
        rig.sim = still_sim(SimConfig())
        await rig.sim.start()
        rig.client, rig.venue = await venue_on(endpoints(rig.sim), page_limit=cls.page_size)
        rig.spot, rig.swap = rig.venue.specs[SPOT_ID], rig.venue.specs[SWAP_ID]
        rig.taker = Taker(rig.sim)
        rig.events = []
        rig._skew_s = 0.0
        rig._task = asyncio.create_task(rig._consume(rig.venue.stream()))
        return rig

    async def _consume(self, stream) -> None:
        async for ev in stream:
            self.events.append(ev)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000  # the simulator checks expTime against wall time

    def resting_px(self, spec, side):
        return D(100) if side is Side.BUY else D("100.1")  # inside the spread / at the ask: never takes

    def taking_px(self, spec, side):
        return D("100.5") if side is Side.BUY else D("99.5")

    def size(self, spec):
        return D(2) if spec.is_swap else D("0.05")

    async def trade_through(self, spec, cl_ord_id):
        o = (await self.venue.query(spec.inst_id, cl_ord_id)).order
        await self.taker.take(spec.inst_id, "sell" if o.side is Side.BUY else "buy", o.px, o.sz - o.acc_fill_sz)

    async def elapse(self, seconds):
        real = min(seconds, 1.1)  # one rate window of Cancel-All-After (1/s per tag) really passes
        await asyncio.sleep(real)
        self._skew_s += seconds - real
        self.sim.lapse_cancel_all_after(time.time() + self._skew_s)

    wait_for = PaperRig.wait_for

    async def close(self):
        self._task.cancel()
        await self.taker.close()
        await self.venue.close()
        await self.client.close()
        await self.sim.stop()


VENUE_RIGS: dict[str, Callable[[], Any]] = {"paper": PaperRig, "okx-sim": OkxSimRig.create}


@pytest.fixture(params=sorted(VENUE_RIGS))
async def venue_rig(request):
    rig = VENUE_RIGS[request.param]()
    if inspect.isawaitable(rig):  # a rig that starts a server
        rig = await rig
    try:
        yield rig
    finally:
        await rig.close()
