"""A /metrics page read back: totals over labels, and a histogram's quantile by bucket."""

from __future__ import annotations

from hftlab.soak.scrape import parse_metrics

PAGE = """# HELP hftlab_okx_queue_dropped_total Events dropped
# TYPE hftlab_okx_queue_dropped_total counter
hftlab_okx_queue_dropped_total{channel="trades"} 3.0
hftlab_okx_queue_dropped_total{channel="tickers"} 2.0
# HELP hftlab_event_loop_lag_max_seconds worst lag
# TYPE hftlab_event_loop_lag_max_seconds gauge
hftlab_event_loop_lag_max_seconds 0.25
# HELP hftlab_event_loop_lag_seconds lag
# TYPE hftlab_event_loop_lag_seconds histogram
hftlab_event_loop_lag_seconds_bucket{le="0.001"} 90.0
hftlab_event_loop_lag_seconds_bucket{le="0.01"} 99.0
hftlab_event_loop_lag_seconds_bucket{le="1.0"} 100.0
hftlab_event_loop_lag_seconds_bucket{le="+Inf"} 100.0
hftlab_event_loop_lag_seconds_count 100.0
hftlab_event_loop_lag_seconds_sum 0.9
"""


def test_totals_and_labels():
    m = parse_metrics(PAGE)
    assert m.total("hftlab_okx_queue_dropped_total") == 5
    assert m.total("hftlab_okx_queue_dropped_total", channel="trades") == 3
    assert m.total("hftlab_event_loop_lag_max_seconds") == 0.25
    assert m.total("absent") == 0


def test_a_quantile_is_the_bound_of_the_bucket_that_holds_it():
    m = parse_metrics(PAGE)
    assert m.bucket_quantile("hftlab_event_loop_lag_seconds", 0.5) == 0.001
    assert m.bucket_quantile("hftlab_event_loop_lag_seconds", 0.99) == 0.01
    assert m.bucket_quantile("hftlab_event_loop_lag_seconds", 1.0) == 1.0
    assert m.bucket_quantile("absent", 0.99) is None
