"""The simulator speaks OKX v5 on the wire: keep-alive, errors, login, subscriptions, book sequencing,
WS order operations and private channels, over real sockets on loopback."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from websockets.exceptions import ConnectionClosed

from hftlab.okx.checksum import okx_checksum
from hftlab.sim.config import SimConfig
from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import Instrument, MarketProfile
from hftlab.sim.replay import ReplayBook
from hftlab.sim.server import SimServer
from hftlab.sim.testing import WireClient, is_event, is_op, is_push

INST = "BTC-USDT"


@pytest.fixture
async def sim():
    async with SimServer(SimConfig(seed=3), idle_timeout_s=1.0) as s:
        yield s


async def _codes(sim) -> dict[str, int]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.rest_url}/api/v5/public/instruments", params={"instType": "SPOT"}) as r:
            body = await r.json()
    return {row["instId"]: row["instIdCode"] for row in body["data"]}


async def test_text_ping_pong_and_bad_frames_keep_the_socket(sim):
    async with await WireClient.connect(sim.ws_url("public")) as c:
        await c.send("ping")
        assert await c.recv() == "pong"
        await c.send("{not json")
        err = await c.recv()
        assert err["event"] == "error" and err["code"] == "60012" and err["msg"] == "Invalid request: {not json"
        assert isinstance(err["connId"], str) and len(err["connId"]) == 8
        await c.send({"op": "subscribe", "argss": [{"channel": "tickers", "instId": INST}]})
        assert (await c.recv())["code"] == "60012"
        await c.send({"id": "7", "op": "dance", "args": []})
        err = await c.recv()
        assert (err["id"], err["code"]) == ("7", "60019")
        await c.send("ping")
        assert await c.recv() == "pong"  # still open


@pytest.mark.parametrize("role, arg, code", [
    ("public", {"channel": "books", "instId": "NOPE-USDT"}, "60018"),
    ("public", {"channel": "no-such-channel", "instId": INST}, "60018"),
    ("public", {"channel": "candle1m", "instId": INST}, "64001"),
    ("public", {"channel": "trades-all", "instId": INST}, "64001"),
    ("business", {"channel": "books", "instId": INST}, "64002"),
    ("private", {"channel": "orders", "instType": "ANY"}, "60011"),
    ("public", {"channel": "orders", "instType": "ANY"}, "60018"),
])
async def test_subscribe_errors(sim, role, arg, code):
    async with await WireClient.connect(sim.ws_url(role)) as c:
        await c.subscribe(arg, req_id="42")
        err = await c.recv()
        assert err["event"] == "error" and err["code"] == code and err["id"] == "42"
        assert isinstance(err["msg"], str) and err["msg"]


async def test_one_ack_per_arg(sim):
    args = [{"channel": "tickers", "instId": INST}, {"channel": "trades", "instId": "ETH-USDT"},
            {"channel": "books5", "instId": "SOL-USDT"}]
    async with await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe(*args, req_id="1512")
        acks = [await c.recv_until(is_event("subscribe")) for _ in args]
        assert [a["arg"] for a in acks] == args
        assert {a["id"] for a in acks} == {"1512"} and len({a["connId"] for a in acks}) == 1
        await c.send({"op": "unsubscribe", "args": args[:1]})
        un = await c.recv_until(is_event("unsubscribe"))
        assert un["arg"] == args[0] and "id" not in un


async def test_login_rules(sim):
    async with await WireClient.connect(sim.ws_url("private")) as c:
        bad = await c.login(now=time.time() - 60)
        assert (bad["event"], bad["code"]) == ("error", "60006")
        await c.send({"op": "login", "args": [{"apiKey": "hftlab-sim-key", "passphrase": "x", "timestamp": "1",
                                               "sign": "y"}]})
        assert (await c.recv())["code"] == "60006"
        ok = await c.login()
        assert ok == {"event": "login", "code": "0", "msg": "", "connId": ok["connId"]}
        again = await c.login()
        assert again["code"] == "60031"


async def test_bad_sign_is_refused(sim):
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.send({"op": "login", "args": [{"apiKey": "hftlab-sim-key", "passphrase": "hftlab-sim-passphrase",
                                               "timestamp": str(int(time.time())), "sign": "bm90IGEgc2lnbg=="}]})
        err = await c.recv()
        assert (err["event"], err["code"]) == ("error", "60007")
        await c.subscribe({"channel": "orders", "instType": "ANY"})
        assert (await c.recv())["code"] == "60011"  # still not logged in


async def test_idle_connection_is_closed_4004(sim):
    c = await WireClient.connect(sim.ws_url("public"))
    with pytest.raises(ConnectionClosed) as e:
        await c.recv(timeout=5)
    assert e.value.rcvd.code == 4004 and e.value.rcvd.reason == "No data received in 30s."


async def test_text_ping_keeps_a_quiet_private_socket(sim):
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.login()
        await c.subscribe({"channel": "orders", "instType": "ANY"})
        await c.recv_until(is_event("channel-conn-count"))
        for _ in range(6):  # 1.8 s > the 1 s idle timeout
            await asyncio.sleep(0.3)
            await c.send("ping")
            assert await c.recv() == "pong"
        with pytest.raises(ConnectionClosed) as e:  # stop pinging: closed
            await c.recv(timeout=5)
        assert e.value.rcvd.code == 4004


def _chain(frames):
    """Check the prevSeqId chain of one books stream; returns the seqId steps."""
    assert frames[0]["action"] == "snapshot" and frames[0]["data"][0]["prevSeqId"] == -1
    last = frames[0]["data"][0]["seqId"]
    steps = []
    for f in frames[1:]:
        d = f["data"][0]
        assert f["action"] == "update" and d["prevSeqId"] == last
        steps.append(d["seqId"] - last)
        last = d["seqId"]
    return steps


async def test_books_snapshot_then_chained_updates(sim):
    async with await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "books", "instId": INST})
        frames = await c.collect(1.5, is_push("books", INST))
    assert len(frames) >= 5
    snap = frames[0]["data"][0]
    assert len(snap["bids"]) == len(snap["asks"]) == 400
    assert all(isinstance(x, str) for lvl in snap["bids"][:5] for x in lvl) and snap["bids"][0][2] == "0"
    steps = _chain(frames)
    assert all(s > 0 for s in steps) and len(set(steps)) > 1  # ids jump by varying amounts
    assert {f["data"][0]["checksum"] for f in frames} == {0}
    assert snap["seqId"] > 2**32


async def test_two_subscribers_share_one_sequence(sim):
    async with await WireClient.connect(sim.ws_url("public")) as a, \
            await WireClient.connect(sim.ws_url("public")) as b:
        await a.subscribe({"channel": "books", "instId": INST})
        first_a = await a.collect(0.6, is_push("books", INST))
        await b.subscribe({"channel": "books", "instId": INST})
        fa, fb = await asyncio.gather(a.collect(0.8, is_push("books", INST)), b.collect(0.8, is_push("books", INST)))
    _chain(first_a + fa)
    _chain(fb)
    ids_a = {f["data"][0]["seqId"] for f in fa}
    assert {f["data"][0]["seqId"] for f in fb[1:]} <= ids_a | {f["data"][0]["seqId"] for f in first_a}


async def test_legacy_checksum_matches_the_book():
    async with SimServer(SimConfig(seed=4, legacy_checksum=True)) as s, \
            await WireClient.connect(s.ws_url("public")) as c:
        await c.subscribe({"channel": "books", "instId": "ETH-USDT"})
        frames = await c.collect(1.2, is_push("books", "ETH-USDT"))
    book = ReplayBook()
    assert len(frames) >= 4
    for f in frames:
        book.apply(f)
        bids = sorted(book.bids.values(), key=lambda lvl: -float(lvl[0]))
        asks = sorted(book.asks.values(), key=lambda lvl: float(lvl[0]))
        assert f["data"][0]["checksum"] == okx_checksum(bids, asks) != 0


async def test_rest_book_seeds_the_ws_chain(sim):
    """OKX's REST-seeding recipe works: the REST seqId lies within the WS chain."""
    async with await WireClient.connect(sim.ws_url("public")) as c, aiohttp.ClientSession() as http:
        await c.subscribe({"channel": "books", "instId": INST})
        snap = await c.recv_until(is_push("books", INST))
        async with http.get(f"{sim.rest_url}/api/v5/market/books", params={"instId": INST, "sz": "400"}) as r:
            body = await r.json()
        rest = body["data"][0]
        assert body["code"] == "0" and len(rest["bids"]) == 400 and isinstance(rest["seqId"], int)
        nxt = await c.recv_until(lambda f: is_push("books", INST)(f) and f["data"][0]["seqId"] > rest["seqId"])
    assert snap["data"][0]["seqId"] <= rest["seqId"] and nxt["data"][0]["prevSeqId"] <= rest["seqId"]


