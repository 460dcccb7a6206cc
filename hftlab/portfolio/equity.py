"""The portfolio: positions from the fill ledger, mark-to-market equity, high-water mark, drawdown
and the day's PnL, in one valuation currency.

equity = cash + Σ over instruments (realised + unrealised + fees + funding), with fees in the venue's
sign (negative paid). `cash` is the starting cash in `ccy`; every instrument must be quoted (settled)
in `ccy`: valuing another currency needs FX prices this package does not have, so a book over
several quote currencies runs one Portfolio per currency.

**High-water mark.** The breaker compares mark-to-market equity, not closed trades, with a
high-water mark the caller persists: pass it in at start (`high_water`, default the starting cash)
and save `high_water` after snapshots. The mark rises whenever a `snapshot` sees a new high;
drawdown = high_water − equity (≥ 0), and as a percentage of the high-water mark.

**Day PnL** is equity now minus equity at the open of the current UTC day. The day's opening equity
is the last snapshot's equity before the first snapshot that falls on a later UTC day (snapshots
are frequent in a live loop; between two snapshots the PnL is attributed to the later day). Persist
`day_open` with the high-water mark to keep it across a restart; without it the day opens at the
starting cash. When the first snapshot of a process falls on a later day than the persisted one, the
equity at that midnight was never seen: the new day opens at that snapshot's equity.

**Idempotence.** Fills go through the `FillLedger` (each (inst_id, trade_id) once); funding is
applied once per (inst_id, funding time), the venue's funding settles once per instrument per
funding time. Replaying the same venue facts rebuilds the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import Fill
from hftlab.portfolio.ledger import FillLedger
from hftlab.portfolio.positions import ZERO, Discrepancy, Position, to_decimal

DAY_MS = 86_400_000  # a UTC day: Unix time has no leap seconds


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    ts_ms: int
    equity: Decimal
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    funding: Decimal
    high_water: Decimal
    drawdown: Decimal  # high_water − equity, ≥ 0
    drawdown_pct: Decimal  # 100 × drawdown / high_water (0 while high_water ≤ 0)
    day_pnl: Decimal  # equity − equity at the current UTC day's open


class Portfolio:
    def __init__(self, specs: Iterable[InstrumentSpec], cash: Decimal, ccy: str, *,
                 high_water: Decimal | None = None, day_open: tuple[int, Decimal] | None = None):
        """`day_open`: (UTC day number = ts_ms // DAY_MS, equity at that day's open), as persisted."""
        self.ccy = ccy
        self.cash = cash
        self.ledger = FillLedger()
        self.positions: dict[str, Position] = {}
        for spec in specs:
            if spec.quote_ccy != ccy:
                raise ValueError(f"{spec.inst_id} is quoted in {spec.quote_ccy}, this portfolio values in {ccy}")
            self.positions[spec.inst_id] = Position(spec)
        self._funding_seen: set[tuple[str, int]] = set()
        self._high_water = cash if high_water is None else high_water
        self._day, self._day_open = (None, cash) if day_open is None else day_open
        self._last_equity: Decimal | None = None  # of this process's latest snapshot

    @property
    def high_water(self) -> Decimal:
        return self._high_water

    @property
    def day_open(self) -> tuple[int, Decimal] | None:
        """What to persist for the day's PnL: (UTC day number, equity at its open); None before a snapshot."""
        return None if self._day is None else (self._day, self._day_open)

    def position(self, inst_id: str) -> Position:
        try:
            return self.positions[inst_id]
        except KeyError:
            raise ValueError(f"{inst_id} is not an instrument of this portfolio") from None

    # -- venue facts ------------------------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> bool:
        """Book `fill` once; False for a fill already booked."""
        pos = self.position(fill.inst_id)
        pos.check_fee(fill.fee, fill.fee_ccy)  # refuse before the ledger records it
        if not self.ledger.add(fill):
            return False
        pos.apply_fill(fill.side, fill.px, fill.sz, fill.fee, fill.fee_ccy)
        return True

    def apply_funding(self, inst_id: str, amount: Decimal, funding_ts_ms: int) -> bool:
        """Book a funding payment (positive received) once per (instrument, funding time)."""
        pos = self.position(inst_id)
        key = (inst_id, funding_ts_ms)
        if key in self._funding_seen:
            return False
        pos.apply_funding(amount)
        self._funding_seen.add(key)
        return True

    def replace_position(self, inst_id: str, qty: Decimal, avg_px: Decimal | None, mark: Decimal | float,
                         ts_ms: int) -> Discrepancy | None:
        """The venue's position wins (liquidation, ADL): see `positions.Position.replace`."""
        return self.position(inst_id).replace(qty, avg_px, to_decimal(mark), ts_ms)

    # -- valuation --------------------------------------------------------------------------------

    def _mark(self, marks: Mapping[str, Decimal | float], pos: Position) -> Decimal:
        if not pos.qty:
            return ZERO
        try:
            return to_decimal(marks[pos.spec.inst_id])
        except KeyError:
            raise ValueError(f"no mark for the open position in {pos.spec.inst_id}") from None

    def equity(self, marks: Mapping[str, Decimal | float]) -> Decimal:
        """Mark-to-market equity; `marks` must price every open position (mark or mid)."""
        return self.cash + sum((p.pnl(self._mark(marks, p)) for p in self.positions.values()), ZERO)

    def snapshot(self, ts_ms: int, marks: Mapping[str, Decimal | float]) -> EquitySnapshot:
        """Equity and its breakdown at `ts_ms`, moving the high-water mark and the UTC day."""
        realised = unrealised = fees = funding = ZERO
        for p in self.positions.values():
            realised += p.realised
            unrealised += p.unrealised(self._mark(marks, p))
            fees += p.fees
            funding += p.funding
        equity = self.cash + realised + unrealised + fees + funding
        day = ts_ms // DAY_MS
        if self._day is None:
            self._day = day
        elif day > self._day:
            self._day, self._day_open = day, equity if self._last_equity is None else self._last_equity
        self._last_equity = equity
        if equity > self._high_water:
            self._high_water = equity
        drawdown = self._high_water - equity
        pct = drawdown * 100 / self._high_water if self._high_water > 0 else ZERO
        return EquitySnapshot(ts_ms, equity, realised, unrealised, fees, funding, self._high_water, drawdown,
                              pct, equity - self._day_open)
