"""Every fault kind is observed on the wire by a plain WebSocket/HTTP client, and logged by the server."""

from __future__ import annotations

import aiohttp
import pytest
from websockets.exceptions import ConnectionClosed

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.okx import auth
from hftlab.okx.checksum import okx_checksum
from hftlab.sim.config import SimConfig
from hftlab.sim.replay import ReplayBook
from hftlab.sim.scenario import parse_scenario
from hftlab.sim.server import SimServer
from hftlab.sim.testing import WireClient, is_event, is_op, is_push

INST = "BTC-USDT"
books = is_push("books", INST)


@pytest.fixture
async def sim():
    async with SimServer(SimConfig(seed=5)) as s:
        yield s


async def _books_client(sim) -> tuple[WireClient, int]:
    """Subscribed to books; returns the client and the last seqId it has seen."""
    c = await WireClient.connect(sim.ws_url("public"))
    await c.subscribe({"channel": "books", "instId": INST})
    await c.recv_until(books)
    upd = await c.recv_until(books)
    return c, upd["data"][0]["seqId"]


def _logged(sim, kind):
    recs = [r for r in sim.fault_log if r.kind == kind]
    assert recs, f"no {kind} in the fault log: {sim.fault_log}"
    assert all(isinstance(r.ts, float) for r in recs)
    return recs


@pytest.mark.parametrize("mode, code", [("abort", 1006), ("close", 4006)])
async def test_drop(sim, mode, code):
    async with await WireClient.connect(sim.ws_url("public")) as c, \
            await WireClient.connect(sim.ws_url("business")) as other:
        await c.subscribe({"channel": "tickers", "instId": INST})
        ack = await c.recv_until(is_event("subscribe"))
        await other.subscribe({"channel": "candle1m", "instId": INST})
        await other.recv_until(is_event("subscribe"))
        ids = sim.faults.drop("public", mode)
        with pytest.raises(ConnectionClosed) as e:
            await c.recv_until(lambda f: False)
        assert (e.value.rcvd.code if e.value.rcvd else 1006) == code
        await other.send("ping")
        assert await other.recv_until(lambda f: f == "pong") == "pong"  # the business socket lives on
    assert ids == [ack["connId"]] and _logged(sim, "drop")[0].detail["conn_ids"] == ids


async def test_notice_then_close(sim):
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.login()
        sim.faults.notice("private", close_after_s=0.3)
        notice = await c.recv_until(is_event("notice"))
        assert notice["code"] == "64008" and "service upgrade" in notice["msg"]
        with pytest.raises(ConnectionClosed) as e:
            await c.recv_until(lambda f: False)
        assert e.value.rcvd.code == 1001
    assert _logged(sim, "notice")[0].detail["close_after_s"] == 0.3


async def test_skip_seq_breaks_the_chain(sim):
    c, last = await _books_client(sim)
    async with c:
        sim.faults.skip_seq(INST)
        while True:
            d = (await c.recv_until(books))["data"][0]
            if d["prevSeqId"] != last:
                break
            last = d["seqId"]
    rec = _logged(sim, "skip_seq")[0]
    assert d["prevSeqId"] == rec.detail["skipped_seq_id"] != last


async def test_duplicate(sim):
    c, _ = await _books_client(sim)
    async with c:
        sim.faults.duplicate("books", INST)
        frames = await c.collect(0.6, books)
    ids = [f["data"][0]["seqId"] for f in frames]
    dup = [i for i in range(1, len(ids)) if ids[i] == ids[i - 1]]
    assert len(dup) == 1 and frames[dup[0]] == frames[dup[0] - 1]
    assert _logged(sim, "duplicate")


async def test_reorder(sim):
    c, last = await _books_client(sim)
    async with c:
        sim.faults.reorder("books", INST)
        first = (await c.recv_until(books))["data"][0]
        second = (await c.recv_until(books))["data"][0]
    # the held-back update arrives after its successor
    assert second["seqId"] == first["prevSeqId"] and second["prevSeqId"] == last
    assert _logged(sim, "reorder")


