"""Instruments the simulator lists: OKX reference data plus how each one trades in the simulation.

Prices and sizes live on integer grids inside the simulator (a price is a whole number of ticks, a
size a whole number of lots) so that matching and book keeping are exact; the helpers here convert
between those grids and the strings OKX sends, which never use exponent notation and drop trailing
zeros ("65055", "0.013").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hftlab.domain.instruments import InstrumentSpec, InstType


@dataclass(frozen=True)
class MarketProfile:
    """How an instrument trades in the simulator (see hftlab.sim.market for the model)."""

    start_px: float
    vol_annual: float = 0.35             # fair-value volatility, annualised
    half_spread_ticks: float = 1.0       # the simulated makers quote floor(G-h) / ceil(G+h) around anchor G
    order_notional: float = 1500.0       # median limit-order size, quote ccy (log-normal)
    size_sigma: float = 1.2              # log-normal sigma of order sizes
    limit_rate: float = 120.0            # limit-order arrivals per second per side
    market_rate: float = 2.0             # Hawkes baseline of market orders per second
    market_branching: float = 0.6        # Hawkes branching ratio (mean children per market order)
    market_decay: float = 2.0            # Hawkes kernel decay, 1/s
    market_notional: float = 800.0       # median market-order size, quote ccy
    revert_tau_s: float = 3.0            # mean-reversion time of the quote anchor around fair value
    revert_std: float = 0.5              # anchor deviation std, in units of one second's fair-value sigma
    ladder_ticks: int = 30               # the makers' near-touch ladder, re-pegged as the anchor moves
    depth_ticks: int = 1600              # limit orders arrive up to this many ticks behind the touch
    touch_occupancy: float = 0.95        # chance a price holds orders, at the touch ...
    deep_occupancy: float = 0.35         # ... and far from it (>= 400 levels need depth*deep >> 400)
    occupancy_decay_ticks: float = 6.0
    arrival_scale_ticks: float = 20.0    # arrival density at distance d from the touch ~ (1+d/scale)^-alpha
    arrival_alpha: float = 1.3


def _dec(s: str) -> Decimal:
    return Decimal(s)


def _scale(step: Decimal) -> tuple[int, int]:
    """step = units * 10**-decimals with integer units (0.1 -> (1, 1), 0.5 -> (5, 1), 1 -> (1, 0))."""
    t = step.normalize().as_tuple()
    decimals = max(0, -t.exponent)
    return int(step.scaleb(decimals)), decimals


def _fmt(value_units: int, decimals: int) -> str:
    """An integer count of 10**-decimals as OKX writes it: no exponent, no trailing zeros."""
    if decimals == 0:
        return str(value_units)
    sign = "-" if value_units < 0 else ""
    q, r = divmod(abs(value_units), 10**decimals)
    if r == 0:
        return f"{sign}{q}"
    return f"{sign}{q}.{r:0{decimals}d}".rstrip("0")


@dataclass(frozen=True)
class Instrument:
    inst_id: str
    inst_id_code: int | None       # None: listed without one (`instIdCode: null`), which OKX allows
    inst_type: str                 # "SPOT" | "SWAP"
    base_ccy: str                  # for SWAP: the underlying's base (BTC), not sent as baseCcy
    quote_ccy: str                 # for SWAP: the settle currency (USDT)
    tick_sz: str
    lot_sz: str
    min_sz: str
    profile: MarketProfile
    ct_val: str = ""
    lever: str = "10"
    list_time: str = "1548133413000"
    max_lmt_sz: str = "9999999999"
    max_mkt_sz: str = "1000000"
    max_lmt_amt: str = "20000000"
    max_mkt_amt: str = "1000000"
    category: str = "1"
    tick: Decimal = field(init=False, repr=False, compare=False)
    lot: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.inst_type not in ("SPOT", "SWAP"):
            raise ValueError(f"{self.inst_id}: inst_type must be SPOT or SWAP, not {self.inst_type!r}")
        for name in ("tick_sz", "lot_sz", "min_sz"):
            try:
                if _dec(getattr(self, name)) <= 0:
                    raise ValueError
            except (InvalidOperation, ValueError):
                raise ValueError(f"{self.inst_id}: {name} must be a positive decimal string, "
                                 f"not {getattr(self, name)!r}") from None
        if self.inst_type == "SWAP" and not self.ct_val:
            raise ValueError(f"{self.inst_id}: a SWAP needs ct_val")
        object.__setattr__(self, "tick", _dec(self.tick_sz))
        object.__setattr__(self, "lot", _dec(self.lot_sz))
        object.__setattr__(self, "_px_scale", _scale(self.tick))
        object.__setattr__(self, "_sz_scale", _scale(self.lot))

    # --- grids -----------------------------------------------------------------------------------
    @property
    def is_swap(self) -> bool:
        return self.inst_type == "SWAP"

    @property
    def contract_value(self) -> Decimal:
        """Base currency per unit of size: ctVal for a swap, 1 for spot."""
        return _dec(self.ct_val) if self.is_swap else Decimal(1)

    @property
    def min_lots(self) -> int:
        return int(_dec(self.min_sz) / self.lot)

    def px_str(self, idx: int) -> str:
        units, decimals = self._px_scale
        return _fmt(idx * units, decimals)

    def sz_str(self, lots: int) -> str:
        units, decimals = self._sz_scale
        return _fmt(lots * units, decimals)

    def px(self, idx: int) -> Decimal:
        return self.tick * idx

    def sz(self, lots: int) -> Decimal:
        return self.lot * lots

    def px_idx(self, px: Decimal) -> int | None:
        """The tick index of a price, or None if it is not on the tick grid."""
        q = px / self.tick
        return int(q) if q == q.to_integral_value() else None

    def lots(self, sz: Decimal) -> int | None:
        """The number of lots in a size, or None if it is not a multiple of lotSz."""
        q = sz / self.lot
        return int(q) if q == q.to_integral_value() else None

    def spec(self) -> InstrumentSpec:
        """This listing as venue-neutral reference data (what risk, sizing and the order manager read)."""
        return InstrumentSpec(self.inst_id, InstType(self.inst_type), self.base_ccy, self.quote_ccy, self.tick,
                              self.lot, _dec(self.min_sz), self.contract_value, self.inst_id_code)

    # --- OKX -------------------------------------------------------------------------------------
    def to_okx(self) -> dict[str, Any]:
        """The record GET /api/v5/public/instruments returns for this instrument."""
        swap = self.is_swap
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": "" if swap else self.base_ccy,
            "category": self.category,
            "ctMult": "1" if swap else "",
            "ctType": "linear" if swap else "",
            "ctVal": self.ct_val if swap else "",
            "ctValCcy": self.base_ccy if swap else "",
            "contTdSwTime": "",
            "expTime": "",
            "futureSettlement": False,
            "groupId": "1",
            "instFamily": f"{self.base_ccy}-{self.quote_ccy}" if swap else "",
            "instId": self.inst_id,
            "instType": self.inst_type,
            "lever": self.lever,
            "listTime": self.list_time,
            "lotSz": self.lot_sz,
            "maxIcebergSz": "9999999999.0000000000000000",
            "maxLmtAmt": self.max_lmt_amt,
            "maxLmtSz": self.max_lmt_sz,
            "maxMktAmt": self.max_mkt_amt,
            "maxMktSz": self.max_mkt_sz,
            "maxStopSz": self.max_mkt_sz,
            "maxTriggerSz": "9999999999.0000000000000000",
            "maxTwapSz": "9999999999.0000000000000000",
            "minSz": self.min_sz,
            "optType": "",
            "openType": "",
            "preMktSwTime": "",
            "quoteCcy": "" if swap else self.quote_ccy,
            "tradeQuoteCcyList": [] if swap else [self.quote_ccy],
            "settleCcy": self.quote_ccy if swap else "",
            "state": "live",
            "ruleType": "normal",
            "stk": "",
            "tickSz": self.tick_sz,
            "uly": f"{self.base_ccy}-{self.quote_ccy}" if swap else "",
            "instIdCode": self.inst_id_code,
            "instCategory": self.category,
            "upcChg": [],
        }


def default_instruments() -> list[Instrument]:
    """BTC-USDT, ETH-USDT, SOL-USDT and BTC-USDT-SWAP.

    Spot tick/lot/min sizes are OKX production's as recorded on 2022-05-13
    (shared/data/okx/okx_v5_rest_instruments_*.json). BTC-USDT-SWAP uses today's fractional
    contracts (lotSz = minSz = 0.01; the 2026 captures trade sizes like "34.95"), not 2022's whole ones.
    """
    return [
        Instrument("BTC-USDT", 1000000001, "SPOT", "BTC", "USDT", "0.1", "0.00000001", "0.00001",
                   MarketProfile(start_px=64000.0, vol_annual=0.35, half_spread_ticks=1.0,
                                 order_notional=1500.0, market_notional=1000.0)),
        Instrument("ETH-USDT", 1000000002, "SPOT", "ETH", "USDT", "0.01", "0.000001", "0.001",
                   MarketProfile(start_px=3400.0, vol_annual=0.45, half_spread_ticks=1.0,
                                 order_notional=1000.0, market_notional=700.0, limit_rate=100.0,
                                 market_rate=1.5)),
        Instrument("SOL-USDT", 1000000003, "SPOT", "SOL", "USDT", "0.001", "0.000001", "0.01",
                   MarketProfile(start_px=150.0, vol_annual=0.6, half_spread_ticks=2.0,
                                 order_notional=600.0, market_notional=400.0, limit_rate=80.0,
                                 market_rate=1.2),
                   lever="5"),
        Instrument("BTC-USDT-SWAP", 1000000004, "SWAP", "BTC", "USDT", "0.1", "0.01", "0.01",
                   MarketProfile(start_px=64000.0, vol_annual=0.35, half_spread_ticks=1.0,
                                 order_notional=3000.0, market_notional=2000.0, limit_rate=150.0,
                                 market_rate=3.0),
                   ct_val="0.01", lever="100", list_time="1611916828000", max_lmt_sz="100000000",
                   max_mkt_sz="1600"),
    ]
