"""The order model: the approval key, every (state, event) pair of the table, stale/duplicate facts,
amends, clOrdIds, and ≥10,000 generated order lives against a reference built from distinct fills."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import pickle
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.domain import orders as om
from hftlab.domain.orders import (
    MAX_EPOCH, TERMINAL, TRANSITIONS, VENUE_STATES, AmendResult, ApprovalKey, ApprovedOrder, CancelSource,
    Event, Fill, IllegalTransition, NotApproved, Order, OrderIntent, OrderState, OrderStats, OrderUpdate, OrdType,
    Side, clordid_for, next_epoch, parse_clordid,
)

D = Decimal
S, E = OrderState, Event
INST = "BTC-USDT"
CL = "1000000001"


@pytest.fixture
def key(monkeypatch):
    """A key of this test's own: the process's one real key belongs to the risk engine, so a test
    must not consume it. The module's issued key is swapped for the test and restored after."""
    monkeypatch.setattr(om, "_issued_key", None)
    return om.issue_approval_key()


def intent(sz="3", px="100", ord_type=OrdType.LIMIT, side=Side.BUY):
    return OrderIntent(INST, side, D(sz), ord_type, None if ord_type is OrdType.MARKET else D(px),
                       slot=f"{INST}:maker:bid", reason="test", created_ns=1)


def new_order(key, stats, **kw) -> Order:
    return Order.submitted(ApprovedOrder(intent(**kw), 2, ("notional ok",), key=key), CL, 3, stats)


_trade_seq = itertools.count(1)


def fill(sz, px="100", fee="-0.01", trade_id=None, side=Side.BUY, ord_id="9"):
    return Fill(INST, trade_id or str(next(_trade_seq)), CL, ord_id, side, D(px), D(sz), D(fee), "USDT", 1)


def update(state, acc, avg="100", fill=None, ord_id="9", **kw):
    return OrderUpdate(CL, ord_id, state, D(acc), D(avg) if D(acc) else D(0), 1, fill=fill, **kw)


# -- the approval key ------------------------------------------------------------------------------

def test_approved_order_needs_the_issued_key(key):
    ApprovedOrder(intent(), 1, ("ok",), key=key)
    with pytest.raises(NotApproved):
        ApprovedOrder(intent(), 1, ("ok",))
    with pytest.raises(TypeError):
        ApprovalKey()
    forged = object.__new__(ApprovalKey)
    with pytest.raises(NotApproved):
        ApprovedOrder(intent(), 1, ("ok",), key=forged)


def test_no_approval_before_the_key_is_issued(monkeypatch):
    monkeypatch.setattr(om, "_issued_key", None)
    with pytest.raises(NotApproved):
        ApprovedOrder(intent(), 1, ("ok",), key=object.__new__(ApprovalKey))


def test_the_key_is_issued_once(key):
    with pytest.raises(RuntimeError, match="already issued"):
        om.issue_approval_key()


