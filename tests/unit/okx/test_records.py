"""OKX trading records <-> domain types: the docs' own push, the simulator's records, every table
value, the args of each order op, and records that cannot be read (BadRecord, never a guess)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import AmendResult, CancelSource, ExecType, OrderState, OrdType, Side
from hftlab.domain.venue import AmendRequest, CancelRequest, PlaceRequest
from hftlab.okx import records
from hftlab.okx.records import BadRecord
from hftlab.sim.exchange import SimExchange
from hftlab.sim.testing import STILL_BALANCES, STILL_SPOT, STILL_SWAP

D = Decimal
ACCOUNT = "acct"

# The `orders` push example of OKX's docs (WS / Order channel), the fields that matter here.
DOCS_PUSH = {
    "accFillSz": "0.001", "amendResult": "", "avgPx": "31527.1", "cancelSource": "", "clOrdId": "", "code": "0",
    "cTime": "1654084334977", "execType": "M", "fee": "-0.02522168", "feeCcy": "USDT", "fillFee": "-0.02522168",
    "fillFeeCcy": "USDT", "fillPx": "31527.1", "fillSz": "0.001", "fillTime": "1654084353263", "instId": "BTC-USDT",
    "instType": "SPOT", "ordId": "452197707845865472", "ordType": "limit", "posSide": "", "px": "31527.1",
    "reduceOnly": "false", "reqId": "", "side": "sell", "state": "filled", "sz": "0.001", "tag": "", "tdMode": "cash",
    "tgtCcy": "", "tradeId": "242589207", "uTime": "1654084353264",
}


def test_the_docs_order_push_is_a_filled_update_carrying_its_maker_fill():
    u = records.order_update(DOCS_PUSH)
    assert (u.cl_ord_id, u.ord_id, u.state, u.acc_fill_sz, u.avg_px, u.ts_ms) == (
        "", "452197707845865472", OrderState.FILLED, D("0.001"), D("31527.1"), 1654084353264)
    assert (u.sz, u.px, u.amend_req_id, u.cancel_source, u.full_record) == (D("0.001"), D("31527.1"), None, None, False)
    f = u.fill
    assert (f.inst_id, f.trade_id, f.side, f.px, f.sz, f.fee, f.fee_ccy, f.ts_ms, f.exec_type) == (
        "BTC-USDT", "242589207", Side.SELL, D("31527.1"), D("0.001"), D("-0.02522168"), "USDT", 1654084353263,
        ExecType.MAKER)
    assert records.venue_order(DOCS_PUSH).state is OrderState.FILLED


@pytest.mark.parametrize(("okx", "state"), list(records.ORDER_STATES.items()))
def test_every_okx_state(okx, state):
    assert records.order_update({**DOCS_PUSH, "state": okx, "tradeId": "", "fillSz": "0"}).state is state


@pytest.mark.parametrize(("code", "source"), [*records.CANCEL_SOURCES.items(), ("0", CancelSource.OTHER),
                                              ("", CancelSource.OTHER), ("99", CancelSource.OTHER)])
def test_cancel_sources_and_only_on_a_cancelled_order(code, source):
    rec = {**DOCS_PUSH, "state": "canceled", "cancelSource": code, "tradeId": "", "fillSz": "0"}
    assert records.order_update(rec).cancel_source is source
    assert records.order_update({**rec, "state": "live"}).cancel_source is None


@pytest.mark.parametrize(("okx", "result"), list(records.AMEND_RESULTS.items()))
def test_an_amend_result_is_a_fact_only_with_its_result(okx, result):
    rec = {**DOCS_PUSH, "state": "live", "tradeId": "", "fillSz": "0", "reqId": "r7"}
    u = records.order_update({**rec, "amendResult": okx})
    assert (u.amend_req_id, u.amend_result) == ("r7", result)
    u = records.order_update(rec)  # a record keeps the reqId of its latest amend; no result: no fact
    assert (u.amend_req_id, u.amend_result) == (None, None)
    with pytest.raises(BadRecord):
        records.order_update({**rec, "amendResult": "5"})


def test_a_market_order_filled_with_no_fill_size_reports_no_trade():
    rec = {**DOCS_PUSH, "ordType": "market", "px": "", "fillSz": "0", "fillPx": "", "tradeId": ""}
    u = records.order_update(rec)
    assert u.fill is None and u.px is None and u.state is OrderState.FILLED


@pytest.mark.parametrize("broken", [{"state": "weird"}, {"side": "up"}, {"sz": "x"}, {"accFillSz": "-1"},
                                    {"uTime": "soon"}, {"fillPx": "0"}, {"sz": "NaN"}, {"ordId": None}])
def test_a_record_that_cannot_be_read_is_bad_never_guessed(broken):
    with pytest.raises(BadRecord):
        records.order_update({**DOCS_PUSH, **broken})
    with pytest.raises(BadRecord):
        records.venue_order({**DOCS_PUSH, **broken, "ordType": "twap"})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(DOCS_PUSH)),
                       st.one_of(st.sampled_from(["", "0", "-1", "1.5", "live", "x", "1e3"]), st.none(), st.integers()),
                       max_size=5))
def test_any_mangled_push_is_read_or_refused_as_bad(changes):
    """Whatever the fields hold, reading gives a valid fact or BadRecord: no other exception."""
    try:
        records.order_update({**DOCS_PUSH, **changes})
        records.venue_order({**DOCS_PUSH, **changes})
    except BadRecord:
        pass


_hostile_value = st.recursive(
    st.one_of(st.sampled_from(["", "0", "-1", "1.5", "live", "net", "long", "x", "1e3", "nan", "inf", "-inf", "1e400",
                               "99999999999999999999999", "snapshot", "0.000", "1_0", " 1"]),
              st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=6)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
POSITION = {"instId": "X-SWAP", "pos": "3", "posSide": "net", "avgPx": "100", "markPx": "101", "uTime": "5"}
BP_ITEM = {"eventType": "snapshot", "pTime": "9", "posData": [{"instId": "X-SWAP", "pos": "1", "avgPx": "5",
                                                               "posSide": "net", "uTime": "8"}]}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(DOCS_PUSH)), _hostile_value, max_size=6),
       st.dictionaries(st.sampled_from(sorted(POSITION)), _hostile_value, max_size=4),
       st.dictionaries(st.sampled_from(sorted(BP_ITEM)), _hostile_value, max_size=3),
       st.dictionaries(st.sampled_from(sorted(BP_ITEM["posData"][0])), _hostile_value, max_size=3))
def test_the_private_push_records_read_any_hostile_value_or_refuse_it_as_bad(order, pos, bp, bp_pos):
    """Every reader a private push goes through (orders, positions, balance_and_position, fills): a
    valid fact or BadRecord, whatever the values: nothing else escapes to the socket's reader."""
    item = {**BP_ITEM, **bp}
    if "posData" not in bp:
        item["posData"] = [{**BP_ITEM["posData"][0], **bp_pos}]
    for read in (lambda: records.order_update({**DOCS_PUSH, **order}),
                 lambda: records.venue_order({**DOCS_PUSH, **order}),
                 lambda: records.push_fill({**DOCS_PUSH, **order}),
                 lambda: records.history_fill({**DOCS_PUSH, "ts": "1", **order}),
                 lambda: records.position({**POSITION, **pos}),
                 lambda: records.bp_positions(item, {"X-SWAP": D(99)})):
        try:
            read()
        except BadRecord:
            pass


