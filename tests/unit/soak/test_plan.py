"""The fault plan: one fault per slot at a point inside it, every kind once per round, the same for one seed."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.soak.plan import NEEDS_COLLECTOR, NEEDS_RUNNER, PER_INSTRUMENT, FaultKind, fault_plan, kinds_for

SYMBOLS = ("BTC-USDT", "ETH-USDT")


@given(slots=st.integers(1, 200), every=st.floats(1.0, 600.0), seed=st.integers(0, 2**32))
def test_one_fault_inside_each_slot_in_time_order(slots, every, seed):
    plan = fault_plan(slots * every, every, SYMBOLS, list(FaultKind), seed)
    assert len(plan) == slots
    for i, f in enumerate(plan):
        assert i * every <= f.at_s <= (i + 1) * every
    assert [f.at_s for f in plan] == sorted(f.at_s for f in plan)


def test_an_hour_at_one_a_minute_has_every_kind_four_times():
    plan = fault_plan(3600, 60, SYMBOLS, list(FaultKind), seed=7)
    assert len(plan) == 60
    assert set(Counter(f.kind for f in plan).values()) == {4}  # 60 slots, 15 kinds: four full rounds


def test_the_same_seed_makes_the_same_plan_and_another_one_another():
    a = fault_plan(1800, 60, SYMBOLS, list(FaultKind), seed=3)
    assert a == fault_plan(1800, 60, SYMBOLS, list(FaultKind), seed=3)
    assert a != fault_plan(1800, 60, SYMBOLS, list(FaultKind), seed=4)


def test_instrument_faults_name_one_and_a_garbled_frame_names_its_channel():
    for f in fault_plan(3600, 60, SYMBOLS, list(FaultKind), seed=1):
        assert (f.inst_id in SYMBOLS) == (f.kind in PER_INSTRUMENT)
        assert (f.channel in ("books", "trades")) == (f.kind is FaultKind.GARBLE)


def test_kinds_leave_out_what_acts_on_a_component_not_running():
    assert set(kinds_for(True, True)) == set(FaultKind)
    assert not set(kinds_for(False, True)) & NEEDS_RUNNER
    assert not set(kinds_for(True, False)) & NEEDS_COLLECTOR
    assert FaultKind.REDIS_KILL in kinds_for(False, False)


@pytest.mark.parametrize("args", [(0, 60, SYMBOLS, list(FaultKind)), (60, 0, SYMBOLS, list(FaultKind)),
                                  (60, 60, (), list(FaultKind)), (60, 60, SYMBOLS, [])])
def test_a_plan_needs_time_instruments_and_kinds(args):
    with pytest.raises(ValueError):
        fault_plan(*args, seed=1)
