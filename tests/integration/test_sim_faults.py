"""Every fault kind is observed on the wire by a plain WebSocket/HTTP client, and logged by the server."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from websockets.exceptions import ConnectionClosed

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.okx import auth
from hftlab.okx.checksum import okx_checksum
from hftlab.sim.config import SimConfig
from hftlab.sim.replay import ReplayBook
from hftlab.sim.scenario import Scenario, parse_flag, parse_scenario
from hftlab.sim.server import SimServer
from hftlab.sim.testing import RestProbe, WireClient, is_event, is_op, is_push, still_server

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


async def test_a_held_ws_request_executes_even_when_its_connection_closes_meanwhile():
    """The gateway received it: a client that disconnects loses the answer, not the order."""
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        c = await _private(s)
        s.faults.delay_acks(300, count=1)
        await c.send({"id": "held1", "op": "order", "args": [{**WS_LIMIT, "clOrdId": "held1"}]})
        await c.close()
        deadline = time.monotonic() + 10
        while not await _pending(rest):
            assert time.monotonic() < deadline, "the held order never executed"
            await asyncio.sleep(0.02)
        assert [o["clOrdId"] for o in await _pending(rest)] == ["held1"]


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


# --- the order path ------------------------------------------------------------------------------------
LIMIT = {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99", "sz": "1"}
WS_LIMIT = {"instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99", "sz": "1"}


async def _private(sim, *subs: dict) -> WireClient:
    c = await WireClient.connect(sim.ws_url("private"))
    assert (await c.login())["code"] == "0"
    if subs:
        await c.subscribe(*subs)
        for _ in subs:
            await c.recv_until(is_event("subscribe"))
    return c


async def _pending(rest: RestProbe) -> list[dict]:
    return (await rest.get("trade/orders-pending"))[1]["data"]


async def test_drop_ack_ws_executes_but_never_answers():
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        c = await _private(s, {"channel": "orders", "instType": "ANY"})
        async with c:
            s.faults.drop_ack("ws", count=1)
            await c.send({"id": "lost1", "op": "order", "args": [{**WS_LIMIT, "clOrdId": "lost1"}]})
            # the reply would come before the push; the push comes, the reply never did
            before = []
            live = await c.recv_until(lambda f: before.append(f) is None and is_push("orders")(f))
            assert live["data"][0]["clOrdId"] == "lost1" and not [f for f in before if is_op("lost1")(f)]
            await c.send({"id": "next1", "op": "order", "args": [{**WS_LIMIT, "clOrdId": "next1"}]})
            assert (await c.recv_until(is_op("next1")))["code"] == "0"             # one answer lost, not all
        assert {o["clOrdId"] for o in await _pending(rest)} == {"lost1", "next1"}
    assert _logged(s, "drop_ack")[0].detail == {"target": "ws", "request": "order"}


async def test_drop_ack_rest_executes_and_the_request_times_out():
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        s.faults.drop_ack("rest", count=1, hold_s=30)
        async with RestProbe(s.rest_url, timeout_s=1.0) as impatient:
            with pytest.raises(TimeoutError):
                await impatient.post("trade/order", {**LIMIT, "clOrdId": "hung1"})
        assert [o["clOrdId"] for o in await _pending(rest)] == ["hung1"]
    assert _logged(s, "drop_ack")[0].detail["target"] == "rest"


async def test_answer_50004_after_executing():
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        s.faults.answer_50004("any", count=2)
        status, body = await rest.post("trade/order", {**LIMIT, "clOrdId": "t1"})
        assert (status, body["code"], body["data"]) == (400, "50004", [])
        assert body["msg"].startswith("API endpoint request timeout. (does not mean that the request was successful")
        async with await _private(s) as c:
            await c.send({"id": "t2", "op": "order", "args": [{**WS_LIMIT, "clOrdId": "t2"}]})
            reply = await c.recv_until(is_op("t2"))
        assert (reply["code"], reply["data"]) == ("50004", [])
        assert {o["clOrdId"] for o in await _pending(rest)} == {"t1", "t2"}       # both executed
    assert [r.detail["target"] for r in _logged(s, "answer_50004")] == ["rest", "ws"]


async def test_delay_past_exptime_refuses_the_request_which_does_not_execute():
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        c = await _private(s, {"channel": "orders", "instType": "ANY"})
        async with c:
            s.faults.delay_past_exptime(margin_ms=100, count=2)
            await c.send({"id": "plain", "op": "order", "args": [{**WS_LIMIT, "clOrdId": "plain"}]})
            assert (await c.recv_until(is_op("plain")))["code"] == "0"               # no expTime: untouched
            exp = str(int(time.time() * 1000) + 300)
            await c.send({"id": "late", "op": "order", "expTime": exp, "args": [{**WS_LIMIT, "clOrdId": "late"}]})
            seen = []
            reply = await c.recv_until(lambda f: seen.append(f) is None and is_op("late")(f))
            assert reply["data"][0]["sCode"] == "50037" and int(reply["outTime"]) // 1000 > int(exp)
            assert not [f for f in seen if is_push("orders")(f) and f["data"][0]["clOrdId"] == "late"]
        exp = str(int(time.time() * 1000) + 300)
        _, late = await rest.post("trade/order", {**LIMIT, "clOrdId": "late2"}, headers={"expTime": exp})
        assert late["data"][0]["sCode"] == "50037"
        assert [o["clOrdId"] for o in await _pending(rest)] == ["plain"]          # neither late one executed
    assert [r.detail["request"] for r in _logged(s, "delay_past_exptime")] == ["ws order", "rest order"]


async def test_reject_ws_ops_while_rest_works():
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        s.faults.reject_ws_ops(duration_s=30)
        async with await _private(s) as c:
            for k, op in enumerate(("order", "cancel-order")):
                args = [WS_LIMIT] if op == "order" else [{"instIdCode": 77, "ordId": "1"}]
                await c.send({"id": f"r{k}", "op": op, "args": args})
                reply = await c.recv_until(is_op(f"r{k}"))
                assert (reply["code"], reply["msg"], reply["data"]) == (
                    "64007", f"Operation {op} failed due to WebSocket internal error. Please try again later.", [])
        assert await _pending(rest) == []                                         # nothing executed
        _, ok = await rest.post("trade/order", LIMIT)                             # the REST fallback
        assert ok["code"] == "0"
    assert [r.detail["request"] for r in _logged(s, "reject_ws_ops")] == ["order", "cancel-order"]


async def test_liquidation_shows_only_on_positions_and_balances():
    async with still_server() as s, RestProbe(s.rest_url) as rest:
        _, opened = await rest.post("trade/order", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "buy",
                                                     "ordType": "market", "sz": "2"})
        assert opened["code"] == "0"
        c = await _private(s, {"channel": "orders", "instType": "ANY"}, {"channel": "positions", "instType": "ANY"},
                           {"channel": "balance_and_position"})
        async with c:
            await c.recv_until(is_push("balance_and_position"))                  # the snapshot
            [done] = s.faults.liquidate("TST-USDT-SWAP", 1.0)
            seen = []
            bp = await c.recv_until(lambda f: seen.append(f) is None and is_push("balance_and_position")(f))
            pos = [f for f in seen if is_push("positions")(f) and f.get("eventType") == "event_update"]
            assert not [f for f in seen if is_push("orders")(f)]                  # no order update
        item = bp["data"][0]
        assert item["eventType"] == "liquidation" and int(done["tradeId"]) < 0
        assert item["trades"] == [{"instId": "TST-USDT-SWAP", "tradeId": done["tradeId"]}]
        assert [(p["instId"], p["pos"], p["tradeId"]) for p in item["posData"]] == [("TST-USDT-SWAP", "0",
                                                                                    done["tradeId"])]
        assert pos and pos[-1]["data"][0]["pos"] == "0" and pos[-1]["data"][0]["tradeId"] == done["tradeId"]
        _, positions = await rest.get("account/positions")
        assert positions["data"] == []
        _, fills = await rest.get("trade/fills-history", instType="SWAP")
        assert (fills["data"][0]["tradeId"], fills["data"][0]["subType"]) == (done["tradeId"], "107")
        _, hist = await rest.get("trade/orders-history", instType="SWAP", category="full_liquidation")
        assert [r["ordId"] for r in hist["data"]] == [done["ordId"]]
    [rec] = _logged(s, "liquidate")
    assert rec.detail["inst_id"] == "TST-USDT-SWAP" and rec.detail["liquidated"] == [done]


async def test_new_kinds_from_flags_fire_on_schedule():
    flags = [parse_flag("reject_ws_ops,duration_s=30,at_s=0.2"), parse_flag("liquidate,inst_id=TST-USDT-SWAP,at_s=0.2")]
    async with still_server(faults=Scenario(faults=tuple(flags))) as s:
        async with await _private(s) as c:
            deadline = time.monotonic() + 10
            while len(s.fault_log) < 1 and time.monotonic() < deadline:     # wait for the scheduled firing
                await c.send("ping")
                await c.recv_until(lambda f: f == "pong")
            await c.send({"id": "f1", "op": "order", "args": [WS_LIMIT]})
            assert (await c.recv_until(is_op("f1")))["code"] == "64007"
    assert {r.kind for r in s.fault_log} >= {"liquidate", "reject_ws_ops"}
