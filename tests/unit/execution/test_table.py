"""The in-flight table: the one place facts land. Exposure (UNKNOWN as if filled, pending amends at
their larger size, fills reported but not yet booked), slots, fills booked once and journaled first,
contradictions counted and left alone, the 'no such order' conclusions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hftlab.domain.orders import (
    ApprovedOrder, Fill, Order, OrderIntent, OrderState, OrderStats, OrderUpdate, OrdType, Side,
)
from hftlab.execution.clock import ManualClock
from hftlab.execution.journal import Journal
from hftlab.execution.stats import ExecutionStats, LatencyStats
from hftlab.execution.table import Applied, OrderTable
from hftlab.execution.testing import SPECS, SWAP
from hftlab.portfolio.equity import Portfolio

D = Decimal
S = OrderState
INST = SWAP.inst_id


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    yield j
    j.close()


@pytest.fixture
def stats():
    return ExecutionStats()


@pytest.fixture
def table(journal, stats):
    return OrderTable(Portfolio(SPECS, D(0), "USDT"), journal, ManualClock(), stats, LatencyStats(), OrderStats())


_n = iter(range(1, 10**6))


def new(table, key, side=Side.BUY, sz="5", slot=None):
    cl = str(1_000_000_000 + next(_n))
    intent = OrderIntent(INST, side, D(sz), OrdType.LIMIT, D(100), slot or f"s{cl}")
    t = table.track_new(Order.submitted(ApprovedOrder(intent, 1, ("t",), key=key), cl, 1, table.order_stats), "tag",
                        exp_time_ms=10)
    return t


def fill(t, sz, tid):
    o = t.order
    return Fill(INST, tid, o.cl_ord_id, "v" + o.cl_ord_id, o.side, D(100), D(sz), D("-0.01"), "USDT", 1)


def test_exposure(table, key):
    resting = new(table, key, sz="5")
    table.acked(resting, "v" + resting.key)
    table.apply_fill(fill(resting, "2", "1"))
    unknown = new(table, key, side=Side.SELL, sz="3")
    table.unknown(unknown, "timeout")
    amended = new(table, key, sz="1")
    table.acked(amended, "v" + amended.key)
    table.amend_requested(amended, "r1", D(4), None, 20)
    done = new(table, key, sz="2")
    table.acked(done, "v" + done.key)
    table.apply_update(OrderUpdate(done.key, "v" + done.key, S.FILLED, D(2), D(100), 5))  # fills not pushed yet
    refused = new(table, key, sz="9")
    table.refused(refused, "balance")
    e = table.exposure(INST)
    assert e.position == 2
    assert e.buy_open == 3 + 4 + 2  # remaining 3, the amend's larger size, the filled-but-unbooked 2
    assert (e.sell_open, e.buy_unknown, e.sell_unknown) == (0, 0, 3)
    assert (e.max_long, e.max_short) == (11, -1)
    table.apply_fill(fill(done, "2", "2"))
    assert table.exposure(INST).buy_open == 3 + 4 and table.exposure(INST).position == 4


def test_slots_are_held_until_terminal_unknown_included(table, key):
    t = new(table, key, slot="q")
    assert table.slot_busy("q")
    table.unknown(t, "timeout")
    assert table.slot_busy("q")
    with pytest.raises(ValueError):
        table.reserve_slot("q")
    table.refused(t, "late refusal")
    assert not table.slot_busy("q")
    table.reserve_slot("q")
    table.release_slot("q")
    assert not table.slot_busy("q")


def test_a_fill_is_booked_once_and_journaled_first(table, key, journal, stats):
    t = new(table, key)
    f = fill(t, "1", "7")
    assert table.apply_update(OrderUpdate(t.key, "v" + t.key, S.PARTIALLY_FILLED, D(1), D(100), 2, fill=f)) \
        is Applied.APPLIED
    assert table.apply_fill(f) is Applied.APPLIED  # the fills feed's copy
    assert len(table.portfolio.ledger) == 1 and t.booked == 1 and t.order.acc_fill_sz == 1
    assert [x.trade_id for x in journal.fills()] == ["7"]
    foreign = Fill(INST, "8", t.key, "v" + t.key, Side.BUY, D(100), D(1), D("-1"), "ETH", 3)
    table.apply_fill(foreign)  # a fee nobody can value: refused before the journal keeps it
    assert [x.trade_id for x in journal.fills()] == ["7"] and stats.illegal_facts == 1


def test_a_contradiction_is_counted_and_changes_nothing(table, key, stats):
    t = new(table, key)
    table.refused(t, "balance")
    r = table.apply_fill(fill(t, "1", "9"))  # a trade of an order the venue refused
    assert r is Applied.CONTRADICTED and t.order.state is S.REJECTED and t.needs_query
    assert stats.illegal_facts == 1 and table.order_stats.illegal
    assert len(table.portfolio.ledger) == 1  # the trade itself is a fact about the account


def test_untracked_facts_are_booked_and_counted(table, stats):
    f = Fill(INST, "11", "999", "v999", Side.SELL, D(100), D(1), D(0), "USDT", 1)
    assert table.apply_fill(f) is Applied.UNTRACKED
    assert table.portfolio.position(INST).qty == -1 and stats.untracked_pushes == 0
    assert table.apply_update(OrderUpdate("998", "v998", S.LIVE, D(0), D(0), 1)) is Applied.UNTRACKED
    assert stats.untracked_pushes == 1


def test_conclusions_when_the_venue_holds_no_such_order(table, key):
    never = new(table, key)
    table.unknown(never, "timeout")
    table.conclude_absent(never)
    assert never.order.state is S.REJECTED
    gone = new(table, key, sz="5")
    table.acked(gone, "v" + gone.key)
    table.apply_fill(fill(gone, "2", "21"))
    table.conclude_absent(gone)
    assert (gone.order.state, gone.order.acc_fill_sz) == (S.CANCELLED, D(2))
    full = new(table, key, sz="2")
    table.unknown(full, "timeout")
    table.apply_fill(fill(full, "2", "22"))
    table.conclude_absent(full)
    assert full.order.state is S.FILLED


def test_a_stream_loss_makes_every_unfinished_order_unknown(table, key):
    a, b, c = new(table, key), new(table, key), new(table, key)
    table.acked(a, "v" + a.key)
    table.refused(c, "x")
    assert table.stream_lost() == 2
    assert (a.order.state, b.order.state, c.order.state) == (S.UNKNOWN, S.UNKNOWN, S.REJECTED)
