"""The private records the venue answers and pushes, as OKX writes them: orders (with their latest
fill), balances, positions, and the per-item results of order operations.

Pure rendering of the simulator's state into dicts of strings (every number in OKX's plain
notation, field for field as the docs examples have them); nothing here changes state.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hftlab.domain.instruments import fmt as fmt_decimal
from hftlab.sim import codes
from hftlab.sim.accounts import SWAP_LEVER, ZERO, Account, Position, ccy_prices
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
        "cancelSource": o.cancel_source.value if o.cancel_source else "", "category": "normal", "ccy": "",
        "clOrdId": o.cl_ord_id, "code": "0", "cTime": str(o.c_time), "execType": f.exec_type,
        "fee": fmt_decimal(o.fee), "feeCcy": fee_ccy,
        "fillFee": f.fee, "fillFeeCcy": fee_ccy if f.px else "", "fillNotionalUsd": fmt_decimal(fill_notional)
        if f.px else "", "fillPx": f.px, "fillSz": f.sz, "fillPnl": f.pnl, "fillTime": f.time,
        "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "", "fillIdxPx": "",
        "instId": inst.inst_id, "instType": inst.inst_type, "isTpLimit": "false",
        "lastPx": last_px, "lever": "10" if inst.is_swap else "0",
        "linkedAlgoOrd": {"algoId": ""}, "msg": "", "notionalUsd": fmt_decimal(notional),
        "ordId": str(o.ord_id), "ordType": o.ord_type, "pnl": fmt_decimal(o.pnl),
        "posSide": ("net" if inst.is_swap else ""), "px": inst.px_str(o.px_idx) if o.px_idx is not None else "",
        "pxType": "", "pxUsd": "", "pxVol": "", "quickMgnType": "", "rebate": "0", "rebateCcy": inst.quote_ccy,
        "reduceOnly": "true" if o.reduce_only else "false", "reqId": o.req_id, "side": o.side,
        "slOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "", "source": "", "state": o.state.value, "stpId": "",
        "stpMode": "cancel_maker", "sz": fmt_decimal(o.sz), "tag": o.tag, "tdMode": o.td_mode,
        "tgtCcy": o.tgt_ccy, "tpOrdPx": "", "tpTriggerPx": "", "tpTriggerPxType": "",
        "tradeId": f.trade_id, "tradeQuoteCcy": "" if inst.is_swap else inst.quote_ccy, "uTime": str(o.u_time),
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
