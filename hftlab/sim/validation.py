"""Order request checks as OKX makes them: pure functions that return the checked value or raise
`Rejected` with the venue's own code and message (from hftlab.sim.codes).

They read only what they are given (the request, the instrument, a price band, a position, an
amount available): the exchange calls them in OKX's order, and the first refusal is the answer,
so which code a request with several faults gets depends on that order, not on these functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hftlab.sim import codes
from hftlab.sim.instruments import Instrument
from hftlab.sim.matching import BUY, SELL

ORD_TYPES = ("market", "limit", "post_only", "fok", "ioc")
PRICED = ("limit", "post_only", "fok", "ioc")
PRICE_LIMIT = 0.05           # limit prices beyond mid * (1 +- 5%) are refused (51006); market orders stop there
_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{1,16}")


class Rejected(Exception):
    """A request OKX refuses: `code` and `msg` as the venue answers them."""

    def __init__(self, code: str, msg: str):
        super().__init__(code, msg)
        self.code, self.msg = code, msg

    @property
    def answer(self) -> codes.Answer:
        return self.code, self.msg


def _param(name: str) -> Rejected:
    return Rejected(*codes.param_error(name))


def _empty(name: str) -> Rejected:
    return Rejected(*codes.empty_param(name))


def positive(s: Any, name: str) -> Decimal:
    """A finite decimal > 0, else 51000 naming the parameter."""
    try:
        d = Decimal(str(s))
    except InvalidOperation:
        raise _param(name) from None
    if not d.is_finite() or d <= 0:
        raise _param(name)
    return d


def flag(v: Any, name: str) -> bool:
    """A JSON bool or its string form ("true"/"false"; empty or absent = false)."""
    if isinstance(v, bool):
        return v
    if v in ("", None, "false"):
        return False
    if v == "true":
        return True
    raise _param(name)


def _given(v: Any) -> bool:
    return v not in (None, "")


# --- instruments and order ids -------------------------------------------------------------------
def instrument(req: Mapping[str, Any], by_id: Mapping[str, Instrument],
               by_code: Mapping[int, Instrument]) -> Instrument:
    """The instrument a place request names: `instId` (REST), else `instIdCode` (WS)."""
    inst_id = req.get("instId")
    if inst_id:
        inst = by_id.get(str(inst_id))
    elif _given(req.get("instIdCode")):
        try:
            inst = by_code.get(int(req["instIdCode"]))
        except (TypeError, ValueError):
            raise _param("instIdCode") from None
    else:
        raise _empty("instId")
    if inst is None:
        raise Rejected(*codes.NO_INSTRUMENT)
    return inst


def listed(inst_id: str, by_id: Mapping[str, Instrument]) -> Instrument:
    """The instrument a cancel, amend or query names by instId."""
    inst = by_id.get(inst_id)
    if inst is None:
        raise Rejected(*codes.NO_INSTRUMENT)
    return inst


def order_ref(ord_id: str | None, cl_ord_id: str | None) -> tuple[int | None, str | None]:
    """(ordId as a number, None) or (None, clOrdId): ordId wins when both are given."""
    if ord_id:
        try:
            return int(ord_id), None
        except ValueError:
            raise _param("ordId") from None
    if cl_ord_id:
        return None, cl_ord_id
    raise Rejected(*codes.ORDER_ID_REQUIRED)


# --- a new order -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A place request whose parameters each passed their own check."""

    cl_ord_id: str
    tag: str
    side: str
    ord_type: str
    td_mode: str
    pos_side: str
    tgt_ccy: str
    reduce_only: bool
    sz: Decimal
    px_idx: int | None     # None for market orders
    by_quote: bool         # a spot market order sized in quote currency