def test_history_fills_leave_the_venues_own_trades_to_positions():
    row = {"instId": "TST-USDT-SWAP", "tradeId": "12", "clOrdId": "5", "ordId": "9", "side": "buy", "fillPx": "100",
           "fillSz": "2", "fee": "-0.1", "feeCcy": "USDT", "ts": "1700", "fillTime": "1699", "execType": "T"}
    f = records.history_fill(row)
    assert (f.trade_id, f.cl_ord_id, f.ord_id, f.sz, f.fee, f.ts_ms, f.exec_type) == (
        "12", "5", "9", D(2), D("-0.1"), 1699, ExecType.TAKER)
    assert records.history_fill({**row, "tradeId": "-3"}) is None  # a liquidation
    assert records.history_fill({**row, "fillSz": "0"}) is None


def test_positions_are_signed_and_a_bp_push_takes_the_latest_mark():
    rec = {"instId": "X-SWAP", "pos": "3", "posSide": "net", "avgPx": "100", "markPx": "101", "uTime": "5"}
    p = records.position(rec)
    assert (p.qty, p.avg_px, p.mark_px, p.ts_ms) == (D(3), D(100), D(101), 5)
    assert records.position({**rec, "pos": "-3"}).qty == D(-3)
    assert records.position({**rec, "posSide": "short"}).qty == D(-3)
    assert records.position({**rec, "pos": "0"}).avg_px is None
    with pytest.raises(BadRecord):
        records.position({**rec, "posSide": "sideways"})
    item = {"eventType": "liquidation", "pTime": "9", "posData": [{"instId": "X-SWAP", "pos": "0", "avgPx": "0",
                                                                   "posSide": "net", "uTime": "8"}]}
    (bp,) = records.bp_positions(item, {"X-SWAP": D(99)})
    assert (bp.qty, bp.avg_px, bp.mark_px, bp.ts_ms) == (0, None, D(99), 8)


SPOT_SPEC = InstrumentSpec("TST-USDT", InstType.SPOT, "TST", "USDT", D("0.1"), D("0.001"), D("0.01"), inst_id_code=77)
SWAP_SPEC = InstrumentSpec("TST-USDT-SWAP", InstType.SWAP, "TST", "USDT", D("0.1"), D("0.01"), D("0.01"),
                           inst_id_code=79)


