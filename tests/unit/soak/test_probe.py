"""The probe's trade accounting: a gap is put down to the policy that explains it, or is unexplained."""

from __future__ import annotations

from hftlab.okx.channels import Endpoints
from hftlab.okx.events import Trade
from hftlab.soak.oracle import BookOracle
from hftlab.soak.probe import GapCause, Probe


def probe() -> Probe:
    return Probe(Endpoints.from_base_url("http://127.0.0.1:9"), None, ["BTC-USDT"], BookOracle(), clock=lambda: 1.5)


def trade(tid: int, count: int = 1) -> Trade:
    return Trade("trades", "BTC-USDT", str(tid), "100", "1", "buy", 0, 0, count=count)


def test_consecutive_messages_lose_nothing_and_count_their_fills():
    p = probe()
    for t in (trade(10), trade(13, count=3), trade(14)):
        p._on_trade(t)
    assert p.figures.trades == 3 and not p.figures.trades_lost and p.figures.trade_duplicates == 0


def test_a_gap_is_put_down_to_what_happened_in_between():
    p = probe()
    p._on_trade(trade(10))
    p._on_trade(trade(15))  # 11..14 never came, and nothing explains it
    p.client.stats.reconnects["public"] += 1
    p._on_trade(trade(20))  # 16..19 lost while the socket was down
    p.client.queue.stats.dropped["trades"] += 2
    p._on_trade(trade(23))  # 21, 22 dropped by the queue's policy
    p.client.stats.parse_errors += 1
    p._on_trade(trade(25))  # 24 was in a frame that could not be read
    assert dict(p.figures.trades_lost) == {GapCause.UNEXPLAINED: 4, GapCause.RECONNECT: 4, GapCause.QUEUE: 2,
                                           GapCause.MALFORMED: 1}
    assert p.figures.gaps[0] == {"at_s": 1.5, "inst_id": "BTC-USDT", "missing": 4, "cause": "unexplained",
                                 "after_trade_id": 10}


def test_a_trade_at_or_before_the_last_is_a_duplicate_delivered():
    p = probe()
    p._on_trade(trade(10))
    p._on_trade(trade(10))
    p._on_trade(trade(9))
    assert p.figures.trade_duplicates == 2 and not p.figures.trades_lost


def test_what_happened_between_two_trades_is_read_as_they_were_received_not_consumed():
    """The reader runs ahead of the consumer: a garbled frame read after trade 10 arrived but before it
    was consumed still lies between 10 and 12 (the old reading, at consume time, called it unexplained)."""
    p = probe()
    a, b = trade(10), trade(12)
    a.recv_ns, b.recv_ns = 1, 3
    p._on_frame(b"...", a.recv_ns, "trades", "BTC-USDT")
    p.client.stats.parse_errors += 1  # the frame of trade 11 could not be read
    p._on_frame(b"...", b.recv_ns, "trades", "BTC-USDT")
    p._on_trade(a)
    p._on_trade(b)
    assert dict(p.figures.trades_lost) == {GapCause.MALFORMED: 1}


def test_a_trade_dropped_by_the_queue_before_the_earlier_one_was_consumed_is_still_a_queue_drop():
    p = probe()
    a, b = trade(10), trade(12)
    a.recv_ns, b.recv_ns = 1, 3
    p._on_frame(b"...", a.recv_ns, "trades", "BTC-USDT")
    p._on_frame(b"...", b.recv_ns, "trades", "BTC-USDT")
    p.client.queue.stats.dropped["trades"] += 1  # trade 11, between them, evicted from the full queue
    p._on_trade(a)
    p._on_trade(b)
    assert dict(p.figures.trades_lost) == {GapCause.QUEUE: 1}
