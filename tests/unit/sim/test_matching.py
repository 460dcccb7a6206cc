"""Price-time priority and queue positions in hftlab.sim.matching."""

from __future__ import annotations

import numpy as np

from hftlab.sim.matching import BUY, SELL, Book, QuoteDemand, Resting, SizeDemand


def _book_with_bid(idx: int, lots: int, orders: int) -> Book:
    book = Book(centre=1000, width=256)
    book.bids.sz[idx - book.bids.base] = lots
    book.bids.cnt[idx - book.bids.base] = orders
    book.bids.top = idx
    book.asks.top = idx + 1
    return book


def _agent(book: Book, side: str, idx: int, lots: int, account: str = "a", ord_id: int = 1) -> Resting:
    o = Resting(ord_id, account, side, idx, lots)
    book.side(side).add_agent(o)
    return o


def test_agent_limit_fills_only_after_the_size_ahead_of_it_trades():
    book = _book_with_bid(995, 100, 4)
    o = _agent(book, BUY, 995, 10)
    assert o.ahead == 100
    book.bids.add_sim(np.array([995 - book.bids.base]), np.array([50]))    # arrives behind the agent
    assert o.ahead == 100

    fills = book.take(SELL, SizeDemand(60))
    assert [(f.idx, f.sim_lots, f.agent) for f in fills] == [(995, 60, [])]
    assert (o.rem, o.ahead) == (10, 40)

    fills = book.take(SELL, SizeDemand(45))
    assert fills[0].sim_lots == 40 and fills[0].agent == [(o, 5)]
    assert (o.rem, o.ahead) == (5, 0)

    fills = book.take(SELL, SizeDemand(20))
    assert fills[0].agent == [(o, 5)] and fills[0].sim_lots == 15
    assert 995 not in book.bids.agents
    assert book.bids.sim_size(995) == 150 - 60 - 40 - 15


def test_two_agents_queue_in_time_order():
    book = _book_with_bid(995, 30, 1)
    first = _agent(book, BUY, 995, 5, "a", 1)
    book.bids.add_sim(np.array([995 - book.bids.base]), np.array([20]))
    second = _agent(book, BUY, 995, 5, "b", 2)
    assert (first.ahead, second.ahead) == (30, 50)
    fills = book.take(SELL, SizeDemand(40))
    assert fills[0].agent == [(first, 5)] and fills[0].sim_lots == 35
    assert second.ahead == 15 and second.rem == 5


def test_cancels_at_a_level_shorten_the_queue_ahead_proportionally():
    book = _book_with_bid(995, 100, 4)
    o = _agent(book, BUY, 995, 10)
    book.bids.cancel_sim(np.array([995 - book.bids.base]))     # one average order: 25 lots
    assert book.bids.sim_size(995) == 75 and book.bids.cnt[995 - book.bids.base] == 3
    assert o.ahead == 75
    book.bids.cancel_sim(np.array([995 - book.bids.base] * 5))  # more cancels than orders: level empties
    assert book.bids.sim_size(995) == 0 and book.bids.cnt[995 - book.bids.base] == 0
    assert o.ahead == 0


def test_clearing_a_level_puts_agents_at_the_front():
    book = _book_with_bid(995, 100, 4)
    o = _agent(book, BUY, 995, 10)
    book.bids.clear_sim(990, 1000)
    assert o.ahead == 0
    fills = book.take(SELL, SizeDemand(3))
    assert fills[0].agent == [(o, 3)]


def test_taker_walks_prices_best_first_and_stops_at_its_limit():
    book = Book(centre=1000, width=256)
    for idx, lots in ((1001, 5), (1002, 7), (1004, 9)):
        book.asks.sz[idx - book.asks.base] = lots
        book.asks.cnt[idx - book.asks.base] = 1
    book.asks.top = 1001
    fills = book.take(BUY, SizeDemand(100), limit=1002)
    assert [(f.idx, f.lots) for f in fills] == [(1001, 5), (1002, 7)]
    assert book.best_ask() == 1004
    assert book.asks.cnt[1001 - book.asks.base] == 0


def test_quote_demand_buys_what_the_budget_affords():
    book = Book(centre=1000, width=256)
    book.asks.sz[1001 - book.asks.base] = 3
    book.asks.sz[1002 - book.asks.base] = 100
    book.asks.cnt[[1001 - book.asks.base, 1002 - book.asks.base]] = 1
    book.asks.top = 1001
    d = QuoteDemand(10_000, lambda idx: idx)            # one lot costs its tick index
    fills = book.take(BUY, d)
    assert [(f.idx, f.lots) for f in fills] == [(1001, 3), (1002, (10_000 - 3003) // 1002)]
    assert 0 <= d.left < 1002


def test_self_trade_cancels_the_resting_order_instead_of_trading():
    book = Book(centre=1000, width=256)
    book.asks.top = 1001
    mine = _agent(book, SELL, 1001, 5, "me", 1)
    theirs = _agent(book, SELL, 1001, 5, "other", 2)
    cancelled = []

    def stp(o):
        cancelled.append(o)
        book.asks.remove_agent(o)

    fills = book.take(BUY, SizeDemand(8), taker="me", on_self_trade=stp)
    assert cancelled == [mine]
    assert fills[0].agent == [(theirs, 5)]
    assert not book.asks.agents


def test_levels_merge_simulated_and_agent_size_and_counts():
    book = _book_with_bid(995, 100, 4)
    _agent(book, BUY, 995, 10)
    _agent(book, BUY, 997, 3, ord_id=2)             # inside the spread, above the simulated top
    idx, sz, cnt = book.bids.levels(5)
    assert idx.tolist() == [997, 995] and sz.tolist() == [3, 110] and cnt.tolist() == [1, 5]
    assert book.best_bid() == 997


def test_liquidity_excludes_the_takers_own_orders():
    book = _book_with_bid(995, 100, 4)
    _agent(book, BUY, 995, 10, "me")
    assert list(book.liquidity(SELL, None, "me")) == [(995, 100)]
    assert list(book.liquidity(SELL, None, "other")) == [(995, 110)]
    assert list(book.liquidity(SELL, 996, "other")) == []


def test_recentre_keeps_levels_inside_the_new_window_and_drops_the_rest():
    book = Book(centre=1000, width=256)
    for idx in (900, 1000, 1100):
        book.bids.sz[idx - book.bids.base] = 7
    book.recentre_if_needed(1200)           # beyond 3/4 of the window: shifts
    nz = (np.flatnonzero(book.bids.sz) + book.bids.base).tolist()
    assert nz == [1100]
    assert book.bids.base == 1200 - 128
