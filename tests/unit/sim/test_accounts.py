"""Accounts: spot cash and fees, swap net positions, and the equity invariant under random trading."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.sim.accounts import Account, equity
from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import default_instruments

INST = {i.inst_id: i for i in default_instruments()}
D = Decimal


def test_spot_fills_charge_fees_in_the_received_currency():
    a = Account("k", {"USDT": D(1000), "BTC": D(0)})
    fee, ccy = a.spot_fill(INST["BTC-USDT"], "buy", D("50000"), D("0.01"), D("-0.001"), 1)
    assert (fee, ccy) == (D("-0.00001"), "BTC")
    assert a.cash == {"USDT": D(500), "BTC": D("0.00999")}
    fee, ccy = a.spot_fill(INST["BTC-USDT"], "sell", D("60000"), D("0.005"), D("0.0002"), 2)   # a rebate
    assert (fee, ccy) == (D("0.06"), "USDT")
    assert a.cash == {"USDT": D("800.06"), "BTC": D("0.00499")}


def test_swap_net_position_opens_adds_reduces_and_flips():
    swap = INST["BTC-USDT-SWAP"]
    a = Account("k", {"USDT": D(10000)})
    a.swap_fill(swap, "buy", D(100), D(2), D(0), 1, "t1", "p")
    a.swap_fill(swap, "buy", D(130), D(1), D(0), 2, "t2", "p")
    p = a.positions[swap.inst_id]
    assert (p.pos, p.avg_px) == (D(3), D(110))
    fee, pnl = a.swap_fill(swap, "sell", D(120), D(1), D("-0.001"), 3, "t3", "p")
    assert pnl == D(10) * D("0.01") and fee == D(-120) * D("0.01") * D("0.001")
    assert (p.pos, p.avg_px) == (D(2), D(110))
    fee, pnl = a.swap_fill(swap, "sell", D(90), D(5), D(0), 4, "t4", "p")         # closes 2, opens 3 short
    assert pnl == D(-20) * 2 * D("0.01")
    assert (p.pos, p.avg_px) == (D(-3), D(90))
    assert a.cash["USDT"] == D(10000) + D("0.1") - D("0.0012") - D("0.4")
    assert p.upl(80) == D(10) * 3 * D("0.01")
    a.swap_fill(swap, "buy", D(80), D(3), D(0), 5, "t5", "p")
    assert (p.pos, p.avg_px) == (D(0), D(0))


def test_equity_marks_cash_and_positions():
    a = Account("k", {"USDT": D(1000), "BTC": D("0.5"), "XYZ": D(3)})
    a.swap_fill(INST["BTC-USDT-SWAP"], "sell", D(60000), D(10), D(0), 1, "t", "p")
    marks = {"BTC-USDT": 62000.0, "BTC-USDT-SWAP": 61000.0}
    # 0.5 BTC at the spot mark, a 10-contract short (0.1 BTC) losing 1000/BTC, XYZ unpriced
    assert equity(a, marks) == 1000 + 0.5 * 62000 - 0.1 * 1000


# --- the invariant under random trading ----------------------------------------------------------
ACTION = st.tuples(
    st.sampled_from(["place", "place", "place", "cancel", "amend", "advance"]),
    st.sampled_from(["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"]),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["limit", "limit", "post_only", "ioc", "fok", "market"]),
    st.integers(-6, 6),            # price offset in ticks from the own-side touch
    st.integers(1, 400),           # size in minimum sizes
    st.integers(0, 10 ** 6),       # picks an order / a duration
)


class Ledger:
    """An independent replay of the account from its `orders` pushes."""

    def __init__(self, balances: dict[str, str]):
        self.cash = {c: D(v) for c, v in balances.items()}
        self.pos: dict[str, tuple[Decimal, Decimal]] = {}
        self.seen: set[tuple[str, str]] = set()

    def apply(self, rec: dict) -> None:
        if not rec["tradeId"] or (rec["ordId"], rec["tradeId"]) in self.seen:
            return
        self.seen.add((rec["ordId"], rec["tradeId"]))
        inst = INST[rec["instId"]]
        px, sz, fee = D(rec["fillPx"]), D(rec["fillSz"]), D(rec["fillFee"])
        buy = rec["side"] == "buy"
        if inst.inst_type == "SPOT":
            assert rec["fillFeeCcy"] == (inst.base_ccy if buy else inst.quote_ccy)
            self.cash[inst.quote_ccy] += -px * sz if buy else px * sz
            self.cash[inst.base_ccy] += sz if buy else -sz
            self.cash[rec["fillFeeCcy"]] += fee
            return
        ct = D(inst.ct_val)
        pos, avg = self.pos.get(inst.inst_id, (D(0), D(0)))
        q = sz if buy else -sz
        pnl = D(0)
        if pos == 0 or (pos > 0) == (q > 0):
            avg = (avg * abs(pos) + px * sz) / (abs(pos) + sz)
        else:
            closing = min(sz, abs(pos))
            pnl = closing * ct * (px - avg) * (1 if pos > 0 else -1)
            if abs(q) > abs(pos):
                avg = px
        pos += q
        if pos == 0:
            avg = D(0)
        self.pos[inst.inst_id] = (pos, avg)
        assert D(rec["fillPnl"]) == pnl
        assert fee == px * sz * ct * D("-0.001") or fee == px * sz * ct * D("-0.0008")
        self.cash["USDT"] += pnl + fee


def _run(ex: SimExchange, ledger: Ledger, actions) -> None:
    for kind, inst_id, side, ord_type, offset, size, pick in actions:
        inst = ex.instruments[inst_id]
        if kind == "advance":
            ex.advance_to(ex.now_ms + 50 + pick % 2000)
        elif kind == "place":
            bids, asks = ex.book_levels(inst_id, 1)
            own = D(bids[0][0]) if side == "buy" else D(asks[0][0])
            px = own + offset * inst.tick * (1 if side == "buy" else -1)
            req = {"instId": inst_id, "tdMode": "cross" if inst.is_swap else "cash", "side": side,
                   "ordType": ord_type, "sz": str(inst.min_lots * size * inst.lot)}
            if ord_type != "market":
                req["px"] = str(px)
            elif not inst.is_swap and side == "buy":
                req["sz"] = str(D(size) * 5)          # quote ccy
            if pick % 3 == 0:
                req["clOrdId"] = f"c{pick}"
            ex.place_order("k", req)
        else:
            pending = ex.pending_orders("k")
            if not pending:
                continue
            o = pending[pick % len(pending)]
            if kind == "cancel":
                ex.cancel_order("k", o["instId"], ord_id=o["ordId"])
            else:
                ex.amend_order("k", o["instId"], ord_id=o["ordId"],
                               new_sz=str(D(o["accFillSz"]) + D(o["sz"]) * (1 + offset % 3)),
                               new_px=None if offset % 2 else o["px"])
        for ch, rec in ex.take_private_events("k"):
            if ch == "orders":
                ledger.apply(rec)
        _check(ex, ledger)


def _check(ex: SimExchange, ledger: Ledger) -> None:
    acct = ex.accounts["k"]
    assert acct.cash == ledger.cash
    open_orders = [o for o in ex.orders.values() if o.account == "k" and o.live]
    for ccy in set(acct.frozen) | {o.frozen_ccy for o in open_orders}:
        assert acct.frozen_of(ccy) == sum((o.frozen for o in open_orders if o.frozen_ccy == ccy), D(0))
    assert all(o.frozen == 0 for o in ex.orders.values() if not o.live)
    for ccy in ("BTC", "ETH"):
        assert acct.cash[ccy] >= acct.frozen_of(ccy) >= 0        # spot can't oversell
    for inst_id, (pos, avg) in ledger.pos.items():
        p = acct.positions[inst_id]
        assert (p.pos, p.avg_px) == (pos, avg)
    marks = ex.marks()
    px = {"USDT": 1.0, "BTC": marks["BTC-USDT"], "ETH": marks["ETH-USDT"], "SOL": marks["SOL-USDT"]}
    expect = sum(float(v) * px[c] for c, v in ledger.cash.items())
    expect += sum(float(pos * D(INST[i].ct_val) * (D(str(marks[i])) - avg)) for i, (pos, avg) in ledger.pos.items())
    assert abs(ex.equity("k") - expect) < 1e-6 * max(1.0, abs(expect))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTION, min_size=40, max_size=150), st.integers(0, 3))
def test_equity_is_cash_plus_positions_marked_to_market_after_random_orders(actions, seed):
    ex = SimExchange(seed=seed)
    ledger = Ledger({"USDT": "100000", "BTC": "1", "ETH": "10", "SOL": "100"})
    _run(ex, ledger, actions)
