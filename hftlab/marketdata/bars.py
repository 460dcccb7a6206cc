"""Time bars from trades: OHLCV, trade count, VWAP and taker buy/sell volume, on exchange time.

A bar covers [t, t + period) of *exchange* time (the trade's `ts`), t a multiple of the period
since the Unix epoch, so bars from any source line up. It closes:

- when a trade at or after t + period arrives (the trade stream is its own clock), or
- on `advance(now_ms)` with an exchange clock (the newest `ts` seen on any channel of that
  instrument) once `now_ms >= t + period + grace_ms`: a bar is emitted even if trading stops.

Both rules only decide *when* a bar is emitted, never what is in it, so the same trades give the
same bars live and from Parquet (`bars_from_trades`). The one exception is a trade older than an
already closed bar (late by more than `grace_ms`, or out of order); it is left out of every bar
and counted in `late_trades`, live and offline alike.

Empty intervals produce no bar by default: a period without trades has no price, and inventing one
would put zero-volume bars into VWAP and volatility statistics. `fill_empty=True` emits them as flat
bars at the previous close (volume 0, trade_count 0, vwap = close) for consumers that want a regular
grid; the first bar is never preceded by filled ones.

Implausible jumps: the builder's clock is the newest exchange time it accepted (trades and ticks).
An event more than `MAX_FILL_BARS` periods ahead of it is held, not applied: if the next event is
also beyond that bound the clock did move on (a pause in trading) and both are applied; if not, the
held one was an outlier (one far-future `ts`): a held trade is dropped and counted in
`outlier_trades`, a held tick forgotten. So one bad `ts` neither builds bars up to it nor makes every
later trade late. `fill_empty` fills at most `MAX_FILL_BARS` empty bars: a longer gap is left
unfilled (bars resume at the next trade), so no `ts` can make the builder emit millions of bars.
Live and offline alike: the rules look only at the events' exchange times.

Trade counts count fills: a `trades` message aggregating `count` maker fills counts as `count`, so
`trades` and `trades-all` give the same bars. Subscribe to one of them per instrument for bars
(`source_channel` picks `trades-all` when both are present).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hftlab.domain.market import Bar
from hftlab.okx.events import Trade

MAX_FILL_BARS = 10_000  # empty bars filled in one gap at most; also the jump a lone event may not make
_TF = re.compile(r"^([1-9][0-9]*)([smh])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}


def period_ms(timeframe: str) -> int:
    """`1s` -> 1000, `3s` -> 3000, `1m` -> 60000 (also `Nh`)."""
    m = _TF.match(timeframe)
    if not m:
        raise ValueError(f"timeframe {timeframe!r} is not like 1s, 3s, 1m or 1h")
    return int(m.group(1)) * _UNIT_MS[m.group(2)]


def source_channel(channels: Iterable[str]) -> str | None:
    """The trade channel bars are built from: per-fill `trades-all` if subscribed, else `trades`."""
    chans = set(channels)
    for c in ("trades-all", "trades"):
        if c in chans:
            return c
    return None


@dataclass(slots=True)
class _Open:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    notional: float
    count: int
    buy: float
    sell: float


class BarBuilder:
    """Bars of one timeframe for one instrument. Feed trades in arrival order."""

    __slots__ = ("inst_id", "timeframe", "period", "grace_ms", "fill_empty", "late_trades", "outlier_trades", "_bar",
                 "_last_close", "_closed_until", "_clock", "_held", "_jump_ms")

    def __init__(self, inst_id: str, timeframe: str, *, grace_ms: int = 0, fill_empty: bool = False):
        self.inst_id = inst_id
        self.timeframe = timeframe
        self.period = period_ms(timeframe)
        self.grace_ms = grace_ms
        self.fill_empty = fill_empty
        self.late_trades = 0
        self.outlier_trades = 0  # trades held as an implausible jump and not confirmed
        self._bar: _Open | None = None
        self._last_close: float | None = None
        self._closed_until = -(1 << 62)  # every trade before this exchange time is in a closed bar
        self._clock: int | None = None  # the newest exchange time accepted
        self._held: tuple | None = None  # an event beyond the jump bound, awaiting confirmation
        self._jump_ms = MAX_FILL_BARS * self.period

    def update(self, ts_ms: int, px: float, sz: float, side: str, fills: int = 1) -> list[Bar]:
        """Add one trade; returns the bars it closed (oldest first, possibly empty)."""
        out = self._admit(ts_ms, (ts_ms, px, sz, side, fills))
        if out is None:
            return []
        bars = self._trade(ts_ms, px, sz, side, fills)
        return out + bars if out else bars

    def add(self, trade: Trade) -> list[Bar]:
        return self.update(trade.ts_ms, float(trade.px), float(trade.sz), trade.side, trade.count or 1)

    def advance(self, now_ms: int) -> list[Bar]:
        """Exchange clock tick: close the open bar once `now_ms - grace_ms` is past its end. Trades
        may thus arrive up to `grace_ms` late and still count."""
        out = self._admit(now_ms, (now_ms,))
        if out is None:
            return []
        bars = self._tick(now_ms)
        return out + bars if out else bars

    def flush(self) -> list[Bar]:
        """Close the open bar whatever the time (end of a recording). A held trade is applied first:
        nothing came to contradict it."""
        held, self._held = self._held, None
        out = self._apply(held) if held is not None else []
        b = self._bar
        return out if b is None else out + self._close_through(b.start + self.period)

    def _admit(self, ts: int, event: tuple) -> list[Bar] | None:
        """None: `event` is held. Else the bars a confirmed jump emitted, and `event` goes ahead."""
        clock, held = self._clock, self._held
        if clock is not None and ts - clock > self._jump_ms:
            if held is None:
                self._held = event
                return None
            self._held = None  # a second event beyond the bound: the clock did move on
            out = self._apply(held)
        else:
            out = []
            if held is not None:  # the event after it is back near the clock: the held one was an outlier
                self._held = None
                if len(held) > 1:
                    self.outlier_trades += 1
        if self._clock is None or ts > self._clock:
            self._clock = ts
        return out

    def _apply(self, event: tuple) -> list[Bar]:
        ts = event[0]
        if self._clock is None or ts > self._clock:
            self._clock = ts
        return self._trade(*event) if len(event) > 1 else self._tick(ts)

    def _trade(self, ts_ms: int, px: float, sz: float, side: str, fills: int) -> list[Bar]:
        start = ts_ms - ts_ms % self.period
        b = self._bar
        if ts_ms < self._closed_until or (b is not None and start < b.start):
            self.late_trades += 1
            return []
        if b is not None and start == b.start:
            if px > b.high:
                b.high = px
            elif px < b.low:
                b.low = px
            b.close = px
            b.volume += sz
            b.notional += px * sz
            b.count += fills
            if side == "buy":
                b.buy += sz
            else:
                b.sell += sz
            return []
        out = self._close_through(start) if b is not None else self._fill(self._closed_until, start)
        buy = sz if side == "buy" else 0.0
        self._bar = _Open(start, px, px, px, px, sz, px * sz, fills, buy, sz - buy)
        return out

    def _tick(self, now_ms: int) -> list[Bar]:
        b = self._bar
        t = now_ms - self.grace_ms
        if b is None or t < b.start + self.period:
            return []
        return self._close_through(t - t % self.period)

    def _close_through(self, next_start: int) -> list[Bar]:
        """Close the open bar; with fill_empty also emit the empty bars before `next_start`."""
        b = self._bar
        assert b is not None
        self._bar = None
        self._last_close = b.close
        self._closed_until = b.start + self.period
        return [self._emit(b), *self._fill(self._closed_until, next_start)]

    def _fill(self, start: int, end: int) -> list[Bar]:
        if not self.fill_empty or self._last_close is None or end <= start:
            return []
        c = self._last_close
        self._closed_until = end
        if end - start > MAX_FILL_BARS * self.period:  # a gap this long is left unfilled
            return []
        return [Bar(self.inst_id, self.timeframe, t, c, c, c, c, 0.0, 0, c, 0.0, 0.0)
                for t in range(start, end, self.period)]

    def _emit(self, b: _Open) -> Bar:
        vwap = b.notional / b.volume if b.volume > 0 else b.close
        return Bar(self.inst_id, self.timeframe, b.start, b.open, b.high, b.low, b.close, b.volume, b.count, vwap,
                   b.buy, b.sell)


class MultiBarBuilder:
    """Every (instrument, timeframe) pair of a stream: the one object live code and `bars_from_trades` share."""

    def __init__(self, timeframes: Iterable[str], *, grace_ms: int = 0, fill_empty: bool = False):
        self.timeframes = list(timeframes)
        for tf in self.timeframes:
            period_ms(tf)  # validate early, with the clear message
        self.grace_ms = grace_ms
        self.fill_empty = fill_empty
        self._by_inst: dict[str, list[BarBuilder]] = {}

    def _builders(self, inst_id: str) -> list[BarBuilder]:
        bs = self._by_inst.get(inst_id)
        if bs is None:
            bs = [BarBuilder(inst_id, tf, grace_ms=self.grace_ms, fill_empty=self.fill_empty) for tf in self.timeframes]
            self._by_inst[inst_id] = bs
        return bs

    def update(self, inst_id: str, ts_ms: int, px: float, sz: float, side: str, fills: int = 1) -> list[Bar]:
        out: list[Bar] = []
        for b in self._builders(inst_id):
            out.extend(b.update(ts_ms, px, sz, side, fills))
        return out

    def add(self, trade: Trade) -> list[Bar]:
        return self.update(trade.inst_id, trade.ts_ms, float(trade.px), float(trade.sz), trade.side, trade.count or 1)

    def advance(self, inst_id: str, now_ms: int) -> list[Bar]:
        bs = self._by_inst.get(inst_id)
        if not bs:
            return []
        out: list[Bar] = []
        for b in bs:
            out.extend(b.advance(now_ms))
        return out

    def flush(self) -> list[Bar]:
        out: list[Bar] = []
        for bs in self._by_inst.values():
            for b in bs:
                out.extend(b.flush())
        return out

    @property
    def late_trades(self) -> int:
        return sum(b.late_trades for bs in self._by_inst.values() for b in bs)

    @property
    def outlier_trades(self) -> int:
        return sum(b.outlier_trades for bs in self._by_inst.values() for b in bs)


def bars_from_trades(trades, timeframes: Iterable[str], *, channel: str | None = None, final: bool = False,
                     fill_empty: bool = False) -> list[Bar]:
    """Bars from a recorded trades table (pyarrow Table or pandas DataFrame with the recorder's trade
    columns `channel inst_id px sz side ts_ms count`, in recorded order) through the live builder.

    `channel` picks the trade channel (default: `source_channel` of those present, as the collector
    does). `final=True` also closes the last open bar of each series, as `flush` does at the end of
    a live run.
    """
    builder = MultiBarBuilder(timeframes, fill_empty=fill_empty)
    out: list[Bar] = []
    for inst_id, ts_ms, px, sz, side, fills in _trade_rows(trades, channel):
        out.extend(builder.update(inst_id, ts_ms, px, sz, side, fills))
    if final:
        out.extend(builder.flush())
    return out


def _trade_rows(trades, channel: str | None) -> Iterator[tuple[str, int, float, float, str, int]]:
    cols = _columns(trades, ("channel", "inst_id", "px", "sz", "side", "ts_ms", "count"))
    chan = channel if channel is not None else source_channel(set(cols["channel"]))
    for ch, inst, px, sz, side, ts, cnt in zip(cols["channel"], cols["inst_id"], cols["px"], cols["sz"], cols["side"],
                                               cols["ts_ms"], cols["count"], strict=True):
        if ch == chan:
            yield inst, int(ts), float(px), float(sz), side, int(cnt) if cnt is not None and cnt == cnt else 1


def _columns(table, names: tuple[str, ...]) -> dict[str, list]:
    if hasattr(table, "column_names"):  # pyarrow.Table
        missing = [n for n in names if n not in table.column_names]
        get = lambda n: table.column(n).to_pylist()  # noqa: E731
    else:  # pandas.DataFrame
        missing = [n for n in names if n not in table.columns]
        get = lambda n: table[n].tolist()  # noqa: E731
    if missing:
        raise ValueError(f"trades table lacks column(s) {missing}; expected the recorder's trade table columns {list(names)}")
    return {n: get(n) for n in names}