async def test_public_and_business_channels(sim):
    async with await WireClient.connect(sim.ws_url("public")) as pub, \
            await WireClient.connect(sim.ws_url("business")) as biz:
        await pub.subscribe(*({"channel": ch, "instId": INST} for ch in ("books5", "bbo-tbt", "tickers", "trades")))
        await biz.subscribe(*({"channel": ch, "instId": INST} for ch in ("candle1s", "candle1m", "trades-all")))
        b5 = await pub.recv_until(is_push("books5", INST))
        bbo = await pub.recv_until(is_push("bbo-tbt", INST))
        tick = await pub.recv_until(is_push("tickers", INST))
        trade = await pub.recv_until(is_push("trades", INST), timeout=10)
        c1s = await biz.recv_until(lambda f: is_push("candle1s", INST)(f) and f["data"][0][8] == "1", timeout=5)
        c1m = await biz.recv_until(is_push("candle1m", INST))
        ta = await biz.recv_until(is_push("trades-all", INST), timeout=10)
    assert len(b5["data"][0]["asks"]) == 5 and b5["data"][0]["instId"] == INST
    assert len(bbo["data"][0]["bids"]) == 1 and "instId" not in bbo["data"][0]
    assert float(tick["data"][0]["bidPx"]) < float(tick["data"][0]["askPx"])
    assert trade["data"][0]["side"] in ("buy", "sell") and int(trade["data"][0]["count"]) >= 1
    assert len(c1s["data"][0]) == 9 and c1m["data"][0][8] in ("0", "1")
    assert "count" not in ta["data"][0]


