"""OKX trading records <-> venue-neutral types: the one place where order, fill, position and
balance records (REST answers and private pushes) become `domain` types, and where domain requests
become OKX order-op arguments. Pure functions; every table of OKX values is here once.

**Records -> domain.** `venue_order` (a `GET /trade/order` answer or an `orders-pending` row),
`order_update` (an `orders` push: state, cumulative fill, the fill it reports, the amend result it
reports, why it was cancelled), `history_fill` (a `fills` / `fills-history` row), `position`
(a `positions` record, REST or push), `bp_positions` (the `posData` of a `balance_and_position`
push) and `balances` (the `details` of `GET /account/balance`). A record that lacks a field or
carries a value the tables do not know raises `BadRecord` naming it: nothing is guessed.

- States: `live`, `partially_filled`, `filled`, `canceled` and `mmp_canceled` (CANCELLED).
- `cancelSource`: 1 user, 13 FOK, 14 IOC remainder, 20 Cancel-All-After, 31 post-only, 32 self-trade;
  any other (0 "by system", a cancel after a failed amend with cxlOnFail, ...) is OTHER.
- `amendResult` -1 / 0 / 1 with its `reqId`: FAILED / APPLIED / CANCELLED. A record keeps the `reqId`
  of its latest amend but reports `amendResult` only on that amend's own push: without a result
  there is no amend fact (never inferred from the id alone).
- A push carries a `Fill` only when it reports a trade (`tradeId`, `fillSz` > 0): a market order can
  report `filled` with `fillSz` 0.
- Positions are signed (net mode `pos` carries its sign; long/short mode is signed by `posSide`).
  The venue's own trades (liquidation, ADL) have negative trade ids: they are no fill of any
  order (`history_fill` returns None for them), positions carry them.

**Requests -> OKX args.** `place_args`, `amend_args`, `cancel_args`: WebSocket ops name the
instrument by `instIdCode`, REST by `instId` (protocol §5.1/§5.2). Spot trades in `cash` mode,
swaps in `cross` margin (net position mode). A spot market order sets `tgtCcy=base_ccy`: our sizes
are base units, and OKX would otherwise read a market buy's `sz` as quote. `reduceOnly` goes only
on swaps (OKX applies it to margin and derivatives only). Numbers go out as OKX writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hftlab.domain.instruments import InstrumentSpec, fmt
from hftlab.domain.orders import AmendResult, CancelSource, ExecType, Fill, OrderState, OrderUpdate, OrdType, Side
from hftlab.domain.venue import AmendRequest, CancelRequest, PlaceRequest, VenueBalance, VenueOrder, VenuePosition

ZERO = Decimal(0)

ORDER_STATES: dict[str, OrderState] = {
    "live": OrderState.LIVE,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "mmp_canceled": OrderState.CANCELLED,
}
CANCEL_SOURCES: dict[str, CancelSource] = {
    "1": CancelSource.USER,
    "13": CancelSource.VENUE_FOK,
    "14": CancelSource.VENUE_IOC,
    "20": CancelSource.DEAD_MAN_SWITCH,
    "31": CancelSource.POST_ONLY,
    "32": CancelSource.SELF_TRADE,
}
AMEND_RESULTS: dict[str, AmendResult] = {"-1": AmendResult.FAILED, "0": AmendResult.APPLIED, "1": AmendResult.CANCELLED}
# OKX order types -> ours. The derivatives' market-IOC and the options' market-maker types trade as
# the type they are named after; any other type is a record we cannot describe.
ORD_TYPES: dict[str, OrdType] = {
    "market": OrdType.MARKET, "limit": OrdType.LIMIT, "post_only": OrdType.POST_ONLY, "ioc": OrdType.IOC,
    "fok": OrdType.FOK, "optimal_limit_ioc": OrdType.IOC, "mmp": OrdType.LIMIT, "mmp_and_post_only": OrdType.POST_ONLY,
}
OKX_ORD_TYPES: dict[OrdType, str] = {t: t.value for t in OrdType}  # what we send: OKX's names are ours
EXEC_TYPES: dict[str, ExecType] = {"T": ExecType.TAKER, "M": ExecType.MAKER}
SIDES: dict[str, Side] = {"buy": Side.BUY, "sell": Side.SELL}
POS_SIGNS: dict[str, int] = {"net": 1, "long": 1, "short": -1}
SPOT_TD_MODE, SWAP_TD_MODE = "cash", "cross"


class BadRecord(ValueError):
    """An OKX record that cannot be read as the type asked for (missing field, unknown value)."""


def _get(rec: Mapping[str, Any], key: str) -> Any:
    try:
        return rec[key]
    except KeyError:
        raise BadRecord(f"record without {key!r}: {_brief(rec)}") from None


def _brief(rec: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={rec.get(k)!r}" for k in ("instId", "ordId", "clOrdId", "tradeId", "state") if k in rec)


def _str(rec: Mapping[str, Any], key: str) -> str:
    """A required text field (an id): a non-empty string."""
    v = _get(rec, key)
    if not isinstance(v, str) or not v:
        raise BadRecord(f"{key!r} must be a non-empty string, got {v!r}: {_brief(rec)}")
    return v


def _opt_str(rec: Mapping[str, Any], key: str) -> str:
    """An optional text field: "" when absent or null."""
    v = rec.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise BadRecord(f"{key!r} must be a string, got {v!r}: {_brief(rec)}")
    return v


def _dec(rec: Mapping[str, Any], key: str, *, empty: Decimal | None = None) -> Decimal:
    """A number field; `empty` is what "" (or an absent field, when given) stands for."""
    raw = rec.get(key, "") if empty is not None else _get(rec, key)
    if raw in ("", None):
        if empty is None:
            raise BadRecord(f"empty {key!r}: {_brief(rec)}")
        return empty
    try:
        d = Decimal(str(raw))
    except InvalidOperation:
        raise BadRecord(f"{key!r} is not a number ({raw!r}): {_brief(rec)}") from None
    if not d.is_finite():
        raise BadRecord(f"{key!r} is not finite ({raw!r}): {_brief(rec)}")
    return d


def _int(rec: Mapping[str, Any], key: str, *, empty: int | None = None) -> int:
    raw = rec.get(key, "")
    if raw in ("", None):
        if empty is None:
            raise BadRecord(f"empty {key!r}: {_brief(rec)}")
        return empty
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):
        raise BadRecord(f"{key!r} is not an integer ({raw!r}): {_brief(rec)}") from None


def _pick(table: Mapping[str, Any], rec: Mapping[str, Any], key: str) -> Any:
    value = _get(rec, key)
    try:
        return table[value]
    except (KeyError, TypeError):
        raise BadRecord(f"unknown {key} {value!r}: {_brief(rec)}") from None


def _flag(rec: Mapping[str, Any], key: str) -> bool:
    """OKX writes booleans of records as strings ("true"/"false")."""
    return rec.get(key) in ("true", True)


# -- orders ---------------------------------------------------------------------------------------

def order_state(rec: Mapping[str, Any]) -> OrderState:
    return _pick(ORDER_STATES, rec, "state")


def cancel_source(rec: Mapping[str, Any], state: OrderState) -> CancelSource | None:
    if state is not OrderState.CANCELLED:
        return None
    return CANCEL_SOURCES.get(_opt_str(rec, "cancelSource"), CancelSource.OTHER)


def amend_fact(rec: Mapping[str, Any]) -> tuple[str, AmendResult] | None:
    """(reqId, result) when the record reports an amend's outcome, else None."""
    req_id, result = _opt_str(rec, "reqId"), _opt_str(rec, "amendResult")
    if not req_id or result == "":
        return None
    try:
        return req_id, AMEND_RESULTS[result]
    except KeyError:
        raise BadRecord(f"unknown amendResult {result!r}: {_brief(rec)}") from None


