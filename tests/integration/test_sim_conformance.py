"""Conformance: every frame and REST answer the simulator produces has the shape of OKX's documented
example for it (../shared/data/okx/fixtures/docs_examples): the same keys at every level and the
same JSON types (strings stay strings, seqId stays an integer, ...)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.okx import auth
from hftlab.okx.events import ParseError
from hftlab.okx.parse import parse_frame
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer
from hftlab.sim.testing import RestProbe, WireClient, is_event, is_op, is_push, still_server

INST = "BTC-USDT"


def _type(x: Any) -> str:
    return type(x).__name__


def mismatches(ours: Any, doc: Any, path: str = "$", empty_ok: frozenset[str] = frozenset()) -> list[str]:
    """Differences in key sets and JSON types, recursively (first element of each list). An empty
    array where the docs show elements is a difference (it would match anything) unless its path is
    in `empty_ok`, where the docs' shape allows it."""
    if isinstance(doc, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {_type(ours)} where the docs have an object"]
        out = []
        if set(ours) != set(doc):
            out.append(f"{path}: missing {sorted(set(doc) - set(ours))}, extra {sorted(set(ours) - set(doc))}")
        for k in set(ours) & set(doc):
            out += mismatches(ours[k], doc[k], f"{path}.{k}", empty_ok)
        return out
    if isinstance(doc, list):
        if not isinstance(ours, list):
            return [f"{path}: {_type(ours)} where the docs have an array"]
        if doc and not ours:
            return [] if path in empty_ok else [f"{path}: empty where the docs have {len(doc)} element(s)"]
        if doc and ours:
            if not isinstance(doc[0], (dict, list)) and len(ours) != len(doc):
                return [f"{path}: {len(ours)} elements, the docs have {len(doc)}"]
            for o in ours:  # the first element that differs speaks for the list
                problems = mismatches(o, doc[0], f"{path}[]", empty_ok)
                if problems:
                    return problems
        return []
    return [] if _type(ours) == _type(doc) else [f"{path}: {_type(ours)} {ours!r}, docs: {_type(doc)} {doc!r}"]


class Docs:
    def __init__(self, root):
        self.root = root / "okx/fixtures/docs_examples"

    def example(self, name: str, title: str) -> Any:
        doc = json.loads((self.root / f"{name}.json").read_text())
        for ex in doc["examples"]:
            if ex["title"] == title:
                return ex["json"]
        raise KeyError(f"{name}: no example titled {title!r}")


@pytest.fixture(scope="module")
def docs(shared_data) -> Docs:
    return Docs(shared_data)


def check(ours: Any, docs: Docs, name: str, title: str, empty_ok: frozenset[str] = frozenset()) -> None:
    problems = mismatches(ours, docs.example(name, title), empty_ok=empty_ok)
    assert not problems, f"{name} / {title}:\n" + "\n".join(problems)


def test_comparator_catches_differences():
    assert mismatches({"a": "1", "b": [["1", "2"]]}, {"a": "x", "b": [["3", "4"]]}) == []
    assert mismatches({"a": 1}, {"a": "1"}) and mismatches({"a": "1"}, {"a": "1", "b": "2"})
    assert mismatches({"b": [["1"]]}, {"b": [["3", "4"]]}) and mismatches({"s": 5}, {"s": True})
    assert mismatches({"data": []}, {"data": [{"ordId": "1"}]}) == ["$.data: empty where the docs have 1 element(s)"]
    assert mismatches({"data": []}, {"data": [{"ordId": "1"}]}, empty_ok=frozenset({"$.data"})) == []


@pytest.fixture
async def sim():
    async with SimServer() as s:
        yield s


async def _order_fields(sim, http) -> dict:
    async with http.get(f"{sim.rest_url}/api/v5/public/instruments", params={"instType": "SPOT"}) as r:
        code = {i["instId"]: i["instIdCode"] for i in (await r.json())["data"]}[INST]
    bid = float(sim.exchange.ticker(INST)["bidPx"])
    return {"instIdCode": code, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": f"{bid * 0.9:.1f}",
            "sz": "0.001"}


async def test_public_ws(sim, docs):
    async with await WireClient.connect(sim.ws_url("public")) as c:
        await c.subscribe({"channel": "tickers", "instId": INST}, req_id="1512")
        check(await c.recv_until(is_event("subscribe")), docs, "ws_tickers_channel", "Successful Response Example")
        check(await c.recv_until(is_push("tickers")), docs, "ws_tickers_channel", "Push Data Example")
        await c.subscribe({"channel": "books", "instId": INST}, {"channel": "books5", "instId": INST},
                          {"channel": "bbo-tbt", "instId": INST}, {"channel": "trades", "instId": INST})
        check(await c.recv_until(is_push("books")), docs, "ws_books_channel_2026-06",
              "Push Data Example: Full Snapshot")
        check(await c.recv_until(is_push("books")), docs, "ws_books_channel_2026-06",
              "Push Data Example: Incremental Data")
        check(await c.recv_until(is_push("books5")), docs, "ws_books_channel_2026-06",
              "Push Data Example of books5 channel")
        check(await c.recv_until(is_push("bbo-tbt")), docs, "ws_books_channel_2026-06",
              "Push Data Example of bbo-tbt channel")
        check(await c.recv_until(is_push("trades"), timeout=10), docs, "ws_trades_channel", "Push Data Example")
        await c.send({"id": "1512", "op": "subscribe", "argss": [{"channel": "books", "instId": INST}]})
        check(await c.recv_until(is_event("error")), docs, "ws_books_channel_2026-06", "Failure example")
        await c.send({"op": "unsubscribe", "args": [{"channel": "tickers", "instId": INST}]})
        check(await c.recv_until(is_event("unsubscribe")), docs, "ws_unsubscribe", "Response Example")
        sim.faults.notice("public", close_after_s=5)
        check(await c.recv_until(is_event("notice")), docs, "ws_notice_64008", "Response Example")


async def test_business_ws(sim, docs):
    async with await WireClient.connect(sim.ws_url("business")) as c:
        await c.subscribe({"channel": "candle1m", "instId": INST}, {"channel": "trades-all", "instId": INST})
        check(await c.recv_until(is_push("candle1m")), docs, "ws_candle_channel", "Push Data Example")
        check(await c.recv_until(is_push("trades-all"), timeout=10), docs, "ws_trades_all_channel",
              "Push Data Example")


async def test_private_ws(sim, docs):
    async with await WireClient.connect(sim.ws_url("private")) as c, aiohttp.ClientSession() as http:
        fields = await _order_fields(sim, http)
        await c.send({"op": "login", "args": [{"apiKey": "hftlab-sim-key", "passphrase": "hftlab-sim-passphrase",
                                               "timestamp": str(int(time.time())), "sign": "eA=="}]})
        check(await c.recv(), docs, "ws_login", "Failure Response Example")
        check(await c.login(), docs, "ws_login", "Successful Response Example")
        for name in ("ws_orders_channel", "ws_positions_channel", "ws_account_channel"):
            request = docs.example(name, "Successful Response Example")  # subscribe to what the docs did
            await c.subscribe(request["arg"], req_id="1512")
            check(await c.recv_until(is_event("subscribe")), docs, name, "Successful Response Example")
            check(await c.recv_until(is_event("channel-conn-count")), docs, "ws_channel_conn_count",
                  "Connection count update")
        await c.subscribe({"channel": "orders", "instType": "SPOT", "instId": INST})  # as the docs' push

        await c.send({"id": "1512", "op": "order", "args": [dict(fields, clOrdId="conf1")]})
        placed = await c.recv_until(is_op("1512"))
        check(placed, docs, "ws_op_order", "Successful Response Example")
        check(await c.recv_until(is_push("orders")), docs, "ws_orders_channel", "Push Data Example")
        await c.send({"id": "1513", "op": "order", "args": [dict(fields, clOrdId="conf1")]})
        check(await c.recv_until(is_op("1513")), docs, "ws_op_order", "Failure Response Example")
        await c.send({"id": "1514", "op": "order", "args": []})
        check(await c.recv_until(is_op("1514")), docs, "ws_op_order", "Response Example When Format Error")
        await c.send({"id": "1515", "op": "batch-orders", "args": [fields, dict(fields, sz="0.0000001")]})
        check(await c.recv_until(is_op("1515")), docs, "ws_op_batch_orders",
              "Response Example When Partially Successful")
        oid = placed["data"][0]["ordId"]
        await c.send({"id": "1516", "op": "amend-order", "args": [{"instIdCode": fields["instIdCode"], "ordId": oid,
                                                                   "newSz": "0.002", "reqId": "b12344"}]})
        check(await c.recv_until(is_op("1516")), docs, "ws_op_amend_order", "Successful Response Example")
        await c.send({"id": "1517", "op": "cancel-order", "args": [{"instIdCode": fields["instIdCode"], "ordId": oid}]})
        check(await c.recv_until(is_op("1517")), docs, "ws_op_cancel_order", "Successful Response Example")
        await c.send({"id": "1518", "op": "batch-cancel-orders",
                      "args": [{"instIdCode": fields["instIdCode"], "ordId": oid}] * 2})
        check(await c.recv_until(is_op("1518")), docs, "ws_op_batch_cancel_orders", "Response Example When All Failed")


async def test_account_push(sim, docs):
    async with await WireClient.connect(sim.ws_url("private")) as c:
        await c.login()
        await c.subscribe({"channel": "account"})
        check(await c.recv_until(is_push("account")), docs, "ws_account_channel", "Push Data Example")


async def test_positions_push(sim, docs):
    """A swap position, so the positions channel has a record to compare."""
    async with await WireClient.connect(sim.ws_url("private")) as c, aiohttp.ClientSession() as http:
        async with http.get(f"{sim.rest_url}/api/v5/public/instruments", params={"instType": "SWAP"}) as r:
            swap = (await r.json())["data"][0]
        await c.login()
        await c.subscribe({"channel": "positions", "instType": "ANY"})
        await c.recv_until(is_push("positions"))  # the (empty) snapshot
        await c.send({"id": "p1", "op": "order", "args": [{"instIdCode": swap["instIdCode"], "tdMode": "cross",
                                                           "side": "buy", "ordType": "market", "sz": swap["minSz"]}]})
        assert (await c.recv_until(is_op("p1")))["code"] == "0"
        update = await c.recv_until(is_push("positions"))
    assert update["eventType"] == "event_update"
    doc = docs.example("ws_positions_channel", "Push Data Example")
    no_algo = frozenset({"$[].closeOrderAlgo"})  # no take-profit/stop-loss attached to the position
    assert not mismatches(update["data"], doc["data"], empty_ok=no_algo), mismatches(update["data"], doc["data"],
                                                                                      empty_ok=no_algo)
    assert set(update["arg"]) == set(doc["arg"])


async def test_rest(sim, docs):
    c = SIM_CREDENTIALS
    async with aiohttp.ClientSession() as http:
        async def get(path, **params):
            async with http.get(f"{sim.rest_url}{path}", params=params) as r:
                return await r.json()

        check(await get("/api/v5/market/books", instId=INST, sz="5"), docs, "rest_get_market_books", "Response Example")
        check(await get("/api/v5/market/history-candles", instId=INST, bar="1s", limit="3"), docs,
              "rest_get_market_history_candles", "Response Example")
        check(await get("/api/v5/market/candles", instId=INST), docs, "rest_get_market_history_candles",
              "Response Example")
        check(await get("/api/v5/public/instruments", instType="SPOT"), docs, "rest_get_public_instruments",
              "Response Example", frozenset({"$.data[].upcChg"}))  # no listing change is upcoming
        async def signed(method, path, body=""):
            headers = auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                        c.passphrase.get_secret_value(), method, path, body)
            async with http.request(method, f"{sim.rest_url}{path}", data=body or None, headers=headers) as r:
                return await r.json()

        fields = await _order_fields(sim, http)
        body = json.dumps({"instId": INST, **{k: v for k, v in fields.items() if k != "instIdCode"}})
        placed = await signed("POST", "/api/v5/trade/order", body)
        check(placed, docs, "rest_post_trade_order", "Response Example")
        oid = placed["data"][0]["ordId"]
        # endpoints without a docs example of their own return the records the documented pushes carry
        orders_doc = docs.example("ws_orders_channel", "Push Data Example")["data"]
        for answer in (await signed("GET", f"/api/v5/trade/order?instId={INST}&ordId={oid}"),
                       await signed("GET", "/api/v5/trade/orders-pending")):
            assert answer["code"] == "0" and not mismatches(answer["data"], orders_doc)
        balance = await signed("GET", "/api/v5/account/balance")
        assert not mismatches(balance["data"], docs.example("ws_account_channel", "Push Data Example")["data"])
        # a swap position, so that the answer has a record to compare (an empty one matched anything)
        swap = (await get("/api/v5/public/instruments", instType="SWAP"))["data"][0]
        bought = await signed("POST", "/api/v5/trade/order", json.dumps(
            {"instId": swap["instId"], "tdMode": "cross", "side": "buy", "ordType": "market", "sz": swap["minSz"]}))
        assert bought["code"] == "0", bought
        positions = await signed("GET", "/api/v5/account/positions")
        assert positions["code"] == "0" and positions["data"] and not mismatches(
            positions["data"], docs.example("ws_positions_channel", "Push Data Example")["data"],
            empty_ok=frozenset({"$[].closeOrderAlgo"}))
        cancel = await signed("POST", "/api/v5/trade/cancel-order", json.dumps({"instId": INST, "ordId": oid}))
        assert set(cancel) == set(placed)
        assert not mismatches(cancel["data"], docs.example("ws_op_cancel_order", "Successful Response Example")["data"])
        # trades arrive with the simulated flow; wait for some
        for _ in range(100):
            trades = await get("/api/v5/market/history-trades", instId=INST)
            if trades["data"]:
                break
            await asyncio.sleep(0.1)
        check(trades, docs, "rest_get_market_history_trades", "Response Example")
        check(await get("/api/v5/market/trades", instId=INST), docs, "rest_get_market_history_trades",
              "Response Example")


