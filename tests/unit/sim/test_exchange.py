"""SimExchange: OKX order semantics, sCodes, records, public data, determinism."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import Instrument, MarketProfile, default_instruments

# A market that stands still: no drift, no flow. Its book is the seeded one: bid 99.9, ask 100.1.
STILL = MarketProfile(start_px=100.0, vol_annual=0.0, revert_std=0.0, limit_rate=0.0, market_rate=0.0,
                      market_branching=0.0, order_notional=100.0, half_spread_ticks=0.5)
TST = Instrument("TST-USDT", 77, "SPOT", "TST", "USDT", "0.1", "0.001", "0.01", STILL)
BALANCES = {"USDT": "10000", "TST": "100"}
ORDER_FIELDS = ("instType instId ordId clOrdId tag px sz ordType side posSide tdMode tgtCcy state accFillSz avgPx "
                "fillPx fillSz fillTime tradeId fillFee fillFeeCcy fillPnl execType fee feeCcy rebate rebateCcy pnl "
                "lever reduceOnly source cancelSource amendResult amendSource reqId category stpMode code msg cTime "
                "uTime lastPx attachAlgoOrds algoId algoClOrdId").split()
NUM = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")


def still(**kw) -> SimExchange:
    return SimExchange([TST], seed=3, initial_balances=BALANCES, **kw)


def order(ex: SimExchange, account: str = "k", **req) -> dict:
    base = {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99.9", "sz": "1"}
    return ex.place_order(account, {**base, **req})


def orders_of(events) -> list[dict]:
    return [r for ch, r in events if ch == "orders"]


def touch(ex: SimExchange, inst_id: str = "TST-USDT") -> tuple[Decimal, Decimal, Decimal, Decimal]:
    bids, asks = ex.book_levels(inst_id, 1)
    return Decimal(bids[0][0]), Decimal(bids[0][1]), Decimal(asks[0][0]), Decimal(asks[0][1])


# --- instruments ---------------------------------------------------------------------------------
def test_instrument_records_have_the_okx_shape_and_real_sizes(shared_data):
    doc = json.loads((shared_data / "okx/fixtures/docs_examples/rest_get_public_instruments.json").read_text())
    ref = doc["examples"][0]["json"]["data"][0]
    real = json.loads((shared_data / "okx/okx_v5_rest_instruments_2021-07-22_2022-02-27_2022-05-13.json").read_text())
    spot_2022 = real["2022-05-13"]
    for inst in default_instruments():
        rec = inst.to_okx()
        assert set(rec) == set(ref)
        assert isinstance(rec["instIdCode"], int)
        for k, v in rec.items():
            assert type(v) is type(ref[k]), k
        if inst.inst_type == "SPOT":
            assert {k: rec[k] for k in ("tickSz", "lotSz", "minSz")} == \
                {k: spot_2022[inst.inst_id][k] for k in ("tickSz", "lotSz", "minSz")}
    swap = SimExchange().instruments["BTC-USDT-SWAP"].to_okx()
    assert (swap["ctVal"], swap["lotSz"], swap["minSz"], swap["settleCcy"], swap["baseCcy"]) == \
        ("0.01", "0.01", "0.01", "USDT", "")


def test_lookup_by_instidcode_and_ws_style_orders():
    ex = still()
    assert ex.by_code[77] is ex.instruments["TST-USDT"]
    ack = ex.place_order("k", {"instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "limit",
                               "px": "99", "sz": "1"})
    assert ack["sCode"] == "0" and ack["ordId"].isdigit()


# --- rejections ----------------------------------------------------------------------------------
@pytest.mark.parametrize("req,code,msg", [
    ({"clOrdId": "has-hyphen"}, "51000", "Parameter clOrdId error"),
    ({"clOrdId": "a" * 33}, "51000", "Parameter clOrdId error"),
    ({"tag": "x" * 17}, "51000", "Parameter tag error"),
    ({"side": "long"}, "51000", "Parameter side error"),
    ({"ordType": "stop"}, "51000", "Parameter ordType error"),
    ({"tdMode": "cross"}, "51000", "Parameter tdMode error"),
    ({"px": ""}, "51000", "Parameter px error"),
    ({"px": "-1"}, "51000", "Parameter px error"),
    ({"px": "99.95"}, "51000", "Parameter px error"),          # off the 0.1 tick
    ({"sz": "abc"}, "51000", "Parameter sz error"),
    ({"sz": "0"}, "51000", "Parameter sz error"),
    ({"posSide": "long"}, "51000", "Parameter posSide error"),
    ({"tgtCcy": "quote_ccy"}, "51000", "Parameter tgtCcy error"),   # only for market orders
    ({"reduceOnly": "maybe"}, "51000", "Parameter reduceOnly error"),
    ({"side": ""}, "50014", "Parameter side can not be empty."),
    ({"instId": "NOPE-USDT"}, "51001", None),
    ({"px": "200"}, "51006", "Order price is not within the price limit (max buy price: 105 , min sell price: 95 )"),
    ({"sz": "1000"}, "51008", "Order failed. Insufficient USDT balance in account"),
    ({"side": "sell", "px": "100.1", "sz": "101"}, "51008", "Order failed. Insufficient TST balance in account"),
    ({"sz": "0.005"}, "51020", None),
    ({"sz": "1.0005"}, "51121", "Order quantity must be a multiple of the lot size."),
])
def test_every_rejection_has_okx_scode(req, code, msg):
    ex = still()
    ack = order(ex, **req)
    assert ack["sCode"] == code, ack
    assert ack["ordId"] == ""
    if msg:
        assert ack["sMsg"] == msg
    assert ex.take_private_events("k") == []


def test_duplicate_clordid_only_among_pending_orders():
    ex = still()
    assert order(ex, clOrdId="A1")["sCode"] == "0"
    assert order(ex, clOrdId="A1")["sCode"] == "51016"
    assert ex.cancel_order("k", "TST-USDT", cl_ord_id="A1")["sCode"] == "0"
    assert order(ex, clOrdId="A1")["sCode"] == "0"       # reusable once the first is done
    assert order(ex, "other", clOrdId="A1")["sCode"] == "0"   # per account


def test_reduce_only_swap_order_without_position():
    ex = SimExchange(seed=1)
    ack = ex.place_order("k", {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market",
                               "sz": "1", "reduceOnly": True})
    assert ack["sCode"] == "51169"


def test_cancel_and_amend_errors():
    ex = still()
    ord_id = order(ex)["ordId"]
    assert ex.cancel_order("k", "TST-USDT")["sCode"] == "51003"
    assert ex.cancel_order("k", "TST-USDT", ord_id="123")["sCode"] == "51400"
    assert ex.cancel_order("k", "NOPE-USDT", ord_id=ord_id)["sCode"] == "51001"
    assert ex.cancel_order("other", "TST-USDT", ord_id=ord_id)["sCode"] == "51400"   # not theirs
    assert ex.amend_order("k", "TST-USDT", ord_id="123", new_sz="2")["sCode"] == "51603"
    assert ex.amend_order("k", "TST-USDT", ord_id=ord_id)["sCode"] == "50015"
    assert ex.amend_order("k", "TST-USDT", ord_id=ord_id, new_sz="0.0001")["sCode"] == "51121"
    assert ex.amend_order("k", "TST-USDT", ord_id=ord_id, new_px="99.93")["sCode"] == "51000"
    assert ex.amend_order("k", "TST-USDT", ord_id=ord_id, new_sz="1000")["sCode"] == "51008"
    ok = ex.cancel_order("k", "TST-USDT", ord_id=ord_id)
    assert ok["sCode"] == "0" and ok["ordId"] == ord_id
    assert ex.cancel_order("k", "TST-USDT", ord_id=ord_id)["sCode"] == "51400"
    assert ex.amend_order("k", "TST-USDT", ord_id=ord_id, new_sz="2")["sCode"] == "51503"
    po = order(ex, ordType="post_only", px="99.8")["ordId"]
    assert ex.amend_order("k", "TST-USDT", ord_id=po, new_px="100.1")["sCode"] == "51511"


# --- order types ---------------------------------------------------------------------------------
def test_post_only_that_would_take_is_accepted_then_cancelled():
    ex = still()
    ack = order(ex, ordType="post_only", px="100.1")
    assert ack["sCode"] == "0"
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["ordId"], rec["state"], rec["cancelSource"], rec["accFillSz"]) == (ack["ordId"], "canceled", "31", "0")
    assert ex.balances("k")["details"][1]["frozenBal"] == "0"
    ack = order(ex, ordType="post_only", px="100")             # inside the spread: rests as the best bid
    assert orders_of(ex.take_private_events("k"))[0]["state"] == "live"
    assert touch(ex)[0] == Decimal("100")


def test_ioc_fills_what_it_can_and_cancels_the_rest():
    ex = still()
    _, _, ask, ask_sz = touch(ex)
    ack = order(ex, ordType="ioc", px=str(ask), sz=str(ask_sz + 5))
    recs = orders_of(ex.take_private_events("k"))
    fills = [r for r in recs if r["tradeId"]]
    assert sum(Decimal(r["fillSz"]) for r in fills) == ask_sz
    assert all(r["execType"] == "T" and r["fillPx"] == str(ask) for r in fills)
    assert (recs[-1]["state"], recs[-1]["cancelSource"], recs[-1]["ordId"]) == ("canceled", "14", ack["ordId"])
    assert ex.pending_orders("k") == []


def test_fok_is_all_or_nothing():
    ex = still()
    _, _, ask, ask_sz = touch(ex)
    before = ex.book_levels("TST-USDT")
    order(ex, ordType="fok", px=str(ask), sz=str(ask_sz + Decimal("0.001")))
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["state"], rec["cancelSource"], rec["accFillSz"]) == ("canceled", "13", "0")
    assert ex.book_levels("TST-USDT") == before
    order(ex, ordType="fok", px=str(ask), sz=str(ask_sz))
    recs = orders_of(ex.take_private_events("k"))
    assert recs[-1]["state"] == "filled" and Decimal(recs[-1]["accFillSz"]) == ask_sz


def test_marketable_limit_sweeps_levels_then_rests_the_remainder():
    ex = still()
    asks = ex.book_levels("TST-USDT", 3)[1]
    px = asks[1][0]
    want = Decimal(asks[0][1]) + Decimal(asks[1][1]) + 2
    ack = order(ex, px=px, sz=str(want))
    recs = orders_of(ex.take_private_events("k"))
    assert [r["fillPx"] for r in recs] == [asks[0][0], asks[1][0]]
    assert [r["state"] for r in recs] == ["partially_filled", "partially_filled"]
    assert Decimal(recs[-1]["accFillSz"]) == want - 2
    notional = sum(Decimal(r["fillPx"]) * Decimal(r["fillSz"]) for r in recs)
    assert Decimal(recs[-1]["avgPx"]) == (notional / (want - 2)).quantize(Decimal("1e-10")).normalize()
    bids = ex.book_levels("TST-USDT", 1)[0]
    assert bids[0][:2] == (px, "2")                        # the remainder is now the best bid
    [pending] = ex.pending_orders("k")
    assert pending["ordId"] == ack["ordId"] and pending["state"] == "partially_filled"


def test_market_buy_is_sized_in_quote_unless_tgtccy_base():
    ex = still()
    _, _, ask, _ = touch(ex)
    order(ex, ordType="market", px="", sz="50")
    recs = orders_of(ex.take_private_events("k"))
    spent = sum(Decimal(r["fillPx"]) * Decimal(r["fillSz"]) for r in recs if r["tradeId"])
    assert Decimal("49.9") < spent <= 50
    assert recs[-1]["state"] == "filled" and recs[-1]["sz"] == "50" and recs[-1]["px"] == ""
    order(ex, ordType="market", px="", sz="0.3", tgtCcy="base_ccy")
    recs = orders_of(ex.take_private_events("k"))
    assert recs[-1]["state"] == "filled" and recs[-1]["accFillSz"] == "0.3"
    order(ex, ordType="market", px="", side="sell", sz="0.2")          # sells are in base
    recs = orders_of(ex.take_private_events("k"))
    assert recs[-1]["accFillSz"] == "0.2" and recs[-1]["fillPx"] == "99.9"


def test_fees_taker_and_maker_with_okx_sign():
    ex = still(maker_fee=-0.0008, taker_fee=-0.001)
    _, _, ask, _ = touch(ex)
    order(ex, px=str(ask), sz="1")                  # takes: fee in the received currency (TST)
    fill = orders_of(ex.take_private_events("k"))[-1]
    assert (fill["execType"], fill["fillFee"], fill["fillFeeCcy"]) == ("T", "-0.001", "TST")
    bal = {d["ccy"]: d for d in ex.balances("k")["details"]}
    assert bal["TST"]["cashBal"] == "100.999"
    assert Decimal(bal["USDT"]["cashBal"]) == 10000 - ask

    # a maker: another account's taker order trades against our resting ask
    order(ex, side="sell", px="100", sz="2")
    ex.take_private_events("k")
    order(ex, "taker", px="100", sz="2")
    [maker] = [r for r in orders_of(ex.take_private_events("k")) if r["tradeId"]]
    assert (maker["execType"], maker["fillFee"], maker["fillFeeCcy"]) == ("M", "-0.16", "USDT")
    taker = [r for r in orders_of(ex.take_private_events("taker")) if r["tradeId"]]
    assert taker[-1]["tradeId"] == maker["tradeId"] and taker[-1]["fillFee"] == "-0.002"
    bal = {d["ccy"]: d for d in ex.balances("k")["details"]}
    assert Decimal(bal["USDT"]["cashBal"]) == 10000 - ask + 200 - Decimal("0.16")


def test_self_trade_cancels_own_resting_order():
    ex = still()
    rest = order(ex, side="sell", px="100", sz="1")["ordId"]
    order(ex, px="100", sz="1")
    recs = orders_of(ex.take_private_events("k"))
    cancelled = [r for r in recs if r["ordId"] == rest and r["state"] == "canceled"]
    assert cancelled and cancelled[0]["cancelSource"] == "32"
    assert all(r["tradeId"] == "" for r in recs if r["ordId"] == rest)


def test_resting_order_fills_from_simulated_flow_after_its_queue():
    """With market orders but no limit flow, an agent bid at the touch fills only after the size
    that was queued ahead of it has traded (plus its own fill) at that price."""
    prof = MarketProfile(start_px=100.0, vol_annual=0.0, revert_std=0.0, limit_rate=0.0, market_rate=8.0,
                         market_branching=0.3, order_notional=100.0, market_notional=40.0, half_spread_ticks=0.5)
    inst = Instrument("Q-USDT", 5, "SPOT", "Q", "USDT", "0.1", "0.001", "0.01", prof)
    ex = SimExchange([inst], seed=11, initial_balances={"USDT": "100000", "Q": "0"})
    bid, bid_sz, _, _ = touch(ex, "Q-USDT")
    ex.place_order("k", {"instId": "Q-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                         "px": str(bid), "sz": "0.5"})
    ex.take_private_events("k")
    sold_before, t = Decimal(0), ex.now_ms
    first_fill = None
    while first_fill is None and t < ex.now_ms + 3_600_000:
        t += 1000
        ex.advance_to(t)
        trades = ex.take_trades("Q-USDT")
        fills = [r for r in orders_of(ex.take_private_events("k")) if r["tradeId"]]
        for tr in trades:
            if tr.side == "sell" and Decimal(tr.px) == bid:
                if fills and tr.trade_id == fills[0]["tradeId"]:
                    first_fill = (tr, fills[0])
                    break
                sold_before += Decimal(tr.sz)
    assert first_fill is not None, "the bid never filled"
    tr, fill = first_fill
    assert fill["execType"] == "M" and Decimal(fill["fillFee"]) == Decimal(fill["fillSz"]) * Decimal("-0.0008")
    # everything queued ahead traded first: in earlier trades, or in this message before our fill
    assert sold_before + Decimal(tr.sz) - Decimal(fill["fillSz"]) >= bid_sz
    assert sold_before < bid_sz


def test_amend_size_down_keeps_priority_price_change_requeues():
    ex = still()
    oid = order(ex, px="99.9", sz="3")["ordId"]
    ex.take_private_events("k")
    o = ex.orders[int(oid)]
    ahead = o.resting.ahead
    assert ahead > 0
    ack = ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz="2", req_id="r1")
    assert ack["sCode"] == "0" and ack["reqId"] == "r1"
    assert o.resting.ahead == ahead and o.resting.rem == 2000
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["amendResult"], rec["reqId"], rec["sz"]) == ("0", "r1", "2")
    ex.amend_order("k", "TST-USDT", ord_id=oid, new_px="99.8")
    assert o.resting.idx == 998
    _, _, ask, ask_sz = touch(ex)
    ex.amend_order("k", "TST-USDT", ord_id=oid, new_px=str(ask))          # now marketable: trades
    recs = orders_of(ex.take_private_events("k"))
    assert recs[-1]["state"] == "filled" and recs[-1]["fillPx"] == str(ask)
    frozen = {d["ccy"]: d["frozenBal"] for d in ex.balances("k")["details"]}
    assert frozen == {"TST": "0", "USDT": "0"}


def test_order_records_carry_every_documented_field(shared_data):
    doc = json.loads((shared_data / "okx/fixtures/docs_examples/ws_orders_channel.json").read_text())
    ref = doc["examples"][-1]["json"]["data"][0]
    ex = still()
    oid = order(ex, clOrdId="c1", tag="t1")["ordId"]
    rec = ex.get_order("k", "TST-USDT", ord_id=oid)
    assert set(rec) >= set(ref) | set(ORDER_FIELDS)
    assert ex.get_order("k", "TST-USDT", cl_ord_id="c1") == rec
    assert ex.get_order("k", "TST-USDT", ord_id="1") is None
    assert (rec["clOrdId"], rec["tag"], rec["state"], rec["px"], rec["sz"], rec["tdMode"]) == \
        ("c1", "t1", "live", "99.9", "1", "cash")
    for k in ("accFillSz", "avgPx", "fee", "pnl", "cTime", "uTime", "ordId"):
        assert NUM.match(rec[k].lstrip("-")), (k, rec[k])


# --- accounts, positions -------------------------------------------------------------------------
def test_balances_freeze_for_open_orders_and_release_on_cancel():
    ex = still()
    oid = order(ex, px="99", sz="2")["ordId"]
    usdt = {d["ccy"]: d for d in ex.balances("k")["details"]}["USDT"]
    assert (usdt["cashBal"], usdt["frozenBal"], usdt["ordFrozen"], usdt["availBal"]) == ("10000", "198", "198", "9802")
    ex.take_private_events("k")
    ex.cancel_order("k", "TST-USDT", ord_id=oid)
    events = ex.take_private_events("k")
    assert [ch for ch, _ in events] == ["orders", "account"]
    assert events[0][1]["cancelSource"] == "1"
    [usdt] = events[1][1]["details"]
    assert (usdt["ccy"], usdt["frozenBal"], usdt["availBal"]) == ("USDT", "0", "10000")


def test_swap_net_position_pnl_and_position_pushes():
    ex = SimExchange(seed=2)
    swap = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "ordType": "market"}
    assert ex.place_order("k", {**swap, "side": "buy", "sz": "3"})["sCode"] == "0"
    events = ex.take_private_events("k")
    fills = [r for ch, r in events if ch == "orders" and r["tradeId"]]
    [pos] = [r for ch, r in events if ch == "positions"]
    cost = sum(Decimal(f["fillPx"]) * Decimal(f["fillSz"]) for f in fills)
    assert pos["pos"] == "3" and Decimal(pos["avgPx"]) == cost / 3
    assert pos["posSide"] == "net" and pos["mgnMode"] == "cross"
    ex.advance_to(ex.now_ms + 30_000)
    ex.take_private_events("k")
    assert ex.place_order("k", {**swap, "side": "sell", "sz": "1", "reduceOnly": "true"})["sCode"] == "0"
    events = ex.take_private_events("k")
    [sell] = [r for ch, r in events if ch == "orders" and r["tradeId"]]
    [pos] = [r for ch, r in events if ch == "positions"]
    expect_pnl = (Decimal(sell["fillPx"]) - cost / 3) * Decimal("0.01")
    assert pos["pos"] == "2" and Decimal(pos["pnl"]) == expect_pnl == Decimal(sell["fillPnl"])
    assert Decimal(pos["realizedPnl"]) == expect_pnl + Decimal(pos["fee"])
    ex.place_order("k", {**swap, "side": "sell", "sz": "2"})
    assert ex.positions("k") == []
    [pos] = [r for ch, r in ex.take_private_events("k") if ch == "positions"]
    assert pos["pos"] == "0"


# --- public data ---------------------------------------------------------------------------------
def test_book_levels_are_formatted_as_okx_sends_them():
    ex = SimExchange(seed=4)
    ex.advance_to(ex.now_ms + 5_000)
    for inst_id, inst in ex.instruments.items():
        bids, asks = ex.book_levels(inst_id)
        assert len(bids) == len(asks) == 400
        px_dec = len(inst.tick_sz.split(".")[1]) if "." in inst.tick_sz else 0
        sz_dec = len(inst.lot_sz.split(".")[1]) if "." in inst.lot_sz else 0
        for px, sz, n in bids + asks:
            assert NUM.match(px) and NUM.match(sz) and "e" not in px + sz
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


# --- determinism ---------------------------------------------------------------------------------
def _session(seed: int) -> tuple:
    ex = SimExchange(seed=seed)
    out = []
    for k in range(40):
        ex.advance_to(ex.now_ms + 250)
        if k % 5 == 0:
            bids, asks = ex.book_levels("BTC-USDT", 3)
            ex.place_order("a", {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                                 "px": bids[1][0], "sz": "0.01", "clOrdId": f"c{k}"})
            ex.place_order("b", {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell",
                                 "ordType": "market", "sz": "0.5"})
        if k % 7 == 0:
            ex.cancel_order("a", "BTC-USDT", cl_ord_id=f"c{k - 5}")
        out.append([ex.book_levels(i, 50) for i in ex.instruments])
        out.append([ex.take_trades(i) for i in ex.instruments])
    return out, ex.take_private_events("a"), ex.take_private_events("b"), ex.equity("a"), ex.equity("b")


def test_same_seed_and_actions_give_the_same_market():
    first = _session(21)
    assert first == _session(21)
    assert first[0] != _session(22)[0]


def test_market_sell_sized_in_quote_never_sells_more_than_it_holds():
    ex = still()
    assert order(ex, ordType="market", px="", side="sell", sz="9990", tgtCcy="quote_ccy")["sCode"] == "51008"
    ack = order(ex, ordType="market", px="", side="sell", sz="500", tgtCcy="quote_ccy")
    assert ack["sCode"] == "0"
    recs = orders_of(ex.take_private_events("k"))
    got = sum(Decimal(r["fillPx"]) * Decimal(r["fillSz"]) for r in recs if r["tradeId"])
    assert Decimal("499.9") < got <= 500 and recs[-1]["state"] == "filled"
    bal = {d["ccy"]: d for d in ex.balances("k")["details"]}
    assert Decimal(bal["TST"]["cashBal"]) == 100 - sum(Decimal(r["fillSz"]) for r in recs if r["tradeId"])
    assert bal["TST"]["frozenBal"] == "0"