def _px(rec: Mapping[str, Any]) -> Decimal | None:
    px = _dec(rec, "px", empty=ZERO)
    return px if px > 0 else None  # market orders have none


def venue_order(rec: Mapping[str, Any]) -> VenueOrder:
    state = order_state(rec)
    return VenueOrder(
        inst_id=_str(rec, "instId"), cl_ord_id=_opt_str(rec, "clOrdId"), ord_id=_str(rec, "ordId"),
        tag=_opt_str(rec, "tag"), side=_pick(SIDES, rec, "side"), ord_type=_pick(ORD_TYPES, rec, "ordType"),
        sz=_dec(rec, "sz"), px=_px(rec), state=state, acc_fill_sz=_dec(rec, "accFillSz", empty=ZERO),
        avg_px=_dec(rec, "avgPx", empty=ZERO), created_ms=_int(rec, "cTime", empty=0),
        updated_ms=_int(rec, "uTime", empty=0), reduce_only=_flag(rec, "reduceOnly"),
        cancel_source=cancel_source(rec, state), last_amend=amend_fact(rec),
    )


def push_fill(rec: Mapping[str, Any]) -> Fill | None:
    """The trade an `orders` push reports, if it reports one."""
    trade_id = _opt_str(rec, "tradeId")
    sz = _dec(rec, "fillSz", empty=ZERO)
    if not trade_id or sz <= 0:
        return None
    return Fill(_str(rec, "instId"), trade_id, _opt_str(rec, "clOrdId"), _str(rec, "ordId"), _pick(SIDES, rec, "side"),
                _dec(rec, "fillPx"), sz, _dec(rec, "fillFee", empty=ZERO), _opt_str(rec, "fillFeeCcy"),
                _int(rec, "fillTime", empty=_int(rec, "uTime", empty=0)), EXEC_TYPES.get(_opt_str(rec, "execType")))


