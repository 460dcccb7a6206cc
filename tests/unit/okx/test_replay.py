"""`hftlab replay` over the real recordings, recorder Parquet files, negative controls and bad inputs."""

from __future__ import annotations

import argparse
import random

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hftlab.commands import replay as replay_command
from hftlab.okx import replay
from hftlab.okx.parse import parse_frame

WS = "okx/ws"
FILE_2022 = "okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"
FILES_2026 = ["okx-spot_BTC-USDT_2026-07-23.jsonl", "okx-swap_BTC-USDT-SWAP_2026-07-03.jsonl",
              "okx-swap_BTC-USDT-SWAP_2026-07-23.jsonl"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    p = argparse.ArgumentParser()
    replay_command.add_arguments(p)
    rc = replay_command.run(p.parse_args([str(a) for a in argv]))
    out, err = capsys.readouterr()
    return rc, out, err


def test_every_recording_replays_clean(shared_data, capsys):
    files = sorted((shared_data / WS).glob("*.jsonl"))
    assert len(files) == 4
    rc, out, _ = run_cli(capsys, "--json", *files)
    assert rc == 0
    doc = orjson.loads(out)
    assert doc["ok"] is True
    t = doc["totals"]
    assert t["checksum_mismatched"] == 0 and t["breaks"] == 0 and t["malformed"] == 0
    # every non-zero checksum was verified: all 2022 book messages carry one, no 2026 message does
    assert t["checksum_verified"] == 3679 and t["checksum_absent"] == 12
    assert t["checksum_verified"] + t["checksum_absent"] == t["snapshots"] + t["updates"]


def test_2022_recording_counts(shared_data, capsys):
    rc, out, _ = run_cli(capsys, "--json", shared_data / WS / FILE_2022)
    doc = orjson.loads(out)
    assert rc == 0
    t = doc["totals"]
    assert (t["snapshots"], t["updates"], t["checksum_verified"], t["seq_checked"]) == (20, 3659, 3679, 0)
    assert (t["trades"], t["tickers"], t["errors"], t["ignored"]) == (19, 19, 0, 0)
    assert len(doc["instruments"]) == 10
    elon = doc["instruments"]["ELON-USDT"]
    assert elon["snapshots"] == 2 and elon["checksum_verified"] == elon["snapshots"] + elon["updates"]


@pytest.mark.parametrize("name", FILES_2026)
def test_2026_recordings_have_checksum_zero_and_a_seq_chain(shared_data, capsys, name):
    rc, out, _ = run_cli(capsys, "--json", shared_data / WS / name)
    t = orjson.loads(out)["totals"]
    assert rc == 0
    assert (t["snapshots"], t["updates"], t["seq_checked"]) == (1, 3, 3)
    assert (t["checksum_absent"], t["checksum_verified"], t["breaks"]) == (4, 0, 0)


def test_table_output(shared_data, capsys):
    rc, out, _ = run_cli(capsys, shared_data / WS / FILE_2022)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["instrument", "snapshots", "updates"]
    assert any(line.startswith("UNI-USD-SWAP ") for line in lines)
    total = next(line for line in lines if line.startswith("TOTAL")).split()
    assert total[1:4] == ["20", "3,659", "0"]
    assert lines[-1].startswith("OK:") and "3,679" in lines[-1]


def _drop_one_update(src, dst, inst_id: str, nth: int) -> None:
    """Copy a recording without the nth book update of one instrument."""
    seen = 0
    with src.open("rb") as f, dst.open("wb") as out:
        for line in f:
            doc = orjson.loads(line)
            msg = doc.get("msg", doc)
            if isinstance(msg, dict) and msg.get("action") == "update" and msg["arg"]["instId"] == inst_id:
                seen += 1
                if seen == nth:
                    continue
            out.write(line)
    assert seen > nth


def test_negative_control_2022_dropped_update_is_a_mismatch(shared_data, tmp_path, capsys):
    damaged = tmp_path / "dropped.jsonl"
    _drop_one_update(shared_data / WS / FILE_2022, damaged, "UNI-USD-SWAP", 500)
    rc, out, _ = run_cli(capsys, "--json", damaged)
    doc = orjson.loads(out)
    assert rc == 1 and doc["ok"] is False
    assert doc["instruments"]["UNI-USD-SWAP"]["checksum_mismatched"] == 1
    assert doc["totals"]["checksum_mismatched"] == 1 and doc["totals"]["breaks"] == 0
    rc, out, _ = run_cli(capsys, damaged)
    assert rc == 1 and out.splitlines()[-1].startswith("FAIL:") and "UNI-USD-SWAP" in out.splitlines()[-1]


@pytest.mark.parametrize("name", FILES_2026)
def test_negative_control_2026_dropped_update_is_a_break(shared_data, tmp_path, capsys, name):
    damaged = tmp_path / name
    inst = name.split("_")[1]
    _drop_one_update(shared_data / WS / name, damaged, inst, 2)
    rc, out, _ = run_cli(capsys, "--json", damaged)
    doc = orjson.loads(out)
    assert rc == 1 and doc["totals"]["breaks"] == 1 and doc["totals"]["checksum_mismatched"] == 0


NS_2022 = 1_646_010_000 * 10**9  # 2022-02-28 01:00 UTC, after the recording (its ts are not ahead of it)


def _write_recorder_parquet(frames, path, recv_ns, seq=None) -> None:
    events = [parse_frame(f, 0)[0] for f in frames]
    table = pa.table({
        "recv_ns": pa.array(recv_ns, pa.int64()),
        "channel": [getattr(e, "channel", "") for e in events],
        "inst_id": [getattr(e, "inst_id", "") for e in events],
        "frame": [f.decode() for f in frames],
        **({"seq": pa.array(seq, pa.int64())} if seq is not None else {}),
    })
    pq.write_table(table, path)


def test_parquet_directory_is_merged_in_recv_ns_order(shared_data, tmp_path, capsys):
    frames = [(raw if isinstance(raw, bytes) else raw.encode()) for raw, _ in
              replay.frames_of(shared_data / WS / FILE_2022)]
    recv_ns = [NS_2022 + i for i in range(len(frames))]
    # split the recording over three files whose rows interleave in time, each file shuffled
    rows = list(range(len(frames)))
    random.Random(7).shuffle(rows)
    rec = tmp_path / "rec"
    (rec / "2022").mkdir(parents=True)
    for k in range(3):
        part = rows[k::3]
        _write_recorder_parquet([frames[i] for i in part], rec / ("2022" if k else ".") / f"part-{k}.parquet",
                                [recv_ns[i] for i in part])
    # a recorder root also holds normalised event tables: not frames, skipped
    (rec / "events" / "trade").mkdir(parents=True)
    pq.write_table(pa.table({"recv_ns": [5], "inst_id": ["X"], "px": ["1"]}), rec / "events" / "trade" / "p.parquet")
    rc, out, _ = run_cli(capsys, "--json", rec)
    from_parquet = orjson.loads(out)
    rc_lines, out_lines, _ = run_cli(capsys, "--json", shared_data / WS / FILE_2022)
    assert rc == rc_lines == 0
    assert from_parquet["instruments"] == orjson.loads(out_lines)["instruments"]
    assert from_parquet["frames"] == len(frames)

    one_file = tmp_path / "one.parquet"
    _write_recorder_parquet(frames, one_file, recv_ns)
    rc, out, _ = run_cli(capsys, "--json", one_file)
    assert rc == 0 and orjson.loads(out)["totals"]["checksum_verified"] == 3679


def test_parquet_recordings_replay_in_recording_order_when_the_wall_clock_stepped_back(shared_data, tmp_path,
                                                                                     capsys):
    """The recorder's `seq` is the order: an NTP step back halfway through the recording (recv_ns jumps
    back a minute) must not move the later frames before the earlier ones."""
    frames = [(raw if isinstance(raw, bytes) else raw.encode()) for raw, _ in
              replay.frames_of(shared_data / WS / FILE_2022)]
    half = len(frames) // 2
    recv_ns = [NS_2022 + i * 1_000_000 for i in range(half)] + [NS_2022 - 60 * 10**9 + i * 1_000_000
                                                                 for i in range(len(frames) - half)]
    path = tmp_path / "stepped.parquet"
    _write_recorder_parquet(frames, path, recv_ns, seq=list(range(len(frames))))
    rc, out, _ = run_cli(capsys, "--json", path)
    doc = orjson.loads(out)
    assert rc == 0 and doc["totals"]["breaks"] == 0 and doc["totals"]["checksum_mismatched"] == 0
    assert doc["totals"]["checksum_verified"] == 3679


def test_raw_frame_lines_and_progress(shared_data, tmp_path, capsys):
    # one raw frame a line (the 2026 files) and the 2022 file twice: > 4096 frames, so progress shows
    files = [shared_data / WS / FILE_2022, shared_data / WS / FILE_2022, shared_data / WS / FILES_2026[0]]
    rc, out, err = run_cli(capsys, "--json", *files)
    assert rc == 0
    assert "hftlab replay:" in err and "frames" in err
    assert orjson.loads(out)["totals"]["snapshots"] == 41  # each FILE is replayed with fresh books


def test_error_frames_are_counted(tmp_path, capsys):
    path = tmp_path / "errors.jsonl"
    path.write_text('{"event":"error","code":"60012","msg":"Invalid request"}\nnot json\npong\n')
    rc, out, _ = run_cli(capsys, "--json", path)
    assert rc == 0
    assert orjson.loads(out)["instruments"][replay.NO_INSTRUMENT]["errors"] == 2


def test_missing_file_exits_2(tmp_path, capsys):
    rc, out, err = run_cli(capsys, tmp_path / "nope.jsonl")
    assert rc == 2 and out == ""
    assert "nope.jsonl: no such file or directory" in err


def test_unreadable_inputs_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    rc, _, err = run_cli(capsys, bad)
    assert rc == 2 and "not a readable Parquet file" in err

    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"recv_ns": [1], "payload": ["x"]}), wrong)
    rc, _, err = run_cli(capsys, wrong)
    assert rc == 2 and "lacks column(s)" in err

    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    rc, _, err = run_cli(capsys, empty_dir)
    assert rc == 2 and "holds no recorder frame files" in err

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    rc, _, err = run_cli(capsys, empty)
    assert rc == 2 and "holds no frames" in err


