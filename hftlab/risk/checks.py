"""Pre-trade limit checks: pure functions of an intent and the facts at hand, each returning None
(passed) or a typed `Denial`. No I/O, no clock of their own; the RiskEngine runs them in order.

Exposure is worst case: resting orders, orders in flight and UNKNOWN orders count as if they had
filled (`Exposure.worst_long/worst_short`), so a burst of orders, each small, cannot together pass a
limit, and an order whose fate is unproven still weighs on every limit until venue facts resolve it.

An intent *reduces* exposure when it trades against the position and, with every same-side order
already working, cannot flip it: such intents pass the position, gross and net limits (they shrink
them) and are the only ones allowed while the engine is REDUCING or a position's stop is hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.market import TopOfBook
from hftlab.domain.orders import OrderIntent, Side

ZERO = Decimal(0)


class DenyReason(StrEnum):
    HALTED = "halted"  # trading state HALTED: cancels only
    REDUCING_ONLY = "reducing_only"  # trading state REDUCING and the intent adds exposure
    RECONCILING = "reconciling"  # local state is being checked against the venue
    UNRECONCILED = "unreconciled"  # never reconciled yet: the book of orders is unknown
    EQUITY_UNKNOWN = "equity_unknown"
    NO_MARK = "no_mark"  # no valid book/mark for the instrument
    STALE_DATA = "stale_data"
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    NOT_TRADABLE = "not_tradable"  # the venue lists the instrument in a non-live state
    BAD_SIZE = "bad_size"  # below the minimum or off the lot grid
    BAD_PRICE = "bad_price"  # off the tick grid
    ORDER_NOTIONAL = "order_notional"
    POSITION_LIMIT = "position_limit"
    GROSS_EXPOSURE = "gross_exposure"
    NET_EXPOSURE = "net_exposure"
    OPEN_ORDERS = "open_orders"
    ORDER_RATE = "order_rate"
    PRICE_COLLAR = "price_collar"  # a limit price too far through mid
    PRICE_BAND = "price_band"  # outside the venue's price limits
    STOP_LOSS = "stop_loss"  # the position's stop is hit: reduce only


@dataclass(frozen=True, slots=True)
class Denial:
    reason: DenyReason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Exposure:
    """One instrument's book of risk in base units (contracts for a swap): the signed filled position,
    and the working orders (resting + in flight + UNKNOWN) on each side, as if they had filled."""

    position: Decimal = ZERO
    working_buy: Decimal = ZERO
    working_sell: Decimal = ZERO
    avg_px: Decimal = ZERO  # the position's average entry price (0 when flat)

    @property
    def worst_long(self) -> Decimal:
        return self.position + self.working_buy

    @property
    def worst_short(self) -> Decimal:
        return self.position - self.working_sell

    def worst(self) -> Decimal:
        return max(abs(self.worst_long), abs(self.worst_short))

    def with_intent(self, side: Side, sz: Decimal) -> Exposure:
        if side is Side.BUY:
            return Exposure(self.position, self.working_buy + sz, self.working_sell, self.avg_px)
        return Exposure(self.position, self.working_buy, self.working_sell + sz, self.avg_px)


@dataclass(frozen=True, slots=True)
class Market:
    """What risk knows of one instrument's market: the top of book (its `recv_ns` dates it), the mark
    used for valuation (the mid unless the venue gives one) and the venue's price limits if known."""

    top: TopOfBook | None
    mark: float | None
    mark_ns: int = 0
    buy_limit: float | None = None  # the venue refuses buys above this
    sell_limit: float | None = None  # ... and sells below this


def reduces(intent: OrderIntent, e: Exposure) -> bool:
    if intent.side is Side.SELL:
        return e.position > 0 and e.working_sell + intent.sz <= e.position
    return e.position < 0 and e.working_buy + intent.sz <= -e.position


