"""OkxVenue's decisions with the transports scripted: what goes out (op, args, expTime), when a write
falls back to REST (only when the WS op provably did not execute) and when it never does, per-item
outcomes, reads and their paging, the private stream, and the sent hook. The real-socket behaviour
runs in tests/conformance and tests/integration/test_execution_*.py."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import OrderState, OrderUpdate, OrdType, Side
from hftlab.domain.venue import (
    AmendRequest, CancelRequest, ExecutionVenue, Lookup, Op, PagingStalled, PlaceRequest, PositionsSnapshot,
    StreamState, StreamStatus, VenueUnavailable, WriteOutcome,
)
from hftlab.okx.events import OpResponse, PrivatePush
from hftlab.okx.execution import NotSent
from hftlab.okx.limits import OKX_LIMITS
from hftlab.okx.rest import InstrumentRefused, RestAnswer, RestAnswerLost, RestError, RestNotSent
from hftlab.okx.venue import PRIVATE_ARGS, OkxVenue, Transport

pytestmark = pytest.mark.timeout(30)
D = Decimal
W = WriteOutcome
SPOT = InstrumentSpec("TST-USDT", InstType.SPOT, "TST", "USDT", D("0.1"), D("0.001"), D("0.01"), inst_id_code=77)
SWAP = InstrumentSpec("TST-USDT-SWAP", InstType.SWAP, "TST", "USDT", D("0.1"), D("0.01"), D("0.01"), inst_id_code=79)


class FakeOrders:
    """OrderChannel's side the venue uses; each send_op takes the next scripted answer (an
    OpResponse, or an exception to raise)."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.sent: list[tuple[str, list[dict], int | None]] = []
        self.ready = True
        self.on_push = self.on_state = None
        self.subscribed: list[dict] = []  # what the client was asked to subscribe

    def take_private(self, on_push, on_state):
        self.on_push, self.on_state = on_push, on_state

    async def send_op(self, op, args, *, timeout_s, exp_time_ms=None, on_sent=None):
        answer = self.answers.pop(0)
        if isinstance(answer, NotSent):
            raise answer
        self.sent.append((op, args, exp_time_ms))
        if on_sent is not None:
            on_sent(1_700_000_000_000_000_001)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class FakeRest:
    def __init__(self, posts=(), gets=None):
        self.posts = list(posts)
        self.posted: list[tuple[str, object, int | None]] = []
        self.gets = gets or {}  # path -> list of answers (pages or exceptions), taken in order
        self.got: list[tuple[str, dict]] = []

    async def post(self, path, body, *, exp_time_ms=None, timeout_s=None, on_sent=None):
        answer = self.posts.pop(0)
        if isinstance(answer, RestNotSent):
            raise answer
        self.posted.append((path, body, exp_time_ms))
        if on_sent is not None:
            on_sent(1_700_000_000_000_000_002)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def get(self, path, params=None, *, private=False):
        self.got.append((path, {k: v for k, v in (params or {}).items() if v is not None}))
        answer = self.gets[path].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class FakeClient:
    def __init__(self, orders, rest):
        self.orders, self.rest = orders, rest

    async def subscribe(self, args):
        self.orders.subscribed += list(args)


def make(ws=(), posts=(), gets=None, **kw):
    orders, rest = FakeOrders(ws), FakeRest(posts, gets)
    sent: list[tuple[tuple[str, ...], int]] = []
    venue = OkxVenue(FakeClient(orders, rest), rest, [SPOT, SWAP], on_sent=lambda ids, ns: sent.append((ids, ns)),
                     **kw)
    return venue, orders, rest, sent


def ok(*items, code="0"):
    return OpResponse("o1", "order", code, "", list(items), 0, 11, 22)


def item(cl, s_code="0", ord_id="9", **extra):
    return {"clOrdId": cl, "ordId": ord_id if s_code == "0" else "", "sCode": s_code, "sMsg": "m", **extra}


