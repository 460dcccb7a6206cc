"""The Prometheus endpoint: `GET /metrics` on the process's one asyncio loop (aiohttp), rendering
`Sources` in the text exposition format at each scrape. Loopback by default; port 0 takes a free port
(`exporter.url` says which).

    async with MetricsExporter(sources, host="127.0.0.1", port=9108) as exporter:
        print(exporter.url)            # http://127.0.0.1:9108/metrics

A port already taken does not stop the process (monitoring must never take the data path down): the
exporter logs it and serves on a free port instead, which `url` names.

A scrape reads the registered records on the loop, between two events, so it sees each component
in a consistent state; it costs a few milliseconds (`hftlab bench monitor` measures it) and is
counted with its duration (`ExporterStats`, exported like any other record).
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from hftlab.core.metrics import Histogram, Stats
from hftlab.monitor.sources import Sources

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ExporterStats(Stats):
    scrapes: int = 0
    scrape_seconds: Histogram = field(default_factory=Histogram)


class MetricsExporter:
    def __init__(self, sources: Sources, *, host: str = "127.0.0.1", port: int = 0):
        self.sources = sources
        self.host = host
        self.port = port
        self.stats = ExporterStats()
        sources.record(self.stats)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def render(self) -> bytes:
        """One scrape's body."""
        t0 = time.perf_counter()
        body = generate_latest(self.sources)
        self.stats.scrapes += 1
        self.stats.scrape_seconds.observe(time.perf_counter() - t0)
        return body

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.render(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    async def start(self) -> MetricsExporter:
        if self._runner is not None:
            return self
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            sock = socket.create_server((self.host, self.port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE or not self.port:
                await runner.cleanup()
                raise
            sock = socket.create_server((self.host, 0))
            log.error("port %d is in use: serving /metrics on port %d instead (Prometheus will not find it "
                      "where its scrape configuration looks)", self.port, sock.getsockname()[1])
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = sock.getsockname()[1]  # the real one when 0 was asked for
        self._runner = runner
        return self

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> MetricsExporter:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()
