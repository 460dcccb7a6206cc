"""Where each channel lives (protocol §1.2), how subscribe args are keyed, and how they are batched.

Three socket roles: `public` (books, trades, tickers, ...), `business` (every candle channel,
`trades-all`, algo/grid channels) and `private` (login; orders, positions, account, ... and the WS
trading ops). Subscribing on the wrong URL fails with 60018/64001/64002, so routing is by channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

PUBLIC, BUSINESS, PRIVATE = "public", "business", "private"
ROLES = (PUBLIC, BUSINESS, PRIVATE)

# The one source of OKX channel sets: the parser, the client, the recorder and the config all use these.
PRIVATE_CHANNELS = frozenset({
    "orders", "positions", "account", "balance_and_position", "fills", "account-greeks",
    "liquidation-warning",
})
# Login-only pushes, parsed as PrivatePush; `orders-algo` is served on /business.
PRIVATE_PUSH_CHANNELS = PRIVATE_CHANNELS | {"orders-algo"}
BUSINESS_CHANNELS = frozenset({
    "trades-all", "orders-algo", "algo-advance", "deposit-info", "withdrawal-info", "economic-calendar",
})
_BUSINESS_PREFIXES = ("candle", "mark-price-candle", "index-candle", "grid-", "copytrading", "sprd-", "rfqs",
                      "quotes", "struc-block-trades", "public-struc-block-trades", "block-tickers")
INCREMENTAL_BOOK_CHANNELS = frozenset({"books", "books-elp", "books-l2-tbt", "books50-l2-tbt"})
TOP_BOOK_CHANNELS = frozenset({"books5", "bbo-tbt"})  # each push replaces the top N levels
BOOK_CHANNELS = INCREMENTAL_BOOK_CHANNELS | TOP_BOOK_CHANNELS
# What `trading.channels` may name: the market data hftlab collects and trades on.
MARKET_CHANNELS = frozenset({"trades", "tickers", "trades-all", "candle1s", "candle1m"}) | (BOOK_CHANNELS - {"books-elp"})

# OKX: the args of one request must not exceed 64 KB. Stay a little under for the envelope.
MAX_ARGS_BYTES = 60_000

ArgKey = tuple[str, str]


def role_for(channel: str) -> str:
    if channel in PRIVATE_CHANNELS:
        return PRIVATE
    if channel in BUSINESS_CHANNELS or channel.startswith(_BUSINESS_PREFIXES):
        return BUSINESS
    return PUBLIC


def arg_key(arg: Mapping[str, Any]) -> ArgKey:
    """(channel, scope): what one subscription is about. Acks echo the arg and pushes carry it (plus
    `uid` on private channels), so the key ignores everything but the channel and its target."""
    scope = arg.get("instId") or arg.get("instFamily") or arg.get("instType") or arg.get("ccy") or ""
    return arg["channel"], str(scope)


def args_for(channels: Iterable[str], symbols: Iterable[str]) -> list[dict[str, str]]:
    """Subscribe args for market channels x instruments, or private channels over every instrument."""
    out: list[dict[str, str]] = []
    symbols = list(symbols)
    for ch in channels:
        if ch in ("orders", "positions", "fills"):
            out.append({"channel": ch, "instType": "ANY"})
        elif ch in PRIVATE_CHANNELS:
            out.append({"channel": ch})
        else:
            out.extend({"channel": ch, "instId": s} for s in symbols)
    return out


def batch_args(args: list[Mapping[str, Any]], max_bytes: int = MAX_ARGS_BYTES) -> list[list[Mapping[str, Any]]]:
    """Split args into as few requests as fit `max_bytes` of JSON each, keeping their order.

    Every subscribe/unsubscribe request costs one of the 480 hourly ops of a connection whatever
    its size, so packing many args per request is what keeps resubscribes affordable.
    """
    batches: list[list[Mapping[str, Any]]] = []
    current: list[Mapping[str, Any]] = []
    size = 1  # "[]" less the comma the first arg does not need
    for arg in args:
        n = len(orjson.dumps(arg)) + 1  # + its comma
        if n + 1 > max_bytes:
            raise ValueError(f"a single subscribe arg is larger than {max_bytes} bytes: {dict(arg)!r:.200}")
        if current and size + n > max_bytes:
            batches.append(current)
            current, size = [], 1
        current.append(arg)
        size += n
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The four URLs of one venue: REST base and the three WebSocket roles."""

    rest: str
    public: str
    business: str
    private: str
    demo: bool = False  # OKX demo trading: REST calls carry `x-simulated-trading: 1`

    def ws(self, role: str) -> str:
        return {PUBLIC: self.public, BUSINESS: self.business, PRIVATE: self.private}[role]

    @classmethod
    def from_base_url(cls, base: str, *, demo: bool = False) -> Endpoints:
        """A venue serving REST and the three WebSockets on one host (e.g. a running `hftlab sim`):
        `http(s)://host:port` -> REST there and `ws(s)://host:port/ws/v5/{public,business,private}`."""
        base = base.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {base!r} (e.g. http://127.0.0.1:8088)")
        ws = "wss://" + base[len("https://"):] if base.startswith("https://") else "ws://" + base[len("http://"):]
        return cls(base, f"{ws}/ws/v5/public", f"{ws}/ws/v5/business", f"{ws}/ws/v5/private", demo=demo)

    @classmethod
    def from_venue(cls, venue) -> Endpoints:
        """From `hftlab.settings.VenueConfig` (okx-demo/okx-live fill the OKX URLs in; `sim` needs them set,
        e.g. from a running SimServer)."""
        missing = [k for k in ("rest_url", "ws_public_url", "ws_business_url", "ws_private_url") if not getattr(venue, k)]
        if missing:
            raise ValueError(f"venue {venue.name!r} has no {', '.join('venue.' + m for m in missing)}; "
                             "set them in the config or start the simulator to provide them")
        return cls(venue.rest_url, venue.ws_public_url, venue.ws_business_url, venue.ws_private_url,
                   demo=venue.name == "okx-demo")
