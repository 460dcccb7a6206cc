"""A /metrics page read back: totals over labels, and per label."""

from __future__ import annotations

from hftlab.soak.scrape import parse_metrics

PAGE = """# HELP hftlab_okx_queue_dropped_total Events dropped
# TYPE hftlab_okx_queue_dropped_total counter
hftlab_okx_queue_dropped_total{channel="trades"} 3.0
hftlab_okx_queue_dropped_total{channel="tickers"} 2.0
# HELP hftlab_event_loop_lag_max_seconds worst lag
# TYPE hftlab_event_loop_lag_max_seconds gauge
hftlab_event_loop_lag_max_seconds 0.25
"""


def test_totals_and_labels():
    m = parse_metrics(PAGE)
    assert m.total("hftlab_okx_queue_dropped_total") == 5
    assert m.total("hftlab_okx_queue_dropped_total", channel="trades") == 3
    assert m.by("hftlab_okx_queue_dropped_total", "channel") == {"trades": 3, "tickers": 2}
    assert m.total("hftlab_event_loop_lag_max_seconds") == 0.25
    assert m.total("absent") == 0

