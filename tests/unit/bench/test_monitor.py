import argparse
import json

from hftlab.bench import monitor, run
from hftlab.okx.book import BookKeeper
from hftlab.okx.events import BookMsg, Trade
from hftlab.okx.parse import parse_frame


def test_monitor_bench_runs_tiny_and_reports_its_json_shape():
    p = argparse.ArgumentParser()
    monitor.add_arguments(p)
    doc = run("monitor", p.parse_args(["--frames", "400", "--repeat", "1", "--observations", "1000"]))
    assert json.loads(json.dumps(doc))["benchmark"] == "monitor"
    assert set(doc["results"]) == {
        "frames_count", "decisions_count", "path_plain_us", "path_instrumented_us", "instrumentation_overhead_pct",
        "histogram_observe_ns", "observe_event_ns", "observe_event_timed_ns", "scrape_render_ms"}
    assert doc["results"]["frames_count"] == 400 and doc["results"]["decisions_count"] > 0


def test_the_synthetic_market_is_a_valid_book_chain_with_trades():
    keeper, trades = BookKeeper(), 0
    for raw in monitor.synthetic_frames(300):
        for ev in parse_frame(raw, 0):
            if type(ev) is BookMsg:
                keeper.apply(ev)
            trades += type(ev) is Trade
    stats = keeper.stats()
    assert stats.snapshots == 1 and stats.breaks == 0 and stats.updates > 200 and trades > 50
    assert keeper.get("books", monitor.INST) is not None