def test_an_approval_cannot_be_rewritten_or_the_key_copied(key):
    approved = ApprovedOrder(intent(), 1, ("ok",), key=key)
    with pytest.raises(NotApproved):
        dataclasses.replace(approved, intent=intent(sz="300"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        approved.intent = intent(sz="300")  # type: ignore[misc]
    for clone in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            clone(key)


def test_only_an_approved_order_is_submitted(key):
    with pytest.raises(TypeError):
        Order.submitted(intent(), CL, 1)  # type: ignore[arg-type]
    o = new_order(key, OrderStats())
    assert o.state is S.PENDING_SUBMIT and o.approval is not None and o.submitted_ns == 3


def test_recovered_orders_start_unknown():
    o = Order.recovered(intent(), CL, "journaled, fate unknown after restart", stats=OrderStats())
    assert o.state is S.UNKNOWN and o.approval is None
    assert o.apply(update(S.LIVE, "0")) is S.LIVE


# -- value types -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(sz="0"), dict(sz="-1"), dict(px="0"), dict(sz="NaN")])
def test_intent_validation(kw):
    with pytest.raises(ValueError):
        intent(**kw)


def test_market_intent_has_no_price_and_a_limit_needs_one():
    assert intent(ord_type=OrdType.MARKET).px is None
    with pytest.raises(ValueError):
        OrderIntent(INST, Side.BUY, D(1), OrdType.MARKET, D(1), slot="s")
    with pytest.raises(ValueError):
        OrderIntent(INST, Side.BUY, D(1), OrdType.IOC, None, slot="s")
    with pytest.raises(ValueError):
        OrderIntent(INST, Side.BUY, D(1), OrdType.LIMIT, D(1), slot="")


def test_fill_validation():
    fill("1", trade_id="-42")  # liquidation/ADL trade ids are negative: fine
    for bad in (dict(sz="0"), dict(px="0"), dict(trade_id=""), dict(fee="NaN")):
        with pytest.raises(ValueError):
            Fill(INST, bad.get("trade_id", "1"), CL, "9", Side.BUY, D(bad.get("px", "1")), D(bad.get("sz", "1")),
                 D(bad.get("fee", "0")), "USDT", 1)


def test_update_reports_only_venue_states():
    assert VENUE_STATES == {S.LIVE, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED}
    for state in set(OrderState) - VENUE_STATES:
        with pytest.raises(ValueError):
            update(state, "0")
    with pytest.raises(ValueError):
        update(S.LIVE, "0", amend_req_id="r1")
    with pytest.raises(ValueError):
        update(S.LIVE, "-1")


# -- the table, every pair -------------------------------------------------------------------------

# How to bring an order into each state by events (FILLED with 1 of 3 filled: the venue says filled,
# as after an amend down to the filled size, so that a further partial fill is still possible).
PATHS = {
    S.PENDING_SUBMIT: [],
    S.LIVE: [lambda o: o.acked("9", 4)],
    S.PARTIALLY_FILLED: [lambda o: o.acked("9", 4), lambda o: o.apply_fill(fill("1"))],
    S.FILLED: [lambda o: o.acked("9", 4), lambda o: o.apply(update(S.FILLED, "1", fill=fill("1")))],
    S.PENDING_CANCEL: [lambda o: o.acked("9", 4), lambda o: o.cancel_requested()],
    S.CANCELLED: [lambda o: o.acked("9", 4), lambda o: o.apply(update(S.CANCELLED, "0"))],
    S.REJECTED: [lambda o: o.refused("insufficient balance")],
    S.UNKNOWN: [lambda o: o.ambiguous("timeout")],
}

# One call producing exactly one event, whatever the state.
FIRE = {
    E.ACK: lambda o: o.acked("9", 5),
    E.REFUSE: lambda o: o.refused("rate limit"),
    E.AMBIGUOUS: lambda o: o.ambiguous("timeout"),
    E.CANCEL_REQUEST: lambda o: o.cancel_requested(),
    E.AMEND_REQUEST: lambda o: o.amend_requested("r9", new_px=D("101")),
    E.VENUE_LIVE: lambda o: o.apply(update(S.LIVE, o.acc_fill_sz)),
    E.VENUE_PARTIALLY_FILLED: lambda o: o.apply(update(S.PARTIALLY_FILLED, o.acc_fill_sz)),
    E.VENUE_FILLED: lambda o: o.apply(update(S.FILLED, o.acc_fill_sz)),
    E.VENUE_CANCELLED: lambda o: o.apply(update(S.CANCELLED, o.acc_fill_sz)),
    E.FILL_PARTIAL: lambda o: o.apply_fill(fill("1")),
    E.FILL_COMPLETE: lambda o: o.apply_fill(fill(o.sz - o.acc_fill_sz)),
}


def snapshot(o: Order):
    return (o.state, o.acc_fill_sz, o.avg_px, dict(o.fees), set(o.trade_ids), o.ord_id, o.sz, o.px,
            dict(o.amends_in_flight), o.reject_code, o.unknown_reason, o.cancel_source)


@pytest.mark.parametrize(("state", "event"), list(itertools.product(OrderState, Event)),
                         ids=lambda x: x.value)
def test_every_state_event_pair(key, state, event):
    stats = OrderStats()
    o = new_order(key, stats)
    for step in PATHS[state]:
        step(o)
    assert o.state is state
    before = snapshot(o)
    taken_before = stats.transitions.copy()
    target = TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(IllegalTransition) as err:
            FIRE[event](o)
        assert (err.value.state, err.value.event) == (state, event)
        assert stats.illegal == {(state, event): 1}
        assert snapshot(o) == before
        assert stats.transitions == taken_before
    else:
        assert FIRE[event](o) is target
        assert o.state is target
        assert stats.transitions - taken_before == {(state, event): 1}
        assert not stats.illegal


def test_table_policy():
    for (state, event), target in TRANSITIONS.items():
        if event is E.AMBIGUOUS:  # the only event a timeout makes: never terminal
            assert target is S.UNKNOWN
        if state.terminal:  # a terminal order stays terminal
            assert target.terminal
    assert not [k for k in TRANSITIONS if k[0] is S.REJECTED]
    assert TERMINAL == {S.FILLED, S.CANCELLED, S.REJECTED}
    required = {
        (S.PENDING_CANCEL, E.FILL_COMPLETE): S.FILLED, (S.PENDING_CANCEL, E.FILL_PARTIAL): S.PARTIALLY_FILLED,
        (S.CANCELLED, E.FILL_COMPLETE): S.FILLED, (S.LIVE, E.VENUE_CANCELLED): S.CANCELLED,
        (S.UNKNOWN, E.VENUE_LIVE): S.LIVE, (S.UNKNOWN, E.VENUE_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
        (S.UNKNOWN, E.VENUE_FILLED): S.FILLED, (S.UNKNOWN, E.VENUE_CANCELLED): S.CANCELLED,
        (S.PENDING_SUBMIT, E.VENUE_LIVE): S.LIVE, (S.PENDING_SUBMIT, E.FILL_COMPLETE): S.FILLED,
        (S.PENDING_SUBMIT, E.FILL_PARTIAL): S.PARTIALLY_FILLED, (S.PENDING_SUBMIT, E.VENUE_CANCELLED): S.CANCELLED,
    }
    assert {k: TRANSITIONS[k] for k in required} == required


# -- stale, duplicate and racing facts -------------------------------------------------------------

def test_stale_push_is_ignored_and_counted_but_its_new_fill_is_applied(key):
    stats = OrderStats()
    o = new_order(key, stats)
    f1, f2 = fill("1", px="100", fee="-0.1"), fill("1", px="102", fee="-0.2")
    assert o.apply(update(S.PARTIALLY_FILLED, "2", avg="101", fill=f2)) is S.PARTIALLY_FILLED
    assert o.apply(update(S.PARTIALLY_FILLED, "1", avg="100", fill=f1)) is S.PARTIALLY_FILLED
    assert o.apply(update(S.LIVE, "0")) is S.PARTIALLY_FILLED
    assert stats.stale_updates == 2
    assert (o.acc_fill_sz, o.avg_px, o.fees) == (D(2), D(101), {"USDT": D("-0.3")})


def test_duplicate_fill_is_applied_once(key):
    stats = OrderStats()
    o = new_order(key, stats)
    f = fill("1", fee="-0.1")
    o.apply_fill(f)
    o.apply_fill(f)
    o.apply(update(S.PARTIALLY_FILLED, "1", fill=f))
    assert stats.duplicate_fills == 2
    assert (o.acc_fill_sz, o.fees, o.state) == (D(1), {"USDT": D("-0.1")}, S.PARTIALLY_FILLED)


def test_market_filled_with_no_trade_then_its_fills(key):
    stats = OrderStats()
    o = new_order(key, stats, ord_type=OrdType.MARKET, sz="2")
    assert o.apply(update(S.FILLED, "2", avg="100.5")) is S.FILLED  # fillSz 0: no Fill
    assert (o.acc_fill_sz, o.avg_px, o.fees) == (D(2), D("100.5"), {})
    assert o.apply(update(S.FILLED, "2", avg="100.5")) is S.FILLED  # the duplicate
    o.apply_fill(fill("1", px="100", fee="-0.1"))
    o.apply_fill(fill("1", px="101", fee="-0.1"))
    assert (o.state, o.acc_fill_sz, o.avg_px, o.fees) == (S.FILLED, D(2), D("100.5"), {"USDT": D("-0.2")})
    assert not stats.illegal


def test_pushes_before_the_ack(key):
    o = new_order(key, OrderStats())
    assert o.apply(update(S.FILLED, "3", fill=fill("3"))) is S.FILLED
    assert o.acked("9", 7) is S.FILLED and o.ord_id == "9"


def test_fill_wins_over_a_pending_cancel(key):
    o = new_order(key, OrderStats())
    o.acked("9", 4)
    o.cancel_requested()
    assert o.apply(update(S.LIVE, "0")) is S.PENDING_CANCEL  # the place's own push: no news
    assert o.apply(update(S.PARTIALLY_FILLED, "1", fill=fill("1"))) is S.PARTIALLY_FILLED
    o.cancel_requested()
    assert o.apply(update(S.FILLED, "3", fill=fill("2"))) is S.FILLED
    assert o.apply(update(S.CANCELLED, "3")) is S.FILLED


def test_late_fill_after_cancel(key):
    o = new_order(key, OrderStats())
    o.acked("9", 4)
    assert o.apply(update(S.CANCELLED, "1", fill=fill("1"), cancel_source=CancelSource.DEAD_MAN_SWITCH)) is S.CANCELLED
    assert o.cancel_source is CancelSource.DEAD_MAN_SWITCH
    assert o.apply_fill(fill("1")) is S.CANCELLED  # more size, still short of the order's: stays cancelled
    assert o.apply(update(S.FILLED, "3", fill=fill("1"))) is S.FILLED
    assert o.acc_fill_sz == 3


def test_stale_cancel_report_still_cancels(key):
    o = new_order(key, OrderStats())
    o.apply(update(S.PARTIALLY_FILLED, "2", fill=fill("2")))
    assert o.apply(update(S.CANCELLED, "1", cancel_source=CancelSource.USER)) is S.CANCELLED
    assert o.acc_fill_sz == 2


def test_contradictions_are_illegal(key):
    stats = OrderStats()
    o = new_order(key, stats)
    o.acked("9", 4)
    o.apply(update(S.CANCELLED, "0"))
    with pytest.raises(IllegalTransition):
        o.apply(update(S.FILLED, "0"))  # filled with no new size, about a cancelled order
    r = new_order(key, stats)
    r.refused("balance")
    with pytest.raises(IllegalTransition):
        r.apply_fill(fill("1"))
    assert r.acc_fill_sz == 0 and not r.trade_ids
    assert stats.illegal == {(S.CANCELLED, E.VENUE_FILLED): 1, (S.REJECTED, E.FILL_PARTIAL): 1}


def test_facts_about_another_order_raise(key):
    o = new_order(key, OrderStats())
    o.acked("9", 4)
    with pytest.raises(ValueError):
        o.apply(update(S.LIVE, "0", ord_id="10"))
    with pytest.raises(ValueError):
        o.apply_fill(Fill(INST, "1", "1000000002", "9", Side.BUY, D(1), D(1), D(0), "USDT", 1))
    with pytest.raises(ValueError):
        o.apply_fill(fill("1", side=Side.SELL))
    with pytest.raises(ValueError):
        o.acked("10", 5)


def test_amends(key):
    stats = OrderStats()
    o = new_order(key, stats)
    with pytest.raises(IllegalTransition):
        o.amend_requested("r0", new_px=D(99))  # not acked yet
    o.acked("9", 4)
    o.amend_requested("r1", new_px=D(99))
    o.amend_requested("r2", new_sz=D(5))
    o.amend_requested("r3", new_sz=D(4))
    with pytest.raises(ValueError, match="in flight"):
        o.amend_requested("r4", new_px=D(98))
    with pytest.raises(ValueError):
        o.amend_requested("r1", new_px=D(98))
    o.apply(update(S.LIVE, "0", amend_req_id="r1", amend_result=AmendResult.APPLIED))  # no sz/px: the requested
    assert (o.sz, o.px) == (D(3), D(99))
    o.apply(update(S.LIVE, "0", sz=D(5), px=D(99), amend_req_id="r2", amend_result=AmendResult.APPLIED))
    o.apply(update(S.LIVE, "0", sz=D(3), px=D(80), amend_req_id="r2", amend_result=AmendResult.APPLIED))
    assert (o.sz, o.px) == (D(5), D(99)) and stats.duplicate_amends == 1
    o.apply(update(S.LIVE, "0", amend_req_id="r3", amend_result=AmendResult.FAILED))
    assert o.sz == 5 and not o.amends_in_flight and o.amends_done == {"r1", "r2", "r3"}
    assert o.apply(update(S.PARTIALLY_FILLED, "3", fill=fill("3"))) is S.PARTIALLY_FILLED  # 3 of 5 now


# -- clOrdIds --------------------------------------------------------------------------------------

@given(st.integers(1, MAX_EPOCH), st.integers(0, 10**9 - 1))
def test_clordid_is_numeric_int64_and_invertible(epoch, seq):
    cid = clordid_for(epoch, seq)
    assert cid.isdigit() and cid[0] != "0" and len(cid) <= 32
    assert 0 < int(cid) < 2**63
    assert parse_clordid(cid) == (epoch, seq)  # invertible, hence unique per (epoch, seq)


def test_clordid_bounds_and_foreign_ids():
    for bad in ((0, 0), (MAX_EPOCH + 1, 0), (1, -1), (1, 10**9)):
        with pytest.raises(ValueError):
            clordid_for(*bad)
    for foreign in ("", "abc123", "0123", "12", str(2**63), "１２３４５６７８９０"):
        assert parse_clordid(foreign) is None


def test_next_epoch_is_strictly_increasing_even_if_the_clock_goes_back():
    now = om.EPOCH_ORIGIN_S + 1_000_000
    e1 = next_epoch(now, None)
    assert e1 == 1_000_000
    assert next_epoch(now, e1) == e1 + 1  # two starts in one second
    assert next_epoch(now - 3600, e1) == e1 + 1  # the clock went back
    assert next_epoch(now + 5, e1) == e1 + 5


# -- generated lives -------------------------------------------------------------------------------

LOT = D("0.01")


@st.composite
def lives(draw):
    """An order's venue truth (fills, final outcome) and the facts as we receive them: pushes and
    fills-feed messages duplicated and reordered, with the manager's own events interleaved."""
    kind = draw(st.sampled_from(["filled", "cancelled", "cancel_race_filled", "resting", "rejected"]))
    market = draw(st.booleans())
    sz_lots = draw(st.integers(1, 8))
    if kind in ("filled", "cancel_race_filled"):
        total = sz_lots
    elif kind == "rejected":
        total = 0
    else:
        total = draw(st.integers(0, sz_lots - 1))
    n = draw(st.integers(1 if total else 0, min(total, 4)))
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=n - 1, max_size=n - 1))) if n > 1 else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total])] if n else []
    fills_ = [Fill(INST, str(1000 + i), CL, "9", Side.BUY, D(draw(st.integers(9_000, 11_000))) / 100, LOT * p,
                   -LOT * p * D(draw(st.integers(0, 5))) / 10_000, draw(st.sampled_from(["USDT", "BTC"])), i)
              for i, p in enumerate(parts)]
    facts = []  # (kind, payload)
    if kind != "rejected":
        if not market or draw(st.booleans()):
            facts.append(("push", update(S.LIVE, "0")))
        acc, notional = D(0), D(0)
        cum = []
        for f in fills_:
            acc += f.sz
            notional += f.px * f.sz
            cum.append((acc, notional / acc))
            state = S.FILLED if acc == LOT * sz_lots and not (market and draw(st.booleans())) else S.PARTIALLY_FILLED
            facts.append(("push", OrderUpdate(CL, "9", state, acc, notional / acc, 1, fill=f)))
            if draw(st.booleans()):
                facts.append(("fill", f))
        if total == sz_lots and market:  # the market order's "filled" report with fillSz 0
            facts.append(("push", OrderUpdate(CL, "9", S.FILLED, acc, notional / acc, 1)))
        if kind in ("cancelled", "cancel_race_filled"):
            j = draw(st.integers(0, len(cum) - 1 if kind == "cancel_race_filled" else len(cum)))
            c_acc, c_avg = cum[j - 1] if j else (D(0), D(0))
            facts.append(("push", OrderUpdate(CL, "9", S.CANCELLED, c_acc, c_avg, 1,
                                              cancel_source=CancelSource.USER)))
        facts += [facts[i] for i in draw(st.lists(st.integers(0, len(facts) - 1), max_size=6))] if facts else []
        facts = draw(st.permutations(facts))
        facts.insert(draw(st.integers(0, len(facts))), ("ack", None))
        if kind in ("cancelled", "cancel_race_filled"):
            facts.insert(draw(st.integers(0, len(facts))), ("cancel", None))
    else:
        facts.append(("refuse", None))
    if draw(st.booleans()):
        facts.insert(0, ("ambiguous", None))  # the ack was lost: a timeout first
    return kind, market, LOT * sz_lots, fills_, facts


