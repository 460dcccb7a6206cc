"""OKX on the simulator, for the tests that run the OKX execution venue against the real `hftlab.sim`
on loopback (tests/conformance, tests/integration/test_execution_*.py and their driver process).

A still market (`hftlab.sim.testing.STILL_SPOT`/`STILL_SWAP`: bid 99.9, ask 100.1, nothing trades
but the clients) with two accounts: ours (SIM_CREDENTIALS) and a TAKER that trades into our
orders; the client and OkxVenue connected to it with shrunk timings; waiting for a condition with
a generous deadline (never sleeping and hoping).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.domain.instruments import fmt
from hftlab.okx.channels import Endpoints
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.venue import OkxVenue, open_venue
from hftlab.sim.server import SimServer
from hftlab.sim.testing import STILL_SPOT, STILL_SWAP, RestProbe, still_server

TAKER = Credentials(SecretStr("taker-key"), SecretStr("taker-secret"), SecretStr("taker-passphrase"))
SPOT_ID, SWAP_ID = STILL_SPOT.inst_id, STILL_SWAP.inst_id
INSTRUMENTS = (SPOT_ID, SWAP_ID)
FAST = dict(ping_interval_s=2.0, pong_timeout_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.3, stable_after_s=0.5,
            ack_timeout_s=3.0, reconcile_orders=False)


def still_sim(cfg=None, faults=None, **exchange: Any) -> SimServer:
    """The still market with our account and TAKER (not started)."""
    return still_server(cfg, [SIM_CREDENTIALS, TAKER], faults=faults, **exchange)


def endpoints_of(rest_url: str, ws_url: Callable[[str], str]) -> Endpoints:
    return Endpoints(rest_url, ws_url("public"), ws_url("business"), ws_url("private"))


def endpoints(sim: SimServer) -> Endpoints:
    return endpoints_of(sim.rest_url, sim.ws_url)


async def venue_on(ends: Endpoints, *, client: dict | None = None, **venue_kw: Any) -> tuple[AsyncOKXClient, OkxVenue]:
    """Our client and OkxVenue on the still market's two instruments."""
    return await open_venue(ends, SIM_CREDENTIALS, INSTRUMENTS, client_config=ClientConfig(**{**FAST, **(client or {})}),
                            connect_limiter=TokenBucket(100.0, 100.0), **venue_kw)


class Taker:
    """The other account: takes liquidity over REST (IOC), e.g. to fill one of our resting orders."""

    def __init__(self, sim: SimServer):
        self.probe = RestProbe(sim.rest_url, TAKER)

    async def take(self, inst_id: str, side: str, px: Decimal, sz: Decimal) -> dict:
        order = {"instId": inst_id, "tdMode": "cross" if inst_id.endswith("-SWAP") else "cash", "side": side,
                 "ordType": "ioc", "px": fmt(px), "sz": fmt(sz)}
        status, doc = await self.probe.post("trade/order", order)
        assert status == 200 and doc["data"][0]["sCode"] == "0", doc
        return doc

    async def close(self) -> None:
        await self.probe.__aexit__()


async def until(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
