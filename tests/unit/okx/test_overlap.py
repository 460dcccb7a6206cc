"""The duplicate filter: OKX's own duplicates always, and everything twice during a 64008 overlap."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.okx.book import OrderBook, Status
from hftlab.okx.events import BookMsg, PrivatePush, Ticker, Trade
from hftlab.okx.overlap import OverlapFilter

KEY = ("books", "BTC-USDT")
PRICES = ["99", "99.5", "100", "100.5", "101", "101.5", "102"]


def book(action, seq, prev, bids=(), asks=(), channel="books") -> BookMsg:
    return BookMsg(channel, "BTC-USDT", action, [list(a) for a in asks], [list(b) for b in bids], 1, 1, 0, seq, prev)


def trade(i: int) -> Trade:
    return Trade("trades", "BTC-USDT", str(i), "100", "1", "buy", i, i)


# -- the venue's stream: a snapshot, then updates that chain (some keep-alives), with random seqId jumps --------

_change = st.tuples(st.sampled_from(["bid", "ask"]), st.sampled_from(PRICES), st.sampled_from(["0", "1", "2.5"]))
_update = st.tuples(st.lists(_change, max_size=4), st.booleans(), st.integers(1, 90))  # (changes, keep-alive, jump)


def venue_stream(first_seq: int, updates) -> tuple[list[BookMsg], list[dict]]:
    """The messages OKX publishes and, after each, the book's levels {side: {px: sz}}."""
    levels = {"bid": {"99": "1", "99.5": "2"}, "ask": {"101": "1", "101.5": "3"}}
    msgs = [book("snapshot", first_seq, -1, sorted(levels["bid"].items()), sorted(levels["ask"].items()))]
    states = [{s: dict(v) for s, v in levels.items()}]
    seq = first_seq
    for changes, keepalive, jump in updates:
        if keepalive:
            msgs.append(book("update", seq, seq))
        else:
            bids = [(px, sz) for side, px, sz in changes if side == "bid"]
            asks = [(px, sz) for side, px, sz in changes if side == "ask"]
            for side, px, sz in changes:
                if sz == "0":
                    levels[side].pop(px, None)
                else:
                    levels[side][px] = sz
            msgs.append(book("update", seq + jump, seq, bids, asks))
            seq += jump
        states.append({s: dict(v) for s, v in levels.items()})
    return msgs, states


def snapshot_of(state: dict, seq: int) -> BookMsg:
    """The snapshot a new subscription gets: the current book, with the current seqId."""
    return book("snapshot", seq, -1, sorted(state["bid"].items()), sorted(state["ask"].items()))


def levels_of(b: OrderBook) -> dict:
    return {"bid": {lv[0]: lv[1] for lv in b.bids()}, "ask": {lv[0]: lv[1] for lv in b.asks()}}


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.lists(_update, min_size=1, max_size=30), st.data())
def test_two_overlapping_connections_deliver_one_unbroken_book(first_seq, updates, data):
    """The old connection carries the whole stream; the successor joins at message j with a fresh
    snapshot of the book at that point and then carries the rest. However the two interleave, the
    consumer's book never breaks and ends as the venue's book."""
    msgs, states = venue_stream(first_seq, updates)
    j = data.draw(st.integers(1, len(msgs) - 1), label="successor joins at")
    old = list(msgs)
    new = [snapshot_of(states[j - 1], msgs[j - 1].seq_id), *msgs[j:]]
    f = OverlapFilter(grace_s=1.0)
    f.begin("public", 0.0)
    consumer = OrderBook("books", "BTC-USDT")
    while old or new:
        take_old = bool(old) and (not new or data.draw(st.booleans(), label="old first"))
        ev = (old if take_old else new).pop(0)
        if f.accept("public", KEY, ev, 0.5):
            assert consumer.apply(ev) in (Status.SNAPSHOT, Status.UPDATE), ev
    f.end("public", 1.0)
    assert consumer.valid and consumer.seq_id == msgs[-1].seq_id
    assert levels_of(consumer) == {s: {px: sz for px, sz in v.items()} for s, v in states[-1].items()}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=40), st.data())
