"""The private records the venue answers and pushes, as OKX writes them: orders (with their latest
fill), fills (the `fills` channel and the fills history), balances, positions, `balance_and_position`,
currencies, and the per-item results of order operations.

Pure rendering of the simulator's state into dicts of strings (every number in OKX's plain
notation, field for field as the docs examples have them); nothing here changes state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from hftlab.domain.instruments import fmt as fmt_decimal
from hftlab.sim import codes
from hftlab.sim.accounts import SWAP_LEVER, ZERO, Account, Position, ccy_prices
from hftlab.sim.instruments import Instrument
from hftlab.sim.matching import SELL
from hftlab.sim.orders import LastFill, Order

_NO_FILL = LastFill("", "0", "", "", "0", "0", "")


def _usd(d: Decimal) -> Decimal:
    return d.quantize(Decimal("1e-8"))


# --- order operations --------------------------------------------------------------------------------
def place_result(ts_ms: int, ord_id: str, cl_ord_id: str, tag: str, answer: codes.Answer = codes.OK) -> dict[str, str]:
    return {"ordId": ord_id, "clOrdId": cl_ord_id, "tag": tag, "ts": str(ts_ms), "sCode": answer[0],
            "sMsg": answer[1]}


def cancel_result(ts_ms: int, ord_id: str, cl_ord_id: str, answer: codes.Answer = codes.OK) -> dict[str, str]:
    return {"ordId": ord_id, "clOrdId": cl_ord_id, "ts": str(ts_ms), "sCode": answer[0], "sMsg": answer[1]}


def amend_result(ts_ms: int, ord_id: str, cl_ord_id: str, req_id: str,
                 answer: codes.Answer = codes.OK) -> dict[str, str]:
    return {"ordId": ord_id, "clOrdId": cl_ord_id, "ts": str(ts_ms), "reqId": req_id, "sCode": answer[0],
            "sMsg": answer[1]}


def cancel_all_after_result(trigger_ms: int, tag: str, ts_ms: int) -> dict[str, str]:
    """POST /api/v5/trade/cancel-all-after data[0]; triggerTime "0": disarmed."""
    return {"triggerTime": str(trigger_ms), "tag": tag, "ts": str(ts_ms)}


# --- orders ------------------------------------------------------------------------------------------
def order_record(o: Order, last_px: str, fill: bool = False) -> dict[str, Any]:
    """The `orders` channel / GET order record; `fill`: with the latest fill's fields (a fill push,
    or a query of an order that traded). `last_px`: the instrument's last trade price."""
    inst = o.inst
    filled = inst.sz(o.filled_lots)
    avg = (o.notional / filled).quantize(Decimal(10) ** -10).normalize() if o.filled_lots else ZERO
    f = o.last_fill if fill and o.last_fill else _NO_FILL
    fill_notional = (Decimal(f.px) * Decimal(f.sz) * inst.contract_value) if f.px else ZERO
    notional = (inst.px(o.px_idx) if o.px_idx is not None else Decimal(0)) * (
        o.sz if not o.by_quote else ZERO) * inst.contract_value
    fee_ccy = o.fee_ccy or (inst.quote_ccy if inst.is_swap or o.side == SELL else inst.base_ccy)
    return {
        "accFillSz": inst.sz_str(o.filled_lots), "algoClOrdId": "", "algoId": "", "amendResult": o.amend_result,
        "amendSource": "", "attachAlgoClOrdId": "", "attachAlgoOrds": [], "avgPx": fmt_decimal(avg),
        "cancelSource": o.cancel_source.value if o.cancel_source else "", "category": o.category.value, "ccy": "",
        "clOrdId": o.cl_ord_id, "code": o.answer[0], "cTime": str(o.c_time), "execType": f.exec_type,
        "fee": fmt_decimal(o.fee), "feeCcy": fee_ccy,
        "fillFee": f.fee, "fillFeeCcy": fee_ccy if f.px else "", "fillNotionalUsd": fmt_decimal(fill_notional)
        if f.px else "", "fillPx": f.px, "fillSz": f.sz, "fillPnl": f.pnl, "fillTime": f.time,
        "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "", "fillIdxPx": "",
        "instId": inst.inst_id, "instType": inst.inst_type, "isTpLimit": "false",
        "lastPx": last_px, "lever": "10" if inst.is_swap else "0",
        "linkedAlgoOrd": {"algoId": ""}, "msg": o.answer[1], "notionalUsd": fmt_decimal(notional),
        "ordId": str(o.ord_id), "ordType": o.ord_type, "pnl": fmt_decimal(o.pnl),
        "posSide": ("net" if inst.is_swap else ""), "px": inst.px_str(o.px_idx) if o.px_idx is not None else "",
        "pxType": "", "pxUsd": "", "pxVol": "", "quickMgnType": "", "rebate": "0", "rebateCcy": inst.quote_ccy,
        "reduceOnly": "true" if o.reduce_only else "false", "reqId": o.req_id, "side": o.side,
        "slOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "", "source": "", "state": o.state.value, "stpId": "",
        "stpMode": "cancel_maker", "sz": fmt_decimal(o.sz), "tag": o.tag, "tdMode": o.td_mode,
        "tgtCcy": o.tgt_ccy, "tpOrdPx": "", "tpTriggerPx": "", "tpTriggerPxType": "",
        "tradeId": f.trade_id, "tradeQuoteCcy": "" if inst.is_swap else inst.quote_ccy, "uTime": str(o.u_time),
    }