async def test_ws_order_ops_and_orders_channel(sim):
    codes = await _codes(sim)
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.login()
        await c.subscribe({"channel": "orders", "instType": "ANY"})
        count = await c.recv_until(is_event("channel-conn-count"))
        assert count["channel"] == "orders" and count["connCount"] == "1"
        bid = float(sim.exchange.ticker(INST)["bidPx"])
        px = f"{bid * 0.9:.1f}"
        await c.send({"id": "o1", "op": "order", "args": [{"instIdCode": codes[INST], "tdMode": "cash", "side": "buy",
                                                            "ordType": "limit", "px": px, "sz": "0.001",
                                                            "clOrdId": "wire1"}]})
        ack = await c.recv_until(is_op("o1"))
        assert (ack["op"], ack["code"], ack["msg"]) == ("order", "0", "")
        item = ack["data"][0]
        assert item["sCode"] == "0" and item["clOrdId"] == "wire1" and item["ordId"]
        assert int(ack["outTime"]) >= int(ack["inTime"])
        live = await c.recv_until(is_push("orders"))
        assert live["data"][0]["state"] == "live" and live["data"][0]["ordId"] == item["ordId"]
        assert live["arg"]["uid"] and live["arg"]["instType"] == "ANY"
        await c.send({"id": "a1", "op": "amend-order", "args": [{"instIdCode": codes[INST], "ordId": item["ordId"],
                                                                 "newSz": "0.002", "reqId": "r1"}]})
        amend = await c.recv_until(is_op("a1"))
        assert amend["code"] == "0" and amend["data"][0]["reqId"] == "r1"
        await c.send({"id": "c1", "op": "cancel-order", "args": [{"instIdCode": codes[INST], "clOrdId": "wire1"}]})
        cancel = await c.recv_until(is_op("c1"))
        assert cancel["code"] == "0" and cancel["data"][0]["ordId"] == item["ordId"]
        gone = await c.recv_until(lambda f: is_push("orders")(f) and f["data"][0]["state"] == "canceled")
        assert gone["data"][0]["ordId"] == item["ordId"]
        await c.send({"id": "c2", "op": "cancel-order", "args": [{"instIdCode": codes[INST], "ordId": item["ordId"]}]})
        again = await c.recv_until(is_op("c2"))
        assert again["code"] == "1" and again["data"][0]["sCode"] != "0"


