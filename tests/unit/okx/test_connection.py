"""One socket over a stand-in WebSocket: keepalive verdicts, subscribe acks and refusals, login, close."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.okx.config import ClientConfig
from hftlab.okx.connection import Connection, LoginError, SocketStats
from hftlab.okx.events import ErrorEvent, Login, Subscribed

pytestmark = pytest.mark.timeout(30)


class FakeWs:
    """The part of a websockets connection `Connection` uses; `answer_pings` plays a live venue."""

    def __init__(self, answer_pings: bool = False):
        self.sent: list[str] = []
        self.answer_pings = answer_pings
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.aborted = False
        self.close_code, self.close_reason = None, None
        self.transport = self

    async def send(self, text: str) -> None:
        self.sent.append(text)
        if text == "ping" and self.answer_pings:
            self.incoming.put_nowait("pong")

    def abort(self) -> None:
        self.aborted = True
        self.incoming.put_nowait(None)

    async def close(self) -> None:
        self.close_code, self.close_reason = 1000, ""
        self.incoming.put_nowait(None)

    def __aiter__(self):
        return self

    async def __anext__(self):
        item = await self.incoming.get()
        if item is None:
            raise StopAsyncIteration
        return item

    def requests(self) -> list[dict]:
        return [orjson.loads(t) for t in self.sent if t != "ping"]


class Harness:
    def __init__(self, ws: FakeWs, **config):
        self.frames: list[tuple[str, int]] = []
        self.refused: list[tuple[tuple[str, str], str, bool]] = []
        self.closed: list[Connection] = []
        self.stats = SocketStats()
        self.conn = Connection("public", "ws://test", ws, ClientConfig(**config), stats=self.stats,
                               on_frame=lambda conn, raw, ns: self.frames.append((raw, ns)),
                               on_refused=lambda key, reason, permanent: self.refused.append((key, reason, permanent)),
                               on_closed=self.closed.append)


async def until(pred, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def test_a_silent_socket_without_pong_is_declared_dead():
    ws = FakeWs()
    h = Harness(ws, ping_interval_s=0.05, pong_timeout_s=0.05)
    h.conn.start()
    await asyncio.wait_for(asyncio.shield(h.conn.closed), 10)
    assert ws.sent == ["ping"] and ws.aborted
    assert h.stats.pings == 1 and h.stats.pong_timeouts == 1
    assert h.conn.close_reason == "no pong within 0.05 s" and not h.conn.retired
    assert h.closed == [h.conn]


async def test_pongs_keep_a_silent_socket_alive_and_are_not_frames_for_the_owner():
    ws = FakeWs(answer_pings=True)
    h = Harness(ws, ping_interval_s=0.02, pong_timeout_s=0.2)
    h.conn.start()
    await until(lambda: h.stats.pongs >= 3, what="three pongs")
    assert h.stats.pong_timeouts == 0 and not h.conn.closed.done()
    ws.incoming.put_nowait('{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}')
    await until(lambda: h.frames, what="the data frame")
    assert [raw for raw, _ in h.frames] == ['{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}']
    assert h.frames[0][1] > 0 and h.stats.frames == h.stats.pongs + 1
    await h.conn.close("test over")
    assert h.conn.retired and h.conn.close_reason == "test over" and h.closed == [h.conn]


async def test_subscribe_waits_for_every_answer_and_reports_refusals():
    ws = FakeWs()
    h = Harness(ws)
    args = [{"channel": "books", "instId": i} for i in ("BTC-USDT", "ETH-USDT", "NOPE-USDT")]
    task = asyncio.create_task(h.conn.subscribe(args))
    await until(lambda: ws.requests(), what="the subscribe request")
    (req,) = ws.requests()
    assert req["op"] == "subscribe" and req["args"] == args and h.stats.subscribe_requests == 1
    for a in args[:2]:
        h.conn.handle_control(Subscribed(a, "c1", id=req["id"]))
    assert not task.done()
    h.conn.handle_control(ErrorEvent("60018", "Wrong URL or channel", "c1", req["id"]))
    await asyncio.wait_for(task, 5)
    assert h.refused == [(("books", "NOPE-USDT"), "60018 Wrong URL or channel", True)]
    assert set(h.conn.args) == {("books", "BTC-USDT"), ("books", "ETH-USDT")}  # refused for good
    assert h.stats.error_events == {"60018": 1} and h.conn.conn_id == "c1"


async def test_a_transient_refusal_keeps_the_arg_for_the_next_attempt():
    ws = FakeWs()
    h = Harness(ws)
    arg = {"channel": "books", "instId": "BTC-USDT"}
    task = asyncio.create_task(h.conn.subscribe([arg]))
    await until(lambda: ws.requests(), what="the subscribe request")
    h.conn.handle_control(ErrorEvent("60014", "Requests too frequent", None, ws.requests()[0]["id"]))
    await asyncio.wait_for(task, 5)
    assert h.refused == [(("books", "BTC-USDT"), "60014 Requests too frequent", False)]
    assert ("books", "BTC-USDT") in h.conn.args


async def test_missing_acks_do_not_block_beyond_the_ack_timeout():
    ws = FakeWs()
    h = Harness(ws, ack_timeout_s=0.05)
    await asyncio.wait_for(h.conn.subscribe([{"channel": "trades", "instId": "BTC-USDT"}]), 5)
    assert ("trades", "BTC-USDT") in h.conn.args and not h.refused


async def test_login_is_answered_and_refusals_raise():
    ws = FakeWs()
    h = Harness(ws)
    task = asyncio.create_task(h.conn.login(SIM_CREDENTIALS))
    await until(lambda: ws.requests(), what="the login request")
    req = ws.requests()[0]
    assert req["op"] == "login" and {"apiKey", "passphrase", "timestamp", "sign"} <= set(req["args"][0])
    h.conn.handle_control(Login("0", "", "c9"))
    await asyncio.wait_for(task, 5)
    task = asyncio.create_task(h.conn.login(SIM_CREDENTIALS))
    await until(lambda: len(ws.requests()) == 2, what="the second login request")
    h.conn.handle_control(ErrorEvent("60009", "Login failure"))
    with pytest.raises(LoginError, match="60009"):
        await asyncio.wait_for(task, 5)
    assert h.stats.login_failures == 1
    with pytest.raises(LoginError, match="without credentials"):
        await h.conn.login(None)


async def test_closing_fails_everything_waiting_on_the_socket():
    ws = FakeWs()
    h = Harness(ws, ack_timeout_s=30.0)
    h.conn.start()
    task = asyncio.create_task(h.conn.subscribe([{"channel": "books", "instId": "BTC-USDT"}]))
    await until(lambda: ws.requests(), what="the subscribe request")
    await h.conn.close("client closing")
    await asyncio.wait_for(task, 5)  # returns at once: the connection is gone
    assert h.conn.closed.done() and h.closed == [h.conn]
    assert not await h.conn.resubscribe({"channel": "books", "instId": "BTC-USDT"})


async def test_a_reader_that_fails_aborts_the_socket_is_counted_and_takes_the_keepalive_with_it():
    """An exception the reader does not expect (here from the frame handler) must not leave a socket
    that nobody reads: the socket is aborted, `closed` resolves, the keepalive ends with it."""
    ws = FakeWs(answer_pings=True)
    stats = SocketStats()

    def bad_handler(conn, raw, ns):
        raise RuntimeError("handler bug")

    conn = Connection("public", "ws://test", ws, ClientConfig(ping_interval_s=0.02), stats=stats,
                      on_frame=bad_handler, on_refused=lambda *a: None)
    conn.start()
    ws.incoming.put_nowait('{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}')
    await asyncio.wait_for(asyncio.shield(conn.closed), 10)
    await until(lambda: not [t for t in asyncio.all_tasks() if t.get_name().startswith("okx-")],
                what="the reader and keepalive tasks to end")
    assert stats.task_failures == {"reader": 1} and ws.aborted
    assert "RuntimeError: handler bug" in conn.close_reason


async def test_login_signs_with_the_venues_time_and_names_the_refusal_code():
    ws = FakeWs()
    h = Harness(ws)
    task = asyncio.create_task(h.conn.login(SIM_CREDENTIALS, now=1_700_000_000.75))
    await until(lambda: ws.requests(), what="the login request")
    assert ws.requests()[0]["args"][0]["timestamp"] == "1700000000"
    h.conn.handle_control(ErrorEvent("60006", "Timestamp request expired"))
    with pytest.raises(LoginError) as err:
        await asyncio.wait_for(task, 5)
    assert err.value.code == "60006"
