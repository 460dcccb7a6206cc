"""Equity over time from a plain list of fills, through the same Portfolio the live system uses:
what the PnL parity test compares with a backtest's equity curve.

Each fill is (ts_ms, inst_id, side, px, sz, fee) with `fee` in the instrument's quote currency and
the venue's sign (negative paid; a backtest's positive cost c is fee −c). Numbers may be Decimals,
strings or floats (through their shortest repr). Fill i gets trade id str(i), so every row counts,
two identical rows included. Marks (ts_ms, inst_id, px), optional, price the open positions between
fills (a backtest's bar closes); without them an instrument is marked at its latest fill price.
Events are taken in time order, a fill before a mark with the same timestamp; one snapshot follows
each event.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import Fill, Side
from hftlab.portfolio.equity import EquitySnapshot, Portfolio
from hftlab.portfolio.positions import to_decimal

Number = Decimal | float | int | str


class ReplayFill(NamedTuple):
    ts_ms: int
    inst_id: str
    side: Side | str
    px: Number
    sz: Number
    fee: Number


class ReplayMark(NamedTuple):
    ts_ms: int
    inst_id: str
    px: Number


def replay(fills: Iterable[tuple], specs: Iterable[InstrumentSpec], cash: Decimal, ccy: str,
           marks: Iterable[tuple] = ()) -> list[EquitySnapshot]:
    portfolio = Portfolio(specs, cash, ccy)
    events = [(int(f[0]), 0, i, ReplayFill(*f)) for i, f in enumerate(fills)]
    events += [(int(m[0]), 1, i, ReplayMark(*m)) for i, m in enumerate(marks)]
    events.sort(key=lambda e: e[:3])
    last_px: dict[str, Decimal] = {}
    out = []
    for ts, kind, i, ev in events:
        px = to_decimal(ev.px)
        if kind == 0:
            portfolio.apply_fill(Fill(ev.inst_id, str(i), "", "", Side(ev.side), px, to_decimal(ev.sz),
                                      to_decimal(ev.fee), ccy, ts))
        last_px[ev.inst_id] = px
        out.append(portfolio.snapshot(ts, last_px))
    return out
