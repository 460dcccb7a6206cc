"""The simulator speaks OKX v5 on the wire: keep-alive, errors, login, subscriptions, book sequencing,
WS order operations and private channels, over real sockets on loopback."""

from __future__ import annotations

import asyncio
import time
from decimal import ROUND_DOWN, Decimal

import aiohttp
import pytest
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosed

from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.okx.checksum import okx_checksum
from hftlab.sim.config import SimConfig
from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import Instrument, MarketProfile
from hftlab.sim.replay import ReplayBook
from hftlab.sim.server import SimServer
from hftlab.sim.testing import RestProbe, WireClient, is_event, is_op, is_push, still_server

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


async def test_a_malformed_login_is_refused_without_echoing_its_credentials(sim):
    """The 60012 echo of a login the gateway cannot read lands in every recording of control frames."""
    async with await WireClient.connect(sim.ws_url("private")) as c:
        login = {"op": "login", "extra": 1, "args": [{"apiKey": "hftlab-sim-key", "passphrase": "hftlab-sim-passphrase",
                                                      "timestamp": str(int(time.time())), "sign": "c2VjcmV0c2lnbg=="}]}
        await c.send(login)
        err = await c.recv()
        assert (err["event"], err["code"]) == ("error", "60012")
        assert err["msg"].startswith('Invalid request: {"op":"login"') and '"apiKey":"***"' in err["msg"]
        for secret in ("hftlab-sim-key", "hftlab-sim-passphrase", "c2VjcmV0c2lnbg=="):
            assert secret not in err["msg"]


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


