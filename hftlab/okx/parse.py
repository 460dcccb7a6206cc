"""OKX v5 WebSocket frames -> typed events (hftlab.okx.events). The hot path of every feed.

`parse_frame` never raises: a frame it cannot understand (bad JSON, unknown channel or event, a field
of the wrong type or value) becomes one `ParseError` event naming the reason, so a bad frame never
kills a receive loop and is never half-trusted. Hostile input is counted, not trusted: every numeric
field is checked, not only typed — prices are strings of finite numbers > 0, sizes and volumes of
finite numbers >= 0 (a trade's size > 0), `ts` a positive integer (a string of digits) below
`TS_MAX_MS`, counts non-negative integers, a trade's side `buy` or `sell`, book levels
`[price, size, ...]` lists (okx/levels.py's check, compiled). Whether a `ts` is plausible against
local time and the stream's own past is `okx/timestamps.py`'s (it needs state). Prices and sizes stay
the exact strings OKX sent (the checksum needs them); `seqId`/`prevSeqId`/`checksum` are Python ints
(seqId exceeds 2**32). Added fields and longer arrays are ignored: 2022 frames lack
`count`/`source`/`seqId`, 2022 candles carry 7 elements instead of 9. Tickers may leave a price or
size empty (`""`: no bid on an illiquid book).

Routing follows the protocol: the literal text `pong` is a heartbeat; a JSON object with `event` is
control, with `op` a trading-op response, otherwise it is a push dispatched on `arg.channel`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from hftlab.okx.channels import BOOK_CHANNELS, INCREMENTAL_BOOK_CHANNELS, PRIVATE_PUSH_CHANNELS
from hftlab.okx.events import (
    BookMsg,
    Candle,
    ChannelConnCount,
    ErrorEvent,
    Event,
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
from hftlab.okx.levels import first_bad_level

RAW_KEEP = 500  # characters of a bad frame kept in its ParseError
TS_MAX_MS = 32_503_680_000_000  # 3000-01-01: a `ts` past this is no time at all (and would overflow ns in int64)
SIDES = frozenset({"buy", "sell"})

# Anything a malformed but valid-JSON frame can throw while its fields are read.
_FIELD_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError)

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class BadField(ValueError):
    """A field is present but not what the protocol says it is."""


def parse_frame(raw: str | bytes, recv_ns: int) -> list[Event]:
    """One received frame -> its events (a push with several `data` items gives several)."""
    if raw == "pong" or raw == b"pong":
        return [Pong(recv_ns)]
    try:
        msg = _loads(raw)
    except _JSONDecodeError as e:
        return [_error(f"invalid JSON: {e}", raw, recv_ns)]
    if type(msg) is not dict:
        return [_error(f"expected a JSON object, got {type(msg).__name__}", raw, recv_ns)]
    try:
        arg = msg.get("arg")
        if "event" in msg:
            return [_control(msg)]
        if "op" in msg:
            return [_op_response(msg, recv_ns)]
        if arg is None:
            return [_error("neither event, op nor arg: not an OKX v5 frame", raw, recv_ns)]
        data = msg.get("data")
        if type(data) is not list:
            return [_error("push without a `data` array", raw, recv_ns)]
        channel = arg["channel"]
        handler = _HANDLERS.get(channel)
        if handler is None:
            if type(channel) is str and channel.startswith("candle"):
                handler = _candles
            else:
                return [_error(f"unknown channel {channel!r}", raw, recv_ns)]
        return handler(msg, arg, data, recv_ns)
    except BadField as e:
        return [_error(str(e), raw, recv_ns)]
    except _FIELD_ERRORS as e:
        return [_error(f"bad field: {type(e).__name__}: {e}", raw, recv_ns)]


def malformed(reason: str, raw: Any, recv_ns: int) -> ParseError:
    """The `ParseError` of a frame refused for `reason` (the raw frame truncated to RAW_KEEP)."""
    return _error(reason, raw, recv_ns)


def _error(reason: str, raw: Any, recv_ns: int) -> ParseError:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        text = bytes(raw[: RAW_KEEP * 4]).decode("utf-8", "replace")
    else:
        text = str(raw)
    return ParseError(reason, text[:RAW_KEEP], recv_ns)


def _str(v: Any, name: str) -> str:
    if type(v) is not str:
        raise BadField(f"{name} must be a string, got {type(v).__name__}")
    return v


def _num(v: Any, name: str, positive: bool) -> str:
    """`v` itself: a string of a finite number, > 0 (`positive`) or >= 0."""
    if type(v) is not str:
        raise BadField(f"{name} must be a string, got {type(v).__name__}")
    try:
        f = float(v)
    except ValueError:
        raise BadField(f"bad field: {name} is not a number: {v!r:.40}") from None
    if f - f != 0.0 or not (f > 0.0 if positive else f >= 0.0):
        raise BadField(f"bad field: {name} must be a finite number {'> 0' if positive else '>= 0'}: {v!r:.40}")
    return v


def _opt_num(v: Any, name: str) -> str:
    """A ticker's price or size: a finite number >= 0, or empty."""
    return v if v == "" else _num(v, name, False)


