"""parse_frame on real captures, every docs example, malformed input and arbitrary input."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.okx.book import BookKeeper
from hftlab.okx.events import (
    BookMsg,
    Candle,
    ChannelConnCount,
    ErrorEvent,
    Login,
    Notice,
    OpResponse,
    ParseError,
    Pong,
    PrivatePush,
    Subscribed,
    Ticker,
    Trade,
)
from hftlab.okx.parse import RAW_KEEP, parse_frame

EVENT_TYPES = (BookMsg, Candle, ChannelConnCount, ErrorEvent, Login, Notice, OpResponse, ParseError, Pong,
               PrivatePush, Subscribed, Ticker, Trade)


def one(raw, recv_ns=7):
    events = parse_frame(raw, recv_ns)
    assert len(events) == 1, events
    return events[0]


# -- the channels ---------------------------------------------------------------------------------

def test_pong_text_and_bytes():
    assert one("pong") == Pong(7)
    assert one(b"pong") == Pong(7)


def test_trade_2026_with_count_source_seq_id():
    t = one('{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",'
            '"tradeId":"2832749645","px":"63913.4","sz":"34.95","side":"sell","ts":"1786540436090",'
            '"count":"10","source":"0","seqId":333793118093}]}')
    assert t == Trade("trades", "BTC-USDT-SWAP", "2832749645", "63913.4", "34.95", "sell", 1786540436090, 7,
                      count=10, seq_id=333793118093)
    assert t.seq_id > 2**32 and t.price == 63913.4


def test_trade_2022_without_new_fields():
    t = one(b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"314161276",'
            b'"px":"43474.1","sz":"0.00373695","side":"buy","ts":"1646311839593"}]}')
    assert (t.sz, t.count, t.seq_id) == ("0.00373695", None, None)


def test_trades_all_and_several_data_items():
    events = parse_frame('{"arg":{"channel":"trades-all","instId":"BTC-USDT"},"data":['
                         '{"instId":"BTC-USDT","tradeId":"1","px":"1.0","sz":"2","side":"buy","ts":"5","source":"0"},'
                         '{"instId":"BTC-USDT","tradeId":"2","px":"1.5","sz":"3","side":"sell","ts":"6"}]}', 1)
    assert [(e.channel, e.trade_id, e.px) for e in events] == [("trades-all", "1", "1.0"), ("trades-all", "2", "1.5")]


def test_ticker_keeps_every_field():
    t = one('{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT",'
            '"last":"63707.3","lastSz":"0.00164251","askPx":"63707.3","askSz":"0.15455902","bidPx":"63707.2",'
            '"bidSz":"1.70080521","open24h":"63958.9","ts":"1786613174873","newField":"x"}]}')
    assert (t.inst_id, t.bid_px, t.ask_sz, t.ts_ms) == ("BTC-USDT", "63707.2", "0.15455902", 1786613174873)
    assert t.fields["open24h"] == "63958.9" and t.fields["newField"] == "x"


def test_books_update_with_large_seq_ids():
    m = one('{"arg":{"channel":"books","instId":"ETH-USDT-SWAP"},"action":"update","data":[{"asks":[["1","0","0","0"]],'
            '"bids":[],"ts":"1","checksum":0,"prevSeqId":332842417855,"seqId":332842418754}]}')
    assert (m.action, m.asks, m.bids, m.checksum) == ("update", [["1", "0", "0", "0"]], [], 0)
    assert (m.prev_seq_id, m.seq_id) == (332842417855, 332842418754)


def test_books_2022_update_without_seq_ids():
    m = one('{"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{"asks":'
            '[["30249.4","0","0","0"],["30261","4","0","1"]],"bids":[["30182.6","452","0","1"]],'
            '"ts":"1652459225464","checksum":-914047754}]}')
    assert (m.checksum, m.seq_id, m.prev_seq_id) == (-914047754, None, None)
    assert m.asks[1] == ["30261", "4", "0", "1"]


@pytest.mark.parametrize("channel", ["books5", "bbo-tbt"])
def test_top_channels_have_no_action(channel):
    m = one(f'{{"arg":{{"channel":"{channel}","instId":"BTC-USDT"}},"data":[{{"asks":[["2","1","0","1"]],'
            f'"bids":[["1","1","0","1"]],"instId":"BTC-USDT","ts":"9","seqId":79706756139}}]}}')
    assert (m.channel, m.action, m.checksum, m.seq_id) == (channel, None, None, 79706756139)


def test_candles_2026_and_2022_shapes():
    c = one('{"arg":{"channel":"candle1m","instId":"BTC-USDT-SWAP"},"data":[["1786540440000","63913.0","63951.8",'
            '"63913.0","63951.8","1803.61","18.0361","1153203.99426000","0"]]}')
    assert c == Candle("candle1m", "BTC-USDT-SWAP", 1786540440000, "63913.0", "63951.8", "63913.0", "63951.8",
                       "1803.61", "18.0361", "1153203.99426000", False, 7)
    closed = one('{"arg":{"channel":"candle1H","instId":"X"},"data":[["1","2","3","1","2","5","6","7","1","extra"]]}')
    assert closed.confirm is True
    old = one('{"arg":{"channel":"candle1D","instId":"BTC-USD-191227"},"data":[["1597026383085","8533.02",'
              '"8553.74","8527.17","8548.26","45247","529.5858061"]]}')
    assert (old.vol_ccy, old.vol_ccy_quote, old.confirm) == ("529.5858061", None, False)


def test_control_events():
    assert one('{"id":"1512","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}') == \
        Subscribed({"channel": "books", "instId": "BTC-USDT"}, "a4d3ae55", False, "1512")
    assert one('{"event":"unsubscribe","arg":{"channel":"tickers"},"connId":"c"}').unsubscribed is True
    assert one('{"event":"error","msg":"Please log in","code":"60011","connId":"78d58071"}') == \
        ErrorEvent("60011", "Please log in", "78d58071")
    assert one('{"event":"login","code":"0","msg":"","connId":"x"}') == Login("0", "", "x")
    assert one('{"event":"notice","code":"64008","msg":"soon closed","connId":"x"}') == Notice("64008", "soon closed", "x")
    assert one('{"event":"channel-conn-count","channel":"orders","connCount":"2","connId":"a"}') == \
        ChannelConnCount("orders", 2, False, "a")
    assert one('{"event":"channel-conn-count-error","channel":"orders","connCount":"30","connId":"a"}').error is True


def test_op_response():
    r = one('{"id":"1512","op":"order","data":[{"ordId":"12345689","sCode":"0","sMsg":""}],"code":"0","msg":"",'
            '"inTime":"1695190491421339","outTime":"1695190491423240"}')
    assert r == OpResponse("1512", "order", "0", "", [{"ordId": "12345689", "sCode": "0", "sMsg": ""}], 7,
                           1695190491421339, 1695190491423240)


def test_private_push_keeps_okx_dicts(shared_data):
    raw = (shared_data / "okx/fixtures/nautilus_ws_orders_push.json").read_bytes()
    p = one(raw)
    assert isinstance(p, PrivatePush) and p.channel == "orders"
    assert p.data[0]["clOrdId"] == "001BTCUSDT20250106001" and p.event_type is None


# -- real captures -------------------------------------------------------------------------------

def test_every_recorded_frame_parses(shared_data):
    paths = sorted((shared_data / "okx/ws").glob("*.jsonl"))
    assert len(paths) == 4, paths  # an empty glob must not pass
    frames = 0
    for path in paths:
        for line in path.read_bytes().splitlines():
            doc = orjson.loads(line)
            raw = orjson.dumps(doc["msg"]) if "recv_ts" in doc else line
            for e in parse_frame(raw, 0):
                frames += 1
                assert not isinstance(e, ParseError), (path.name, e)
    assert frames > 3000


def test_ccxt_fixture(shared_data):
    with (shared_data / "okx/fixtures/ccxt_okx_ws_static_fixture_2026-08.json").open() as f:
        cases = json.load(f)["cases"]
    kinds: dict[type, int] = {}
    for case in cases:
        for m in case["messages"]:
            for e in parse_frame(orjson.dumps(m), 0):
                kinds[type(e)] = kinds.get(type(e), 0) + 1
                if isinstance(e, BookMsg):
                    assert e.action is None and e.seq_id > 2**32 // 100 and len(e.asks) == 5
                if isinstance(e, Trade):
                    assert e.count is not None and e.seq_id is not None
                if isinstance(e, Candle):
                    assert e.vol_ccy_quote is not None
    assert ParseError not in kinds
    assert {Subscribed, Ticker, Candle, Trade, BookMsg} <= set(kinds)


# Every docs example: the event type each must give. Requests are what a client sends: never a
# server frame, so they are reported as ParseError rather than mistaken for a response.
_EXPECTED_BY_EVENT = {"subscribe": Subscribed, "unsubscribe": Subscribed, "error": ErrorEvent, "login": Login,
                      "notice": Notice, "channel-conn-count": ChannelConnCount,
                      "channel-conn-count-error": ChannelConnCount}
_EXPECTED_BY_CHANNEL = {"books": BookMsg, "bbo-tbt": BookMsg, "books5": BookMsg, "candle1D": Candle,
                        "tickers": Ticker, "trades": Trade, "trades-all": Trade, "orders": PrivatePush,
                        "positions": PrivatePush, "account": PrivatePush}


def _docs_examples(shared_data):
    for path in sorted((shared_data / "okx/fixtures/docs_examples").glob("ws_*.json")):
        with path.open() as f:
            for ex in json.load(f)["examples"]:
                yield path.name, ex["title"], ex["json"]


def test_every_docs_example(shared_data):
    seen = 0
    for name, title, doc in _docs_examples(shared_data):
        (e,) = parse_frame(orjson.dumps(doc), 3)
        if "Request" in title:
            expected = ParseError
        elif "event" in doc:
            expected = _EXPECTED_BY_EVENT[doc["event"]]
        elif "op" in doc:
            expected = OpResponse
        else:
            expected = _EXPECTED_BY_CHANNEL[doc["arg"]["channel"]]
        assert type(e) is expected, (name, title, e)
        if expected is ParseError:
            assert "client request" in e.reason
        seen += 1
    assert seen == 71


def test_docs_books_examples_content(shared_data):
    books = [(t, d) for n, t, d in _docs_examples(shared_data) if n == "ws_books_channel_2026-06.json"]
    snap = next(d for t, d in books if "Full Snapshot" in t)
    (m,) = parse_frame(orjson.dumps(snap), 0)
    assert (m.action, m.prev_seq_id, m.checksum) == ("snapshot", -1, 0)
    assert m.asks == snap["data"][0]["asks"] and m.bids == snap["data"][0]["bids"]


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, reason", [
    ("not json", "invalid JSON"),
    (b"\xff\xfe", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"foo": 1}', "not an OKX v5 frame"),
    ('{"arg":{"channel":"mark-price","instId":"X"},"data":[]}', "unknown channel"),
    ('{"event":"bogus"}', "unknown event"),
    ('{"arg":{"channel":"books","instId":"X"},"data":[{"asks":[],"bids":[],"ts":"1"}]}', "action"),
    ('{"arg":{"channel":"books5","instId":"X"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1"}]}', "no action"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[[1,"1"]],"bids":[],"ts":"1"}]}', "level"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[["1"]],"bids":[],"ts":"1"}]}', "level"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","seqId":1.5}]}', "integers"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1",'
     '"seqId":123456789012345678901234567890}]}', "integers"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[],"ts":"soon"}]}', "bad field"),
    ('{"arg":{"channel":"trades","instId":"X"},"data":[{"tradeId":"1","px":63913.4,"sz":"1","side":"buy","ts":"1"}]}', "px"),
    ('{"arg":{"channel":"trades","instId":"X"},"data":[{"tradeId":"1","sz":"1","side":"buy","ts":"1"}]}', "KeyError"),
    ('{"arg":{"channel":"trades","instId":"X"}}', "data"),
    ('{"arg":{"channel":"candle1m","instId":"X"},"data":[["1","2","3"]]}', "candle"),
    ('{"arg":{"channel":"orders","instType":"ANY"},"data":["x"]}', "objects"),
    ('{"op":"order","args":[{}]}', "client request"),
    ('{"event":"subscribe"}', "arg"),
])
def test_malformed_frames_become_parse_errors(raw, reason):
    e = one(raw)
    assert isinstance(e, ParseError), e
    assert reason in e.reason
    assert e.recv_ns == 7


_T = '{"arg":{"channel":"trades","instId":"X"},"data":[{"tradeId":"1","px":%s,"sz":%s,"side":%s,"ts":%s%s}]}'


def _trade(px='"1.5"', sz='"2"', side='"buy"', ts='"1700000000000"', extra=""):
    return _T % (px, sz, side, ts, extra)


@pytest.mark.parametrize("raw, reason", [
    (_trade(px='"abc"'), "px is not a number"),
    (_trade(px='"-1"'), "px must be a finite number > 0"),
    (_trade(px='"0"'), "px must be a finite number > 0"),
    (_trade(px='"inf"'), "px must be a finite number"),
    (_trade(px='"nan"'), "px must be a finite number"),
    (_trade(px='"1e400"'), "px must be a finite number"),
    (_trade(px='""'), "px is not a number"),
    (_trade(px="1.5"), "px must be a string"),
    (_trade(sz='"0"'), "sz must be a finite number > 0"),
    (_trade(sz='"-3"'), "sz must be a finite number > 0"),
    (_trade(sz="null"), "sz must be a string"),
    (_trade(side='"hold"'), "side must be buy or sell"),
    (_trade(ts='"-5"'), "ts must be a string of digits"),
    (_trade(ts='"0"'), "ts is no time"),
    (_trade(ts='"99999999999999999999"'), "ts is no time"),
    (_trade(ts='"1.7e12"'), "ts must be a string of digits"),
    (_trade(ts="true"), "ts must be a string of digits"),
    (_trade(extra=',"count":"-2"'), "count must be a non-negative integer"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[["-1","1","0","1"]],"bids":[],'
     '"ts":"1"}]}', "level"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[["1","inf","0","1"]],'
     '"ts":"1"}]}', "level"),
    ('{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[["NaN","1"]],"bids":[],"ts":"1"}]}',
     "level"),
    ('{"arg":{"channel":"tickers","instId":"X"},"data":[{"instId":"X","last":"abc","lastSz":"1","bidPx":"1",'
     '"bidSz":"1","askPx":"2","askSz":"1","ts":"1"}]}', "last is not a number"),
    ('{"arg":{"channel":"tickers","instId":"X"},"data":[{"instId":"X","last":"1","lastSz":"1","bidPx":"-1",'
     '"bidSz":"1","askPx":"2","askSz":"1","ts":"1"}]}', "bidPx must be a finite number >= 0"),
    ('{"arg":{"channel":"candle1m","instId":"X"},"data":[["1","2","-3","1","2","5","6"]]}', "candle price"),
    ('{"arg":{"channel":"candle1m","instId":"X"},"data":[["1","2","3","1","2","-5","6"]]}', "candle volume"),
    ('{"arg":{"channel":"candle1m","instId":"X"},"data":[["soon","2","3","1","2","5","6"]]}', "ts must be"),
])
def test_hostile_values_are_malformed_with_a_reason(raw, reason):
    e = one(raw)
    assert isinstance(e, ParseError), e
    assert reason in e.reason, e.reason


def test_a_ticker_may_leave_a_price_empty():
    t = one('{"arg":{"channel":"tickers","instId":"X"},"data":[{"instId":"X","last":"1","lastSz":"1","bidPx":"",'
            '"bidSz":"","askPx":"2","askSz":"1","ts":"1"}]}')
    assert isinstance(t, Ticker) and t.bid_px == ""


def test_parse_error_keeps_a_truncated_copy_of_the_frame():
    e = one("x" * 10_000)
    assert e.raw == "x" * RAW_KEEP
    assert one(b"\xff" * 10).raw.startswith("\ufffd")


def test_bytes_and_text_give_the_same_events(shared_data):
    path = shared_data / "okx/ws/okx-swap_BTC-USDT-SWAP_2026-07-03.jsonl"
    for line in path.read_bytes().splitlines():
        assert parse_frame(line, 1) == parse_frame(line.decode(), 1)


# -- arbitrary input never raises ----------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_channels = st.sampled_from(["books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt", "books-elp", "trades",
                             "trades-all", "tickers", "candle1m", "orders", "positions", "account", "fills",
                             "balance_and_position", "nope"])
_px = st.sampled_from(["1", "1.5", "0", "0.000", "2", "nan", "inf", "-1", "abc", "", "1e3"])
_good_px = st.sampled_from(["1", "1.5", "2", "0", "0.000", "10", "0.5", "3"])
_good_level = st.lists(_good_px, min_size=2, max_size=4)
_bad_level = st.lists(_px, max_size=3) | st.integers()
_int_ish = st.sampled_from([0, 1, 2, 3, -1, 5, 2**40, 2**40 + 1, None, None, None, "1", 1.5])


@st.composite
def _book_push(draw):
    """A book push that is mostly well-formed: the action fits the channel, levels are [px, sz] strings,
    with an occasional wrong action or malformed level."""
    channel = draw(st.sampled_from(["books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt", "books-elp"]))
    action = None if channel in ("books5", "bbo-tbt") else draw(st.sampled_from(["snapshot", "update", "update"]))
    if draw(st.integers(0, 20)) == 0:
        action = draw(st.sampled_from(["snapshot", "update", None, 3]))
    level = _bad_level if draw(st.integers(0, 10)) == 0 else _good_level
    item = st.fixed_dictionaries(
        {"asks": st.lists(level, max_size=4), "bids": st.lists(level, max_size=4), "ts": st.sampled_from(["1", "x"])},
        optional={"checksum": _int_ish, "seqId": _int_ish, "prevSeqId": _int_ish},
    )
    doc = {"arg": {"channel": channel, "instId": draw(st.sampled_from(["A", "B"]))},
           "data": draw(st.lists(item, min_size=1, max_size=2))}
    if action is not None:
        doc["action"] = action
    return doc


_str_item = st.fixed_dictionaries({}, optional={
    k: _px for k in ("instId", "tradeId", "px", "sz", "side", "ts", "count", "last", "lastSz", "bidPx", "bidSz",
                     "askPx", "askSz")
})
_push = st.fixed_dictionaries({
    "arg": st.fixed_dictionaries({"channel": st.sampled_from(["trades", "trades-all", "tickers", "candle1m", "orders",
                                                              "positions", "account", "fills",
                                                              "balance_and_position", "nope"]),
                                  "instId": st.sampled_from(["A", "B"])}),
    "data": st.lists(_str_item, min_size=1, max_size=2) | st.lists(st.lists(_px, max_size=10), min_size=1, max_size=2)
    | st.lists(_json, max_size=2) | _json,
})
_control = st.fixed_dictionaries({}, optional={k: _json | _px for k in ("event", "op", "code", "id", "msg", "arg",
                                                                          "channel", "connCount", "data")})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw):
    for e in parse_frame(raw, 0):
        assert isinstance(e, EVENT_TYPES)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_arbitrary_json_never_raises(doc):
    events = parse_frame(json.dumps(doc), 0)
    assert events and all(isinstance(e, EVENT_TYPES) for e in events)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_book_push() | _push | _control, min_size=1, max_size=8))
def test_okx_shaped_frames_never_raise_and_books_accept_what_parses(docs):
    keeper = BookKeeper()
    for doc in docs:
        for e in parse_frame(json.dumps(doc), 0):
            assert isinstance(e, EVENT_TYPES)
            if isinstance(e, BookMsg):
                keeper.apply(e)  # a malformed level invalidates the book; it never raises
