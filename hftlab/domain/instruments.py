"""Instrument reference data, venue-neutral: what sizes and prices an order may have, what one unit is worth.

`okx/rest.py` builds these from `GET /api/v5/public/instruments`, the simulator from its own listing,
so risk, sizing and the order manager never read an OKX record. Grids are exact decimals: a price
is a multiple of `tick_sz`, a size a multiple of `lot_sz` and at least `min_sz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum


class InstType(StrEnum):
    SPOT = "SPOT"
    SWAP = "SWAP"  # linear (USDT-margined) perpetual: size in contracts of `ct_val` base each


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    inst_id: str
    inst_type: InstType
    base_ccy: str  # for a swap, the underlying's base (BTC of BTC-USDT-SWAP)
    quote_ccy: str  # for a swap, the settle currency
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    ct_val: Decimal = Decimal(1)  # base currency per unit of size: ctVal for a swap, 1 for spot
    inst_id_code: int | None = None  # the venue's numeric code for WS order ops (None: the venue gave none)
    state: str = "live"

    def __post_init__(self) -> None:
        for name in ("tick_sz", "lot_sz", "min_sz", "ct_val"):
            v = getattr(self, name)
            if not isinstance(v, Decimal) or not v.is_finite() or v <= 0:
                raise ValueError(f"{self.inst_id}: {name} must be a positive finite Decimal, got {v!r}")

    @property
    def is_swap(self) -> bool:
        return self.inst_type is InstType.SWAP

    @property
    def tradable(self) -> bool:
        return self.state == "live"

    def notional(self, px: float, sz: float) -> float:
        """Quote value of `sz` units at `px` (spot: base; swap: contracts x ct_val)."""
        return px * sz * float(self.ct_val)

    def size_for_notional(self, notional: float, px: float) -> Decimal:
        """The largest size on the lot grid worth at most `notional` at `px` (0 when below min_sz)."""
        if px <= 0 or notional <= 0:
            return Decimal(0)
        raw = Decimal(repr(notional / (px * float(self.ct_val))))
        sz = (raw / self.lot_sz).to_integral_value(ROUND_DOWN) * self.lot_sz
        return sz if sz >= self.min_sz else Decimal(0)

    def round_px(self, px: float | Decimal, *, side: str | None = None) -> Decimal:
        """`px` on the tick grid: down for a buy, up for a sell (never more aggressive), else nearest."""
        q = Decimal(repr(px)) if isinstance(px, float) else Decimal(px)
        ticks = q / self.tick_sz
        if side == "buy":
            n = ticks.to_integral_value(ROUND_DOWN)
        elif side == "sell":
            n = ticks.to_integral_value(ROUND_CEILING)
        else:
            n = ticks.to_integral_value(ROUND_HALF_EVEN)
        return n * self.tick_sz

    def on_lot_grid(self, sz: Decimal) -> bool:
        return sz >= self.min_sz and (sz / self.lot_sz) == (sz / self.lot_sz).to_integral_value()


def fmt(d: Decimal) -> str:
    """A Decimal as venues write numbers: plain notation, no exponent, no trailing zeros ("0" for zero)."""
    if not d:
        return "0"
    return format(d.normalize(), "f")