def place(cl="1", inst=SPOT.inst_id, ord_type=OrdType.LIMIT, px="99", exp=1_000):
    return PlaceRequest(cl, "hft", inst, Side.BUY, ord_type, D("0.5") if inst == SPOT.inst_id else D(2),
                        None if ord_type is OrdType.MARKET else D(px), exp)


def rest_ok(*items, code="0"):
    return RestAnswer(200, code, "", list(items), 33, 44)


def test_a_spec_without_inst_id_code_is_refused_by_name():
    nameless = InstrumentSpec("NUL-USDT", InstType.SPOT, "NUL", "USDT", D(1), D(1), D(1))
    with pytest.raises(InstrumentRefused, match="NUL-USDT"):
        OkxVenue(FakeClient(FakeOrders(), FakeRest()), None, [SPOT, nameless])


def test_it_is_an_execution_venue_with_okx_limits():
    venue, *_ = make()
    assert isinstance(venue, ExecutionVenue) and venue.limits is OKX_LIMITS
    assert {b.name for b in OKX_LIMITS.for_op(Op.PLACE_BATCH)} == {"place_batch", "sub_account_new_and_amend"}
    assert {b.name for b in OKX_LIMITS.for_op(Op.FILLS)} == {"fills", "fills_history"}
    assert not OKX_LIMITS.shared(Op.CANCEL, Op.PLACE)  # cancels never wait behind places at OKX
    assert OKX_LIMITS.rate_limit_codes == {"50011", "50061"}


async def test_a_place_goes_out_as_a_ws_op_with_inst_id_code_exptime_and_its_sent_time():
    venue, orders, rest, sent = make([ok(item("1"))])
    (r,) = await venue.place([place(exp=1_234)])
    assert (r.outcome, r.cl_ord_id, r.ord_id, r.code) == (W.ACCEPTED, "1", "9", "0")
    assert r.acked_ns >= r.sent_ns and (r.venue_in_us, r.venue_out_us) == (11, 22)
    ((op, args, exp),) = orders.sent
    assert (op, exp) == ("order", 1_234)
    assert args == [{"instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.5",
                     "clOrdId": "1", "px": "99", "tag": "hft"}]
    assert sent == [(("1",), 1_700_000_000_000_000_001)] and not rest.posted


async def test_a_batch_answers_per_item_in_request_order_whatever_order_the_answer_has():
    reqs = [place("1", exp=5), place("2", exp=3), place("3", SWAP.inst_id, OrdType.MARKET, exp=4)]
    answer = ok(item("3", ord_id="33"), item("1", ord_id="11"), item("2", "51121"), code="2")
    venue, orders, _, sent = make([answer])
    results = await venue.place(reqs)
    assert [(r.cl_ord_id, r.outcome, r.ord_id) for r in results] == [
        ("1", W.ACCEPTED, "11"), ("2", W.REFUSED, None), ("3", W.ACCEPTED, "33")]
    ((op, args, exp),) = orders.sent
    assert op == "batch-orders" and exp == 3  # the earliest deadline of the items
    assert args[2] == {"instIdCode": 79, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "2",
                       "clOrdId": "3", "tag": "hft"}
    assert sent == [(("1", "2", "3"), 1_700_000_000_000_000_001)]


async def test_an_item_the_answer_lacks_is_ambiguous():
    venue, *_ = make([ok(item("1"), code="2")])
    results = await venue.place([place("1"), place("2")])
    assert [r.outcome for r in results] == [W.ACCEPTED, W.AMBIGUOUS]


async def test_not_sent_over_ws_goes_over_rest_with_inst_id_and_the_same_deadline():
    venue, orders, rest, sent = make([NotSent("down")], [rest_ok(item("1"))])
    (r,) = await venue.place([place(exp=777)])
    assert r.outcome is W.ACCEPTED and (r.venue_in_us, r.venue_out_us) == (33, 44)
    assert not orders.sent
    ((path, body, exp),) = rest.posted
    assert (path, exp, body["instId"], "instIdCode" in body) == ("/trade/order", 777, "TST-USDT", False)
    assert sent == [(("1",), 1_700_000_000_000_000_002)] and venue.stats.rest_fallbacks == 1


