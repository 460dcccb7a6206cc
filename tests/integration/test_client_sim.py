"""AsyncOKXClient against the real simulator on loopback: reconnects, 64008 rollover, gaps, stalls, errors.

Every fault comes from `hftlab.sim` (the only OKX stand-in); the client is the production code with
its timing knobs shrunk so each scenario takes a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest

from hftlab.core.ratelimit import TokenBucket
from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.okx.book import BookKeeper, SeedResult, Status
from hftlab.okx.channels import Endpoints, args_for
from hftlab.okx.client import AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import BookMsg, PrivatePush, Trade
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer

pytestmark = pytest.mark.timeout(60)

FAST = dict(ping_interval_s=0.5, pong_timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.3, stable_after_s=0.5,
            rollover_grace_s=0.3, ack_timeout_s=3.0, snapshot_timeout_s=2.0, stale_after_s=30.0)
INST = "BTC-USDT"


class Consumer:
    """What an application does with the client: own and apply the books, keep what arrived."""

    def __init__(self, client: AsyncOKXClient, keeper: BookKeeper):
        self.client = client
        self.keeper = keeper
        self.trades: dict[str, list[Trade]] = defaultdict(list)
        self.statuses: list[tuple[str, Status]] = []
        self.private: list[PrivatePush] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            ev = await self.client.get()
            if isinstance(ev, BookMsg):
                self.statuses.append((ev.inst_id, self.keeper.apply(ev)))
            elif isinstance(ev, Trade):
                self.trades[ev.inst_id].append(ev)
            elif isinstance(ev, PrivatePush):
                self.private.append(ev)

    def book(self, inst: str = INST):
        return self.keeper.books.get(("books", inst))

    def valid(self, inst: str = INST) -> bool:
        return self.keeper.get("books", inst) is not None


async def until(pred, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def sim():
    async with SimServer(SimConfig(seed=3, book_interval_ms=50), idle_timeout_s=2.0) as s:
        yield s


def endpoints(sim: SimServer) -> Endpoints:
    return Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))


@pytest.fixture
async def connect(sim):
    made = []

    async def make(channels=("books", "trades"), symbols=(INST,), credentials=None, **opts):
        keeper = BookKeeper()
        client = AsyncOKXClient(endpoints(sim), ClientConfig(**{**FAST, **opts}), credentials=credentials,
                                books=keeper, connect_limiter=TokenBucket(3.0, 3.0))
        await client.start()
        consumer = Consumer(client, keeper)
        made.append((client, consumer))
        await client.subscribe(args_for(channels, symbols))
        return client, consumer

    yield make
    for client, consumer in made:
        consumer.task.cancel()
        await client.close()


def assert_contiguous(trades: list[Trade]) -> None:
    """The simulator numbers maker fills consecutively; a `trades` message carries the last id and
    the number of fills, so id - count == the previous id unless a message is missing."""
    ids = [int(t.trade_id) for t in trades]
    assert len(ids) == len(set(ids)), "a trade was delivered twice"
    for prev, t in zip(trades, trades[1:]):
        assert int(t.trade_id) - t.count == int(prev.trade_id), f"trade gap before {t.trade_id}"


async def test_reconnect_after_a_dropped_connection_serves_no_stale_book(sim, connect):
    client, c = await connect()
    await until(lambda: c.valid() and len(c.trades[INST]) >= 2, what="a valid book and trades")
    sim.faults.drop("public")
    await until(lambda: not client.connected("public") or client.stats.reconnects["public"], what="the loss")
    await until(lambda: client.stats.reconnects["public"] == 1 and client.connected("public"), what="the reconnect")
    assert client.stats.books.books_invalidated_on_loss >= 1, "the book must stop being served when its socket dies"
    await until(lambda: c.valid(), what="a fresh snapshot")
    book = c.book()
    assert book.stats.snapshots == 2 and book.stats.breaks == 0
    assert client.stats.connects["public"] == 2


async def test_notice_64008_rolls_over_with_no_gap_and_no_duplicate(sim, connect):
    client, c = await connect(symbols=("BTC-USDT", "ETH-USDT"))
    await until(lambda: c.valid("BTC-USDT") and c.valid("ETH-USDT") and len(c.trades["BTC-USDT"]) >= 3,
                what="books and trades")
    first_conn = client._conns["public"]
    sim.faults.notice("public", close_after_s=3.0)
    await until(lambda: client.stats.rollovers["public"] == 1, what="the rollover")
    await until(lambda: first_conn.closed.done(), what="the old socket to be retired")
    n = len(c.trades["BTC-USDT"])
    await until(lambda: len(c.trades["BTC-USDT"]) >= n + 5, what="trades after the rollover")
    assert client.stats.reconnects["public"] == 0, "a rollover is not a loss"
    assert client._conns["public"] is not first_conn and client.connected("public")
    for inst in ("BTC-USDT", "ETH-USDT"):
        assert_contiguous(c.trades[inst])
        assert c.book(inst).stats.breaks == 0 and c.valid(inst)
    assert not [s for _, s in c.statuses if s in (Status.BREAK, Status.MISMATCH)]
    assert sum(client.stats.overlap.duplicates.values()) > 0, "the overlap delivered everything twice; one copy dropped"


async def test_a_sequence_gap_invalidates_the_book_and_resubscribes_once(sim, connect):
    client, c = await connect(channels=("books",))
    await until(c.valid, what="a valid book")
    sim.faults.skip_seq(INST)
    await until(lambda: c.book().stats.breaks == 1, what="the break")
    await until(c.valid, what="the book to be valid again")
    book = c.book()
    assert book.stats.resyncs == 1 and client.stats.books.resubscribes == 1
    assert book.stats.snapshots == 2
    assert client.stats.reconnects["public"] == 0
    assert any(f.kind == "skip_seq" for f in sim.fault_log)


async def test_updates_arriving_during_the_resync_do_not_trigger_more(sim, connect):
    client, c = await connect(channels=("books",))
    await until(c.valid, what="a valid book")
    sim.faults.reorder("books", INST)  # one update held back and sent after the next: a break
    await until(lambda: c.book().stats.breaks >= 1, what="the break")
    await until(c.valid, what="recovery")
    assert c.book().stats.resyncs == 1 and client.stats.books.resubscribes == 1
    assert client.stats.overlap.duplicates["books"] == 1, "the late update is recognised as stale and dropped"


async def test_a_duplicated_book_update_is_dropped_not_a_resync(sim, connect):
    client, c = await connect(channels=("books",))
    await until(c.valid, what="a valid book")
    sim.faults.duplicate("books", INST, count=3)
    await until(lambda: client.stats.overlap.duplicates["books"] == 3, what="the duplicates")
    assert c.book().stats.breaks == 0 and c.book().stats.resyncs == 0 and c.valid()


async def test_a_stalled_book_is_resynced_by_the_stale_watchdog(sim, connect):
    client, c = await connect(channels=("books",), stale_after_s=0.6)
    await until(c.valid, what="a valid book")
    sim.faults.stall("books", INST, duration_s=2.0)
    await until(lambda: client.stats.books.stale_resyncs >= 1, what="the stale watchdog")
    await until(lambda: c.valid() and c.book().stats.snapshots >= 2, what="a fresh snapshot")
    assert client.stats.books.resubscribes >= 1 and client.stats.reconnects["public"] == 0


async def test_a_silent_socket_is_kept_alive_by_text_pings(sim, connect):
    """Every channel stalled for longer than the venue's idle limit (2 s here): the client's text
    pings get pongs, so the venue never closes the socket for silence."""
    client, c = await connect(channels=("trades",), ping_interval_s=0.3)
    await until(lambda: client.connected("public"), what="the connection")
    sim.faults.stall(None, None, duration_s=3.0)
    await asyncio.sleep(3.2)
    assert client.stats.sockets.pings >= 3 and client.stats.sockets.pongs >= 3
    assert client.stats.sockets.pong_timeouts == 0 and client.stats.reconnects["public"] == 0


async def test_without_pings_the_venue_closes_an_idle_socket_and_the_client_comes_back(sim, connect):
    # the longest interval OKX allows (< 30 s) is far beyond this venue's 2 s idle limit
    client, c = await connect(channels=("trades",), ping_interval_s=29.0)
    await until(lambda: client.connected("public"), what="the connection")
    sim.faults.stall(None, None, duration_s=2.5)
    await until(lambda: client.stats.reconnects["public"] >= 1, timeout=8, what="the venue's 4004 close")
    assert "4004" in client.last_close["public"]
    await until(lambda: client.connected("public"), what="the reconnect")


async def test_okx_error_events_are_counted_and_the_rest_keeps_working(sim, connect):
    client, c = await connect(channels=("books",), symbols=(INST, "NOPE-USDT"))
    await until(c.valid, what="the good subscription")
    await until(lambda: ("books", "NOPE-USDT") in client.failed_args, what="the refusal")
    assert client.stats.sockets.error_events["60018"] == 1
    assert ("books", "NOPE-USDT") not in client._desired, "a permanently refused arg is not retried"
    # a malformed frame and an unknown channel: counted, and the reader carries on
    conn = client._conns["public"]
    client._on_frame(conn, "{not json", time.time_ns())
    client._on_frame(conn, '{"arg":{"channel":"mystery","instId":"BTC-USDT"},"data":[{}]}', time.time_ns())
    assert client.stats.parse_errors == 2
    n = c.book().stats.updates
    await until(lambda: c.book().stats.updates > n, what="updates after the bad frames")


async def test_rest_rate_limit_is_retried(sim):
    from hftlab.okx.rest import OkxRest

    sim.faults.rate_limit("rest", count=1)
    async with OkxRest(sim.rest_url) as rest:
        data0 = await rest.books(INST, 5)
        assert rest.retried == 1 and data0["seqId"] > 0 and len(data0["bids"]) == 5
        codes = await rest.inst_id_codes("SPOT")
        assert codes[INST] == 1000000001


async def test_instrument_specs_from_the_simulators_listing_are_its_own(sim):
    """What `/api/v5/public/instruments` serves, converted at the edge, is exactly the simulator's
    own reference data (`Instrument.spec()`)."""
    from hftlab.domain.instruments import InstType
    from hftlab.okx.rest import OkxRest
    from hftlab.sim.instruments import default_instruments

    async with OkxRest(sim.rest_url) as rest:
        for inst_type in InstType:
            specs = await rest.instrument_specs(inst_type)
            expected = [i.spec() for i in default_instruments() if i.inst_type == inst_type.value]
            assert specs and sorted(specs, key=lambda s: s.inst_id) == sorted(expected, key=lambda s: s.inst_id)


async def test_private_login_reconcile_orders_and_relogin_after_a_drop(sim, connect):
    client, c = await connect(channels=("orders", "account"), credentials=SIM_CREDENTIALS)
    await until(lambda: client.connected("private") and client.stats.orders.reconciles == 1, what="login + reconcile")
    codes = await client.rest.inst_id_codes("SPOT")
    book = await client.rest.books(INST, 1)
    bid = float(book["bids"][0][0])
    resp = await client.orders.send_op("order", [{"instIdCode": codes[INST], "tdMode": "cash", "side": "buy",
                                           "ordType": "limit", "px": f"{bid * 0.9:.1f}", "sz": "0.001",
                                           "clOrdId": "recon1"}])
    assert resp.code == "0", resp
    ord_id = resp.data[0]["ordId"]
    await until(lambda: any(p.channel == "orders" and p.data[0].get("ordId") == ord_id for p in c.private),
                what="the orders push")
    sim.faults.drop("private")
    await until(lambda: client.stats.reconnects["private"] == 1 and client.stats.orders.reconciles == 2,
                what="re-login, resubscribe and a second reconciliation")
    assert ord_id in client.orders.open_orders, "the open order is known again after the reconnect"
    assert client.stats.sockets.login_failures == 0
    # the WS trading op path keeps working on the new socket; a rate-limited op is answered, not lost
    sim.faults.rate_limit("ws", count=1)
    limited = await client.orders.send_op("cancel-order", [{"instIdCode": codes[INST], "ordId": ord_id}])
    assert limited.code == "50011"
    done = await client.orders.send_op("cancel-order", [{"instIdCode": codes[INST], "ordId": ord_id}])
    assert done.code == "0"


async def test_delayed_op_acks_are_awaited_and_a_bad_login_is_refused(sim, connect):
    from pydantic import SecretStr

    from hftlab.core.secrets import Credentials

    client, c = await connect(channels=("orders",), credentials=SIM_CREDENTIALS)
    await until(lambda: client.connected("private"), what="login")
    sim.faults.delay_acks(300, count=1)
    resp = await client.orders.send_op("cancel-order", [{"instIdCode": 1000000001, "ordId": "1"}], timeout_s=3)
    assert resp.code == "1" and resp.data[0]["sCode"] != "0", "answered (late), as a refusal of an unknown order"
    bad = Credentials(SecretStr("hftlab-sim-key"), SecretStr("wrong-secret"), SecretStr("hftlab-sim-passphrase"))
    client2, _ = await connect(channels=("orders",), credentials=bad)
    await until(lambda: client2.stats.sockets.login_failures >= 1, what="the refusal")
    assert not client2.connected("private") and client2.stats.sockets.error_events


async def test_no_pong_in_time_means_a_dead_socket_and_a_new_one(sim, connect, monkeypatch):
    """A venue that stopped answering: no data (stalled) and no pong to the client's pings. The
    client gives up on the socket long before the venue's own idle close (2 s)."""
    answer = sim.ws.on_text

    async def deaf_to_pings(session, text):
        if text != "ping":
            await answer(session, text)

    monkeypatch.setattr(sim.ws, "on_text", deaf_to_pings)
    client, c = await connect(channels=("trades",), ping_interval_s=0.2, pong_timeout_s=0.5)
    await until(lambda: client.connected("public"), what="the connection")
    sim.faults.stall(None, None, duration_s=5.0)
    await until(lambda: client.stats.sockets.pong_timeouts >= 1 and client.stats.reconnects["public"] >= 1,
                what="the dead-socket verdict and the reconnect")
    assert client.last_close["public"].startswith("no pong")


