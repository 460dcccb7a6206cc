"""Sources: registration refuses what the catalogue does not describe; a scrape renders every kind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hftlab.core.metrics import Histogram, Stats
from hftlab.domain.orders import OrderStats
from hftlab.execution.stats import ExecutionStats, LatencyStats
from hftlab.monitor import catalogue
from hftlab.monitor.guard import GuardLevel, GuardStats
from hftlab.monitor.latency import FeedLatency
from hftlab.monitor.sources import DuplicateSource, Sources, Uncatalogued
from hftlab.okx.book import BookStats
from hftlab.okx.bookhealth import BookHealthStats
from hftlab.okx.client import ClientStats
from hftlab.okx.connection import SocketStats
from hftlab.okx.execution import ExecutionStats as OkxExecutionStats
from hftlab.okx.overlap import OverlapStats
from hftlab.portfolio.equity import EquitySnapshot
from hftlab.risk.state import TradingState
from hftlab.sim.hub import SimStats


def samples(sources: Sources) -> dict[tuple[str, tuple], float]:
    text = generate_latest(sources).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def client_stats() -> ClientStats:
    return ClientStats(SocketStats(), OverlapStats(), BookHealthStats(), OkxExecutionStats())


@dataclass(slots=True)
class Unknown(Stats):
    n: int = 0


def test_an_uncatalogued_record_or_probe_is_refused():
    s = Sources()
    with pytest.raises(Uncatalogued, match="Unknown is not in"):
        s.record(Unknown())
    with pytest.raises(Uncatalogued, match="probe 'nope'"):
        s.probe("nope", lambda: 1)


def test_a_record_with_a_field_the_catalogue_lacks_is_refused_by_name(monkeypatch):
    key = catalogue.record_key(Unknown)
    monkeypatch.setitem(catalogue.RECORDS, key, {})
    with pytest.raises(Uncatalogued, match=r"fields not catalogued \['n'\]"):
        Sources().record(Unknown())


def test_the_same_series_twice_is_refused_unless_labels_tell_them_apart():
    s = Sources()
    s.record(BookStats())
    with pytest.raises(DuplicateSource, match="hftlab_book_snapshots_total"):
        s.record(BookStats())
    s.record(BookStats(snapshots=2), component="other")
    got = samples(s)
    assert got[("hftlab_book_snapshots_total", ())] == 0
    assert got[("hftlab_book_snapshots_total", (("component", "other"),))] == 2


def test_counters_gauges_nested_records_and_labels_render():
    c = client_stats()
    c.events.update({"books": 5, "trades": 2})
    c.sockets.frames = 9
    c.sockets.error_events["60012"] = 1
    sim = SimStats(lag_ms=250.0)
    sim.by_role["public"] = 2
    s = Sources()
    s.record(c)
    s.record(sim)
    got = samples(s)
    assert got[("hftlab_okx_events_total", (("channel", "books"),))] == 5
    assert got[("hftlab_okx_frames_total", ())] == 9, "nested records are walked"
    assert got[("hftlab_okx_error_events_total", (("code", "60012"),))] == 1
    assert got[("hftlab_sim_lag_seconds", ())] == 0.25, "ms scaled to seconds"
    assert got[("hftlab_sim_connections_open_by_role", (("role", "public"),))] == 2
    assert ("hftlab_okx_overlap_duplicates_total", ()) not in got


def test_tuple_and_enum_keys_become_labels_and_decimals_numbers():
    ex, orders = ExecutionStats(), OrderStats()
    ex.outcomes[("place", "accepted")] += 3
    orders.transitions[(TradingState.ACTIVE, "ack")] += 1
    snap = EquitySnapshot(1_700_000_000_000, Decimal("10100.5"), Decimal("1"), Decimal("2"), Decimal("-0.5"),
                          Decimal(0), Decimal("10200"), Decimal("99.5"), Decimal("0.97"), Decimal("100.5"))
    s = Sources()
    s.record(ex)
    s.record(orders)
    s.record(lambda: snap, of=EquitySnapshot, ccy="USDT")
    got = samples(s)
    assert got[("hftlab_execution_outcomes_total", (("op", "place"), ("outcome", "accepted")))] == 3
    assert got[("hftlab_order_transitions_total", (("event", "ack"), ("state", "active")))] == 1
    assert got[("hftlab_portfolio_equity", (("ccy", "USDT"),))] == 10100.5
    assert got[("hftlab_portfolio_drawdown_ratio", (("ccy", "USDT"),))] == pytest.approx(0.0097)
    assert got[("hftlab_portfolio_snapshot_timestamp_seconds", (("ccy", "USDT"),))] == 1_700_000_000


def test_a_state_exports_every_member_and_an_info_exports_one():
    g = GuardStats(level=GuardLevel.SHED_RAW)
    g.actions[GuardLevel.SHED_RAW] += 1
    s = Sources()
    s.record(g)
    s.probe("trading_state", lambda: TradingState.REDUCING)
    s.probe("model", lambda: {"name": "hftlab-signal-sim", "version": 7})
    got = samples(s)
    assert {k[1][0][1]: v for k, v in got.items() if k[0] == "hftlab_resource_guard_level"} == \
        {"normal": 0, "shed_raw": 1, "stop_intents": 0, "stopping": 0}
    assert {k[1][0][1]: v for k, v in got.items() if k[0] == "hftlab_trading_state"} == \
        {"active": 0, "reducing": 1, "halted": 0}
    assert got[("hftlab_resource_guard_actions_total", (("action", "shed_raw"),))] == 1
    assert got[("hftlab_model_info", (("name", "hftlab-signal-sim"), ("version", "7")))] == 1


def test_a_callable_is_read_at_every_scrape_and_none_is_skipped():
    state = {"snap": None}
    s = Sources()
    with pytest.raises(Uncatalogued, match="needs `of=`"):
        s.record(lambda: None)
    s.record(lambda: state["snap"], of=EquitySnapshot)
    s.probe("redis_backlog", lambda: state.get("backlog"))
    assert samples(s) == {}
    state["backlog"] = 4
    assert samples(s) == {("hftlab_redis_backlog", ()): 4}
    with pytest.raises(TypeError, match="not the EquitySnapshot"):
        s.record(lambda: BookStats(), of=EquitySnapshot)


def test_labelled_metrics_are_declared_before_their_first_value():
    s = Sources()
    s.record(OkxExecutionStats())
    text = generate_latest(s).decode()
    assert "# TYPE hftlab_okx_op_rejects_total counter" in text
    assert "hftlab_okx_op_rejects_total{" not in text


@given(st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), max_size=100))
def test_a_histogram_exports_cumulative_buckets_its_count_and_sum(values):
    lat = LatencyStats()
    for v in values:
        lat.place_ack.observe(v)
    s = Sources()
    s.record(lat)
    got = samples(s)
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in got.items() if k[0] == "hftlab_execution_place_ack_seconds_bucket")
    assert [le for le, _ in buckets][:-1] == list(Histogram().bounds) and buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert buckets[-1][1] == got[("hftlab_execution_place_ack_seconds_count", ())] == len(values)
    assert got[("hftlab_execution_place_ack_seconds_sum", ())] == pytest.approx(sum(values))
    for le, n in buckets:
        assert n == sum(1 for v in values if v <= le)


def test_histograms_lists_every_series_with_its_labels():
    lat = FeedLatency()
    lat.exchange_to_receive["books"].observe(0.01)
    s = Sources()
    s.record(lat, component="collect")
    found = {(name, tuple(sorted(labels.items()))): h.count for name, labels, h in s.histograms()}
    assert found == {("hftlab_md_exchange_to_receive_seconds", (("channel", "books"), ("component", "collect"))): 1,
                     ("hftlab_md_receive_to_event_seconds", (("component", "collect"),)): 0}


def test_scraping_changes_nothing():
    c = client_stats()
    c.events["books"] = 1
    before = c.as_dict()
    s = Sources()
    s.record(c)
    samples(s)
    samples(s)
    assert c.as_dict() == before and c.events == Counter(books=1)


def test_every_unlabelled_field_of_a_collectors_records_is_a_series():
    from hftlab.cache.manager import CacheStats
    from hftlab.collect.collector import CollectorStats
    from hftlab.collect.recorder import RecorderStats
    from hftlab.okx.queue import QueueStats

    records = (client_stats(), QueueStats(10), BookStats(), CacheStats(), RecorderStats(), CollectorStats(),
               FeedLatency(), SimStats(), GuardStats())
    s = Sources()
    for rec in records:
        s.record(rec)
    names = {name for name, _ in samples(s)}
    keys = {catalogue.record_key(type(r)) for r in records} | {catalogue.record_key(type(x)) for x in (
        SocketStats(), OverlapStats(), BookHealthStats(), OkxExecutionStats())}
    wanted = {(e.name + "_count" if e.kind is catalogue.Kind.HISTOGRAM else e.name)
              for k in keys for e in catalogue.RECORDS[k].values()
              if not e.labels and e.kind not in (catalogue.Kind.NESTED, catalogue.Kind.SKIP)}
    assert wanted - names == set()


@pytest.mark.parametrize("field_name", ["sockets", "orders"])
def test_nested_records_must_be_catalogued_too(monkeypatch, field_name):
    key = catalogue.record_key(SocketStats if field_name == "sockets" else OkxExecutionStats)
    monkeypatch.delitem(catalogue.RECORDS, key)
    with pytest.raises(Uncatalogued, match=key):
        Sources().record(client_stats())
