"""Public views: book levels and changes, trades, candles and the ticker, formatted as OKX sends them."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from hftlab.sim import views
from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import default_instruments
from hftlab.sim.market import Market


def _market(seed: int = 1) -> Market:
    inst = {i.inst_id: i for i in default_instruments()}["ETH-USDT"]
    return Market(inst, np.random.Generator(np.random.PCG64(seed)), 0.0, 0)


def test_book_changes_start_with_the_window_and_then_send_only_what_changed():
    m = _market()
    changes = views.BookChanges()
    assert changes.take(m) == views.book_levels(m)                 # nothing published yet: the whole window
    assert changes.take(m) == ([], [])                             # nothing changed since
    assert views.BookChanges().take(m) == views.book_levels(m)     # each publisher keeps its own record
    before = views.book_levels(m)
    m.step(m.step_ms, 0)
    bids, asks = changes.take(m)
    after = views.book_levels(m)
    assert bids or asks
    for old, new, got in ((before[0], after[0], bids), (before[1], after[1], asks)):
        want = {p: (s, n) for p, s, n in new if (p, s, n) not in set(old)}
        want |= {p: ("0", 0) for p, _, _ in old if p not in {q for q, _, _ in new}}
        assert {p: (s, n) for p, s, n in got} == want
    assert [Decimal(p) for p, _, _ in bids] == sorted((Decimal(p) for p, _, _ in bids), reverse=True)
    assert [Decimal(p) for p, _, _ in asks] == sorted(Decimal(p) for p, _, _ in asks)


def test_recent_trades_and_candles_of_a_market():
    m = _market(2)
    for k in range(1, 301):
        m.step(k * m.step_ms, (k - 1) * m.step_ms)
    tape = m.tape.take()
    assert tape and views.recent_trades(m, 10_000) == tape[::-1]
    assert views.recent_trades(m, 3) == tape[::-1][:3]
    assert views.candles(m, "1s", limit=2) == m.tape.candles("1s", 2, None, None)
    with pytest.raises(ValueError, match="unsupported bar '7m'; supported: 1s, 1m"):
        views.candles(m, "7m")
    t = views.ticker(m, 123)
    assert t["ts"] == "123" and t["last"] == tape[-1].px and t["instId"] == "ETH-USDT"


def test_book_levels_are_formatted_as_okx_sends_them(okx_number):
    ex = SimExchange(seed=4)
    ex.advance_to(ex.now_ms + 5_000)
    for inst_id, inst in ex.instruments.items():
        bids, asks = ex.book_levels(inst_id)
        assert len(bids) == len(asks) == 400
        px_dec = len(inst.tick_sz.split(".")[1]) if "." in inst.tick_sz else 0
        sz_dec = len(inst.lot_sz.split(".")[1]) if "." in inst.lot_sz else 0
        for px, sz, n in bids + asks:
            assert okx_number.match(px) and okx_number.match(sz) and "e" not in px + sz
            assert len(px.partition(".")[2]) <= px_dec and len(sz.partition(".")[2]) <= sz_dec
            assert Decimal(sz) > 0 and isinstance(n, int) and n >= 1
        assert [Decimal(p) for p, _, _ in bids] == sorted((Decimal(p) for p, _, _ in bids), reverse=True)
        assert [Decimal(p) for p, _, _ in asks] == sorted(Decimal(p) for p, _, _ in asks)
        assert Decimal(bids[0][0]) < Decimal(asks[0][0])


def test_book_changes_rebuild_the_400_level_window():
    ex = SimExchange(seed=5)
    local: dict[str, dict[str, dict[str, tuple[str, int]]]] = {}
    for step in range(120):
        ex.advance_to(ex.now_ms + 100)
        if step % 17 == 3:     # agents add and remove liquidity in between
            bids = ex.book_levels("ETH-USDT", 3)[0]
            ex.place_order("k", {"instId": "ETH-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                                 "px": bids[2][0], "sz": "0.5"})
        if step % 29 == 11:
            for o in ex.pending_orders("k"):
                ex.cancel_order("k", "ETH-USDT", ord_id=o["ordId"])
        for inst_id in ("BTC-USDT", "ETH-USDT"):
            book = local.setdefault(inst_id, {"bids": {}, "asks": {}})
            for side, changes in zip(("bids", "asks"), ex.take_book_changes(inst_id)):
                for px, sz, n in changes:
                    if sz == "0":
                        book[side].pop(px, None)
                    else:
                        book[side][px] = (sz, n)
            bids, asks = ex.book_levels(inst_id)
            assert book["bids"] == {p: (s, n) for p, s, n in bids}
            assert book["asks"] == {p: (s, n) for p, s, n in asks}


def test_trades_candles_and_ticker_agree():
    ex = SimExchange(seed=6)
    trades = []
    for _ in range(130):
        ex.advance_to(ex.now_ms + 1000)
        trades += ex.take_trades("BTC-USDT")
    assert len(trades) > 100
    ids = [int(t.trade_id) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [t.ts_ms for t in trades] == sorted(t.ts_ms for t in trades)
    assert {t.side for t in trades} == {"buy", "sell"} and all(t.count >= 1 for t in trades)
    assert ex.recent_trades("BTC-USDT", 5) == trades[::-1][:5]

    rows = ex.candles("BTC-USDT", "1m", limit=10)
    assert [r[8] for r in rows] == ["0", "1", "1"]          # newest first: the forming bar, two closed
    assert [int(r[0]) for r in rows] == [ex.now_ms // 60000 * 60000 - k * 60000 for k in range(3)]
    vol = sum(Decimal(r[5]) for r in rows)
    assert vol == sum(Decimal(t.sz) for t in trades)
    quote = sum(Decimal(r[7]) for r in rows)
    assert quote == sum(Decimal(t.px) * Decimal(t.sz) for t in trades)
    assert rows[0][4] == trades[-1].px
    for r in rows:
        o, h, lo, c = map(Decimal, r[1:5])
        assert lo <= min(o, c) and h >= max(o, c)
    secs = ex.candles("BTC-USDT", "1s", limit=300)
    assert len(secs) == 131 and sum(Decimal(r[5]) for r in secs) == vol
    assert ex.candles("BTC-USDT", "1s", limit=5, after=int(secs[0][0]))[0] == secs[1]
    assert ex.candles("BTC-USDT", "1s", limit=300, before=int(secs[3][0])) == secs[:3]
    with pytest.raises(ValueError, match="unsupported bar"):
        ex.candles("BTC-USDT", "7m")

    tick = ex.ticker("BTC-USDT")
    bids, asks = ex.book_levels("BTC-USDT", 1)
    assert (tick["bidPx"], tick["bidSz"], tick["askPx"], tick["askSz"]) == (*bids[0][:2], *asks[0][:2])
    assert (tick["last"], tick["lastSz"]) == (trades[-1].px, trades[-1].sz)
    assert Decimal(tick["vol24h"]) == vol
    assert tick["open24h"] == tick["sodUtc0"] == tick["sodUtc8"] == trades[0].px     # the day began with the sim
    assert Decimal(tick["low24h"]) <= Decimal(tick["last"]) <= Decimal(tick["high24h"])
    assert tick["ts"] == str(ex.now_ms) and tick["instType"] == "SPOT"
