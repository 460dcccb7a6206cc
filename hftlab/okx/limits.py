"""OKX's rate limits as `VenueLimits`, keyed the way OKX keys them (okx-v5-protocol.md §5.1, §5.2,
§5.5, §5.6; OKX docs "Rate limits" per endpoint). WebSocket ops and their REST twins share one
limit, so one bucket covers both transports.

- place / amend / cancel: 60 requests per 2 s per user and instrument (each op its own);
- their batch ops: 300 ORDERS per 2 s per user and instrument (a 1-item batch counts as the single op);
- new + amended orders together: 1000 per 2 s per sub-account (cancels do not count), 50061 past it;
- `GET /trade/order` 60/2 s per user and instrument; `orders-pending` 60/2 s and `fills` 60/2 s per
  user; `fills-history` 10/2 s per user; positions and balance 10/2 s per user;
- Cancel-All-After: 1 per second per user and tag (we arm one tag).

`fills_since` reads `fills` and, reaching further back than its 3 days, `fills-history`, so a
fills read draws from both buckets: the stricter one bounds it.
"""

from __future__ import annotations

from collections.abc import Iterable

from hftlab.domain.venue import Op, RateLimit, Scope, Unit, VenueLimits
from hftlab.okx.outcomes import RATE_LIMIT_CODES


def _rl(name: str, ops: Iterable[Op], limit: int, window_s: float, scope: Scope,
        unit: Unit = Unit.REQUEST) -> RateLimit:
    return RateLimit(name, frozenset(ops), limit, window_s, scope, unit)


_I, _A = Scope.INSTRUMENT, Scope.ACCOUNT

OKX_LIMITS = VenueLimits((
    _rl("place", [Op.PLACE], 60, 2.0, _I),
    _rl("place_batch", [Op.PLACE_BATCH], 300, 2.0, _I, Unit.ITEM),
    _rl("amend", [Op.AMEND], 60, 2.0, _I),
    _rl("amend_batch", [Op.AMEND_BATCH], 300, 2.0, _I, Unit.ITEM),
    _rl("cancel", [Op.CANCEL], 60, 2.0, _I),
    _rl("cancel_batch", [Op.CANCEL_BATCH], 300, 2.0, _I, Unit.ITEM),
    _rl("sub_account_new_and_amend", [Op.PLACE, Op.PLACE_BATCH, Op.AMEND, Op.AMEND_BATCH], 1000, 2.0, _A, Unit.ITEM),
    _rl("order_details", [Op.QUERY], 60, 2.0, _I),
    _rl("orders_pending", [Op.OPEN_ORDERS], 60, 2.0, _A),
    _rl("fills", [Op.FILLS], 60, 2.0, _A),
    _rl("fills_history", [Op.FILLS], 10, 2.0, _A),
    _rl("positions", [Op.POSITIONS], 10, 2.0, _A),
    _rl("balance", [Op.BALANCES], 10, 2.0, _A),
    _rl("cancel_all_after", [Op.CANCEL_ALL_AFTER], 1, 1.0, _A),
), RATE_LIMIT_CODES)
