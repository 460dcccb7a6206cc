"""Flattening: reduce-only market orders that close every position, each through the risk engine.

One definition for the running runner's kill switch and for `hftlab kill --flatten` when no runner is
running (live/offline.py). The risk engine's `check_flatten` lets a reduce-only order that shrinks a
position through in any trading state, HALTED included: closing risk is what halting is for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import ApprovedOrder, OrderIntent, OrdType, Side
from hftlab.risk.checks import Exposure, Market
from hftlab.risk.engine import Account, RiskEngine


class ManagerBook:
    """The risk engine's view of exposure from an order manager: position, open and UNKNOWN size per
    side (UNKNOWN counts as exposure), and the average entry price."""

    def __init__(self, manager):
        self.manager = manager

    def exposure(self, inst_id: str) -> Exposure:
        e = self.manager.exposure(inst_id)
        pos = self.manager.portfolio.position(inst_id)
        return Exposure(e.position, e.buy_open + e.buy_unknown, e.sell_open + e.sell_unknown, pos.avg_px)

    def open_order_count(self) -> int:
        return len(self.manager.open_orders())


async def flatten_positions(manager, risk: RiskEngine, specs: Mapping[str, InstrumentSpec],
                            markets: Mapping[str, Market], book, account: Account,
                            clock_ns: Callable[[], int] = time.time_ns) -> list[str]:
    """One reduce-only market order per instrument with a position (spot sizes rounded down to the
    lot; a remainder under the minimum size is left, it cannot be sold). Returns a line per order."""
    out = []
    for inst, spec in specs.items():
        qty = manager.exposure(inst).position
        if qty == 0:
            continue
        side = Side.SELL if qty > 0 else Side.BUY
        sz = abs(qty)
        if spec.inst_type is InstType.SPOT:
            sz = (sz / spec.lot_sz).to_integral_value(rounding="ROUND_DOWN") * spec.lot_sz
            if sz < spec.min_sz:
                out.append(f"{inst}: {qty} left, under the minimum order size {spec.min_sz}")
                continue
        intent = OrderIntent(inst, side, sz, OrdType.MARKET, None, f"{inst}:flatten", reduce_only=True,
                             reason="flatten (kill switch)", created_ns=clock_ns())
        verdict = risk.check_flatten(intent, markets, book, account, clock_ns())
        if isinstance(verdict, ApprovedOrder):
            try:
                ticket = await manager.submit(verdict)
            finally:
                risk.release(verdict)
            out.append(f"{inst} {side.value} {sz}: {ticket.outcome or ticket.refusal}")
        else:
            out.append(f"{inst}: {verdict}")
    return out
