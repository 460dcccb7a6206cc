"""Reconciliation: local state against venue facts, at start-up, after every private-stream
reconnect, periodically, and order by order when an outcome is unproven.

**A pass** (`run_pass`), while `reconciling` is true (the risk engine holds risk-increasing orders):
1. the venue's open orders carrying our tag (every page);
2. the fills of every instrument since its cursor (every page), booked once through the table;
3. each open venue order: a tracked one takes the venue's full record; one with our tag that the
   journal does not know is adopted, and with `adoption: cancel` also cancelled (by the manager:
   the reconciler only reads). Orders without our tag are never touched;
4. each tracked unfinished order the venue does not list as open (and whose place is not awaiting
   its answer) is resolved by query (`resolve`);
5. positions: built from the fill ledger, then the venue's position wins where they differ (a
   liquidation or ADL has no order update); the difference is recorded (journal, keyed by venue
   facts) and counted. Spot holdings are balances and are only read (deposits and holdings from
   before hftlab are not ours to explain);
6. balances, read and kept for display.
The pass is SYNCED only if every read answered, the private stream was up from its start to its
end and did not drop in between (a GAP pass leaves `reconciling` true: pushes may have been lost
after its reads). A read that did not answer or a paging cursor that did not move (a venue bug:
logged, counted, the walk stopped) FAILS the pass; the next trigger runs another.

**Resolving one order** (`resolve`): query it by clOrdId. FOUND: the venue's record applies (state,
filled size, size and price; amends in flight past their deadline are void: the record was read
after it). NOT_FOUND is evidence, not proof: a place may still be in flight. Only when the query was
sent after the place's venue deadline (`expTime`) plus the grace (clock skew, venue processing) can
"does not exist" mean "never arrived": the venue drops a request that arrives after its deadline,
so no late copy can execute any more. Then the open orders and the instrument's fills are read;
with no trace the order is REJECTED (the place did nothing); an order that did exist (acknowledged,
reported, or with fills) and is neither pending nor in the venue's history ended with the fills
booked for it (histories expire: a cancelled, never-filled order can vanish within hours). Before
the deadline the order stays UNKNOWN and is queried again after it. A query that did not answer is
retried. No timer ever produces a terminal state: only these venue facts do.

**Cursors.** The fills cursor of an instrument is the highest trade id of its last COMPLETE read
(journaled), not the highest trade id seen: a push arriving after a stream gap must not move the
cursor past the fills the gap lost. The overlap re-read is booked once (the ledger and each order
dedupe by trade id).

**Determinism.** Everything a pass derives (adopted orders and their slots, discrepancy keys,
conclusions) is a pure function of venue facts and the journal, so N restarts give identical state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from hftlab.domain.venue import (
    ExecutionVenue, Lookup, Op, OrderLookup, PagingStalled, VenueBalance, VenueOrder, VenuePosition,
    VenueUnavailable,
)
from hftlab.execution.budget import Grant, RateBudget
from hftlab.execution.clock import Clock
from hftlab.execution.config import ExecutionConfig
from hftlab.execution.journal import Journal
from hftlab.execution.stats import ExecutionStats
from hftlab.execution.table import OPEN_STATES, Applied, OrderTable, Tracked
from hftlab.portfolio.positions import Discrepancy

log = logging.getLogger(__name__)
ZERO = Decimal(0)
T = TypeVar("T")


class PassOutcome(StrEnum):
    SYNCED = "synced"
    GAP = "gap"  # every read answered, but the private stream was down at some point
    FAILED = "failed"


class Resolution(StrEnum):
    FOUND = "found"  # the venue's record applied
    NEVER_ARRIVED = "never_arrived"  # REJECTED: unknown to the venue after its deadline, no trace
    ENDED_UNSEEN = "ended_unseen"  # it existed; neither pending nor in the venue's history
    WAIT_DEADLINE = "wait_deadline"  # not found before its deadline: a late request may still execute
    RETRY = "retry"  # the query did not answer
    CONTRADICTED = "contradicted"  # the record contradicted the order (counted; queried again)


@dataclass(frozen=True, slots=True)
class PassReport:
    outcome: PassOutcome
    reason: str = ""
    venue_open: int = 0
    adopted: tuple[str, ...] = ()
    fills_recovered: int = 0
    resolved: Mapping[Resolution, int] = field(default_factory=dict)
    discrepancies: tuple[Discrepancy, ...] = ()
    to_cancel: tuple[str, ...] = ()  # clOrdIds the manager should cancel now


def _key(vo: VenueOrder) -> str:
    return vo.cl_ord_id or f"ord{vo.ord_id}"


def _trade_no(trade_id: str) -> int | None:
    try:
        n = int(trade_id)
    except ValueError:
        return None
    return n if n >= 0 else None


class Reconciler:
    def __init__(self, venue: ExecutionVenue, table: OrderTable, journal: Journal, budget: RateBudget,
                 config: ExecutionConfig, clock: Clock, stats: ExecutionStats):
        self._venue = venue
        self._table = table
        self._journal = journal
        self._budget = budget
        self._config = config
        self._clock = clock
        self._stats = stats
        self._cursors: dict[str, str] = journal.cursors()
        self._lock = asyncio.Lock()
        self._running = False
        self._synced = False
        self._gaps = 0
        self.balances: tuple[VenueBalance, ...] = ()
        self.last_report: PassReport | None = None

    @property
    def running(self) -> bool:
        return self._running

    @property
    def reconciling(self) -> bool:
        """True while a pass runs and until one has synced since the last stream gap."""
        return self._running or not self._synced

    def stream_gap(self) -> None:
        self._synced = False
        self._gaps += 1

    def cursor(self, inst_id: str) -> str | None:
        return self._cursors.get(inst_id)

    async def _read(self, op: Op, counts: Mapping[str, int], call: Callable[[], Awaitable[T]]) -> T:
        grant = await self._budget.take(op, counts)
        if grant is not Grant.GRANTED:
            self._stats.local_refusals[f"read_{grant.value}"] += 1
            raise VenueUnavailable(f"{op.value}: local rate budget {grant.value}")
        return await call()

    # -- the pass ---------------------------------------------------------------------------------

    async def run_pass(self) -> PassReport:
        async with self._lock:
            self._running = True
            gaps, up = self._gaps, self._venue.connected
            try:
                report = await self._pass()
            except PagingStalled as e:
                self._stats.paging_stalls += 1
                report = self._failed("paging_stalled", str(e))
            except VenueUnavailable as e:
                report = self._failed("venue_unavailable", str(e))
            else:
                if not (up and self._venue.connected and gaps == self._gaps):
                    report = dataclasses.replace(report, outcome=PassOutcome.GAP,
                                                 reason="the private stream was down during the pass")
            finally:
                self._running = False
            self._synced = report.outcome is PassOutcome.SYNCED
            self._stats.reconcile_passes += 1
            self.last_report = report
            return report

    def _failed(self, reason: str, detail: str) -> PassReport:
        log.warning("reconciliation pass failed (%s): %s", reason, detail)
        self._stats.reconcile_failures[reason] += 1
        return PassReport(PassOutcome.FAILED, f"{reason}: {detail}")

    async def _pass(self) -> PassReport:
        tag = self._config.tag
        listing = await self._read(Op.OPEN_ORDERS, {"": 1}, lambda: self._venue.open_orders(tag))
        by_key = {_key(vo): vo for vo in listing if vo.tag == tag and vo.open}
        recovered = 0
        for inst in self._table.portfolio.positions:
            recovered += await self.sync_fills(inst)
        adopted: list[str] = []
        to_cancel: list[str] = []
        for vo in by_key.values():
            t = self._table.find(vo.cl_ord_id, vo.ord_id)
            if t is None:
                t = self._table.adopt(vo)
                adopted.append(t.key)
                if self._config.adoption == "cancel":
                    to_cancel.append(t.key)
            else:
                self._apply_record(t, vo, self._clock.time_ms())
        resolved: Counter = Counter()
        for t in self._table.unfinished():
            if t.key in by_key or t.in_flight:
                continue
            resolved[await self.resolve(t, listing=by_key)] += 1
        discrepancies = await self.sync_positions()
        self.balances = tuple(await self._read(Op.BALANCES, {"": 1}, self._venue.balances))
        for t in self._table.unfinished():
            if t.cancel_wanted and t.order.state in OPEN_STATES and t.key not in to_cancel:
                to_cancel.append(t.key)
        return PassReport(PassOutcome.SYNCED, "", len(by_key), tuple(adopted), recovered, dict(resolved),
                          tuple(discrepancies), tuple(to_cancel))

    # -- one order --------------------------------------------------------------------------------

    def _apply_record(self, t: Tracked, vo: VenueOrder, read_after_ms: int) -> Applied:
        """The venue's record; amends in flight whose deadline (plus grace) passed before the read
        can no longer apply, and the record shows whatever they did."""
        r = self._table.apply_record(t, vo)
        grace = self._config.deadline_grace_ms
        for req_id, deadline in list(t.amend_deadlines.items()):
            if read_after_ms >= deadline + grace:
                self._table.amend_void(t, req_id)
        return r

    async def resolve(self, t: Tracked, *, listing: Mapping[str, VenueOrder] | None = None) -> Resolution:
        """Decide one order's fate from venue facts (see the module doc)."""
        asked_ms = self._clock.time_ms()
        inst = t.order.inst_id
        try:
            lookup: OrderLookup = await self._read(Op.QUERY, {inst: 1}, lambda: self._venue.query(inst, t.key))
        except VenueUnavailable:
            lookup = OrderLookup(Lookup.FAILED, msg="unavailable")
        self._stats.queries[lookup.outcome] += 1
        retry_ms = asked_ms + int(self._config.resolve_retry_s * 1000)
        if lookup.outcome is Lookup.FAILED:
            t.query_due_ms = retry_ms
            return self._resolved(Resolution.RETRY)
        if lookup.outcome is Lookup.FOUND:
            return self._found(t, lookup.order, asked_ms, retry_ms)
        deadline = t.exp_time_ms + self._config.deadline_grace_ms
        if not t.existed and t.exp_time_ms and asked_ms < deadline:
            t.query_due_ms = deadline
            return self._resolved(Resolution.WAIT_DEADLINE)
        if listing is None:
            tag = self._config.tag
            listing = {_key(vo): vo for vo in await self._read(Op.OPEN_ORDERS, {"": 1},
                                                                 lambda: self._venue.open_orders(tag))}
        vo = listing.get(t.key)
        if vo is not None:
            return self._found(t, vo, asked_ms, retry_ms)
        await self.sync_fills(inst)
        existed = t.existed or t.booked > 0
        if self._table.conclude_absent(t) is not Applied.APPLIED:
            t.query_due_ms = retry_ms
            return self._resolved(Resolution.CONTRADICTED)
        return self._resolved(Resolution.ENDED_UNSEEN if existed else Resolution.NEVER_ARRIVED)

    def _found(self, t: Tracked, vo: VenueOrder, asked_ms: int, retry_ms: int) -> Resolution:
        if self._apply_record(t, vo, asked_ms) is not Applied.APPLIED:
            t.query_due_ms = retry_ms
            return self._resolved(Resolution.CONTRADICTED)
        t.needs_query = False
        return self._resolved(Resolution.FOUND)

    def _resolved(self, r: Resolution) -> Resolution:
        self._stats.resolved[r] += 1
        return r

    # -- fills and positions ----------------------------------------------------------------------

    async def sync_fills(self, inst_id: str) -> int:
        """Every fill of `inst_id` since its cursor, booked once; returns how many were new."""
        cursor = self._cursors.get(inst_id)
        fills = await self._read(Op.FILLS, {inst_id: 1}, lambda: self._venue.fills_since(inst_id, cursor))
        before = len(self._table.portfolio.ledger)
        best = None if cursor is None else _trade_no(cursor)
        top = cursor
        for f in fills:
            self._table.apply_fill(f)
            n = _trade_no(f.trade_id)
            if n is not None and (best is None or n > best):
                best, top = n, f.trade_id
        if top is not None and top != cursor:
            self._cursors[inst_id] = top
            self._journal.set_cursor(inst_id, top)
        new = len(self._table.portfolio.ledger) - before
        self._stats.fills_recovered += new
        return new

    async def _venue_positions(self) -> dict[str, VenuePosition]:
        return {p.inst_id: p for p in await self._read(Op.POSITIONS, {"": 1}, self._venue.positions)}

    def _differences(self, venue: Mapping[str, VenuePosition], insts: Sequence[str]) -> dict[str, Decimal]:
        out = {}
        for inst in insts:
            vp = venue.get(inst)
            qty = ZERO if vp is None else vp.qty
            if qty != self._table.portfolio.position(inst).qty:
                out[inst] = qty
        return out

    async def sync_positions(self) -> list[Discrepancy]:
        """Venue positions win where they differ from the fills, after a second look: a difference
        that survives positions -> fills -> positions is not a fill still on its way."""
        portfolio = self._table.portfolio
        insts = [i for i, p in portfolio.positions.items() if p.spec.is_swap]
        if not insts:
            return []
        venue = await self._venue_positions()
        diff = self._differences(venue, insts)
        if not diff:
            return []
        for inst in diff:
            await self.sync_fills(inst)
        venue = await self._venue_positions()
        out = []
        for inst, qty in self._differences(venue, insts).items():
            vp = venue.get(inst)
            pos = portfolio.position(inst)
            if vp is not None:
                avg, mark, ts = vp.avg_px, vp.mark_px, vp.ts_ms
            else:  # the venue is flat: close at our average, at the time of our last fill (both venue facts)
                avg, mark = None, pos.avg_px
                ts = max((f.ts_ms for f in portfolio.ledger if f.inst_id == inst), default=0)
            d = portfolio.replace_position(inst, qty, avg, mark, ts)
            if d is None:
                continue
            log.warning("position %s: venue %s, fills gave %s; the venue's wins", inst, qty, d.local_qty)
            self._journal.record_discrepancy(d)
            self._stats.position_discrepancies += 1
            out.append(d)
        return out
