"""Parquet recorder: round trip, partitions, rotation, hidden in-progress files, no loss on close."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from hftlab.collect.recorder import RAW_SCHEMA, Recorder, event_schema, read_table
from hftlab.domain.market import Bar
from hftlab.okx.events import BookMsg, Candle, ParseError, PrivatePush, Ticker, Trade
from hftlab.okx.parse import parse_frame

NS = 1_795_000_000_000_000_000  # 2026-11-18 (UTC), in ns
DAY = 86_400 * 1_000_000_000


def frames(n: int, inst: str = "BTC-USDT", start_ns: int = NS) -> list[tuple[int, str]]:
    out = []
    for i in range(n):
        f = ('{"arg":{"channel":"trades","instId":"%s"},"data":[{"instId":"%s","tradeId":"%d","px":"100.5",'
             '"sz":"0.25","side":"buy","ts":"%d","count":"2","seqId":%d}]}') % (inst, inst, i, start_ns // 10**6 + i, 10**11 + i)
        out.append((start_ns + i, f))
    return out


async def test_raw_frames_round_trip_verbatim_with_the_fixed_schema(tmp_path):
    fs = frames(50) + frames(20, "ETH-USDT", NS + 100)
    async with Recorder(tmp_path) as rec:
        for ns, f in fs:
            rec.add_raw(ns, "trades", f.split('"instId":"')[1].split('"')[0], f)
        rec.add_raw(NS + 5, "_control", "_", b'{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}')
    table = read_table(tmp_path)
    assert table.schema == RAW_SCHEMA
    assert table.num_rows == 71
    got = {(r["recv_ns"], r["frame"]) for r in table.to_pylist() if r["channel"] == "trades"}
    assert got == set(fs)
    # in recording order (`seq`), not wall-clock order: the control frame was recorded last
    assert table.column("seq").to_pylist() == list(range(71))
    assert table.column("recv_ns").to_pylist() == [ns for ns, _ in fs] + [NS + 5]
    btc = tmp_path / "raw" / "channel=trades" / "inst_id=BTC-USDT" / "date=2026-11-18"
    assert [p.name for p in btc.iterdir()] == ["part-00000.parquet"]
    assert pq.read_table(btc / "part-00000.parquet").schema == RAW_SCHEMA
    # readable as a Hive dataset too
    assert ds.dataset(tmp_path / "raw", format="parquet", partitioning="hive").to_table().num_rows == 71
    assert read_table(tmp_path, channel="trades", inst_id="ETH-USDT").num_rows == 20


async def test_partitions_split_by_utc_date(tmp_path):
    async with Recorder(tmp_path) as rec:
        for ns, f in frames(3, start_ns=NS) + frames(2, start_ns=NS + DAY):
            rec.add_raw(ns, "trades", "BTC-USDT", f)
    dates = sorted(p.name for p in (tmp_path / "raw" / "channel=trades" / "inst_id=BTC-USDT").iterdir())
    assert dates == ["date=2026-11-18", "date=2026-11-19"]
    assert read_table(tmp_path, date="2026-11-19").num_rows == 2


async def test_every_event_type_round_trips(tmp_path):
    evs = [
        Trade("trades", "BTC-USDT", "7", "100.5", "0.25", "sell", 1_795_000_000_000, NS, 3, 10**11),
        Ticker("BTC-USDT", "100", "1", "99", "2", "101", "3", 1_795_000_000_000, NS, {"last": "100", "vol24h": "5"}),
        BookMsg("books", "BTC-USDT", "snapshot", [["101", "1", "0", "2"]], [["99", "3", "0", "1"]],
                1_795_000_000_000, NS, 0, 5, -1),
        BookMsg("books5", "BTC-USDT", None, [], [], 1_795_000_000_000, NS + 1, None, 6, None),
        Candle("candle1m", "BTC-USDT", 1_795_000_000_000, "1", "2", "0.5", "1.5", "10", "15", None, True, NS),
        Bar("BTC-USDT", "1s", 1_795_000_000_000, 1.0, 2.0, 0.5, 1.5, 10.0, 4, 1.2, 6.0, 4.0),
        PrivatePush("orders", {"channel": "orders", "instType": "ANY", "uid": "1"}, [{"ordId": "9"}], NS, None),
        ParseError("invalid JSON", "{oops", NS),
    ]
    async with Recorder(tmp_path) as rec:
        for e in evs:
            rec.add_event(e)
    trade = read_table(tmp_path, "trade").to_pylist()
    assert trade == [{"channel": "trades", "inst_id": "BTC-USDT", "trade_id": "7", "px": "100.5", "sz": "0.25",
                      "side": "sell", "ts_ms": 1_795_000_000_000, "recv_ns": NS, "count": 3, "seq_id": 10**11}]
    books = read_table(tmp_path, "book").to_pylist()
    assert books[0]["asks"] == [["101", "1", "0", "2"]] and books[0]["prev_seq_id"] == -1
    assert books[1]["action"] is None and books[1]["checksum"] is None
    assert read_table(tmp_path, "book", channel="books5").num_rows == 1
    assert read_table(tmp_path, "ticker").column("fields").to_pylist() == ['{"last":"100","vol24h":"5"}']
    assert read_table(tmp_path, "candle").column("confirm").to_pylist() == [True]
    bar = read_table(tmp_path, "bar").to_pylist()[0]
    assert bar["trade_count"] == 4 and bar["vwap"] == 1.2
    priv = read_table(tmp_path, "private").to_pylist()[0]
    assert priv["inst_id"] == "ANY" and priv["data"] == '[{"ordId":"9"}]'
    assert read_table(tmp_path, "parse_error").column("raw").to_pylist() == ["{oops"]
    for name in ("trade", "ticker", "book", "candle", "bar", "private", "parse_error"):
        assert read_table(tmp_path, name).schema == event_schema(name)


async def test_unknown_event_type_is_refused():
    rec = Recorder("/nonexistent")
    with pytest.raises(TypeError, match="recorder stores"):
        rec.add_event(object())


async def test_files_rotate_by_rows_and_in_progress_files_are_hidden(tmp_path):
    rec = Recorder(tmp_path, rotate_rows=10, flush_interval_s=3600)
    await rec.start()
    d = tmp_path / "raw" / "channel=trades" / "inst_id=BTC-USDT" / "date=2026-11-18"
    fs = frames(25)
    for ns, f in fs[:6]:
        rec.add_raw(ns, "trades", "BTC-USDT", f)
    await rec.flush()
    assert [p.name for p in d.iterdir()] == [".part-00000.parquet.inprogress"]
    assert read_table(tmp_path).num_rows == 0, "an unfinished file is not visible to readers"
    for ns, f in fs[6:]:
        rec.add_raw(ns, "trades", "BTC-USDT", f)
        await rec.flush()
    names = sorted(p.name for p in d.iterdir())
    assert "part-00000.parquet" in names and "part-00001.parquet" in names
    await rec.close()
    assert read_table(tmp_path).column("frame").to_pylist() == [f for _, f in fs]
    assert not [p for p in d.iterdir() if p.name.startswith(".")]
    assert rec.stats.raw_rows == 25


async def test_files_rotate_by_age(tmp_path):
    rec = Recorder(tmp_path, rotate_s=0.0, flush_interval_s=3600)
    await rec.start()
    for ns, f in frames(3):
        rec.add_raw(ns, "trades", "BTC-USDT", f)
        await rec.flush()
    assert read_table(tmp_path).num_rows == 3  # each flush published its file
    await rec.close()
    assert rec.stats.files_closed == 3


async def test_a_restart_appends_new_parts_and_never_overwrites(tmp_path):
    for batch in (frames(4), frames(3, start_ns=NS + 10)):
        async with Recorder(tmp_path) as rec:
            for ns, f in batch:
                rec.add_raw(ns, "trades", "BTC-USDT", f)
    assert read_table(tmp_path).num_rows == 7


async def test_the_periodic_flush_and_the_buffer_bound_write_without_being_asked(tmp_path):
    rec = Recorder(tmp_path, flush_interval_s=0.05, max_buffer_rows=1_000_000)
    await rec.start()
    rec.add_raw(NS, "trades", "BTC-USDT", frames(1)[0][1])
    for _ in range(200):
        if rec.stats.raw_rows:
            break
        await asyncio.sleep(0.02)
    assert rec.stats.raw_rows == 1 and rec.pending == 0
    await rec.close()

    rec = Recorder(tmp_path / "b", flush_interval_s=3600, max_buffer_rows=5)
    await rec.start()
    for ns, f in frames(5):
        rec.add_raw(ns, "trades", "BTC-USDT", f)
    for _ in range(200):
        if rec.stats.raw_rows:
            break
        await asyncio.sleep(0.02)
    assert rec.stats.raw_rows == 5
    await rec.close()


async def test_real_okx_frames_round_trip(shared_data, tmp_path):
    path = shared_data / "okx" / "ws" / "okx-spot_BTC-USDT_2026-07-23.jsonl"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    async with Recorder(tmp_path) as rec:
        for i, line in enumerate(lines):
            ns = NS + i
            evs = parse_frame(line, ns)
            rec.add_raw(ns, evs[0].channel, evs[0].inst_id, line)
            for e in evs:
                rec.add_event(e)
    raw = read_table(tmp_path)
    assert raw.column("frame").to_pylist() == lines
    again = [e for ns, f in zip(raw.column("recv_ns").to_pylist(), raw.column("frame").to_pylist(), strict=True)
             for e in parse_frame(f, ns)]
    assert read_table(tmp_path, "book").num_rows == sum(isinstance(e, BookMsg) for e in again)
    assert read_table(tmp_path, "trade").num_rows == sum(isinstance(e, Trade) for e in again) > 0
    assert isinstance(read_table(tmp_path, "book").column("asks").type, pa.ListType)


def _trade(inst: str, i: int, ts_ms: int) -> Trade:
    return Trade("trades", inst, str(i), "100.5", "0.25", "buy", ts_ms, NS + i)


async def test_rows_arrow_cannot_convert_lose_only_their_partition_and_close_still_finishes_every_file(tmp_path):
    """A value past int64 (an impossible `ts`) fails the Arrow conversion of its batch: that partition's
    rows are lost and counted; every other partition is written and every file finished on close."""
    rec = Recorder(tmp_path, flush_interval_s=3600)
    await rec.start()
    for ns, f in frames(3):
        rec.add_raw(ns, "trades", "BTC-USDT", f)
    for i in range(3):
        rec.add_event(_trade("BTC-USDT", i, NS // 10**6 + i))
    rec.add_event(_trade("ETH-USDT", 9, 1 << 70))
    await rec.flush()  # the flush loop's own step: it must not raise
    await rec.close()
    assert read_table(tmp_path).num_rows == 3
    assert read_table(tmp_path, "trade").column("inst_id").to_pylist() == ["BTC-USDT"] * 3
    assert (rec.stats.rows_lost, rec.stats.write_errors) == (1, 1)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")], "every file is finished"


async def test_a_flush_loop_that_fails_is_restarted_and_close_finishes_the_files(tmp_path, monkeypatch):
    rec = Recorder(tmp_path, flush_interval_s=0.01)
    real_flush, calls = rec.flush, []

    async def flaky_flush(finish: bool = False) -> None:
        calls.append(finish)
        if len(calls) == 1:
            raise RuntimeError("disk hiccup")
        await real_flush(finish)

    monkeypatch.setattr(rec, "flush", flaky_flush)
    await rec.start()
    for ns, f in frames(4):
        rec.add_raw(ns, "trades", "BTC-USDT", f)
    for _ in range(3000):  # up to 30 s: the restart's backoff, then the next flush
        if rec.stats.raw_rows:
            break
        await asyncio.sleep(0.01)
    assert rec.stats.task_failures == {"flush": 1} and rec.stats.raw_rows == 4
    await rec.close()
    assert calls[-1] is True and read_table(tmp_path).num_rows == 4


async def test_raw_rows_keep_the_recording_order_when_the_wall_clock_steps_back_and_across_restarts(tmp_path):
    fs = frames(6)
    stepped = [(NS + 1000, fs[0][1]), (NS + 2000, fs[1][1]), (NS + 500, fs[2][1])]  # NTP stepped back 1.5 µs
    async with Recorder(tmp_path) as rec:
        for ns, f in stepped:
            rec.add_raw(ns, "trades", "BTC-USDT", f)
    async with Recorder(tmp_path) as rec:  # a restart continues the sequence
        for ns, f in fs[3:]:
            rec.add_raw(ns, "trades", "BTC-USDT", f)
    table = read_table(tmp_path)
    assert table.column("frame").to_pylist() == [f for _, f in fs]
    assert table.column("seq").to_pylist() == list(range(6))
