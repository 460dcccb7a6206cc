"""SimExchange: the simulator's exchange core, pure and synchronous.

The network side (hftlab.sim.server) drives it: `advance_to(market time)`, then public data
(`book_levels`, `take_book_changes`, `take_trades`, `ticker`, `candles`) and trading
(`place_order`, `cancel_order`, `amend_order`, queries, `take_private_events`). Requests and answers
are OKX v5 dicts of strings; rejections carry OKX's sCodes and messages. No I/O, no clock: the same
seed and the same calls (with the same market times) give the same results.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from hftlab.sim.accounts import SWAP_LEVER, ZERO, Account, ccy_prices
from hftlab.sim.accounts import equity as account_equity
from hftlab.sim.instruments import Instrument, default_instruments, fmt_decimal
from hftlab.sim.market import BARS, Market, Match, SimTrade
from hftlab.sim.matching import BUY, SELL, QuoteDemand, Resting, SizeDemand

DEFAULT_BALANCES = {"USDT": "100000", "BTC": "1", "ETH": "10", "SOL": "100"}
ORD_TYPES = ("market", "limit", "post_only", "fok", "ioc")
PRICED = ("limit", "post_only", "fok", "ioc")
PRICE_LIMIT = 0.05           # limit prices beyond mid * (1 +- 5%) are refused (51006); market orders stop there
_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{1,16}")
FIRST_ORD_ID = 600_000_000_000_000_000

# cancelSource values (protocol doc 5.3)
CANCEL_USER, CANCEL_FOK, CANCEL_IOC, CANCEL_POST_ONLY, CANCEL_STP = "1", "13", "14", "31", "32"

MSG = {
    "51001": "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
    "51003": "Either client order ID or order ID is required.",
    "51006": "Order price is not within the price limit (max buy price: {0} , min sell price: {1} )",
    "51008": "Order failed. Insufficient {0} balance in account",
    "51016": "Client order ID already exists.",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51169": "Order failed because you don't have any positions in this direction for this contract "
             "to reduce or close.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not exist.",
    "51503": "Your order has already been filled or canceled.",
    "51511": "Modification failed as the order price did not meet the requirement for Post Only.",
    "51603": "Order does not exist.",
}


class Rejected(Exception):
    def __init__(self, code: str, msg: str):
        super().__init__(code, msg)
        self.code, self.msg = code, msg


def _param(name: str) -> Rejected:
    return Rejected("51000", f"Parameter {name} error")


def _empty(name: str) -> Rejected:
    return Rejected("50014", f"Parameter {name} can not be empty.")


def _positive(s: Any, name: str) -> Decimal:
    try:
        d = Decimal(str(s))
    except InvalidOperation:
        raise _param(name) from None
    if not d.is_finite() or d <= 0:
        raise _param(name)
    return d


def _usd(d: Decimal) -> Decimal:
    return d.quantize(Decimal("1e-8"))


def _bool(v: Any, name: str) -> bool:
    if isinstance(v, bool):
        return v
    if v in ("", None, "false"):
        return False
    if v == "true":
        return True
    raise _param(name)


def _diff(prev: tuple[np.ndarray, ...], cur: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(mask of `cur` levels that are new or changed, prices in `prev` gone from `cur`); sorted by price."""
    p_idx, p_sz, p_cnt = prev
    c_idx, c_sz, c_cnt = cur
    if p_idx.size == 0:
        return np.ones(c_idx.size, bool), p_idx
    at = np.minimum(np.searchsorted(p_idx, c_idx), p_idx.size - 1)
    same = (p_idx[at] == c_idx) & (p_sz[at] == c_sz) & (p_cnt[at] == c_cnt)
    if c_idx.size:
        back = np.minimum(np.searchsorted(c_idx, p_idx), c_idx.size - 1)
        removed = p_idx[c_idx[back] != p_idx]
    else:
        removed = p_idx
    return ~same, removed


@dataclass(eq=False)
class Order:
    ord_id: int
    account: str
    inst: Instrument
    cl_ord_id: str
    tag: str
    side: str
    ord_type: str
    td_mode: str
    tgt_ccy: str
    reduce_only: bool
    pos_side: str
    px_idx: int | None
    sz: Decimal                # as requested: base/contracts, or quote for quote-ccy market orders
    lots: int                  # requested lots (0 for quote-ccy market orders)
    c_time: int
    u_time: int
    state: str = "live"
    filled_lots: int = 0
    notional: Decimal = ZERO   # sum of px * sz filled
    fee: Decimal = ZERO
    fee_ccy: str = ""
    pnl: Decimal = ZERO
    cancel_source: str = ""
    frozen_ccy: str = ""
    frozen: Decimal = ZERO
    resting: Resting | None = None
    last_fill: tuple[str, str, str, str, str, str, str] | None = None   # px, sz, time, tradeId, fee, pnl, execType
    req_id: str = ""
    amend_result: str = ""

    @property
    def by_quote(self) -> bool:
        return self.lots == 0

    @property
    def live(self) -> bool:
        return self.state in ("live", "partially_filled")


