"""The order manager: approved orders in, venue requests out, and nothing duplicated or lost.

**What it takes.** Only an `ApprovedOrder` (checked at run time: only the risk engine makes one).
Each gets a numeric clOrdId (`clordid_for(epoch, seq)`, the epoch taken durably from the journal at
start), our order `tag`, and an `expTime` deadline (now + `order_deadline_ms`) on every place and
amend. Its intent row is committed to the journal BEFORE the request is sent.

**Outcomes** (okx-v5-protocol.md §5.6), per item:
- ACCEPTED: the order is acknowledged; its fate arrives as pushes (which may come before the ack).
- AMBIGUOUS (and an unexpected EVIDENCE_NEEDED on a place): the order is UNKNOWN. It is resolved
  by querying it by clOrdId, then the open orders and fills (`Reconciler.resolve`): NEVER by
  resending (a clOrdId is unique only among pending orders, so a resend can execute twice) and
  never by a timeout. An UNKNOWN order counts as exposure as if filled and keeps its slot busy.
- REFUSED: the place did nothing: REJECTED (a venue rate-limit refusal is also counted: the budget
  should make it impossible).
- DUPLICATE: an order with this clOrdId is pending: it is adopted (UNKNOWN, queried at once).
- on a cancel, EVIDENCE_NEEDED ("cannot cancel": filled, cancelled or unknown) triggers a query,
  never a CANCELLED; an ambiguous or refused cancel is sent again later (a cancel is safe to repeat).
- on an amend, EVIDENCE_NEEDED triggers a query; REFUSED voids it; AMBIGUOUS leaves it in flight
  until the order's full record, read after the amend's deadline, shows what it did.

**"Never arrived"** is concluded only from venue facts: the venue says the order does not exist
AND the query was sent after the place's `expTime` (plus a grace for clock skew): the venue drops a
request that arrives after its deadline, so no copy of it can still execute. Before that the order
stays UNKNOWN and is queried again once the deadline has passed.

**Slots.** An intent's `slot` may hold one non-terminal order (UNKNOWN included); a new order into
a busy slot is refused locally (SLOT_BUSY), so an unproven order is never re-quoted.

**Budgets.** Every request first takes its tokens from the `RateBudget` built from the venue's
limits (waiting at most `budget_wait_s`); otherwise it is refused locally (THROTTLED), never sent to
earn a venue refusal. Cancels keep a reserve in any bucket they share, so the kill switch works when
the place budget is spent.

**Reconciliation** runs at start, after every private-stream reconnect (the stream's drop makes
every unfinished order UNKNOWN first: pushes may have been lost), on a timer, and when a push about
one of our ids is not tracked or a fact contradicts an order. `reconciling` is true while it runs
and until a pass has synced since the last gap; the risk engine holds risk-increasing orders then.

**The kill switch** (`cancel_all_tagged`) cancels every order with our tag that the VENUE lists
as pending (adopting those the journal does not know) plus every unfinished tracked order. The
dead man's switch (Cancel-All-After, tag-scoped) is armed at start, heartbeated, and disarmed only
on a clean shutdown once no order of ours is left open (otherwise it is left to lapse: the venue
then cancels what we could not).

**Concurrency.** One asyncio loop, no threads. Tasks: the private-stream consumer, the pass runner
and the follow-up runner (event-driven), and with `timers` the heartbeat, periodic pass and
follow-up timers. Journal writes are synchronous SQLite commits (tens of µs with NORMAL).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from hftlab.core.metrics import Histogram
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import (
    CLORDID_SEQ_SPAN, MAX_AMENDS_IN_FLIGHT, ApprovedOrder, Fill, Order, OrderState, OrderStats, OrderUpdate,
    clordid_for, parse_clordid,
)
from hftlab.domain.venue import (
    MAX_BATCH, AmendRequest, CancelRequest, ExecutionVenue, Op, PagingStalled, PlaceRequest, PositionsSnapshot,
    StreamState, StreamStatus, VenueBalance, VenueEvent, VenueUnavailable, WriteOutcome, WriteResult, check_batch,
    write_op,
)
from hftlab.execution.budget import Grant, RateBudget
from hftlab.execution.clock import Clock, SystemClock
from hftlab.execution.config import ExecutionConfig
from hftlab.execution.deadman import DeadManSwitch
from hftlab.execution.journal import Journal
from hftlab.execution.reconcile import PassReport, Reconciler
from hftlab.execution.stats import ExecutionStats, LatencyStats
from hftlab.execution.table import OPEN_STATES, Applied, Exposure, OrderTable, OrderView, Tracked
from hftlab.portfolio.equity import Portfolio

log = logging.getLogger(__name__)


class LocalRefusal(StrEnum):
    """Why a request was never sent."""

    NOT_RUNNING = "not_running"  # not started, or shutting down
    DISCONNECTED = "disconnected"  # the private stream is down: fills would go unseen
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    OFF_GRID = "off_grid"  # size or price off the instrument's grid
    SLOT_BUSY = "slot_busy"
    THROTTLED = "throttled"  # no rate budget within the allowed wait
    OVERSIZE = "oversize"  # more items than a budget bucket can ever hold
    NOT_TRACKED = "not_tracked"
    NOT_OPEN = "not_open"  # amend/cancel of an order that is not open (amend: not LIVE/PARTIALLY_FILLED)
    AMEND_LIMIT = "amend_limit"  # MAX_AMENDS_IN_FLIGHT already in flight


@dataclass(frozen=True, slots=True)
class Ticket:
    """The answer to one item of a request: the venue's outcome class, or why it was not sent."""

    cl_ord_id: str | None
    outcome: WriteOutcome | None
    refusal: LocalRefusal | None = None
    state: OrderState | None = None  # the order's state after the answer
    code: str = ""
    msg: str = ""
    req_id: str | None = None

    @property
    def sent(self) -> bool:
        return self.outcome is not None


