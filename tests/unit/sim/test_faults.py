"""The fault injector's hooks: each armed fault takes effect once (or for its window) and is logged."""

from __future__ import annotations

import asyncio

from hftlab.sim.faults import AckFault, FaultInjector
from hftlab.sim.scenario import parse_scenario


class FakeConnections:
    """Stands in for the WebSocket gateway: records what the injector asked for."""

    def __init__(self):
        self.calls = []

    def drop(self, role, mode):
        self.calls.append(("drop", role, mode))
        return ["c1"]

    def notice(self, role, close_after_s):
        self.calls.append(("notice", role, close_after_s))
        return ["c1", "c2"]


def test_skip_and_corrupt_take_effect_once_per_arming():
    f = FaultInjector()
    f.skip_seq("BTC-USDT")
    assert not f.take_skip("ETH-USDT", 5)
    assert f.take_skip("BTC-USDT", 7)
    assert not f.take_skip("BTC-USDT", 9)
    f.corrupt_checksum()  # any instrument
    assert f.take_corrupt("ETH-USDT", 11) and not f.take_corrupt("ETH-USDT", 12)
    assert [(r.kind, r.detail.get("inst_id")) for r in f.log] == [("skip_seq", "BTC-USDT"),
                                                                  ("corrupt_checksum", "ETH-USDT")]
    assert f.log[0].detail["skipped_seq_id"] == 7


def test_duplicate_and_reorder_shape_publications():
    f = FaultInjector()
    assert not f.shaping
    f.duplicate("books", "BTC-USDT", count=2)
    assert f.shaping
    assert f.on_publish("books", "ETH-USDT", b"e") == [b"e"]
    assert f.on_publish("books", "BTC-USDT", b"a") == [b"a", b"a"]
    assert f.on_publish("books", "BTC-USDT", b"b") == [b"b", b"b"]
    assert f.on_publish("books", "BTC-USDT", b"c") == [b"c"]
    assert not f.shaping
    f.reorder("trades")
    assert f.on_publish("trades", "SOL-USDT", b"1") == []
    assert f.on_publish("trades", "SOL-USDT", b"2") == [b"2", b"1"]
    assert f.on_publish("trades", "SOL-USDT", b"3") == [b"3"]
    assert [r.kind for r in f.log] == ["duplicate", "duplicate", "reorder"]


def test_garble_cuts_the_next_publications_in_half_and_composes_with_duplicate():
    f = FaultInjector()
    f.garble("trades", "BTC-USDT", count=2)
    assert f.shaping
    assert f.on_publish("trades", "ETH-USDT", b"abcd") == [b"abcd"]
    assert f.on_publish("trades", "BTC-USDT", b"abcd") == [b"ab"]
    f.duplicate("trades")
    assert f.on_publish("trades", "BTC-USDT", b"wxyz") == [b"wx", b"wx"]
    assert f.on_publish("trades", "BTC-USDT", b"wxyz") == [b"wxyz"]
    assert not f.shaping
    assert [r.kind for r in f.log] == ["garble", "garble", "duplicate"]


def test_armed_names_what_is_still_to_take_until_it_is_taken():
    f = FaultInjector()
    assert f.armed() == []
    f.skip_seq("BTC-USDT")
    f.garble("trades")
    f.drop_ack("ws", count=1)
    f.rate_limit("rest", count=2)
    assert sorted(f.armed()) == ["drop_ack", "garble", "rate_limit", "skip_seq"]
    assert f.take_skip("BTC-USDT", 5)
    f.on_publish("trades", "BTC-USDT", b"xx")
    assert f.take_ack_fault("ws", "order") is not None
    assert f.take_rate_limit("rest", "/a") and f.armed() == ["rate_limit"]
    assert f.take_rate_limit("rest", "/b") and f.armed() == []


def test_stall_window():
    f = FaultInjector()
    f.stall("books", "BTC-USDT", duration_s=0.05)
    assert f.stalled("books", "BTC-USDT")
    assert not f.stalled("books", "ETH-USDT") and not f.stalled("trades", "BTC-USDT")
    f.stall(None, None, duration_s=0.0)  # already over
    assert not f.stalled("trades", "BTC-USDT")


async def test_stall_ends():
    f = FaultInjector()
    f.stall("books", None, duration_s=0.02)
    assert f.stalled("books", "X")
    await asyncio.sleep(0.05)
    assert not f.stalled("books", "X")


def test_rate_limit_and_ack_delay_counts():
    f = FaultInjector()
    assert not f.take_rate_limit("rest", "/x")
    f.rate_limit("ws", count=2)
    assert not f.take_rate_limit("rest", "/x")
    assert f.take_rate_limit("ws", "order") and f.take_rate_limit("ws", "order")
    assert not f.take_rate_limit("ws", "order")
    f.rate_limit("any", duration_s=10)
    assert all(f.take_rate_limit("rest", "/x") for _ in range(5))
    assert f.take_ack_delay("order") == 0.0
    f.delay_acks(250, count=1)
    assert f.take_ack_delay("order") == 0.25 and f.take_ack_delay("order") == 0.0
    assert sum(r.kind == "rate_limit" for r in f.log) == 7 and sum(r.kind == "delay_acks" for r in f.log) == 1