def test_during_an_overlap_each_trade_passes_once_in_order_of_first_arrival(ids, data):
    stream = [trade(i) for i in dict.fromkeys(ids)]  # the venue's trades, unique ids
    a, b = list(stream), list(stream[data.draw(st.integers(0, len(stream)), label="b joins at"):])
    copies = len(a) + len(b)
    f = OverlapFilter(grace_s=1.0)
    f.begin("public", 0.0)
    passed, arrivals = [], []
    while a or b:
        ev = (a if a and (not b or data.draw(st.booleans(), label="a first")) else b).pop(0)
        arrivals.append(ev.trade_id)
        if f.accept("public", ("trades", "BTC-USDT"), ev, 0.5):
            passed.append(ev.trade_id)
    assert passed == list(dict.fromkeys(arrivals))  # the first copy of each, as it arrived
    assert sorted(passed) == sorted(t.trade_id for t in stream)  # no gap, no duplicate
    assert sum(f.stats.duplicates.values()) == copies - len(stream)


def test_okx_duplicates_and_stale_updates_are_dropped_without_an_overlap():
    f = OverlapFilter(grace_s=1.0)
    docs_chain = [book("snapshot", 10, -1, [("99", "1")], [("101", "1")]), book("update", 15, 10, [("99", "2")]),
                  book("update", 15, 15), book("update", 3, 15), book("update", 5, 3, [("99", "3")])]
    assert [f.accept("public", KEY, m, 0.0) for m in docs_chain] == [True] * 5  # keep-alive and reset pass
    assert f.accept("public", KEY, book("update", 5, 3, [("99", "3")]), 0.0) is False  # sent twice
    assert f.accept("public", KEY, book("update", 5, 5), 0.0) is True  # a repeated keep-alive is harmless
    # alone, an old-looking snapshot is a sequence reset: it must replace the book
    assert f.accept("public", KEY, book("snapshot", 4, -1, [("99", "1")]), 0.0) is True
    assert f.accept("public", KEY, book("update", 4, 2), 0.0) is False  # behind the new mark
    # nothing else is filtered outside an overlap
    assert f.accept("public", ("trades", "BTC-USDT"), trade(1), 0.0) and f.accept("public", ("trades", "BTC-USDT"),
                                                                                   trade(1), 0.0)
    assert f.stats.duplicates == {"books": 2}


def test_top_n_pushes_and_snapshots_at_the_mark_are_dropped_only_while_overlapping():
    f = OverlapFilter(grace_s=1.0)
    top = ("books5", "BTC-USDT")
    assert f.accept("public", top, book(None, 20, 19, channel="books5"), 0.0)
    assert f.accept("public", top, book(None, 20, 19, channel="books5"), 0.0)  # no overlap: passes
    f.begin("public", 1.0)
    assert not f.accept("public", top, book(None, 20, 19, channel="books5"), 1.5)
    assert f.accept("public", top, book(None, 21, 20, channel="books5"), 1.5)
    assert not f.accept("public", top, book("snapshot", 21, -1, channel="books5"), 1.5)
    assert f.overlapping("public", 1.5) and not f.overlapping("business", 1.5)


def test_the_overlap_ends_grace_s_after_the_old_socket_and_forgets_what_it_saw():
    f = OverlapFilter(grace_s=1.0)
    f.begin("public", 0.0)
    key = ("tickers", "BTC-USDT")
    tick = Ticker("BTC-USDT", "100", "1", "99", "1", "101", "1", 7, 7)
    assert f.accept("public", key, tick, 0.1) and not f.accept("public", key, tick, 0.2)
    f.end("public", 5.0)
    assert not f.accept("public", key, tick, 5.9)  # still within the grace
    assert f.accept("public", key, tick, 6.0)  # over: nothing is de-duplicated any more
    f.begin("public", 7.0)
    assert f.accept("public", key, tick, 7.1)  # a new overlap starts with an empty memory
    push = PrivatePush("orders", {"channel": "orders", "instType": "ANY"}, [{"ordId": "1", "state": "live"}], 1)
    f.begin("private", 7.0)
    assert f.accept("private", ("orders", "ANY"), push, 7.2) and not f.accept("private", ("orders", "ANY"), push, 7.3)
    assert f.stats.duplicates == {"tickers": 2, "orders": 1}


def test_forget_starts_a_new_chain_after_an_unsubscribe():
    f = OverlapFilter(grace_s=1.0)
    assert f.accept("public", KEY, book("snapshot", 100, -1), 0.0)
    assert not f.accept("public", KEY, book("update", 50, 40), 0.0)
    f.forget(KEY)
    assert f.accept("public", KEY, book("update", 50, 40), 0.0)
