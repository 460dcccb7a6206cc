"""Orders and fills against the journal: each kind of disagreement is counted, and agreement is clean."""

from __future__ import annotations

from hftlab.domain.orders import OrderState as S
from hftlab.soak.audit import VenueOrder, audit


def test_agreement_is_clean():
    venue = [VenueOrder("a", "1", "filled"), VenueOrder("b", "2", "canceled"), VenueOrder("c", "3", "live")]
    a = audit(venue, [("X", "t1")], {"a": S.FILLED, "b": S.CANCELLED, "c": S.LIVE, "r": S.REJECTED}, [("X", "t1")])
    assert a.clean and a.venue_orders == 3 and a.journal_orders == 4 and a.venue_fills == a.journal_fills == 1


def test_each_disagreement_is_counted_with_an_example():
    venue = [VenueOrder("dup", "1", "filled"), VenueOrder("dup", "2", "filled"),  # one intent executed twice
             VenueOrder("forgot", "3", "live"),                                    # the journal never knew it
             VenueOrder("refused", "4", "filled"),                                 # "rejected", yet it executed
             VenueOrder("moved", "5", "canceled")]                                 # we think it filled
    journal = {"dup": S.FILLED, "refused": S.REJECTED, "moved": S.FILLED, "ghost": S.LIVE, "open": S.UNKNOWN}
    a = audit(venue, [("X", "t1"), ("X", "t2")], journal, [("X", "t2"), ("X", "t9")])
    assert (a.duplicated, a.lost, a.phantom, a.unresolved, a.state_mismatches) == (1, 2, 1, 1, 1)
    assert (a.fills_lost, a.fills_phantom) == (1, 1)
    assert not a.clean
    assert {"dup", "forgot", "refused", "ghost", "open", "moved"} <= set(a.examples)
    assert a.as_dict()["clean"] is False


def test_the_latest_venue_order_of_a_reused_id_is_the_one_compared():
    venue = [VenueOrder("a", "10", "canceled"), VenueOrder("a", "2", "filled")]
    a = audit(venue, [], {"a": S.CANCELLED}, [])
    assert a.state_mismatches == 0 and a.duplicated == 1