async def test_corrupt_checksum():
    async with SimServer(SimConfig(seed=5, legacy_checksum=True)) as sim:
        c, _ = await _books_client(sim)
        async with c:
            await c.send({"op": "unsubscribe", "args": [{"channel": "books", "instId": INST}]})
            await c.recv_until(is_event("unsubscribe"))
            await c.subscribe({"channel": "books", "instId": INST})
            book = ReplayBook()
            book.apply(await c.recv_until(lambda f: books(f) and f["action"] == "snapshot"))
            sim.faults.corrupt_checksum(INST)
            bad = []
            for _ in range(6):
                f = await c.recv_until(books)
                book.apply(f)
                bids = sorted(book.bids.values(), key=lambda lvl: -float(lvl[0]))
                asks = sorted(book.asks.values(), key=lambda lvl: float(lvl[0]))
                if okx_checksum(bids, asks) != f["data"][0]["checksum"]:
                    bad.append(f["data"][0]["seqId"])
        assert bad == [_logged(sim, "corrupt_checksum")[0].detail["seq_id"]]


async def test_stall_then_resume_in_chain(sim):
    async with await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "books", "instId": INST}, {"channel": "tickers", "instId": "ETH-USDT"})
        await c.recv_until(books)
        last = (await c.recv_until(books))["data"][0]["seqId"]
        sim.faults.stall("books", INST, duration_s=1.0)
        during = await c.collect(0.6)
        assert not [f for f in during if books(f)]  # silence on the stalled channel
        after = (await c.recv_until(books, timeout=5))["data"][0]
    assert after["prevSeqId"] == last  # the changes were held back, not lost: the chain holds
    assert _logged(sim, "stall")[0].detail["duration_s"] == 1.0


async def test_rate_limit_rest_and_ws(sim):
    async with aiohttp.ClientSession() as http:
        sim.faults.rate_limit("rest", count=1)
        async with http.get(f"{sim.rest_url}/api/v5/public/time") as r:
            assert r.status == 429 and (await r.json())["code"] == "50011"
        async with http.get(f"{sim.rest_url}/api/v5/public/time") as r:
            assert r.status == 200
    async with await WireClient.connect(sim.ws_url("private")) as ws:
        assert (await ws.login())["code"] == "0"
        sim.faults.rate_limit("ws", count=1)
        await ws.send({"id": "r1", "op": "cancel-order", "args": [{"instIdCode": 1, "ordId": "1"}]})
        reply = await ws.recv_until(is_op("r1"))
        assert reply["code"] == "50011" and reply["data"] == []
    assert [r.detail["target"] for r in _logged(sim, "rate_limit")] == ["rest", "ws"]


async def test_delay_acks(sim):
    async with await WireClient.connect(sim.ws_url("private")) as ws:
        await ws.login()
        sim.faults.delay_acks(300, count=1)
        await ws.send({"id": "d1", "op": "cancel-order", "args": [{"instIdCode": 1, "ordId": "1"}]})
        slow = await ws.recv_until(is_op("d1"))
        await ws.send({"id": "d2", "op": "cancel-order", "args": [{"instIdCode": 1, "ordId": "1"}]})
        fast = await ws.recv_until(is_op("d2"))
    # the gateway's own in/out stamps (µs) show the hold
    assert int(slow["outTime"]) - int(slow["inTime"]) >= 300_000
    assert int(fast["outTime"]) - int(fast["inTime"]) < 300_000
    assert _logged(sim, "delay_acks")[0].detail["delay_ms"] == 300


async def test_rest_ack_delay_and_signed_requests(sim):
    c = SIM_CREDENTIALS
    path = "/api/v5/trade/cancel-order"
    body = '{"instId":"BTC-USDT","ordId":"1"}'
    sim.faults.delay_acks(200, count=1)
    headers = auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                c.passphrase.get_secret_value(), "POST", path, body)
    async with aiohttp.ClientSession() as http, http.post(f"{sim.rest_url}{path}", data=body, headers=headers) as r:
        reply = await r.json()
    assert reply["code"] == "1" and int(reply["outTime"]) - int(reply["inTime"]) >= 200_000


async def test_scenario_drives_faults():
    scenario = parse_scenario({"faults": [{"kind": "drop", "role": "public", "at_s": [0.5]}]}, "test")
    async with SimServer(SimConfig(seed=5), faults=scenario) as sim, \
            await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "tickers", "instId": INST})
        with pytest.raises(ConnectionClosed):
            await c.recv_until(lambda f: False, timeout=10)
        assert [r.kind for r in sim.fault_log] == ["drop"]
