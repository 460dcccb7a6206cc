"""Delays injected in the simulator are recovered, within 10%, by the histograms as Prometheus scrapes them.

- `venue.sim.md_latency_ms` holds every market-data frame back: the collector's
  `hftlab_md_exchange_to_receive_seconds` (venue `ts` -> receive) is that delay plus the offset of
  the simulator's market clock from the wall clock, which the test reads from the simulator itself
  (OKX's clock is offset from ours the same way).
- `venue.sim.ack_latency_ms` holds every WS trading op's answer back: the op's ack time
  (`hftlab_okx_op_ack_seconds`, request sent -> answer) and OKX's own gateway time
  (`hftlab_okx_gateway_seconds`, outTime - inTime) are that delay.

The means (histogram sum / count) are compared: the buckets are too coarse (1-2.5-5 per decade) to
resolve 10%.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hftlab.collect.collector import Collector
from hftlab.collect.config import CollectConfig
from hftlab.commands.collect import register_sources
from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.monitor.exporter import MetricsExporter
from hftlab.monitor.sources import Sources
from hftlab.okx.channels import Endpoints, args_for
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer

pytestmark = pytest.mark.timeout(90)

MD_MS, ACK_MS = 200.0, 150.0
OPS = 6
INSTS = ["BTC-USDT", "ETH-USDT"]


async def scrape(exporter: MetricsExporter) -> dict[tuple[str, tuple], float]:
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(exporter.url, timeout=5).read().decode())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(body) for s in fam.samples}


def mean(samples: dict, name: str, **labels) -> tuple[float, float]:
    key = tuple(sorted(labels.items()))
    n = samples.get((f"{name}_count", key), 0.0)
    return (samples[(f"{name}_sum", key)] / n if n else float("nan")), n


async def until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (got := await pred()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)
    return got


async def test_injected_md_and_ack_delays_are_recovered_within_10_percent(tmp_path):
    async with SimServer(SimConfig(seed=5, md_latency_ms=MD_MS, ack_latency_ms=ACK_MS)) as sim:
        endpoints = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
        collector = Collector(endpoints, tmp_path, symbols=INSTS, channels=["books", "trades"], timeframes=["1s"],
                              collect=CollectConfig(record_raw=False), client=ClientConfig())
        collector.latency.sample_rate = 1.0  # time every event: the means need samples, not hours
        collected, traded = Sources(), Sources()
        register_sources(collected, collector, sim=sim)
        trader = AsyncOKXClient(endpoints, ClientConfig(reconcile_orders=False), credentials=SIM_CREDENTIALS)
        traded.record(trader.orders.latency)
        run = asyncio.create_task(collector.run(600))
        async with MetricsExporter(collected) as md_exporter, MetricsExporter(traded) as op_exporter, trader:
            await trader.subscribe(args_for(["orders"], INSTS))
            await until(lambda: _ready(trader), 20, "the private socket")
            codes = await trader.rest.inst_id_codes("SPOT")
            bid = float((await trader.rest.books(INSTS[0], 1))["bids"][0][0])
            for i in range(OPS):
                placed = await trader.orders.send_op("order", [
                    {"instIdCode": codes[INSTS[0]], "tdMode": "cash", "side": "buy", "ordType": "post_only",
                     "px": f"{bid * 0.9:.1f}", "sz": "0.001", "clOrdId": f"lat{i}"}])
                assert placed.code == "0", placed
                cancelled = await trader.orders.send_op("cancel-order", [
                    {"instIdCode": codes[INSTS[0]], "ordId": placed.data[0]["ordId"]}])
                assert cancelled.code == "0", cancelled
            md = await until(lambda: _books_timed(md_exporter, 60), 30, "60 book events timed")
            ops = await scrape(op_exporter)
            # how far the simulator's market clock (the frames' `ts`) trails the wall clock
            offset_ms = time.time() * 1000 - sim.clock.now_ms()
            assert sim.stats.slowdowns == 0, "market time was rebased: the offset moved during the test"
        collector.request_stop("test")
        await run

    books_ms = mean(md, "hftlab_md_exchange_to_receive_seconds", channel="books")[0] * 1e3 - offset_ms
    assert books_ms == pytest.approx(MD_MS, rel=0.10), (books_ms, offset_ms)
    for op in ("order", "cancel-order"):
        ack, n = mean(ops, "hftlab_okx_op_ack_seconds", op=op)
        gateway, m = mean(ops, "hftlab_okx_gateway_seconds", op=op)
        assert n == m == OPS
        assert ack * 1e3 == pytest.approx(ACK_MS, rel=0.10), (op, ack)
        assert gateway * 1e3 == pytest.approx(ACK_MS, rel=0.10), (op, gateway)
        assert gateway <= ack, "the gateway's time is inside the round trip"


async def _ready(client: AsyncOKXClient) -> bool:
    return client.orders.ready


async def _books_timed(exporter: MetricsExporter, n: int):
    samples = await scrape(exporter)
    return samples if mean(samples, "hftlab_md_exchange_to_receive_seconds", channel="books")[1] >= n else None
