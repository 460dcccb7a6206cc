"""OkxRest's trading side against a local HTTP peer that records what it got: instruments read with
the trading environment's headers (demo: x-simulated-trading), a null instIdCode refused by name,
writes signed, never retried, with their expTime header and sent hook, and the two ways a write can
fail (never sent; sent, answer lost)."""

from __future__ import annotations

import asyncio
import socket

import orjson
import pytest
from aiohttp import web

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.okx.rest import InstrumentRefused, OkxRest, RestAnswerLost, RestNotSent
from hftlab.sim.testing import STILL_SPOT

pytestmark = pytest.mark.timeout(30)


class Peer:
    def __init__(self):
        self.requests: list[tuple[str, str, dict, str]] = []
        self.answers: list = []  # what POSTs get, in order: (status, body) or a number of seconds to hang

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        if request.method == "GET":
            rec = {**STILL_SPOT.to_okx(), "instIdCode": None} if request.query.get("instId") == "NUL-USDT" \
                else STILL_SPOT.to_okx()
            return web.json_response({"code": "0", "msg": "", "data": [rec]})
        answer = self.answers.pop(0)
        if isinstance(answer, float):
            await asyncio.sleep(answer)
        status, doc = answer if not isinstance(answer, float) else (200, {"code": "0", "data": []})
        return web.Response(status=status, body=orjson.dumps(doc), content_type="application/json")


@pytest.fixture
async def peer():
    p = Peer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", p.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    p.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield p
    await runner.cleanup()


async def test_instruments_come_with_the_demo_header_and_a_null_code_is_refused_by_name(peer):
    async with OkxRest(peer.url, SIM_CREDENTIALS, demo=True) as rest:
        (spec,) = await rest.trading_specs(["TST-USDT"])
        assert spec.inst_id_code == STILL_SPOT.inst_id_code
        with pytest.raises(InstrumentRefused, match="NUL-USDT"):
            await rest.trading_specs(["NUL-USDT"])
    assert [r[1] for r in peer.requests] == ["/api/v5/public/instruments?instType=SPOT&instId=TST-USDT",
                                             "/api/v5/public/instruments?instType=SPOT&instId=NUL-USDT"]
    assert all(r[2].get("x-simulated-trading") == "1" for r in peer.requests)


async def test_a_write_is_signed_carries_its_deadline_and_is_never_retried(peer):
    peer.answers = [(500, {"code": "50001", "msg": "busy", "data": []}),
                    (200, {"code": "0", "msg": "", "data": [{"sCode": "0"}], "inTime": "5", "outTime": "7"})]
    sent: list[int] = []
    async with OkxRest(peer.url, SIM_CREDENTIALS) as rest:
        busy = await rest.post("/trade/order", {"instId": "TST-USDT"}, exp_time_ms=123, on_sent=sent.append)
        ok = await rest.post("/trade/batch-orders", [{"instId": "TST-USDT"}] * 2)
    assert (busy.status, busy.code, busy.data) == (500, "50001", []) and len(peer.requests) == 2  # no retry
    assert (ok.code, ok.data, ok.in_time_us, ok.out_time_us) == ("0", [{"sCode": "0"}], 5, 7)
    method, path, headers, body = peer.requests[0]
    assert (method, path, headers["expTime"], orjson.loads(body)) == ("POST", "/api/v5/trade/order", "123",
                                                                       {"instId": "TST-USDT"})
    assert {"OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE"} <= set(headers)
    assert "expTime" not in peer.requests[1][2] and len(sent) == 1


async def test_a_write_never_sent_and_a_write_whose_answer_was_lost(peer):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with OkxRest(f"http://127.0.0.1:{closed}", SIM_CREDENTIALS) as rest:
        with pytest.raises(RestNotSent):
            await rest.post("/trade/order", {})
    peer.answers = [1.0]
    async with OkxRest(peer.url, SIM_CREDENTIALS) as rest:
        with pytest.raises(RestAnswerLost):
            await rest.post("/trade/order", {}, timeout_s=0.2)
    assert len(peer.requests) == 1  # it did arrive: the answer is what was lost


class SkewedVenue:
    """A venue whose clock is `skew_s` ahead of ours and that refuses, as OKX does, a signature whose
    timestamp is more than 30 s off its clock (50102)."""

    def __init__(self, skew_s: float):
        self.skew_s = skew_s
        self.refused = 0
        self.accepted = 0

    def now(self) -> float:
        import time

        return time.time() + self.skew_s

    async def handle(self, request: web.Request) -> web.Response:
        from hftlab.okx import auth

        if request.path == "/api/v5/public/time":
            return web.json_response({"code": "0", "msg": "", "data": [{"ts": str(int(self.now() * 1000))}]})
        ts = auth.parse_rest_timestamp(request.headers["OK-ACCESS-TIMESTAMP"])
        if abs(self.now() - ts) > auth.MAX_SKEW_S:
            self.refused += 1
            return web.json_response({"code": "50102", "msg": "Timestamp request expired", "data": []})
        self.accepted += 1
        return web.json_response({"code": "0", "msg": "", "data": []})


@pytest.fixture
async def skewed():
    v = SkewedVenue(90.0)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", v.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    v.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield v
    await runner.cleanup()


async def test_signatures_carry_the_venues_time_once_a_50102_has_measured_it(skewed):
    """With our clock 90 s behind the venue's, every signed request was refused for ever (50102)."""
    async with OkxRest(skewed.url, SIM_CREDENTIALS) as rest:
        assert await rest.orders_pending() == []  # refused once, the offset measured, signed again
        assert skewed.refused == 1 and skewed.accepted == 1
        assert 85 < rest.clock_offset_s < 95
        answer = await rest.post("/trade/order", {"instId": "TST-USDT"})
        assert answer.code == "0" and skewed.refused == 1  # a write is signed right from the start


async def test_a_write_refused_for_its_timestamp_is_not_retried_but_the_next_one_is_signed_right(skewed):
    async with OkxRest(skewed.url, SIM_CREDENTIALS) as rest:
        first = await rest.post("/trade/order", {"instId": "TST-USDT"})
        assert first.code == "50102" and skewed.accepted == 0  # refused, not executed: not resent
        second = await rest.post("/trade/order", {"instId": "TST-USDT"})
        assert second.code == "0" and (skewed.refused, skewed.accepted) == (1, 1)