@dataclass(frozen=True, slots=True)
class KillReport:
    listed: bool  # the venue's open orders could be read (else only tracked orders were cancelled)
    venue_open: int
    tickets: tuple[Ticket, ...]


@dataclass(frozen=True, slots=True)
class ShutdownReport:
    kill: KillReport | None
    open_left: tuple[str, ...]  # our orders still open when shutdown gave up waiting
    disarmed: bool


class StartupError(Exception):
    """The manager could not start safely (the dead man's switch could not be armed)."""


def _on_grid(spec: InstrumentSpec, sz: Decimal | None, px: Decimal | None) -> bool:
    if sz is not None and not spec.on_lot_grid(sz):
        return False
    return px is None or (px / spec.tick_sz) == (px / spec.tick_sz).to_integral_value()


class OrderManager:
    def __init__(self, venue: ExecutionVenue, journal: Journal, portfolio: Portfolio, config: ExecutionConfig, *,
                 clock: Clock | None = None, order_stats: OrderStats | None = None):
        self._venue = venue
        self._journal = journal
        self._config = config
        self._clock = clock if clock is not None else SystemClock()
        self.stats = ExecutionStats()
        self.latency = LatencyStats(journal_write=journal.timing)
        self.order_stats = order_stats if order_stats is not None else OrderStats()
        self.budget = RateBudget(venue.limits, self._clock, fraction=config.budget_fraction,
                                 cancel_reserve=config.cancel_reserve, max_wait_s=config.budget_wait_s)
        self._table = OrderTable(portfolio, journal, self._clock, self.stats, self.latency, self.order_stats)
        self._reconciler = Reconciler(venue, self._table, journal, self.budget, config, self._clock, self.stats)
        self.deadman = DeadManSwitch(venue, self.budget, self._clock, self.stats, tag=config.tag,
                                     timeout_s=config.caa_timeout_s, heartbeat_s=config.caa_heartbeat_s)
        self._specs = {inst: pos.spec for inst, pos in portfolio.positions.items()}
        self._epoch: int | None = None
        self._seq = 0
        self._running = False
        self._detached = False
        # supervised (core.tasks): each restarts if it fails; the consumer is apart because a clean
        # shutdown stops the runners and timers but keeps it, for the cancels' pushes to land
        self._consumer = Supervisor("execution-stream", self.stats.task_failures)
        self._tasks = Supervisor("execution", self.stats.task_failures)  # runners and timers
        self._pass_wanted = asyncio.Event()
        self._follow_up_wanted = asyncio.Event()
        self._following_up = False

    # -- what the runner and the risk engine read -------------------------------------------------

    @property
    def portfolio(self) -> Portfolio:
        return self._table.portfolio

    @property
    def tag(self) -> str:
        """The order tag marking our orders at the venue."""
        return self._config.tag

    @property
    def running(self) -> bool:
        return self._running

    @property
    def reconciling(self) -> bool:
        return self._reconciler.reconciling

    @property
    def last_pass(self) -> PassReport | None:
        return self._reconciler.last_report

    @property
    def busy(self) -> bool:
        """Work is queued or running (a pass or a follow-up): for callers waiting for quiet."""
        return (self._pass_wanted.is_set() or self._follow_up_wanted.is_set() or self._following_up
                or self._reconciler.running)

    def exposure(self, inst_id: str) -> Exposure:
        return self._table.exposure(inst_id)

    def exposures(self) -> dict[str, Exposure]:
        return {inst: self._table.exposure(inst) for inst in self._specs}

    def order(self, cl_ord_id: str) -> OrderView | None:
        t = self._table.get(cl_ord_id)
        return None if t is None else self._table.view(t)

    def orders(self) -> list[OrderView]:
        return self._table.views()

    def open_orders(self) -> list[OrderView]:
        """Every order of ours not known to be terminal (UNKNOWN included)."""
        return [self._table.view(t) for t in self._table.unfinished()]

    def unknown_orders(self) -> list[OrderView]:
        return self._table.views((OrderState.UNKNOWN,))

    @property
    def balances(self) -> tuple[VenueBalance, ...]:
        """The venue's balances as of the last pass."""
        return self._reconciler.balances

    # -- life -------------------------------------------------------------------------------------

    async def start(self, *, timers: bool = True) -> PassReport:
        """Take a new epoch, recover the journal (unfinished orders as UNKNOWN, positions from the
        fill ledger), subscribe to the private stream, arm the dead man's switch, reconcile."""
        if self._epoch is not None:
            raise RuntimeError("an order manager runs once: a restart is a new one on the same journal")
        self._epoch = self._journal.take_epoch(self._clock.time_ms() / 1000)
        self._seq = 0
        for jo in self._journal.unfinished_orders():
            self._table.recover(jo)
        self._table.book_journaled_fills()
        stream = self._venue.stream()  # subscribed from here on: no push falls between this and the pass
        self._consumer.spawn(lambda: self._consume(stream), "stream", OnFailure.RESTART, name="execution-stream")
        for _ in range(3):
            r = await self.deadman.beat()
            if self.deadman.armed:
                break
            await self._clock.sleep(1.0)
        else:
            self.detach()
            raise StartupError(f"Cancel-All-After could not be armed: {r}")
        report = await self.reconcile()
        self._running = True
        tasks = self._tasks
        tasks.spawn(self._pass_runner, "passes", OnFailure.RESTART, name="execution-passes")
        tasks.spawn(self._follow_up_runner, "follow-ups", OnFailure.RESTART, name="execution-follow-ups")
        if timers:
            tasks.spawn(self.deadman.run, "heartbeat", OnFailure.RESTART, name="execution-heartbeat")
            tasks.spawn(lambda: self._every(self._config.reconcile_interval_s, self._pass_wanted), "pass-timer",
                        OnFailure.RESTART, name="execution-pass-timer")
            tasks.spawn(lambda: self._every(self._config.resolve_retry_s, self._follow_up_wanted), "follow-up-timer",
                        OnFailure.RESTART, name="execution-follow-up-timer")
        return report

    async def shutdown(self, *, cancel_orders: bool = True) -> ShutdownReport:
        """Clean shutdown: stop taking orders, cancel ours (unless told not to), wait (bounded) for
        the venue to confirm, disarm the dead man's switch if nothing of ours is left open."""
        self._running = False
        await self._tasks.close()  # the stream consumer stays: the cancels' pushes must land
        kill = None
        left: list[str] = []
        if cancel_orders:
            kill = await self.cancel_all_tagged()
            wait_ms = self._clock.time_ms() + self._config.order_deadline_ms + self._config.deadline_grace_ms
            while self._table.unfinished() and self._clock.time_ms() < wait_ms:
                await self._clock.sleep(0.05)
                await self.resolve()
            left = [t.key for t in self._table.unfinished()]
        disarmed = False
        if not left:
            await self.deadman.disarm()
            disarmed = not self.deadman.armed
        else:
            log.warning("shutdown: %d orders still open; Cancel-All-After left armed to cancel them", len(left))
        self.detach()
        return ShutdownReport(kill, tuple(left), disarmed)

    def detach(self) -> None:
        """Stop every task, send and journal nothing more: what a crash leaves behind (and a hand-over)."""
        self._running = False
        self._detached = True
        self._tasks.cancel()
        self._consumer.cancel()

    async def _every(self, seconds: float, event: asyncio.Event) -> None:
        while True:
            await self._clock.sleep(seconds)
            event.set()

    async def _pass_runner(self) -> None:
        while True:
            await self._pass_wanted.wait()
            self._pass_wanted.clear()
            try:
                await self.reconcile()
            except Exception:  # a runner that died would stop reconciliation silently
                log.exception("reconciliation pass raised")

    async def _follow_up_runner(self) -> None:
        while True:
            await self._follow_up_wanted.wait()
            self._follow_up_wanted.clear()
            try:
                await self.resolve()
            except Exception:
                log.exception("follow-up raised")

    def _next_id(self) -> str:
        if self._epoch is None:
            raise RuntimeError("the order manager has not started (no epoch)")
        if self._seq >= CLORDID_SEQ_SPAN:
            self._epoch = self._journal.take_epoch(self._clock.time_ms() / 1000)
            self._seq = 0
        cid = clordid_for(self._epoch, self._seq)
        self._seq += 1
        if self._table.get(cid) is not None:  # an adopted order from a lost journal, its clock behind ours
            return self._next_id()
        return cid

    # -- the private stream -----------------------------------------------------------------------

    async def _consume(self, stream) -> None:
        if self.stats.task_failures["stream"]:  # a restart: a pass settles whatever the failed consumer missed
            self._pass_wanted.set()
        async for ev in stream:
            try:
                self.on_event(ev)
            except Exception:  # one bad event must not end the stream: counted, logged, skipped
                self.stats.event_errors += 1
                log.exception("venue event %r raised", ev)

    def on_event(self, ev: VenueEvent) -> None:
        """One private-stream event (the consumer task calls this; so can a wiring that owns the stream)."""
        if isinstance(ev, OrderUpdate):
            r = self._table.apply_update(ev)
            self._after_fact(r, ev.cl_ord_id, ev.ord_id)
        elif isinstance(ev, Fill):
            r = self._table.apply_fill(ev)
            self._after_fact(r, ev.cl_ord_id, ev.ord_id)
        elif isinstance(ev, PositionsSnapshot):
            for p in ev.positions:
                pos = self.portfolio.positions.get(p.inst_id)
                if pos is not None and pos.spec.is_swap and pos.qty != p.qty:
                    self._pass_wanted.set()  # a pass settles fills first, then lets the venue win
        elif isinstance(ev, StreamStatus):
            if ev.state is StreamState.DOWN:
                self.stats.stream_drops += 1
                self._table.stream_lost()
                self._reconciler.stream_gap()
            else:
                self._pass_wanted.set()

    def _after_fact(self, r: Applied, cl_ord_id: str, ord_id: str | None) -> None:
        if r is Applied.UNTRACKED:
            if cl_ord_id and parse_clordid(cl_ord_id) is not None:
                self._pass_wanted.set()  # one of our ids we do not track: adopt or cancel it
            return
        t = self._table.find(cl_ord_id, ord_id)
        if r is Applied.CONTRADICTED or (t is not None and t.cancel_wanted and t.order.state in OPEN_STATES
                                          and not t.cancel_in_flight):
            self._follow_up_wanted.set()

    # -- places -----------------------------------------------------------------------------------

    async def submit(self, approved: ApprovedOrder) -> Ticket:
        return (await self.submit_batch([approved]))[0]

    async def submit_batch(self, approved: Sequence[ApprovedOrder]) -> list[Ticket]:
        """Place 1..20 approved orders in one request; one ticket per order, in order."""
        t0 = self._clock.monotonic()
        for a in approved:
            if not isinstance(a, ApprovedOrder):
                raise TypeError(f"the order manager takes only an ApprovedOrder, not {type(a).__name__}")
        check_batch(len(approved))
        tickets: list[Ticket | None] = [None] * len(approved)
        go: list[int] = []
        for i, a in enumerate(approved):
            refusal = self._place_refusal(a)
            if refusal is None:
                self._table.reserve_slot(a.intent.slot)
                go.append(i)
            else:
                tickets[i] = self._refused_locally(None, refusal)
        if not go:
            return tickets  # type: ignore[return-value]
        counts = Counter(approved[i].intent.inst_id for i in go)
        waited = self._clock.monotonic()
        refusal = self._after_wait(await self.budget.take(write_op(Op.PLACE, len(go)), counts))
        waited = self._clock.monotonic() - waited
        if waited > 0:
            self.latency.budget_wait.observe(waited)
        if refusal is not None:
            for i in go:
                self._table.release_slot(approved[i].intent.slot)
                tickets[i] = self._refused_locally(None, refusal)
            return tickets  # type: ignore[return-value]
        exp = self._clock.time_ms() + self._config.order_deadline_ms
        tracked: list[Tracked] = []
        for i in go:
            a = approved[i]
            self._table.release_slot(a.intent.slot)
            order = Order.submitted(a, self._next_id(), self._clock.time_ms() * 1_000_000, self.order_stats)
            tracked.append(self._table.track_new(order, self._config.tag, exp))
        requests = [PlaceRequest(t.key, self._config.tag, t.order.inst_id, t.order.side, t.order.intent.ord_type,
                                 t.order.sz, t.order.px, exp, t.order.intent.reduce_only) for t in tracked]
        handed = self._clock.monotonic()
        self.latency.overhead.observe(max(0.0, handed - t0 - waited))
        for t in tracked:
            t.in_flight, t.handed_s = True, handed
        self.stats.places += len(requests)
        results = await self._write("place", tracked, self._venue.place, requests, self.latency.place_ack)
        for k, (t, r) in enumerate(zip(tracked, results)):
            self._on_place(t, r)
            tickets[go[k]] = Ticket(t.key, r.outcome, None, t.order.state, r.code, r.msg)
        return tickets  # type: ignore[return-value]

    def _place_refusal(self, a: ApprovedOrder) -> LocalRefusal | None:
        intent = a.intent
        if not self._running:
            return LocalRefusal.NOT_RUNNING
        if not self._venue.connected:
            return LocalRefusal.DISCONNECTED
        spec = self._specs.get(intent.inst_id)
        if spec is None:
            return LocalRefusal.UNKNOWN_INSTRUMENT
        if not _on_grid(spec, intent.sz, intent.px):
            return LocalRefusal.OFF_GRID
        if self._table.slot_busy(intent.slot):
            return LocalRefusal.SLOT_BUSY
        return None

    def _after_wait(self, grant: Grant) -> LocalRefusal | None:
        """Why a request may not go out after its budget wait (the world may have changed meanwhile)."""
        if grant is Grant.THROTTLED:
            return LocalRefusal.THROTTLED
        if grant is Grant.OVERSIZE:
            return LocalRefusal.OVERSIZE
        if not self._running:
            return LocalRefusal.NOT_RUNNING
        if not self._venue.connected:
            return LocalRefusal.DISCONNECTED
        return None

    def _refused_locally(self, cl_ord_id: str | None, refusal: LocalRefusal) -> Ticket:
        self.stats.local_refusals[refusal] += 1
        return Ticket(cl_ord_id, None, refusal)

    async def _write(self, op: str, tracked: list[Tracked], send, requests,
                     ack_latency: Histogram | None = None) -> list[WriteResult]:
        """Send one write; whatever goes wrong in the adapter, every item gets an answer (AMBIGUOUS
        when there is none: the request may have executed). The call's request -> answer time, on the
        adapter's clock, goes to `ack_latency` once per call."""
        try:
            results = await send(requests)
        except asyncio.CancelledError:
            if op == "place" and not self._detached:  # detached = dead: it writes nothing more
                for t in tracked:
                    t.in_flight = False
                    self._table.unknown(t, "request abandoned before its answer")
            raise
        except Exception as e:  # an adapter must answer AMBIGUOUS itself; this is the backstop
            log.exception("%s raised in the venue adapter", op)
            results = []
            msg = repr(e)
        else:
            msg = "no answer for this item"
        by_cl = {r.cl_ord_id: r for r in results}
        out = []
        for k, t in enumerate(tracked):
            r = results[k] if k < len(results) and results[k].cl_ord_id == t.key else by_cl.get(t.key)
            out.append(r if r is not None else WriteResult(WriteOutcome.AMBIGUOUS, t.key, msg=msg))
        acks = [r.acked_ns - r.sent_ns for r in out if r.acked_ns is not None and r.sent_ns is not None]
        if ack_latency is not None and acks:
            ack_latency.observe(max(0.0, max(acks) / 1e9))
        for r in out:
            self.stats.outcomes[(op, r.outcome)] += 1
            if r.outcome is WriteOutcome.REFUSED and r.code in self._venue.limits.rate_limit_codes:
                self.stats.venue_rate_limited += 1
        return out

    def _on_place(self, t: Tracked, r: WriteResult) -> None:
        t.in_flight = False
        if r.outcome is WriteOutcome.ACCEPTED:
            self._table.acked(t, r.ord_id)
        elif r.outcome is WriteOutcome.REFUSED:
            self._table.refused(t, r.code or "refused")
        elif t.existed:  # pushes already proved the order exists (and maybe ended): a vague answer adds nothing
            return
        elif r.outcome is WriteOutcome.DUPLICATE:
            self._table.unknown(t, "duplicate clOrdId: adopting the pending order")
            self._table.want_query(t)
            self._follow_up_wanted.set()
        else:  # AMBIGUOUS, or a vague answer to a place: nothing proven
            self._table.unknown(t, f"{r.outcome.value}: {r.code} {r.msg}".strip())
            self._follow_up_wanted.set()

    # -- amends -----------------------------------------------------------------------------------

    async def amend(self, cl_ord_id: str, *, new_sz: Decimal | None = None, new_px: Decimal | None = None) -> Ticket:
        """Change an open order's size and/or price. `new_sz` is the new TOTAL size, what already
        filled included (a size at or below the filled size makes the venue finish the order)."""
        t = self._table.get(cl_ord_id)
        refusal = self._amend_refusal(t, new_sz, new_px)
        if refusal is not None:
            return self._refused_locally(cl_ord_id, refusal)
        inst = t.order.inst_id
        refusal = self._after_wait(await self.budget.take(Op.AMEND, {inst: 1}))
        refusal = refusal or self._amend_refusal(t, new_sz, new_px)  # the order may have moved while we waited
        if refusal is not None:
            return self._refused_locally(cl_ord_id, refusal)
        req_id = self._next_id()
        exp = self._clock.time_ms() + self._config.order_deadline_ms
        self._table.amend_requested(t, req_id, new_sz, new_px, exp)
        self.stats.amends += 1
        req = AmendRequest(inst, cl_ord_id, req_id, exp, new_sz, new_px, t.order.ord_id)
        r = (await self._write("amend", [t], self._venue.amend, [req]))[0]
        if r.outcome in (WriteOutcome.REFUSED, WriteOutcome.DUPLICATE):
            self._table.amend_void(t, req_id)
        elif r.outcome is WriteOutcome.EVIDENCE_NEEDED:
            self._table.want_query(t)
            self._follow_up_wanted.set()
        # ACCEPTED: its push resolves it; AMBIGUOUS: the record read after its deadline does
        return Ticket(cl_ord_id, r.outcome, None, t.order.state, r.code, r.msg, req_id)

    def _amend_refusal(self, t: Tracked | None, new_sz: Decimal | None, new_px: Decimal | None) -> LocalRefusal | None:
        if new_sz is None and new_px is None:
            raise ValueError("an amend changes the size, the price or both")
        if t is None:
            return LocalRefusal.NOT_TRACKED
        if not self._running:
            return LocalRefusal.NOT_RUNNING
        if not self._venue.connected:
            return LocalRefusal.DISCONNECTED
        if t.order.state not in (OrderState.LIVE, OrderState.PARTIALLY_FILLED) or t.cancel_wanted:
            return LocalRefusal.NOT_OPEN
        if len(t.order.amends_in_flight) >= MAX_AMENDS_IN_FLIGHT:
            return LocalRefusal.AMEND_LIMIT
        if not _on_grid(self._specs[t.order.inst_id], new_sz, new_px):
            return LocalRefusal.OFF_GRID
        return None

    # -- cancels ----------------------------------------------------------------------------------

    async def cancel(self, cl_ord_id: str) -> Ticket:
        return (await self.cancel_batch([cl_ord_id]))[0]

    async def cancel_batch(self, cl_ord_ids: Sequence[str]) -> list[Ticket]:
        """Cancel orders (any number: sent 20 per request). Allowed in every state but terminal,
        UNKNOWN included (a cancel is safe to repeat); the wish is journaled and kept until the
        order ends, re-sent when an answer proves nothing."""
        tickets: dict[str, Ticket] = {}
        go: list[Tracked] = []
        for cl in dict.fromkeys(cl_ord_ids):
            t = self._table.get(cl)
            if t is None:
                tickets[cl] = self._refused_locally(cl, LocalRefusal.NOT_TRACKED)
            elif t.order.state.terminal:
                tickets[cl] = self._refused_locally(cl, LocalRefusal.NOT_OPEN)
            else:
                self._table.cancel_requested(t)
                go.append(t)
        for k in range(0, len(go), MAX_BATCH):
            chunk = [t for t in go[k:k + MAX_BATCH] if not t.order.state.terminal]
            if chunk:
                tickets.update(await self._send_cancels(chunk))
        return [tickets.get(cl) or Ticket(cl, None, LocalRefusal.NOT_OPEN) for cl in cl_ord_ids]

    async def _send_cancels(self, chunk: list[Tracked]) -> dict[str, Ticket]:
        now = self._clock.time_ms()
        retry_ms = now + int(self._config.resolve_retry_s * 1000)
        grant = await self.budget.take(write_op(Op.CANCEL, len(chunk)), Counter(t.order.inst_id for t in chunk))
        if grant is not Grant.GRANTED:
            refusal = LocalRefusal.THROTTLED if grant is Grant.THROTTLED else LocalRefusal.OVERSIZE
            for t in chunk:
                t.cancel_due_ms = retry_ms
            self._follow_up_wanted.set()
            return {t.key: self._refused_locally(t.key, refusal) for t in chunk}
        for t in chunk:
            t.cancel_in_flight = True
        self.stats.cancels += len(chunk)
        requests = [CancelRequest(t.order.inst_id, t.key, t.order.ord_id) for t in chunk]
        try:
            results = await self._write("cancel", chunk, self._venue.cancel, requests, self.latency.cancel_ack)
        finally:
            for t in chunk:
                t.cancel_in_flight = False
        now = self._clock.time_ms()
        out = {}
        for t, r in zip(chunk, results):
            if r.outcome in (WriteOutcome.ACCEPTED, WriteOutcome.DUPLICATE):
                t.cancel_due_ms = now + self._config.order_deadline_ms  # its push should come before then
            elif r.outcome is WriteOutcome.EVIDENCE_NEEDED:
                self._table.want_query(t)
                t.cancel_due_ms = retry_ms
                self._follow_up_wanted.set()
            else:  # AMBIGUOUS or REFUSED: nothing happened that we know of; send it again later
                t.cancel_due_ms = retry_ms
                self._follow_up_wanted.set()
            out[t.key] = Ticket(t.key, r.outcome, None, t.order.state, r.code, r.msg)
        return out

    async def cancel_all_tagged(self) -> KillReport:
        """The kill switch: cancel every order with our tag the venue lists as pending (adopting the
        ones the journal does not know) and every unfinished tracked order."""
        self.stats.kill_switch += 1
        listed, venue_open = True, 0
        try:
            if await self.budget.take(Op.OPEN_ORDERS, {"": 1}) is not Grant.GRANTED:
                raise VenueUnavailable("local rate budget")
            listing = await self._venue.open_orders(self._config.tag)
        except (VenueUnavailable, PagingStalled) as e:
            log.warning("kill switch: the venue's open orders could not be read (%s); cancelling tracked orders", e)
            listed, listing = False, []
        for vo in listing:
            if vo.tag != self._config.tag or not vo.open:
                continue
            venue_open += 1
            if self._table.find(vo.cl_ord_id, vo.ord_id) is None:
                self._table.adopt(vo)
        tickets = await self.cancel_batch([t.key for t in self._table.unfinished()])
        return KillReport(listed, venue_open, tuple(tickets))

    # -- reconciliation and follow-ups ------------------------------------------------------------

    async def reconcile(self) -> PassReport:
        """One reconciliation pass now (serialised with any other), then the cancels it asks for."""
        report = await self._reconciler.run_pass()
        if report.to_cancel:
            adopted = set(report.adopted)
            tickets = await self.cancel_batch(list(report.to_cancel))
            self.stats.adopted_cancelled += sum(1 for tk in tickets if tk.cl_ord_id in adopted and tk.sent)
        if self._table.views((OrderState.UNKNOWN,)):
            self._follow_up_wanted.set()
        return report

    async def resolve(self) -> int:
        """Work the follow-ups that are due: query every order whose fate needs evidence (UNKNOWN, a
        vague answer, amends past their deadline), then re-send wanted cancels. Returns how many
        orders were acted on."""
        self._following_up = True
        try:
            now = self._clock.time_ms()
            grace = self._config.deadline_grace_ms
            n = 0
            for t in self._table.unfinished():
                if t.in_flight or now < t.query_due_ms:
                    continue
                if (t.order.state is OrderState.UNKNOWN or t.needs_query
                        or any(now >= dl + grace for dl in t.amend_deadlines.values())):
                    await self._reconciler.resolve(t)
                    n += 1
            now = self._clock.time_ms()
            due = [t.key for t in self._table.unfinished()
                   if t.cancel_wanted and t.order.state in OPEN_STATES and not t.cancel_in_flight
                   and now >= t.cancel_due_ms]
            if due:
                await self.cancel_batch(due)
                n += len(due)
            return n
        finally:
            self._following_up = False

    async def heartbeat(self) -> WriteResult | None:
        """One dead man's switch heartbeat now (the timer task sends them when `timers` is on)."""
        return await self.deadman.beat()
