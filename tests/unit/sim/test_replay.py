"""Replay sources: both JSONL formats, the recorder's Parquet and candle CSVs load into timed frames."""

from __future__ import annotations

import gzip

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hftlab.okx.checksum import okx_checksum
from hftlab.sim.replay import ReplayBook, Replayer, ReplayError, load_source


def test_raw_frame_lines(shared_data):
    path = shared_data / "okx/ws/okx-swap_BTC-USDT-SWAP_2026-07-03.jsonl"
    src = load_source(path)
    raw = [line for line in path.read_text().splitlines() if line.strip()]
    pushes = [line for line in raw if '"data"' in line]
    assert len(src.frames) == len(pushes) and len(pushes) < len(raw)  # the subscribe ack is skipped
    assert {f.channel for f in src.frames} <= {"books", "trades"}
    assert src.frames[0].payload in {p.encode() for p in pushes}  # sent byte for byte as recorded
    assert [f.t_ms for f in src.frames] == sorted(f.t_ms for f in src.frames)


def test_wrapped_lines(shared_data):
    src = load_source(shared_data / "okx/ws/okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl")
    channels = {f.channel for f in src.frames}
    assert {"books-l2-tbt", "trades", "tickers"} <= channels
    assert src.frames[-1].t_ms - src.frames[0].t_ms > 10_000  # ~30 s session, timed by recv_ts
    frame = orjson.loads(src.frames[0].payload)
    assert frame["arg"]["channel"] == src.frames[0].channel and "data" in frame


def test_replayed_book_rebuilds_a_valid_snapshot(shared_data):
    """Replaying the 2022 session's books-l2-tbt frames reproduces OKX's own checksums."""
    src = load_source(shared_data / "okx/ws/okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl")
    books: dict[str, ReplayBook] = {}
    checked = 0
    for f in src.frames:
        if f.channel != "books-l2-tbt":
            continue
        frame = orjson.loads(f.payload)
        book = books.setdefault(f.inst_id, ReplayBook())
        book.apply(frame)
        snap = orjson.loads(book.snapshot(f.channel, f.inst_id))["data"][0]
        assert snap["checksum"] == frame["data"][0]["checksum"]
        checked += 1
        if checked >= 300:
            break
    assert checked == 300


def test_parquet(tmp_path):
    frames = [
        (1_000_000_000, "trades", "BTC-USDT",
         '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1","ts":"1"}]}'),
        (2_000_000_000, "books", "BTC-USDT", '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}'),
        (1_500_000_000, "tickers", "BTC-USDT", '{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{}]}'),
    ]
    table = pa.table({"recv_ns": pa.array([f[0] for f in frames], pa.int64()),
                      "channel": [f[1] for f in frames], "inst_id": [f[2] for f in frames],
                      "frame": [f[3] for f in frames]})
    path = tmp_path / "rec.parquet"
    pq.write_table(table, path)
    src = load_source(path)
    assert [(f.t_ms, f.channel) for f in src.frames] == [(1000.0, "trades"), (1500.0, "tickers")]
    assert src.frames[0].payload == frames[0][3].encode()


def test_candles(shared_data, tmp_path):
    src = load_source(shared_data / "okx/candles/BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv")
    assert src.candles.inst_id == "BTC-USDT-SWAP" and src.candles.bar == "1m"
    first = orjson.loads(src.frames[0].payload)
    assert first["arg"] == {"channel": "candle1m", "instId": "BTC-USDT-SWAP"}
    row = first["data"][0]
    assert len(row) == 9 and row[-1] == "1" and all(isinstance(v, str) for v in row)
    assert src.frames[0].t_ms == int(row[0]) + 60_000  # pushed when the bar closes
    gz = tmp_path / "ETH-USDT_5m_x.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("ts_ms,date,open,high,low,close,volume\n300000,x,1,2,0.5,1.5,10\n0,x,1,1,1,1,0\n")
    src = load_source(gz)
    assert [r[0] for r in src.candles.rows] == ["0", "300000"]


def test_replayer_rest_candles_follow_replay_time(shared_data):
    src = load_source(shared_data / "okx/candles/BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv")
    now = [1000.0]
    rp = Replayer([src], hub=None, speed=60.0, clock=lambda: now[0])
    assert rp.candles("BTC-USDT-SWAP", "1m", 10, None, None) == []  # not started: no bar has closed
    assert rp.candles("ETH-USDT", "1m", 10, None, None) is None
    rp.start()
    now[0] += 2.5  # 150 market seconds: two 1m bars have closed
    assert [int(r[0]) for r in rp.candles("BTC-USDT-SWAP", "1m", 10, None, None)] == \
        [int(src.candles.rows[1][0]), int(src.candles.rows[0][0])]
    now[0] += 3600  # much later
    rows = rp.candles("BTC-USDT-SWAP", "1m", 5, None, None)
    assert len(rows) == 5 and int(rows[0][0]) > int(rows[1][0])  # newest first
    older = rp.candles("BTC-USDT-SWAP", "1m", 5, int(rows[-1][0]), None)
    assert int(older[0][0]) < int(rows[-1][0])


@pytest.mark.parametrize("name, needle", [("x.txt", "unknown replay format"), ("BTC_1m.csv", "candle files are named")])
def test_bad_sources(tmp_path, name, needle):
    p = tmp_path / name
    p.write_text("ts_ms\n")
    with pytest.raises(ReplayError, match=needle):
        load_source(p)
    with pytest.raises(ReplayError, match="not found"):
        load_source(tmp_path / "nope.jsonl")


def test_snapshot_checksum_matches_okx_rule():
    book = ReplayBook()
    book.apply({"action": "snapshot", "data": [{"bids": [["1", "2", "0", "1"], ["0.5", "1", "0", "1"]],
                                                "asks": [["2", "3", "0", "1"]], "ts": "5", "checksum": 7,
                                                "prevSeqId": -1, "seqId": 10}]})
    book.apply({"action": "update", "data": [{"bids": [["0.5", "0", "0", "0"]], "asks": [["2.5", "1", "0", "1"]],
                                              "ts": "6", "checksum": 9, "prevSeqId": 10, "seqId": 12}]})
    snap = orjson.loads(book.snapshot("books", "X"))
    d = snap["data"][0]
    assert snap["action"] == "snapshot" and d["prevSeqId"] == -1 and d["seqId"] == 12
    assert d["bids"] == [["1", "2", "0", "1"]] and [a[0] for a in d["asks"]] == ["2", "2.5"]
    assert d["checksum"] == okx_checksum(d["bids"], d["asks"])
