"""SimExchange: the simulator's exchange core, pure and synchronous.

The network side (hftlab.sim.server) drives it: `advance_to(market time)`, then public data
(`book_levels`, `take_book_changes`, `take_trades`, `ticker`, `candles`) and trading
(`place_order`, `cancel_order`, `amend_order`, queries, `take_private_events`). Requests and answers
are OKX v5 dicts of strings; rejections carry OKX's sCodes and messages. No I/O, no clock: the same
seed and the same calls (with the same market times) give the same results.

This class owns the state (markets, accounts, orders, fills, the private event queue) and each
order's lifecycle: place, execute, fill, amend, cancel, end; and the venue's own actions on accounts
(cancel-all-after, liquidation). Request checks live in hftlab.sim.validation, order states in
hftlab.sim.orders, the records it answers with in hftlab.sim.records, the history windows in
hftlab.sim.history and the public views in hftlab.sim.views.

Amendments take `amend_latency_ms` of market time to apply (default 0: at once). Until then the
acknowledgement only says the request was taken: the outcome is the `orders` push (`amendResult`
0 ok, -1 failed, 1 cancelled by cxlOnFail), and at most MAX_AMENDS_IN_FLIGHT of one order may be
in progress.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from hftlab.domain.instruments import fmt as fmt_decimal
from hftlab.sim import codes, records, validation, views
from hftlab.sim.accounts import SWAP_LEVER, ZERO, Account, Position
from hftlab.sim.accounts import equity as account_equity
from hftlab.sim.instruments import Instrument, default_instruments
from hftlab.sim.market import Market, Match, SimTrade
from hftlab.sim.matching import BUY, SELL, QuoteDemand, Resting, SizeDemand
from hftlab.sim.orders import AmendResult, CancelSource, Category, LastFill, Order, OrderEvent, OrderState
from hftlab.sim.validation import Rejected

DEFAULT_BALANCES = {"USDT": "100000", "BTC": "1", "ETH": "10", "SOL": "100"}
FIRST_ORD_ID = 600_000_000_000_000_000
FIRST_BILL_ID = 700_000_000_000_000_000
MAX_PENDING_PER_INST = 500     # OKX: pending orders per instrument (51174)
MAX_AMENDS_IN_FLIGHT = 3       # OKX: amendments of one order in progress (51513)
# Fills history `subType`. Reading: in net mode OKX reports a contract trade as a buy or a sell (as
# spot), and a venue liquidation as "liquidation buy/sell" (partial: "partial liquidation buy/sell").
SUB_TYPES = {(Category.NORMAL, BUY): "1", (Category.NORMAL, SELL): "2",
             (Category.PARTIAL_LIQUIDATION, BUY): "102", (Category.PARTIAL_LIQUIDATION, SELL): "103",
             (Category.FULL_LIQUIDATION, BUY): "106", (Category.FULL_LIQUIDATION, SELL): "107"}


@dataclass(frozen=True, slots=True)
class Amendment:
    """An amend request that passed the gateway's checks, waiting to be applied to its order."""

    order: Order
    size: tuple[int, Decimal] | None   # (lots, sz) of newSz
    px_idx: int | None                 # newPx
    req_id: str
    cxl_on_fail: bool
    due_ms: int


@dataclass
class _BalanceEvent:
    """What one account's next `balance_and_position` push reports."""

    event_type: str
    ccys: set[str] = field(default_factory=set)
    positions: set[str] = field(default_factory=set)
    trades: list[tuple[str, str]] = field(default_factory=list)


