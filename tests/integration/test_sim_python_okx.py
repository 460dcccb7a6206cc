"""A third-party OKX client, the official python-okx SDK, works against the simulator unchanged:
it reads instruments and the book, and places, queries and cancels an order with signed requests;
it starts from currencies, reads fills and order history; and it trades over its private
WebSocket (TLS only) against `--tls`."""

from __future__ import annotations

import asyncio
import json

import okx.Funding as okx_funding
import okx.MarketData as okx_market
import okx.PublicData as okx_public
import okx.Trade as okx_trade
import pytest
from okx.websocket.WsPrivateAsync import WsPrivateAsync

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer
from hftlab.sim.testing import still_server

# python-okx posts with httpx's deprecated `data=` for raw bodies; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

INST = "BTC-USDT"
KEYS = (SIM_CREDENTIALS.api_key.get_secret_value(), SIM_CREDENTIALS.api_secret.get_secret_value(),
        SIM_CREDENTIALS.passphrase.get_secret_value())


def _session(url: str) -> dict:
    """What a python-okx user does, start to finish (synchronous, as the SDK is)."""
    public = okx_public.PublicAPI(flag="1", domain=url)
    market = okx_market.MarketAPI(flag="1", domain=url)
    trade = okx_trade.TradeAPI(*KEYS, flag="1", domain=url)
    out = {"time": public.get_system_time(), "instruments": public.get_instruments(instType="SPOT"),
           "book": market.get_orderbook(instId=INST, sz="20")}
    bid = float(out["book"]["data"][0]["bids"][0][0])
    out["place"] = trade.place_order(instId=INST, tdMode="cash", side="buy", ordType="limit", sz="0.001",
                                     px=f"{bid * 0.97:.1f}", clOrdId="pyokx1")
    ord_id = out["place"]["data"][0]["ordId"]
    out["query"] = trade.get_order(instId=INST, ordId=ord_id)
    out["pending"] = trade.get_order_list(instType="SPOT")
    out["cancel"] = trade.cancel_order(instId=INST, clOrdId="pyokx1")
    out["after"] = trade.get_order(instId=INST, clOrdId="pyokx1")
    out["bad_key"] = okx_trade.TradeAPI(KEYS[0], "wrong-secret", KEYS[2], flag="1", domain=url).get_order_list()
    for api in (public, market, trade):
        api.close()
    return out


async def test_python_okx_end_to_end():
    async with SimServer(SimConfig(seed=9)) as sim:
        r = await asyncio.to_thread(_session, sim.rest_url)
    assert r["time"]["code"] == "0"
    inst = {i["instId"]: i for i in r["instruments"]["data"]}[INST]
    assert inst["tickSz"] and inst["lotSz"] and inst["minSz"] and isinstance(inst["instIdCode"], int)
    book = r["book"]["data"][0]
    assert len(book["bids"]) == len(book["asks"]) == 20 and isinstance(book["seqId"], int)
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    assert r["place"]["code"] == "0" and r["place"]["data"][0]["sCode"] == "0"
    ord_id = r["place"]["data"][0]["ordId"]
    order = r["query"]["data"][0]
    assert (order["ordId"], order["state"], order["clOrdId"], order["sz"]) == (ord_id, "live", "pyokx1", "0.001")
    assert [o["ordId"] for o in r["pending"]["data"]] == [ord_id]
    assert r["cancel"]["code"] == "0" and r["cancel"]["data"][0]["ordId"] == ord_id
    assert r["after"]["data"][0]["state"] == "canceled"
    assert r["bad_key"]["code"] == "50113"


def _rest_trading(url: str) -> dict:
    """What the third-party client that found the gaps does: currencies first, spot limits with
    tgtCcy=base_ccy, fills from fills-history, orders from the history and pending lists."""
    funding = okx_funding.FundingAPI(*KEYS, flag="1", domain=url)
    trade = okx_trade.TradeAPI(*KEYS, flag="1", domain=url)
    out = {"currencies": funding.get_currencies(), "currency": funding.get_currencies(ccy="USDT")}
    out["place"] = trade.place_order(instId="TST-USDT", tdMode="cash", side="buy", ordType="limit", px="100.1",
                                     sz="0.5", tgtCcy="base_ccy", clOrdId="pyokx2")
    out["resting"] = trade.place_order(instId="TST-USDT", tdMode="cash", side="buy", ordType="limit", px="99",
                                       sz="1", tgtCcy="base_ccy")
    out["fills"] = trade.get_fills_history(instType="SPOT")
    out["recent_fills"] = trade.get_fills()
    out["history"] = trade.get_orders_history(instType="SPOT")
    out["archive"] = trade.get_orders_history_archive(instType="SPOT")
    out["page"] = trade.get_order_list(instType="SPOT", after=out["resting"]["data"][0]["ordId"])
    for api in (funding, trade):
        api.close()
    return out


