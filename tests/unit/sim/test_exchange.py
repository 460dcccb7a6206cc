"""SimExchange: the order lifecycle (order types, fills, fees, amendments, self-trades), accounts and
positions, determinism. Request checks are in test_validation, records in test_records, public
views in test_views, the state table in test_orders."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import Instrument, MarketProfile
from hftlab.sim.orders import TRANSITIONS, OrderState


# --- clOrdId -------------------------------------------------------------------------------------
def test_duplicate_clordid_only_among_pending_orders(still, order):
    ex = still()
    assert order(ex, clOrdId="A1")["sCode"] == "0"
    assert order(ex, clOrdId="A1")["sCode"] == "51016"
    assert ex.cancel_order("k", "TST-USDT", cl_ord_id="A1")["sCode"] == "0"
    assert order(ex, clOrdId="A1")["sCode"] == "0"       # reusable once the first is done
    assert order(ex, "other", clOrdId="A1")["sCode"] == "0"   # per account


# --- order types ---------------------------------------------------------------------------------
def test_post_only_that_would_take_is_accepted_then_cancelled(still, order, orders_of, touch):
    ex = still()
    ack = order(ex, ordType="post_only", px="100.1")
    assert ack["sCode"] == "0"
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["ordId"], rec["state"], rec["cancelSource"], rec["accFillSz"]) == (ack["ordId"], "canceled", "31", "0")
    assert ex.balances("k")["details"][1]["frozenBal"] == "0"
    ack = order(ex, ordType="post_only", px="100")             # inside the spread: rests as the best bid
    assert orders_of(ex.take_private_events("k"))[0]["state"] == "live"
    assert touch(ex)[0] == Decimal("100")


def test_ioc_fills_what_it_can_and_cancels_the_rest(still, order, orders_of, touch):
    ex = still()
    _, _, ask, ask_sz = touch(ex)
    ack = order(ex, ordType="ioc", px=str(ask), sz=str(ask_sz + 5))
    recs = orders_of(ex.take_private_events("k"))
    fills = [r for r in recs if r["tradeId"]]
    assert sum(Decimal(r["fillSz"]) for r in fills) == ask_sz
    assert all(r["execType"] == "T" and r["fillPx"] == str(ask) for r in fills)
    assert (recs[-1]["state"], recs[-1]["cancelSource"], recs[-1]["ordId"]) == ("canceled", "14", ack["ordId"])
    assert ex.pending_orders("k") == []


def test_fok_is_all_or_nothing(still, order, orders_of, touch):
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


def test_marketable_limit_sweeps_levels_then_rests_the_remainder(still, order, orders_of):
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


def test_market_buy_is_sized_in_quote_unless_tgtccy_base(still, order, orders_of, touch):
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


def test_fees_taker_and_maker_with_okx_sign(still, order, orders_of, touch):
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


def test_self_trade_cancels_own_resting_order(still, order, orders_of):
    ex = still()
    rest = order(ex, side="sell", px="100", sz="1")["ordId"]
    order(ex, px="100", sz="1")
    recs = orders_of(ex.take_private_events("k"))
    cancelled = [r for r in recs if r["ordId"] == rest and r["state"] == "canceled"]
    assert cancelled and cancelled[0]["cancelSource"] == "32"
    assert all(r["tradeId"] == "" for r in recs if r["ordId"] == rest)


def test_resting_order_fills_from_simulated_flow_after_its_queue(orders_of, touch):
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


def test_amend_size_down_keeps_priority_price_change_requeues(still, order, orders_of, touch):
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


# --- accounts, positions -------------------------------------------------------------------------
def test_balances_freeze_for_open_orders_and_release_on_cancel(still, order):
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


def test_pushed_states_follow_the_order_state_table():
    """Through the lifecycle, each order's pushed states move only as orders.TRANSITIONS allows
    (an amendment repeats the state it leaves unchanged)."""
    ex = SimExchange(seed=8)
    rnd = random.Random(8)
    for _ in range(300):
        ex.advance_to(ex.now_ms + rnd.randint(10, 2000))
        bids, asks = ex.book_levels("ETH-USDT", 3)
        side = rnd.choice(["buy", "sell"])
        px = (asks if side == "buy" else bids)[rnd.randint(0, 2)][0]       # marketable: trades, may rest
        ex.place_order("k", {"instId": "ETH-USDT", "tdMode": "cash", "side": side, "px": px,
                             "ordType": rnd.choice(["limit", "ioc", "fok", "post_only"]),
                             "sz": str(Decimal("0.05") * rnd.randint(1, 40))})
        pending = ex.pending_orders("k")
        if pending and rnd.random() < 0.3:
            o = rnd.choice(pending)
            if rnd.random() < 0.5:
                ex.cancel_order("k", "ETH-USDT", ord_id=o["ordId"])
            else:
                ex.amend_order("k", "ETH-USDT", ord_id=o["ordId"], new_sz=str(Decimal(o["sz"]) * 2))
    last: dict[str, OrderState] = {}
    seen = set()
    for ch, rec in ex.take_private_events("k"):
        if ch != "orders":
            continue
        prev, cur = last.get(rec["ordId"], OrderState.LIVE), OrderState(rec["state"])
        assert (cur == prev and prev.open) or cur in TRANSITIONS[prev].values(), (rec["ordId"], prev, cur)
        last[rec["ordId"]] = cur
        seen.add((prev, cur))
    # every transition the lifecycle can make was made at least once
    assert {(p, c) for p, c in seen if p != c} == {(p, c) for p, ev in TRANSITIONS.items() for c in ev.values()
                                                   if p != c}


def test_market_sell_sized_in_quote_never_sells_more_than_it_holds(still, order, orders_of):
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


# --- clOrdId reuse, pending cap ------------------------------------------------------------------
def test_a_finished_clordid_opens_a_new_order_and_queries_find_the_latest(still, order, orders_of, touch):
    ex = still()
    _, _, ask, _ = touch(ex)
    first = order(ex, ordType="ioc", px=str(ask), sz="0.5", clOrdId="R1")     # trades and ends at once
    assert ex.get_order("k", "TST-USDT", cl_ord_id="R1")["state"] == "filled"
    second = order(ex, px="99", clOrdId="R1")
    assert second["sCode"] == "0" and second["ordId"] != first["ordId"]
    assert order(ex, px="98", clOrdId="R1")["sCode"] == "51016"             # refused while R1 is pending
    assert ex.get_order("k", "TST-USDT", cl_ord_id="R1")["ordId"] == second["ordId"]
    assert ex.get_order("k", "TST-USDT", ord_id=first["ordId"])["state"] == "filled"
    assert ex.cancel_order("k", "TST-USDT", cl_ord_id="R1")["ordId"] == second["ordId"]
    assert order(ex, px="98", clOrdId="R1")["sCode"] == "0"


def test_a_clordid_is_looked_up_per_instrument(tst):
    other = Instrument("TSU-USDT", 78, "SPOT", "TSU", "USDT", "0.1", "0.001", "0.01", tst.profile)
    ex = SimExchange([tst, other], seed=3, initial_balances={"USDT": "10000"})
    a = ex.place_order("k", {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                             "px": "99", "sz": "1", "clOrdId": "X"})
    ex.cancel_order("k", "TST-USDT", cl_ord_id="X")
    b = ex.place_order("k", {"instId": "TSU-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                             "px": "99", "sz": "1", "clOrdId": "X"})
    assert ex.get_order("k", "TST-USDT", cl_ord_id="X")["ordId"] == a["ordId"]
    assert ex.get_order("k", "TSU-USDT", cl_ord_id="X")["ordId"] == b["ordId"]


def test_500_pending_orders_per_instrument(still, order):
    ex = still()
    ids = [order(ex, px="90", sz="0.01")["ordId"] for _ in range(500)]
    assert "" not in ids
    refused = order(ex, px="90", sz="0.01")
    assert (refused["sCode"], refused["sMsg"]) == (
        "51174", "Order failed, number of pending orders for TST-USDT exceed the limit of 500.")
    assert order(ex, "other", px="90", sz="0.01")["sCode"] == "0"           # per account
    ex.cancel_order("k", "TST-USDT", ord_id=ids[0])
    assert order(ex, px="90", sz="0.01")["sCode"] == "0"


# --- amendments ------------------------------------------------------------------------------------
def test_amend_to_at_most_what_filled_ends_the_order_filled(still, order, orders_of):
    ex = still()
    oid = order(ex, side="sell", px="100", sz="3")["ordId"]
    order(ex, "taker", px="100", sz="1")
    ex.take_private_events("k")
    assert ex.get_order("k", "TST-USDT", ord_id=oid)["state"] == "partially_filled"
    ack = ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz="0.5", req_id="shrink")
    assert ack["sCode"] == "0" and ack["reqId"] == "shrink"
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["state"], rec["accFillSz"], rec["sz"], rec["amendResult"], rec["reqId"]) == \
        ("filled", "1", "1", "0", "shrink")
    assert ex.pending_orders("k") == [] and ex.book_levels("TST-USDT", 1)[1][0][0] == "100.1"
    assert {d["ccy"]: d["frozenBal"] for d in ex.balances("k")["details"]}["TST"] == "0"


def test_amendments_in_flight_at_most_three(still, order, orders_of):
    ex = still(amend_latency_ms=500)
    oid = order(ex, px="99", sz="1")["ordId"]
    ex.take_private_events("k")
    acks = [ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz=str(2 + k), req_id=f"r{k}") for k in range(4)]
    assert [a["sCode"] for a in acks] == ["0", "0", "0", "51513"]
    assert acks[3]["sMsg"].startswith("Number of modification requests") and acks[3]["reqId"] == "r3"
    assert orders_of(ex.take_private_events("k")) == []                   # acknowledged, not yet applied
    assert ex.get_order("k", "TST-USDT", ord_id=oid)["sz"] == "1"
    ex.advance_to(ex.now_ms + 500)
    recs = orders_of(ex.take_private_events("k"))
    assert [(r["reqId"], r["amendResult"], r["sz"]) for r in recs] == [("r0", "0", "2"), ("r1", "0", "3"),
                                                                        ("r2", "0", "4")]
    assert ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz="5")["sCode"] == "0"   # slots free again


def test_an_amendment_that_fails_when_it_applies_is_pushed(still, order, orders_of):
    ex = still(amend_latency_ms=200)
    keep = order(ex, px="99", sz="1")["ordId"]
    drop = order(ex, px="98", sz="1")["ordId"]
    ex.take_private_events("k")
    assert ex.amend_order("k", "TST-USDT", ord_id=keep, new_px="200", req_id="a")["sCode"] == "0"
    assert ex.amend_order("k", "TST-USDT", ord_id=drop, new_px="200", req_id="b", cxl_on_fail=True)["sCode"] == "0"
    ex.advance_to(ex.now_ms + 200)
    a, b = orders_of(ex.take_private_events("k"))
    assert (a["ordId"], a["state"], a["amendResult"], a["reqId"], a["code"], a["px"]) == \
        (keep, "live", "-1", "a", "51006", "99")
    assert a["msg"].startswith("Order price is not within the price limit")
    assert (b["ordId"], b["state"], b["amendResult"], b["reqId"], b["code"], b["cancelSource"]) == \
        (drop, "canceled", "1", "b", "51006", "0")
    assert ex.get_order("k", "TST-USDT", ord_id=keep)["code"] == "0"     # the failure is that push's only
    # the order ended before its amendment applied: the amendment fails
    assert ex.amend_order("k", "TST-USDT", ord_id=keep, new_sz="2", req_id="c")["sCode"] == "0"
    ex.cancel_order("k", "TST-USDT", ord_id=keep)
    ex.advance_to(ex.now_ms + 200)
    recs = orders_of(ex.take_private_events("k"))
    assert (recs[-1]["amendResult"], recs[-1]["code"], recs[-1]["reqId"]) == ("-1", "51503", "c")


def test_cxl_on_fail_cancels_an_order_whose_amendment_is_refused(still, order, orders_of):
    ex = still()
    oid = order(ex, px="99", sz="1")["ordId"]
    ex.take_private_events("k")
    assert ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz="0.0001")["sCode"] == "51121"
    assert orders_of(ex.take_private_events("k")) == []                   # without cxlOnFail: untouched
    ack = ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz="0.0001", req_id="q", cxl_on_fail=True)
    assert ack["sCode"] == "51121"
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["state"], rec["amendResult"], rec["cancelSource"], rec["reqId"]) == ("canceled", "1", "0", "q")
    assert ex.amend_order("k", "TST-USDT", ord_id=oid, new_sz="2", cxl_on_fail=True)["sCode"] == "51503"


# --- cancel-all-after, liquidation ------------------------------------------------------------------
def test_cancel_pending_by_tag_then_all(still, order, orders_of):
    ex = still()
    a = order(ex, px="99", tag="a")["ordId"]
    b = order(ex, px="98", tag="b")["ordId"]
    c = order(ex, px="97")["ordId"]
    ex.take_private_events("k")
    assert ex.cancel_pending("k", "a") == [a]
    [rec] = orders_of(ex.take_private_events("k"))
    assert (rec["ordId"], rec["state"], rec["cancelSource"]) == (a, "canceled", "20")
    assert ex.cancel_pending("k") == [b, c]
    assert {r["cancelSource"] for r in orders_of(ex.take_private_events("k"))} == {"20"}
    assert ex.cancel_pending("k") == []


def test_cancel_all_after_leaves_positions(tst, tsw):
    ex = SimExchange([tst, tsw], seed=3, initial_balances={"USDT": "10000"})
    ex.place_order("k", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "2"})
    ex.place_order("k", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "limit",
                         "px": "104", "sz": "1"})
    assert len(ex.cancel_pending("k")) == 1
    assert [p["pos"] for p in ex.positions("k")] == ["2"]


def test_liquidation_moves_the_position_without_an_order_update(tst, tsw):
    ex = SimExchange([tst, tsw], seed=3, initial_balances={"USDT": "10000"})
    ex.place_order("k", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "2"})
    ex.take_private_events("k")
    [half] = ex.liquidate("TST-USDT-SWAP", 0.5)
    assert (half["account"], half["side"], half["sz"]) == ("k", "sell", "1") and int(half["tradeId"]) < 0
    events = ex.take_private_events("k")
    assert {ch for ch, _ in events} == {"positions", "account", "balance_and_position"}
    [pos] = [r for ch, r in events if ch == "positions"]
    assert (pos["pos"], pos["tradeId"]) == ("1", half["tradeId"])
    [bp] = [r for ch, r in events if ch == "balance_and_position"]
    assert bp["eventType"] == "liquidation"
    assert bp["trades"] == [{"instId": "TST-USDT-SWAP", "tradeId": half["tradeId"]}]
    assert [p["pos"] for p in bp["posData"]] == ["1"] and [b["ccy"] for b in bp["balData"]] == ["USDT"]
    [full] = ex.liquidate("TST-USDT-SWAP")
    assert int(full["tradeId"]) < int(half["tradeId"])                  # venue trade ids count down
    assert ex.positions("k") == []
    fills = ex.fills("k")
    assert [(f["tradeId"], f["subType"], f["execType"]) for f in fills[:2]] == [
        (full["tradeId"], "107", ""), (half["tradeId"], "103", "")]
    done = {r["ordId"]: r for r in ex.finished_orders("k")}
    assert (done[full["ordId"]]["category"], done[half["ordId"]]["category"]) == ("full_liquidation",
                                                                                  "partial_liquidation")
    assert ex.liquidate("TST-USDT-SWAP") == []                          # nothing left to liquidate


# --- fills, balance_and_position ------------------------------------------------------------------
def test_fills_history_and_pushes(still, order, touch):
    ex = still()
    asks = ex.book_levels("TST-USDT", 2)[1]
    want = Decimal(asks[0][1]) + Decimal(asks[1][1])
    ack = order(ex, px=asks[1][0], sz=str(want), clOrdId="12345")       # takes two price levels
    events = ex.take_private_events("k")
    fills = [r for ch, r in events if ch == "fills"]
    assert [(f["fillPx"], f["fillSz"], f["execType"], f["clOrdId"]) for f in fills] == [
        (asks[0][0], asks[0][1], "T", "12345"), (asks[1][0], asks[1][1], "T", "12345")]
    assert [f["count"] for f in fills] == [str(asks[0][2]), str(asks[1][2])]      # orders at each level
    pushed = [r for ch, r in events if ch == "orders" and r["tradeId"]]
    assert [f["tradeId"] for f in fills] == [r["tradeId"] for r in pushed]
    history = ex.fills("k")
    assert [h["tradeId"] for h in history] == [r["tradeId"] for r in reversed(pushed)]
    assert int(history[0]["billId"]) > int(history[1]["billId"])
    assert {(h["ordId"], h["subType"], h["feeRate"], h["execType"], h["feeCcy"]) for h in history} == \
        {(ack["ordId"], "1", "-0.001", "T", "TST")}
    [bp] = [r for ch, r in events if ch == "balance_and_position"]
    assert bp["eventType"] == "filled" and [b["ccy"] for b in bp["balData"]] == ["TST", "USDT"]
    assert [t["tradeId"] for t in bp["trades"]] == [r["tradeId"] for r in pushed] and bp["posData"] == []
    # a maker fill is pushed on its own; a clOrdId that is not a positive int64 shows as "0"
    order(ex, side="sell", px="100", sz="1", clOrdId="mk1")
    order(ex, "taker", px="100", sz="1")
    [maker] = [r for ch, r in ex.take_private_events("k") if ch == "fills"]
    assert (maker["execType"], maker["count"], maker["clOrdId"], maker["fillSz"]) == ("M", "1", "0", "1")


def test_balance_and_position_snapshot_has_non_zero_balances_and_positions(tst, tsw):
    ex = SimExchange([tst, tsw], seed=3, initial_balances={"USDT": "10000", "TST": "0"})
    snap = ex.balance_and_position("k")
    assert snap["eventType"] == "snapshot" and snap["posData"] == [] and snap["trades"] == []
    assert snap["balData"] == [{"ccy": "USDT", "cashBal": "10000", "uTime": snap["balData"][0]["uTime"]}]
    ex.place_order("k", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "1"})
    [pos] = ex.balance_and_position("k")["posData"]
    assert (pos["instId"], pos["pos"], pos["posSide"], pos["mgnMode"]) == ("TST-USDT-SWAP", "-1", "net", "cross")


def test_finished_orders_newest_first(still, order):
    ex = still()
    ids = [order(ex, px="99")["ordId"] for _ in range(3)]
    for oid in ids:
        ex.cancel_order("k", "TST-USDT", ord_id=oid)
    assert [r["ordId"] for r in ex.finished_orders("k")] == ids[::-1]
    assert ex.pending_orders("k") == []


def test_listed_without_an_inst_id_code(tst):
    blank = Instrument("TSU-USDT", None, "SPOT", "TSU", "USDT", "0.1", "0.001", "0.01", tst.profile)
    ex = SimExchange([tst, blank], seed=3)
    assert set(ex.by_code) == {77} and blank.to_okx()["instIdCode"] is None
    assert ex.place_order("k", {"instId": "TSU-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                                "px": "99", "sz": "1"})["sCode"] == "0"


def test_price_limit_is_the_band_orders_are_refused_beyond():
    ex = SimExchange(seed=2)
    ex.advance_to(ex.now_ms + 5_000)
    rec = ex.price_limit("BTC-USDT")
    buy, sell = float(rec["buyLmt"]), float(rec["sellLmt"])
    mid = ex._market("BTC-USDT").mid_px()
    assert rec["instId"] == "BTC-USDT" and rec["enabled"] is True
    assert sell < mid < buy and buy / mid - 1 == pytest.approx(0.05, abs=1e-4)
    too_high = ex.place_order("k", {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                                    "sz": "0.001", "px": f"{buy + 0.1:.1f}"})
    assert too_high["sCode"] == "51006"


def test_a_jump_moves_the_market_and_it_stays_moved():
    ex = SimExchange(seed=4)
    ex.advance_to(ex.now_ms + 2_000)
    before = ex._market("BTC-USDT").mid_px()
    ex.jump("BTC-USDT", -0.03)
    ex.advance_to(ex.now_ms + 2_000)
    after = ex._market("BTC-USDT").mid_px()
    assert after / before - 1 == pytest.approx(-0.03, abs=0.003)
    swap = ex._market("BTC-USDT-SWAP").mid_px()
    assert swap / after - 1 == pytest.approx(0, abs=0.003)  # the swap follows its spot leader
    with pytest.raises(ValueError):
        ex.jump("BTC-USDT", -0.9)
