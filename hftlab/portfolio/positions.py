"""One instrument's position, built from its fills: signed size, average entry, realised and
unrealised PnL, fees and funding, in exact Decimals of the instrument's quote (settle) currency.

**Units.** `qty` is in the instrument's size unit (spot: base currency; linear swap: contracts) and
is signed (positive long). A quote value is qty × ct_val × px (`InstrumentSpec.ct_val`, 1 for spot).

**Average cost.** A fill that opens or adds moves `avg_px` (size-weighted). A fill that reduces
realises (px − avg_px) × closed × ct_val (with the position's sign) and leaves `avg_px` alone. A fill
through zero closes the old position at `avg_px` and opens the remainder at the fill price; flat
means `avg_px` 0. So realised + unrealised = −Σ signed size × ct_val × px + qty × ct_val × mark: the
cash-flow identity the tests hold.

**Fees** keep the venue's sign (negative paid, positive rebate) and are booked apart from realised
PnL. A fee in the quote currency is booked as it is. A spot fee in the base currency (a venue
charges a spot buy in the currency received) is converted to quote at the fill price AND taken out
of `qty`: the venue delivers size + fee of base, so `qty` stays equal to the venue's balance; the
fee's base is, in effect, disposed of at the fill price (a cash-free trade that may realise PnL on
that sliver when a position was already open). A fee in any other currency is refused
(ValueError) before anything is booked: there is no price to value it.

**Funding** (swaps only): signed cash flows in the settle currency, positive received, supplied by
the caller (the venue's funding bills).

**Replacement from the venue.** Liquidation and ADL produce no order update, so the venue's
position wins (`replace`). The size difference is booked as a trade at the given mark (venues do
not report the liquidation price to the owner's order stream; the mark is the best price we have),
which leaves equity at that mark unchanged. If the venue also gives its average entry price, that
is adopted and the unrealised PnL it shifts is moved into realised, so equity stays continuous
(what a liquidation really cost shows in the venue's balance, not here). The venue's average is
taken only when the sizes differ: venues round their average, and adopting it on every snapshot
would churn realised PnL. Each replacement is recorded as a `Discrepancy`.

**Precision.** Sums and products are exact; only the average price divides, at the decimal
context's precision (28 significant digits), far below any tolerance that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import Side

ZERO = Decimal(0)


def to_decimal(x: Decimal | float | int | str) -> Decimal:
    """A price from a feed as a Decimal (a float through its shortest repr, not its binary value)."""
    if isinstance(x, Decimal):
        return x
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A venue snapshot that disagreed with the position built from fills."""

    inst_id: str
    ts_ms: int
    local_qty: Decimal
    venue_qty: Decimal
    local_avg_px: Decimal
    venue_avg_px: Decimal | None
    mark_px: Decimal
    notional: Decimal  # (venue_qty − local_qty) × ct_val × mark_px, signed, quote currency

    @property
    def qty_delta(self) -> Decimal:
        return self.venue_qty - self.local_qty


class Position:
    __slots__ = ("spec", "qty", "avg_px", "realised", "fees", "funding", "discrepancies")

    def __init__(self, spec: InstrumentSpec):
        self.spec = spec
        self.qty = ZERO
        self.avg_px = ZERO  # of the open quantity; 0 when flat
        self.realised = ZERO
        self.fees = ZERO  # venue sign: negative paid
        self.funding = ZERO  # positive received
        self.discrepancies: list[Discrepancy] = []

    def __repr__(self) -> str:
        return f"Position({self.spec.inst_id} qty={self.qty} avg={self.avg_px} realised={self.realised} fees={self.fees})"

    def check_fee(self, fee: Decimal, fee_ccy: str) -> Decimal:
        """The part of `fee` paid in the base currency (0 when in quote); raises for any other currency."""
        spec = self.spec
        if not fee or fee_ccy == spec.quote_ccy:
            return ZERO
        if fee_ccy == spec.base_ccy and not spec.is_swap:
            return fee
        raise ValueError(f"{spec.inst_id}: a fee in {fee_ccy!r} cannot be valued in {spec.quote_ccy}")

    def apply_fill(self, side: Side, px: Decimal, sz: Decimal, fee: Decimal, fee_ccy: str) -> None:
        base_fee = self.check_fee(fee, fee_ccy)
        self._trade(sz if side is Side.BUY else -sz, px)
        if base_fee:
            self._trade(base_fee, px)
            self.fees += base_fee * px
        else:
            self.fees += fee

    def apply_funding(self, amount: Decimal) -> None:
        if not self.spec.is_swap:
            raise ValueError(f"{self.spec.inst_id}: funding applies to swaps only")
        self.funding += amount

    def unrealised(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_px) * self.qty * self.spec.ct_val if self.qty else ZERO

    def pnl(self, mark: Decimal) -> Decimal:
        """Everything this position added to equity: realised + unrealised + fees + funding."""
        return self.realised + self.unrealised(mark) + self.fees + self.funding

    def replace(self, venue_qty: Decimal, venue_avg_px: Decimal | None, mark: Decimal, ts_ms: int) -> Discrepancy | None:
        """Make the venue's position this one (see the module doc); None when the sizes agree."""
        delta = venue_qty - self.qty
        if not delta:
            return None
        d = Discrepancy(self.spec.inst_id, ts_ms, self.qty, venue_qty, self.avg_px, venue_avg_px, mark,
                        delta * self.spec.ct_val * mark)
        self._trade(delta, mark)
        if venue_avg_px is not None and self.qty:
            self.realised += (venue_avg_px - self.avg_px) * self.qty * self.spec.ct_val
            self.avg_px = venue_avg_px
        self.discrepancies.append(d)
        return d

    def _trade(self, dq: Decimal, px: Decimal) -> None:
        q = self.qty
        new = q + dq
        if not q or (q > 0) == (dq > 0):  # opening or adding
            self.avg_px = (self.avg_px * q + px * dq) / new
        else:
            closed = -dq if abs(dq) <= abs(q) else q  # the part of dq that reduces, with q's sign
            self.realised += (px - self.avg_px) * closed * self.spec.ct_val
            if not new:
                self.avg_px = ZERO
            elif (new > 0) != (q > 0):  # through zero: the rest opens here
                self.avg_px = px
        self.qty = new
