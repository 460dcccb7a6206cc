"""Rate budgets: never more than the venue's limit in any window, keyed as the venue keys, all
buckets of a call or none, a reserve for cancels in shared buckets, bounded waits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.domain.venue import Op, RateLimit, Scope, Unit, VenueLimits
from hftlab.execution.budget import Grant, RateBudget
from hftlab.execution.clock import ManualClock
from hftlab.execution.paper import PAPER_LIMITS

SHARED = VenueLimits((
    RateLimit("orders", frozenset({Op.PLACE, Op.CANCEL, Op.CANCEL_BATCH}), 40, 2.0, Scope.INSTRUMENT, Unit.ITEM),
    RateLimit("account", frozenset({Op.PLACE}), 1000, 2.0, Scope.ACCOUNT, Unit.ITEM),
), frozenset({"rl"}))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.3), st.sampled_from([Op.PLACE, Op.PLACE_BATCH, Op.CANCEL, Op.AMEND]),
                          st.sampled_from(["A", "B"]), st.integers(1, 20)), max_size=300),
       st.floats(0.5, 1.0))
def test_no_window_ever_holds_more_than_the_limit(calls, fraction):
    clock = ManualClock()
    budget = RateBudget(PAPER_LIMITS, clock, fraction=fraction)
    granted: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for dt, op, inst, n in calls:
        clock.advance(dt)
        n = 1 if op in (Op.PLACE, Op.CANCEL, Op.AMEND) else n
        if budget.try_take(op, {inst: n}) is Grant.GRANTED:
            for rl in PAPER_LIMITS.for_op(op):
                key = inst if rl.scope is Scope.INSTRUMENT else ""
                units = n if rl.unit is Unit.ITEM else 1
                granted.setdefault((rl.name, key), []).append((clock.monotonic(), units))
    limits = {rl.name: rl for rl in PAPER_LIMITS.buckets}
    for (name, _), events in granted.items():
        rl = limits[name]
        for t0, _ in events:
            in_window = sum(u for t, u in events if t0 <= t < t0 + rl.window_s)
            assert in_window <= rl.limit


def test_a_call_takes_from_every_bucket_or_none():
    clock = ManualClock()
    limits = VenueLimits((
        RateLimit("inst", frozenset({Op.PLACE}), 100, 2.0, Scope.INSTRUMENT),
        RateLimit("account", frozenset({Op.PLACE}), 4, 2.0, Scope.ACCOUNT),
    ), frozenset())
    b = RateBudget(limits, clock, fraction=1.0)
    assert [b.try_take(Op.PLACE, {"A": 1}) for _ in range(3)] == [Grant.GRANTED, Grant.GRANTED, Grant.THROTTLED]
    assert b.delay(Op.PLACE, {"B": 1}) > 0  # the account bucket binds for every instrument
    assert b.try_take(Op.CANCEL, {"A": 1}) is Grant.GRANTED  # no bucket states a cancel limit here


def test_cancels_keep_a_reserve_where_they_share_a_bucket():
    clock = ManualClock()
    b = RateBudget(SHARED, clock, fraction=0.8, cancel_reserve=0.25)  # 32 per 2 s: burst 16, reserve 4
    placed = 0
    while b.try_take(Op.PLACE, {"A": 1}) is Grant.GRANTED:
        placed += 1
    assert placed == 12
    assert [b.try_take(Op.CANCEL, {"A": 1}) for _ in range(5)] == [Grant.GRANTED] * 4 + [Grant.THROTTLED]
    no_reserve = RateBudget(SHARED, clock, fraction=0.8, cancel_reserve=0)
    while no_reserve.try_take(Op.PLACE, {"A": 1}) is Grant.GRANTED:
        pass
    assert no_reserve.try_take(Op.CANCEL, {"A": 1}) is Grant.THROTTLED


def test_a_call_larger_than_a_bucket_is_oversize():
    b = RateBudget(SHARED, ManualClock(), fraction=0.8)
    assert b.delay(Op.CANCEL_BATCH, {"A": 17}) is None
    assert b.try_take(Op.CANCEL_BATCH, {"A": 17}) is Grant.OVERSIZE


def test_a_one_per_window_limit_stays_under_one_per_window():
    clock = ManualClock()
    b = RateBudget(PAPER_LIMITS, clock, fraction=0.8)
    times = []
    for _ in range(400):
        clock.advance(0.05)
        if b.try_take(Op.CANCEL_ALL_AFTER, {"": 1}) is Grant.GRANTED:
            times.append(clock.monotonic())
    assert len(times) > 10
    assert min(b - a for a, b in zip(times, times[1:])) > 1.0


async def test_take_waits_within_its_bound_then_refuses():
    clock = ManualClock()
    b = RateBudget(PAPER_LIMITS, clock, fraction=0.8, max_wait_s=0.5)  # 48 per 2 s: burst 24, then 12/s
    grants = [await b.take(Op.PLACE, {"A": 1}) for _ in range(40)]
    assert grants == [Grant.GRANTED] * 40 and b.waits == 16
    assert abs(clock.monotonic() - 16 / 12) < 1e-6  # it waited exactly for the refills
    t0 = clock.monotonic()
    assert await b.take(Op.PLACE, {"A": 1}, max_wait_s=0.05) is Grant.THROTTLED
    assert clock.monotonic() == t0  # refused without waiting: the wait needed was longer than allowed
    assert await b.take(Op.PLACE, {"A": 1}, max_wait_s=10) is Grant.GRANTED
    assert b.throttled[Op.PLACE] == 1


def test_headroom_is_the_lowest_share_left_per_limit_and_refills():
    clock = ManualClock()
    budget = RateBudget(SHARED, clock, fraction=1.0)
    assert budget.headroom() == {"orders": 1.0, "account": 1.0}, "untouched limits are full"
    for _ in range(10):
        assert budget.try_take(Op.PLACE, {"A": 1}) is Grant.GRANTED
    assert budget.try_take(Op.PLACE, {"B": 1}) is Grant.GRANTED
    room = budget.headroom()
    assert room["orders"] == 10 / 20, "instrument A's bucket (capacity 20) is the lowest"
    assert room["account"] == (500 - 11) / 500
    clock.advance(2.0)
    assert budget.headroom() == {"orders": 1.0, "account": 1.0}


def test_entry_headroom_ignores_limits_order_entry_does_not_draw_from():
    from hftlab.domain.venue import Op, RateLimit, Scope, VenueLimits
    from hftlab.execution.budget import RateBudget
    from hftlab.execution.clock import ManualClock

    limits = VenueLimits((RateLimit("place", frozenset({Op.PLACE}), 10, 2.0, Scope.INSTRUMENT),
                          RateLimit("caa", frozenset({Op.CANCEL_ALL_AFTER}), 1, 1.0, Scope.ACCOUNT)), frozenset())
    budget = RateBudget(limits, ManualClock(), fraction=1.0, cancel_reserve=0.0)
    assert budget.try_take(Op.CANCEL_ALL_AFTER, {"": 1}).value == "granted"
    assert budget.headroom()["caa"] == 0.0 and budget.entry_headroom() == 1.0
    for _ in range(5):
        budget.try_take(Op.PLACE, {"X": 1})
    assert budget.entry_headroom() == 0.0  # capacity 5 (half the limit as burst), all spent
