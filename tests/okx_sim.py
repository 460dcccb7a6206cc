"""OKX on the simulator, for the tests that run the OKX execution venue against the real `hftlab.sim`
on loopback (tests/conformance, tests/integration/test_execution_*.py and their driver process).

A still market (`hftlab.sim.testing.STILL_SPOT`/`STILL_SWAP`: bid 99.9, ask 100.1, nothing trades
but the clients) with two accounts: ours (SIM_CREDENTIALS) and a TAKER that trades into our
orders; the client and OkxVenue connected to it with shrunk timings; an OrderManager over it, in
this process (`manager_on`) or in a process of its own (`ManagerProcess`, running
tests/integration/execution_driver.py); the venue's truth read straight from the simulator; and
waiting for a condition with a generous deadline (never sleeping and hoping).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.domain.instruments import fmt
from hftlab.domain.orders import ApprovalKey, ApprovedOrder, OrderIntent, OrdType, Side
from hftlab.execution.config import ExecutionConfig
from hftlab.execution.journal import Journal
from hftlab.execution.manager import OrderManager
from hftlab.okx.channels import Endpoints
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.venue import OkxVenue, open_venue
from hftlab.portfolio.equity import Portfolio
from hftlab.sim.server import SimServer
from hftlab.sim.testing import STILL_BALANCES, STILL_SPOT, STILL_SWAP, RestProbe, still_server

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


DRIVER = Path(__file__).resolve().parent / "integration" / "execution_driver.py"
REPO = Path(__file__).resolve().parent.parent


class ManagerProcess:
    """The manager driver (tests/integration/execution_driver.py) as a process of its own, talking
    JSON lines: what it says on stdout, what it is told on stdin; killed or stopped by signal."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc

    @classmethod
    async def spawn(cls, sim: SimServer, state_dir: Path, mode: str, **cfg: Any) -> ManagerProcess:
        doc = {"rest": sim.rest_url, "ws": {r: sim.ws_url(r) for r in ("public", "business", "private")},
               "state_dir": str(state_dir), "mode": mode, **cfg}
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = await asyncio.create_subprocess_exec(sys.executable, str(DRIVER), json.dumps(doc), env=env,
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                    limit=1 << 22)
        return cls(proc)

    async def read(self, timeout: float = 60.0) -> dict:
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise AssertionError(f"the manager process ended (exit {await self.proc.wait()}) without a word")
        msg = json.loads(line)
        if "error" in msg:
            raise AssertionError(f"the manager process failed: {msg}")
        return msg

    async def expect(self, key: str, timeout: float = 60.0) -> dict:
        msg = await self.read(timeout)
        assert key in msg, msg
        return msg[key]

    async def tell(self, line: str = "go") -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


# -- an order manager on the venue, in this process ---------------------------------------------------

EXEC = dict(tag="hft", order_deadline_ms=1500, deadline_grace_ms=300, caa_timeout_s=30, caa_heartbeat_s=5,
            resolve_retry_s=0.2, reconcile_interval_s=30)


def manager_on(venue: OkxVenue, state_dir: Path, **exec_kw: Any) -> OrderManager:
    """An OrderManager over `venue` on a journal in `state_dir` (not started)."""
    config = ExecutionConfig(state_dir=state_dir, **{**EXEC, **exec_kw})
    return OrderManager(venue, Journal(config.journal_path), Portfolio(venue.specs.values(), Decimal(0), "USDT"),
                        config)


def approve(key: ApprovalKey, inst_id: str, ord_type: OrdType, sz: str, px: str | None, *, side: Side = Side.BUY,
            slot: str) -> ApprovedOrder:
    intent = OrderIntent(inst_id, side, Decimal(sz), ord_type, None if px is None else Decimal(px), slot, reason="test")
    return ApprovedOrder(intent, time.time_ns(), ("test",), key=key)


# -- the venue's truth, read straight from the simulator ------------------------------------------------

ACCOUNT = SIM_CREDENTIALS.api_key.get_secret_value()


def _d(x: Any) -> Decimal:
    return Decimal(x) if x not in ("", None) else Decimal(0)


def venue_open(sim: SimServer, tag: str) -> set[str]:
    return {r["clOrdId"] for r in sim.exchange.pending_orders(ACCOUNT) if r["tag"] == tag}


def venue_fills(sim: SimServer) -> list[tuple]:
    """Our fills at the venue (not its own liquidation trades), as (inst, trade id, side, px, sz, fee, fee ccy)."""
    return sorted((r["instId"], r["tradeId"], r["side"], _d(r["fillPx"]), _d(r["fillSz"]), _d(r["fee"]), r["feeCcy"])
                  for r in sim.exchange.fills(ACCOUNT) if int(r["tradeId"]) >= 0)


def venue_position(sim: SimServer, inst_id: str) -> Decimal:
    """The swap's net position, or for spot what the base balance moved since the start."""
    if inst_id == SWAP_ID:
        return sum((_d(p["pos"]) for p in sim.exchange.positions(ACCOUNT) if p["instId"] == inst_id), Decimal(0))
    return sim.exchange.accounts[ACCOUNT].cash[STILL_SPOT.base_ccy] - Decimal(STILL_BALANCES[STILL_SPOT.base_ccy])


def orders_made(sim: SimServer, tag: str) -> Counter:
    """clOrdId -> how many venue orders it made."""
    return Counter(o.cl_ord_id for o in sim.exchange.orders.values() if o.account == ACCOUNT and o.tag == tag)


def ledger_rows(fills) -> list[tuple]:
    return sorted((f.inst_id, f.trade_id, f.side.value, f.px, f.sz, f.fee, f.fee_ccy) for f in fills)


class CutProxy:
    """A TCP relay in front of one of the simulator's sockets (the private WebSocket, say) that can
    be cut: `cut()` drops every relayed connection and turns new ones away until `restore()`."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port: int | None = None
        self.up = True
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> CutProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, sim_url: str) -> str:
        return sim_url.replace(f":{self.target_port}/", f":{self.port}/")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._pipes |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        finally:
            self._pipes.discard(writer)
            writer.transport.abort()

    def cut(self) -> None:
        self.up = False
        for w in list(self._pipes):
            w.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
