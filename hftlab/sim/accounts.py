"""Agents' accounts: cash per currency, order freezes, swap net positions, fees, equity.

Exact decimal arithmetic throughout. OKX conventions: a fee is negative when paid, positive when a
rebate; spot fees are charged in the currency received (a buy pays in base, a sell in quote); swap
fees and PnL settle in the settle currency. Positions are one-way (net) mode, cross margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from hftlab.sim.instruments import Instrument

ZERO = Decimal(0)
SWAP_LEVER = Decimal(10)      # the leverage swap margin is computed at


@dataclass
class Position:
    """A net swap position (contracts; positive long, negative short)."""

    inst: Instrument
    pos_id: str
    pos: Decimal = ZERO
    avg_px: Decimal = ZERO
    pnl: Decimal = ZERO            # realised from closing trades
    fee: Decimal = ZERO            # cumulative, negative = paid
    c_time: int = 0
    u_time: int = 0
    trade_id: str = ""

    def upl(self, mark: float | Decimal) -> Decimal:
        return self.pos * self.inst.contract_value * (Decimal(str(mark)) - self.avg_px) if self.pos else ZERO

    def margin(self, mark: float | Decimal) -> Decimal:
        return abs(self.pos) * self.inst.contract_value * Decimal(str(mark)) / SWAP_LEVER


@dataclass
class Account:
    key: str
    cash: dict[str, Decimal]
    frozen: dict[str, Decimal] = field(default_factory=dict)       # held by open orders
    positions: dict[str, Position] = field(default_factory=dict)   # by inst_id, swaps only
    u_time: dict[str, int] = field(default_factory=dict)

    def frozen_of(self, ccy: str) -> Decimal:
        return self.frozen.get(ccy, ZERO)

    def margin(self, ccy: str, marks: Mapping[str, float]) -> Decimal:
        """Initial margin of the positions settled in ccy."""
        return sum((p.margin(marks[i]) for i, p in self.positions.items()
                    if p.pos and p.inst.quote_ccy == ccy), ZERO)

    def available(self, ccy: str, marks: Mapping[str, float]) -> Decimal:
        return self.cash.get(ccy, ZERO) - self.frozen_of(ccy) - self.margin(ccy, marks)

    def freeze(self, ccy: str, amount: Decimal) -> None:
        self.frozen[ccy] = self.frozen_of(ccy) + amount

    def release(self, ccy: str, amount: Decimal) -> None:
        left = self.frozen_of(ccy) - amount
        self.frozen[ccy] = left if left > 0 else ZERO

    def _credit(self, ccy: str, amount: Decimal, ts: int) -> None:
        self.cash[ccy] = self.cash.get(ccy, ZERO) + amount
        self.u_time[ccy] = ts

    def spot_fill(self, inst: Instrument, side: str, px: Decimal, sz: Decimal, rate: Decimal,
                  ts: int) -> tuple[Decimal, str]:
        """Book a spot fill; returns (fee, fee ccy)."""
        if side == "buy":
            fee = sz * rate
            self._credit(inst.quote_ccy, -px * sz, ts)
            self._credit(inst.base_ccy, sz + fee, ts)
            return fee, inst.base_ccy
        fee = px * sz * rate
        self._credit(inst.base_ccy, -sz, ts)
        self._credit(inst.quote_ccy, px * sz + fee, ts)
        return fee, inst.quote_ccy

    def swap_fill(self, inst: Instrument, side: str, px: Decimal, contracts: Decimal, rate: Decimal,
                  ts: int, trade_id: str, pos_id: str) -> tuple[Decimal, Decimal]:
        """Book a swap fill into the net position; returns (fee, realised pnl)."""
        ct = inst.contract_value
        fee = px * contracts * ct * rate
        p = self.positions.get(inst.inst_id)
        if p is None:
            p = self.positions[inst.inst_id] = Position(inst, pos_id, c_time=ts)
        q = contracts if side == "buy" else -contracts
        pnl = ZERO
        if p.pos == 0 or (p.pos > 0) == (q > 0):
            p.avg_px = (p.avg_px * abs(p.pos) + px * abs(q)) / (abs(p.pos) + abs(q))
            p.pos += q
        else:
            closing = min(abs(q), abs(p.pos))
            pnl = closing * ct * (px - p.avg_px) * (1 if p.pos > 0 else -1)
            p.pos += q
            if p.pos == 0:
                p.avg_px = ZERO
            elif (p.pos > 0) == (q > 0):      # flipped: the rest opened at this price
                p.avg_px = px
        p.pnl += pnl
        p.fee += fee
        p.u_time = ts
        p.trade_id = trade_id
        self._credit(inst.quote_ccy, pnl + fee, ts)
        return fee, pnl


def ccy_prices(marks: Mapping[str, float], quote: str = "USDT") -> dict[str, float]:
    """Currency prices in `quote` from spot marks keyed 'CCY-QUOTE'."""
    out = {quote: 1.0}
    suffix = "-" + quote
    for inst_id, px in marks.items():
        if inst_id.endswith(suffix) and inst_id.count("-") == 1:
            out[inst_id[: -len(suffix)]] = float(px)
    return out


def equity(account: Account, marks: Mapping[str, float], quote: str = "USDT") -> float:
    """Cash of every currency plus positions' unrealised PnL, all marked to market in `quote`.

    `marks` maps instrument ids to prices (mids): spot 'CCY-USDT' marks value the currencies,
    swap marks the positions. A currency without a mark counts zero.
    """
    px = ccy_prices(marks, quote)
    total = sum(float(v) * px.get(c, 0.0) for c, v in account.cash.items())
    for inst_id, p in account.positions.items():
        if p.pos:
            total += float(p.upl(marks[inst_id])) * px.get(p.inst.quote_ccy, 0.0)
    return total
