"""A paper-venue rig for tests and experiments with the order manager: a paper venue on a manual
clock, a journal in a directory, and a manager that can be discarded as a crash would (`crash`:
no cancels, no disarm, only committed journal rows remain) and started again on the same journal,
with the checks every restart must pass (`check_synced`, `check_no_duplicates`, `state`).

It needs the risk engine's approval capability to build `ApprovedOrder`s: tests pass a key of
their own (see tests/unit/execution/conftest.py); nothing here issues one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path

from hftlab.domain import orders as om
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import ApprovalKey, ApprovedOrder, OrderIntent, OrdType, Side
from hftlab.execution.clock import ManualClock
from hftlab.execution.config import ExecutionConfig
from hftlab.execution.journal import Journal
from hftlab.execution.manager import OrderManager
from hftlab.execution.paper import PaperVenue
from hftlab.execution.table import OPEN_STATES
from hftlab.portfolio.equity import Portfolio

D = Decimal
SPOT = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.001"), D("0.001"))
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("1"), D("1"), ct_val=D("0.01"))
SPECS = (SPOT, SWAP)
TAG = "hft"
START_BALANCES = {"USDT": D(10_000_000), "BTC": D(1_000)}


class Rig:
    def __init__(self, state_dir: Path, key: ApprovalKey, *, venue_kw: dict | None = None, **config):
        self.clock = ManualClock()
        self.key = key
        self.venue = PaperVenue(SPECS, self.clock, balances=START_BALANCES, **(venue_kw or {}))
        for spec in SPECS:
            self.venue.set_book(spec.inst_id, D(100), D("100.5"))
        config.setdefault("tag", TAG)
        self.config = ExecutionConfig(state_dir=state_dir, **config)
        self.manager: OrderManager | None = None
        self.journal: Journal | None = None
        self.starts = 0
        self._slots = 0

    @property
    def m(self) -> OrderManager:
        assert self.manager is not None
        return self.manager

    async def start(self):
        self.journal = Journal(self.config.journal_path, self.config.journal_sync)
        self.manager = OrderManager(self.venue, self.journal, Portfolio(SPECS, D(0), "USDT"), self.config,
                                    clock=self.clock, order_stats=om.OrderStats())
        report = await self.manager.start(timers=False)
        self.starts += 1
        await self.settle()
        return report

    def crash(self) -> None:
        """Discard the manager as kill -9 would: no cancels, no disarm; only committed rows remain."""
        if self.manager is not None:
            self.manager.detach()
            self.journal.close()
            self.manager = self.journal = None

    async def restart(self):
        self.crash()
        return await self.start()

    def approved(self, inst: InstrumentSpec = SPOT, side: Side = Side.BUY, sz: str = "1", ord_type=OrdType.LIMIT,
                 px: str | None = "99", slot: str | None = None) -> ApprovedOrder:
        if slot is None:
            self._slots += 1
            slot = f"{inst.inst_id}:test:{self._slots}"
        intent = OrderIntent(inst.inst_id, side, D(sz), ord_type, None if ord_type is OrdType.MARKET else D(px), slot,
                             reason="test", created_ns=1)
        return ApprovedOrder(intent, 1, ("test",), key=self.key)

    async def settle(self) -> None:
        """Until every push is consumed and no pass or follow-up is queued (polled, generous bound)."""
        for _ in range(100_000):
            await asyncio.sleep(0)
            if self.venue.undelivered == 0 and (self.manager is None or not self.manager.busy):
                await asyncio.sleep(0)
                if self.venue.undelivered == 0 and (self.manager is None or not self.manager.busy):
                    return
        raise AssertionError("the manager never went quiet")

    async def settle_all(self) -> None:
        """Past every deadline, then reconcile and resolve until nothing is left unproven."""
        self.clock.advance((self.config.order_deadline_ms + self.config.deadline_grace_ms) / 1000 + 0.001)
        await self.m.heartbeat()  # what the heartbeat timer does meanwhile
        self.venue.tick()
        await self.settle()
        await self.m.reconcile()
        await self.m.resolve()
        await self.settle()

    # -- the invariants ---------------------------------------------------------------------------

    def local_open(self) -> set[str]:
        return {v.cl_ord_id for v in self.m.open_orders()}

    def venue_open(self) -> set[str]:
        return {o.cl_ord_id for o in self.venue.venue_open(TAG)}

    def check_synced(self) -> None:
        """Local state equals venue facts (after a reconcile, before any new order)."""
        m, v = self.m, self.venue
        assert not m.unknown_orders(), m.unknown_orders()
        assert not m.stats.illegal_facts, m.order_stats.illegal  # a consistent venue never contradicts us
        assert self.local_open() == self.venue_open()
        for view in m.open_orders():
            assert view.state in OPEN_STATES
        venue_fills = {(f.inst_id, f.trade_id): f for f in v.all_fills()}
        ledger = {(f.inst_id, f.trade_id): f for f in m.portfolio.ledger}
        assert ledger == venue_fills
        journaled = {(f.inst_id, f.trade_id): f for f in self.journal.fills()}
        assert journaled == venue_fills
        assert m.portfolio.position(SWAP.inst_id).qty == v.position_qty(SWAP.inst_id)
        assert m.portfolio.position(SPOT.inst_id).qty == v.balance("BTC") - START_BALANCES["BTC"]
        self.check_no_duplicates()

    def check_no_duplicates(self) -> None:
        """No clOrdId of ours was ever sent in two places, and none made two venue orders."""
        sent = Counter(r.cl_ord_id for r in self.venue.log.sent_items("place"))
        assert not [c for c, n in sent.items() if n > 1]
        created = Counter(o.cl_ord_id for o in self.venue.log.created if o.tag == TAG)
        assert not [c for c, n in created.items() if n > 1]

    def state(self) -> tuple:
        """Everything a restart must rebuild identically."""
        m = self.m
        orders = sorted((v.cl_ord_id, v.state, v.sz, v.px, v.acc_fill_sz, v.ord_id, v.origin) for v in m.orders()
                        if not v.state.terminal)
        positions = {i: (p.qty, p.avg_px) for i, p in m.portfolio.positions.items()}
        ledger = sorted((f.inst_id, f.trade_id) for f in m.portfolio.ledger)
        return orders, positions, ledger, self.journal.discrepancies(), self.journal.order_states()
