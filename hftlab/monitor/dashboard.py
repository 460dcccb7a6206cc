"""What `hftlab status` shows: one snapshot of the hot cache, read from Redis, and its rendering.

    snap = await read_snapshot(cache, symbols, timeframe)      # RedisCacheManager reads only
    console.print(render(snap))                                # a rich renderable

The snapshot is everything a running collector or live runner publishes (the keys of
`cache/schema.py`): per instrument the top of book, the last trades and the latest closed bar; the
positions, open orders and equity (PnL, drawdown, the trading state) the live runner writes; and the
status hash of each running process (`P:monitor:{component}`: pid, /metrics URL, memory, guard,
latency summaries). Reading never writes. Rendering is a pure function of the snapshot, so a frame is
the same on a terminal, in tmux or in a test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import orjson
from redis.exceptions import RedisError
from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

COMPONENTS = ("collect", "live")


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    ts_ms: int
    timeframe: str
    books: dict[str, dict[str, str]] = field(default_factory=dict)  # instId -> P:book fields
    trades: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # instId -> newest last
    bars: dict[str, dict[str, str]] = field(default_factory=dict)  # instId -> P:bar fields
    positions: dict[str, dict] = field(default_factory=dict)
    open_orders: dict[str, dict] = field(default_factory=dict)
    equity: dict[str, str] = field(default_factory=dict)
    processes: dict[str, dict[str, str]] = field(default_factory=dict)  # component -> P:monitor fields
    error: str = ""  # why Redis could not be read ('' when it was)


async def read_snapshot(cache, symbols: list[str], timeframe: str, *, trades: int = 3) -> StatusSnapshot:
    """`cache`: a RedisCacheManager (not started: reads only). A Redis error is reported in `error`."""
    now = int(time.time() * 1000)
    try:
        books, last, bars = {}, {}, {}
        for inst in symbols:
            if book := await cache.get_top_of_book(inst):
                books[inst] = book
            if recent := await cache.recent_trades(inst, trades):
                last[inst] = recent
            if bar := await cache.get_bar(timeframe, inst):
                bars[inst] = bar
        processes = {c: m for c in COMPONENTS if (m := await cache.get_monitor(c))}
        return StatusSnapshot(now, timeframe, books, last, bars, await cache.get_positions(),
                              await cache.get_open_orders(), await cache.get_equity(), processes)
    except (OSError, TimeoutError, RedisError) as e:
        return StatusSnapshot(now, timeframe, error=f"{type(e).__name__}: {e}")


# ----- rendering -----------------------------------------------------------------------------------
def _age(now_ms: int, ts: str | int | None) -> str:
    try:
        ms = now_ms - int(ts)
    except (TypeError, ValueError):
        return "-"
    return f"{ms / 1000:.1f}s" if abs(ms) >= 1000 else f"{ms}ms"


def _num(v: object, places: int | None = None) -> str:
    if v in (None, ""):
        return "-"
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return str(v)
    return f"{d:,.{places}f}" if places is not None else f"{d:,f}"


def _qty(v: object) -> str:
    try:
        return f"{float(v):,.8g}"
    except (TypeError, ValueError):
        return "-"


def _spread_bps(book: dict[str, str]) -> str:
    try:
        bid, ask = float(book["bidPx"]), float(book["askPx"])
    except (KeyError, ValueError):
        return "-"
    return f"{(ask - bid) / ((ask + bid) / 2) * 1e4:.2f}"


def _uptime(now_ms: int, started: str) -> str:
    try:
        s = (now_ms - int(started)) // 1000
    except (TypeError, ValueError):
        return "-"
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"


def _header(snap: StatusSnapshot) -> Text:
    t = Text("hftlab status  ", style="bold")
    t.append(time.strftime("%H:%M:%S", time.localtime(snap.ts_ms / 1000)))
    if snap.error:
        t.append(f"  redis UNREACHABLE: {snap.error}", style="bold red")
        return t
    t.append("  redis ok", style="green")
    for component, m in snap.processes.items():
        stale = snap.ts_ms - int(m.get("ts", 0) or 0)
        t.append(f"\n{component}: pid {m.get('pid', '?')} up {_uptime(snap.ts_ms, m.get('started', ''))}, "
                 f"memory {int(m.get('rssBytes', 0)) / 2**20:.0f}/{int(m.get('limitBytes', 0)) / 2**20:.0f} MiB, "
                 f"guard {m.get('guard', '?')}, metrics {m.get('metricsUrl') or 'off'}",
                 style="yellow" if m.get("guard", "normal") != "normal" else "")
        if stale > 30_000:
            t.append(f" (last report {_age(snap.ts_ms, m.get('ts'))} ago)", style="red")
    if not snap.processes:
        t.append("\nno running collector or live runner has reported (P:monitor:*)", style="yellow")
    return t


def _books(snap: StatusSnapshot) -> Table:
    t = Table(title="Books (top of book)", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
    for col in ("instId", "bid sz", "bid", "ask", "ask sz", "spread bps", "valid", "age", "seqId"):
        t.add_column(col, justify="left" if col == "instId" else "right")
    for inst, b in snap.books.items():
        valid = b.get("valid") == "1"
        t.add_row(inst, _num(b.get("bidSz")), _num(b.get("bidPx")), _num(b.get("askPx")), _num(b.get("askSz")),
                  _spread_bps(b), Text("yes" if valid else "NO", style="green" if valid else "bold red"),
                  _age(snap.ts_ms, b.get("ts")), b.get("seqId", "-"))
    return t


def _trades(snap: StatusSnapshot) -> Table:
    t = Table(title="Last trades", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
    for col in ("instId", "side", "px", "sz", "age"):
        t.add_column(col, justify="left" if col in ("instId", "side") else "right")
    for inst, rows in snap.trades.items():
        for r in reversed(rows):
            side = r.get("side", "")
            t.add_row(inst, Text(side, style="green" if side == "buy" else "red"), _num(r.get("px")),
                      _num(r.get("sz")), _age(snap.ts_ms, r.get("ts")))
    return t


def _bars(snap: StatusSnapshot) -> Table:
    t = Table(title=f"Latest {snap.timeframe} bars", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
    for col in ("instId", "open", "high", "low", "close", "volume", "trades", "closed"):
        t.add_column(col, justify="left" if col == "instId" else "right")
    for inst, b in snap.bars.items():
        t.add_row(inst, _num(b.get("open")), _num(b.get("high")), _num(b.get("low")), _num(b.get("close")),
                  _qty(b.get("volume")), b.get("trades", "-"), _age(snap.ts_ms, b.get("ts")))
    return t


def _positions(snap: StatusSnapshot) -> Table:
    t = Table(title="Positions", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
    for col in ("instId", "qty", "avgPx", "mark", "unrealised", "realised", "fees"):
        t.add_column(col, justify="left" if col == "instId" else "right")
    for inst, p in snap.positions.items():
        t.add_row(inst, _num(p.get("qty")), _num(p.get("avgPx")), _num(p.get("mark")), _num(p.get("unrealised"), 2),
                  _num(p.get("realised"), 2), _num(p.get("fees"), 2))
    if not snap.positions:
        t.add_row("(none)", "", "", "", "", "", "")
    return t


def _orders(snap: StatusSnapshot) -> Table:
    t = Table(title="Open orders", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
    for col in ("clOrdId", "instId", "side", "type", "px", "sz", "filled", "state"):
        t.add_column(col, justify="right" if col in ("px", "sz", "filled") else "left")
    for cl, o in snap.open_orders.items():
        t.add_row(cl, o.get("instId", ""), o.get("side", ""), o.get("ordType", ""), _num(o.get("px")),
                  _num(o.get("sz")), _num(o.get("accFillSz")), o.get("state", ""))
    if not snap.open_orders:
        t.add_row("(none)", "", "", "", "", "", "", "")
    return t


def _pnl(snap: StatusSnapshot) -> Panel:
    e = snap.equity
    if not e:
        return Panel(Text("no equity published (P:equity: the live runner writes it)"), title="PnL")
    state = e.get("state", "?")
    t = Text()
    t.append(f"state {state}", style="bold green" if state.lower() == "active" else "bold red")
    t.append(f"   equity {_num(e.get('equity'), 2)}   realised {_num(e.get('realised'), 2)}   unrealised "
             f"{_num(e.get('unrealised'), 2)}   fees {_num(e.get('fees'), 2)}   day PnL {_num(e.get('dayPnl'), 2)}   "
             f"drawdown {_num(e.get('drawdown'), 2)} ({_num(e.get('drawdownPct'), 2)}%)   high water "
             f"{_num(e.get('highWater'), 2)}   as of {_age(snap.ts_ms, e.get('ts'))} ago")
    return Panel(t, title="PnL")


def _latency(snap: StatusSnapshot) -> Table:
    t = Table(title="Latency (ms)", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
    for col in ("process", "stage", "n", "mean", "p50 <=", "p99 <="):
        t.add_column(col, justify="left" if col in ("process", "stage") else "right")
    for component, m in snap.processes.items():
        try:
            series = orjson.loads(m.get("latency") or "{}")
        except orjson.JSONDecodeError:
            continue
        for name, s in sorted(series.items()):
            t.add_row(component, name, f"{s['n']:,}", f"{s['mean_ms']:.3f}", _ms(s.get("p50_ms")), _ms(s.get("p99_ms")))
    return t


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _side_by_side(left: RenderableType, right: RenderableType) -> Table:
    grid = Table.grid(expand=True, padding=(0, 2))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(left, right)
    return grid


def render(snap: StatusSnapshot) -> Group:
    if snap.error:
        return Group(_header(snap))
    return Group(_header(snap), _books(snap), _pnl(snap), _side_by_side(_positions(snap), _orders(snap)),
                 _side_by_side(_bars(snap), _latency(snap)), _trades(snap))