def order_update(rec: Mapping[str, Any]) -> OrderUpdate:
    """One `orders` push item as a venue fact."""
    state = order_state(rec)
    amend = amend_fact(rec)
    try:
        return OrderUpdate(
            _opt_str(rec, "clOrdId"), _str(rec, "ordId"), state, _dec(rec, "accFillSz", empty=ZERO),
            _dec(rec, "avgPx", empty=ZERO), _int(rec, "uTime", empty=0), fill=push_fill(rec),
            sz=_dec(rec, "sz"), px=_px(rec), amend_req_id=amend[0] if amend else None,
            amend_result=amend[1] if amend else None, cancel_source=cancel_source(rec, state),
        )
    except BadRecord:
        raise
    except ValueError as e:  # the domain type's own checks
        raise BadRecord(f"{e}: {_brief(rec)}") from None


def trade_number(rec: Mapping[str, Any]) -> int:
    return _int(rec, "tradeId")


def history_fill(rec: Mapping[str, Any]) -> Fill | None:
    """A `fills` / `fills-history` row as a Fill; None for the venue's own trades (negative trade
    ids: liquidation, ADL) and rows that trade nothing."""
    if trade_number(rec) < 0:
        return None
    sz = _dec(rec, "fillSz", empty=ZERO)
    if sz <= 0:
        return None
    ts = _int(rec, "fillTime", empty=_int(rec, "ts", empty=0))
    try:
        return Fill(_str(rec, "instId"), _str(rec, "tradeId"), _opt_str(rec, "clOrdId"), _str(rec, "ordId"),
                    _pick(SIDES, rec, "side"), _dec(rec, "fillPx"), sz, _dec(rec, "fee", empty=ZERO),
                    _opt_str(rec, "feeCcy"), ts, EXEC_TYPES.get(_opt_str(rec, "execType")))
    except BadRecord:
        raise
    except ValueError as e:  # the domain type's own checks
        raise BadRecord(f"{e}: {_brief(rec)}") from None


# -- positions and balances -----------------------------------------------------------------------

def _signed_pos(rec: Mapping[str, Any]) -> Decimal:
    side = rec.get("posSide") or "net"
    if type(side) is not str or side not in POS_SIGNS:
        raise BadRecord(f"unknown posSide {side!r}: {_brief(rec)}")
    return _dec(rec, "pos") * POS_SIGNS[side]


