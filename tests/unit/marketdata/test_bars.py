"""Bars from trades: OHLCV/VWAP/taker volumes on exchange-time boundaries; live == Parquet."""

from __future__ import annotations

import math

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.marketdata.bars import (
    MAX_FILL_BARS,
    BarBuilder,
    MultiBarBuilder,
    bars_from_trades,
    period_ms,
    source_channel,
)
from hftlab.collect.recorder import Recorder, read_table
from hftlab.okx.events import Trade
from hftlab.okx.parse import parse_frame

T0 = 1_786_540_000_000  # an exchange time in 2026, ms

# (ts offset ms, px, sz, side): non-decreasing times, like one instrument's trade stream
_trades = st.lists(
    st.tuples(st.integers(0, 4000), st.floats(1, 1e5, allow_nan=False), st.floats(1e-6, 1e3, allow_nan=False),
              st.sampled_from(["buy", "sell"])),
    max_size=300,
).map(lambda xs: [(T0 + sum(x[0] for x in xs[: i + 1]) // 7, *x[1:]) for i, x in enumerate(xs)])


def run(builder: BarBuilder, trades) -> list:
    out = []
    for ts, px, sz, side in trades:
        out.extend(builder.update(ts, px, sz, side))
    return out + builder.flush()


@pytest.mark.parametrize(("tf", "ms"), [("1s", 1000), ("3s", 3000), ("1m", 60_000), ("15m", 900_000), ("1h", 3_600_000)])
def test_period(tf, ms):
    assert period_ms(tf) == ms


@pytest.mark.parametrize("bad", ["0s", "1d", "s", "1M", "-1s"])
def test_bad_timeframe_says_what_is_expected(bad):
    with pytest.raises(ValueError, match="like 1s, 3s, 1m"):
        period_ms(bad)


@settings(max_examples=150, deadline=None)
@given(trades=_trades, tf=st.sampled_from(["1s", "3s", "1m"]))
def test_bar_invariants(trades, tf):
    p = period_ms(tf)
    bars = run(BarBuilder("X", tf), trades)
    # volume and count conservation: every trade is in exactly one bar
    assert math.isclose(sum(b.volume for b in bars), sum(t[2] for t in trades), rel_tol=1e-9, abs_tol=1e-9)
    assert sum(b.trade_count for b in bars) == len(trades)
    starts = [b.ts_ms for b in bars]
    assert starts == sorted(set(starts)), "one bar per period, in time order"
    for b in bars:
        assert b.ts_ms % p == 0, "bars start on period boundaries since the epoch"
        inside = [t for t in trades if b.ts_ms <= t[0] < b.ts_ms + p]
        assert b.trade_count == len(inside)
        assert b.open == inside[0][1] and b.close == inside[-1][1]
        assert b.high == max(t[1] for t in inside) and b.low == min(t[1] for t in inside)
        assert b.low * (1 - 1e-12) <= b.vwap <= b.high * (1 + 1e-12)
        assert math.isclose(b.buy_volume + b.sell_volume, b.volume, rel_tol=1e-12)
        assert math.isclose(b.buy_volume, sum(t[2] for t in inside if t[3] == "buy"), rel_tol=1e-9, abs_tol=1e-12)


@settings(deadline=None)
@given(trades=_trades, ticks=st.lists(st.integers(0, 6000), max_size=50))
def test_clock_ticks_change_when_bars_close_never_what_is_in_them(trades, ticks):
    """advance() between trades (with grace) emits bars earlier; the bars are the same."""
    plain = run(BarBuilder("X", "1s"), trades)
    b = BarBuilder("X", "1s", grace_ms=10_000)
    ticked = []
    ticks = iter(sorted(ticks))
    for ts, px, sz, side in trades:
        ticked.extend(b.update(ts, px, sz, side))
        ticked.extend(b.advance(ts + next(ticks, 0)))
    ticked.extend(b.flush())
    assert b.late_trades == 0
    assert ticked == plain


def test_a_tick_closes_the_bar_when_trading_stops_and_late_trades_are_counted():
    b = BarBuilder("X", "1s", grace_ms=200)
    b.update(T0 + 100, 10.0, 1.0, "buy")
    assert b.advance(T0 + 1100) == []  # within grace: a trade may still be in flight
    [bar] = b.advance(T0 + 1200)
    assert (bar.ts_ms, bar.volume, bar.trade_count) == (T0, 1.0, 1)
    assert b.update(T0 + 999, 11.0, 1.0, "sell") == [] and b.late_trades == 1
    assert b.update(T0 + 500, 11.0, 1.0, "sell") == [] and b.late_trades == 2


def test_empty_intervals_give_no_bar_unless_filled():
    trades = [(T0 + 10, 10.0, 1.0, "buy"), (T0 + 3500, 12.0, 2.0, "sell")]
    assert [b.ts_ms - T0 for b in run(BarBuilder("X", "1s"), trades)] == [0, 3000]
    filled = run(BarBuilder("X", "1s", fill_empty=True), trades)
    assert [b.ts_ms - T0 for b in filled] == [0, 1000, 2000, 3000]
    for gap in filled[1:3]:
        assert (gap.open, gap.high, gap.low, gap.close, gap.vwap) == (10.0,) * 5
        assert gap.volume == 0 and gap.trade_count == 0


def test_filled_grid_is_the_same_whether_a_tick_or_the_next_trade_closes_the_bar():
    trades = [(T0 + 10, 10.0, 1.0, "buy"), (T0 + 5500, 12.0, 2.0, "sell")]
    plain = run(BarBuilder("X", "1s", fill_empty=True), trades)
    b = BarBuilder("X", "1s", fill_empty=True)
    ticked = b.update(*trades[0]) + b.advance(T0 + 2300) + b.update(*trades[1]) + b.flush()
    assert ticked == plain


def test_aggregated_trades_count_their_fills():
    b = BarBuilder("X", "1s")
    b.add(Trade("trades", "X", "123", "10", "3", "buy", T0, 0, count=3))
    b.add(Trade("trades", "X", "124", "11", "1", "sell", T0 + 5, 0, count=None))
    [bar] = b.flush()
    assert bar.trade_count == 4 and bar.vwap == pytest.approx(41 / 4)


def test_source_channel_prefers_per_fill_trades():
    assert source_channel(["books", "trades", "trades-all"]) == "trades-all"
    assert source_channel(["trades"]) == "trades"
    assert source_channel(["books"]) is None


def _trade_table(trades: list[Trade]) -> pa.Table:
    from hftlab.collect.recorder import EVENT_TABLES, _events_table

    assert "trade" in EVENT_TABLES
    return _events_table("trade", trades)


@settings(deadline=None)
@given(trades=_trades, tfs=st.sets(st.sampled_from(["1s", "3s", "1m"]), min_size=1))
def test_live_stream_equals_recorded_table(trades, tfs):
    evs = [Trade("trades", "BTC-USDT", str(i), repr(px), repr(sz), side, ts, ts * 1_000_000)
           for i, (ts, px, sz, side) in enumerate(trades)]
    live = MultiBarBuilder(sorted(tfs))
    out = []
    for e in evs:
        out.extend(live.add(e))
    assert bars_from_trades(_trade_table(evs), sorted(tfs)) == out
    assert bars_from_trades(_trade_table(evs).to_pandas(), sorted(tfs), final=True) == out + live.flush()


async def test_real_okx_trades_through_parquet_give_the_live_bars(shared_data, tmp_path):
    """2022 OKX capture: trades parsed live into bars == the recorder's Parquet trades replayed."""
    path = shared_data / "okx" / "ws" / "okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"
    live = MultiBarBuilder(["1s", "3s", "1m"])
    bars = []
    n = 0
    async with Recorder(tmp_path) as rec:
        for line in path.read_bytes().splitlines():
            rec_line = orjson.loads(line)
            recv_ns = int(rec_line["recv_ts"] * 1e9)
            frame = orjson.dumps(rec_line["msg"])  # stored as the JSON object, not the text
            for ev in parse_frame(frame, recv_ns):
                if isinstance(ev, Trade):
                    n += 1
                    rec.add_event(ev)
                    bars.extend(live.add(ev))
    bars.extend(live.flush())
    assert n >= 10 and bars
    table = read_table(tmp_path, "trade")
    assert table.num_rows == n
    assert bars_from_trades(table, ["1s", "3s", "1m"], final=True) == bars


# -- implausible jumps of exchange time ------------------------------------------------------------

YEAR_MS = 365 * 86_400_000


def test_one_far_future_trade_builds_no_bars_and_makes_no_later_trade_late():
    """With fill_empty, a trade a year ahead built every 1 s bar up to it on the event loop (31.5M), and
    every real trade after it was late: bars stopped for the run."""
    b = BarBuilder("X", "1s", fill_empty=True)
    assert b.update(T0 + 10, 10.0, 1.0, "buy") == []
    assert b.update(T0 + 20 + YEAR_MS, 99.0, 1.0, "buy") == []  # held: one lone event may not jump a year
    out = b.update(T0 + 1500, 11.0, 1.0, "sell") + b.update(T0 + 2500, 12.0, 1.0, "buy")
    assert [bar.ts_ms - T0 for bar in out] == [0, 1000]
    assert (b.late_trades, b.outlier_trades) == (0, 1)
    assert [bar.close for bar in out] == [10.0, 11.0]


def test_a_real_pause_is_confirmed_by_the_next_event_and_a_long_gap_is_left_unfilled():
    b = BarBuilder("X", "1s", fill_empty=True)
    b.update(T0 + 10, 10.0, 1.0, "buy")
    later = T0 + (MAX_FILL_BARS + 5) * 1000
    assert b.update(later, 20.0, 1.0, "buy") == []  # held until confirmed
    out = b.update(later + 1500, 21.0, 1.0, "sell")  # also beyond the bound: the market did move on
    assert [bar.ts_ms - T0 for bar in out] == [0, later - later % 1000 - T0]  # no 10,005 filled bars
    assert (b.late_trades, b.outlier_trades) == (0, 0)
    assert [bar.close for bar in b.flush()] == [21.0]


def test_a_gap_within_the_bound_is_filled_and_a_far_future_tick_is_ignored():
    b = BarBuilder("X", "1s", fill_empty=True)
    b.update(T0 + 10, 10.0, 1.0, "buy")
    assert b.advance(T0 + YEAR_MS) == []  # a lone tick a year ahead: nothing closes
    out = b.update(T0 + 3010, 11.0, 1.0, "buy")
    assert [bar.ts_ms - T0 for bar in out] == [0, 1000, 2000]
    assert len(b.advance(T0 + (MAX_FILL_BARS - 10) * 1000)) == MAX_FILL_BARS - 13  # the bound fills


def test_a_held_trade_at_the_end_of_a_recording_is_applied():
    b = BarBuilder("X", "1s")
    b.update(T0, 10.0, 1.0, "buy")
    b.update(T0 + YEAR_MS, 50.0, 1.0, "buy")
    assert [bar.close for bar in b.flush()] == [10.0, 50.0]


def test_the_rules_are_the_same_live_and_from_a_recording():
    trades = [(T0 + 10, 10.0, 1.0, "buy"), (T0 + 50 + YEAR_MS, 99.0, 1.0, "buy"), (T0 + 1500, 11.0, 1.0, "sell"),
              (T0 + 2600, 12.0, 1.0, "buy")]
    live = run(BarBuilder("X", "1s", fill_empty=True), trades)
    table = pa.table({"channel": ["trades"] * 4, "inst_id": ["X"] * 4, "px": [str(t[1]) for t in trades],
                      "sz": [str(t[2]) for t in trades], "side": [t[3] for t in trades],
                      "ts_ms": [t[0] for t in trades], "count": [1] * 4})
    assert bars_from_trades(table, ["1s"], final=True, fill_empty=True) == live