@pytest.mark.parametrize("code", ["60011", "60012", "60013", "60028", "64007"])
async def test_an_op_the_ws_gateway_refused_whole_goes_over_rest(code):
    venue, orders, rest, sent = make([OpResponse("o1", "batch-orders", code, "no", [], 0)],
                                     [rest_ok(item("1"), item("2"))])
    results = await venue.place([place("1"), place("2")])
    assert [r.outcome for r in results] == [W.ACCEPTED, W.ACCEPTED]
    assert [p[0] for p in rest.posted] == ["/trade/batch-orders"] and len(rest.posted[0][1]) == 2
    assert len(sent) == 2  # the WS frame and the REST request both left


@pytest.mark.parametrize("failure", [TimeoutError(), ConnectionError("private socket closed")])
async def test_no_answer_over_ws_is_ambiguous_and_never_sent_again(failure):
    venue, orders, rest, _ = make([failure])
    (r,) = await venue.place([place()])
    assert r.outcome is W.AMBIGUOUS and r.acked_ns is None
    assert len(orders.sent) == 1 and not rest.posted


@pytest.mark.parametrize(("code", "expected"), [("50004", W.AMBIGUOUS), ("50011", W.REFUSED), ("50061", W.REFUSED),
                                                ("0", W.AMBIGUOUS), ("1", W.AMBIGUOUS), ("63999", W.AMBIGUOUS)])
async def test_a_top_level_code_without_items_classes_the_whole_op_and_never_falls_back(code, expected):
    venue, _, rest, _ = make([OpResponse("o1", "order", code, "", [], 0)])
    results = await venue.place([place("1"), place("2")])
    assert {r.outcome for r in results} == {expected} and not rest.posted


@pytest.mark.parametrize(("failure", "expected"), [(RestNotSent("refused"), W.REFUSED),
                                                   (RestAnswerLost("timeout"), W.AMBIGUOUS)])
async def test_rest_writes_are_never_retried(failure, expected):
    venue, orders, rest, _ = make([], [failure], transport=Transport.REST)
    (r,) = await venue.cancel([CancelRequest(SPOT.inst_id, "1", "9")])
    assert r.outcome is expected and not orders.sent and not rest.posts


async def test_rest_answers_are_classed_like_ws_ones():
    answers = [RestAnswer(429, "50011", "Too Many Requests", []), RestAnswer(400, "50004", "timeout", []),
               RestAnswer(401, "50113", "Invalid Sign.", []), RestAnswer(502, "", "<html>", []),
               rest_ok(item("1", "51400"), code="1")]
    venue, *_ = make([], answers, transport=Transport.REST)
    got = [(await venue.cancel([CancelRequest(SPOT.inst_id, "1")]))[0].outcome for _ in answers]
    assert got == [W.REFUSED, W.AMBIGUOUS, W.REFUSED, W.AMBIGUOUS, W.EVIDENCE_NEEDED]


async def test_amend_and_cancel_ops_their_args_and_outcomes():
    amend = AmendRequest(SPOT.inst_id, "1", "21", 999, new_sz=D(2), ord_id="9")
    venue, orders, _, _ = make([ok(item("1", "51603", reqId="21")), ok(item("1")), ok(item("1", "51400"))])
    (a,) = await venue.amend([amend])
    assert (a.outcome, a.req_id) == (W.EVIDENCE_NEEDED, "21")
    (c,) = await venue.cancel([CancelRequest(SPOT.inst_id, "1", "9")])
    (gone,) = await venue.cancel([CancelRequest(SPOT.inst_id, "1")])
    assert (c.outcome, gone.outcome) == (W.ACCEPTED, W.EVIDENCE_NEEDED)
    assert [(op, exp) for op, _, exp in orders.sent] == [("amend-order", 999), ("cancel-order", None),
                                                         ("cancel-order", None)]
    assert orders.sent[0][1] == [{"instIdCode": 77, "clOrdId": "1", "reqId": "21", "ordId": "9", "newSz": "2"}]


