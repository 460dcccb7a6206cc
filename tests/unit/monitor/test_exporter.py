import asyncio
import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from hftlab.monitor.exporter import MetricsExporter
from hftlab.monitor.sources import Sources
from hftlab.okx.book import BookStats


def get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.headers["Content-Type"], r.read().decode()


async def test_metrics_are_served_on_loopback_and_each_scrape_is_counted():
    book = BookStats()
    sources = Sources()
    sources.record(book)
    async with MetricsExporter(sources) as exporter:
        assert exporter.url.startswith("http://127.0.0.1:") and exporter.port > 0
        book.snapshots = 3
        ctype, body = await asyncio.to_thread(get, exporter.url)
        _, again = await asyncio.to_thread(get, exporter.url)
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype
    values = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert values["hftlab_book_snapshots_total"] == 3, "read live at the scrape"
    assert values["hftlab_exporter_scrapes_total"] == 0
    assert "hftlab_exporter_scrapes_total 1.0" in again and exporter.stats.scrape_seconds.count == 2


async def test_a_port_in_use_falls_back_to_a_free_one(caplog):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        async with MetricsExporter(Sources(), port=port) as exporter:
            assert exporter.port not in (0, port)
            _, body = await asyncio.to_thread(get, exporter.url)
    assert "hftlab_exporter_scrapes_total" in body
    assert f"port {port} is in use" in caplog.text