class SimExchange:
    def __init__(self, instruments: list[Instrument] | None = None, *, seed: int = 7,
                 signal_strength: float = 0.0, maker_fee: float = -0.0008, taker_fee: float = -0.001,
                 start_ms: int = 1_767_225_600_000, initial_balances: dict[str, str] | None = None,
                 step_ms: int = 100):
        instruments = default_instruments() if instruments is None else instruments
        if not instruments:
            raise ValueError("SimExchange needs at least one instrument")
        self.instruments: dict[str, Instrument] = {i.inst_id: i for i in instruments}
        self.by_code: dict[int, Instrument] = {i.inst_id_code: i for i in instruments}
        if len(self.instruments) != len(instruments) or len(self.by_code) != len(instruments):
            raise ValueError("instrument ids and instIdCodes must be unique")
        self.maker_fee = Decimal(str(maker_fee))
        self.taker_fee = Decimal(str(taker_fee))
        self.initial_balances = {c: Decimal(v) for c, v in (initial_balances or DEFAULT_BALANCES).items()}
        self.now_ms = start_ms
        self.step_ms = step_ms
        self._next_step = start_ms + step_ms
        self._floor_ms = start_ms
        # spot first, so a swap follows its spot market's fair value within the same step
        ordered = sorted(instruments, key=lambda i: i.is_swap)
        seeds = np.random.SeedSequence(seed).spawn(len(ordered))
        self.markets: dict[str, Market] = {}
        for inst, ss in zip(ordered, seeds):
            leader = self.markets.get(f"{inst.base_ccy}-{inst.quote_ccy}") if inst.is_swap else None
            self.markets[inst.inst_id] = Market(inst, np.random.Generator(np.random.PCG64(ss)),
                                                signal_strength, start_ms, step_ms, leader)
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self._by_cl: dict[tuple[str, str], Order] = {}
        self._next_ord = FIRST_ORD_ID
        self._events: dict[str, deque[tuple[str, dict]]] = {}
        self._dirty_ccy: dict[str, set[str]] = {}
        self._dirty_pos: dict[str, set[str]] = {}
        self._published: dict[str, tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]] = {}

    # --- time ------------------------------------------------------------------------------------
    def advance_to(self, t_ms: int) -> None:
        """Run the order flow up to market time t_ms (no-op if t_ms <= now_ms)."""
        if t_ms <= self.now_ms:
            return
        while self._next_step <= t_ms:
            ts = self._next_step
            for m in self.markets.values():
                for match in m.step(ts, self._floor_ms):
                    self._maker_fill(match)
            self._next_step += self.step_ms
        self.now_ms = t_ms
        self._flush()

    # --- public data -----------------------------------------------------------------------------
    def _market(self, inst_id: str) -> Market:
        try:
            return self.markets[inst_id]
        except KeyError:
            raise KeyError(f"unknown instrument {inst_id!r}; listed: {', '.join(self.markets)}") from None

    def book_levels(self, inst_id: str, depth: int = 400):
        """(bids best first, asks best first) as (px, sz, order count) strings as OKX sends them."""
        m = self._market(inst_id)
        inst = m.inst
        out = []
        for side in (m.book.bids, m.book.asks):
            idx, sz, cnt = side.levels(depth)
            out.append([(m.px_str(i), inst.sz_str(s), c) for i, s, c in zip(idx.tolist(), sz.tolist(), cnt.tolist())])
        return out[0], out[1]

    def take_book_changes(self, inst_id: str):
        """Levels changed within the 400-level window since the last call: (bids, asks), best first.

        A level that left the window or emptied comes as ("px", "0", 0). Updates are absolute, so
        applying them over a snapshot taken in between is harmless.
        """
        m = self._market(inst_id)
        inst = m.inst
        empty = (np.zeros(0, np.int64),) * 3
        old = self._published.get(inst_id, (empty, empty))
        new, out = [], []
        for k, side in enumerate((m.book.bids, m.book.asks)):
            idx, sz, cnt = side.levels(400)
            order = np.argsort(idx)
            cur = (idx[order], sz[order], cnt[order])
            changed, removed = _diff(old[k], cur)
            lvl_idx = np.concatenate([cur[0][changed], removed])
            lvl_sz = np.concatenate([cur[1][changed], np.zeros(removed.size, np.int64)])
            lvl_cnt = np.concatenate([cur[2][changed], np.zeros(removed.size, np.int64)])
            best_first = np.argsort(-lvl_idx if k == 0 else lvl_idx)
            out.append([(m.px_str(i), inst.sz_str(s) if s else "0", c) for i, s, c in
                        zip(lvl_idx[best_first].tolist(), lvl_sz[best_first].tolist(), lvl_cnt[best_first].tolist())])
            new.append(cur)
        self._published[inst_id] = (new[0], new[1])
        return out[0], out[1]

    def take_trades(self, inst_id: str) -> list[SimTrade]:
        """Public trades since the last call, oldest first."""
        return self._market(inst_id).tape.take()

    def recent_trades(self, inst_id: str, limit: int = 100) -> list[SimTrade]:
        """The latest public trades, newest first (REST market/trades)."""
        recent = self._market(inst_id).tape.recent
        return [recent[-1 - k] for k in range(min(limit, len(recent)))]

    def candles(self, inst_id: str, bar: str, limit: int = 100, after: int | None = None,
                before: int | None = None) -> list[list[str]]:
        """OKX candle rows [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm], newest first.

        `after`: bars older than that ts; `before`: bars newer. Unknown bar -> ValueError.
        """
        try:
            return self._market(inst_id).tape.candles(bar, limit, after, before)
        except KeyError:
            raise ValueError(f"unsupported bar {bar!r}; supported: {', '.join(BARS)}") from None

    def ticker(self, inst_id: str) -> dict[str, str]:
        m = self._market(inst_id)
        inst, tape = m.inst, m.tape
        (bids, asks) = (m.book.bids.levels(1), m.book.asks.levels(1))
        o, hi, lo, vol, quote = tape.day_stats()
        vol_dec = inst.sz(vol)
        quote_dec = tape.quote_unit * quote
        day = {bar: tape.series[bar].bars[-1][1] for bar in ("1Dutc", "1D")}
        return {
            "instType": inst.inst_type,
            "instId": inst.inst_id,
            "last": inst.px_str(tape.last_idx),
            "lastSz": inst.sz_str(tape.last_lots),
            "askPx": inst.px_str(int(asks[0][0])) if asks[0].size else "",
            "askSz": inst.sz_str(int(asks[1][0])) if asks[0].size else "",
            "bidPx": inst.px_str(int(bids[0][0])) if bids[0].size else "",
            "bidSz": inst.sz_str(int(bids[1][0])) if bids[0].size else "",
            "open24h": inst.px_str(o),
            "high24h": inst.px_str(hi),
            "low24h": inst.px_str(lo),
            # spot: volCcy24h quote, vol24h base; swap: volCcy24h base, vol24h contracts
            "volCcy24h": fmt_decimal(vol_dec * inst.contract_value if inst.is_swap else quote_dec),
            "vol24h": fmt_decimal(vol_dec),
            "sodUtc0": inst.px_str(day["1Dutc"]),
            "sodUtc8": inst.px_str(day["1D"]),
            "ts": str(self.now_ms),
        }

    def marks(self) -> dict[str, float]:
        """Mid price of every instrument."""
        return {i: m.mid_px() for i, m in self.markets.items()}

    # --- accounts --------------------------------------------------------------------------------
    def _account(self, key: str) -> Account:
        a = self.accounts.get(key)
        if a is None:
            a = self.accounts[key] = Account(key, dict(self.initial_balances),
                                             u_time={c: self.now_ms for c in self.initial_balances})
            self._events[key] = deque(maxlen=100_000)
        return a

    def equity(self, account: str) -> float:
        """Equity in USDT: cash and positions marked at mid."""
        return account_equity(self._account(account), self.marks())

    def balances(self, account: str) -> dict[str, Any]:
        """GET /api/v5/account/balance data[0]: every currency the account holds."""
        acct = self._account(account)
        return self._balance_record(acct, list(acct.cash))

    def _balance_record(self, acct: Account, ccys: list[str]) -> dict[str, Any]:
        """Account-level totals over every currency; `details` for `ccys` only (pushes send the changed ones)."""
        marks = self.marks()
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
                "uTime": str(acct.u_time.get(c, self.now_ms)), "upl": fmt_decimal(upl), "uplLiab": "0",
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
            "totalEq": fmt_decimal(total), "uTime": str(self.now_ms), "upl": fmt_decimal(_usd(upl_total)),
            "delta": "", "deltaLever": "", "deltaNeutralStatus": "0", "notionalUsdForBorrow": "0",
            "notionalUsdForFutures": "0", "notionalUsdForOption": "0",
            "notionalUsdForSwap": fmt_decimal(_usd(imr_total * SWAP_LEVER)),
        }

    def positions(self, account: str) -> list[dict[str, Any]]:
        """OKX positions records of the non-zero positions."""
        acct = self._account(account)
        marks = self.marks()
        return [self._position_record(p, marks) for p in acct.positions.values() if p.pos]

    def _position_record(self, p, marks: dict[str, float]) -> dict[str, Any]:
        inst = p.inst
        mark = marks[inst.inst_id]
        mark_d = Decimal(str(mark))
        upl = p.upl(mark)
        margin = p.margin(mark)
        return {
            "adl": "1", "availPos": fmt_decimal(abs(p.pos)), "avgPx": fmt_decimal(p.avg_px), "cTime": str(p.c_time),
            "ccy": inst.quote_ccy, "deltaBS": "", "deltaPA": "", "gammaBS": "", "gammaPA": "",
            "imr": fmt_decimal(margin),
            "instId": inst.inst_id, "instType": inst.inst_type, "interest": "0", "idxPx": fmt_decimal(mark_d),
            "last": inst.px_str(self.markets[inst.inst_id].tape.last_idx), "lever": fmt_decimal(SWAP_LEVER),
            "liab": "", "liabCcy": "", "liqPx": "", "markPx": fmt_decimal(mark_d), "margin": "",
            "mgnMode": "cross", "mgnRatio": "", "mmr": fmt_decimal(margin / 2),
            "notionalUsd": fmt_decimal(abs(p.pos) * inst.contract_value * mark_d), "optVal": "",
            "pTime": str(self.now_ms), "pos": fmt_decimal(p.pos), "posCcy": "", "posId": p.pos_id, "posSide": "net",
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

    def take_private_events(self, account: str) -> list[tuple[str, dict]]:
        """("orders" | "positions" | "account", record) pushes since the last call, in order."""
        self._account(account)
        q = self._events[account]
        out = list(q)
        q.clear()
        return out

    def _push(self, account: str, channel: str, record: dict) -> None:
        self._events[account].append((channel, record))

    def _touch(self, account: str, *ccys: str, position: str | None = None) -> None:
        self._dirty_ccy.setdefault(account, set()).update(ccys)
        if position:
            self._dirty_pos.setdefault(account, set()).add(position)

    def _flush(self) -> None:
        """One `positions` push per changed position and one `account` push per account, per call."""
        if not self._dirty_ccy and not self._dirty_pos:
            return
        marks = self.marks()
        for account, inst_ids in self._dirty_pos.items():
            acct = self.accounts[account]
            for i in sorted(inst_ids):
                self._push(account, "positions", self._position_record(acct.positions[i], marks))
        for account, ccys in self._dirty_ccy.items():
            self._push(account, "account", self._balance_record(self.accounts[account], sorted(ccys)))
        self._dirty_ccy.clear()
        self._dirty_pos.clear()

    # --- trading ---------------------------------------------------------------------------------
    def _band(self, m: Market) -> tuple[int, int]:
        """(max buy, min sell) tick indices allowed now."""
        mid = m.mid_px() / float(m.inst.tick)
        return math.floor(mid * (1 + PRICE_LIMIT) + 1e-9), math.ceil(mid * (1 - PRICE_LIMIT) - 1e-9)

    def place_order(self, account: str, req: dict) -> dict[str, str]:
        """Place one order (REST order / WS `order` arg; instIdCode accepted instead of instId)."""
        cl = str(req.get("clOrdId") or "")
        tag = str(req.get("tag") or "")
        ack = {"ordId": "", "clOrdId": cl, "tag": tag, "ts": str(self.now_ms), "sCode": "0", "sMsg": ""}
        self._floor_ms = self.now_ms
        try:
            o = self._new_order(self._account(account), req, cl, tag)
        except Rejected as r:
            ack.update(sCode=r.code, sMsg=r.msg)
            return ack
        ack["ordId"] = str(o.ord_id)
        self._execute(o)
        self._flush()
        return ack

    def _instrument(self, req: dict) -> Instrument:
        inst_id = req.get("instId")
        if inst_id:
            inst = self.instruments.get(str(inst_id))
        elif req.get("instIdCode") not in (None, ""):
            try:
                inst = self.by_code.get(int(req["instIdCode"]))
            except (TypeError, ValueError):
                raise _param("instIdCode") from None
        else:
            raise _empty("instId")
        if inst is None:
            raise Rejected("51001", MSG["51001"])
        return inst

    def _new_order(self, acct: Account, req: dict, cl: str, tag: str) -> Order:
        inst = self._instrument(req)
        m = self.markets[inst.inst_id]
        if cl and not _ID.fullmatch(cl):
            raise _param("clOrdId")
        if tag and not _TAG.fullmatch(tag):
            raise _param("tag")
        for name in ("tdMode", "side", "ordType", "sz"):
            if req.get(name) in (None, ""):
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
        if tgt not in ("", "base_ccy", "quote_ccy") or (tgt and (inst.is_swap or ord_type != "market")):
            raise _param("tgtCcy")
        reduce_only = _bool(req.get("reduceOnly"), "reduceOnly")
        sz = _positive(req["sz"], "sz")
        px_idx = None
        if ord_type in PRICED:
            if req.get("px") in (None, ""):
                raise _param("px")
            px_idx = inst.px_idx(_positive(req["px"], "px"))
            if px_idx is None:
                raise _param("px")
        if cl and (acct.key, cl) in self._by_cl and self._by_cl[(acct.key, cl)].live:
            raise Rejected("51016", MSG["51016"])
        # spot market buys are sized in quote ccy unless tgtCcy=base_ccy (sells: base unless quote_ccy)
        by_quote = (not inst.is_swap and ord_type == "market"
                    and (tgt == "quote_ccy" or (tgt == "" and side == BUY)))
        lots = 0
        if not by_quote:
            lots = inst.lots(sz)
            if lots is None:
                raise Rejected("51121", MSG["51121"])
            if lots < inst.min_lots:
                raise Rejected("51020", MSG["51020"])
        max_buy, min_sell = self._band(m)
        if px_idx is not None and ((side == BUY and px_idx > max_buy) or (side == SELL and px_idx < min_sell)):
            raise Rejected("51006", MSG["51006"].format(inst.px_str(max_buy), inst.px_str(min_sell)))
        if by_quote and self._quote_to_lots(m, side, sz) < inst.min_lots:
            raise Rejected("51020", MSG["51020"])
        if reduce_only and inst.is_swap:
            p = acct.positions.get(inst.inst_id)
            if p is None or p.pos == 0 or (p.pos > 0) == (side == BUY):
                raise Rejected("51169", MSG["51169"])
        o = Order(self._next_ord + 1, acct.key, inst, cl, tag, side, ord_type, td_mode, tgt, reduce_only,
                  pos_side, px_idx, sz, lots, self.now_ms, self.now_ms)
        ccy, amount = self._freeze_need(acct, o, m)
        if acct.available(ccy, self.marks()) < amount:
            raise Rejected("51008", MSG["51008"].format(ccy))
        self._next_ord += 1
        o.frozen_ccy, o.frozen = ccy, amount
        acct.freeze(ccy, amount)
        self._touch(acct.key, ccy)
        self.orders[o.ord_id] = o
        if cl:
            self._by_cl[(acct.key, cl)] = o
        return o

    def _quote_to_lots(self, m: Market, side: str, quote: Decimal) -> int:
        """Lots a quote amount buys (or sells) at the current touch."""
        touch = m.book.best_ask() if side == BUY else m.book.best_bid()
        if touch is None:
            return 0
        return int(quote / (m.inst.px(touch) * m.inst.lot * m.inst.contract_value))

    def _walk_cost(self, m: Market, side: str, lots: int, limit: int, account: str) -> Decimal:
        """Quote cost of taking `lots` now, up to `limit` (for freezing market orders sized in base)."""
        cost, left = ZERO, lots
        for idx, n in m.book.liquidity(side, limit, account):
            k = min(n, left)
            cost += m.inst.px(idx) * m.inst.sz(k)
            left -= k
            if left == 0:
                break
        return cost

    def _freeze_need(self, acct: Account, o: Order, m: Market) -> tuple[str, Decimal]:
        """(ccy, amount) an order holds while open: spot buy quote, spot sell base, swap margin."""
        inst = o.inst
        max_buy, min_sell = self._band(m)
        if inst.is_swap:
            p = acct.positions.get(inst.inst_id)
            pos = p.pos if p else ZERO
            reducing = min(abs(pos), o.sz) if pos and (pos > 0) != (o.side == BUY) else ZERO
            opening = o.sz - reducing
            px = inst.px(o.px_idx if o.px_idx is not None else (max_buy if o.side == BUY else min_sell))
            return inst.quote_ccy, opening * inst.contract_value * px / SWAP_LEVER
        if o.side == BUY:
            if o.by_quote:
                return inst.quote_ccy, o.sz
            if o.px_idx is not None:
                return inst.quote_ccy, inst.px(o.px_idx) * o.sz
            return inst.quote_ccy, self._walk_cost(m, BUY, o.lots, max_buy, acct.key)
        if o.by_quote:   # sell a quote amount's worth: hold what it takes at the touch, plus room to walk the band
            return inst.base_ccy, inst.sz(self._quote_to_lots(m, SELL, o.sz) * 106 // 100)
        return inst.base_ccy, o.sz

    def _execute(self, o: Order) -> None:
        """Match a new (or re-priced) order, then rest it or end it as its type says."""
        m = self.markets[o.inst.inst_id]
        book = m.book
        inst = o.inst
        ts = self.now_ms
        if o.ord_type == "post_only":
            touch = book.best_ask() if o.side == BUY else book.best_bid()
            if touch is not None and (o.px_idx >= touch if o.side == BUY else o.px_idx <= touch):
                self._end(o, "canceled", CANCEL_POST_ONLY)
                return
        max_buy, min_sell = self._band(m)
        limit = o.px_idx if o.px_idx is not None else (max_buy if o.side == BUY else min_sell)
        want = o.lots - o.filled_lots
        if o.ord_type == "fok" and sum(n for _, n in book.liquidity(o.side, limit, o.account)) < want:
            self._end(o, "canceled", CANCEL_FOK)
            return
        if o.by_quote:
            unit = inst.lot * inst.contract_value
            # a sell sized in quote never sells more base than it holds frozen
            cap = inst.lots(o.frozen) if o.side == SELL else None
            demand = QuoteDemand(o.sz, lambda idx: inst.px(idx) * unit, cap)
        else:
            demand = SizeDemand(want)
        fills = book.take(o.side, demand, limit, o.account, self._self_trade)
        for match in m.tape.record(o.side, fills, ts) if fills else ():
            self._fill(o, match, "T")
            if match.maker is not None:
                self._maker_fill(match)
        if o.ord_type in ("limit", "post_only"):
            if o.filled_lots < o.lots:
                o.resting = Resting(o.ord_id, o.account, o.side, o.px_idx, o.lots - o.filled_lots)
                book.side(o.side).add_agent(o.resting)
                if o.filled_lots == 0 and o.amend_result == "":
                    self._push(o.account, "orders", self._record(o))
            return
        if o.state != "filled":
            if o.ord_type == "market" and o.filled_lots:
                self._end(o, "filled", "")
            else:
                self._end(o, "canceled", CANCEL_IOC if o.ord_type != "fok" else CANCEL_FOK)

    def _self_trade(self, resting: Resting) -> None:
        """stpMode cancel_maker: the taker's own resting order is cancelled, not traded."""
        maker = self.orders[resting.ord_id]
        self.markets[maker.inst.inst_id].book.side(maker.side).remove_agent(resting)
        maker.resting = None
        self._end(maker, "canceled", CANCEL_STP)

    def _maker_fill(self, match: Match) -> None:
        o = self.orders[match.maker.ord_id]
        self._fill(o, match, "M")
        if match.maker.rem == 0:
            o.resting = None

    def _fill(self, o: Order, match: Match, exec_type: str) -> None:
        inst = o.inst
        acct = self.accounts[o.account]
        px, sz = inst.px(match.idx), inst.sz(match.lots)
        rate = self.maker_fee if exec_type == "M" else self.taker_fee
        trade_id = str(match.trade_id)
        if inst.is_swap:
            fee, pnl = acct.swap_fill(inst, o.side, px, sz, rate, match.ts_ms, trade_id, str(o.ord_id))
            fee_ccy = inst.quote_ccy
            self._touch(o.account, fee_ccy, position=inst.inst_id)
            release = o.frozen * match.lots / max(o.lots - o.filled_lots, match.lots)
        else:
            fee, fee_ccy = acct.spot_fill(inst, o.side, px, sz, rate, match.ts_ms)
            pnl = ZERO
            self._touch(o.account, inst.base_ccy, inst.quote_ccy)
            if o.side == SELL:
                release = sz
            elif o.by_quote or o.px_idx is None:
                release = px * sz
            else:
                release = inst.px(o.px_idx) * sz
        release = min(release, o.frozen)
        o.frozen -= release
        acct.release(o.frozen_ccy, release)
        o.filled_lots += match.lots
        o.notional += px * sz
        o.fee += fee
        o.fee_ccy = fee_ccy
        o.pnl += pnl
        o.u_time = match.ts_ms
        o.last_fill = (inst.px_str(match.idx), inst.sz_str(match.lots), str(match.ts_ms), trade_id,
                       fmt_decimal(fee), fmt_decimal(pnl), exec_type)
        if not o.by_quote and o.filled_lots == o.lots:
            self._end(o, "filled", "", push=False)
        else:
            o.state = "partially_filled"
        self._push(o.account, "orders", self._record(o, fill=True))

    def _end(self, o: Order, state: str, source: str, push: bool = True) -> None:
        """Terminal state: release what the order still holds."""
        o.state = state
        o.cancel_source = source
        o.u_time = self.now_ms if push else o.u_time
        if o.frozen:
            self.accounts[o.account].release(o.frozen_ccy, o.frozen)
            self._touch(o.account, o.frozen_ccy)
            o.frozen = ZERO
        if push:
            self._push(o.account, "orders", self._record(o))

    def cancel_order(self, account: str, inst_id: str, ord_id: str | None = None,
                     cl_ord_id: str | None = None) -> dict[str, str]:
        self._floor_ms = self.now_ms
        ack = {"ordId": ord_id or "", "clOrdId": cl_ord_id or "", "ts": str(self.now_ms), "sCode": "0", "sMsg": ""}
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
            if o is not None:
                ack.update(ordId=str(o.ord_id), clOrdId=o.cl_ord_id)
            if o is None or not o.live:
                raise Rejected("51400", MSG["51400"])
        except Rejected as r:
            ack.update(sCode=r.code, sMsg=r.msg)
            return ack
        self.markets[o.inst.inst_id].book.side(o.side).remove_agent(o.resting)
        o.resting = None
        self._end(o, "canceled", CANCEL_USER)
        self._flush()
        return ack

    def _find(self, account: str, inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> Order | None:
        if inst_id not in self.instruments:
            raise Rejected("51001", MSG["51001"])
        if ord_id:
            try:
                o = self.orders.get(int(ord_id))
            except ValueError:
                raise _param("ordId") from None
        elif cl_ord_id:
            o = self._by_cl.get((account, cl_ord_id))
        else:
            raise Rejected("51003", MSG["51003"])
        if o is None or o.account != account or o.inst.inst_id != inst_id:
            return None
        return o

    def amend_order(self, account: str, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None,
                    new_sz: str | None = None, new_px: str | None = None, req_id: str | None = None) -> dict[str, str]:
        """Amend size and/or price. `newSz` includes what already filled. A lower size keeps queue
        priority; a new price or a larger size re-queues the order (and may trade)."""
        self._floor_ms = self.now_ms
        self._account(account)
        req_id = req_id or ""
        ack = {"ordId": ord_id or "", "clOrdId": cl_ord_id or "", "ts": str(self.now_ms), "reqId": req_id,
               "sCode": "0", "sMsg": ""}
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
            if o is None:
                raise Rejected("51603", MSG["51603"])
            ack.update(ordId=str(o.ord_id), clOrdId=o.cl_ord_id)
            if not o.live:
                raise Rejected("51503", MSG["51503"])
            self._amend(o, new_sz, new_px, req_id)
        except Rejected as r:
            ack.update(sCode=r.code, sMsg=r.msg)
            return ack
        self._flush()
        return ack

    def _amend(self, o: Order, new_sz: str | None, new_px: str | None, req_id: str) -> None:
        inst = o.inst
        m = self.markets[inst.inst_id]
        if new_sz in (None, "") and new_px in (None, ""):
            raise Rejected("50015", "Either parameter newSz or newPx is required.")
        lots, sz = o.lots, o.sz
        if new_sz not in (None, ""):
            sz = _positive(new_sz, "newSz")
            lots = inst.lots(sz)
            if lots is None:
                raise Rejected("51121", MSG["51121"])
            if lots < inst.min_lots:
                raise Rejected("51020", MSG["51020"])
            if lots <= o.filled_lots:
                raise _param("newSz")
        px_idx = o.px_idx
        if new_px not in (None, ""):
            px_idx = inst.px_idx(_positive(new_px, "newPx"))
            if px_idx is None:
                raise _param("newPx")
            max_buy, min_sell = self._band(m)
            if (o.side == BUY and px_idx > max_buy) or (o.side == SELL and px_idx < min_sell):
                raise Rejected("51006", MSG["51006"].format(inst.px_str(max_buy), inst.px_str(min_sell)))
        if o.ord_type == "post_only" and px_idx != o.px_idx:
            touch = m.book.best_ask() if o.side == BUY else m.book.best_bid()
            if touch is not None and (px_idx >= touch if o.side == BUY else px_idx <= touch):
                raise Rejected("51511", MSG["51511"])
        acct = self.accounts[o.account]
        trial = Order(o.ord_id, o.account, inst, o.cl_ord_id, o.tag, o.side, o.ord_type, o.td_mode, o.tgt_ccy,
                      o.reduce_only, o.pos_side, px_idx, sz - inst.sz(o.filled_lots), lots - o.filled_lots,
                      o.c_time, self.now_ms)
        ccy, need = self._freeze_need(acct, trial, m)
        if acct.available(ccy, self.marks()) + o.frozen < need:
            raise Rejected("51008", MSG["51008"].format(ccy))
        acct.release(o.frozen_ccy, o.frozen)
        acct.freeze(ccy, need)
        o.frozen_ccy, o.frozen = ccy, need
        self._touch(o.account, ccy)
        keep_place = px_idx == o.px_idx and lots <= o.lots
        o.lots, o.sz, o.px_idx = lots, sz, px_idx
        o.req_id, o.amend_result, o.u_time = req_id, "0", self.now_ms
        side = m.book.side(o.side)
        if keep_place:
            o.resting.rem = lots - o.filled_lots
            self._push(o.account, "orders", self._record(o))
        else:
            side.remove_agent(o.resting)
            o.resting = None
            self._push(o.account, "orders", self._record(o))
            self._execute(o)
        o.amend_result = ""

    def get_order(self, account: str, inst_id: str, ord_id: str | None = None,
                  cl_ord_id: str | None = None) -> dict[str, Any] | None:
        """The OKX order record, or None if there is no such order (REST answers 51603)."""
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
        except Rejected:
            return None
        return None if o is None else self._record(o, fill=o.last_fill is not None)

    def pending_orders(self, account: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        """Open orders, newest first (GET /api/v5/trade/orders-pending)."""
        out = [o for o in self.orders.values() if o.account == account and o.live
               and (inst_id is None or o.inst.inst_id == inst_id)]
        return [self._record(o, fill=o.last_fill is not None) for o in reversed(out)]

    def _record(self, o: Order, fill: bool = False) -> dict[str, Any]:
        """The `orders` channel / GET order record."""
        inst = o.inst
        filled = inst.sz(o.filled_lots)
        avg = (o.notional / filled).quantize(Decimal(10) ** -10).normalize() if o.filled_lots else ZERO
        f = o.last_fill if fill and o.last_fill else ("", "0", "", "", "0", "0", "")
        fill_notional = (Decimal(f[0]) * Decimal(f[1]) * inst.contract_value) if f[0] else ZERO
        notional = (inst.px(o.px_idx) if o.px_idx is not None else Decimal(0)) * (
            o.sz if not o.by_quote else ZERO) * inst.contract_value
        fee_ccy = o.fee_ccy or (inst.quote_ccy if inst.is_swap or o.side == SELL else inst.base_ccy)
        return {
            "accFillSz": inst.sz_str(o.filled_lots), "algoClOrdId": "", "algoId": "", "amendResult": o.amend_result,
            "amendSource": "", "attachAlgoClOrdId": "", "attachAlgoOrds": [], "avgPx": fmt_decimal(avg),
            "cancelSource": o.cancel_source, "category": "normal", "ccy": "", "clOrdId": o.cl_ord_id, "code": "0",
            "cTime": str(o.c_time), "execType": f[6], "fee": fmt_decimal(o.fee), "feeCcy": fee_ccy,
            "fillFee": f[4], "fillFeeCcy": fee_ccy if f[0] else "", "fillNotionalUsd": fmt_decimal(fill_notional)
            if f[0] else "", "fillPx": f[0], "fillSz": f[1], "fillPnl": f[5], "fillTime": f[2],
            "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "", "fillIdxPx": "",
            "instId": inst.inst_id, "instType": inst.inst_type, "isTpLimit": "false",
            "lastPx": inst.px_str(self.markets[inst.inst_id].tape.last_idx), "lever": "10" if inst.is_swap else "0",
            "linkedAlgoOrd": {"algoId": ""}, "msg": "", "notionalUsd": fmt_decimal(notional),
            "ordId": str(o.ord_id), "ordType": o.ord_type, "pnl": fmt_decimal(o.pnl),
            "posSide": ("net" if inst.is_swap else ""), "px": inst.px_str(o.px_idx) if o.px_idx is not None else "",
            "pxType": "", "pxUsd": "", "pxVol": "", "quickMgnType": "", "rebate": "0", "rebateCcy": inst.quote_ccy,
            "reduceOnly": "true" if o.reduce_only else "false", "reqId": o.req_id, "side": o.side,
            "slOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "", "source": "", "state": o.state, "stpId": "",
            "stpMode": "cancel_maker", "sz": fmt_decimal(o.sz), "tag": o.tag, "tdMode": o.td_mode,
            "tgtCcy": o.tgt_ccy, "tpOrdPx": "", "tpTriggerPx": "", "tpTriggerPxType": "",
            "tradeId": f[3], "tradeQuoteCcy": "" if inst.is_swap else inst.quote_ccy, "uTime": str(o.u_time),
        }