async def test_an_unknown_instrument_is_refused_locally_and_the_rest_is_sent():
    venue, orders, _, _ = make([ok(item("2"))])
    results = await venue.place([place("1", inst="NOPE-USDT"), place("2")])
    assert [(r.outcome, r.code) for r in results] == [(W.REFUSED, "51001"), (W.ACCEPTED, "0")]
    assert orders.sent[0][0] == "order" and [a["clOrdId"] for a in orders.sent[0][1]] == ["2"]


@pytest.mark.parametrize("n", [0, 21])
async def test_batches_have_bounds(n):
    venue, *_ = make()
    with pytest.raises(ValueError):
        await venue.place([place(str(i)) for i in range(n)])


async def test_a_sent_hook_that_raises_changes_nothing():
    orders, rest = FakeOrders([ok(item("1"))]), FakeRest()

    def broken(ids, ns):
        raise RuntimeError("monitoring bug")
    venue = OkxVenue(FakeClient(orders, rest), None, {SPOT.inst_id: SPOT})  # a mapping of specs, the client's REST
    venue.on_sent = broken  # assigned after construction, as a runner built later does
    assert (await venue.place([place()]))[0].outcome is W.ACCEPTED and venue.stats.on_sent_errors == 1


async def test_a_query_reads_the_latest_order_and_51603_as_not_found():
    rec = {"instId": "TST-USDT", "ordId": "9", "clOrdId": "1", "tag": "hft", "side": "buy", "ordType": "limit",
           "sz": "0.5", "px": "99", "state": "partially_filled", "accFillSz": "0.1", "avgPx": "99", "cTime": "1",
           "uTime": "2"}
    gets = {"/trade/order": [[rec], RestError("/trade/order", "51603", "Order does not exist"),
                             RestError("/trade/order", "-", "timeout"), [{**rec, "state": "odd"}], []]}
    venue, _, rest, _ = make(gets=gets)
    found = await venue.query("TST-USDT", "1")
    assert found.outcome is Lookup.FOUND and (found.order.state, found.order.acc_fill_sz) == (
        OrderState.PARTIALLY_FILLED, D("0.1"))
    assert rest.got[0] == ("/trade/order", {"instId": "TST-USDT", "clOrdId": "1"})
    assert [(await venue.query("TST-USDT", "1")).outcome for _ in range(4)] == [
        Lookup.NOT_FOUND, Lookup.FAILED, Lookup.FAILED, Lookup.FAILED]


def _order(n: int, tag: str = "hft") -> dict:
    return {"instId": "TST-USDT", "ordId": str(1000 - n), "clOrdId": str(n), "tag": tag, "side": "buy",
            "ordType": "limit", "sz": "1", "px": "99", "state": "live", "accFillSz": "0", "avgPx": "", "cTime": "1",
            "uTime": "1"}


async def test_open_orders_walks_every_page_and_filters_by_tag():
    pages = [[_order(1), _order(2, "other")], [_order(3)], []]
    venue, _, rest, _ = make(gets={"/trade/orders-pending": pages}, page_limit=2)
    assert [o.cl_ord_id for o in await venue.open_orders("hft")] == ["1", "3"]
    assert [p.get("after") for _, p in rest.got] == [None, "998"]  # the oldest ordId of the page


async def test_a_cursor_that_does_not_move_stops_the_walk():
    stuck = [[_order(1), _order(2)]] * 5
    venue, *_ = make(gets={"/trade/orders-pending": stuck}, page_limit=2)
    with pytest.raises(PagingStalled):
        await venue.open_orders()