def position(rec: Mapping[str, Any]) -> VenuePosition:
    """A `positions` record (REST or push). The mark is `markPx` (the average entry when the venue
    leaves it empty)."""
    qty = _signed_pos(rec)
    avg = _dec(rec, "avgPx", empty=ZERO)
    mark = _dec(rec, "markPx", empty=avg)
    return VenuePosition(_str(rec, "instId"), qty, avg if qty and avg > 0 else None, mark,
                         _int(rec, "uTime", empty=0))


def bp_positions(item: Mapping[str, Any], marks: Mapping[str, Decimal]) -> list[VenuePosition]:
    """The positions of one `balance_and_position` push item. `posData` carries no mark: `marks`
    (instId -> the latest mark the positions channel gave) supplies it, else the average entry."""
    out = []
    for p in _records(item, "posData"):
        qty = _signed_pos(p)
        avg = _dec(p, "avgPx", empty=ZERO)
        inst = _str(p, "instId")
        out.append(VenuePosition(inst, qty, avg if qty and avg > 0 else None, marks.get(inst, avg),
                                 _int(p, "uTime", empty=_int(item, "pTime", empty=0))))
    return out


def balances(rec: Mapping[str, Any]) -> list[VenueBalance]:
    """`GET /account/balance` data[0]: one balance per currency (`cashBal`, `availBal`)."""
    return [VenueBalance(_str(d, "ccy"), _dec(d, "cashBal"), _dec(d, "availBal", empty=_dec(d, "cashBal")),
                         _int(d, "uTime", empty=_int(rec, "uTime", empty=0)))
            for d in _records(rec, "details")]


def _records(rec: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """An optional array of objects."""
    data = rec.get(key) or []
    if type(data) is not list or not all(isinstance(d, Mapping) for d in data):
        raise BadRecord(f"{key!r} must be an array of objects, got {data!r:.80}")
    return data


# -- requests -> OKX op arguments -----------------------------------------------------------------

def _instrument(spec: InstrumentSpec, ws: bool) -> dict[str, Any]:
    if not ws:
        return {"instId": spec.inst_id}
    if spec.inst_id_code is None:
        raise ValueError(f"{spec.inst_id}: no instIdCode, so no WebSocket order op can name it")
    return {"instIdCode": spec.inst_id_code}


def place_args(r: PlaceRequest, spec: InstrumentSpec, *, ws: bool) -> dict[str, Any]:
    args: dict[str, Any] = {
        **_instrument(spec, ws), "tdMode": SWAP_TD_MODE if spec.is_swap else SPOT_TD_MODE, "side": r.side.value,
        "ordType": OKX_ORD_TYPES[r.ord_type], "sz": fmt(r.sz), "clOrdId": r.cl_ord_id,
    }
    if r.px is not None:
        args["px"] = fmt(r.px)
    if r.tag:
        args["tag"] = r.tag
    if r.ord_type is OrdType.MARKET and not spec.is_swap:
        args["tgtCcy"] = "base_ccy"
    if r.reduce_only and spec.is_swap:
        args["reduceOnly"] = True
    return args


def amend_args(r: AmendRequest, spec: InstrumentSpec, *, ws: bool) -> dict[str, Any]:
    args: dict[str, Any] = {**_instrument(spec, ws), "clOrdId": r.cl_ord_id, "reqId": r.req_id}
    if r.ord_id:
        args["ordId"] = r.ord_id
    if r.new_sz is not None:
        args["newSz"] = fmt(r.new_sz)
    if r.new_px is not None:
        args["newPx"] = fmt(r.new_px)
    return args


def cancel_args(r: CancelRequest, spec: InstrumentSpec, *, ws: bool) -> dict[str, Any]:
    args: dict[str, Any] = {**_instrument(spec, ws), "clOrdId": r.cl_ord_id}
    if r.ord_id:
        args["ordId"] = r.ord_id  # OKX: ordId wins when both are given
    return args