def order_request(req: Mapping[str, Any], inst: Instrument) -> OrderRequest:
    """Formats (clOrdId, tag), required fields, enums (side, ordType, tdMode, posSide, tgtCcy),
    reduceOnly, sz > 0, px > 0 on the tick grid, in that order."""
    cl = str(req.get("clOrdId") or "")
    tag = str(req.get("tag") or "")
    if cl and not _ID.fullmatch(cl):
        raise _param("clOrdId")
    if tag and not _TAG.fullmatch(tag):
        raise _param("tag")
    for name in ("tdMode", "side", "ordType", "sz"):
        if not _given(req.get(name)):
            raise _empty(name)
    side, ord_type, td_mode = req["side"], req["ordType"], req["tdMode"]
    if side not in (BUY, SELL):
        raise _param("side")
    if ord_type not in ORD_TYPES:
        raise _param("ordType")
    if td_mode not in (("cross", "isolated") if inst.is_swap else ("cash",)):
        raise _param("tdMode")
    pos_side = str(req.get("posSide") or "")
    if pos_side not in (("", "net") if inst.is_swap else ("",)):
        raise _param("posSide")
    tgt = str(req.get("tgtCcy") or "")
    if not tgt_ccy_allowed(tgt, inst, ord_type):
        raise _param("tgtCcy")
    reduce_only = flag(req.get("reduceOnly"), "reduceOnly")
    sz = positive(req["sz"], "sz")
    px_idx = None
    if ord_type in PRICED:
        if not _given(req.get("px")):
            raise _param("px")
        px_idx = inst.px_idx(positive(req["px"], "px"))
        if px_idx is None:
            raise _param("px")
    # spot market buys are sized in quote ccy unless tgtCcy=base_ccy (sells: base unless quote_ccy)
    by_quote = (not inst.is_swap and ord_type == "market"
                and (tgt == "quote_ccy" or (tgt == "" and side == BUY)))
    return OrderRequest(cl, tag, side, ord_type, td_mode, pos_side, tgt, reduce_only, sz, px_idx, by_quote)


def tgt_ccy_allowed(tgt: str, inst: Instrument, ord_type: str) -> bool:
    """OKX documents `tgtCcy` for spot market orders. Lenient where OKX is: `base_ccy` on a spot
    order of any type is what `sz` means anyway, and clients send it on limit orders too.
    Reading: `quote_ccy` on a priced order, and any tgtCcy on a contract (sized in contracts),
    would change what `sz` means in a way the order type cannot honour, so they are refused."""
    if tgt == "":
        return True
    if tgt not in ("base_ccy", "quote_ccy") or inst.is_swap:
        return False
    return tgt == "base_ccy" or ord_type == "market"


def order_lots(inst: Instrument, sz: Decimal) -> int:
    """A size on the lot grid (51121) and at least minSz (51020), in lots."""
    lots = inst.lots(sz)
    if lots is None:
        raise Rejected(*codes.NOT_LOT_MULTIPLE)
    if lots < inst.min_lots:
        raise Rejected(*codes.BELOW_MIN_SZ)
    return lots


def quote_size(inst: Instrument, lots_at_touch: int) -> None:
    """A quote-sized market order must buy (or sell) at least minSz at the touch (51020)."""
    if lots_at_touch < inst.min_lots:
        raise Rejected(*codes.BELOW_MIN_SZ)


def price_band(mid_px: float, tick: Decimal) -> tuple[int, int]:
    """(max buy, min sell) tick indices allowed around the mid."""
    mid = mid_px / float(tick)
    return math.floor(mid * (1 + PRICE_LIMIT) + 1e-9), math.ceil(mid * (1 - PRICE_LIMIT) - 1e-9)


def within_band(inst: Instrument, side: str, px_idx: int, band: tuple[int, int]) -> None:
    """A limit price beyond the band is refused with the band in the message (51006)."""
    max_buy, min_sell = band
    if (side == BUY and px_idx > max_buy) or (side == SELL and px_idx < min_sell):
        raise Rejected(*codes.fill(codes.PRICE_LIMIT, inst.px_str(max_buy), inst.px_str(min_sell)))


def reduces(side: str, pos: Decimal) -> None:
    """A reduce-only swap order needs a position on the other side (51169)."""
    if pos == 0 or (pos > 0) == (side == BUY):
        raise Rejected(*codes.NO_POSITION_TO_REDUCE)