async def test_reads_that_do_not_answer_raise_never_return_part():
    bad = RestError("/x", "50011", "Rate limit reached")
    gets = {"/trade/orders-pending": [[_order(1), _order(2)], bad], "/account/positions": [bad],
            "/account/balance": [bad], "/trade/fills-history": [bad]}
    venue, *_ = make(gets=gets, page_limit=2)
    for call in (venue.open_orders(), venue.positions(), venue.balances(), venue.fills_since(SPOT.inst_id, None)):
        with pytest.raises(VenueUnavailable):
            await call


def _fill(trade: int, bill: int) -> dict:
    return {"instId": "TST-USDT-SWAP", "tradeId": str(trade), "billId": str(bill), "clOrdId": "1", "ordId": "9",
            "side": "buy", "fillPx": "100", "fillSz": "1", "fee": "-0.05", "feeCcy": "USDT", "ts": "5",
            "execType": "T"}


async def test_fills_since_a_cursor_walk_recent_fills_back_to_it():
    pages = [[_fill(15, 105), _fill(14, 104)], [_fill(13, 103), _fill(12, 102)]]
    venue, _, rest, _ = make(gets={"/trade/fills": pages}, page_limit=2)
    fills = await venue.fills_since(SWAP.inst_id, "12")
    assert [f.trade_id for f in fills] == ["13", "14", "15"]  # ascending, above the cursor, ids kept
    assert [(path, p.get("after"), p["instType"]) for path, p in rest.got] == [
        ("/trade/fills", None, "SWAP"), ("/trade/fills", "104", "SWAP")]


async def test_fills_since_an_old_cursor_continue_into_the_history_and_without_one_read_it_all():
    gets = {"/trade/fills": [[_fill(15, 105), _fill(14, 104)], [_fill(13, 103)]],
            "/trade/fills-history": [[_fill(-2, 102), _fill(11, 101)], [_fill(9, 100)]]}
    venue, _, rest, _ = make(gets=gets, page_limit=2)
    fills = await venue.fills_since(SWAP.inst_id, "10")
    assert [f.trade_id for f in fills] == ["11", "13", "14", "15"]  # once each; the liquidation (-2) is not a fill
    assert [(path, p.get("after")) for path, p in rest.got] == [
        ("/trade/fills", None), ("/trade/fills", "104"), ("/trade/fills-history", "103"),
        ("/trade/fills-history", "101")]
    venue, _, rest, _ = make(gets={"/trade/fills-history": [[_fill(2, 7)]]}, page_limit=2)
    assert [f.trade_id for f in await venue.fills_since(SWAP.inst_id, None)] == ["2"]
    assert [path for path, _ in rest.got] == ["/trade/fills-history"]


async def test_positions_and_balances():
    pos = [{"instId": "TST-USDT-SWAP", "pos": "-2", "posSide": "net", "avgPx": "100", "markPx": "101", "uTime": "7"},
           {"instId": "OTHER-SWAP", "pos": "0", "posSide": "net", "avgPx": "", "markPx": "1", "uTime": "7"}]
    bal = [{"uTime": "1", "details": [{"ccy": "USDT", "cashBal": "10", "availBal": "8", "uTime": "3"}]}]
    venue, *_ = make(gets={"/account/positions": [pos], "/account/balance": [bal]})
    (p,) = await venue.positions()
    assert (p.inst_id, p.qty, p.mark_px) == ("TST-USDT-SWAP", D(-2), D(101))
    (b,) = await venue.balances()
    assert (b.ccy, b.total, b.available, b.ts_ms) == ("USDT", D(10), D(8), 3)


