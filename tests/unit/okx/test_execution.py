"""OrderChannel: op ids and their answers, the socket an op went out on, reconciliation, push routing."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from hftlab.okx.events import ErrorEvent, OpResponse, PrivatePush
from hftlab.okx.execution import NotSent, OrderChannel
from hftlab.okx.rest import RestError

pytestmark = pytest.mark.timeout(30)


class FakeConn:
    """The part of a private `Connection` the channel uses."""

    role = "private"

    def __init__(self):
        self.ready = True
        self.closed = asyncio.get_running_loop().create_future()
        self.close_reason = ""
        self.sent: list[dict] = []

    async def send(self, payload) -> None:
        self.sent.append(orjson.loads(orjson.dumps(payload)))

    def close(self, reason: str) -> None:
        self.close_reason = reason
        self.closed.set_result(None)


class FakeRest:
    def __init__(self, answers):
        self.answers = list(answers)

    async def orders_pending(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Harness:
    def __init__(self, rest_answers=(), reconcile_orders=True):
        self.pushes: list[PrivatePush] = []
        self.open_orders: list[list[dict]] = []
        self.tasks: list[asyncio.Task] = []
        self.orders = OrderChannel(FakeRest(rest_answers), on_push=self.pushes.append, spawn=self.spawn,
                                   reconcile_orders=reconcile_orders, on_open_orders=self.open_orders.append)

    def spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task


async def sent_op(conn: FakeConn, n: int = 1) -> dict:
    while len(conn.sent) < n:
        await asyncio.sleep(0)
    return conn.sent[n - 1]


async def test_an_op_is_answered_by_the_response_with_its_id():
    h = Harness(reconcile_orders=False)
    conn = FakeConn()
    h.orders.attach(conn)
    assert h.orders.ready
    task = asyncio.create_task(h.orders.send_op("order", [{"instIdCode": 1, "sz": "1"}], exp_time_ms=1700000000000))
    req = await sent_op(conn)
    assert req == {"id": req["id"], "op": "order", "args": [{"instIdCode": 1, "sz": "1"}], "expTime": "1700000000000"}
    h.orders.on_answer(OpResponse("o999", "order", "0", "", [], 1))  # someone else's answer
    h.orders.on_answer(ErrorEvent("60012", "bad", None, None))  # an error about no op
    await asyncio.sleep(0)
    assert not task.done()
    answer = OpResponse(req["id"], "order", "0", "", [{"ordId": "7", "sCode": "0"}], 2)
    h.orders.on_answer(answer)
    assert await task is answer and h.orders.stats.ops_sent == 1


async def test_an_error_event_naming_the_op_is_its_answer():
    h = Harness(reconcile_orders=False)
    conn = FakeConn()
    h.orders.attach(conn)
    task = asyncio.create_task(h.orders.send_op("cancel-order", [{"instIdCode": 1, "ordId": "7"}]))
    req = await sent_op(conn)
    h.orders.on_answer(ErrorEvent("50011", "Rate limit reached", "c1", req["id"]))
    resp = await task
    assert (resp.id, resp.code, resp.msg, resp.data) == (req["id"], "50011", "Rate limit reached", [])


async def test_not_sent_without_a_ready_socket_unknown_without_an_answer():
    h = Harness(reconcile_orders=False)
    with pytest.raises(NotSent):
        await h.orders.send_op("order", [])
    conn = FakeConn()
    h.orders.attach(conn)
    with pytest.raises(TimeoutError):
        await h.orders.send_op("order", [], timeout_s=0.01)
    conn.ready = False
    with pytest.raises(NotSent):
        await h.orders.send_op("order", [])
    assert (h.orders.stats.ops_not_sent, h.orders.stats.ops_sent, h.orders.stats.op_failures) == (2, 1, 1)


async def test_a_closing_socket_fails_only_the_ops_sent_on_it():
    """A 64008 rollover: ops sent on the old socket cannot be answered once it closes; ops sent on
    the successor are not affected."""
    h = Harness(reconcile_orders=False)
    old, new = FakeConn(), FakeConn()
    h.orders.attach(old)
    on_old = asyncio.create_task(h.orders.send_op("order", [{"clOrdId": "1"}]))
    await sent_op(old)
    h.orders.attach(new)
    on_new = asyncio.create_task(h.orders.send_op("order", [{"clOrdId": "2"}]))
    req = await sent_op(new)
    old.close("retired after 64008 rollover")
    h.orders.detach(old)
    with pytest.raises(ConnectionError, match="retired"):
        await on_old
    assert h.orders.ready, "the successor still serves"
    h.orders.on_answer(OpResponse(req["id"], "order", "0", "", [], 3))
    assert (await on_new).code == "0"
    new.close("lost")
    h.orders.detach(new)
    assert not h.orders.ready


async def test_every_attach_reconciles_open_orders_over_rest():
    orders = [{"ordId": "1", "clOrdId": "a"}, {"ordId": "2", "clOrdId": "b"}]
    h = Harness(rest_answers=[orders, RestError("/trade/orders-pending", "50001", "busy"), []])
    h.orders.attach(FakeConn())
    await asyncio.gather(*h.tasks)
    assert set(h.orders.open_orders) == {"1", "2"} and h.open_orders == [orders]
    h.orders.attach(FakeConn())  # a reconnect whose reconciliation fails: what was known stays
    await asyncio.gather(*h.tasks)
    assert set(h.orders.open_orders) == {"1", "2"} and h.orders.stats.reconcile_failures == 1
    assert await h.orders.reconcile() == [] and h.orders.open_orders == {}
    assert h.orders.stats.reconciles == 2 and h.open_orders == [orders, []]


async def test_no_reconciliation_when_disabled_and_pushes_go_to_their_sink():
    h = Harness(reconcile_orders=False)
    h.orders.attach(FakeConn())
    assert h.tasks == []
    push = PrivatePush("orders", {"channel": "orders", "instType": "ANY"}, [{"ordId": "1"}], 1)
    h.orders.route(push)
    assert h.pushes == [push]


async def test_the_sent_hook_hears_the_wall_time_once_the_frame_is_written():
    h = Harness(reconcile_orders=False)
    conn = FakeConn()
    h.orders.attach(conn)
    sent: list[tuple[int, int]] = []
    task = asyncio.create_task(h.orders.send_op("order", [{"clOrdId": "1"}],
                                                on_sent=lambda ns: sent.append((ns, len(conn.sent)))))
    req = await sent_op(conn)
    ((ns, frames),) = sent
    assert frames == 1 and ns > 1_600_000_000 * 10**9  # after the write, on the wall clock
    h.orders.on_answer(OpResponse(req["id"], "order", "0", "", [], 3))
    await task
    conn.ready = False
    with pytest.raises(NotSent):
        await h.orders.send_op("order", [], on_sent=lambda ns: sent.append((ns, 0)))
    assert len(sent) == 1  # nothing left, nothing heard


async def test_the_venue_takes_the_pushes_and_hears_losses_but_not_rollovers():
    h = Harness(reconcile_orders=False)
    pushes, states = [], []
    first, successor, third = FakeConn(), FakeConn(), FakeConn()
    h.orders.attach(first)  # up before the venue listens: no event, and no loss pending
    h.orders.take_private(pushes.append, lambda up, why: states.append((up, why)))
    h.orders.attach(successor)  # a 64008 rollover: up all along
    first.close("retired after 64008 rollover")
    h.orders.detach(first)
    assert states == []
    successor.close("close 1006")
    h.orders.detach(successor)
    h.orders.attach(third)
    assert states == [(False, "close 1006"), (True, "")]
    push = PrivatePush("orders", {"channel": "orders", "instType": "ANY"}, [{"ordId": "1"}], 1)
    h.orders.route(push)
    assert pushes == [push] and h.pushes == []
async def test_answered_ops_are_timed_by_op_and_refused_items_counted_by_scode():
    import time

    h = Harness(reconcile_orders=False)
    conn = FakeConn()
    h.orders.attach(conn)
    task = asyncio.create_task(h.orders.send_op("batch-orders", [{"instIdCode": 1}, {"instIdCode": 1}]))
    req = await sent_op(conn)
    h.orders.on_answer(OpResponse(req["id"], "batch-orders", "2", "", [{"sCode": "0"}, {"sCode": "51008"}],
                                  time.time_ns() + 40_000_000, 1_000_000, 1_250_000))
    await task
    task = asyncio.create_task(h.orders.send_op("cancel-order", [{"instIdCode": 1, "ordId": "7"}]))
    req = await sent_op(conn, 2)
    h.orders.on_answer(ErrorEvent("50011", "Rate limit reached", "c1", req["id"]))
    await task
    lat, stats = h.orders.latency, h.orders.stats
    assert dict(stats.rejects) == {"51008": 1, "50011": 1}
    assert lat.ack["batch-orders"].count == lat.ack["cancel-order"].count == 1
    assert lat.ack["batch-orders"].sum >= 0.04, "request sent -> answer received"
    assert lat.gateway["batch-orders"].sum == 0.25, "OKX's outTime - inTime"
    assert "cancel-order" not in lat.gateway, "an error event carries no gateway stamps"
