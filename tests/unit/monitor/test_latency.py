import pytest

from hftlab.monitor.latency import FeedLatency, TickLatency
from hftlab.okx.events import BookMsg, Candle, Ticker

NOW_MS = 1_767_225_600_000


def book(recv_ns: int) -> BookMsg:
    return BookMsg("books", "BTC-USDT", "update", [], [], NOW_MS, recv_ns)


def test_an_event_is_timed_from_the_venue_stamp_to_receive_and_to_now(monkeypatch):
    lat = FeedLatency(sample_rate=1.0)
    monkeypatch.setattr("hftlab.monitor.latency._now_ns", lambda: NOW_MS * 1_000_000 + 53_000_000)
    lat.observe_event(book(NOW_MS * 1_000_000 + 50_000_000), NOW_MS)
    assert lat.exchange_to_receive["books"].sum == pytest.approx(0.050)
    assert lat.receive_to_event.sum == pytest.approx(0.003)
    ticker = Ticker("BTC-USDT", "1", "1", "1", "1", "1", "1", NOW_MS, NOW_MS * 1_000_000 + 20_000_000)
    lat.observe_event(ticker, NOW_MS)
    assert lat.exchange_to_receive["tickers"].sum == pytest.approx(0.020), "labelled by channel"


def test_an_event_without_a_push_stamp_is_timed_from_receive_only():
    lat = FeedLatency(sample_rate=1.0)
    candle = Candle("candle1m", "BTC-USDT", NOW_MS, "1", "1", "1", "1", "1", "1", "1", False, NOW_MS * 1_000_000)
    lat.observe_event(candle, 0)
    assert dict(lat.exchange_to_receive) == {} and lat.receive_to_event.count == 1


def test_events_are_sampled_at_random_at_the_configured_rate(monkeypatch):
    draws = iter([0.5, 0.01, 0.07, 0.9, 0.0])
    monkeypatch.setattr("hftlab.monitor.latency._random", lambda: next(draws))
    lat = FeedLatency()  # 1 in 16
    for _ in range(4):
        lat.observe_event(book(NOW_MS * 1_000_000), NOW_MS)
    assert lat.receive_to_event.count == 1
    never = FeedLatency(sample_rate=0.0)
    never.observe_event(book(NOW_MS * 1_000_000), NOW_MS)
    assert never.receive_to_event.count == 0


def test_a_decisions_stage_durations_go_to_their_histograms():
    lat = TickLatency()
    lat.observe_stages((40_000, 25_000, 5_000))
    assert (lat.features.sum, lat.inference.sum, lat.decision.sum) == pytest.approx((4e-5, 2.5e-5, 5e-6))
    assert lat.risk.count == lat.tick_to_order.count == 0