async def test_cancel_all_after_is_a_rest_request_with_its_bounds():
    answers = [rest_ok({"triggerTime": "1", "tag": "hft", "ts": "1"}), RestAnswer(429, "50011", "Too Many", []),
               RestAnswerLost("timeout")]
    venue, _, rest, _ = make([], answers)
    got = [(await venue.cancel_all_after("hft", t)).outcome for t in (10, 0, 120)]
    assert got == [W.ACCEPTED, W.REFUSED, W.AMBIGUOUS]
    assert [b["timeOut"] for _, b, _ in rest.posted] == ["10", "0", "120"] and {b["tag"] for _, b, _ in rest.posted} == {
        "hft"}
    for bad in (5, 121):
        with pytest.raises(ValueError):
            await venue.cancel_all_after("hft", bad)


def _push(channel, data, event_type=None):
    return PrivatePush(channel, {"channel": channel}, data, 9_000_000, event_type)


async def test_the_stream_converts_pushes_and_the_sockets_state():
    venue, orders, *_ = make()
    await venue.start()
    assert orders.subscribed == list(PRIVATE_ARGS) and venue.connected
    stream = venue.stream()
    order = {"instId": "TST-USDT", "ordId": "9", "clOrdId": "1", "side": "buy", "ordType": "limit", "sz": "1",
             "px": "99", "state": "partially_filled", "accFillSz": "0.4", "avgPx": "99", "uTime": "5",
             "tradeId": "77", "fillSz": "0.4", "fillPx": "99", "fillFee": "-0.01", "fillFeeCcy": "TST", "fillTime": "5"}
    orders.on_push(_push("orders", [order, {**order, "state": "bogus"}]))
    orders.on_push(_push("positions", [{"instId": "TST-USDT-SWAP", "pos": "3", "posSide": "net", "avgPx": "100",
                                        "markPx": "102", "uTime": "6"}], "event_update"))
    orders.on_push(_push("balance_and_position", [{"eventType": "liquidation", "pTime": "8", "posData": [
        {"instId": "TST-USDT-SWAP", "pos": "0", "posSide": "net", "avgPx": "0", "uTime": "8"}]}]))
    orders.on_push(_push("account", [{"totalEq": "1"}]))
    orders.on_state(False, "close 1006")
    orders.on_state(True, "")
    got = [await asyncio.wait_for(stream.__anext__(), 1) for _ in range(5)]
    u, pos, liq, down, up = got
    assert isinstance(u, OrderUpdate) and u.fill.trade_id == "77" and u.acc_fill_sz == D("0.4")
    assert isinstance(pos, PositionsSnapshot) and pos.positions[0].qty == 3 and not pos.complete
    assert isinstance(liq, PositionsSnapshot) and liq.positions[0].qty == 0 and liq.positions[0].mark_px == D(102)
    assert isinstance(down, StreamStatus) and (down.state, down.reason) == (StreamState.DOWN, "close 1006")
    assert isinstance(up, StreamStatus) and up.state is StreamState.UP
    assert venue.stats.unreadable == 1 and venue.stats.stream_drops == 1
    second = venue.stream()  # replaces the first: it ends
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(stream.__anext__(), 1)
    await venue.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(second.__anext__(), 1)


async def test_a_stream_without_start_subscribes_by_itself_and_is_up_once_our_channels_are():
    venue, orders, *_ = make()
    stream = venue.stream()
    assert not venue.connected  # the socket is up, our channels are not on it yet
    ev = await asyncio.wait_for(stream.__anext__(), 1)
    assert isinstance(ev, StreamStatus) and ev.state is StreamState.UP
    assert orders.subscribed == list(PRIVATE_ARGS) and venue.connected


async def test_start_waits_for_the_private_socket():
    venue, orders, *_ = make(start_timeout_s=0.2)
    orders.ready = False
    with pytest.raises(ConnectionError):
        await venue.start()
    task = asyncio.create_task(venue.start())
    await asyncio.sleep(0)
    orders.ready = True
    orders.on_state(True, "")
    await asyncio.wait_for(task, 1)
    assert venue.connected
