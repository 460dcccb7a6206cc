"""SimExchange: the simulator's exchange core, pure and synchronous.

The network side (hftlab.sim.server) drives it: `advance_to(market time)`, then public data
(`book_levels`, `take_book_changes`, `take_trades`, `ticker`, `candles`) and trading
(`place_order`, `cancel_order`, `amend_order`, queries, `take_private_events`). Requests and answers
are OKX v5 dicts of strings; rejections carry OKX's sCodes and messages. No I/O, no clock: the same
seed and the same calls (with the same market times) give the same results.

This class owns the state (markets, accounts, orders, the private event queue) and each order's
lifecycle: place, execute, fill, amend, cancel, end. Request checks live in hftlab.sim.validation,
order states in hftlab.sim.orders, the records it answers with in hftlab.sim.records and the public
views in hftlab.sim.views.
"""

from __future__ import annotations

from collections import deque
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
from hftlab.sim.orders import CancelSource, LastFill, Order, OrderEvent, OrderState
from hftlab.sim.validation import Rejected

DEFAULT_BALANCES = {"USDT": "100000", "BTC": "1", "ETH": "10", "SOL": "100"}
FIRST_ORD_ID = 600_000_000_000_000_000


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
        self._book_changes = views.BookChanges()

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
            self._push(account, "account",
                       records.balance_record(self.accounts[account], sorted(ccys), marks, self.now_ms))
        self._dirty_ccy.clear()
        self._dirty_pos.clear()

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
        same_cl = self._by_cl.get((acct.key, r.cl_ord_id)) if r.cl_ord_id else None
        validation.unique_cl_ord_id(same_cl is not None and same_cl.live)
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
        if r.cl_ord_id:
            self._by_cl[(acct.key, r.cl_ord_id)] = o
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
        for match in m.tape.record(o.side, fills, ts) if fills else ():
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
        o.last_fill = LastFill(inst.px_str(match.idx), inst.sz_str(match.lots), str(match.ts_ms), trade_id,
                               fmt_decimal(fee), fmt_decimal(pnl), exec_type)
        if not o.by_quote and o.filled_lots == o.lots:
            self._end(o, OrderEvent.FILL_ALL, None, push=False)
        else:
            o.apply(OrderEvent.FILL)
        self._push(o.account, "orders", self._order_record(o, fill=True))

    def _end(self, o: Order, event: OrderEvent, source: CancelSource | None, push: bool = True) -> None:
        """Terminal state: release what the order still holds."""
        o.apply(event)
        o.cancel_source = source
        o.u_time = self.now_ms if push else o.u_time
        if o.frozen:
            self.accounts[o.account].release(o.frozen_ccy, o.frozen)
            self._touch(o.account, o.frozen_ccy)
            o.frozen = ZERO
        if push:
            self._push(o.account, "orders", self._order_record(o))

    # --- cancelling, amending, queries -------------------------------------------------------------
    def _find(self, account: str, inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> Order | None:
        validation.listed(inst_id, self.instruments)
        num, cl = validation.order_ref(ord_id, cl_ord_id)
        o = self.orders.get(num) if num is not None else self._by_cl.get((account, cl))
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
        self.markets[o.inst.inst_id].book.side(o.side).remove_agent(o.resting)
        o.resting = None
        self._end(o, OrderEvent.CANCEL, CancelSource.USER)
        self._flush()
        return records.cancel_result(self.now_ms, str(o.ord_id), o.cl_ord_id)

    def amend_order(self, account: str, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None,
                    new_sz: str | None = None, new_px: str | None = None, req_id: str | None = None) -> dict[str, str]:
        """Amend size and/or price. `newSz` includes what already filled. A lower size keeps queue
        priority; a new price or a larger size re-queues the order (and may trade)."""
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
            self._amend(o, new_sz, new_px, req_id)
        except Rejected as r:
            if o is None:
                return records.amend_result(self.now_ms, ord_id or "", cl_ord_id or "", req_id, r.answer)
            return records.amend_result(self.now_ms, str(o.ord_id), o.cl_ord_id, req_id, r.answer)
        self._flush()
        return records.amend_result(self.now_ms, str(o.ord_id), o.cl_ord_id, req_id)

    def _amend(self, o: Order, new_sz: str | None, new_px: str | None, req_id: str) -> None:
        inst = o.inst
        m = self.markets[inst.inst_id]
        validation.amend_given(new_sz, new_px)
        band = self._band(m)
        lots, sz = validation.amend_size(inst, new_sz, o.filled_lots) or (o.lots, o.sz)
        px_idx = validation.amend_price(inst, o.side, new_px, band)
        if px_idx is None:
            px_idx = o.px_idx
        if o.ord_type == "post_only" and px_idx != o.px_idx:
            validation.amend_post_only(o.side, px_idx, m.book.best_ask() if o.side == BUY else m.book.best_bid())
        acct = self.accounts[o.account]
        ccy, need = self._freeze_need(acct, m, band, o.side, px_idx, sz - inst.sz(o.filled_lots),
                                      lots - o.filled_lots)
        validation.funds(ccy, acct.available(ccy, self.marks()) + o.frozen, need)
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
            self._push(o.account, "orders", self._order_record(o))
        else:
            side.remove_agent(o.resting)
            o.resting = None
            self._push(o.account, "orders", self._order_record(o))
            self._execute(o)
        o.amend_result = ""

    def get_order(self, account: str, inst_id: str, ord_id: str | None = None,
                  cl_ord_id: str | None = None) -> dict[str, Any] | None:
        """The OKX order record, or None if there is no such order (REST answers 51603)."""
        try:
            o = self._find(account, inst_id, ord_id, cl_ord_id)
        except Rejected:
            return None
        return None if o is None else self._order_record(o, fill=o.last_fill is not None)

    def pending_orders(self, account: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        """Open orders, newest first (GET /api/v5/trade/orders-pending)."""
        out = [o for o in self.orders.values() if o.account == account and o.live
               and (inst_id is None or o.inst.inst_id == inst_id)]
        return [self._order_record(o, fill=o.last_fill is not None) for o in reversed(out)]