def test_connection_faults_go_through_the_bound_server():
    f = FaultInjector()
    conns = FakeConnections()
    f.bind(conns)
    assert f.drop("public", "close") == ["c1"]
    assert f.notice("private", 2.5) == ["c1", "c2"]
    assert conns.calls == [("drop", "public", "close"), ("notice", "private", 2.5)]
    assert f.log[-1].detail == {"role": "private", "close_after_s": 2.5, "conn_ids": ["c1", "c2"]}


def _plan(seed):
    sc = parse_scenario({"faults": [
        {"kind": "drop", "rate_per_min": 30},
        {"kind": "skip_seq", "every_s": 4, "start_s": 1, "until_s": 9},
        {"kind": "notice", "at_s": [2.5, 6]},
    ]}, "t")
    return FaultInjector(sc, seed=seed).plan(20)


def test_schedule_is_deterministic_per_seed():
    a, b, c = _plan(1), _plan(1), _plan(2)
    assert a == b and a != c
    assert [t for t, k in a if k == "skip_seq"] == [1, 5, 9]
    assert [t for t, k in a if k == "notice"] == [2.5, 6]
    drops = [t for t, k in a if k == "drop"]
    assert drops == sorted(drops) and len(drops) >= 2  # ~10 expected at 30/min over 20 s
    assert a == sorted(a)


async def test_run_fires_on_schedule():
    sc = parse_scenario({"faults": [{"kind": "skip_seq", "at_s": [0.0, 0.01]}]}, "t")
    f = FaultInjector(sc)
    await asyncio.wait_for(f.run(), 2)
    assert f.take_skip("A", 1) and f.take_skip("A", 2) and not f.take_skip("A", 3)


def test_ack_faults_take_their_target_and_count():
    f = FaultInjector()
    assert f.take_ack_fault("ws", "order") is None
    f.drop_ack("ws", count=2, hold_s=3)
    f.answer_50004("rest")                        # neither count nor duration: the next one
    assert f.take_ack_fault("rest", "order") == (AckFault.TIMEOUT, 0.0)
    assert f.take_ack_fault("rest", "order") is None
    assert f.take_ack_fault("ws", "order") == (AckFault.DROP, 3)
    assert f.take_ack_fault("ws", "amend-order") == (AckFault.DROP, 3)
    assert f.take_ack_fault("ws", "order") is None
    f.answer_50004("any", duration_s=10)
    assert all(f.take_ack_fault(t, "order") == (AckFault.TIMEOUT, 0.0) for t in ("rest", "ws", "rest"))
    assert [(r.kind, r.detail["target"]) for r in f.log[:3]] == [("answer_50004", "rest"), ("drop_ack", "ws"),
                                                                 ("drop_ack", "ws")]


def test_late_delivery_holds_only_requests_with_an_exp_time():
    f = FaultInjector()
    assert f.take_late_delivery("ws order", 2000, 1000) == 0.0
    f.delay_past_exptime(margin_ms=100)
    assert f.take_late_delivery("ws order", None, 1000) == 0.0         # no expTime: untouched, not counted
    assert f.take_late_delivery("ws order", 1500, 1000) == 0.6         # 500 ms to the deadline + the margin
    assert f.take_late_delivery("ws order", 1500, 1000) == 0.0
    f.delay_past_exptime(margin_ms=50, count=1)
    assert f.take_late_delivery("rest order", 900, 1000) == 0.05       # already late: just the margin
    assert [r.detail["held_ms"] for r in f.log] == [600.0, 50.0]


def test_reject_ws_ops_window():
    f = FaultInjector()
    assert not f.take_ws_reject("order")
    f.reject_ws_ops(count=2)
    assert f.take_ws_reject("order") and f.take_ws_reject("cancel-order") and not f.take_ws_reject("order")
    f.reject_ws_ops(duration_s=0.0)                                     # already over
    assert not f.take_ws_reject("order")
    assert [r.detail["request"] for r in f.log] == ["order", "cancel-order"]


def test_liquidate_goes_through_the_bound_venue():
    class FakeVenue:
        def liquidate(self, inst_id, fraction):
            return [{"account": "k", "inst_id": inst_id, "fraction": str(fraction)}]

    f = FaultInjector()
    assert f.liquidate() == []                                          # unbound: nothing to liquidate
    f.bind(FakeConnections(), FakeVenue())
    assert f.liquidate("BTC-USDT-SWAP", 0.5) == [{"account": "k", "inst_id": "BTC-USDT-SWAP", "fraction": "0.5"}]
    assert [r.kind for r in f.log] == ["liquidate", "liquidate"] and f.log[-1].detail["fraction"] == 0.5


def test_new_kinds_are_scheduled_like_the_others():
    sc = parse_scenario({"faults": [{"kind": "liquidate", "every_s": 5, "fraction": 0.25},
                                    {"kind": "reject_ws_ops", "at_s": [2], "duration_s": 3}]}, "t")
    assert FaultInjector(sc).plan(10) == [(2.0, "reject_ws_ops"), (5.0, "liquidate"), (10.0, "liquidate")]