# --- trading what real clients need -------------------------------------------------------------------
TAKER = Credentials(SecretStr("taker-key"), SecretStr("taker-secret"), SecretStr("taker-passphrase"))
LIMIT = {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99", "sz": "1"}


def still_sim(cfg: SimConfig | None = None, **exchange) -> SimServer:
    """A venue whose market stands still (bid 99.9, ask 100.1 on TST-USDT and TST-USDT-SWAP, nothing
    trades but the clients), with two accounts: the default one and TAKER."""
    return still_server(cfg, [SIM_CREDENTIALS, TAKER], **exchange)


def _tick(px: float, tick: str) -> str:
    return str(Decimal(str(px)).quantize(Decimal(tick), rounding=ROUND_DOWN))


async def _login(c: WireClient, *subs: dict) -> None:
    assert (await c.login())["code"] == "0"
    if subs:
        await c.subscribe(*subs)
        for _ in subs:
            await c.recv_until(lambda f: isinstance(f, dict) and f.get("event") in ("subscribe", "error"))


async def test_currencies_are_served_to_clients_that_start_there(sim):
    async with RestProbe(sim.rest_url) as rest:
        status, body = await rest.get("asset/currencies")
        assert status == 200 and body["code"] == "0"
        assert {"BTC", "ETH", "SOL", "USDT"} <= {r["ccy"] for r in body["data"]}
        row = body["data"][0]
        assert isinstance(row["canDep"], bool) and isinstance(row["wdTickSz"], str) and row["chain"]
        _, one = await rest.get("asset/currencies", ccy="BTC,USDT")
        assert [r["ccy"] for r in one["data"]] == ["BTC", "USDT"]
    async with aiohttp.ClientSession() as http, http.get(f"{sim.rest_url}/api/v5/asset/currencies") as r:
        assert r.status == 401 and (await r.json())["code"] == "50103"     # a private endpoint, as OKX's


async def test_tgt_ccy_taken_on_spot_limits_refused_where_it_cannot_apply(sim):
    bid = float(sim.exchange.ticker(INST)["bidPx"])
    order = {"instId": INST, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": _tick(bid * 0.97, "0.1"),
             "sz": "0.001"}
    async with RestProbe(sim.rest_url) as rest:
        _, ok = await rest.post("trade/order", {**order, "tgtCcy": "base_ccy"})
        assert ok["code"] == "0" and ok["data"][0]["sCode"] == "0"
        _, rec = await rest.get("trade/order", instId=INST, ordId=ok["data"][0]["ordId"])
        got = rec["data"][0]
        assert (got["tgtCcy"], got["sz"], got["state"]) == ("base_ccy", "0.001", "live")
        for bad in ({**order, "tgtCcy": "quote_ccy"},
                    {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1",
                     "tgtCcy": "base_ccy"}):
            _, refused = await rest.post("trade/order", bad)
            assert refused["code"] == "1" and (refused["data"][0]["sCode"], refused["data"][0]["sMsg"]) == \
                ("51000", "Parameter tgtCcy error")


async def test_a_walk_over_more_than_100_pending_orders_ends_with_each_order_once(sim):
    insts = {"BTC-USDT": ("0.1", "0.00001"), "ETH-USDT": ("0.01", "0.001"), "SOL-USDT": ("0.001", "0.01")}
    batch = []
    for inst_id, (tick, min_sz) in insts.items():
        px = _tick(float(sim.exchange.ticker(inst_id)["bidPx"]) * 0.97, tick)
        batch += [{"instId": inst_id, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": px, "sz": min_sz}
                  for _ in range(40)]
    async with RestProbe(sim.rest_url) as rest:
        placed = []
        for k in range(0, len(batch), 20):
            _, ack = await rest.post("trade/batch-orders", batch[k:k + 20])
            assert ack["code"] == "0", ack
            placed += [d["ordId"] for d in ack["data"]]
        _, first = await rest.get("trade/orders-pending")
        assert len(first["data"]) == 100                                  # the default page

        async def walk(cursor_name: str, start: str | None) -> list[str]:
            seen, cursor = [], start
            for _ in range(50):                                          # a loop that never ends fails here
                _, got = await rest.get("trade/orders-pending", limit="35", **({cursor_name: cursor} if cursor else {}))
                ids = [r["ordId"] for r in got["data"]]
                assert [int(i) for i in ids] == sorted((int(i) for i in ids), reverse=True)   # newest first
                if not ids:
                    return seen
                seen += ids if cursor_name == "after" else []
                seen = ids + seen if cursor_name == "before" else seen
                cursor = ids[-1] if cursor_name == "after" else ids[0]
            raise AssertionError("the walk did not end")

        back = await walk("after", None)
        assert sorted(back) == sorted(placed) and len(back) == len(set(back)) == 120
        forward = await walk("before", "0")
        assert forward == back
        _, eth = await rest.get("trade/orders-pending", instId="ETH-USDT", limit="100")
        assert len(eth["data"]) == 40 and {r["instId"] for r in eth["data"]} == {"ETH-USDT"}
        _, bad = await rest.get("trade/orders-pending", after="x")
        assert bad["code"] == "51000"


async def test_exp_time_drops_a_late_place_or_amend_without_executing_it():
    async with still_sim() as s, RestProbe(s.rest_url) as rest, await WireClient.connect(s.ws_url("private")) as ws:
        past, future = str(int(time.time() * 1000) - 1000), str(int(time.time() * 1000) + 60_000)
        _, late = await rest.post("trade/order", {**LIMIT, "clOrdId": "late1"}, headers={"expTime": past})
        assert late["code"] == "1"
        assert (late["data"][0]["sCode"], late["data"][0]["sMsg"]) == ("50037", "Order expired.")
        _, bad = await rest.post("trade/order", LIMIT, headers={"expTime": "soon"})
        assert bad["data"][0]["sCode"] == "51000" and bad["data"][0]["sMsg"] == "Parameter expTime error"
        _, ok = await rest.post("trade/order", {**LIMIT, "clOrdId": "live1"}, headers={"expTime": future})
        assert ok["data"][0]["sCode"] == "0"
        oid = ok["data"][0]["ordId"]
        _, pending = await rest.get("trade/orders-pending")
        assert [r["clOrdId"] for r in pending["data"]] == ["live1"]
        _, amend = await rest.post("trade/amend-order", {"instId": "TST-USDT", "ordId": oid, "newSz": "2"},
                                   headers={"expTime": past})
        assert amend["data"][0]["sCode"] == "50037"
        await _login(ws)
        await ws.send({"id": "w1", "op": "order", "expTime": past,
                       "args": [{**{k: v for k, v in LIMIT.items() if k != "instId"}, "instIdCode": 77}]})
        assert (await ws.recv_until(is_op("w1")))["data"][0]["sCode"] == "50037"
        await ws.send({"id": "w2", "op": "amend-order", "expTime": past,
                       "args": [{"instIdCode": 77, "ordId": oid, "newPx": "98"}]})
        assert (await ws.recv_until(is_op("w2")))["data"][0]["sCode"] == "50037"
        _, rec = await rest.get("trade/order", instId="TST-USDT", ordId=oid)
        assert (rec["data"][0]["sz"], rec["data"][0]["px"]) == ("1", "99")   # neither amendment did anything
        # expTime applies to place and amend only: a late cancel still cancels
        await ws.send({"id": "w3", "op": "cancel-order", "expTime": past, "args": [{"instIdCode": 77, "ordId": oid}]})
        assert (await ws.recv_until(is_op("w3")))["code"] == "0"


async def test_a_finished_clordid_opens_a_new_order():
    async with still_sim() as s, RestProbe(s.rest_url) as rest:
        _, first = await rest.post("trade/order", {**LIMIT, "ordType": "ioc", "px": "100.1", "sz": "0.5",
                                                    "clOrdId": "again1"})
        _, rec = await rest.get("trade/order", instId="TST-USDT", clOrdId="again1")
        assert rec["data"][0]["state"] == "filled"
        _, second = await rest.post("trade/order", {**LIMIT, "clOrdId": "again1"})
        assert second["data"][0]["sCode"] == "0" and second["data"][0]["ordId"] != first["data"][0]["ordId"]
        _, latest = await rest.get("trade/order", instId="TST-USDT", clOrdId="again1")
        assert (latest["data"][0]["ordId"], latest["data"][0]["state"]) == (second["data"][0]["ordId"], "live")
        _, dup = await rest.post("trade/order", {**LIMIT, "clOrdId": "again1"})
        assert (dup["data"][0]["sCode"], dup["data"][0]["sMsg"]) == ("51016", "Client order ID already exists.")


async def test_amendments_in_progress_reqid_cxl_on_fail_and_new_size_below_the_fill():
    async with still_sim(amend_latency_ms=600) as s, RestProbe(s.rest_url) as rest, \
            RestProbe(s.rest_url, TAKER) as taker, await WireClient.connect(s.ws_url("private")) as ws:
        await _login(ws, {"channel": "orders", "instType": "ANY"})
        _, ack = await rest.post("trade/order", LIMIT)
        oid = ack["data"][0]["ordId"]
        await ws.recv_until(lambda f: is_push("orders")(f) and f["data"][0]["state"] == "live")
        for k in range(4):
            await ws.send({"id": f"a{k}", "op": "amend-order",
                           "args": [{"instIdCode": 77, "ordId": oid, "newSz": str(2 + k), "reqId": f"r{k}"}]})
        acks = [await ws.recv_until(is_op(f"a{k}")) for k in range(4)]
        assert [a["data"][0]["sCode"] for a in acks] == ["0", "0", "0", "51513"]
        assert [a["data"][0]["reqId"] for a in acks] == ["r0", "r1", "r2", "r3"]
        pushes = [await ws.recv_until(is_push("orders")) for _ in range(3)]
        assert [(p["data"][0]["reqId"], p["data"][0]["amendResult"], p["data"][0]["sz"]) for p in pushes] == \
            [("r0", "0", "2"), ("r1", "0", "3"), ("r2", "0", "4")]
        # refused at the gateway with cxlOnFail: the order is cancelled
        await ws.send({"id": "c1", "op": "amend-order", "args": [{"instIdCode": 77, "ordId": oid, "newSz": "0.0001",
                                                                  "reqId": "bad", "cxlOnFail": True}]})
        assert (await ws.recv_until(is_op("c1")))["data"][0]["sCode"] == "51121"
        gone = (await ws.recv_until(is_push("orders")))["data"][0]
        assert (gone["state"], gone["amendResult"], gone["reqId"]) == ("canceled", "1", "bad")
        # newSz at or below accFillSz: the order ends filled
        _, maker = await rest.post("trade/order", {**LIMIT, "side": "sell", "px": "100", "sz": "3"})
        mid = maker["data"][0]["ordId"]
        _, took = await taker.post("trade/order", {**LIMIT, "ordType": "ioc", "px": "100", "sz": "1"})
        assert took["data"][0]["sCode"] == "0"
        await ws.recv_until(lambda f: is_push("orders")(f) and f["data"][0]["state"] == "partially_filled")
        _, shrink = await rest.post("trade/amend-order", {"instId": "TST-USDT", "ordId": mid, "newSz": "1",
                                                          "reqId": "shrink"})
        assert shrink["data"][0]["reqId"] == "shrink"
        done = (await ws.recv_until(lambda f: is_push("orders")(f) and f["data"][0]["reqId"] == "shrink"))["data"][0]
        assert (done["ordId"], done["state"], done["accFillSz"], done["amendResult"]) == (mid, "filled", "1", "0")


async def test_order_and_fill_history_windows_and_cursors():
    async with still_sim() as s, RestProbe(s.rest_url) as rest, RestProbe(s.rest_url, TAKER) as taker:
        _, h1 = await rest.post("trade/order", {**LIMIT, "ordType": "ioc", "px": "100.1", "sz": "0.5", "clOrdId": "h1"})
        _, h2 = await rest.post("trade/order", {**LIMIT, "clOrdId": "h2"})
        await rest.post("trade/cancel-order", {"instId": "TST-USDT", "clOrdId": "h2"})
        _, h3 = await rest.post("trade/order", {**LIMIT, "side": "sell", "px": "100", "sz": "2", "clOrdId": "h3"})
        await taker.post("trade/order", {**LIMIT, "ordType": "ioc", "px": "100", "sz": "1"})
        await rest.post("trade/cancel-order", {"instId": "TST-USDT", "clOrdId": "h3"})
        ids = [a["data"][0]["ordId"] for a in (h3, h2, h1)]
        _, hist = await rest.get("trade/orders-history", instType="SPOT")
        assert [r["ordId"] for r in hist["data"]] == ids                   # newest first
        assert [r["state"] for r in hist["data"]] == ["canceled", "canceled", "filled"]
        _, archive = await rest.get("trade/orders-history-archive", instType="SPOT")
        assert [r["ordId"] for r in archive["data"]] == [ids[0], ids[2]]     # no cancel that never filled
        _, page1 = await rest.get("trade/orders-history", instType="SPOT", limit="1")
        _, page2 = await rest.get("trade/orders-history", instType="SPOT", limit="1", after=page1["data"][0]["ordId"])
        _, back = await rest.get("trade/orders-history", instType="SPOT", before=ids[2])
        assert [page1["data"][0]["ordId"], page2["data"][0]["ordId"]] == ids[:2] and \
            [r["ordId"] for r in back["data"]] == ids[:2]
        _, filled = await rest.get("trade/orders-history", instType="SPOT", state="filled")
        assert [r["ordId"] for r in filled["data"]] == [ids[2]]
        assert (await rest.get("trade/orders-history", instType="SWAP"))[1]["data"] == []
        for path in ("trade/orders-history", "trade/orders-history-archive", "trade/fills-history"):
            _, missing = await rest.get(path)
            assert (missing["code"], missing["msg"]) == ("50014", "Parameter instType can not be empty."), path
        _, fills = await rest.get("trade/fills")
        _, fills_history = await rest.get("trade/fills-history", instType="SPOT")
        assert fills["data"] == fills_history["data"] and len(fills["data"]) >= 2
        bills = [int(f["billId"]) for f in fills["data"]]
        assert bills == sorted(bills, reverse=True) and len(set(bills)) == len(bills)
        assert {f["ordId"] for f in fills["data"]} == {ids[0], ids[2]}
        maker = [f for f in fills["data"] if f["ordId"] == ids[0]]
        assert [(f["execType"], f["fillSz"], f["side"]) for f in maker] == [("M", "1", "sell")]
        _, older = await rest.get("trade/fills", after=str(bills[0]), limit="1")
        assert [int(f["billId"]) for f in older["data"]] == [bills[1]]
        _, by_order = await rest.get("trade/fills", ordId=ids[0])
        assert [f["ordId"] for f in by_order["data"]] == [ids[0]]


async def test_cancel_all_after_cancels_the_tagged_orders_when_the_heartbeat_stops():
    async with still_sim() as s, RestProbe(s.rest_url) as rest, await WireClient.connect(s.ws_url("private")) as ws:
        await _login(ws, {"channel": "orders", "instType": "ANY"})
        for bad, code in (({"timeOut": "9"}, "51000"), ({"timeOut": "121"}, "51000"), ({}, "50014"),
                          ({"timeOut": "10", "tag": "no-dash"}, "51000")):
            assert (await rest.post("trade/cancel-all-after", bad))[1]["code"] == code, bad
        status, armed = await rest.post("trade/cancel-all-after", {"timeOut": "10", "tag": "t1"})
        assert status == 200 and armed["code"] == "0"
        row = armed["data"][0]
        assert row["tag"] == "t1" and int(row["triggerTime"]) - int(row["ts"]) == 10_000
        status, again = await rest.post("trade/cancel-all-after", {"timeOut": "10", "tag": "t1"})
        assert (status, again["code"]) == (429, "50011")                # 1 request per second per user and tag
        _, other = await rest.post("trade/cancel-all-after", {"timeOut": "0", "tag": "t2"})
        assert other["data"] == [{"triggerTime": "0", "tag": "t2", "ts": other["data"][0]["ts"]}]
        placed = {}
        for tag in ("t1", "t2", ""):
            _, ack = await rest.post("trade/order", {**LIMIT, "tag": tag} if tag else LIMIT)
            placed[tag] = ack["data"][0]["ordId"]
        # no heartbeat from here on: t1's orders go within ~10 s (wall clock), the others stay
        gone = await _wait_cancel(ws, placed["t1"])
        assert (gone["cancelSource"], gone["tag"]) == ("20", "t1")
        _, pending = await rest.get("trade/orders-pending")
        assert {r["ordId"] for r in pending["data"]} == {placed["t2"], placed[""]}
        for k in range(20):
            assert (await rest.post("trade/cancel-all-after", {"timeOut": "120", "tag": f"x{k}"}))[1]["code"] == "0"
        _, over = await rest.post("trade/cancel-all-after", {"timeOut": "120", "tag": "x20"})
        assert (over["code"], over["msg"]) == ("51071", "You've reached the maximum limit for tag level cancel all "
                                                        "after timers.")


async def _wait_cancel(ws: WireClient, ord_id: str) -> dict:
    frame = await ws.recv_until(lambda f: is_push("orders")(f) and f["data"][0]["ordId"] == ord_id
                                and f["data"][0]["state"] == "canceled", timeout=25)
    return frame["data"][0]


async def test_balance_and_position_and_the_fee_tier_of_fills():
    async with still_sim() as s, RestProbe(s.rest_url, TAKER) as taker, \
            await WireClient.connect(s.ws_url("private")) as ws:
        await _login(ws)
        await ws.subscribe({"channel": "balance_and_position"}, {"channel": "fills"}, req_id="s1")
        ack = await ws.recv_until(is_event("subscribe"))
        assert ack["arg"] == {"channel": "balance_and_position"}
        snap = await ws.recv_until(is_push("balance_and_position"))
        err = await ws.recv_until(is_event("error"))
        assert (err["code"], err["id"]) == ("64003", "s1") and "fee tier" in err["msg"]
        item = snap["data"][0]
        assert snap["arg"]["uid"].isdigit() and item["eventType"] == "snapshot" and item["posData"] == []
        assert {b["ccy"]: b["cashBal"] for b in item["balData"]} == {"TST": "1000", "USDT": "100000"}
        async with await WireClient.connect(s.ws_url("private")) as tws:
            assert (await tws.login(TAKER))["code"] == "0"
            await tws.subscribe({"channel": "balance_and_position"})
            assert {b["ccy"] for b in (await tws.recv_until(is_push("balance_and_position")))["data"][0]["balData"]} \
                == {"TST", "USDT"}
            await taker.post("trade/order", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "buy",
                                             "ordType": "market", "sz": "2"})
            push = (await tws.recv_until(lambda f: is_push("balance_and_position")(f)
                                         and f["data"][0]["eventType"] == "filled"))["data"][0]
        assert [p["instId"] for p in push["posData"]] == ["TST-USDT-SWAP"] and push["posData"][0]["pos"] == "2"
        assert [b["ccy"] for b in push["balData"]] == ["USDT"] and push["trades"]
        assert all(t["instId"] == "TST-USDT-SWAP" and int(t["tradeId"]) > 0 for t in push["trades"])


async def test_fills_channel_for_vip4_accounts():
    async with still_sim(SimConfig(vip_level=4)) as s, RestProbe(s.rest_url) as rest, \
            RestProbe(s.rest_url, TAKER) as taker, await WireClient.connect(s.ws_url("private")) as ws:
        await _login(ws, {"channel": "fills", "instId": "TST-USDT"}, {"channel": "orders", "instType": "ANY"})
        _, made = await rest.post("trade/order", {**LIMIT, "side": "sell", "px": "100", "sz": "2", "clOrdId": "77"})
        await taker.post("trade/order", {**LIMIT, "ordType": "ioc", "px": "100", "sz": "1"})
        fill = await ws.recv_until(is_push("fills"))
        order = await ws.recv_until(lambda f: is_push("orders")(f) and f["data"][0]["tradeId"])
    d = fill["data"][0]
    assert fill["arg"]["channel"] == "fills" and fill["arg"]["uid"].isdigit()
    assert (d["ordId"], d["clOrdId"], d["execType"], d["fillSz"], d["fillPx"], d["count"], d["side"]) == \
        (made["data"][0]["ordId"], "77", "M", "1", "100", "1", "sell")
    assert d["tradeId"] == order["data"][0]["tradeId"]


async def test_order_rate_caps_pending_and_sub_account():
    async with still_sim(SimConfig(sub_account_rate_limit=5)) as s, RestProbe(s.rest_url) as rest:
        _, seven = await rest.post("trade/batch-orders", [LIMIT] * 7)
        assert seven["code"] == "2" and [d["sCode"] for d in seven["data"]] == ["0"] * 5 + ["50061"] * 2
        assert seven["data"][5]["sMsg"] == "You've reached the maximum order rate limit for this account."
        cancels = [{"instId": "TST-USDT", "ordId": d["ordId"]} for d in seven["data"][:5]]
        _, cancelled = await rest.post("trade/cancel-batch-orders", cancels)
        assert cancelled["code"] == "0"                                    # cancels do not count
    async with still_sim() as s, RestProbe(s.rest_url) as rest:
        for _ in range(499):
            assert s.exchange.place_order(SIM_CREDENTIALS.api_key.get_secret_value(),
                                          {**LIMIT, "sz": "0.01"})["sCode"] == "0"
        _, last = await rest.post("trade/order", {**LIMIT, "sz": "0.01"})
        _, over = await rest.post("trade/order", {**LIMIT, "sz": "0.01"})
        assert last["data"][0]["sCode"] == "0"
        assert (over["data"][0]["sCode"], over["data"][0]["sMsg"]) == (
            "51174", "Order failed, number of pending orders for TST-USDT exceed the limit of 500.")
        _, swap = await rest.post("trade/order", {"instId": "TST-USDT-SWAP", "tdMode": "cross", "side": "buy",
                                                  "ordType": "limit", "px": "99", "sz": "1"})
        assert swap["data"][0]["sCode"] == "0"                             # the cap is per instrument


async def test_an_instrument_listed_without_an_inst_id_code():
    async with SimServer(SimConfig(seed=3, null_inst_id_code=["ETH-USDT"])) as s:
        spot = await _codes(s)
        assert spot["ETH-USDT"] is None and isinstance(spot["BTC-USDT"], int)
        async with RestProbe(s.rest_url) as rest:
            bid = float(s.exchange.ticker("ETH-USDT")["bidPx"])
            _, ok = await rest.post("trade/order", {"instId": "ETH-USDT", "tdMode": "cash", "side": "buy",
                                                    "ordType": "limit", "px": _tick(bid * 0.97, "0.01"), "sz": "0.001"})
            assert ok["data"][0]["sCode"] == "0"                              # REST names it by instId


async def test_tls_serves_https_and_wss():
    async with SimServer(SimConfig(seed=3, tls=True)) as s:
        assert s.rest_url.startswith("https://") and s.ws_url("public").startswith("wss://")
        assert s.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
        ctx = s.client_ssl()
        async with RestProbe(s.rest_url, ssl_context=ctx) as rest:
            status, body = await rest.get("account/balance")
            assert status == 200 and body["code"] == "0"
        async with await WireClient.connect(s.ws_url("public"), ssl_context=ctx) as c:
            await c.send("ping")
            assert await c.recv() == "pong"
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):    # not trusted without the CA
                await http.get(f"{s.rest_url}/api/v5/public/time")
        tls_dir = s.ca_path.parent
    assert not tls_dir.exists()                                            # the throwaway CA goes with the server