async def test_python_okx_trading_rest_calls():
    async with still_server() as sim:
        r = await asyncio.to_thread(_rest_trading, sim.rest_url)
    assert r["currencies"]["code"] == "0" and {c["ccy"] for c in r["currencies"]["data"]} >= {"TST", "USDT"}
    assert [c["ccy"] for c in r["currency"]["data"]] == ["USDT"]
    assert r["place"]["code"] == "0" and r["resting"]["code"] == "0"
    filled = r["place"]["data"][0]["ordId"]
    assert [f["ordId"] for f in r["fills"]["data"]] == [filled] and r["fills"]["data"][0]["fillSz"] == "0.5"
    assert r["recent_fills"]["data"] == r["fills"]["data"]
    assert [o["ordId"] for o in r["history"]["data"]] == [filled] == [o["ordId"] for o in r["archive"]["data"]]
    assert r["history"]["data"][0]["tgtCcy"] == "base_ccy"
    assert r["page"] == {"code": "0", "msg": "", "data": []}                 # nothing older than the one pending


def _rest_over_tls(url: str, ord_id: str) -> dict:
    public = okx_public.PublicAPI(flag="1", domain=url)
    trade = okx_trade.TradeAPI(*KEYS, flag="1", domain=url)
    out = {"time": public.get_system_time(), "order": trade.get_order(instId="TST-USDT", ordId=ord_id)}
    for api in (public, trade):
        api.close()
    return out


async def test_python_okx_private_websocket_trading_over_tls(monkeypatch):
    """python-okx 0.4.4's WsPrivateAsync places, amends and cancels over the WebSocket trade API. Its
    WebSocketFactory insists on TLS (a default SSL context plus certifi), so the sim serves wss and the
    client trusts the sim's CA the standard way, SSL_CERT_FILE: the client itself is unmodified."""
    async with still_server(SimConfig(tls=True)) as sim:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        untrusted = WsPrivateAsync(apiKey=KEYS[0], passphrase=KEYS[2], secretKey=KEYS[1], url=sim.ws_url("private"))
        await untrusted.connect()
        assert untrusted.websocket is None                                  # the sim's CA is not trusted yet
        monkeypatch.setenv("SSL_CERT_FILE", str(sim.ca_path))
        frames: asyncio.Queue = asyncio.Queue()
        ws = WsPrivateAsync(apiKey=KEYS[0], passphrase=KEYS[2], secretKey=KEYS[1], url=sim.ws_url("private"))
        consumer = await ws.start()
        assert ws.websocket is not None, "python-okx could not open the wss connection"

        def callback(message: str) -> None:
            frames.put_nowait(message if message == "pong" else json.loads(message))
        ws.callback = callback

        async def until(pred) -> dict:
            while True:
                f = await asyncio.wait_for(frames.get(), 10)
                if isinstance(f, dict) and pred(f):
                    return f

        try:
            await ws.login()
            assert (await until(lambda f: f.get("event") in ("login", "error")))["code"] == "0"
            await ws.send("subscribe", [{"channel": "orders", "instType": "ANY"}])
            await until(lambda f: f.get("event") == "subscribe")
            await ws.place_order([{"instIdCode": 77, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99",
                                   "sz": "1", "clOrdId": "wsokx1"}], id="p1")
            placed = await until(lambda f: f.get("id") == "p1")
            live = await until(lambda f: f.get("arg", {}).get("channel") == "orders")
            oid = placed["data"][0]["ordId"]
            await ws.amend_order([{"instIdCode": 77, "ordId": oid, "newSz": "2", "reqId": "am1"}], id="a1")
            amended = await until(lambda f: f.get("id") == "a1")
            push = await until(lambda f: f.get("arg", {}).get("channel") == "orders")
            await ws.cancel_order([{"instIdCode": 77, "clOrdId": "wsokx1"}], id="c1")
            cancelled = await until(lambda f: f.get("id") == "c1")
            gone = await until(lambda f: f.get("arg", {}).get("channel") == "orders")
        finally:
            await ws.stop()
            await asyncio.gather(consumer, return_exceptions=True)
        rest = await asyncio.to_thread(_rest_over_tls, sim.rest_url, oid)
    assert rest["time"]["code"] == "0" and rest["order"]["data"][0]["state"] == "canceled"
    assert (placed["op"], placed["code"], placed["data"][0]["clOrdId"]) == ("order", "0", "wsokx1")
    assert (live["data"][0]["ordId"], live["data"][0]["state"]) == (oid, "live")
    assert (amended["code"], amended["data"][0]["reqId"]) == ("0", "am1")
    assert (push["data"][0]["sz"], push["data"][0]["reqId"], push["data"][0]["amendResult"]) == ("2", "am1", "0")
    assert (cancelled["code"], cancelled["data"][0]["ordId"]) == ("0", oid)
    assert (gone["data"][0]["state"], gone["data"][0]["cancelSource"]) == ("canceled", "1")
