"""The order state machine: OKX's states, every (state, event) pair, and no silent assignment."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.sim.orders import TRANSITIONS, IllegalTransition, Order, OrderEvent, OrderState

L, P, F, C = "live", "partially_filled", "filled", "canceled"
# Written out here, not read from TRANSITIONS: the test states what OKX's order life looks like.
# None: the event cannot happen to an order in that state.
EXPECTED = {
    (L, "fill"): P, (L, "fill_all"): F, (L, "cancel"): C, (L, "done"): None,
    (P, "fill"): P, (P, "fill_all"): F, (P, "cancel"): C, (P, "done"): F,
    (F, "fill"): None, (F, "fill_all"): None, (F, "cancel"): None, (F, "done"): None,
    (C, "fill"): None, (C, "fill_all"): None, (C, "cancel"): None, (C, "done"): None,
}


def _order(tst, state: OrderState = OrderState.LIVE) -> Order:
    return Order(1, "k", tst, "", "", "buy", "limit", "cash", "", False, "", 999, Decimal(1), 1000, 0, 0,
                 state=state)


def test_states_are_the_okx_strings_the_sim_produces():
    assert {s.value for s in OrderState} == {L, P, F, C}
    assert {s for s in OrderState if s.open} == {OrderState.LIVE, OrderState.PARTIALLY_FILLED}
    assert set(TRANSITIONS) == set(OrderState)
    assert set(EXPECTED) == {(s.value, e.value) for s, e in itertools.product(OrderState, OrderEvent)}


@pytest.mark.parametrize("state,event", sorted(EXPECTED))
def test_every_state_and_event(tst, state, event):
    o = _order(tst, OrderState(state))
    want = EXPECTED[(state, event)]
    if want is None:
        with pytest.raises(IllegalTransition) as e:
            o.apply(OrderEvent(event))
        assert (e.value.ord_id, e.value.state, e.value.event) == (1, state, event)
        assert o.state == state                   # refused, never assigned
    else:
        assert o.apply(OrderEvent(event)) == want
        assert o.state == want and o.live == (want in (L, P))


@given(st.lists(st.sampled_from(list(OrderEvent)), max_size=12))
def test_any_sequence_of_events_follows_the_table(tst, events):
    o = _order(tst)
    state = L
    for ev in events:
        want = EXPECTED[(state, ev.value)]
        if want is None:
            with pytest.raises(IllegalTransition):
                o.apply(ev)
        else:
            o.apply(ev)
            state = want
        assert o.state == state
    assert o.live == (state in (L, P))