def instrument(intent: OrderIntent, spec: InstrumentSpec | None) -> Denial | None:
    if spec is None:
        return Denial(DenyReason.UNKNOWN_INSTRUMENT, f"{intent.inst_id} is not a configured instrument")
    if not spec.tradable:
        return Denial(DenyReason.NOT_TRADABLE, f"{intent.inst_id} is {spec.state} at the venue")
    if not spec.on_lot_grid(intent.sz):
        return Denial(DenyReason.BAD_SIZE, f"size {intent.sz} is below {spec.min_sz} or not a multiple of {spec.lot_sz}")
    if intent.px is not None and (intent.px / spec.tick_sz) != (intent.px / spec.tick_sz).to_integral_value():
        return Denial(DenyReason.BAD_PRICE, f"price {intent.px} is not a multiple of the tick {spec.tick_sz}")
    return None


def freshness(m: Market | None, now_ns: int, stale_ms: float) -> Denial | None:
    if m is None or m.top is None or m.mark is None or not m.top.valid or m.top.mid is None:
        return Denial(DenyReason.NO_MARK, "no valid book or mark")
    age_ms = (now_ns - min(m.top.recv_ns, m.mark_ns)) / 1e6
    if age_ms > stale_ms:
        return Denial(DenyReason.STALE_DATA, f"book or mark {age_ms:.0f} ms old, limit {stale_ms:g} ms")
    return None


def order_notional(intent: OrderIntent, spec: InstrumentSpec, mark: float, max_usd: float) -> Denial | None:
    px = float(intent.px) if intent.px is not None else mark
    n = spec.notional(px, float(intent.sz))
    if n > max_usd:
        return Denial(DenyReason.ORDER_NOTIONAL, f"order notional {n:,.2f} > {max_usd:,.2f}")
    return None


def position_limit(after: Exposure, spec: InstrumentSpec, mark: float, max_usd: float) -> Denial | None:
    n = spec.notional(mark, float(after.worst()))
    if n > max_usd:
        return Denial(DenyReason.POSITION_LIMIT, f"worst-case position {n:,.2f} > {max_usd:,.2f} "
                                                 "(working and UNKNOWN orders counted as filled)")
    return None


def portfolio_limits(worst_gross: float, worst_net: float, max_gross: float, max_net: float) -> Denial | None:
    if worst_gross > max_gross:
        return Denial(DenyReason.GROSS_EXPOSURE, f"worst-case gross exposure {worst_gross:,.2f} > {max_gross:,.2f}")
    if worst_net > max_net:
        return Denial(DenyReason.NET_EXPOSURE, f"worst-case net exposure {worst_net:,.2f} > {max_net:,.2f}")
    return None


def collar(intent: OrderIntent, m: Market, collar_bps: float) -> Denial | None:
    """A limit price through the mid by more than the collar (a fat finger, a stale signal) is refused;
    a passive price is never refused here (it cannot trade at a bad price)."""
    if intent.px is None:
        return None
    mid = m.top.mid if m.top is not None else None
    if mid is None:
        return Denial(DenyReason.NO_MARK, "no mid to collar the price against")
    px = float(intent.px)
    through = (px - mid) / mid * 1e4 if intent.side is Side.BUY else (mid - px) / mid * 1e4
    if through > collar_bps:
        return Denial(DenyReason.PRICE_COLLAR, f"{intent.side.value} at {px} is {through:.1f} bp through mid {mid} "
                                               f"(collar {collar_bps:g} bp)")
    return None


def band(intent: OrderIntent, m: Market) -> Denial | None:
    if intent.px is None:
        return None
    px = float(intent.px)
    if intent.side is Side.BUY and m.buy_limit is not None and px > m.buy_limit:
        return Denial(DenyReason.PRICE_BAND, f"buy at {px} above the venue's limit {m.buy_limit}")
    if intent.side is Side.SELL and m.sell_limit is not None and px < m.sell_limit:
        return Denial(DenyReason.PRICE_BAND, f"sell at {px} below the venue's limit {m.sell_limit}")
    return None


def stop_hit(e: Exposure, mark: float, stop_loss_pct: float) -> bool:
    """The position has lost `stop_loss_pct` of its entry price (marked, before costs)."""
    if e.position == 0 or e.avg_px <= 0:
        return False
    entry = float(e.avg_px)
    loss_pct = (entry - mark) / entry * 100 if e.position > 0 else (mark - entry) / entry * 100
    return loss_pct >= stop_loss_pct