# --- fills -------------------------------------------------------------------------------------------
_INT64 = re.compile(r"[1-9]\d{0,18}")


def _fills_cl_ord_id(cl_ord_id: str) -> str:
    """The `fills` channel echoes a clOrdId only when it is a positive signed int64 in decimal, else "0"."""
    return cl_ord_id if _INT64.fullmatch(cl_ord_id) and int(cl_ord_id) < 1 << 63 else "0"


def fill_push(o: Order, px: str, sz: str, trade_id: str, ts_ms: int, exec_type: str, count: int) -> dict[str, str]:
    """A `fills` channel item: one maker fill, or a taker's fills at one price aggregated (`count`
    trades, `tradeId` the last of them)."""
    return {"instId": o.inst.inst_id, "fillSz": sz, "fillPx": px, "side": o.side, "ts": str(ts_ms),
            "ordId": str(o.ord_id), "clOrdId": _fills_cl_ord_id(o.cl_ord_id), "tradeId": trade_id,
            "execType": exec_type, "count": str(count)}


def fill_record(o: Order, f: LastFill, bill_id: int, sub_type: str, fee_rate: str, mark_px: str,
                ts_ms: int) -> dict[str, str]:
    """GET /api/v5/trade/fills and /fills-history item (the docs example's fields). `execType`
    is empty for the venue's own liquidation fills, whose `tradeId` is negative."""
    inst = o.inst
    fee_ccy = o.fee_ccy or inst.quote_ccy
    return {
        "side": o.side, "fillSz": f.sz, "fillPx": f.px, "fillPxVol": "", "fillFwdPx": "", "fee": f.fee,
        "fillPnl": f.pnl, "ordId": str(o.ord_id), "feeRate": "" if inst.is_swap else fee_rate,
        "instType": inst.inst_type, "fillPxUsd": "", "instId": inst.inst_id, "clOrdId": o.cl_ord_id,
        "posSide": "net", "billId": str(bill_id), "subType": sub_type, "fillMarkVol": "", "tag": o.tag,
        "fillTime": f.time, "execType": f.exec_type, "fillIdxPx": "", "tradeId": f.trade_id,
        "fillMarkPx": mark_px if inst.is_swap else "", "feeCcy": fee_ccy, "ts": str(ts_ms),
        "tradeQuoteCcy": "" if inst.is_swap else inst.quote_ccy,
    }