class SimExchange:
    def __init__(self, instruments: list[Instrument] | None = None, *, seed: int = 7,
                 signal_strength: float = 0.0, maker_fee: float = -0.0008, taker_fee: float = -0.001,
                 start_ms: int = 1_767_225_600_000, initial_balances: dict[str, str] | None = None,
                 step_ms: int = 100, amend_latency_ms: int = 0, temporal_strength: float | None = None):
        instruments = default_instruments() if instruments is None else instruments
        if not instruments:
            raise ValueError("SimExchange needs at least one instrument")
        self.instruments: dict[str, Instrument] = {i.inst_id: i for i in instruments}
        # an instrument listed without an instIdCode cannot be named by code (WS order ops)
        coded = [i for i in instruments if i.inst_id_code is not None]
        self.by_code: dict[int, Instrument] = {i.inst_id_code: i for i in coded}
        if len(self.instruments) != len(instruments) or len(self.by_code) != len(coded):
            raise ValueError("instrument ids and instIdCodes must be unique")
        self.maker_fee = Decimal(str(maker_fee))
        self.taker_fee = Decimal(str(taker_fee))
        self.initial_balances = {c: Decimal(v) for c, v in (initial_balances or DEFAULT_BALANCES).items()}
        self.now_ms = start_ms
        self.step_ms = step_ms
        self.amend_latency_ms = amend_latency_ms
        self._next_step = start_ms + step_ms
        self._floor_ms = start_ms
        # spot first, so a swap follows its spot market's fair value within the same step
        ordered = sorted(instruments, key=lambda i: i.is_swap)
        seeds = np.random.SeedSequence(seed).spawn(len(ordered))
        self.markets: dict[str, Market] = {}
        for inst, ss in zip(ordered, seeds):
            leader = self.markets.get(f"{inst.base_ccy}-{inst.quote_ccy}") if inst.is_swap else None
            self.markets[inst.inst_id] = Market(inst, np.random.Generator(np.random.PCG64(ss)),
                                                signal_strength, start_ms, step_ms, leader, temporal_strength)
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self._by_cl: dict[tuple[str, str, str], Order] = {}      # (account, instId, clOrdId) -> latest order
        self._pending_cl: dict[tuple[str, str], Order] = {}      # (account, clOrdId) -> the pending order
        self._live: dict[tuple[str, str], dict[int, Order]] = {}  # (account, instId) -> pending orders
        self._closed: dict[str, list[Order]] = {}                # account -> finished orders, as they ended
        self._fills: dict[str, list[dict[str, str]]] = {}        # account -> fill records, oldest first
        self._amends: deque[Amendment] = deque()                 # accepted, not yet applied (due order)
        self._next_ord = FIRST_ORD_ID
        self._next_bill = FIRST_BILL_ID
        self._next_liquidation = 0                               # venue trades carry negative trade ids
        self._events: dict[str, deque[tuple[str, dict]]] = {}
        self._dirty_ccy: dict[str, set[str]] = {}
        self._dirty_pos: dict[str, set[str]] = {}
        self._balance_events: dict[str, _BalanceEvent] = {}
        self._book_changes = views.BookChanges()

    # --- time ------------------------------------------------------------------------------------
    def advance_to(self, t_ms: int) -> None:
        """Run the order flow up to market time t_ms (no-op if t_ms <= now_ms)."""
        if t_ms <= self.now_ms:
            return
        while self._next_step <= t_ms:
            ts = self._next_step
            self._apply_amends(ts)
            for m in self.markets.values():
                for match in m.step(ts, self._floor_ms):
                    self._maker_fill(match)
            self._next_step += self.step_ms
        self._apply_amends(t_ms)
        self.now_ms = t_ms
        self._flush()

    # --- public data -----------------------------------------------------------------------------
    def _market(self, inst_id: str) -> Market:
        try:
            return self.markets[inst_id]
        except KeyError:
            raise KeyError(f"unknown instrument {inst_id!r}; listed: {', '.join(self.markets)}") from None

    def book_levels(self, inst_id: str, depth: int = views.BOOK_WINDOW):
        """(bids best first, asks best first) as (px, sz, order count) strings as OKX sends them."""
        return views.book_levels(self._market(inst_id), depth)

    def take_book_changes(self, inst_id: str):
        """Levels changed within the 400-level window since the last call (see views.BookChanges)."""
        return self._book_changes.take(self._market(inst_id))

    def take_trades(self, inst_id: str) -> list[SimTrade]:
        """Public trades since the last call, oldest first."""
        return self._market(inst_id).tape.take()

    def recent_trades(self, inst_id: str, limit: int = 100) -> list[SimTrade]:
        """The latest public trades, newest first (REST market/trades)."""
        return views.recent_trades(self._market(inst_id), limit)

    def candles(self, inst_id: str, bar: str, limit: int = 100, after: int | None = None,
                before: int | None = None) -> list[list[str]]:
        """OKX candle rows, newest first (see views.candles). Unknown bar -> ValueError."""
        return views.candles(self._market(inst_id), bar, limit, after, before)

    def ticker(self, inst_id: str) -> dict[str, str]:
        return views.ticker(self._market(inst_id), self.now_ms)

    def marks(self) -> dict[str, float]:
        """Mid price of every instrument."""
        return {i: m.mid_px() for i, m in self.markets.items()}

    def _last_px(self, inst: Instrument) -> str:
        return inst.px_str(self.markets[inst.inst_id].tape.last_idx)

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
        return records.balance_record(acct, list(acct.cash), self.marks(), self.now_ms)

    def positions(self, account: str) -> list[dict[str, Any]]:
        """OKX positions records of the non-zero positions."""
        acct = self._account(account)
        marks = self.marks()
        return [self._position_record(p, marks) for p in acct.positions.values() if p.pos]

    def _position_record(self, p: Position, marks: dict[str, float]) -> dict[str, Any]:
        return records.position_record(p, marks[p.inst.inst_id], self._last_px(p.inst), self.now_ms)

    def _order_record(self, o: Order, fill: bool = False) -> dict[str, Any]:
        return records.order_record(o, self._last_px(o.inst), fill)

    def take_private_events(self, account: str) -> list[tuple[str, dict]]:
        """(channel, record) pushes since the last call, in order; channel: "orders", "positions",
        "account", "balance_and_position" or "fills"."""
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

    def _cash_moved(self, account: str, event_type: str, ccys: tuple[str, ...], position: str | None,
                    trade: tuple[str, str]) -> None:
        """A trade changed cash (and a position): what the next `balance_and_position` push reports."""
        ev = self._balance_events.setdefault(account, _BalanceEvent(event_type))
        ev.ccys.update(ccys)
        if position:
            ev.positions.add(position)
        ev.trades.append(trade)

    def _flush(self) -> None:
        """One `positions` push per changed position, one `account` and one `balance_and_position`
        push per account, per call."""
        if not self._dirty_ccy and not self._dirty_pos and not self._balance_events:
            return
        marks = self.marks()
        for account, inst_ids in self._dirty_pos.items():
            acct = self.accounts[account]
            for i in sorted(inst_ids):
                self._push(account, "positions", self._position_record(acct.positions[i], marks))
        for account, ccys in self._dirty_ccy.items():
            self._push(account, "account",
                       records.balance_record(self.accounts[account], sorted(ccys), marks, self.now_ms))
        for account, ev in self._balance_events.items():
            acct = self.accounts[account]
            self._push(account, "balance_and_position", records.balance_and_position_record(
                acct, ev.event_type, sorted(ev.ccys), [acct.positions[i] for i in sorted(ev.positions)], ev.trades,
                self.now_ms))
        self._dirty_ccy.clear()
        self._dirty_pos.clear()
        self._balance_events.clear()

    def balance_and_position(self, account: str) -> dict[str, Any]:
        """The `balance_and_position` snapshot: every non-zero cash balance and position."""
        acct = self._account(account)
        return records.balance_and_position_record(
            acct, "snapshot", [c for c in sorted(acct.cash) if acct.cash[c]],
            [p for _, p in sorted(acct.positions.items()) if p.pos], (), self.now_ms)

    # --- history ------------------------------------------------------------------------------------
    def finished_orders(self, account: str, since_ms: int = 0) -> list[dict[str, Any]]:
        """Records of the account's orders that ended at or after `since_ms`, newest (largest ordId)
        first; the history windows (hftlab.sim.history) pick from them."""
        done = sorted((o for o in self._closed.get(account, ()) if o.u_time >= since_ms), key=lambda o: o.ord_id,
                      reverse=True)
        return [self._order_record(o, fill=o.last_fill is not None) for o in done]

    def fills(self, account: str) -> list[dict[str, str]]:
        """The account's fill records, newest (largest billId) first."""
        return list(reversed(self._fills.get(account, ())))

    def currencies(self) -> list[dict[str, Any]]:
        """GET /api/v5/asset/currencies: every currency the venue lists or funds accounts with."""
        ccys = set(self.initial_balances)
        for i in self.instruments.values():
            ccys.update((i.quote_ccy,) if i.is_swap else (i.base_ccy, i.quote_ccy))
        return [records.currency_record(c, self.instruments.values()) for c in sorted(ccys)]

    def price_limit(self, inst_id: str) -> dict[str, Any]:
        """GET /api/v5/public/price-limit: the band limit orders are refused beyond (51006) right now."""
        m = self._market(inst_id)
        return records.price_limit_record(m.inst, self._band(m), self.now_ms)

    # --- placing -----------------------------------------------------------------------------------
    def _band(self, m: Market) -> tuple[int, int]:
        return validation.price_band(m.mid_px(), m.inst.tick)

    def place_order(self, account: str, req: dict) -> dict[str, str]:
        """Place one order (REST order / WS `order` arg; instIdCode accepted instead of instId)."""
        cl = str(req.get("clOrdId") or "")
        tag = str(req.get("tag") or "")
        self._floor_ms = self.now_ms
        try:
            o = self._new_order(self._account(account), req)
        except Rejected as r:
            return records.place_result(self.now_ms, "", cl, tag, r.answer)
        self._execute(o)
        self._flush()
        return records.place_result(self.now_ms, str(o.ord_id), cl, tag)

    def _new_order(self, acct: Account, req: dict) -> Order:
        """Check a request in OKX's order, then open the order and freeze what it holds."""
        inst = validation.instrument(req, self.instruments, self.by_code)
        m = self.markets[inst.inst_id]
        r = validation.order_request(req, inst)
        validation.unique_cl_ord_id(bool(r.cl_ord_id) and (acct.key, r.cl_ord_id) in self._pending_cl)
        validation.below_pending_limit(inst.inst_id, len(self._live.get((acct.key, inst.inst_id), ())),
                                       MAX_PENDING_PER_INST)
        lots = 0 if r.by_quote else validation.order_lots(inst, r.sz)
        band = self._band(m)
        if r.px_idx is not None:
            validation.within_band(inst, r.side, r.px_idx, band)
        if r.by_quote:
            validation.quote_size(inst, self._quote_to_lots(m, r.side, r.sz))
        if r.reduce_only and inst.is_swap:
            p = acct.positions.get(inst.inst_id)
            validation.reduces(r.side, p.pos if p else ZERO)
        ccy, amount = self._freeze_need(acct, m, band, r.side, r.px_idx, r.sz, lots)
        validation.funds(ccy, acct.available(ccy, self.marks()), amount)
        self._next_ord += 1
        o = Order(self._next_ord, acct.key, inst, r.cl_ord_id, r.tag, r.side, r.ord_type, r.td_mode, r.tgt_ccy,
                  r.reduce_only, r.pos_side, r.px_idx, r.sz, lots, self.now_ms, self.now_ms)
        o.frozen_ccy, o.frozen = ccy, amount
        acct.freeze(ccy, amount)
        self._touch(acct.key, ccy)
        self.orders[o.ord_id] = o
        self._live.setdefault((acct.key, inst.inst_id), {})[o.ord_id] = o
        if r.cl_ord_id:
            # the id opens a new order once the last one with it ended; lookups find the latest
            self._by_cl[(acct.key, inst.inst_id, r.cl_ord_id)] = o
            self._pending_cl[(acct.key, r.cl_ord_id)] = o
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

    def _freeze_need(self, acct: Account, m: Market, band: tuple[int, int], side: str, px_idx: int | None,
                     sz: Decimal, lots: int) -> tuple[str, Decimal]:
        """(ccy, amount) an order of `sz` (`lots`; 0 when sized in quote) holds while open: spot buy
        quote, spot sell base, swap margin."""
        inst = m.inst
        max_buy, min_sell = band
        if inst.is_swap:
            p = acct.positions.get(inst.inst_id)
            pos = p.pos if p else ZERO
            reducing = min(abs(pos), sz) if pos and (pos > 0) != (side == BUY) else ZERO
            opening = sz - reducing
            px = inst.px(px_idx if px_idx is not None else (max_buy if side == BUY else min_sell))
            return inst.quote_ccy, opening * inst.contract_value * px / SWAP_LEVER
        by_quote = lots == 0
        if side == BUY:
            if by_quote:
                return inst.quote_ccy, sz
            if px_idx is not None:
                return inst.quote_ccy, inst.px(px_idx) * sz
            return inst.quote_ccy, self._walk_cost(m, BUY, lots, max_buy, acct.key)
        if by_quote:   # sell a quote amount's worth: hold what it takes at the touch, plus room to walk the band
            return inst.base_ccy, inst.sz(self._quote_to_lots(m, SELL, sz) * 106 // 100)
        return inst.base_ccy, sz

    # --- executing and filling -----------------------------------------------------------------------
    def _execute(self, o: Order) -> None:
        """Match a new (or re-priced) order, then rest it or end it as its type says."""
        m = self.markets[o.inst.inst_id]
        book = m.book
        inst = o.inst
        ts = self.now_ms
        if o.ord_type == "post_only":
            touch = book.best_ask() if o.side == BUY else book.best_bid()
            if validation.crosses(o.side, o.px_idx, touch):
                self._end(o, OrderEvent.CANCEL, CancelSource.POST_ONLY)
                return
        max_buy, min_sell = self._band(m)
        limit = o.px_idx if o.px_idx is not None else (max_buy if o.side == BUY else min_sell)
        want = o.lots - o.filled_lots
        if o.ord_type == "fok" and sum(n for _, n in book.liquidity(o.side, limit, o.account)) < want:
            self._end(o, OrderEvent.CANCEL, CancelSource.FOK)
            return
        if o.by_quote:
            unit = inst.lot * inst.contract_value
            # a sell sized in quote never sells more base than it holds frozen
            cap = inst.lots(o.frozen) if o.side == SELL else None
            demand = QuoteDemand(o.sz, lambda idx: inst.px(idx) * unit, cap)
        else:
            demand = SizeDemand(want)
        fills = book.take(o.side, demand, limit, o.account, self._self_trade)
        matches = m.tape.record(o.side, fills, ts) if fills else []
        self._push_taker_fills(o, matches)
        for match in matches:
            self._fill(o, match, "T")
            if match.maker is not None:
                self._maker_fill(match)
        if o.ord_type in ("limit", "post_only"):
            if o.filled_lots < o.lots:
                o.resting = Resting(o.ord_id, o.account, o.side, o.px_idx, o.lots - o.filled_lots)
                book.side(o.side).add_agent(o.resting)
                if o.filled_lots == 0 and o.amend_result == "":
                    self._push(o.account, "orders", self._order_record(o))
            return
        if o.state is not OrderState.FILLED:
            if o.ord_type == "market" and o.filled_lots:
                self._end(o, OrderEvent.DONE, None)
            else:
                self._end(o, OrderEvent.CANCEL, CancelSource.IOC if o.ord_type != "fok" else CancelSource.FOK)

    def _self_trade(self, resting: Resting) -> None:
        """stpMode cancel_maker: the taker's own resting order is cancelled, not traded."""
        maker = self.orders[resting.ord_id]
        self.markets[maker.inst.inst_id].book.side(maker.side).remove_agent(resting)
        maker.resting = None
        self._end(maker, OrderEvent.CANCEL, CancelSource.SELF_TRADE)

    def _push_taker_fills(self, o: Order, matches: list[Match]) -> None:
        """`fills` channel: a taker's fills aggregated by price (`count` trades, the last tradeId). Like
        a maker's, pushed ahead of the order and balance updates (OKX: the faster channel)."""
        k = 0
        while k < len(matches):
            j, lots, count = k, 0, 0
            while j < len(matches) and matches[j].idx == matches[k].idx:
                lots, count = lots + matches[j].lots, count + matches[j].count
                j += 1
            last = matches[j - 1]
            self._push(o.account, "fills", records.fill_push(o, o.inst.px_str(last.idx), o.inst.sz_str(lots),
                                                             str(last.trade_id), last.ts_ms, "T", count))
            k = j

    def _maker_fill(self, match: Match) -> None:
        o = self.orders[match.maker.ord_id]
        self._push(o.account, "fills", records.fill_push(o, o.inst.px_str(match.idx), o.inst.sz_str(match.lots),
                                                         str(match.trade_id), match.ts_ms, "M", 1))
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
            self._cash_moved(o.account, "filled", (fee_ccy,), inst.inst_id, (inst.inst_id, trade_id))
            release = o.frozen * match.lots / max(o.lots - o.filled_lots, match.lots)
        else:
            fee, fee_ccy = acct.spot_fill(inst, o.side, px, sz, rate, match.ts_ms)
            pnl = ZERO
            self._touch(o.account, inst.base_ccy, inst.quote_ccy)
            self._cash_moved(o.account, "filled", (inst.base_ccy, inst.quote_ccy), None, (inst.inst_id, trade_id))
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
        o.last_fill = LastFill(inst.px_str(match.idx), inst.sz_str(match.lots), str(match.ts_ms), trade_id,
                               fmt_decimal(fee), fmt_decimal(pnl), exec_type)
        self._bill(o, fmt_decimal(rate), match.ts_ms)
        if not o.by_quote and o.filled_lots == o.lots:
            self._end(o, OrderEvent.FILL_ALL, None, push=False)
        else:
            o.apply(OrderEvent.FILL)
        self._push(o.account, "orders", self._order_record(o, fill=True))

    def _bill(self, o: Order, fee_rate: str, ts_ms: int) -> None:
        """Keep the order's latest fill for the fills history (a billId of its own, in fill order)."""
        self._next_bill += 1
        mark = fmt_decimal(Decimal(str(self.markets[o.inst.inst_id].mid_px())))
        self._fills.setdefault(o.account, []).append(records.fill_record(
            o, o.last_fill, self._next_bill, SUB_TYPES[(o.category, o.side)], fee_rate, mark, ts_ms))

    def _end(self, o: Order, event: OrderEvent, source: CancelSource | None, push: bool = True) -> None:
        """Terminal state: release what the order still holds."""
        o.apply(event)
        o.cancel_source = source
        o.u_time = self.now_ms if push else o.u_time
        self._live.get((o.account, o.inst.inst_id), {}).pop(o.ord_id, None)
        if self._pending_cl.get((o.account, o.cl_ord_id)) is o:
            del self._pending_cl[(o.account, o.cl_ord_id)]
        self._closed.setdefault(o.account, []).append(o)
        if o.frozen:
            self.accounts[o.account].release(o.frozen_ccy, o.frozen)
            self._touch(o.account, o.frozen_ccy)
            o.frozen = ZERO
        if push:
            self._push(o.account, "orders", self._order_record(o))

    # --- cancelling, amending, queries -------------------------------------------------------------
    def _find(self, account: str, inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> Order | None:
        """The order named by ordId, else the latest with that clOrdId on the instrument."""
        validation.listed(inst_id, self.instruments)
        num, cl = validation.order_ref(ord_id, cl_ord_id)
        o = self.orders.get(num) if num is not None else self._by_cl.get((account, inst_id, cl))
        if o is None or o.account != account or o.inst.inst_id != inst_id:
            return None
        return o

    def cancel_order(self, account: str, inst_id: str, ord_id: str | None = None,
                     cl_ord_id: str | None = None) -> dict[str, str]:
        self._floor_ms = self.now_ms
        o = None
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
            if o is None or not o.live:
                raise Rejected(*codes.CANCEL_FAILED)
        except Rejected as r:
            if o is None:
                return records.cancel_result(self.now_ms, ord_id or "", cl_ord_id or "", r.answer)
            return records.cancel_result(self.now_ms, str(o.ord_id), o.cl_ord_id, r.answer)
        self._cancel(o, CancelSource.USER)
        self._flush()
        return records.cancel_result(self.now_ms, str(o.ord_id), o.cl_ord_id)

    def _cancel(self, o: Order, source: CancelSource) -> None:
        self.markets[o.inst.inst_id].book.side(o.side).remove_agent(o.resting)
        o.resting = None
        self._end(o, OrderEvent.CANCEL, source)

    def cancel_pending(self, account: str, tag: str = "") -> list[str]:
        """Cancel-All-After lapsed: cancel the account's pending orders (only those with `tag` when
        one is given), `cancelSource` 20. Positions stay as they are. Returns the ordIds cancelled."""
        self._floor_ms = self.now_ms
        doomed = sorted((o for (acct, _), live in self._live.items() if acct == account for o in live.values()
                         if not tag or o.tag == tag), key=lambda o: o.ord_id)
        for o in doomed:
            self._cancel(o, CancelSource.CANCEL_ALL_AFTER)
        self._flush()
        return [str(o.ord_id) for o in doomed]

    def amend_order(self, account: str, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None,
                    new_sz: str | None = None, new_px: str | None = None, req_id: str | None = None,
                    cxl_on_fail: bool = False) -> dict[str, str]:
        """Amend size and/or price. `newSz` includes what already filled (at or below it the order
        ends filled). A lower size keeps queue priority; a new price or a larger size re-queues the
        order (and may trade). A refused amendment with `cxl_on_fail` cancels the order."""
        self._floor_ms = self.now_ms
        self._account(account)
        req_id = req_id or ""
        o = None
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
            if o is None:
                raise Rejected(*codes.ORDER_NOT_EXIST)
            if not o.live:
                raise Rejected(*codes.AMEND_ORDER_DONE)
            validation.amend_slots(o.amends_in_flight, MAX_AMENDS_IN_FLIGHT)
            a = self._amendment(o, new_sz, new_px, req_id, cxl_on_fail)
        except Rejected as r:
            if o is None:
                return records.amend_result(self.now_ms, ord_id or "", cl_ord_id or "", req_id, r.answer)
            if o.live and cxl_on_fail and r.code != codes.AMEND_IN_PROGRESS[0]:
                self._amend_failed(o, req_id, True, r.answer)
                self._flush()
            return records.amend_result(self.now_ms, str(o.ord_id), o.cl_ord_id, req_id, r.answer)
        if self.amend_latency_ms:
            o.amends_in_flight += 1
            self._amends.append(a)
            return records.amend_result(self.now_ms, str(o.ord_id), o.cl_ord_id, req_id)
        try:
            self._apply_amend(a)
        except Rejected as r:
            if a.cxl_on_fail:
                self._amend_failed(o, req_id, True, r.answer)
                self._flush()
            return records.amend_result(self.now_ms, str(o.ord_id), o.cl_ord_id, req_id, r.answer)
        self._flush()
        return records.amend_result(self.now_ms, str(o.ord_id), o.cl_ord_id, req_id)

    def _amendment(self, o: Order, new_sz: str | None, new_px: str | None, req_id: str,
                   cxl_on_fail: bool) -> Amendment:
        """The gateway's checks of an amendment: what it asks for, each value on its grid."""
        validation.amend_given(new_sz, new_px)
        size = validation.amend_size(o.inst, new_sz)
        px_idx = validation.amend_price(o.inst, new_px)
        return Amendment(o, size, px_idx, req_id, cxl_on_fail, self.now_ms + self.amend_latency_ms)

    def _apply_amends(self, t_ms: int) -> None:
        """Apply the accepted amendments due by market time t_ms; each outcome is an `orders` push."""
        while self._amends and self._amends[0].due_ms <= t_ms:
            a = self._amends.popleft()
            o = a.order
            o.amends_in_flight -= 1
            self.now_ms = self._floor_ms = max(self.now_ms, a.due_ms)
            try:
                if not o.live:
                    raise Rejected(*codes.AMEND_ORDER_DONE)
                self._apply_amend(a)
            except Rejected as r:
                self._amend_failed(o, a.req_id, a.cxl_on_fail and o.live, r.answer)

    def _amend_failed(self, o: Order, req_id: str, cancel: bool, answer: codes.Answer) -> None:
        """Push an amendment's failure: amendResult -1, or 1 when cxlOnFail cancels the order."""
        o.req_id, o.answer = req_id, answer
        if cancel:
            o.amend_result = AmendResult.CANCELED
            self._cancel(o, CancelSource.SYSTEM)
        else:
            o.amend_result = AmendResult.FAILED
            self._push(o.account, "orders", self._order_record(o))
        o.amend_result, o.answer = "", codes.OK

    def _apply_amend(self, a: Amendment) -> None:
        """The engine's part: the price band, post-only, funds; then the order changes in the book."""
        o = a.order
        inst = o.inst
        m = self.markets[inst.inst_id]
        band = self._band(m)
        lots, sz = a.size or (o.lots, o.sz)
        px_idx = o.px_idx if a.px_idx is None else a.px_idx
        if a.px_idx is not None:
            validation.within_band(inst, o.side, px_idx, band)
        if o.ord_type == "post_only" and px_idx != o.px_idx:
            validation.amend_post_only(o.side, px_idx, m.book.best_ask() if o.side == BUY else m.book.best_bid())
        side = m.book.side(o.side)
        if lots <= o.filled_lots:
            # Reading: the order ends filled at what it has filled, which is then its size.
            o.req_id, o.amend_result = a.req_id, AmendResult.OK
            o.lots, o.sz = o.filled_lots, inst.sz(o.filled_lots)
            side.remove_agent(o.resting)
            o.resting = None
            self._end(o, OrderEvent.DONE, None)
            o.amend_result = ""
            return
        acct = self.accounts[o.account]
        ccy, need = self._freeze_need(acct, m, band, o.side, px_idx, sz - inst.sz(o.filled_lots),
                                      lots - o.filled_lots)
        validation.funds(ccy, acct.available(ccy, self.marks()) + o.frozen, need)
        acct.release(o.frozen_ccy, o.frozen)
        acct.freeze(ccy, need)
        o.frozen_ccy, o.frozen = ccy, need
        self._touch(o.account, ccy)
        o.req_id, o.amend_result, o.u_time = a.req_id, AmendResult.OK, self.now_ms
        keep_place = px_idx == o.px_idx and lots <= o.lots
        o.lots, o.sz, o.px_idx = lots, sz, px_idx
        if keep_place:
            o.resting.rem = lots - o.filled_lots
            self._push(o.account, "orders", self._order_record(o))
        else:
            side.remove_agent(o.resting)
            o.resting = None
            self._push(o.account, "orders", self._order_record(o))
            self._execute(o)
        o.amend_result = ""

    # --- the venue's own trades ----------------------------------------------------------------------
    def jump(self, inst_id: str, fraction: float) -> float:
        """A scripted move: the instrument's fair value jumps by `fraction` (-0.03: 3% down) and stays
        there (it is a random walk); the makers re-quote around it from the next step, so the book
        follows. A swap's fair value is its spot leader's: the leader jumps. Returns the new fair price."""
        if not -0.5 < fraction < 1.0:
            raise ValueError(f"jump fraction must be in (-0.5, 1), got {fraction}")
        m = self._market(inst_id)
        leader = m.leader or m
        leader.logf += math.log1p(fraction)
        return leader.fair_px

    def liquidate(self, inst_id: str, fraction: float = 1.0) -> list[dict[str, str]]:
        """The venue reduces (fraction < 1) or closes every account's position in a swap at the mark,
        as a liquidation does: a system order (category full/partial_liquidation) fills with a
        negative trade id. No `orders` or `fills` push: only positions, account and
        balance_and_position show it (eventType liquidation), and the history keeps the fill."""
        inst = self._market(inst_id).inst
        if not inst.is_swap or not 0 < fraction <= 1:
            raise ValueError(f"liquidate needs a swap and 0 < fraction <= 1, got {inst_id!r}, {fraction}")
        self._flush()
        category = Category.FULL_LIQUIDATION if fraction >= 1 else Category.PARTIAL_LIQUIDATION
        mark_idx = round(self.markets[inst_id].mid_px() / float(inst.tick))
        done = []
        for key in sorted(self.accounts):
            p = self.accounts[key].positions.get(inst_id)
            held = inst.lots(abs(p.pos)) if p is not None else 0
            lots = held if category is Category.FULL_LIQUIDATION else int(held * fraction)
            if not lots:
                continue
            side = SELL if p.pos > 0 else BUY
            self._next_liquidation -= 1
            self._next_ord += 1
            o = Order(self._next_ord, key, inst, "", "", side, "market", "cross", "", True, "", None, inst.sz(lots),
                      lots, self.now_ms, self.now_ms, category=category)
            self.orders[o.ord_id] = o
            match = Match(mark_idx, lots, self._next_liquidation, None, self.now_ms)
            self._liquidation_fill(o, match)
            done.append({"account": key, "ordId": str(o.ord_id), "side": side, "sz": inst.sz_str(lots),
                         "px": inst.px_str(mark_idx), "tradeId": str(match.trade_id)})
        self._flush()
        return done

    def _liquidation_fill(self, o: Order, match: Match) -> None:
        inst = o.inst
        px, sz, trade_id = inst.px(match.idx), inst.sz(match.lots), str(match.trade_id)
        # Reading: no liquidation penalty is charged (liqPenalty stays 0).
        _, pnl = self.accounts[o.account].swap_fill(inst, o.side, px, sz, ZERO, match.ts_ms, trade_id, "")
        self._touch(o.account, inst.quote_ccy, position=inst.inst_id)
        self._cash_moved(o.account, "liquidation", (inst.quote_ccy,), inst.inst_id, (inst.inst_id, trade_id))
        o.filled_lots, o.notional, o.pnl, o.fee_ccy = match.lots, px * sz, pnl, inst.quote_ccy
        o.last_fill = LastFill(inst.px_str(match.idx), inst.sz_str(match.lots), str(match.ts_ms), trade_id, "0",
                               fmt_decimal(pnl), "")
        self._bill(o, "0", match.ts_ms)
        o.apply(OrderEvent.FILL_ALL)
        self._closed.setdefault(o.account, []).append(o)

    # --- queries ---------------------------------------------------------------------------------------
    def get_order(self, account: str, inst_id: str, ord_id: str | None = None,
                  cl_ord_id: str | None = None) -> dict[str, Any] | None:
        """The OKX order record, or None if there is no such order (REST answers 51603). By clOrdId:
        the latest order with that id."""
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
        except Rejected:
            return None
        return None if o is None else self._order_record(o, fill=o.last_fill is not None)

    def pending_orders(self, account: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        """Open orders, newest (largest ordId) first (GET /api/v5/trade/orders-pending)."""
        out = [o for (acct, i), live in self._live.items() if acct == account and (inst_id is None or i == inst_id)
               for o in live.values()]
        return [self._order_record(o, fill=o.last_fill is not None)
                for o in sorted(out, key=lambda o: o.ord_id, reverse=True)]
