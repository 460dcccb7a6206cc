"""Exchange times against local time and each stream's past: a frame that fails is refused whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.okx.events import BookMsg, Candle, PrivatePush, Ticker, Trade
from hftlab.okx.timestamps import TimestampGuard

NOW_MS = 1_790_000_000_000
NOW_NS = NOW_MS * 1_000_000


def trade(ts: int, inst: str = "BTC-USDT", channel: str = "trades") -> Trade:
    return Trade(channel, inst, "1", "1", "1", "buy", ts, NOW_NS)


def book(ts: int, inst: str = "BTC-USDT") -> BookMsg:
    return BookMsg("books", inst, "update", [], [], ts, NOW_NS)


def test_a_ts_ahead_of_local_time_is_refused_within_the_tolerance_it_passes():
    g = TimestampGuard(max_ahead_ms=1000)
    assert g.check([trade(NOW_MS + 1000)], NOW_NS) is None
    why = g.check([trade(NOW_MS + 1001 + 86_400_000)], NOW_NS)
    assert why is not None and "ahead of local time" in why


def test_far_behind_local_time_is_refused_and_a_stream_never_goes_back():
    g = TimestampGuard(max_behind_ms=86_400_000)
    why = g.check([trade(NOW_MS - 86_400_001)], NOW_NS)
    assert why is not None and "behind local time" in why
    assert g.check([trade(NOW_MS - 7 * 3_600_000)], NOW_NS) is None  # a subscription's first trade: hours old
    assert g.check([trade(NOW_MS - 1000)], NOW_NS) is None
    assert g.check([trade(NOW_MS - 1000)], NOW_NS) is None  # equal: aggregated trades share a ts
    why = g.check([trade(NOW_MS - 1001)], NOW_NS)
    assert why is not None and "1 ms older than the newest of trades BTC-USDT" in why
    # streams are apart: another channel or instrument has a past of its own
    assert g.check([trade(NOW_MS - 5000, channel="trades-all"), book(NOW_MS - 5000)], NOW_NS) is None
    assert g.check([Ticker("BTC-USDT", "1", "1", "1", "1", "1", "1", NOW_MS - 9000, NOW_NS)], NOW_NS) is None


def test_a_refused_far_future_ts_does_not_make_the_stream_look_old():
    g = TimestampGuard(max_ahead_ms=1000)
    assert g.check([trade(NOW_MS + 365 * 86_400_000)], NOW_NS) is not None
    assert g.check([trade(NOW_MS)], NOW_NS) is None


def test_a_frame_is_judged_whole_and_only_a_frame_that_passes_moves_the_clocks():
    g = TimestampGuard()
    assert g.check([trade(NOW_MS), trade(NOW_MS - 10)], NOW_NS) is not None  # goes back inside the frame
    assert g.check([trade(NOW_MS - 10)], NOW_NS) is None  # the refused frame moved nothing
    assert g.check([trade(NOW_MS - 5, "ETH-USDT"), trade(NOW_MS - 20)], NOW_NS) is not None
    assert g.check([trade(NOW_MS - 6, "ETH-USDT")], NOW_NS) is None


def test_candles_private_pushes_and_unknown_local_time():
    g = TimestampGuard(max_ahead_ms=1000)
    c = Candle("candle1m", "BTC-USDT", NOW_MS, "1", "1", "1", "1", "1", "1", None, False, NOW_NS)
    older = Candle("candle1m", "BTC-USDT", NOW_MS - 60_000, "1", "1", "1", "1", "1", "1", None, True, NOW_NS)
    assert g.check([c], NOW_NS) is None and g.check([older], NOW_NS) is None  # a candle's close may come late
    assert g.check([Candle("candle1m", "X", NOW_MS + 10**9, "1", "1", "1", "1", "1", "1", None, False, NOW_NS)],
                   NOW_NS) is not None
    assert g.check([PrivatePush("orders", {}, [], NOW_NS)], NOW_NS) is None
    assert g.check([trade(NOW_MS + 10**9)], 0) is None  # no receive time: nothing to compare with
    assert TimestampGuard(None, None).check([trade(NOW_MS + 10**12), trade(1, "ETH-USDT")], NOW_NS) is None


def test_an_unsubscribed_stream_starts_a_new_past():
    g = TimestampGuard()
    assert g.check([trade(NOW_MS)], NOW_NS) is None
    g.forget(("trades", "BTC-USDT"))
    assert g.check([trade(NOW_MS - 10_000)], NOW_NS) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(NOW_MS - 10**6, NOW_MS + 10**7)), max_size=30))
def test_what_passes_is_never_ahead_and_never_goes_back(pushes):
    g = TimestampGuard(max_ahead_ms=5000)
    newest: dict[str, int] = {}
    for inst, ts in pushes:
        if g.check([trade(ts, inst)], NOW_NS) is None:
            assert ts <= NOW_MS + 5000 and ts >= newest.get(inst, 0)
            newest[inst] = ts
        else:
            assert ts > NOW_MS + 5000 or ts < newest.get(inst, 0)