def _ts(v: Any, name: str = "ts") -> int:
    """A Unix millisecond time: a positive integer (OKX sends a string of digits) before TS_MAX_MS."""
    if type(v) is str and v.isascii() and v.isdigit():
        t = int(v)
    elif type(v) is int:
        t = v
    else:
        raise BadField(f"bad field: {name} must be a string of digits, got {v!r:.40}")
    if not 0 < t < TS_MAX_MS:
        raise BadField(f"bad field: {name} is no time: {t}")
    return t


def _opt_count(v: Any, name: str) -> int | None:
    if v is None:
        return None
    if type(v) is str and v.isascii() and v.isdigit():
        return int(v)
    if type(v) is int and v >= 0:
        return v
    raise BadField(f"bad field: {name} must be a non-negative integer, got {v!r:.40}")


def _opt_int(v: Any, name: str) -> int | None:
    if v is None or type(v) is int:
        return v
    raise BadField(f"{name} must be an integer, got {type(v).__name__}")


def _opt_str(v: Any, name: str) -> str | None:
    if v is None or type(v) is str:
        return v
    raise BadField(f"{name} must be a string, got {type(v).__name__}")


def _code(msg: dict) -> str:
    code = msg.get("code", "")
    if type(code) is int:  # OKX sends strings; tolerate a number
        return str(code)
    return _str(code, "code")


def _control(msg: dict) -> Event:
    event = msg["event"]
    conn_id = _opt_str(msg.get("connId"), "connId")
    if event == "subscribe" or event == "unsubscribe":
        arg = msg.get("arg")
        if type(arg) is not dict:
            raise BadField(f"{event} ack without an `arg` object")
        return Subscribed(arg, conn_id, event == "unsubscribe", _opt_str(msg.get("id"), "id"))
    if event == "error":
        return ErrorEvent(_code(msg), _str(msg.get("msg", ""), "msg"), conn_id, _opt_str(msg.get("id"), "id"))
    if event == "login":
        return Login(_code(msg), _str(msg.get("msg", ""), "msg"), conn_id)
    if event == "notice":
        return Notice(_code(msg), _str(msg.get("msg", ""), "msg"), conn_id)
    if event == "channel-conn-count" or event == "channel-conn-count-error":
        return ChannelConnCount(_str(msg["channel"], "channel"), int(msg["connCount"]),
                                event == "channel-conn-count-error", conn_id)
    raise BadField(f"unknown event {event!r}")


def _op_response(msg: dict, recv_ns: int) -> OpResponse:
    if "code" not in msg:
        # `{"op": ..., "args": [...]}` is what a client sends, never what OKX answers.
        raise BadField(f"op {msg['op']!r} without `code`: a client request, not a server response")
    data = msg.get("data", [])
    if type(data) is not list:
        raise BadField("op response `data` must be an array")
    in_time, out_time = msg.get("inTime"), msg.get("outTime")
    return OpResponse(
        _str(msg["id"], "id"), _str(msg["op"], "op"), _code(msg), _str(msg.get("msg", ""), "msg"), data, recv_ns,
        int(in_time) if in_time else None, int(out_time) if out_time else None,
    )


