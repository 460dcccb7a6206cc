"""Typed events: what the venue says, once parsed. The contract between parser, books, bars, recorder and cache.

Prices and sizes keep the exact strings OKX sent (the checksum and the recorder need them); the
`price`/`size` style properties give floats to consumers. Every event carries the exchange time
(`ts_ms`, Unix ms) where the venue gives one, and `recv_ns`, the local receive time
(`time.time_ns()`), set by the socket reader before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Level = list[str]  # [px, sz, "0", numOrders] exactly as received


@dataclass(slots=True)
class Trade:
    channel: str  # trades | trades-all
    inst_id: str
    trade_id: str
    px: str
    sz: str
    side: str  # taker side: buy | sell
    ts_ms: int
    recv_ns: int
    count: int | None = None  # `trades` aggregates this many maker fills
    seq_id: int | None = None

    @property
    def price(self) -> float:
        return float(self.px)

    @property
    def size(self) -> float:
        return float(self.sz)


@dataclass(slots=True)
class Ticker:
    inst_id: str
    last: str
    last_sz: str
    bid_px: str
    bid_sz: str
    ask_px: str
    ask_sz: str
    ts_ms: int
    recv_ns: int
    fields: dict[str, str] = field(default_factory=dict)  # every field as received (open24h, vol24h, ...)


@dataclass(slots=True)
class BookMsg:
    """One order-book push: a snapshot or an update (books, books-l2-tbt, books50-l2-tbt), or a
    full top-N replacement (books5, bbo-tbt: `action` is None)."""

    channel: str
    inst_id: str
    action: str | None  # snapshot | update | None
    asks: list[Level]
    bids: list[Level]
    ts_ms: int
    recv_ns: int
    checksum: int | None = None  # None: absent; 0: "not provided" (OKX since 2026-06)
    seq_id: int | None = None
    prev_seq_id: int | None = None  # None: absent, distinct from any real id; -1 on a snapshot


@dataclass(slots=True)
class Candle:
    channel: str  # candle1s, candle1m, ...
    inst_id: str
    ts_ms: int  # candle open time
    open: str
    high: str
    low: str
    close: str
    vol: str
    vol_ccy: str
    vol_ccy_quote: str | None
    confirm: bool
    recv_ns: int


@dataclass(slots=True)
class Subscribed:
    arg: dict[str, Any]
    conn_id: str | None
    unsubscribed: bool = False
    id: str | None = None  # the request's `id`, echoed when the client sent one


@dataclass(slots=True)
class ErrorEvent:
    code: str
    msg: str
    conn_id: str | None = None
    id: str | None = None


@dataclass(slots=True)
class Login:
    code: str
    msg: str
    conn_id: str | None = None


@dataclass(slots=True)
class Notice:
    code: str  # 64008: the connection closes soon for a service upgrade
    msg: str
    conn_id: str | None = None


@dataclass(slots=True)
class ChannelConnCount:
    channel: str
    conn_count: int
    error: bool  # channel-conn-count-error: this connection is over the limit
    conn_id: str | None = None


@dataclass(slots=True)
class Pong:
    recv_ns: int


@dataclass(slots=True)
class OpResponse:
    """Answer to a WS trading op (`order`, `batch-orders`, `cancel-order`, `amend-order`, ...)."""

    id: str
    op: str
    code: str
    msg: str
    data: list[dict[str, Any]]
    recv_ns: int
    in_time_us: int | None = None  # gateway receive time of the request (µs), when sent
    out_time_us: int | None = None  # gateway send time of this response (µs), when sent


@dataclass(slots=True)
class PrivatePush:
    """`orders`, `positions`, `account`, `fills` ... pushes, kept as OKX's dicts of strings."""

    channel: str
    arg: dict[str, Any]
    data: list[dict[str, Any]]
    recv_ns: int
    event_type: str | None = None  # positions/account: snapshot | event_update


@dataclass(slots=True)
class ParseError:
    """A frame that could not be understood. Counted, logged, never raised out of the receive loop."""

    reason: str
    raw: str  # the frame, truncated to 500 characters
    recv_ns: int


MarketEvent = Trade | Ticker | BookMsg | Candle
ControlEvent = Subscribed | ErrorEvent | Login | Notice | ChannelConnCount | Pong | OpResponse
Event = MarketEvent | ControlEvent | PrivatePush | ParseError