def test_registered_as_hftlab_replay(shared_data):
    from hftlab.cli import main

    assert main(["replay", str(shared_data / WS / FILES_2026[0])]) == 0


# -- hostile frames spliced into a real recording ---------------------------------------------------

def _hostile(trade: dict, book: dict, ticker: dict, recv_ts: float) -> list:
    """Frames an attacker, a broken proxy or a buggy venue could send, each refused by the rules of
    okx/parse.py or okx/timestamps.py; modelled on real frames of the recording."""
    now_ms = int(recv_ts * 1000)

    def t(**kw):
        d = {**trade["data"][0], "tradeId": "H"}
        d.update(kw)
        return {"arg": trade["arg"], "data": [d]}

    def b(**kw):
        d = {**book["data"][0]}
        d.update(kw)
        return {**book, "data": [d]}

    def k(**kw):
        d = {**ticker["data"][0]}
        d.update(kw)
        return {"arg": ticker["arg"], "data": [d]}

    return [
        t(px="abc"), t(px="-1"), t(px="0"), t(px="inf"), t(px="NaN"), t(px="1e400"), t(px=64000.5), t(sz="-0.5"),
        t(sz="0"), t(sz="Infinity"), t(sz=None), t(side="hold"), t(tradeId=42), t(ts="-1"), t(ts="0"),
        t(ts="99999999999999999"), t(ts=str(now_ms + 86_400_000)), t(ts="16460036"), t(ts=[1]),
        t(ts=str(int(trade["data"][0]["ts"]) - 1)),  # older than this stream's newest trade: a replay, not news
        b(asks=[["abc", "1", "0", "1"]]), b(bids=[["1.5", "-2", "0", "1"]]), b(asks=[["nan", "1", "0", "1"]]),
        b(asks=[["1e400", "1", "0", "1"]]), b(asks=[["1"]]), b(asks="x"), b(bids=[[1.5, "2"]]),
        b(checksum="0"), b(ts=str(now_ms + 86_400_000)), b(ts="-7"),
        k(last="abc"), k(bidPx="-1"), k(ts="soon"),
        '{"arg":{"channel":"trades","instId":"ZEN-USDT"},"data":[{"instId":"ZEN-', "{", "null", "[1,2]", "\x00\xff",
    ]


