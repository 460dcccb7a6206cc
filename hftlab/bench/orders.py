"""`hftlab bench orders`: what an order costs on loopback, against the embedded simulator.

- place -> ack and cancel -> ack, p50/p99, over the WebSocket and over REST: `OkxVenue` places one
  resting order per request on the simulator's still market and cancels it; the time is the
  venue adapter's own (`WriteResult.acked_ns - sent_ns`: request handed over -> answer parsed);
- the order manager's own time per order: an approved order handed to `OrderManager.submit` ->
  its WebSocket frame written (OkxVenue's `on_sent` hook, wall clock), p50/p99; and the manager's
  `overhead` histogram mean (checks, clOrdId, the journal's commit; the budget wait excluded).

Orders alternate between the spot and the swap instrument and are paced under OKX's limits (60
places per 2 s per instrument, and the manager's budget of 80 % of it), so nothing waits for rate
budget and no answer is a rate-limit refusal. The risk engine approves the manager's orders (only
it can). The simulator runs in this process, so its work shares the CPU with the client's.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from hftlab.bench import progress

D = Decimal


def add_arguments(p) -> None:
    p.add_argument("--orders", type=int, default=200, help="orders per transport (each placed, then cancelled)")
    p.add_argument("--manager-orders", type=int, default=100, help="orders through the order manager")
    p.add_argument("--rate", type=float, default=20.0, help="orders per second per instrument (under OKX's 30)")


def _pct(samples_ns: list[int], q: float) -> float:
    s = sorted(samples_ns)
    return round(s[min(len(s) - 1, int(q * len(s)))] / 1e3, 1) if s else float("nan")


def _size(inst_id: str) -> D:
    return D(2) if inst_id.endswith("-SWAP") else D("0.05")


class _Pacer:
    def __init__(self, per_s: float):
        self.interval = 1.0 / per_s
        self.next = time.monotonic()

    async def wait(self) -> None:
        self.next += self.interval
        await asyncio.sleep(max(0.0, self.next - time.monotonic()))


async def _adapter(ends, insts, transport, n: int, rate: float, first_id: int) -> dict[str, float]:
    from hftlab.core.ratelimit import TokenBucket
    from hftlab.core.secrets import SIM_CREDENTIALS
    from hftlab.domain.orders import OrdType, Side
    from hftlab.domain.venue import CancelRequest, PlaceRequest, WriteOutcome
    from hftlab.okx.config import ClientConfig
    from hftlab.okx.venue import open_venue

    client, venue = await open_venue(ends, SIM_CREDENTIALS, insts, client_config=ClientConfig(reconcile_orders=False),
                                     connect_limiter=TokenBucket(10.0, 10.0), transport=transport)
    place_ns, cancel_ns = [], []
    pacer = _Pacer(rate * len(insts))
    try:
        for i in range(n):
            inst = insts[i % len(insts)]
            req = PlaceRequest(str(first_id + i), "bench", inst, Side.BUY, OrdType.LIMIT, _size(inst), D(100),
                               time.time_ns() // 1_000_000 + 5_000)
            (r,) = await venue.place([req])
            if r.outcome is not WriteOutcome.ACCEPTED:
                raise RuntimeError(f"bench place answered {r}")
            place_ns.append(r.acked_ns - r.sent_ns)
            (c,) = await venue.cancel([CancelRequest(inst, req.cl_ord_id, r.ord_id)])
            if c.outcome is not WriteOutcome.ACCEPTED:
                raise RuntimeError(f"bench cancel answered {c}")
            cancel_ns.append(c.acked_ns - c.sent_ns)
            await pacer.wait()
    finally:
        await venue.close()
        await client.close()
    t = transport.value
    return {f"place_ack_{t}_p50_us": _pct(place_ns, 0.5), f"place_ack_{t}_p99_us": _pct(place_ns, 0.99),
            f"cancel_ack_{t}_p50_us": _pct(cancel_ns, 0.5), f"cancel_ack_{t}_p99_us": _pct(cancel_ns, 0.99)}


async def _manager(ends, insts, n: int, rate: float) -> dict[str, float]:
    from hftlab.core.ratelimit import TokenBucket
    from hftlab.core.secrets import SIM_CREDENTIALS
    from hftlab.domain.market import TopOfBook
    from hftlab.domain.orders import OrderIntent, OrdType, Side
    from hftlab.execution.config import ExecutionConfig
    from hftlab.execution.journal import Journal
    from hftlab.execution.manager import OrderManager
    from hftlab.okx.config import ClientConfig
    from hftlab.okx.venue import open_venue
    from hftlab.portfolio.equity import Portfolio
    from hftlab.risk.checks import Exposure, Market
    from hftlab.risk.config import RiskConfig
    from hftlab.risk.engine import Account, RiskEngine

    frames: dict[str, int] = {}

    def sent(ids: tuple[str, ...], wall_ns: int) -> None:
        for i in ids:
            frames.setdefault(i, wall_ns)

    client, venue = await open_venue(ends, SIM_CREDENTIALS, insts, client_config=ClientConfig(reconcile_orders=False),
                                     connect_limiter=TokenBucket(10.0, 10.0), on_sent=sent)
    specs = venue.specs
    far = time.time_ns() + 3_600 * 10**9
    markets = {i: Market(TopOfBook(i, "99.9", "1", "100.1", "1", 0, 1, True, far), 100.0, far) for i in insts}

    class Flat:  # risk's view of the book: flat, nothing working (each order is cancelled before the next)
        def exposure(self, inst_id):
            return Exposure()

        def open_order_count(self):
            return 0

        def exposed_instruments(self):
            return ()

    engine = RiskEngine(RiskConfig(max_orders_per_s=1000, max_open_orders=1000), specs)
    account = Account(equity_known=True, reconciled=True, reconciling=False)
    samples: list[int] = []
    with tempfile.TemporaryDirectory(prefix="hftlab-bench-orders-") as tmp:
        config = ExecutionConfig(state_dir=Path(tmp), tag="bench")
        journal = Journal(config.journal_path)
        m = OrderManager(venue, journal, Portfolio(specs.values(), D(0), "USDT"), config)
        pacer = _Pacer(rate * len(insts))
        try:
            await m.start(timers=False)
            for k in range(n):
                inst = insts[k % len(insts)]
                intent = OrderIntent(inst, Side.BUY, _size(inst), OrdType.LIMIT, D(100), f"bench:{k}")
                approved = engine.check(intent, markets, Flat(), account, time.time_ns())
                if not hasattr(approved, "intent"):
                    raise RuntimeError(f"the risk engine denied a bench order: {approved}")
                t0 = time.time_ns()
                ticket = await m.submit(approved)
                engine.release(approved)
                if not ticket.sent or ticket.cl_ord_id not in frames:
                    raise RuntimeError(f"bench order not sent: {ticket}")
                samples.append(frames[ticket.cl_ord_id] - t0)
                await m.cancel(ticket.cl_ord_id)
                await pacer.wait()
            overhead = m.latency.overhead
            mean_us = overhead.sum / overhead.count * 1e6 if overhead.count else float("nan")
        finally:
            m.detach()
            journal.close()
            await venue.close()
            await client.close()
    return {"manager_intent_to_frame_p50_us": _pct(samples, 0.5),
            "manager_intent_to_frame_p99_us": _pct(samples, 0.99),
            "manager_overhead_mean_us": round(mean_us, 1)}


async def _measure(n: int, manager_orders: int, rate: float) -> dict[str, float]:
    from hftlab.okx.channels import Endpoints
    from hftlab.okx.venue import Transport
    from hftlab.sim.testing import STILL_SPOT, STILL_SWAP, still_server

    sim = still_server()
    await sim.start()
    try:
        ends = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
        insts = (STILL_SPOT.inst_id, STILL_SWAP.inst_id)
        out: dict[str, float] = {}
        for k, transport in enumerate((Transport.WS, Transport.REST)):
            progress(f"orders: {n} place+cancel over {transport.value} at {rate:g}/s per instrument ...")
            out.update(await _adapter(ends, insts, transport, n, rate, 9_100_000_000_000 + k * 1_000_000))
        progress(f"orders: {manager_orders} through the order manager ...")
        out.update(await _manager(ends, insts, manager_orders, min(rate, 10.0)))
        out["orders_count"] = n
        out["manager_orders_count"] = manager_orders
        return out
    finally:
        await sim.stop()


def run(args) -> dict[str, float]:
    if args.orders < 1 or args.manager_orders < 1 or not 0 < args.rate <= 30:
        raise ValueError("orders and manager-orders must be >= 1 and rate in (0, 30] per instrument")
    return asyncio.run(_measure(args.orders, args.manager_orders, args.rate))