# --- accounts ----------------------------------------------------------------------------------------
def balance_record(acct: Account, ccys: list[str], marks: Mapping[str, float], now_ms: int) -> dict[str, Any]:
    """GET /api/v5/account/balance data[0] / `account` push: account-level totals over every
    currency; `details` for `ccys` only (pushes send the changed ones)."""
    px = ccy_prices(marks)
    total = upl_total = imr_total = frozen_total = ZERO
    details = []
    wanted = set(ccys)
    for c in sorted(set(acct.cash) | wanted):
        cash = acct.cash.get(c, ZERO)
        upl = sum((p.upl(marks[i]) for i, p in acct.positions.items() if p.pos and p.inst.quote_ccy == c), ZERO)
        imr = acct.margin(c, marks)
        ord_frozen = acct.frozen_of(c)
        frozen = ord_frozen + imr
        eq = cash + upl
        usd = Decimal(str(px.get(c, 0.0)))
        eq_usd = _usd(eq * usd)
        total += eq_usd
        upl_total += upl * usd
        imr_total += imr * usd
        frozen_total += ord_frozen * usd
        if c not in wanted:
            continue
        details.append({
            "availBal": fmt_decimal(cash - frozen), "availEq": fmt_decimal(eq - frozen), "borrowFroz": "0",
            "cashBal": fmt_decimal(cash), "ccy": c, "coinUsdPrice": fmt_decimal(usd), "crossLiab": "0",
            "disEq": fmt_decimal(eq_usd), "eq": fmt_decimal(eq), "eqUsd": fmt_decimal(eq_usd),
            "fixedBal": "0", "frozenBal": fmt_decimal(frozen), "imr": fmt_decimal(imr), "interest": "0",
            "isoEq": "0", "isoLiab": "0", "isoUpl": "0", "liab": "0", "maxLoan": "0", "mgnRatio": "",
            "mmr": fmt_decimal(imr / 2), "notionalLever": "", "ordFrozen": fmt_decimal(ord_frozen),
            "rewardBal": "0", "spotInUseAmt": "", "spotIsoBal": "0", "stgyEq": "0", "twap": "0",
            "uTime": str(acct.u_time.get(c, now_ms)), "upl": fmt_decimal(upl), "uplLiab": "0",
            "clSpotInUseAmt": "", "maxSpotInUseAmt": "", "smtSyncEq": "0", "spotCopyTradingEq": "0",
            "frpType": "0", "colRes": "0", "collateralEnabled": False, "collateralRestrict": False,
            "colBorrAutoConversion": "0", "spotBal": "", "openAvgPx": "", "accAvgPx": "", "spotUpl": "",
            "spotUplRatio": "", "totalPnl": "", "totalPnlRatio": "",
        })
    return {
        "adjEq": fmt_decimal(total), "availEq": fmt_decimal(_usd(total - imr_total - frozen_total)),
        "borrowFroz": "0", "details": details, "imr": fmt_decimal(_usd(imr_total)), "isoEq": "0",
        "mgnRatio": "", "mmr": fmt_decimal(_usd(imr_total / 2)),
        "notionalUsd": fmt_decimal(_usd(imr_total * SWAP_LEVER)), "ordFroz": fmt_decimal(_usd(frozen_total)),
        "totalEq": fmt_decimal(total), "uTime": str(now_ms), "upl": fmt_decimal(_usd(upl_total)),
        "delta": "", "deltaLever": "", "deltaNeutralStatus": "0", "notionalUsdForBorrow": "0",
        "notionalUsdForFutures": "0", "notionalUsdForOption": "0",
        "notionalUsdForSwap": fmt_decimal(_usd(imr_total * SWAP_LEVER)),
    }