def _book(msg: dict, arg: dict, data: list, recv_ns: int) -> list[Event]:
    channel = arg["channel"]
    inst_id = arg["instId"]
    if type(inst_id) is not str:
        raise BadField("arg.instId must be a string")
    action = msg.get("action")
    if channel in INCREMENTAL_BOOK_CHANNELS:
        if action != "snapshot" and action != "update":
            raise BadField(f"{channel} push needs action snapshot|update, got {action!r}")
    elif action is not None:
        raise BadField(f"{channel} pushes carry no action, got {action!r}")
    out: list[Event] = []
    for d in data:
        asks, bids = d["asks"], d["bids"]
        if type(asks) is not list or type(bids) is not list:
            raise BadField("asks and bids must be arrays")
        side, bad = asks, first_bad_level(asks)  # compiled (okx/levels.py): the hot loop
        if bad < 0:
            side, bad = bids, first_bad_level(bids)
        if bad >= 0:
            raise BadField(f"a level must be [price > 0, size >= 0, ...] number strings, got {side[bad]!r:.80}")
        checksum, seq_id, prev_seq_id = d.get("checksum"), d.get("seqId"), d.get("prevSeqId")
        if ((checksum is not None and type(checksum) is not int) or (seq_id is not None and type(seq_id) is not int)
                or (prev_seq_id is not None and type(prev_seq_id) is not int)):
            raise BadField("checksum, seqId and prevSeqId must be integers")
        out.append(BookMsg(channel, inst_id, action, asks, bids, _ts(d["ts"]), recv_ns, checksum, seq_id, prev_seq_id))
    return out


def _trades(msg: dict, arg: dict, data: list, recv_ns: int) -> list[Event]:
    channel = arg["channel"]
    out: list[Event] = []
    for d in data:
        side = d["side"]
        if side not in SIDES:
            raise BadField(f"bad field: side must be buy or sell, got {side!r:.40}")
        out.append(Trade(
            channel, _str(d.get("instId") or arg["instId"], "instId"), _str(d["tradeId"], "tradeId"),
            _num(d["px"], "px", True), _num(d["sz"], "sz", True), side, _ts(d["ts"]), recv_ns,
            _opt_count(d.get("count"), "count"), _opt_int(d.get("seqId"), "seqId"),
        ))
    return out


def _tickers(msg: dict, arg: dict, data: list, recv_ns: int) -> list[Event]:
    out: list[Event] = []
    for d in data:
        out.append(Ticker(
            _str(d.get("instId") or arg["instId"], "instId"), _opt_num(d["last"], "last"),
            _opt_num(d["lastSz"], "lastSz"), _opt_num(d["bidPx"], "bidPx"), _opt_num(d["bidSz"], "bidSz"),
            _opt_num(d["askPx"], "askPx"), _opt_num(d["askSz"], "askSz"), _ts(d["ts"]), recv_ns, d,
        ))
    return out


def _candles(msg: dict, arg: dict, data: list, recv_ns: int) -> list[Event]:
    channel = arg["channel"]
    inst_id = _str(arg["instId"], "arg.instId")
    out: list[Event] = []
    for c in data:
        if type(c) is not list or len(c) < 7:
            raise BadField("a candle is an array [ts, o, h, l, c, vol, volCcy, ...]")
        for v in c[1:5]:
            _num(v, "candle price", True)
        for v in c[5:7]:
            _num(v, "candle volume", False)
        # [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]; 2022 pushes stop after volCcy.
        quote = _num(c[7], "volCcyQuote", False) if len(c) > 7 else None
        out.append(Candle(channel, inst_id, _ts(c[0]), c[1], c[2], c[3], c[4], c[5], c[6], quote,
                          len(c) > 8 and c[8] == "1", recv_ns))
    return out


def _private(msg: dict, arg: dict, data: list, recv_ns: int) -> list[Event]:
    for d in data:
        if type(d) is not dict:
            raise BadField(f"{arg['channel']} data items must be objects")
    return [PrivatePush(arg["channel"], arg, data, recv_ns, msg.get("eventType"))]


_Handler = Callable[[dict, dict, list, int], list[Event]]
_HANDLERS: dict[str, _Handler] = {
    **{c: _book for c in BOOK_CHANNELS},
    "trades": _trades,
    "trades-all": _trades,
    "tickers": _tickers,
    **{c: _private for c in PRIVATE_PUSH_CHANNELS},
}
