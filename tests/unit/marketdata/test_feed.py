"""MarketFeed: books -> top of book, trades -> bars, exchange time -> the bar clock, and the sockets'
invalidations and REST seeds announced as tops."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.domain.market import TopOfBook
from hftlab.marketdata.bars import MultiBarBuilder
from hftlab.marketdata.feed import NOTHING, MarketFeed
from hftlab.okx.book import SeedResult
from hftlab.okx.events import BookMsg, Candle, PrivatePush, Ticker, Trade

INST = "BTC-USDT"


def book(action, seq, prev, bids=(), asks=(), channel="books", inst=INST, ts=1_000, recv_ns=5) -> BookMsg:
    return BookMsg(channel, inst, action, [[p, s, "0", "1"] for p, s in asks], [[p, s, "0", "1"] for p, s in bids],
                   ts, recv_ns, 0, seq, prev)


def trade(ts: int, px: str = "100", sz: str = "1", channel: str = "trades", tid: str = "1") -> Trade:
    return Trade(channel, INST, tid, px, sz, "buy", ts, ts)


def ticker(ts: int) -> Ticker:
    return Ticker(INST, "100", "1", "99", "1", "101", "1", ts, ts)


def test_a_book_message_on_the_top_channel_gives_its_top_of_book():
    feed = MarketFeed(["books", "trades"], ["1s"])
    update = feed.on_event(book("snapshot", 10, -1, [("99.5", "2"), ("99", "1")], [("100.5", "3")]))
    assert update.top == TopOfBook(INST, "99.5", "2", "100.5", "3", 1_000, 10, True, 5) == feed.top(INST)
    assert update.bars == ()
    assert feed.book("books", INST).best_bid()[0] == "99.5"
    assert (feed.books_valid, feed.books_total) == (1, 1)


def test_the_most_granular_book_channel_feeds_the_top():
    feed = MarketFeed(["books5", "books", "bbo-tbt"], ["1s"])
    assert feed.top_channel == "bbo-tbt"
    assert feed.on_event(book("snapshot", 1, -1, [("99", "1")], [("101", "1")])) is NOTHING  # books: applied only
    assert feed.book("books", INST) is not None and feed.top(INST) is None
    top = feed.on_event(book(None, 2, None, [("99.9", "1")], [("100.1", "1")], channel="bbo-tbt")).top
    assert (top.bid_px, top.ask_px, top.valid) == ("99.9", "100.1", True)
    assert MarketFeed(["trades"], ["1s"]).top_channel is None


def test_an_invalid_book_keeps_its_last_prices_flagged_invalid_and_asks_one_resync():
    resyncs = []
    feed = MarketFeed(["books"], ["1s"])
    feed.bind_resync(lambda *a: resyncs.append(a))
    feed.on_event(book("snapshot", 10, -1, [("99", "1")], [("101", "1")]))
    broken = feed.on_event(book("update", 20, 15, [("98", "1")], recv_ns=77)).top
    assert broken == TopOfBook(INST, "99", "1", "101", "1", 1_000, 10, False, 77)
    assert broken.mid is None, "never a price source"
    assert feed.on_event(book("update", 21, 20)).top.valid is False
    assert len(resyncs) == 1 and feed.resync_pending("books", INST)
    assert feed.on_event(book("snapshot", 30, -1, [("99.1", "1")], [("100.9", "1")])).top.valid
    assert not feed.resync_pending("books", INST)


def test_the_sockets_invalidations_and_rest_seeds_are_announced():
    announced: list[TopOfBook] = []
    feed = MarketFeed(["books"], ["1s"], on_top=announced.append)
    feed.bind_resync(lambda *a: None)
    feed.on_event(book("snapshot", 10, -1, [("99", "1")], [("101", "1")]))
    assert announced == [], "tops of events come back from on_event"
    assert feed.invalidate("books", INST, "connection lost") is True
    assert announced == [TopOfBook(INST, "99", "1", "101", "1", 1_000, 10, False, 5)] == [feed.top(INST)]
    assert feed.invalidate("books", INST, "connection lost") is False and len(announced) == 1
    feed.on_event(book("update", 12, 11))  # buffered for the REST seed
    rest = {"asks": [["100.5", "2", "0", "1"]], "bids": [["99.5", "2", "0", "1"]], "ts": "2000", "seqId": 11}
    assert feed.seed_from_rest("books", INST, rest) is SeedResult.SEEDED
    assert announced[-1].valid and announced[-1].seq_id == 12 and announced[-1].bid_px == "99.5"
    feed.invalidate("books5", INST, "not the top channel")
    assert len(announced) == 2


def test_trades_on_the_bar_channel_close_bars_and_tickers_tick_the_clock():
    feed = MarketFeed(["books", "trades", "trades-all", "tickers"], ["1s"], grace_ms=500)
    assert feed.bar_channel == "trades-all"
    assert feed.on_event(trade(1_000, channel="trades")) is NOTHING
    assert feed.on_event(trade(1_100, "100", channel="trades-all")) is NOTHING
    assert feed.on_event(trade(1_200, "102", channel="trades-all")) is NOTHING
    assert feed.on_event(ticker(2_400)) is NOTHING  # within the grace
    (bar,) = feed.on_event(ticker(2_500)).bars
    assert (bar.ts_ms, bar.open, bar.high, bar.close, bar.volume, bar.trade_count) == (1_000, 100, 102, 102, 2, 2)
    feed.on_event(trade(3_100, channel="trades-all"))
    (bar,) = feed.on_event(book("snapshot", 1, -1, [("99", "1")], [("101", "1")], ts=4_600)).bars
    assert bar.ts_ms == 3_000, "the top channel's exchange time ticks the clock too"
    feed.on_event(trade(2_000, channel="trades-all"))  # older than a closed bar
    assert feed.late_trades == 1


@pytest.mark.parametrize("ev", [Candle("candle1m", INST, 1, "1", "1", "1", "1", "1", "1", None, True, 1),
                                PrivatePush("orders", {"channel": "orders"}, [{}], 1), object()])
def test_other_events_change_nothing(ev):
    assert MarketFeed(["books", "trades"], ["1s"]).on_event(ev) is NOTHING


_px = st.sampled_from(["98", "99", "100", "101", "102"])
_event = st.one_of(
    st.tuples(st.just("trade"), st.integers(0, 3_000), _px),
    st.tuples(st.just("ticker"), st.integers(0, 3_000), _px),
    st.tuples(st.just("book"), st.integers(0, 3_000), st.lists(st.tuples(_px, st.sampled_from(["0", "1", "2"])),
                                                               max_size=3)),
    st.tuples(st.just("gap"), st.integers(0, 3_000), st.just(None)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_event, max_size=60))
def test_every_update_is_what_the_book_and_the_bar_builder_say(events):
    """Whatever arrives: the top of each update is the book's best levels while it is valid (else the
    last valid prices, flagged), and the bars are exactly the bar builder's over the same stream."""
    feed = MarketFeed(["books", "trades", "tickers"], ["1s", "3s"], grace_ms=200)
    feed.bind_resync(lambda *a: None)
    builder = MultiBarBuilder(["1s", "3s"], grace_ms=200)
    clock, seq = 0, 0
    feed.on_event(book("snapshot", 0, -1, [("99", "1")], [("101", "1")]))
    last_valid = feed.top(INST)
    for kind, dt, extra in events:
        clock += dt
        if kind == "trade":
            ev = trade(clock, extra)
            expected_bars = builder.add(ev)
        elif kind == "ticker":
            ev = ticker(clock)
            expected_bars = builder.advance(INST, clock)
        else:
            prev, seq = (seq + 5, seq + 9) if kind == "gap" else (seq, seq + 1)
            if kind == "book" and not feed.book("books", INST):
                ev = book("snapshot", seq, -1, [("99", "1")], [("101", "1")], ts=clock)
            else:
                levels = extra or []
                ev = book("update", seq, prev, [(p, s) for p, s in levels if float(p) < 100],
                          [(p, s) for p, s in levels if float(p) >= 100], ts=clock)
            expected_bars = builder.advance(INST, clock)
        update = feed.on_event(ev)
        assert list(update.bars) == expected_bars
        if isinstance(ev, BookMsg):
            live = feed.book("books", INST)
            if live is not None:
                b, a = live.best_bid(), live.best_ask()
                assert (update.top.bid_px, update.top.ask_px) == (b[0] if b else None, a[0] if a else None)
                assert update.top.valid
                last_valid = update.top
            else:
                assert not update.top.valid
                assert (update.top.bid_px, update.top.ask_px) == (last_valid.bid_px, last_valid.ask_px)
        else:
            assert update.top is None