@settings(max_examples=10_000, deadline=None,  # the key fixture holds no per-example state
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lives())
def test_generated_lives_match_a_reference_from_distinct_fills(key, life):
    kind, market, sz, fills_, facts = life
    stats = OrderStats()
    o = new_order(key, stats, sz=str(sz), ord_type=OrdType.MARKET if market else OrdType.LIMIT)
    for what, payload in facts:
        if what == "push":
            o.apply(payload)
        elif what == "fill":
            o.apply_fill(payload)
        elif what == "ack":
            o.acked("9", 10)
        elif what == "refuse":
            o.refused("insufficient balance")
        elif what == "ambiguous":
            o.ambiguous("timeout")
        elif what == "cancel" and not o.state.terminal:  # the manager cancels only what is open
            o.cancel_requested()
    total = sum((f.sz for f in fills_), D(0))
    fees: dict[str, Decimal] = {}
    for f in fills_:
        fees[f.fee_ccy] = fees.get(f.fee_ccy, D(0)) + f.fee
    if kind == "rejected":
        expected = S.REJECTED
    elif total == sz:
        expected = S.FILLED
    elif kind == "cancelled":
        expected = S.CANCELLED
    else:
        expected = S.PARTIALLY_FILLED if total else S.LIVE
    assert o.state is expected
    assert o.acc_fill_sz == total
    assert o.avg_px == (sum((f.px * f.sz for f in fills_), D(0)) / total if total else D(0))
    assert o.fees == fees
    assert o.trade_ids == {f.trade_id for f in fills_}
    assert not stats.illegal


