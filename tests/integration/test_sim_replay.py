"""Replay mode over the wire: recorded OKX frames and candles reach the subscribers of their channel
and instId, at the recording's pace scaled by the speed, and REST serves the replayed candles."""

from __future__ import annotations

import aiohttp
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer
from hftlab.sim.testing import WireClient, is_event, is_push

SWAP = "BTC-USDT-SWAP"


async def test_recorded_books_and_trades(shared_data):
    path = shared_data / "okx/ws/okx-swap_BTC-USDT-SWAP_2026-07-03.jsonl"
    recorded = [orjson.loads(line) for line in path.read_text().splitlines() if '"data"' in line]
    rec_books = [f for f in recorded if f["arg"]["channel"] == "books"]
    rec_trades = [f for f in recorded if f["arg"]["channel"] == "trades"]
    async with SimServer(SimConfig(speed=0.5), replay=[path]) as sim, \
            await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "books", "instId": SWAP}, {"channel": "trades", "instId": SWAP})
        books = [await c.recv_until(is_push("books", SWAP))]
        snap_seq = books[0]["data"][0]["seqId"]
        later = [f for f in rec_books if f["data"][0]["seqId"] > snap_seq]
        books += [await c.recv_until(is_push("books", SWAP), timeout=10) for _ in later]
        trades = [await c.recv_until(is_push("trades", SWAP), timeout=10) for _ in rec_trades]
    assert books[0]["action"] == "snapshot" and books[0]["data"][0]["prevSeqId"] == -1
    assert books[1:] == later  # byte-for-byte the recorded updates, chained onto the snapshot
    assert not later or later[0]["data"][0]["prevSeqId"] == snap_seq
    assert trades == rec_trades


async def test_wrapped_recording_serves_instruments_the_sim_does_not_list(shared_data):
    path = shared_data / "okx/ws/okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"
    async with SimServer(SimConfig(speed=30), replay=[path]) as sim, \
            await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "tickers", "instId": "ELON-USDT"}, {"channel": "tickers", "instId": "NOPE-USDT"})
        await c.recv_until(is_event("subscribe"))
        assert (await c.recv_until(is_event("error")))["code"] == "60018"
        tick = await c.recv_until(is_push("tickers", "ELON-USDT"), timeout=10)
    assert tick["data"][0]["instId"] == "ELON-USDT"


async def test_candles_replay_ws_and_rest(shared_data):
    path = shared_data / "okx/candles/BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv"
    async with SimServer(SimConfig(speed=1200), replay=[path]) as sim, \
            await WireClient.connect(sim.ws_url("business")) as c, aiohttp.ClientSession() as http:
        await c.subscribe({"channel": "candle1m", "instId": SWAP})
        pushes = [await c.recv_until(is_push("candle1m", SWAP)) for _ in range(4)]
        async with http.get(f"{sim.rest_url}/api/v5/market/candles", params={"instId": SWAP, "bar": "1m"}) as r:
            rest = (await r.json())["data"]
    ts = [int(p["data"][0][0]) for p in pushes]
    assert all(b - a == 60_000 for a, b in zip(ts[1:], ts[2:]))  # consecutive closed bars
    assert {p["data"][0][8] for p in pushes} == {"1"}
    assert rest and int(rest[0][0]) >= ts[-1] and int(rest[0][0]) > int(rest[-1][0])  # newest first
    assert rest[0][0].startswith("1767")  # the recording's time, 2026-01


async def test_recorder_parquet(tmp_path):
    frames = [{"arg": {"channel": "trades", "instId": "DOGE-USDT"},
               "data": [{"instId": "DOGE-USDT", "tradeId": str(i), "px": "0.1", "sz": "5", "side": "buy",
                         "ts": str(1_700_000_000_000 + i * 50)}]} for i in range(5)]
    path = tmp_path / "rec.parquet"
    pq.write_table(pa.table({"recv_ns": pa.array([1_700_000_000_000_000_000 + i * 50_000_000 for i in range(5)],
                                                 pa.int64()),
                             "channel": ["trades"] * 5, "inst_id": ["DOGE-USDT"] * 5,
                             "frame": [orjson.dumps(f).decode() for f in frames]}), path)
    async with SimServer(SimConfig(speed=0.1), replay=[path]) as sim, \
            await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "trades", "instId": "DOGE-USDT"})
        got = [await c.recv_until(is_push("trades", "DOGE-USDT"))]
        while got[-1] != frames[-1]:  # to the recording's end, 2 s after the replay began
            got.append(await c.recv_until(is_push("trades", "DOGE-USDT")))
    # whenever the subscription began: the rest of the recording, every frame once, in its order
    assert got == frames[-len(got):]