def unique_cl_ord_id(pending: bool) -> None:
    """OKX refuses a clOrdId only while an order with it is still pending (51016)."""
    if pending:
        raise Rejected(*codes.DUPLICATE_CL_ORD_ID)


def below_pending_limit(inst_id: str, pending: int, limit: int) -> None:
    """At most `limit` (OKX: 500) pending orders per instrument (51174)."""
    if pending >= limit:
        raise Rejected(*codes.fill(codes.PENDING_LIMIT, inst_id, limit))


def funds(ccy: str, available: Decimal, need: Decimal) -> None:
    """What the order must hold is available (51008)."""
    if available < need:
        raise Rejected(*codes.fill(codes.INSUFFICIENT_BALANCE, ccy))


def crosses(side: str, px_idx: int, touch: int | None) -> bool:
    """Would a price take liquidity at the opposite touch (the post-only test)."""
    return touch is not None and (px_idx >= touch if side == BUY else px_idx <= touch)


# --- an amendment ----------------------------------------------------------------------------------
def amend_given(new_sz: str | None, new_px: str | None) -> None:
    if not _given(new_sz) and not _given(new_px):
        raise Rejected(*codes.fill(codes.REST_EITHER_PARAM, "newSz", "newPx"))


def amend_size(inst: Instrument, new_sz: str | None) -> tuple[int, Decimal] | None:
    """(lots, size) of `newSz`, or None when not given. `newSz` counts what already filled: at or
    below it the order ends filled (the exchange's part), so it is no refusal here."""
    if not _given(new_sz):
        return None
    sz = positive(new_sz, "newSz")
    return order_lots(inst, sz), sz


def amend_slots(in_flight: int, limit: int) -> None:
    """At most `limit` (OKX: 3) amendments of one order in progress at once (51513)."""
    if in_flight >= limit:
        raise Rejected(*codes.AMEND_IN_PROGRESS)


def amend_price(inst: Instrument, new_px: str | None) -> int | None:
    """The tick index of `newPx`, or None when not given (the price band is checked when the
    amendment applies: `within_band`)."""
    if not _given(new_px):
        return None
    px_idx = inst.px_idx(positive(new_px, "newPx"))
    if px_idx is None:
        raise _param("newPx")
    return px_idx


def amend_post_only(side: str, px_idx: int, touch: int | None) -> None:
    """A post-only order may not be re-priced across the touch (51511)."""
    if crosses(side, px_idx, touch):
        raise Rejected(*codes.AMEND_NOT_POST_ONLY)


# --- request-level parameters ---------------------------------------------------------------------
def exp_time(raw: Any) -> int | None:
    """`expTime` (REST header / WS field): a Unix-ms deadline, or None when absent. Reading: a value
    that is not a whole number of milliseconds is a parameter error (51000)."""
    if not _given(raw):
        return None
    text = str(raw)
    if not text.isdigit():
        raise _param("expTime")
    return int(text)


def not_expired(deadline_ms: int | None, now_ms: int) -> None:
    """A request that arrives after its expTime is dropped without executing (50037)."""
    if deadline_ms is not None and now_ms > deadline_ms:
        raise Rejected(*codes.ORDER_EXPIRED)


CAA_TIMEOUTS = range(10, 121)  # seconds; "0" disarms


def caa_timeout(raw: Any) -> int:
    """Cancel-All-After `timeOut`: "0" or "10".."120" seconds (50014 when missing, else 51000)."""
    if not _given(raw):
        raise _empty("timeOut")
    text = str(raw)
    if not text.isdigit() or (int(text) != 0 and int(text) not in CAA_TIMEOUTS):
        raise _param("timeOut")
    return int(text)


def caa_tag(raw: Any) -> str:
    """Cancel-All-After `tag`: empty (account level) or an order tag's format (51000)."""
    tag = "" if raw is None else str(raw)
    if tag and not _TAG.fullmatch(tag):
        raise _param("tag")
    return tag
