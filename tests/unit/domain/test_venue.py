"""The venue contract's types: outcome classes, batch and Cancel-All-After bounds, limits as data,
records as order facts, and the one paging loop that always ends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.domain.orders import AmendResult, CancelSource, OrderState, OrdType, Side
from hftlab.domain.venue import (
    CANCEL_OPS, MAX_BATCH, WRITE_OPS, AmendRequest, Lookup, Op, OrderLookup, PagingStalled, RateLimit, Scope,
    Unit, VenueLimits, VenueOrder, WriteOutcome, all_pages, check_batch, check_caa_timeout, write_op,
)

D = Decimal


def test_outcome_classes_are_exactly_the_protocol_s():
    assert {o.value for o in WriteOutcome} == {"accepted", "ambiguous", "refused", "evidence_needed", "duplicate"}
    assert {x.value for x in Lookup} == {"found", "not_found", "failed"}
    assert CANCEL_OPS < WRITE_OPS


@pytest.mark.parametrize("n", [0, MAX_BATCH + 1, -1])
def test_batch_bounds(n):
    with pytest.raises(ValueError):
        check_batch(n)


def test_a_single_item_is_the_single_op():
    assert write_op(Op.PLACE, 1) is Op.PLACE
    assert write_op(Op.PLACE, 2) is Op.PLACE_BATCH
    assert write_op(Op.CANCEL, 20) is Op.CANCEL_BATCH
    assert write_op(Op.AMEND, 3) is Op.AMEND_BATCH


@pytest.mark.parametrize("t", [1, 9, 121, -1])
def test_cancel_all_after_bounds(t):
    with pytest.raises(ValueError):
        check_caa_timeout(t)
    for ok in (0, 10, 60, 120):
        check_caa_timeout(ok)


def test_limits_say_which_ops_share_a_bucket():
    place = RateLimit("place", frozenset({Op.PLACE}), 60, 2.0, Scope.INSTRUMENT)
    account = RateLimit("new_amend", frozenset({Op.PLACE, Op.PLACE_BATCH, Op.AMEND}), 1000, 2.0, Scope.ACCOUNT,
                        Unit.ITEM)
    cancel = RateLimit("cancel", frozenset({Op.CANCEL}), 60, 2.0, Scope.INSTRUMENT)
    limits = VenueLimits((place, account, cancel), frozenset({"rl"}))
    assert limits.for_op(Op.PLACE) == (place, account)
    assert limits.shared(Op.PLACE, Op.AMEND) == (account,)
    assert limits.shared(Op.PLACE, Op.CANCEL) == ()
    with pytest.raises(ValueError):
        VenueLimits((place, place), frozenset())
    with pytest.raises(ValueError):
        RateLimit("x", frozenset(), 1, 1.0, Scope.ACCOUNT)


def test_a_venue_record_is_a_full_order_fact():
    vo = VenueOrder("BTC-USDT", "1000000001", "9", "hft", Side.BUY, OrdType.LIMIT, D(5), D(99),
                    OrderState.PARTIALLY_FILLED, D(2), D("99.5"), 1, 7, last_amend=("r1", AmendResult.APPLIED))
    u = vo.as_update()
    assert u.full_record and (u.sz, u.px, u.ts_ms) == (D(5), D(99), 7)
    assert (u.amend_req_id, u.amend_result) == ("r1", AmendResult.APPLIED)
    assert vo.open
    cancelled = VenueOrder("BTC-USDT", "1", "9", "", Side.BUY, OrdType.LIMIT, D(5), D(99), OrderState.CANCELLED,
                           D(0), D(0), 1, 7, cancel_source=CancelSource.DEAD_MAN_SWITCH)
    assert not cancelled.open and cancelled.as_update().cancel_source is CancelSource.DEAD_MAN_SWITCH
    with pytest.raises(ValueError):
        VenueOrder("BTC-USDT", "1", "9", "", Side.BUY, OrdType.LIMIT, D(5), D(99), OrderState.UNKNOWN,
                   D(0), D(0), 1, 7)


def test_lookup_carries_the_order_only_when_found():
    with pytest.raises(ValueError):
        OrderLookup(Lookup.FOUND)
    OrderLookup(Lookup.NOT_FOUND, code="x")


def test_an_amend_changes_something():
    with pytest.raises(ValueError):
        AmendRequest("BTC-USDT", "1", "r", 1)


def _pager(pages):
    async def fetch(cursor):
        return pages[cursor]
    return fetch


@given(st.lists(st.lists(st.integers(), min_size=1, max_size=5), min_size=1, max_size=8))
def test_all_pages_returns_every_item_in_order(pages):
    import asyncio
    table = {None if i == 0 else f"c{i}": (p, f"c{i + 1}" if i + 1 < len(pages) else None) for i, p in enumerate(pages)}
    assert asyncio.run(all_pages(_pager(table))) == [x for p in pages for x in p]


async def test_a_cursor_that_does_not_move_stops_the_walk():
    with pytest.raises(PagingStalled):
        await all_pages(_pager({None: ([1], "a"), "a": ([2], "a")}))
    with pytest.raises(PagingStalled):  # a cycle
        await all_pages(_pager({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}))


async def test_an_endless_walk_stops_and_an_empty_page_ends_it():
    calls = []

    async def endless(cursor):
        calls.append(cursor)
        return [len(calls)], len(calls)
    with pytest.raises(PagingStalled):
        await all_pages(endless, max_pages=50)
    assert len(calls) == 50
    assert await all_pages(_pager({None: ([1], "a"), "a": ([], "b")})) == [1]
