"""Random lives of the order manager on the paper venue: submits, cancels, amends, trades, faults
(lost answers, ambiguous answers, lost and delayed requests, fills racing cancels), stream gaps,
liquidations, time and crashes with restarts. Always: no clOrdId sent in two places, no venue order
made twice. Whenever the machine settles (past every deadline, reconciled): local open orders == the
venue's, fill ledger == the venue's fills, positions == the venue's, nothing left UNKNOWN."""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hftlab.domain import orders as om
from hftlab.domain.orders import OrderState, OrdType, Side
from hftlab.execution.paper import Fault
from hftlab.execution.testing import SPOT, SWAP, Rig

D = Decimal
TYPES = [OrdType.LIMIT, OrdType.POST_ONLY, OrdType.IOC, OrdType.MARKET]
PLACE_FAULTS = [None, None, Fault.DROP_ACK, Fault.AMBIGUOUS_AFTER, Fault.NEVER_RECEIVE, Fault.DELAY]
CANCEL_FAULTS = [None, None, Fault.NEVER_RECEIVE, Fault.DROP_ACK, Fault.FILL_BEFORE_CANCEL]
AMEND_FAULTS = [None, None, Fault.NEVER_RECEIVE, Fault.DROP_ACK, Fault.DELAY]
AMENDABLE = (OrderState.LIVE, OrderState.PARTIALLY_FILLED)


class ManagerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self._saved_key = om._issued_key
        om._issued_key = None  # a key of the test's own; the risk engine's is restored in teardown
        self._key = om.issue_approval_key()
        self.loop = asyncio.new_event_loop()
        self.rig: Rig | None = None
        self.sent = 0  # write requests since the last restart

    @initialize(pushes_first=st.booleans(), duplicate_pushes=st.booleans())
    def start(self, pushes_first, duplicate_pushes):
        self.rig = Rig(Path(self._dir.name), self._key, budget_wait_s=5.0,
                       venue_kw={"pushes_first": pushes_first, "duplicate_pushes": duplicate_pushes})
        self.run(self.rig.start())

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self):
        if self.rig is not None:
            self.rig.crash()
        self.run(asyncio.sleep(0))
        self.loop.close()
        om._issued_key = self._saved_key
        self._dir.cleanup()

    def _settle(self):
        self.run(self.rig.settle())
        self.rig.venue.clear_faults()

    def _approved(self, spec, side, ord_type, lots, ticks):
        touch = D("100.5") if side is Side.BUY else D(100)
        px = touch + ticks * spec.tick_sz * (1 if side is Side.BUY else -1)
        sz = lots * (spec.lot_sz if spec.is_swap else D("0.01"))
        return self.rig.approved(spec, side, str(sz), ord_type, None if ord_type is OrdType.MARKET else str(px))

    @rule(spec=st.sampled_from([SPOT, SWAP]), side=st.sampled_from(list(Side)), ord_type=st.sampled_from(TYPES),
          lots=st.integers(1, 4), ticks=st.integers(-20, 5), fault=st.sampled_from(PLACE_FAULTS))
    def submit(self, spec, side, ord_type, lots, ticks, fault):
        if fault is not None:
            self.rig.venue.inject(fault, "place")
        self.run(self.rig.m.submit(self._approved(spec, side, ord_type, lots, ticks)))
        self.sent += 1
        self._settle()

    @rule(orders=st.lists(st.tuples(st.sampled_from([SPOT, SWAP]), st.sampled_from(list(Side)), st.sampled_from(TYPES),
                                    st.integers(1, 4), st.integers(-20, 5)), min_size=2, max_size=5),
          fault=st.sampled_from(PLACE_FAULTS))
    def submit_batch(self, orders, fault):
        if fault is not None:
            self.rig.venue.inject(fault, "place")
        self.run(self.rig.m.submit_batch([self._approved(*o) for o in orders]))
        self.sent += 1
        self._settle()

    @rule(data=st.data(), fault=st.sampled_from(CANCEL_FAULTS))
    def cancel(self, data, fault):
        opens = self.rig.m.open_orders()
        if opens:
            view = data.draw(st.sampled_from(opens))
            if fault is not None:
                self.rig.venue.inject(fault, "cancel")
            self.run(self.rig.m.cancel(view.cl_ord_id))
            self.sent += 1
            self._settle()

    @rule(data=st.data(), fault=st.sampled_from(AMEND_FAULTS), ticks=st.integers(-5, 5), grow=st.integers(0, 2))
    def amend(self, data, fault, ticks, grow):
        opens = [v for v in self.rig.m.open_orders() if v.state in AMENDABLE and v.px is not None]
        if opens:
            view = data.draw(st.sampled_from(opens))
            spec = SWAP if view.inst_id == SWAP.inst_id else SPOT
            lot = spec.lot_sz if spec.is_swap else D("0.01")
            new_px = max(view.px + ticks * spec.tick_sz, D(1))
            if fault is not None:
                self.rig.venue.inject(fault, "amend")
            self.run(self.rig.m.amend(view.cl_ord_id, new_sz=view.sz + grow * lot if grow else None, new_px=new_px))
            self.sent += 1
            self._settle()

    @rule(spec=st.sampled_from([SPOT, SWAP]), ticks=st.integers(-15, 15), part=st.sampled_from([None, 1, 2]))
    def trade(self, spec, ticks, part):
        lot = spec.lot_sz if spec.is_swap else D("0.01")
        self.rig.venue.set_mark(spec.inst_id, D("100.25") + ticks * spec.tick_sz, None if part is None else part * lot)
        self._settle()

    @rule(spec=st.sampled_from([SPOT, SWAP]), ticks=st.integers(-15, 15))
    def stream_gap(self, spec, ticks):
        self.rig.venue.drop_stream()
        self._settle()
        self.rig.venue.set_mark(spec.inst_id, D("100.25") + ticks * spec.tick_sz)  # fills nobody hears of
        self.rig.venue.restore_stream()
        self._settle()

    @rule(keep=st.sampled_from([0, 1]))
    def liquidate(self, keep):
        qty = self.rig.venue.position_qty(SWAP.inst_id)
        if qty:
            self.rig.venue.liquidate(SWAP.inst_id, D(int(qty / 2)) if keep else D(0))
            self._settle()

    @rule(seconds=st.sampled_from([0.5, 2.0, 8.0]))
    def advance(self, seconds):
        self.rig.clock.advance(seconds)
        self.run(self.rig.m.heartbeat())
        self.rig.venue.tick()
        self.run(self.rig.m.resolve())
        self._settle()

    @precondition(lambda self: self.rig.venue.held)
    @rule()
    def delayed_requests_arrive(self):
        self.rig.venue.release()
        self._settle()

    @precondition(lambda self: self.sent)
    @rule()
    def crash_and_restart(self):
        self.run(self.rig.restart())
        self.sent = 0
        self._settle()

    @rule()
    def settle_and_compare(self):
        self.run(self.rig.settle_all())
        self.rig.check_synced()

    @invariant()
    def nothing_sent_or_made_twice(self):
        self.rig.check_no_duplicates()

    @invariant()
    def no_venue_fact_contradicts_an_order(self):
        assert self.rig.m.stats.illegal_facts == 0, self.rig.m.order_stats.illegal

    @invariant()
    def unknown_orders_count_as_exposure(self):
        for v in self.rig.m.unknown_orders():
            e = self.rig.m.exposure(v.inst_id)
            assert (e.buy_unknown if v.side is Side.BUY else e.sell_unknown) > 0


ManagerMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
test_manager_lives = ManagerMachine.TestCase