def _pushes(lines: list[dict], channel: str, inst: str, action: str | None = None) -> list[tuple[int, dict]]:
    out = []
    for i, doc in enumerate(lines):
        m = doc["msg"]
        if (isinstance(m, dict) and m.get("arg", {}).get("channel") == channel and m["arg"].get("instId") == inst
                and "data" in m and (action is None or m.get("action") == action)):
            out.append((i, m))
    return out


def _accepted_trades(path) -> list[tuple]:
    """The trades a consumer is handed: what the parser reads and the timestamp rules let through."""
    from hftlab.okx.events import Trade as T
    from hftlab.okx.timestamps import TimestampGuard

    stamps, out = TimestampGuard(), []
    for raw, recv_ns in replay.frames_of(path):
        events = parse_frame(raw, recv_ns)
        if stamps.check(events, recv_ns) is None:
            out += [(e.inst_id, e.trade_id, e.px, e.sz, e.side, e.ts_ms) for e in events if type(e) is T]
    return out


def test_hostile_frames_spliced_into_a_real_recording_are_each_counted_and_change_nothing(shared_data, tmp_path,
                                                                                        capsys):
    clean = shared_data / WS / FILE_2022
    lines = [orjson.loads(x) for x in clean.read_bytes().splitlines() if x.strip()]
    trades = _pushes(lines, "trades", "ZEN-USDT")  # 11 trades: the stream has a past to go back from
    trade, ticker = trades[1][1], _pushes(lines, "tickers", "ZEN-USDT")[0][1]
    book = _pushes(lines, "books-l2-tbt", "ZEN-USDT", "update")[0][1]
    after = max(trades[1][0], _pushes(lines, "tickers", "ZEN-USDT")[0][0])
    out, spliced, hostile_n = [], 0, 0
    for i, doc in enumerate(lines):
        out.append(orjson.dumps(doc))
        if i > after and i % 37 == 0 and spliced < 3:  # three bursts, between real frames
            spliced += 1
            for h in _hostile(trade, book, ticker, doc["recv_ts"]):
                out.append(orjson.dumps({"recv_ts": doc["recv_ts"], "msg": h if isinstance(h, str) else
                                         orjson.dumps(h).decode()}))
                hostile_n += 1
    assert spliced == 3
    dirty = tmp_path / "hostile.jsonl"
    dirty.write_bytes(b"\n".join(out) + b"\n")

    rc_clean, out_clean, _ = run_cli(capsys, "--json", clean)
    rc_dirty, out_dirty, _ = run_cli(capsys, "--json", dirty)
    a, b = orjson.loads(out_clean), orjson.loads(out_dirty)
    assert rc_clean == rc_dirty == 0 and a["totals"]["malformed_frames"] == 0
    assert b["instruments"].pop(replay.NO_INSTRUMENT)["malformed_frames"] == hostile_n  # every one counted
    a["instruments"].pop(replay.NO_INSTRUMENT, None)
    assert b["instruments"] == a["instruments"]  # books: the same checksums verified, no break; same trades
    assert b["totals"]["checksum_verified"] == a["totals"]["checksum_verified"] == 3679
    assert _accepted_trades(dirty) == _accepted_trades(clean)