async def test_every_frame_parses(sim):
    """The project's own parser reads everything the simulator sends, without a single ParseError."""
    raw: list[str] = []

    async def drain(c: WireClient, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw.append(await asyncio.wait_for(c.conn.recv(), left))
            except TimeoutError:
                return

    async with await WireClient.connect(sim.ws_url("public")) as pub, \
            await WireClient.connect(sim.ws_url("business")) as biz, \
            await WireClient.connect(sim.ws_url("private")) as priv, aiohttp.ClientSession() as http:
        fields = await _order_fields(sim, http)
        await pub.subscribe(*({"channel": ch, "instId": INST} for ch in ("books", "books5", "bbo-tbt", "tickers",
                                                                          "trades")))
        await pub.send("ping")
        await biz.subscribe({"channel": "candle1s", "instId": INST}, {"channel": "trades-all", "instId": INST})
        await priv.login()
        await priv.subscribe({"channel": "orders", "instType": "ANY"}, {"channel": "account"},
                             {"channel": "positions", "instType": "ANY"})
        await priv.send({"id": "p1", "op": "order", "args": [fields]})
        await priv.send({"id": "p2", "op": "order", "args": [{"instId": INST}]})
        await pub.subscribe({"channel": "nope", "instId": INST})
        await asyncio.gather(drain(pub, 1.5), drain(biz, 1.5), drain(priv, 1.5))
    events = [e for r in raw for e in parse_frame(r, time.time_ns())]
    assert len(raw) > 30
    assert not [e for e in events if isinstance(e, ParseError)]
    kinds = {type(e).__name__ for e in events}
    assert {"BookMsg", "Ticker", "Trade", "Candle", "Subscribed", "Pong", "OpResponse", "PrivatePush",
            "ErrorEvent", "ChannelConnCount"} <= kinds, kinds


# Examples the fixtures hold no file for, as the OKX docs show them (qiuham/crypto-api-docs 0167ca33:
# trading-account/websocket-balance-and-position-channel.md, order-book/trading-trade-ws-fills-channel.md,
# trading-trade-get-transaction-details-last-3-months.md, funding-account/rest-api-get-currencies.md,
# trading-trade-post-cancel-all-after.md).
BALANCE_AND_POSITION_PUSH = {
    "arg": {"channel": "balance_and_position", "uid": "77982378738415879"},
    "data": [{"pTime": "1597026383085", "eventType": "snapshot",
              "balData": [{"ccy": "BTC", "cashBal": "1", "uTime": "1597026383085"}],
              "posData": [{"posId": "1111111111", "tradeId": "2", "instId": "BTC-USD-191018", "instType": "FUTURES",
                           "mgnMode": "cross", "posSide": "long", "pos": "10", "ccy": "BTC", "posCcy": "",
                           "avgPx": "3320", "nonSettleAvgPx": "", "settledPnl": "", "uTime": "1597026383085"}],
              "trades": [{"instId": "BTC-USD-191018", "tradeId": "2"}]}]}
FILLS_PUSH = {
    "arg": {"channel": "fills", "instId": "BTC-USDT-SWAP", "uid": "614488474791111"},
    "data": [{"instId": "BTC-USDT-SWAP", "fillSz": "100", "fillPx": "70000", "side": "buy", "ts": "1705449605015",
              "ordId": "680800019749904384", "clOrdId": "1234567890", "tradeId": "12345", "execType": "T",
              "count": "10"}]}
FILLS_HISTORY = {"code": "0", "msg": "", "data": [{
    "side": "buy", "fillSz": "0.00192834", "fillPx": "51858", "fillPxVol": "", "fillFwdPx": "", "fee": "-0.00000192834",
    "fillPnl": "0", "ordId": "680800019749904384", "feeRate": "-0.001", "instType": "SPOT", "fillPxUsd": "",
    "instId": "BTC-USDT", "clOrdId": "", "posSide": "net", "billId": "680800019754098688", "subType": "1",
    "fillMarkVol": "", "tag": "", "fillTime": "1708587373361", "execType": "T", "fillIdxPx": "", "tradeId": "744876980",
    "fillMarkPx": "", "feeCcy": "BTC", "ts": "1708587373362", "tradeQuoteCcy": "USDT"}]}
CURRENCIES = {"code": "0", "msg": "", "data": [{
    "burningFeeRate": "", "canDep": True, "canInternal": True, "canWd": True, "ccy": "BTC", "chain": "BTC-Bitcoin",
    "ctAddr": "", "depEstOpenTime": "", "depQuotaFixed": "", "depQuoteDailyLayer2": "", "fee": "0.00005",
    "logoLink": "https://static.coinall.ltd/cdn/oksupport/asset/currency/icon/btc20230419112752.png",
    "mainNet": True, "maxFee": "0.00005", "maxFeeForCtAddr": "", "maxWd": "500", "minDep": "0.0005",
    "minDepArrivalConfirm": "1", "minFee": "0.00005", "minFeeForCtAddr": "", "minInternal": "0.0001",
    "minWd": "0.0005", "minWdUnlockConfirm": "2", "name": "Bitcoin", "needTag": False, "usedDepQuotaFixed": "",
    "usedWdQuota": "0", "wdEstOpenTime": "", "wdQuota": "10000000", "wdTickSz": "8"}]}
CANCEL_ALL_AFTER = {"code": "0", "msg": "", "data": [{"triggerTime": "1587971460", "tag": "", "ts": "1587971400"}]}


def _same(ours: Any, doc: Any, what: str, empty_ok: frozenset[str] = frozenset()) -> None:
    problems = mismatches(ours, doc, empty_ok=empty_ok)
    assert not problems, f"{what}:\n" + "\n".join(problems)


async def test_trading_endpoints_and_channels(docs):
    taker_creds = Credentials(SecretStr("taker-key"), SecretStr("taker-secret"), SecretStr("taker-passphrase"))
    order = {"instId": "TST-USDT", "tdMode": "cash", "side": "sell", "ordType": "limit", "px": "100", "sz": "2"}
    async with still_server(SimConfig(vip_level=4), [SIM_CREDENTIALS, taker_creds]) as s, \
            RestProbe(s.rest_url) as rest, RestProbe(s.rest_url, taker_creds) as taker, \
            await WireClient.connect(s.ws_url("private")) as c:
        assert (await c.login())["code"] == "0"
        await c.subscribe({"channel": "balance_and_position"}, {"channel": "fills", "instId": "TST-USDT"})
        # before any trade the account has neither positions nor trades to report
        _same(await c.recv_until(is_push("balance_and_position")), BALANCE_AND_POSITION_PUSH, "b&p snapshot",
              frozenset({"$.data[].posData", "$.data[].trades"}))
        _, made = await rest.post("trade/order", {**order, "clOrdId": "1234567890"})
        await taker.post("trade/order", {**order, "side": "buy", "ordType": "ioc", "sz": "1"})
        _same(await c.recv_until(is_push("fills")), FILLS_PUSH, "fills push")
        pushed = await c.recv_until(lambda f: is_push("balance_and_position")(f)
                                    and f["data"][0]["eventType"] == "filled")
        # a spot fill moves no position: posData is empty, which the docs' shape allows
        _same(pushed, BALANCE_AND_POSITION_PUSH, "b&p filled", frozenset({"$.data[].posData"}))
        _same((await rest.get("trade/fills-history", instType="SPOT"))[1], FILLS_HISTORY, "fills-history")
        _same((await rest.get("trade/fills"))[1], FILLS_HISTORY, "fills")
        _same((await rest.get("asset/currencies"))[1], CURRENCIES, "currencies")
        _same((await rest.post("trade/cancel-all-after", {"timeOut": "60"}))[1], CANCEL_ALL_AFTER, "cancel-all-after")
        await rest.post("trade/cancel-order", {"instId": "TST-USDT", "ordId": made["data"][0]["ordId"]})
        orders_doc = docs.example("ws_orders_channel", "Push Data Example")["data"]
        for path in ("trade/orders-history", "trade/orders-history-archive"):
            _, answer = await rest.get(path, instType="SPOT")
            assert answer["code"] == "0" and answer["data"] and not mismatches(answer["data"], orders_doc), path
