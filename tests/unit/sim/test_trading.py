"""The gateway's part of order operations: expTime, the per-instrument and sub-account windows,
cxlOnFail, WS instIdCodes."""

from __future__ import annotations

from hftlab.sim import codes
from hftlab.sim.trading import BATCH_LIMIT, PER_INST_LIMIT, SUB_ACCOUNT_LIMIT, RateWindow, Trading


class FakeExchange:
    """Records what reaches the exchange; every request succeeds."""

    def __init__(self):
        self.calls = []
        self.by_code = {}

    def place_order(self, account, req):
        self.calls.append(("place", req["instId"]))
        return {"sCode": "0", "sMsg": ""}

    def cancel_order(self, account, inst_id, ord_id=None, cl_ord_id=None):
        self.calls.append(("cancel", inst_id))
        return {"sCode": "0", "sMsg": ""}

    def amend_order(self, account, inst_id, **kw):
        self.calls.append(("amend", inst_id, kw["cxl_on_fail"], kw["req_id"]))
        return {"sCode": "0", "sMsg": ""}


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _ops(clock=None) -> tuple[Trading, FakeExchange]:
    ex = FakeExchange()
    clock = clock or Clock()
    return Trading(ex, limits=RateWindow(clock=clock), account_limits=RateWindow(SUB_ACCOUNT_LIMIT, clock=clock),
                   wall=clock, batch_limits=RateWindow(BATCH_LIMIT, clock=clock)), ex


def test_exp_time_refuses_late_places_and_amends_only():
    ops, ex = _ops()                                         # wall clock: 1000 s = 1_000_000 ms
    late = ops.run("k", "batch-orders", [{"instId": "A"}, {"instId": "B"}], exp_time="999999")
    assert [r["sCode"] for r in late] == ["50037", "50037"] and ex.calls == []
    assert ops.run("k", "amend-order", [{"instId": "A", "ordId": "1", "reqId": "r"}], "999999")[0]["reqId"] == "r"
    assert ops.run("k", "order", [{"instId": "A"}], exp_time="1000000")[0]["sCode"] == "0"   # at the deadline
    assert ops.run("k", "cancel-order", [{"instId": "A", "ordId": "1"}], exp_time="1")[0]["sCode"] == "0"
    assert ops.run("k", "order", [{"instId": "A"}], exp_time="soon")[0]["sCode"] == "51000"
    assert ex.calls == [("place", "A"), ("cancel", "A")]


def test_sub_account_cap_counts_new_and_amend_across_instruments_not_cancels():
    clock = Clock()
    ops, ex = _ops(clock)
    results = []
    for k in range(SUB_ACCOUNT_LIMIT + 20):                   # spread so the per-instrument window never bites
        results.append(ops.run("k", "order" if k % 2 else "amend-order",
                               [{"instId": f"I{k % 40}", "ordId": "1"}])[0]["sCode"])
    assert results.count("0") == SUB_ACCOUNT_LIMIT and set(results[SUB_ACCOUNT_LIMIT:]) == {"50061"}
    assert ops.run("k", "cancel-order", [{"instId": "I0", "ordId": "1"}])[0]["sCode"] == "0"
    assert ops.run("other", "order", [{"instId": "I0"}])[0]["sCode"] == "0"     # per sub-account
    clock.t += 2.0
    assert ops.run("k", "order", [{"instId": "I0"}])[0]["sCode"] == "0"


def test_the_per_instrument_window_answers_first_and_what_it_refuses_is_not_counted():
    ops, ex = _ops()
    got = [ops.run("k", "order", [{"instId": "A"}])[0]["sCode"] for _ in range(70)]
    assert got == ["0"] * 60 + [codes.RATE_LIMIT[0]] * 10
    more = [ops.run("k", "order", [{"instId": f"I{k % 40}"}])[0]["sCode"] for k in range(SUB_ACCOUNT_LIMIT - 60 + 1)]
    assert more.count("0") == SUB_ACCOUNT_LIMIT - 60 and more[-1] == "50061"   # the 10 refused did not count


def test_cxl_on_fail_reaches_the_exchange_as_a_flag():
    ops, ex = _ops()
    ops.run("k", "amend-order", [{"instId": "A", "ordId": "1", "cxlOnFail": True, "reqId": "a"},
                                 {"instId": "A", "ordId": "1", "cxlOnFail": "false", "reqId": "b"}])
    assert ex.calls == [("amend", "A", True, "a"), ("amend", "A", False, "b")]
    assert ops.run("k", "amend-order", [{"instId": "A", "ordId": "1", "cxlOnFail": "yes"}])[0]["sCode"] == "51000"


def test_a_batch_op_counts_its_orders_in_its_own_window_and_a_batch_of_one_as_the_single_op():
    """OKX: batch-orders 300 orders / 2 s per user and instrument; one item: the `order` limit."""
    clock = Clock()
    ops, ex = _ops(clock)
    got = [r["sCode"] for _ in range(BATCH_LIMIT // 20 + 1) for r in ops.run("k", "batch-orders", [{"instId": "A"}] * 20)]
    assert got.count("0") == BATCH_LIMIT and set(got[BATCH_LIMIT:]) == {codes.RATE_LIMIT[0]}
    singles = [ops.run("k", "order", [{"instId": "A"}])[0]["sCode"] for _ in range(PER_INST_LIMIT)]
    assert singles == ["0"] * PER_INST_LIMIT  # the single op's window is its own
    assert ops.run("k", "batch-orders", [{"instId": "A"}])[0]["sCode"] == codes.RATE_LIMIT[0]  # counted as `order`
    assert ops.run("k", "batch-orders", [{"instId": "B"}] * 2)[0]["sCode"] == "0"  # per instrument
    cancels = ops.run("k", "batch-cancel-orders", [{"instId": "A", "ordId": "1"}] * 20)
    assert {r["sCode"] for r in cancels} == {"0"}  # each batch op has its own window
    clock.t += 2.0
    assert {r["sCode"] for r in ops.run("k", "batch-orders", [{"instId": "A"}] * 20)} == {"0"}
