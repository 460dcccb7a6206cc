"""Request checks: each refusal carries OKX's code and the one message codes.py has for it, checked
first as pure functions, then through the exchange in the order OKX checks them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.sim import codes, validation
from hftlab.sim.exchange import SimExchange
from hftlab.sim.validation import Rejected

ORDER = {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99.9", "sz": "1"}


def refusal(fn, *args) -> tuple[str, str]:
    with pytest.raises(Rejected) as e:
        fn(*args)
    return e.value.answer


# --- pure checks -------------------------------------------------------------------------------------
def test_instrument_by_instid_or_instidcode(tst):
    by_id, by_code = {tst.inst_id: tst}, {tst.inst_id_code: tst}
    assert validation.instrument({"instId": "TST-USDT"}, by_id, by_code) is tst
    assert validation.instrument({"instIdCode": 77}, by_id, by_code) is tst
    assert validation.instrument({"instIdCode": "77"}, by_id, by_code) is tst
    assert validation.instrument({"instId": "TST-USDT", "instIdCode": 5}, by_id, by_code) is tst  # instId wins
    assert refusal(validation.instrument, {}, by_id, by_code) == ("50014", "Parameter instId can not be empty.")
    assert refusal(validation.instrument, {"instIdCode": ""}, by_id, by_code) == codes.empty_param("instId")
    assert refusal(validation.instrument, {"instIdCode": "x"}, by_id, by_code) == ("51000",
                                                                                   "Parameter instIdCode error")
    assert refusal(validation.instrument, {"instIdCode": 5}, by_id, by_code) == codes.NO_INSTRUMENT
    assert refusal(validation.instrument, {"instId": "NOPE-USDT"}, by_id, by_code) == codes.NO_INSTRUMENT
    assert refusal(validation.listed, "NOPE-USDT", by_id) == codes.NO_INSTRUMENT
    assert validation.listed("TST-USDT", by_id) is tst


def test_order_ref():
    assert validation.order_ref("12", "c1") == (12, None)          # ordId wins
    assert validation.order_ref(None, "c1") == (None, "c1")
    assert refusal(validation.order_ref, "x", None) == ("51000", "Parameter ordId error")
    assert refusal(validation.order_ref, None, None) == ("51003", "Either client order ID or order ID is required.")
    assert refusal(validation.order_ref, "", "") == codes.ORDER_ID_REQUIRED


def test_order_request_reads_a_valid_request(tst):
    r = validation.order_request({**ORDER, "clOrdId": "c1", "tag": "t1", "reduceOnly": "true"}, tst)
    assert (r.cl_ord_id, r.tag, r.side, r.ord_type, r.td_mode, r.pos_side, r.tgt_ccy) == \
        ("c1", "t1", "buy", "limit", "cash", "", "")
    assert (r.reduce_only, r.sz, r.px_idx, r.by_quote) == (True, Decimal("1"), 999, False)
    market = {**ORDER, "ordType": "market", "px": ""}
    assert validation.order_request(market, tst).px_idx is None
    # spot market orders: buys sized in quote, sells in base, unless tgtCcy says otherwise
    assert validation.order_request(market, tst).by_quote
    assert not validation.order_request({**market, "tgtCcy": "base_ccy"}, tst).by_quote
    assert not validation.order_request({**market, "side": "sell"}, tst).by_quote
    assert validation.order_request({**market, "side": "sell", "tgtCcy": "quote_ccy"}, tst).by_quote


def test_order_request_checks_in_okx_order(tst):
    # a request with two faults is refused for the one OKX checks first
    assert refusal(validation.order_request, {**ORDER, "clOrdId": "a-b", "side": "long"}, tst) == \
        codes.param_error("clOrdId")
    assert refusal(validation.order_request, {**ORDER, "side": "long", "sz": ""}, tst) == codes.empty_param("sz")
    assert refusal(validation.order_request, {**ORDER, "side": "long", "ordType": "stop"}, tst) == \
        codes.param_error("side")
    assert refusal(validation.order_request, {**ORDER, "sz": "0", "px": "x"}, tst) == codes.param_error("sz")


@given(st.text(max_size=40))
def test_clordid_accepted_exactly_when_okx_allows_it(tst, cl):
    allowed = re.fullmatch(r"[A-Za-z0-9]{1,32}", cl) is not None
    try:
        got = validation.order_request({**ORDER, "clOrdId": cl}, tst).cl_ord_id
    except Rejected as r:
        assert r.answer == codes.param_error("clOrdId") and cl and not allowed
    else:
        assert got == cl and (allowed or cl == "")


@given(st.one_of(st.decimals(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.integers()))
def test_positive_accepts_finite_numbers_above_zero(v):
    try:
        d = Decimal(str(v))
        ok = d.is_finite() and d > 0
    except ArithmeticError:
        ok = False
    if ok:
        assert validation.positive(v, "sz") == Decimal(str(v))
    else:
        assert refusal(validation.positive, v, "sz") == codes.param_error("sz")


def test_flag():
    assert [validation.flag(v, "reduceOnly") for v in (True, False, "true", "false", "", None)] == \
        [True, False, True, False, False, False]
    assert refusal(validation.flag, "yes", "reduceOnly") == codes.param_error("reduceOnly")


def test_sizes_on_the_lot_grid_and_above_min(tst):
    assert validation.order_lots(tst, Decimal("1")) == 1000
    assert validation.order_lots(tst, Decimal("0.01")) == 10
    assert refusal(validation.order_lots, tst, Decimal("1.0005")) == codes.NOT_LOT_MULTIPLE
    assert refusal(validation.order_lots, tst, Decimal("0.005")) == codes.BELOW_MIN_SZ
    validation.quote_size(tst, 10)
    assert refusal(validation.quote_size, tst, 9) == codes.BELOW_MIN_SZ


def test_price_band(tst):
    band = validation.price_band(100.0, tst.tick)
    assert band == (1050, 950)
    validation.within_band(tst, "buy", 1050, band)
    validation.within_band(tst, "sell", 950, band)
    msg = "Order price is not within the price limit (max buy price: 105 , min sell price: 95 )"
    assert refusal(validation.within_band, tst, "buy", 1051, band) == ("51006", msg)
    assert refusal(validation.within_band, tst, "sell", 949, band) == ("51006", msg)
    validation.within_band(tst, "sell", 2000, band)            # a sell above the band cannot trade through it


def test_reduce_only_needs_an_opposite_position():
    for side, pos in (("buy", Decimal(0)), ("sell", Decimal(0)), ("buy", Decimal(2)), ("sell", Decimal(-2))):
        assert refusal(validation.reduces, side, pos) == codes.NO_POSITION_TO_REDUCE
    validation.reduces("sell", Decimal(2))
    validation.reduces("buy", Decimal(-2))


def test_funds_duplicates_and_post_only():
    validation.funds("USDT", Decimal(10), Decimal(10))
    assert refusal(validation.funds, "USDT", Decimal(10), Decimal("10.01")) == \
        ("51008", "Order failed. Insufficient USDT balance in account")
    validation.unique_cl_ord_id(False)
    assert refusal(validation.unique_cl_ord_id, True) == ("51016", "Client order ID already exists.")
    assert validation.crosses("buy", 1001, 1001) and not validation.crosses("buy", 1000, 1001)
    assert validation.crosses("sell", 999, 999) and not validation.crosses("sell", 1000, 999)
    assert not validation.crosses("buy", 10**9, None)            # nothing to cross on an empty side
    assert refusal(validation.amend_post_only, "buy", 1001, 1001) == codes.AMEND_NOT_POST_ONLY


def test_amend_checks(tst):
    band = validation.price_band(100.0, tst.tick)
    assert refusal(validation.amend_given, None, "") == ("50015", "Either parameter newSz or newPx is required.")
    assert validation.amend_size(tst, None) is None and validation.amend_price(tst, "") is None
    assert validation.amend_size(tst, "2") == (2000, Decimal("2"))
    # at or below what filled is no refusal: the order ends filled (the exchange's part, test_exchange)
    assert validation.amend_size(tst, "1") == (1000, Decimal("1"))
    assert refusal(validation.amend_size, tst, "0.0001") == codes.NOT_LOT_MULTIPLE
    assert validation.amend_price(tst, "99.8") == 998
    assert refusal(validation.amend_price, tst, "99.93") == codes.param_error("newPx")
    # the band is the engine's check, when the amendment applies
    assert validation.amend_price(tst, "200") == 2000
    assert refusal(validation.within_band, tst, "buy", 2000, band)[0] == "51006"
    validation.amend_slots(2, 3)
    assert refusal(validation.amend_slots, 3, 3) == (
        "51513", "Number of modification requests that are currently in progress for an order cannot exceed 3 times.")


@pytest.mark.parametrize("inst_type, ord_type, tgt, ok", [
    ("SPOT", "market", "base_ccy", True), ("SPOT", "market", "quote_ccy", True),
    ("SPOT", "limit", "base_ccy", True), ("SPOT", "post_only", "base_ccy", True), ("SPOT", "ioc", "base_ccy", True),
    ("SPOT", "limit", "quote_ccy", False), ("SPOT", "fok", "quote_ccy", False),
    ("SPOT", "limit", "base", False), ("SPOT", "market", "usd", False),
    ("SWAP", "limit", "base_ccy", False), ("SWAP", "market", "quote_ccy", False),
    ("SPOT", "limit", "", True), ("SWAP", "market", "", True),
])
def test_tgt_ccy_where_okx_takes_it(tst, tsw, inst_type, ord_type, tgt, ok):
    inst = tst if inst_type == "SPOT" else tsw
    req = {**ORDER, "instId": inst.inst_id, "ordType": ord_type, "tgtCcy": tgt,
           "tdMode": "cash" if inst_type == "SPOT" else "cross"}
    assert validation.tgt_ccy_allowed(tgt, inst, ord_type) is ok
    if ok:
        r = validation.order_request(req, inst)
        assert r.tgt_ccy == tgt and r.by_quote == (tgt == "quote_ccy")
    else:
        assert refusal(validation.order_request, req, inst) == codes.param_error("tgtCcy")


def test_pending_limit():
    validation.below_pending_limit("TST-USDT", 499, 500)
    assert refusal(validation.below_pending_limit, "TST-USDT", 500, 500) == (
        "51174", "Order failed, number of pending orders for TST-USDT exceed the limit of 500.")


def test_exp_time():
    assert validation.exp_time(None) is None and validation.exp_time("") is None
    assert validation.exp_time("1700000000000") == 1_700_000_000_000
    assert validation.exp_time(1_700_000_000_000) == 1_700_000_000_000
    for bad in ("soon", "-5", "1.5e12", "17e11"):
        assert refusal(validation.exp_time, bad) == codes.param_error("expTime")
    validation.not_expired(None, 10**13)
    validation.not_expired(1000, 1000)                      # at the deadline: still in time
    assert refusal(validation.not_expired, 1000, 1001) == ("50037", "Order expired.")


@pytest.mark.parametrize("raw, want", [("0", 0), ("10", 10), ("120", 120), (60, 60)])
def test_cancel_all_after_timeouts(raw, want):
    assert validation.caa_timeout(raw) == want


@pytest.mark.parametrize("raw, answer", [
    (None, codes.empty_param("timeOut")), ("", codes.empty_param("timeOut")), ("9", codes.param_error("timeOut")),
    ("121", codes.param_error("timeOut")), ("-1", codes.param_error("timeOut")), ("ten", codes.param_error("timeOut")),
    ("1", codes.param_error("timeOut")),
])
def test_cancel_all_after_timeout_refusals(raw, answer):
    assert refusal(validation.caa_timeout, raw) == answer


def test_cancel_all_after_tag():
    assert validation.caa_tag(None) == "" and validation.caa_tag("") == "" and validation.caa_tag("mm1") == "mm1"
    assert refusal(validation.caa_tag, "a-b") == codes.param_error("tag")
    assert refusal(validation.caa_tag, "x" * 17) == codes.param_error("tag")


# --- through the exchange ----------------------------------------------------------------------------
def test_lookup_by_instidcode_and_ws_style_orders(still):
    ex = still()
    assert ex.by_code[77] is ex.instruments["TST-USDT"]
    ack = ex.place_order("k", {"instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "limit",
                               "px": "99", "sz": "1"})
    assert ack["sCode"] == "0" and ack["ordId"].isdigit()


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
def test_every_rejection_has_okx_scode(req, code, msg, still, order):
    ex = still()
    ack = order(ex, **req)
    assert ack["sCode"] == code, ack
    assert ack["ordId"] == ""
    if msg:
        assert ack["sMsg"] == msg
    assert ex.take_private_events("k") == []


def test_reduce_only_swap_order_without_position():
    ex = SimExchange(seed=1)
    ack = ex.place_order("k", {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market",
                               "sz": "1", "reduceOnly": True})
    assert ack["sCode"] == "51169"


def test_cancel_and_amend_errors(still, order):
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
