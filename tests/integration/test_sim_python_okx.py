"""A third-party OKX client, the official python-okx SDK, works against the simulator unchanged:
it reads instruments and the book, and places, queries and cancels an order with signed requests."""

from __future__ import annotations

import asyncio

import okx.MarketData as okx_market
import okx.PublicData as okx_public
import okx.Trade as okx_trade
import pytest

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer

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
