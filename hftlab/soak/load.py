"""The load ramp: N instruments x M clients against `hftlab sim` at K x speed, M growing until a
client cannot keep up; the figure is the most frames per second this process took while every
client kept every book valid and lost nothing.

The simulator runs in a process of its own (so that it does not share this one's core) with
checksums on (`legacy_checksum`: every update of every book is verified against the venue's CRC32,
not only chained by seqId). Each step opens M clients (`AsyncOKXClient` + `MarketFeed`, the
collector's and the live runner's consumer), each subscribed to `books` and `trades` of every
instrument, waits until all their books are valid, then counts for `step_s` wall seconds. A step
holds when no client dropped an event from its queue, none was disconnected (the venue closes a
socket whose send buffer it cannot empty: 4005), no book broke or mismatched its checksum, every
book is valid at the end, and each client received at least `keep_up` of what the venue published
for it. The ramp stops at the first step that does not hold and says why.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hftlab.core.ratelimit import TokenBucket
from hftlab.marketdata.feed import MarketFeed
from hftlab.okx.channels import Endpoints, args_for
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import UNCHECKED_CLOCK, ClientConfig
from hftlab.okx.queue import QueueClosed
from hftlab.soak.processes import Child
from hftlab.soak.scrape import Metrics

CHANNELS = ("books", "trades")
REST_URL = re.compile(r"REST (http://\S+)")


@dataclass(frozen=True)
class LoadConfig:
    workdir: Path
    instruments: tuple[str, ...] = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
    clients: tuple[int, ...] = (1, 2, 4, 8, 16)
    speed: float = 30.0
    step_s: float = 10.0
    seed: int = 7
    keep_up: float = 0.95  # share of the venue's publications each client must receive
    ready_timeout_s: float = 60.0
    client: ClientConfig = field(default_factory=ClientConfig)


class _Consumer:
    """One client and the feed that owns its books, drained by a task of its own."""

    def __init__(self, endpoints: Endpoints, cfg: ClientConfig, instruments: tuple[str, ...]):
        self.instruments = instruments
        self.feed = MarketFeed(CHANNELS, ["1s"])
        self.client = AsyncOKXClient(endpoints, cfg, books=self.feed, connect_limiter=TokenBucket(100.0, 100.0))
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.client.start()
        await self.client.subscribe(args_for(CHANNELS, self.instruments))
        self._task = asyncio.get_running_loop().create_task(self._consume(), name="load-consumer")

    async def _consume(self) -> None:
        while True:
            try:
                ev = await self.client.get()
            except QueueClosed:
                return
            self.feed.on_event(ev)
            for ev in self.client.get_batch(1000):
                self.feed.on_event(ev)

    def valid(self) -> bool:
        return all(self.feed.book("books", i) is not None for i in self.instruments)

    def counts(self) -> dict[str, int]:
        s, q, b = self.client.stats, self.client.queue.stats, self.feed.book_stats()
        return {"frames": s.sockets.frames, "events": sum(s.events.values()), "dropped": sum(q.dropped.values()),
                "reconnects": sum(s.reconnects.values()), "breaks": b.breaks,
                "checksum_mismatches": b.checksum_mismatched, "checksums_verified": b.checksum_verified,
                "max_depth": q.max_depth}

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def step_verdict(step: dict, keep_up: float) -> str | None:
    """Why a step does not hold (None: it holds)."""
    if step["dropped"]:
        return "queue drops"
    if step["reconnects"]:
        return "disconnected by the venue"
    if step["breaks"] or step["checksum_mismatches"] or not step["books_valid"]:
        return "books invalid"
    if step["offered_per_client_per_s"] and step["min_client_frames_per_s"] < keep_up * step["offered_per_client_per_s"]:
        return "fell behind the venue"
    return None


class LoadRamp:
    def __init__(self, cfg: LoadConfig, progress: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.progress = progress or (lambda line: None)
        self.steps: list[dict] = []

    async def run(self) -> dict:
        cfg = self.cfg
        sim = Child("load-sim", ["sim", "--port", "0", "--speed", str(cfg.speed), "--seed", str(cfg.seed),
                                 "--legacy-checksum", "--progress-interval", "3600"],
                    _sim_env(cfg), Path(cfg.workdir) / "logs", ready=lambda line: "running" in line)
        await sim.start()
        try:
            await sim.wait_ready(cfg.ready_timeout_s)
            url = next(m.group(1) for line in sim.tail if (m := REST_URL.search(line)))
            endpoints = Endpoints.from_base_url(url)
            limit = None
            for m in cfg.clients:
                step = await self._step(endpoints, sim, m)
                self.steps.append(step)
                limit = step_verdict(step, cfg.keep_up)
                self.progress(f"{m} client(s): {step['total_frames_per_s']:,.0f} frames/s in all, "
                              f"{step['min_client_frames_per_s']:,.0f} to the slowest of "
                              f"{step['offered_per_client_per_s']:,.0f} offered" + (f": {limit}" if limit else ": held"))
                if limit:
                    break
        finally:
            await sim.stop(30.0)
            await sim.close()
        held = [s for s in self.steps if step_verdict(s, cfg.keep_up) is None]
        best = max(held, key=lambda s: s["total_frames_per_s"], default=None)
        return {"config": {"instruments": list(cfg.instruments), "speed": cfg.speed, "step_s": cfg.step_s,
                           "clients": list(cfg.clients), "keep_up": cfg.keep_up},
                "max_sustainable_frames_per_s": None if best is None else best["total_frames_per_s"],
                "at_clients": None if best is None else best["clients"],
                "limit": limit or f"not reached at {cfg.clients[-1]} clients", "steps": self.steps}

    async def _step(self, endpoints: Endpoints, sim: Child, n: int) -> dict:
        cfg = self.cfg
        client = cfg.client.model_copy(update=UNCHECKED_CLOCK)  # the market runs at `speed`
        consumers = [_Consumer(endpoints, client, cfg.instruments) for _ in range(n)]
        try:
            for c in consumers:
                await c.start()
            deadline = time.monotonic() + cfg.ready_timeout_s
            while not all(c.valid() for c in consumers) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            before = [c.counts() for c in consumers]
            pub0 = await _publications(sim)
            t0 = time.monotonic()
            await asyncio.sleep(cfg.step_s)  # the measured window: what arrives meanwhile is counted
            elapsed = time.monotonic() - t0
            after = [c.counts() for c in consumers]
            pub1 = await _publications(sim)
            valid = all(c.valid() for c in consumers)
        finally:
            for c in consumers:
                await c.close()
        per = [{k: a[k] - b[k] for k in a if k != "max_depth"} | {"max_depth": a["max_depth"]}
               for a, b in zip(after, before)]
        rates = [p["frames"] / elapsed for p in per]
        offered = (pub1 - pub0) / elapsed if pub0 is not None and pub1 is not None else None
        return {"clients": n, "seconds": round(elapsed, 2), "total_frames_per_s": round(sum(rates), 1),
                "min_client_frames_per_s": round(min(rates), 1),
                "offered_per_client_per_s": None if offered is None else round(offered, 1),
                "dropped": sum(p["dropped"] for p in per), "reconnects": sum(p["reconnects"] for p in per),
                "breaks": sum(p["breaks"] for p in per),
                "checksum_mismatches": sum(p["checksum_mismatches"] for p in per),
                "checksums_verified": sum(p["checksums_verified"] for p in per),
                "max_queue_depth": max(p["max_depth"] for p in per), "books_valid": valid}


async def _publications(sim: Child) -> float | None:
    """Publications so far: each is one frame to every subscriber of its (channel, instId), and every
    client subscribes to all of them."""
    m: Metrics | None = await sim.scrape()
    return None if m is None else m.total("hftlab_sim_publications_total")


def _sim_env(cfg: LoadConfig) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("HFTLAB")}
    env.update({"HFTLAB__VENUE__SIM__INSTRUMENTS": "[" + ",".join(cfg.instruments) + "]",
                "HFTLAB__MONITOR__PROMETHEUS_PORT": "0", "HFTLAB__SYSTEM__LOG_LEVEL": "WARNING",
                "HFTLAB__SYSTEM__DATA_DIR": str(Path(cfg.workdir) / "var")})
    return env
