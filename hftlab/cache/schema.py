"""Domain values -> the fields of their Redis keys: the one place the cache's field names are written.

Keys and their types are the manager's (`cache/manager.py`, table in its docstring and the README);
what goes into them is decided here, so every writer (the collector now, the live runner next) and
every reader agree. Values are strings or numbers (Redis stores strings); exact decimals are written
in plain notation (`domain.instruments.fmt`), prices and sizes from the venue as received.

| key | fields (written by) |
|---|---|
| `P:ticker:{instId}` | the ticker as the venue sent it (`ticker_fields`) |
| `P:book:{instId}` | `bidPx bidSz askPx askSz ts seqId valid` (`top_of_book_fields`) |
| `P:trades:{instId}` | `tradeId px sz side ts` (`trade_fields`) |
| `P:bar(s):{tf}:{instId}` | `ts open high low close volume trades vwap buyVolume sellVolume` (`bar_fields`) |
| `P:positions` | instId -> `instId qty avgPx realised fees funding` (+ `mark unrealised`) (`positions_fields`) |
| `P:orders:open` | clOrdId -> `clOrdId ordId instId side ordType px sz state accFillSz avgPx slot reduceOnly ts` |
| `P:equity` | `ts equity realised unrealised fees funding highWater drawdown drawdownPct dayPnl state` |
| `P:monitor:{component}` | `component pid started ts metricsUrl rssBytes limitBytes guard latency` (`monitor_fields`) |

Top of book: `valid` is 1 or 0. An invalid book's `TopOfBook` keeps the last valid prices, so the
hash keeps showing them, flagged `valid 0`: a reader must never trade on them. An empty side is
written as "" and an unknown `seqId` as -1.

`latency` is JSON: series name (the histogram's name without `hftlab_` and `_seconds`, with its labels)
-> `{"n", "mean_ms", "p50_ms", "p99_ms"}` (the quantiles are bucket upper bounds).

Positions and equity come from `hftlab.portfolio`, which sits above the cache: they are read through
the `PositionView` / `EquityView` protocols (what `Position` and `EquitySnapshot` offer), not imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol

import orjson

from hftlab.domain.instruments import InstrumentSpec, fmt
from hftlab.domain.market import Bar, TopOfBook
from hftlab.domain.orders import Order
from hftlab.okx.events import Ticker, Trade

Fields = dict[str, str | int | float]


class PositionView(Protocol):
    """What `hftlab.portfolio.positions.Position` offers."""

    spec: InstrumentSpec
    qty: Decimal
    avg_px: Decimal
    realised: Decimal
    fees: Decimal
    funding: Decimal

    def unrealised(self, mark: Decimal) -> Decimal: ...


class EquityView(Protocol):
    """What `hftlab.portfolio.equity.EquitySnapshot` offers."""

    ts_ms: int
    equity: Decimal
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    funding: Decimal
    high_water: Decimal
    drawdown: Decimal
    drawdown_pct: Decimal
    day_pnl: Decimal


def ticker_fields(t: Ticker) -> Fields:
    return dict(t.fields)


def top_of_book_fields(top: TopOfBook) -> Fields:
    return {"bidPx": top.bid_px or "", "bidSz": top.bid_sz or "", "askPx": top.ask_px or "",
            "askSz": top.ask_sz or "", "ts": top.ts_ms or 0, "seqId": -1 if top.seq_id is None else top.seq_id,
            "valid": 1 if top.valid else 0}


def trade_fields(t: Trade) -> Fields:
    return {"tradeId": t.trade_id, "px": t.px, "sz": t.sz, "side": t.side, "ts": t.ts_ms}


def bar_fields(bar: Bar) -> Fields:
    return {"ts": bar.ts_ms, "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
            "volume": bar.volume, "trades": bar.trade_count, "vwap": bar.vwap, "buyVolume": bar.buy_volume,
            "sellVolume": bar.sell_volume}


def position_fields(p: PositionView, mark: Decimal | None = None) -> Fields:
    out: Fields = {"instId": p.spec.inst_id, "qty": fmt(p.qty), "avgPx": fmt(p.avg_px), "realised": fmt(p.realised),
                   "fees": fmt(p.fees), "funding": fmt(p.funding)}
    if mark is not None:
        out["mark"] = fmt(mark)
        out["unrealised"] = fmt(p.unrealised(mark))
    return out


def positions_fields(positions: Iterable[PositionView], marks: Mapping[str, Decimal] | None = None
                     ) -> dict[str, Fields]:
    """instId -> fields, for `RedisCacheManager.set_positions` (the whole set, replaced at once)."""
    marks = marks or {}
    return {p.spec.inst_id: position_fields(p, marks.get(p.spec.inst_id)) for p in positions}


def order_fields(o: Order) -> Fields:
    return {"clOrdId": o.cl_ord_id, "ordId": o.ord_id or "", "instId": o.inst_id, "side": o.side.value,
            "ordType": o.intent.ord_type.value, "px": "" if o.px is None else fmt(o.px), "sz": fmt(o.sz),
            "state": o.state.value, "accFillSz": fmt(o.acc_fill_sz), "avgPx": fmt(o.avg_px), "slot": o.slot,
            "reduceOnly": 1 if o.intent.reduce_only else 0, "ts": o.updated_ms}


def open_orders_fields(orders: Iterable[Order]) -> dict[str, Fields]:
    """clOrdId -> fields of every order not in a terminal state (UNKNOWN included: it is exposure),
    for `RedisCacheManager.set_open_orders` (the whole set, replaced at once)."""
    return {o.cl_ord_id: order_fields(o) for o in orders if not o.state.terminal}


def equity_fields(snap: EquityView, state: str) -> Fields:
    """The account's valuation and the live runner's state (e.g. the risk engine's ACTIVE / HALTED)."""
    return {"ts": snap.ts_ms, "equity": fmt(snap.equity), "realised": fmt(snap.realised),
            "unrealised": fmt(snap.unrealised), "fees": fmt(snap.fees), "funding": fmt(snap.funding),
            "highWater": fmt(snap.high_water), "drawdown": fmt(snap.drawdown),
            "drawdownPct": fmt(snap.drawdown_pct), "dayPnl": fmt(snap.day_pnl), "state": state}


def monitor_fields(component: str, pid: int, started_ms: int, ts_ms: int, metrics_url: str, rss_bytes: int,
                   limit_bytes: int, guard: str, latency: Mapping[str, Mapping[str, float]]) -> Fields:
    """A running process's health (written by hftlab.monitor.status, read by `hftlab status`)."""
    return {"component": component, "pid": pid, "started": started_ms, "ts": ts_ms, "metricsUrl": metrics_url,
            "rssBytes": rss_bytes, "limitBytes": limit_bytes, "guard": guard,
            "latency": orjson.dumps(latency).decode()}