def position_record(p: Position, mark: float, last_px: str, now_ms: int) -> dict[str, Any]:
    """GET /api/v5/account/positions item / `positions` push of a net-mode swap position."""
    inst = p.inst
    mark_d = Decimal(str(mark))
    upl = p.upl(mark)
    margin = p.margin(mark)
    return {
        "adl": "1", "availPos": fmt_decimal(abs(p.pos)), "avgPx": fmt_decimal(p.avg_px), "cTime": str(p.c_time),
        "ccy": inst.quote_ccy, "deltaBS": "", "deltaPA": "", "gammaBS": "", "gammaPA": "",
        "imr": fmt_decimal(margin),
        "instId": inst.inst_id, "instType": inst.inst_type, "interest": "0", "idxPx": fmt_decimal(mark_d),
        "last": last_px, "lever": fmt_decimal(SWAP_LEVER),
        "liab": "", "liabCcy": "", "liqPx": "", "markPx": fmt_decimal(mark_d), "margin": "",
        "mgnMode": "cross", "mgnRatio": "", "mmr": fmt_decimal(margin / 2),
        "notionalUsd": fmt_decimal(abs(p.pos) * inst.contract_value * mark_d), "optVal": "",
        "pTime": str(now_ms), "pos": fmt_decimal(p.pos), "posCcy": "", "posId": p.pos_id, "posSide": "net",
        "thetaBS": "", "thetaPA": "", "tradeId": p.trade_id, "uTime": str(p.u_time), "upl": fmt_decimal(upl),
        "uplLastPx": fmt_decimal(upl),
        "uplRatio": fmt_decimal(upl / margin) if margin else "0", "vegaBS": "", "vegaPA": "",
        "realizedPnl": fmt_decimal(p.pnl + p.fee), "pnl": fmt_decimal(p.pnl), "fee": fmt_decimal(p.fee),
        "fundingFee": "0", "liqPenalty": "0", "bePx": "", "closeOrderAlgo": [],
        "uplRatioLastPx": fmt_decimal(upl / margin) if margin else "0", "usdPx": "", "hedgedPos": "",
        "pendingCloseOrdLiabVal": "", "nonSettleAvgPx": "", "settledPnl": "", "baseBorrowed": "",
        "baseInterest": "", "quoteBorrowed": "", "quoteInterest": "", "spotInUseAmt": "", "clSpotInUseAmt": "",
        "maxSpotInUseAmt": "", "spotInUseCcy": "", "bizRefId": "", "bizRefType": "",
    }


def balance_and_position_record(acct: Account, event_type: str, ccys: Iterable[str], positions: Iterable[Position],
                                trades: Iterable[tuple[str, str]], now_ms: int) -> dict[str, Any]:
    """A `balance_and_position` data item: the cash balances of `ccys`, the `positions` (net mode,
    cross) and the trades (instId, tradeId) behind the event."""
    return {
        "pTime": str(now_ms), "eventType": event_type,
        "balData": [{"ccy": c, "cashBal": fmt_decimal(acct.cash.get(c, ZERO)), "uTime": str(acct.u_time.get(c, now_ms))}
                    for c in ccys],
        "posData": [{"posId": p.pos_id, "tradeId": p.trade_id, "instId": p.inst.inst_id, "instType": p.inst.inst_type,
                     "mgnMode": "cross", "posSide": "net", "pos": fmt_decimal(p.pos), "ccy": p.inst.quote_ccy,
                     "posCcy": "", "avgPx": fmt_decimal(p.avg_px), "nonSettleAvgPx": "", "settledPnl": "",
                     "uTime": str(p.u_time)} for p in positions],
        "trades": [{"instId": inst_id, "tradeId": trade_id} for inst_id, trade_id in trades],
    }


# --- reference data ----------------------------------------------------------------------------------
def price_limit_record(inst: Instrument, band: tuple[int, int], ts_ms: int) -> dict[str, Any]:
    """GET /api/v5/public/price-limit item: the highest buy and lowest sell price the venue accepts now."""
    max_buy, min_sell = band
    return {"instType": inst.inst_type, "instId": inst.inst_id, "buyLmt": inst.px_str(max_buy),
            "sellLmt": inst.px_str(min_sell), "ts": str(ts_ms), "enabled": True}


def currency_record(ccy: str, instruments: Iterable[Instrument]) -> dict[str, Any]:
    """GET /api/v5/asset/currencies item: one chain per currency, named as OKX names main nets."""
    scale = max((len(i.lot_sz.partition(".")[2]) for i in instruments if i.base_ccy == ccy and not i.is_swap),
                default=8)
    return {
        "burningFeeRate": "", "canDep": True, "canInternal": True, "canWd": True, "ccy": ccy,
        "chain": f"{ccy}-{ccy}", "ctAddr": "", "depEstOpenTime": "", "depQuotaFixed": "", "depQuoteDailyLayer2": "",
        "fee": "0", "logoLink": "", "mainNet": True, "maxFee": "0", "maxFeeForCtAddr": "", "maxWd": "1000000",
        "minDep": "0", "minDepArrivalConfirm": "1", "minFee": "0", "minFeeForCtAddr": "", "minInternal": "0",
        "minWd": "0", "minWdUnlockConfirm": "1", "name": ccy, "needTag": False, "usedDepQuotaFixed": "",
        "usedWdQuota": "0", "wdEstOpenTime": "", "wdQuota": "10000000", "wdTickSz": str(scale),
    }
