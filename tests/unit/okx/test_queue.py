"""The client's event queue: bounded, drop policy, dropped book update -> book invalidated and resynced."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.okx.book import BookKeeper
from hftlab.okx.events import BookMsg, PrivatePush, Ticker, Trade
from hftlab.okx.queue import EventQueue, QueueClosed


def trade(i: int, inst: str = "BTC-USDT") -> Trade:
    return Trade("trades", inst, str(i), "100", "1", "buy", i, i)


def book(seq: int, prev: int, inst: str = "BTC-USDT", action: str = "update") -> BookMsg:
    return BookMsg("books", inst, action, [["101", "1", "0", "1"]], [["99", "1", "0", "1"]], seq, seq,
                   0, seq, prev)


def private(i: int) -> PrivatePush:
    return PrivatePush("orders", {"channel": "orders", "instType": "ANY"}, [{"ordId": str(i)}], i)


def ticker(i: int) -> Ticker:
    return Ticker("BTC-USDT", "100", "1", "99", "1", "101", "1", i, i)


def drain(q: EventQueue) -> list:
    return q.get_batch(10**9)


def test_fifo_across_event_classes():
    q = EventQueue(100)
    evs = [trade(1), book(2, 1), private(3), ticker(4), book(5, 2), trade(6)]
    for e in evs:
        q.put(e)
    assert drain(q) == evs


def test_full_queue_drops_oldest_market_event_first_and_counts_per_channel():
    dropped_books = []
    q = EventQueue(3, on_book_drop=lambda m: dropped_books.append((m.channel, m.inst_id)))
    for e in (trade(1), book(2, 1), ticker(3), trade(4), book(5, 2)):
        q.put(e)
    out = drain(q)
    assert [type(e).__name__ for e in out] == ["BookMsg", "Trade", "BookMsg"]
    assert out[1].trade_id == "4"
    assert q.stats.dropped == {"trades": 1, "tickers": 1}
    assert dropped_books == [] and q.stats.books_invalidated == 0


def test_market_event_into_a_queue_full_of_books_is_itself_dropped():
    q = EventQueue(2, on_book_drop=lambda m: pytest.fail("no book should be dropped"))
    q.put(book(1, -1, action="snapshot"))
    q.put(book(2, 1))
    assert q.put(trade(3)) is False
    assert len(drain(q)) == 2 and q.stats.dropped == {"trades": 1}


def test_dropped_book_update_invalidates_that_book_and_resyncs_it_once():
    resyncs = []
    keeper = BookKeeper(on_resync=lambda c, i, r: resyncs.append((c, i, r)))
    q = EventQueue(2, on_book_drop=lambda m: keeper.invalidate(m.channel, m.inst_id, "update dropped from a full queue"))
    keeper.apply(book(1, -1, action="snapshot"))
    assert keeper.get("books", "BTC-USDT") is not None
    q.put(book(2, 1))
    q.put(book(3, 2))
    q.put(book(4, 3))  # full: update 2 is dropped
    q.put(book(5, 4))  # full again: update 3 is dropped, the resync is already in flight
    assert keeper.get("books", "BTC-USDT") is None, "a book that lost an update must not be served"
    assert len(resyncs) == 1 and resyncs[0][:2] == ("books", "BTC-USDT")
    assert q.stats.books_invalidated == 2 and q.stats.dropped == {"books": 2}
    for ev in drain(q):  # the survivors do not chain: ignored until the new snapshot
        keeper.apply(ev)
    assert keeper.get("books", "BTC-USDT") is None
    keeper.apply(book(9, -1, action="snapshot"))
    assert keeper.get("books", "BTC-USDT") is not None


def test_private_pushes_are_never_dropped():
    q = EventQueue(2, on_book_drop=lambda m: None)
    for i in range(5):
        q.put(private(i))
    assert [e.data[0]["ordId"] for e in drain(q)] == ["0", "1", "2", "3", "4"]
    assert q.stats.overflow == 3 and not q.stats.dropped


@settings(deadline=None)
@given(st.lists(st.sampled_from(["trade", "book", "private", "ticker"]), max_size=200), st.integers(1, 20))
def test_policy_invariants(kinds, maxsize):
    invalidated = []
    q = EventQueue(maxsize, on_book_drop=lambda m: invalidated.append(m.inst_id))
    made = {"trade": trade, "book": lambda i: book(i, i - 1), "private": private, "ticker": ticker}
    sent = [made[k](i) for i, k in enumerate(kinds)]
    for e in sent:
        before = len(invalidated)
        market_queued = len(q._market)
        q.put(e)
        if len(invalidated) > before:  # a book went only when no market event could
            assert market_queued == 0 and not isinstance(e, (Trade, Ticker))
        assert len(q) <= maxsize + sum(isinstance(x, PrivatePush) for x in sent)
    out = drain(q)
    # order is preserved and nothing is invented
    idx = [sent.index(e) for e in out]
    assert idx == sorted(idx)
    # every private push survives; every missing book update invalidated its book
    assert sum(isinstance(e, PrivatePush) for e in out) == kinds.count("private")
    missing_books = kinds.count("book") - sum(isinstance(e, BookMsg) for e in out)
    assert len(invalidated) == missing_books == q.stats.books_invalidated
    assert sum(q.stats.dropped.values()) == len(sent) - len(out)


async def test_get_waits_for_put_and_close_ends_the_stream():
    q = EventQueue(10)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.put(trade(1))
    assert (await getter).trade_id == "1"
    q.put(trade(2))
    q.close()
    assert (await q.get()).trade_id == "2"
    with pytest.raises(QueueClosed):
        await q.get()


async def test_a_second_consumer_does_not_orphan_the_first_and_close_wakes_both():
    """One waiter slot: a second get() replaced the first's future, which no put or close ever woke."""
    q = EventQueue(10)
    first = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.put(trade(1))
    q.put(trade(2))
    done, _ = await asyncio.wait({first, second}, timeout=5)
    assert {t.result().trade_id for t in done} == {"1", "2"}
    a, b = asyncio.create_task(q.get()), asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.close()
    results = await asyncio.wait_for(asyncio.gather(a, b, return_exceptions=True), 5)
    assert all(isinstance(r, QueueClosed) for r in results)


async def test_a_cancelled_waiter_leaves_no_trace_and_the_next_one_is_woken():
    q = EventQueue(10)
    gone = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    waiting = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.put(trade(7))
    assert (await asyncio.wait_for(waiting, 5)).trade_id == "7"


def test_put_after_close_is_refused_and_counted():
    q = EventQueue(10)
    q.put(trade(1))
    q.close()
    assert q.put(trade(2)) is False and q.put(private(3)) is False
    assert q.stats.after_close == 2 and q.stats.put == 1
    assert [e.trade_id for e in drain(q)] == ["1"]
