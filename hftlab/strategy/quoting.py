"""From a target position to orders, in an execution style: a pure plan the live runner carries out
(new intents through the risk engine, then the order manager; amends and cancels to the manager).

    plan = plan_orders(inst, target, position, working, top, spec, cfg, now_ns)

- **taker**: the difference between target and position (counting every working order as if
  filled) is sent as one IOC limit priced at the far touch plus `taker_cap_bps` (rounded to the tick,
  never more aggressive than the cap), slot `<inst>:taker`. While an order of the slot is working —
  UNKNOWN included — nothing new goes out: an unproven order blocks its slot.
- **maker**: one post-only order per side at the near touch (slot `<inst>:maker:bid|ask`) for the
  difference; when the touch has moved `requote_ticks` or more from the order's price, it is
  re-quoted by amend (price only; the size, filled part included, stays). An order on the wrong side,
  or not needed any more, is cancelled; an order that is not yet acknowledged or is UNKNOWN is left
  alone (it cannot be amended, and a cancel proves nothing about it).

Sizes are on the instrument's lot grid and at least its minimum, else nothing is sent (a residual
smaller than one lot is not chased).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.market import TopOfBook
from hftlab.domain.orders import Order, OrderIntent, OrderState, OrdType, Side

ZERO = Decimal(0)
_AMENDABLE = frozenset({OrderState.LIVE, OrderState.PARTIALLY_FILLED})
_DONE = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED})


@dataclass(frozen=True, slots=True)
class Amend:
    cl_ord_id: str
    new_px: Decimal


@dataclass(slots=True)
class Plan:
    new: list[OrderIntent] = field(default_factory=list)
    amends: list[Amend] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)  # clOrdIds

    def __bool__(self) -> bool:
        return bool(self.new or self.amends or self.cancels)


def slots(inst_id: str) -> tuple[str, str, str]:
    return f"{inst_id}:taker", f"{inst_id}:maker:bid", f"{inst_id}:maker:ask"


def _remaining(o: Order) -> Decimal:
    return max(o.sz - o.acc_fill_sz, ZERO)


def _lots(spec: InstrumentSpec, sz: Decimal) -> Decimal:
    q = (abs(sz) / spec.lot_sz).to_integral_value(ROUND_DOWN) * spec.lot_sz
    return q if q >= spec.min_sz else ZERO


def plan_orders(inst: InstrumentSpec, target: Decimal, position: Decimal, working: Iterable[Order],
                top: TopOfBook | None, cfg, now_ns: int, reason: str = "") -> Plan:
    """`working`: this instrument's orders that are not terminal (any slot)."""
    live = [o for o in working if o.state not in _DONE]
    plan = Plan()
    if top is None or not top.valid or top.bid_px is None or top.ask_px is None:
        return plan  # no prices to quote against: the filters already kept the signal flat
    pending_buy = sum((_remaining(o) for o in live if o.side is Side.BUY), ZERO)
    pending_sell = sum((_remaining(o) for o in live if o.side is Side.SELL), ZERO)
    if cfg.style == "taker":
        if any(o.slot == slots(inst.inst_id)[0] for o in live):
            return plan  # an IOC in flight (or UNKNOWN): wait for its outcome
        delta = target - (position + pending_buy - pending_sell)
        sz = _lots(inst, delta)
        if sz == 0:
            return plan
        side = Side.BUY if delta > 0 else Side.SELL
        cap = cfg.taker_cap_bps / 1e4
        px = inst.round_px(float(top.ask_px) * (1 + cap), side="buy") if side is Side.BUY else \
            inst.round_px(float(top.bid_px) * (1 - cap), side="sell")
        plan.new.append(OrderIntent(inst.inst_id, side, sz, OrdType.IOC, px, slots(inst.inst_id)[0],
                                    reduce_only=False, reason=reason, created_ns=now_ns))
        return plan
    _taker, bid_slot, ask_slot = slots(inst.inst_id)
    delta = target - position
    want = {Side.BUY: _lots(inst, delta) if delta > 0 else ZERO, Side.SELL: _lots(inst, delta) if delta < 0 else ZERO}
    near = {Side.BUY: Decimal(top.bid_px), Side.SELL: Decimal(top.ask_px)}
    for side, slot in ((Side.BUY, bid_slot), (Side.SELL, ask_slot)):
        mine = [o for o in live if o.slot == slot]
        if not mine:
            if want[side] > 0:
                plan.new.append(OrderIntent(inst.inst_id, side, want[side], OrdType.POST_ONLY, near[side], slot,
                                            reason=reason, created_ns=now_ns))
            continue
        for o in mine:
            if o.state not in _AMENDABLE:
                continue  # not acknowledged yet, being cancelled, or UNKNOWN: leave it
            if want[side] == 0:
                plan.cancels.append(o.cl_ord_id)
            elif o.px is not None and abs(o.px - near[side]) >= cfg.requote_ticks * inst.tick_sz:
                plan.amends.append(Amend(o.cl_ord_id, near[side]))
    return plan