# -- full venue records, recovered sizes, void amends ----------------------------------------------

def test_a_full_record_states_the_venue_size_after_a_lost_amend_push(key):
    """An amend up whose push was lost: without the record's size the order would look FILLED at the
    old size while it still rests at the venue."""
    o = new_order(key, OrderStats())
    o.acked("9", 4)
    o.amend_requested("r1", new_sz=D(5))
    record = update(S.PARTIALLY_FILLED, "3", fill=fill("3"), sz=D(5), px=D(100), full_record=True)
    assert o.apply(record) is S.PARTIALLY_FILLED
    assert o.sz == 5 and o.amends_in_flight == {"r1": (D(5), None)}
    assert o.amend_void("r1") and not o.amends_in_flight and "r1" in o.amends_done
    assert not o.amend_void("r1")


def test_a_plain_push_or_a_stale_record_does_not_change_the_size(key):
    o = new_order(key, OrderStats())
    o.acked("9", 4)
    o.apply(OrderUpdate(CL, "9", S.LIVE, D(0), D(0), 10, sz=D(7)))  # a plain push: may predate an amend
    assert o.sz == 3
    o.apply(OrderUpdate(CL, "9", S.PARTIALLY_FILLED, D(1), D(100), 20, fill=fill("1")))
    o.apply(OrderUpdate(CL, "9", S.LIVE, D(0), D(0), 30, sz=D(7), full_record=True))  # smaller filled size
    o.apply(OrderUpdate(CL, "9", S.PARTIALLY_FILLED, D(1), D(100), 15, sz=D(8), full_record=True))  # older
    assert o.sz == 3
    o.apply(OrderUpdate(CL, "9", S.PARTIALLY_FILLED, D(1), D(100), 40, sz=D(6), px=D(99), full_record=True))
    assert (o.sz, o.px) == (D(6), D(99))


def test_recovered_order_keeps_its_last_known_size_and_price():
    o = Order.recovered(intent(), CL, "restart", ord_id="9", sz=D(5), px=D(99), stats=OrderStats())
    assert (o.state, o.sz, o.px, o.intent.sz) == (S.UNKNOWN, D(5), D(99), D(3))
    assert o.apply(update(S.PARTIALLY_FILLED, "3", fill=fill("3"))) is S.PARTIALLY_FILLED  # 3 of 5
    with pytest.raises(ValueError):
        Order.recovered(intent(), CL, "restart", sz=D(0))
