"""The live runner: market data -> signal -> risk -> order manager -> positions and PnL, one event loop.

Wiring only; every decision lives where it belongs (strategy/: the signal, filters, sizing and the
orders it wants; risk/: what may be sent; execution/: what was sent and what the venue says;
portfolio/: what it is worth). The runner:

- starts the venue (the embedded simulator, a running `hftlab sim`, or OKX), loads and checks the
  model (live/model.py), reads the instruments, starts the order manager (journal, epoch,
  Cancel-All-After, reconciliation) before any market data is acted on;
- on every closed bar of the traded timeframe runs the instrument's `SignalPipeline`, plans orders
  (`strategy.quoting`), and sends each new intent through `RiskEngine.check` and only then
  `OrderManager.submit`; amends are risk-checked too; cancels always go;
- marks the portfolio every `live.mark_interval_ms` and feeds the risk engine's breakers (drawdown,
  day's loss, stale data, private stream down, rate budget, reconciliation drift); HALTED cancels every
  order with our tag at the venue; the kill switch (SIGUSR1, `POST /kill`, `hftlab kill`) halts,
  cancels and optionally flattens, and is idempotent;
- publishes positions, open orders, equity and state to Redis (cache/schema.py) and records fills,
  orders and the equity curve to Parquet (live/records.py);
- on SIGINT/SIGTERM or the end of `--duration`: no new intents, open orders cancelled or left by
  `live.on_exit`, the journal flushed, Cancel-All-After disarmed, the summary checked against the
  venue (positions and open orders), exit 0.

Tick-to-order is measured from the receive time of the market-data frame whose event closed the bar
(`recv_ns`, stamped by the socket reader before parsing) to the moment the order's frame left (the
venue adapter's send stamp), inference included.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import signal
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import OrderIntent
from hftlab.domain.venue import WriteOutcome
from hftlab.live.control import Control
from hftlab.live.flatten import ManagerBook, flatten_positions
from hftlab.live.model import AliasFollower, LiveModel
from hftlab.live.records import Records
from hftlab.monitor.latency import FeedLatency, TickLatency
from hftlab.okx.events import BookMsg, Ticker, Trade
from hftlab.risk.checks import Denial, Exposure, Market
from hftlab.risk.engine import Account, RiskEngine
from hftlab.risk.state import Condition, StateFile, TradingState
from hftlab.strategy.quoting import plan_orders
from hftlab.strategy.signal import SignalPipeline

log = logging.getLogger("hftlab.live")
ZERO = Decimal(0)
CONSUME_BATCH = 1000
T2O_KEPT = 100_000  # tick-to-order samples kept for the summary (the histogram counts every one)


@dataclass
class Session:
    """What a runner is given once its world is up: the venue, the model, the instruments."""

    venue_name: str
    world: str
    model: LiveModel
    specs: dict[str, InstrumentSpec]
    timeframe: str
    feed: Any  # marketdata.feed.MarketFeed
    client: Any  # okx.client.AsyncOKXClient (market data)
    venue: Any  # domain.venue.ExecutionVenue
    manager: Any  # execution.manager.OrderManager
    cache: Any = None  # cache.manager.RedisCacheManager or None
    follower: AliasFollower | None = None
    risk: RiskEngine | None = None  # built on the state directory's persisted risk state
    rest: Any = None  # okx.rest.OkxRest: the venue's price limits


@dataclass
class Counters:
    intents: int = 0
    submitted: int = 0
    accepted: int = 0
    local_refusals: Counter = field(default_factory=Counter)
    amends: int = 0
    cancels: int = 0
    decisions: int = 0
    stage_ns: list[int] = field(default_factory=lambda: [0, 0, 0])
    errors: int = 0
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks)


class LiveRunner:
    def __init__(self, session: Session, *, risk_cfg, strategy_cfg, rule_cfg, live_cfg, horizon: int,
                 state_dir: Path, duration_s: float | None, progress: Callable[[str], None] | None = None,
                 monitor_cfg=None, memory_limit_bytes: int | None = None):
        self.s = session
        self._book = ManagerBook(session.manager)
        self.strategy_cfg = strategy_cfg
        self.live_cfg = live_cfg
        self.state_dir = Path(state_dir)
        self.duration_s = duration_s
        self.progress = progress
        self.counters = Counters()
        self.tick = TickLatency()  # features, inference, decision, risk, tick-to-order (exported)
        self.feed_latency = FeedLatency()
        self._t2o_us: deque[float] = deque(maxlen=T2O_KEPT)  # the summary's exact quantiles (recent orders)
        self.monitor_cfg = monitor_cfg
        self.memory_limit_bytes = memory_limit_bytes
        self.monitor = None
        self._intents_stopped = False
        self.risk = session.risk or RiskEngine(risk_cfg, session.specs,
                                               state_file=StateFile(self.state_dir / "risk.json"))
        self.risk.on_state = self._on_state
        self.pipelines = {inst: SignalPipeline(spec, session.model.predictor, rule_cfg, strategy_cfg,
                                               cap_usd=risk_cfg.max_position_usd, horizon=horizon)
                          for inst, spec in session.specs.items()}
        self._pending_model: LiveModel | None = None
        self._bands: dict[str, tuple[float, float]] = {}  # the venue's price limits, refreshed
        self._busy: set[str] = set()
        # the market and marks tasks are the loop's eyes: if one fails the run stops cleanly, not blind
        self._tasks = Supervisor("live", self.counters.task_failures, on_stop=self.request_stop)
        self._stop = asyncio.Event()
        self.stopped_by = "duration"
        self._stopping = False
        self._killing: asyncio.Task | None = None
        self.kills = 0
        self._equity_known = False
        self._last_snapshot = None
        self.records = Records(self.state_dir / "records") if live_cfg.record else None
        self._seen_orders: dict[str, tuple] = {}
        self._fills_recorded = len(session.manager.portfolio.ledger)  # earlier sessions recorded theirs
        if hasattr(session.venue, "on_sent"):
            session.venue.on_sent = self.on_sent  # the adapter's send stamp: tick-to-order
        self.control = Control(live_cfg.control_host, live_cfg.control_port, self.state_dir, session.venue_name,
                               on_kill=self.kill, status=self.status)
        self.started = time.monotonic()

    # ----- the pieces' views for risk -------------------------------------------------------------
    def exposure(self, inst_id: str) -> Exposure:
        return self._book.exposure(inst_id)

    def open_order_count(self) -> int:
        return len(self.s.manager.open_orders())

    def exposed_instruments(self):
        return self.s.specs.keys()

    def _markets(self) -> dict[str, Market]:
        out = {}
        for inst in self.s.specs:
            top = self.s.feed.top(inst)
            mid = top.mid if top is not None else None
            band = self._bands.get(inst)
            out[inst] = Market(top, mid, top.recv_ns if top is not None else 0,
                               band[0] if band else None, band[1] if band else None)
        return out

    def _account(self) -> Account:
        m = self.s.manager
        return Account(equity_known=self._equity_known, reconciled=m.last_pass is not None,
                       reconciling=m.reconciling)

    # ----- life -----------------------------------------------------------------------------------
    def _spawn(self, coro, name: str) -> asyncio.Task:
        essential = name in ("live-market", "live-marks")
        kind = "live-exec" if name.startswith("live-exec") else name
        return self._tasks.spawn(coro, kind, OnFailure.STOP if essential else OnFailure.LOG, name=name)

    def request_stop(self, why: str) -> None:
        if not self._stop.is_set():
            self.stopped_by = why
            log.warning("live: stopping (%s)", why)
            self._stop.set()

    async def run(self) -> dict:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
        loop.add_signal_handler(signal.SIGUSR1, lambda: self._spawn(self.kill(False, "SIGUSR1"), "live-kill"))
        info = await self.control.start()
        self._log(f"control endpoint {info.url} (hftlab kill --state-dir {self.state_dir})")
        if self.monitor_cfg is not None:
            await self._start_monitor()
        if self.s.follower is not None:
            self.s.follower._on_move = self._model_moved
            self._spawn(self.s.follower.run(), "live-alias")
        if self.risk.state is TradingState.HALTED:
            self._log(f"trading state HALTED from the last session ({'; '.join(self.risk.reasons)}): cancels only "
                      "until a manual reset (hftlab live --reset-halt)")
        self._spawn(self._market(), "live-market")
        self._spawn(self._marks(), "live-marks")
        self._spawn(self._progress_loop(), "live-progress")
        if self.s.rest is not None:
            self._spawn(self._price_limits(), "live-price-limits")
        try:
            if self.duration_s is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.duration_s)
            else:
                await self._stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
        return await self.shutdown()

    async def _start_monitor(self) -> None:
        from hftlab.monitor.process import ProcessMonitor
        from hftlab.monitor.registration import register_cache, register_market_data, register_trading

        s = self.s
        mon = ProcessMonitor(self.monitor_cfg, "live", cache=s.cache, memory_limit_bytes=self.memory_limit_bytes,
                             on_stop_intents=self.stop_intents, on_stop=lambda: self.request_stop("memory guard"))
        register_market_data(mon.sources, s.client, s.feed, list(s.specs), self.feed_latency)
        if s.cache is not None:
            register_cache(mon.sources, s.cache)
        register_trading(mon.sources, s.manager, self.risk, snapshot=lambda: self._last_snapshot, ccy="USDT",
                         pipelines=self.pipelines, model={"name": s.model.name or s.model.uri,
                                                          "version": s.model.version or ""})
        mon.sources.record(self.tick)
        if hasattr(s.venue, "stats"):
            mon.sources.record(s.venue.stats)
        await mon.start()
        self.monitor = mon
        if mon.url:
            self._log(f"metrics on {mon.url}")

    def stop_intents(self) -> None:
        """No new orders from here on (the memory guard's second step); cancels still go."""
        if not self._intents_stopped:
            self._intents_stopped = True
            self._log("no new intents: the resource guard is shedding load")

    async def shutdown(self) -> dict:
        self._stopping = True
        for t in list(self._tasks):
            if t.get_name() in ("live-alias", "live-progress", "live-price-limits"):
                t.cancel()
        busy = [t for t in self._tasks if t.get_name().startswith("live-exec")]
        if busy:
            await asyncio.wait(busy, timeout=10)
        cancel = self.live_cfg.on_exit == "cancel"
        report = await self.s.manager.shutdown(cancel_orders=cancel)
        self._log(f"order manager stopped: {report}")
        if hasattr(self.s.venue, "close"):
            await self.s.venue.close()
        await self.s.client.close()
        await self._tasks.close()
        self._publish(force=True)
        if self.records is not None:
            self._record_orders()
            await self.records.flush()
        self.risk.flush()
        summary = await self.summary()
        await self.control.stop()
        if self.monitor is not None:
            await self.monitor.close()
        return summary

    def _log(self, msg: str) -> None:
        if self.progress is not None:
            self.progress(msg)
        else:
            log.info(msg)

    # ----- market data -> decisions ----------------------------------------------------------------
    async def _market(self) -> None:
        from hftlab.okx.queue import QueueClosed

        client = self.s.client
        while True:
            try:
                ev = await client.get()
            except QueueClosed:
                return
            if self._on_event(ev):
                await asyncio.sleep(0)
            for ev in client.get_batch(CONSUME_BATCH):
                if self._on_event(ev):
                    # an order is about to go out: let its task reach the socket before more events
                    # (tick-to-order must not wait behind the rest of a batch)
                    await asyncio.sleep(0)

    def _on_event(self, ev) -> bool:
        """Apply one market event; True when it set an order on its way."""
        acted = False
        try:
            kind = type(ev)
            if kind is BookMsg or kind is Trade or kind is Ticker:
                self.feed_latency.observe_event(ev, ev.ts_ms)
            update = self.s.feed.on_event(ev)
            for bar in update.bars:
                if bar.timeframe == self.s.timeframe and bar.inst_id in self.pipelines:
                    acted |= self._on_bar(bar, getattr(ev, "recv_ns", time.time_ns()))
        except Exception:  # one bad event must never end the loop: counted, logged, skipped
            self.counters.errors += 1
            log.exception("live: an event could not be handled: %.200r", ev)
        return acted

    def _on_bar(self, bar, recv_ns: int) -> bool:
        if self._pending_model is not None:
            self._switch_model()
        inst = bar.inst_id
        pipe = self.pipelines[inst]
        if pipe.features.spec.uses_book:
            book = self.s.feed.book(self.s.feed.top_channel, inst) if self.s.feed.top_channel else None
            if book is not None:
                n = pipe.features.spec.book_levels
                pipe.on_book(book.bids(n), book.asks(n))
        top = self.s.feed.top(inst)
        d = pipe.on_bar(bar, top, time.time_ns())
        self.counters.decisions += 1
        self.tick.observe_stages(d.stage_ns)
        for k in range(3):
            self.counters.stage_ns[k] += d.stage_ns[k]
        if self._stopping or self._intents_stopped or inst in self._busy:
            return False
        position = self.s.manager.exposure(inst).position
        working = [v for v in self.s.manager.open_orders() if v.inst_id == inst]
        plan = plan_orders(self.s.specs[inst], d.target, position, working, top, self.strategy_cfg, recv_ns,
                           reason=f"bar {bar.ts_ms} edge {d.edge:+.3f}" if d.edge == d.edge else "")
        if not plan:
            return False
        self._busy.add(inst)
        self._spawn(self._execute(inst, plan), f"live-exec-{inst}")
        return True

    async def _execute(self, inst: str, plan) -> None:
        try:
            m = self.s.manager
            for cl in plan.cancels:
                self.counters.cancels += 1
                await m.cancel(cl)
            for a in plan.amends:
                view = m.order(a.cl_ord_id)
                if view is None:
                    continue
                denial = self.risk.check_amend(OrderIntent(inst, view.side, view.sz, view.ord_type, a.new_px,
                                                           view.slot), self._markets(), time.time_ns())
                if denial is None:
                    self.counters.amends += 1
                    await m.amend(a.cl_ord_id, new_px=a.new_px)
            for intent in plan.new:
                await self._submit(intent)
        finally:
            self._busy.discard(inst)

    async def _submit(self, intent: OrderIntent) -> None:
        self.counters.intents += 1
        t0 = time.perf_counter_ns()
        verdict = self.risk.check(intent, self._markets(), self, self._account(), time.time_ns())
        self.tick.risk.observe((time.perf_counter_ns() - t0) * 1e-9)
        if isinstance(verdict, Denial):
            log.debug("live: %s denied: %s", intent, verdict)
            return
        try:
            ticket = await self.s.manager.submit(verdict)
        finally:
            self.risk.release(verdict)
        if ticket.sent:
            self.counters.submitted += 1
            self.counters.accepted += ticket.outcome is WriteOutcome.ACCEPTED
        else:
            self.counters.local_refusals[ticket.refusal.value] += 1

    def on_sent(self, cl_ord_ids, wall_ns: int) -> None:
        """The venue adapter's send stamp: tick-to-order for every new order in the frame."""
        for cl in cl_ord_ids:
            view = self.s.manager.order(cl)
            if view is None:
                continue
            created = view.created_ns
            if created:
                us = (wall_ns - created) / 1e3
                self.tick.tick_to_order.observe(us / 1e6)
                self._t2o_us.append(us)
                if self.records is not None:
                    self.records.latency(cl, view.inst_id, wall_ns, us)

    # ----- model switching ----------------------------------------------------------------------------
    def _model_moved(self, model: LiveModel) -> None:
        self._pending_model = model  # taken at the next bar: between intents, never within one

    def _switch_model(self) -> None:
        model, self._pending_model = self._pending_model, None
        for inst, pipe in list(self.pipelines.items()):
            self.pipelines[inst] = SignalPipeline(self.s.specs[inst], model.predictor, pipe.rule, self.strategy_cfg,
                                                  cap_usd=pipe.cap_usd, horizon=pipe.accuracy.horizon)
        self.s.model = model
        self._log(f"now trading {model.label}")

    async def _price_limits(self, every_s: float = 2.0) -> None:
        """The venue's price band per instrument (it moves with the market); a failed read keeps the
        last band (the venue enforces its band anyway: a stale one only refuses less)."""
        while True:
            for inst in self.s.specs:
                try:
                    band = await self.s.rest.price_limit(inst)
                except Exception as e:  # a read must never end the loop
                    log.debug("price limit of %s not read: %s", inst, e)
                    continue
                if band is None:
                    self._bands.pop(inst, None)
                else:
                    self._bands[inst] = band
            await asyncio.sleep(every_s)

    # ----- marks, breakers, publication ------------------------------------------------------------
    async def _marks(self) -> None:
        period = self.live_cfg.mark_interval_ms / 1000
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(period)
            self.mark()
            if self.records is not None and time.monotonic() - last_flush > 5.0:
                last_flush = time.monotonic()
                self._record_orders()
                await self.records.flush()

    def mark(self) -> None:
        """Value the portfolio at the current mids and run the breakers."""
        now_ns = time.time_ns()
        markets = self._markets()
        marks = {inst: Decimal(repr(m.mark)) for inst, m in markets.items() if m.mark is not None}
        risk = self.risk
        try:
            snap = self.s.manager.portfolio.snapshot(now_ns // 1_000_000, marks)
        except ValueError:
            self._equity_known = False  # a position without a mark: equity unknown, fail closed
            snap = None
        else:
            self._equity_known = True
            self._last_snapshot = snap
            risk.on_equity(snap, now_ns)
            if self.records is not None:
                self.records.equity(snap, risk.state.value)
        stale_ms = risk.cfg.stale_ms
        stale = [inst for inst, m in markets.items()
                 if m.top is None or not m.top.valid or (now_ns - m.top.recv_ns) / 1e6 > stale_ms]
        risk.set_condition(Condition.STALE_DATA, bool(stale), now_ns, f"stale or invalid book: {', '.join(stale)}")
        risk.set_condition(Condition.PRIVATE_DOWN, not self.s.venue.connected, now_ns, "the private stream is down")
        headroom = self.s.manager.budget.entry_headroom()
        risk.set_condition(Condition.BUDGET_LOW, headroom < risk.cfg.min_budget_headroom, now_ns,
                           f"rate-budget headroom {headroom:.0%}")
        last = self.s.manager.last_pass
        risk.reconciliation(len(last.discrepancies) if last is not None else 0, now_ns)
        risk.tick(now_ns)
        self._publish()

    def _publish(self, force: bool = False) -> None:
        cache = self.s.cache
        if cache is None:
            return
        from hftlab.cache import schema

        positions = self.s.manager.portfolio.positions.values()
        markets = self._markets()
        marks = {i: Decimal(repr(m.mark)) for i, m in markets.items() if m.mark is not None}
        cache.set_positions(schema.positions_fields(positions, marks))
        cache.set_open_orders({v.cl_ord_id: _order_fields(v) for v in self.s.manager.open_orders()})
        if self._last_snapshot is not None:
            cache.set_equity(schema.equity_fields(self._last_snapshot, self.risk.state.value))

    def _record_orders(self) -> None:
        now = time.time_ns()
        for v in self.s.manager.orders():
            key = (v.state, v.acc_fill_sz, v.sz, v.px)
            if self._seen_orders.get(v.cl_ord_id) != key:
                self._seen_orders[v.cl_ord_id] = key
                self.records.order(v, now)
        ledger = self.s.manager.portfolio.ledger
        for f in itertools.islice(iter(ledger), self._fills_recorded, None):
            self.records.fill(f)
        self._fills_recorded = len(ledger)

    # ----- state changes and the kill switch ----------------------------------------------------
    def _on_state(self, old: TradingState, new: TradingState, why: str) -> None:
        self._log(f"trading state {old.value.upper()} -> {new.value.upper()}: {why}")
        if new is TradingState.HALTED and (self._killing is None or self._killing.done()):
            self._killing = self._spawn(self._cancel_everything("HALTED: " + why), "live-halt-cancels")

    async def _cancel_everything(self, why: str):
        report = await self.s.manager.cancel_all_tagged()
        self._log(f"cancelled every order with our tag ({why}): venue listed {report.venue_open}, "
                  f"{len(report.tickets)} cancel request(s)")
        return report

    async def kill(self, flatten: bool, why: str) -> dict:
        """Halt, cancel every order with our tag at the venue, optionally flatten. Idempotent."""
        self.kills += 1
        self.risk.kill(why)
        if self._killing is not None and not self._killing.done():
            report = await self._killing
        else:
            report = await self._cancel_everything(why)
        flattened = []
        if flatten:
            flattened = await self._flatten()
        return {"state": self.risk.state.value, "venue_open_before": report.venue_open,
                "cancels": len(report.tickets), "flattened": flattened,
                "open_orders": len(self.s.manager.open_orders())}

    async def _flatten(self) -> list[str]:
        return await flatten_positions(self.s.manager, self.risk, self.s.specs, self._markets(), self,
                                       self._account())

    # ----- reporting ------------------------------------------------------------------------------
    def status(self) -> dict:
        snap = self._last_snapshot
        return {
            "venue": self.s.venue_name, "model": self.s.model.to_dict(), "trading_state": self.risk.state.value,
            "reasons": list(self.risk.reasons), "conditions": self.risk.conditions,
            "positions": {i: str(self.s.manager.exposure(i).position) for i in self.s.specs},
            "open_orders": len(self.s.manager.open_orders()),
            "equity": None if snap is None else str(snap.equity),
            "elapsed_s": round(time.monotonic() - self.started, 1),
        }

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(self.live_cfg.progress_interval_s)
            self._log(self.progress_line())

    def progress_line(self) -> str:
        m = self.s.manager
        snap = self._last_snapshot
        pos = " ".join(f"{i} {m.exposure(i).position:+f}" for i in self.s.specs)
        pnl = (f"equity {float(snap.equity):,.2f} (realised {float(snap.realised):+,.2f}, unrealised "
               f"{float(snap.unrealised):+,.2f}, fees {float(snap.fees):+,.2f}, dd {float(snap.drawdown_pct):.2f}%)"
               if snap is not None else "equity unknown")
        t2o = self._quantiles()
        acc = [p.accuracy.accuracy for p in self.pipelines.values()]
        acc_txt = ", ".join("-" if a != a else f"{a:.2f}" for a in acc)
        why = self.risk.conditions if self.risk.state is TradingState.REDUCING else self.risk.reasons
        state = self.risk.state.value.upper() + (f" ({'; '.join(why.values() if isinstance(why, dict) else why)})"
                                                 if why and self.risk.state is not TradingState.ACTIVE else "")
        return (f"[{time.monotonic() - self.started:7.1f}s] {state} | {pos} | {pnl} | "
                f"orders {self.counters.submitted} sent, {len(m.open_orders())} open, {len(m.unknown_orders())} "
                f"unknown | denials {sum(self.risk.stats.denials.values())} | tick-to-order p50 {t2o['p50']:.0f} "
                f"p99 {t2o['p99']:.0f} us (n {t2o['count']}) | accuracy {acc_txt} | {self.s.model.label}")

    def _quantiles(self) -> dict:
        xs = sorted(self._t2o_us)
        if not xs:
            return {"p50": math.nan, "p99": math.nan, "count": 0}
        return {"p50": xs[len(xs) // 2], "p99": xs[min(len(xs) - 1, int(len(xs) * 0.99))], "count": len(xs)}

    async def summary(self) -> dict:
        from hftlab.live.summary import venue_checks

        m = self.s.manager
        snap = self._last_snapshot
        checks = await venue_checks(self.s.venue, m, self.s.specs, self.state_dir)
        return {
            "venue": self.s.venue_name,
            "stopped_by": self.stopped_by,
            "elapsed_s": round(time.monotonic() - self.started, 1),
            "model": self.s.model.to_dict(),
            "orders_submitted": self.counters.submitted,
            "intents": self.counters.intents,
            "fills": len(list(m.portfolio.ledger)),
            **checks,
            "positions": {i: str(m.exposure(i).position) for i in self.s.specs},
            "trading_state": self.risk.state.value,
            "trading_reasons": list(self.risk.reasons),
            "trading_conditions": self.risk.conditions,
            "risk_denials": {str(k): v for k, v in self.risk.stats.denials.items()},
            "local_refusals": dict(self.counters.local_refusals),
            "tick_to_order_us": self._quantiles(),
            "stage_mean_us": {name: (self.counters.stage_ns[k] / max(self.counters.decisions, 1)) / 1e3
                              for k, name in enumerate(("features", "inference", "decide"))},
            "pnl": None if snap is None else {"realised": float(snap.realised), "unrealised": float(snap.unrealised),
                                              "fees": float(snap.fees), "equity": float(snap.equity),
                                              "drawdown_pct": float(snap.drawdown_pct)},
            "signal_accuracy": {i: (None if p.accuracy.count == 0 else round(p.accuracy.accuracy, 4))
                                for i, p in self.pipelines.items()},
            "vetoes": {i: {str(k): v for k, v in p.filters.vetoes.items()} for i, p in self.pipelines.items()},
            "errors": self.counters.errors + sum(self.counters.task_failures.values()),
            "kills": self.kills,
        }


def _order_fields(v) -> dict:
    from hftlab.domain.instruments import fmt

    return {"clOrdId": v.cl_ord_id, "ordId": v.ord_id or "", "instId": v.inst_id, "side": v.side.value,
            "ordType": v.ord_type.value, "px": "" if v.px is None else fmt(v.px), "sz": fmt(v.sz),
            "state": v.state.value, "accFillSz": fmt(v.acc_fill_sz), "avgPx": fmt(v.avg_px), "slot": v.slot}


def dump(summary: dict) -> str:
    return json.dumps(summary, default=str)