def test_place_args_per_transport_type_and_instrument():
    r = PlaceRequest("11", "hft", SPOT_SPEC.inst_id, Side.BUY, OrdType.LIMIT, D("0.50"), D("99.0"), 1)
    assert records.place_args(r, SPOT_SPEC, ws=True) == {
        "instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.5", "clOrdId": "11",
        "px": "99", "tag": "hft"}
    assert records.place_args(r, SPOT_SPEC, ws=False)["instId"] == "TST-USDT"
    market = PlaceRequest("12", "", SPOT_SPEC.inst_id, Side.BUY, OrdType.MARKET, D(1), None, 1, reduce_only=True)
    assert records.place_args(market, SPOT_SPEC, ws=True) == {
        "instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "12",
        "tgtCcy": "base_ccy"}  # base units; reduceOnly is not a spot cash parameter
    swap = PlaceRequest("13", "hft", SWAP_SPEC.inst_id, Side.SELL, OrdType.MARKET, D(2), None, 1, reduce_only=True)
    assert records.place_args(swap, SWAP_SPEC, ws=True) == {
        "instIdCode": 79, "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "2", "clOrdId": "13",
        "tag": "hft", "reduceOnly": True}
    with pytest.raises(ValueError, match="TST-USDT"):
        records.place_args(r, InstrumentSpec("TST-USDT", InstType.SPOT, "TST", "USDT", D(1), D(1), D(1)), ws=True)


def test_amend_and_cancel_args():
    a = AmendRequest("TST-USDT", "11", "21", 5, new_sz=D("2"), new_px=D("98.5"), ord_id="9")
    assert records.amend_args(a, SPOT_SPEC, ws=True) == {"instIdCode": 77, "clOrdId": "11", "reqId": "21",
                                                         "ordId": "9", "newSz": "2", "newPx": "98.5"}
    assert records.amend_args(AmendRequest("TST-USDT", "11", "22", 5, new_px=D(1)), SPOT_SPEC, ws=False) == {
        "instId": "TST-USDT", "clOrdId": "11", "reqId": "22", "newPx": "1"}
    assert records.cancel_args(CancelRequest("TST-USDT", "11"), SPOT_SPEC, ws=True) == {"instIdCode": 77,
                                                                                        "clOrdId": "11"}
    assert records.cancel_args(CancelRequest("TST-USDT", "11", "9"), SPOT_SPEC, ws=False) == {
        "instId": "TST-USDT", "clOrdId": "11", "ordId": "9"}


def _events(ex: SimExchange) -> list[dict]:
    return [rec for ch, rec in ex.take_private_events(ACCOUNT) if ch == "orders"]


def test_the_simulators_records_read_as_what_happened():
    ex = SimExchange([STILL_SPOT, STILL_SWAP], seed=3, start_ms=int(time.time() * 1000),
                     initial_balances=STILL_BALANCES)
    rest = ex.place_order(ACCOUNT, {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                                    "px": "100", "sz": "0.5", "clOrdId": "101", "tag": "hft"})
    (live,) = [records.order_update(r) for r in _events(ex)]
    assert (live.cl_ord_id, live.ord_id, live.state, live.sz, live.px) == ("101", rest["ordId"], OrderState.LIVE,
                                                                            D("0.5"), D(100))
    ex.amend_order(ACCOUNT, "TST-USDT", cl_ord_id="101", new_px="99.9", req_id="r1")
    (amended,) = [records.order_update(r) for r in _events(ex)]
    assert (amended.amend_req_id, amended.amend_result, amended.px) == ("r1", AmendResult.APPLIED, D("99.9"))
    ex.place_order(ACCOUNT, {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "ioc",
                             "px": "100.1", "sz": "25", "clOrdId": "102"})
    taken = [records.order_update(r) for r in _events(ex)]
    fills = [u.fill for u in taken if u.fill is not None]
    assert fills and all(f.exec_type is ExecType.TAKER and f.cl_ord_id == "102" for f in fills)
    assert taken[-1].state is OrderState.CANCELLED and taken[-1].cancel_source is CancelSource.VENUE_IOC
    assert taken[-1].acc_fill_sz == sum(f.sz for f in fills) < D(25)  # the touch held less than 25
    history = [records.history_fill(r) for r in ex.fills(ACCOUNT)]
    assert sorted((f.trade_id, f.sz, f.fee) for f in history) == sorted((f.trade_id, f.sz, f.fee) for f in fills)
    vo = records.venue_order(ex.get_order(ACCOUNT, "TST-USDT", cl_ord_id="101"))
    assert (vo.state, vo.tag, vo.px, vo.sz, vo.side, vo.ord_type) == (OrderState.LIVE, "hft", D("99.9"), D("0.5"),
                                                                      Side.BUY, OrdType.LIMIT)
    (pos,) = [records.position(p) for p in ex.positions(ACCOUNT)]
    assert pos.inst_id == "TST-USDT-SWAP" and pos.qty == taken[-1].acc_fill_sz
    bal = {b.ccy: b for b in records.balances(ex.balances(ACCOUNT))}
    assert bal["TST"].total == D(1000) and bal["USDT"].available < bal["USDT"].total  # the resting buy holds USDT
    ex.cancel_order(ACCOUNT, "TST-USDT", cl_ord_id="101")
    (gone,) = [records.order_update(r) for r in _events(ex)]
    assert (gone.state, gone.cancel_source) == (OrderState.CANCELLED, CancelSource.USER)
