import os

import orjson
import pytest

from hftlab.core.metrics import Histogram
from hftlab.monitor.guard import GuardLevel, GuardStats
from hftlab.monitor.latency import FeedLatency
from hftlab.monitor.sources import Sources
from hftlab.monitor.status import StatusPublisher, latency_summaries, series_name, summary


class FakeCache:
    def __init__(self):
        self.written: dict[str, dict] = {}

    def set_monitor(self, component: str, fields: dict) -> None:
        self.written[component] = fields


def test_series_names_drop_the_prefix_and_unit_and_keep_the_labels():
    assert series_name("hftlab_md_receive_to_event_seconds", {}) == "md_receive_to_event"
    assert series_name("hftlab_okx_op_ack_seconds", {"op": "order", "component": "live"}) == \
        "okx_op_ack{component=live,op=order}"


def test_a_summary_gives_count_mean_and_bucket_quantiles_in_ms():
    h = Histogram()
    for v in (0.001, 0.002, 0.003, 0.2):
        h.observe(v)
    assert summary(h) == {"n": 4, "mean_ms": pytest.approx(51.5), "p50_ms": 2.5, "p99_ms": 250.0}


def test_the_status_hash_holds_the_process_and_its_latencies():
    lat = FeedLatency()
    lat.exchange_to_receive["books"].observe(0.05)
    sources = Sources()
    sources.record(lat)
    guard = GuardStats(level=GuardLevel.SHED_RAW, rss_bytes=10, limit_bytes=20)
    cache = FakeCache()
    StatusPublisher(cache, "collect", sources, guard, metrics_url="http://127.0.0.1:1/metrics").publish()
    fields = cache.written["collect"]
    assert (fields["component"], fields["pid"], fields["guard"], fields["rssBytes"], fields["limitBytes"]) == \
        ("collect", os.getpid(), "shed_raw", 10, 20)
    assert fields["metricsUrl"] == "http://127.0.0.1:1/metrics" and fields["ts"] >= fields["started"]
    assert orjson.loads(fields["latency"]) == {"md_exchange_to_receive{channel=books}": summary(
        lat.exchange_to_receive["books"])}
    assert latency_summaries(sources).keys() == {"md_exchange_to_receive{channel=books}"}, "empty ones left out"