async def test_a_book_without_a_ws_snapshot_is_seeded_from_rest(sim, connect):
    """Protocol §3.4 (OKX announced the end of the initial WS snapshot): updates buffered while the
    book waits + the REST `/market/books` snapshot make a valid book that keeps chaining."""
    client, c = await connect(channels=("books",))
    await until(c.valid, what="a valid book")
    c.keeper.bind_resync(lambda *a: None)  # the venue sends no snapshot for this book any more
    c.keeper.invalidate("books", INST, "test: snapshot withheld")
    await until(lambda: c.book().stats.ignored >= 3, what="updates buffered while the book waits")
    assert not c.valid()
    assert await client.health.seed("books", INST) is SeedResult.SEEDED
    assert client.stats.books.rest_seeds["seeded"] == 1 and c.valid()
    n = c.book().stats.updates
    await until(lambda: c.book().stats.updates > n + 3, what="live updates chaining onto the seeded book")
    assert c.book().stats.breaks == 0 and c.valid()


async def test_subscriptions_can_change_while_connected(sim, connect):
    client, c = await connect(channels=("books",))
    await until(c.valid, what="a valid book")
    await client.subscribe(args_for(["trades", "books"], ["ETH-USDT"]))
    await until(lambda: c.valid("ETH-USDT") and c.trades["ETH-USDT"], what="the added subscriptions")
    await client.unsubscribe(args_for(["books"], [INST]))
    await asyncio.sleep(0.3)  # let in-flight pushes land
    n = c.book(INST).stats.updates + c.book(INST).stats.ignored
    m = c.book("ETH-USDT").stats.updates
    await until(lambda: c.book("ETH-USDT").stats.updates > m + 5, what="more ETH updates")
    assert c.book(INST).stats.updates + c.book(INST).stats.ignored == n, "no BTC book pushes after unsubscribe"
    assert client.stats.connects["public"] == 1 and client.stats.sockets.subscribe_requests == 2


async def test_closing_during_a_64008_rollover_grace_closes_both_sockets_and_every_task(sim, connect):
    """The venue closed the old socket during the grace: its keepalive lived on after client.close()."""
    client, c = await connect(rollover_grace_s=30.0)
    await until(lambda: c.valid(), what="a valid book")
    sim.faults.notice("public", close_after_s=1.0)
    await until(lambda: client.stats.rollovers["public"] == 1, what="the successor up (the grace begins)")
    await until(lambda: sim.stats.connections_open == 1, what="the venue closing the old socket")
    c.task.cancel()
    await client.close()
    await until(lambda: sim.stats.connections_open == 0, what="the venue to see every socket closed")
    left = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("okx-")]
    assert left == [], left