async def test_ws_order_needs_inst_id_code(sim):
    codes = await _codes(sim)
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.send({"id": "x0", "op": "order", "args": [{"instIdCode": codes[INST]}]})
        assert (await c.recv())["code"] == "60011"  # not logged in
        await c.login()
        order = {"tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1", "sz": "0.001"}
        await c.send({"id": "x1", "op": "order", "args": [{"instId": INST, **order}]})
        r = await c.recv_until(is_op("x1"))
        assert r["code"] == "1" and r["data"][0]["sCode"] == "50014"
        assert r["data"][0]["sMsg"] == "Parameter instIdCode can not be empty."
        await c.send({"id": "x2", "op": "batch-orders", "args": [{"instIdCode": codes[INST], **order},
                                                                 {"instIdCode": 999, **order}]})
        r = await c.recv_until(is_op("x2"))
        assert r["code"] == "2" and [d["sCode"] for d in r["data"]] == ["0", "51001"]
        await c.send({"id": "x3", "op": "order", "args": [{"instIdCode": codes[INST], **order, "clOrdId": "a-b"}]})
        r = await c.recv_until(is_op("x3"))
        assert r["data"][0]["sCode"] == "51000"
        await c.send({"id": "x4", "op": "order", "args": []})
        r = await c.recv_until(is_op("x4"))
        assert r["code"] == "60013" and r["data"] == []
    async with await WireClient.connect(sim.ws_url("public")) as c:
        await c.send({"id": "x5", "op": "order", "args": [{"instIdCode": codes[INST], **order}]})
        assert (await c.recv())["code"] == "60028"


async def test_positions_and_account_snapshots(sim):
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.login()
        await c.subscribe({"channel": "positions", "instType": "ANY"}, {"channel": "account"})
        pos = await c.recv_until(is_push("positions"))
        acc = await c.recv_until(is_push("account"))
    for f in (pos, acc):
        assert (f["eventType"], f["curPage"], f["lastPage"]) == ("snapshot", 1, True)
        assert f["arg"]["uid"].isdigit()
    assert acc["data"][0]["details"] and all(isinstance(v, str) for v in acc["data"][0]["details"][0].values()
                                            if not isinstance(v, bool))


async def test_demo_header_and_rest_errors(sim):
    async with aiohttp.ClientSession(headers={"x-simulated-trading": "1"}) as http:
        async def get(path, **params):
            async with http.get(f"{sim.rest_url}/api/v5/{path}", params=params) as r:
                return r.status, await r.json()

        status, body = await get("public/time")
        assert status == 200 and body["code"] == "0" and body["data"][0]["ts"].isdigit()
        assert (await get("public/instruments"))[1]["code"] == "50014"
        assert (await get("market/books", instId="NOPE-USDT"))[1]["code"] == "51001"
        assert (await get("market/books", instId=INST, sz="401"))[1]["code"] == "51000"
        assert (await get("market/candles", instId=INST, bar="7m"))[1]["code"] == "51000"
        status, body = await get("account/balance")
        assert status == 401 and body["code"] == "50103"
        async with http.post(f"{sim.rest_url}/api/v5/trade/order", data="{}") as r:
            assert (await r.json())["code"] == "50103"


async def test_idle_book_keepalive():
    quiet = Instrument("QUIET-USDT", 1000009999, "SPOT", "QUIET", "USDT", "0.01", "0.01", "0.01",
                       MarketProfile(start_px=100.0, vol_annual=1e-12, limit_rate=1e-9, market_rate=1e-9,
                                     revert_std=0.0))
    ex = SimExchange([quiet], start_ms=int(time.time() * 1000), initial_balances={"USDT": "1000"})
    async with SimServer(SimConfig(), exchange=ex, keepalive_s=0.3) as s, \
            await WireClient.connect(s.ws_url("public")) as c:
        await c.subscribe({"channel": "books", "instId": "QUIET-USDT"})
        snap = (await c.recv_until(is_push("books")))["data"][0]
        alive = [(await c.recv_until(is_push("books")))["data"][0] for _ in range(2)]
    for d in alive:
        assert d["asks"] == d["bids"] == [] and d["seqId"] == d["prevSeqId"] == snap["seqId"]


async def test_md_and_ack_latency():
    async with SimServer(SimConfig(md_latency_ms=250, ack_latency_ms=150)) as s, \
            await WireClient.connect(s.ws_url("public")) as pub, \
            await WireClient.connect(s.ws_url("private")) as priv:
        await pub.subscribe({"channel": "books", "instId": INST})
        await pub.recv_until(is_push("books", INST))
        for _ in range(3):  # exchange time is wall time at speed 1: arrival - ts >= the latency
            upd = await pub.recv_until(is_push("books", INST))
            assert time.time() * 1000 - int(upd["data"][0]["ts"]) >= 250
        await priv.login()
        await priv.send({"id": "l1", "op": "cancel-order", "args": [{"instIdCode": 1, "ordId": "1"}]})
        ack = await priv.recv_until(is_op("l1"))
        assert int(ack["outTime"]) - int(ack["inTime"]) >= 150_000
