"""The RiskEngine: every order intent is checked here before any I/O, and only here does an
`ApprovedOrder` come into being (the engine holds the process's one approval key; see
`hftlab.domain.orders`). Cancels never come here: they are always allowed.

    engine = RiskEngine(cfg, specs, state_file=StateFile(state_dir / "risk.json"))
    verdict = engine.check(intent, markets, book, account, time.time_ns())
    if isinstance(verdict, ApprovedOrder):
        manager.submit(verdict)        # registers it (exposure) before its first await ...
        engine.release(verdict)        # ... so the engine stops reserving it
    engine.on_equity(portfolio.snapshot(ts_ms, marks), time.time_ns())   # drawdown / daily-loss breakers

Order of the checks (the first failing one is the denial, counted by reason): trading state HALTED;
the instrument (listed, tradable, size and price on the venue's grid); fail-closed facts for
exposure-adding intents (reconciliation running or never done, equity unknown); REDUCING state; fresh
book and mark (stale or missing: only a reduce-only market order passes, the emergency flatten);
the position's stop-loss (reduce only); order notional; for exposure-adding intents the
worst-case position, gross and net limits (working, in-flight and UNKNOWN orders counted as filled,
plus what this engine approved and the manager has not yet registered); open orders; the price
collar against mid and the venue's price band; and last the order-rate throttle, whose token is
spent only by an intent that passed everything else.

The engine is synchronous and allocation-light: a check costs microseconds (`hftlab bench risk`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from hftlab.core.metrics import Stats
from hftlab.core.ratelimit import TokenBucket
from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.orders import ApprovedOrder, OrderIntent, OrdType, issue_approval_key
from hftlab.portfolio.equity import EquitySnapshot
from hftlab.risk import checks as ck
from hftlab.risk.checks import Denial, DenyReason, Exposure, Market
from hftlab.risk.config import RiskConfig
from hftlab.risk.state import Breaker, Condition, Persisted, StateFile, TradingState, Trigger, next_state

log = logging.getLogger(__name__)

_KEY = issue_approval_key()  # the process's one approval key: only this module can approve
PERSIST_EVERY_NS = 1_000_000_000  # high-water/day-open writes are coalesced to one a second


class ExposureSource(Protocol):
    """What the order manager tells risk (structurally; risk and execution never import each other)."""

    def exposure(self, inst_id: str) -> Exposure: ...

    def open_order_count(self) -> int: ...

    def exposed_instruments(self) -> Iterable[str]: ...


@dataclass(frozen=True, slots=True)
class Account:
    """Account-level facts; unknown means no (fail closed)."""

    equity_known: bool = False
    reconciled: bool = False  # at least one reconciliation completed since start
    reconciling: bool = True  # one is running now


@dataclass(slots=True)
class RiskStats(Stats):
    checks: int = 0
    approved: int = 0
    denials: Counter = field(default_factory=Counter)  # DenyReason -> count
    state_changes: Counter = field(default_factory=Counter)  # "from->to" -> count
    breakers: Counter = field(default_factory=Counter)  # Breaker or Condition -> times tripped


class RiskEngine:
    def __init__(self, cfg: RiskConfig, specs: Mapping[str, InstrumentSpec], *, state_file: StateFile | None = None,
                 on_state: Callable[[TradingState, TradingState, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.cfg = cfg
        self.specs = dict(specs)
        self.stats = RiskStats()
        self.on_state = on_state  # (old, new, why): the runner cancels orders when HALTED comes
        self._file = state_file
        self._saved = state_file.load() if state_file is not None else Persisted()
        self.state = self._saved.state
        self.reasons: list[str] = list(self._saved.reasons)
        self._conditions: dict[Condition, str] = {}  # active soft conditions -> why
        self._clear_since_ns: int | None = None
        self._drift_since_ns: int | None = None
        self._reserved: dict[str, list[ApprovedOrder]] = {}
        self._throttle = TokenBucket(cfg.max_orders_per_s, max(1.0, cfg.max_orders_per_s), clock=clock)
        self._last_persist_ns = 0
        if cfg.kill_switch and self.state is not TradingState.HALTED:
            self.trip(Breaker.KILL_SWITCH, "risk.kill_switch is set in the configuration")

    # ----- persisted facts the portfolio needs at start ------------------------------------------
    @property
    def high_water(self) -> Decimal | None:
        return self._saved.high_water

    @property
    def day_open(self) -> tuple[int, Decimal] | None:
        return self._saved.day_open

    # ----- the check --------------------------------------------------------------------------------
    def check(self, intent: OrderIntent, markets: Mapping[str, Market], book: ExposureSource, account: Account,
              now_ns: int) -> ApprovedOrder | Denial:
        self.stats.checks += 1
        verdict = self._evaluate(intent, markets, book, account, now_ns)
        if isinstance(verdict, Denial):
            self.stats.denials[verdict.reason] += 1
            return verdict
        approved = ApprovedOrder(intent, now_ns, verdict, key=_KEY)
        self._reserved.setdefault(intent.inst_id, []).append(approved)
        self.stats.approved += 1
        return approved

    def check_amend(self, order: OrderIntent, markets: Mapping[str, Market], now_ns: int) -> Denial | None:
        """A re-quote of a working order (`order` carries its new price): its exposure is already
        counted, so only the price is checked (fresh book, collar, band); nothing moves while HALTED."""
        self.stats.checks += 1
        d = None
        if self.state is TradingState.HALTED:
            d = Denial(DenyReason.HALTED, "trading is HALTED: cancels only")
        else:
            m = markets.get(order.inst_id)
            d = ck.freshness(m, now_ns, self.cfg.stale_ms) or ck.collar(order, m, self.cfg.collar_bps) \
                or ck.band(order, m)  # type: ignore[arg-type]
        if d is not None:
            self.stats.denials[d.reason] += 1
        return d

    def check_flatten(self, intent: OrderIntent, markets: Mapping[str, Market], book: ExposureSource,
                      account: Account, now_ns: int) -> ApprovedOrder | Denial:
        """The kill switch's flatten: a reduce-only order that shrinks a position passes in any trading
        state (HALTED included: closing risk is what halting is for); anything else is an ordinary check."""
        if not intent.reduce_only or not ck.reduces(intent, self._exposure(book, intent.inst_id)):
            return self.check(intent, markets, book, account, now_ns)
        self.stats.checks += 1
        if (d := ck.instrument(intent, self.specs.get(intent.inst_id))) is not None:
            self.stats.denials[d.reason] += 1
            return d
        approved = ApprovedOrder(intent, now_ns, ("flatten: reduce-only, shrinks the position",), key=_KEY)
        self._reserved.setdefault(intent.inst_id, []).append(approved)
        self.stats.approved += 1
        return approved

    def release(self, approved: ApprovedOrder) -> None:
        """The manager has registered `approved` (its exposure is in the book now), or dropped it."""
        pending = self._reserved.get(approved.intent.inst_id)
        if pending:
            try:
                pending.remove(approved)
            except ValueError:
                pass

    def _exposure(self, book: ExposureSource, inst_id: str) -> Exposure:
        e = book.exposure(inst_id)
        for a in self._reserved.get(inst_id, ()):
            e = e.with_intent(a.intent.side, a.intent.sz)
        return e

    def _evaluate(self, intent: OrderIntent, markets: Mapping[str, Market], book: ExposureSource, account: Account,
                  now_ns: int) -> tuple[str, ...] | Denial:
        cfg = self.cfg
        if self.state is TradingState.HALTED:
            return Denial(DenyReason.HALTED, "trading is HALTED (" + "; ".join(self.reasons) + "): cancels only")
        spec = self.specs.get(intent.inst_id)
        if (d := ck.instrument(intent, spec)) is not None:
            return d
        e = self._exposure(book, intent.inst_id)
        reducing = ck.reduces(intent, e)
        if not reducing:
            if account.reconciling:
                return Denial(DenyReason.RECONCILING, "orders are being reconciled with the venue")
            if not account.reconciled:
                return Denial(DenyReason.UNRECONCILED, "no reconciliation with the venue has completed yet")
            if not account.equity_known:
                return Denial(DenyReason.EQUITY_UNKNOWN, "mark-to-market equity is not known yet")
            if self.state is TradingState.REDUCING:
                return Denial(DenyReason.REDUCING_ONLY,
                              "trading is REDUCING (" + ", ".join(self._conditions.values()) + "): only "
                              "exposure-reducing orders")
        m = markets.get(intent.inst_id)
        stale = ck.freshness(m, now_ns, cfg.stale_ms)
        if stale is not None:
            if not (intent.reduce_only and intent.ord_type is OrdType.MARKET):
                return stale
            return ("stale data: reduce-only market order (emergency flatten) allowed",)
        mark = m.mark  # type: ignore[union-attr]
        if not reducing and ck.stop_hit(e, mark, cfg.stop_loss_pct):
            return Denial(DenyReason.STOP_LOSS, f"{intent.inst_id}'s position is {cfg.stop_loss_pct:g}% under water: "
                                                "reduce only")
        if not intent.reduce_only and (d := ck.order_notional(intent, spec, mark, cfg.max_order_usd)) is not None:
            return d
        if not reducing:
            after = e.with_intent(intent.side, intent.sz)
            if (d := ck.position_limit(after, spec, mark, cfg.max_position_usd)) is not None:
                return d
            totals = self._portfolio(book, markets, intent.inst_id, after, spec, mark)
            if isinstance(totals, Denial):
                return totals
            if (d := ck.portfolio_limits(*totals, cfg.max_gross_usd, cfg.max_net_usd)) is not None:
                return d
        open_orders = book.open_order_count() + sum(len(v) for v in self._reserved.values())
        if open_orders >= cfg.max_open_orders:
            return Denial(DenyReason.OPEN_ORDERS, f"{open_orders} orders working, limit {cfg.max_open_orders}")
        if (d := ck.collar(intent, m, cfg.collar_bps)) is not None:  # type: ignore[arg-type]
            return d
        if (d := ck.band(intent, m)) is not None:  # type: ignore[arg-type]
            return d
        if not self._throttle.try_acquire():
            return Denial(DenyReason.ORDER_RATE, f"more than {cfg.max_orders_per_s:g} new orders per second")
        return ("reduces exposure",) if reducing else ("all limits",)

    def _portfolio(self, book: ExposureSource, markets: Mapping[str, Market], inst_id: str, after: Exposure,
                   spec: InstrumentSpec, mark: float) -> tuple[float, float] | Denial:
        """(worst-case gross, worst-case net) notional with `after` in place of `inst_id`'s exposure."""
        gross = spec.notional(mark, float(after.worst()))
        long_ = spec.notional(mark, float(max(after.worst_long, 0)))
        short = spec.notional(mark, float(max(-after.worst_short, 0)))
        for other in set(book.exposed_instruments()) | set(self._reserved):
            if other == inst_id:
                continue
            e = self._exposure(book, other)
            if e.worst() == 0:
                continue
            om = markets.get(other)
            ospec = self.specs.get(other)
            if om is None or om.mark is None or ospec is None:
                return Denial(DenyReason.NO_MARK, f"exposure in {other} cannot be valued (no mark)")
            gross += ospec.notional(om.mark, float(e.worst()))
            long_ += ospec.notional(om.mark, float(max(e.worst_long, 0)))
            short += ospec.notional(om.mark, float(max(-e.worst_short, 0)))
        return gross, max(long_, short)

    # ----- breakers ---------------------------------------------------------------------------------
    def on_equity(self, snap: EquitySnapshot, now_ns: int) -> TradingState:
        """The mark-to-market equity breakers; call on every mark update. Persists the high-water
        mark and the day's open (coalesced), and any state change at once."""
        cfg = self.cfg
        dd = float(snap.drawdown_pct)
        if dd >= cfg.max_drawdown_pct:
            self.trip(Breaker.DRAWDOWN, f"drawdown {dd:.2f}% of the high-water mark {snap.high_water} "
                                        f">= {cfg.max_drawdown_pct:g}%")
        elif -float(snap.day_pnl) >= cfg.max_daily_loss_usd:
            self.trip(Breaker.DAILY_LOSS, f"day's loss {-float(snap.day_pnl):,.2f} >= {cfg.max_daily_loss_usd:,.2f}")
        if dd >= cfg.reduce_drawdown_pct:
            self.set_condition(Condition.DRAWDOWN_SOFT, True, now_ns, f"drawdown {dd:.2f}%")
        elif dd < cfg.resume_drawdown_pct:
            self.set_condition(Condition.DRAWDOWN_SOFT, False, now_ns)
        self._saved.high_water = snap.high_water
        self._saved.day_open = (snap.ts_ms // 86_400_000, snap.equity - snap.day_pnl)
        if now_ns - self._last_persist_ns >= PERSIST_EVERY_NS:
            self._persist(now_ns)
        return self.state

    def set_condition(self, cond: Condition, active: bool, now_ns: int, why: str = "") -> None:
        """Raise or clear a soft condition. REDUCING while any is active; ACTIVE again only after all
        have been clear for `recover_s`."""
        if active:
            if cond not in self._conditions:
                self.stats.breakers[cond] += 1
                log.warning("risk: %s (%s)", cond.value, why or "raised")
            self._conditions[cond] = why or cond.value
            self._clear_since_ns = None
            self._move(Trigger.SOFT, f"{cond.value}: {why}" if why else cond.value)
        elif cond in self._conditions:
            del self._conditions[cond]
            log.info("risk: %s cleared", cond.value)
        self.tick(now_ns)

    def tick(self, now_ns: int) -> None:
        """Time-based releases: soft conditions clear for recover_s -> ACTIVE."""
        if self._conditions or self.state is not TradingState.REDUCING:
            return
        if self._clear_since_ns is None:
            self._clear_since_ns = now_ns
        if now_ns - self._clear_since_ns >= self.cfg.recover_s * 1e9:
            self._clear_since_ns = None
            self._move(Trigger.CLEAR, f"every condition clear for {self.cfg.recover_s:g} s")

    def reconciliation(self, discrepancies: int, now_ns: int) -> None:
        """Discrepancies between local and venue state after a reconciliation: persisting for
        `drift_s`, they halt trading (local state cannot be trusted)."""
        if discrepancies <= 0:
            self._drift_since_ns = None
            return
        if self._drift_since_ns is None:
            self._drift_since_ns = now_ns
        elif now_ns - self._drift_since_ns >= self.cfg.drift_s * 1e9:
            self.trip(Breaker.RECONCILIATION_DRIFT, f"{discrepancies} discrepancies with the venue for "
                                                     f"{self.cfg.drift_s:g} s")

    def trip(self, breaker: Breaker, why: str) -> None:
        """A hard breaker: HALTED, persisted before anyone acts on it."""
        if self.state is not TradingState.HALTED:
            self.stats.breakers[breaker] += 1
        reason = f"{breaker.value}: {why}"
        if reason not in self.reasons:
            self.reasons.append(reason)
        self._move(Trigger.HARD, reason)

    def kill(self, why: str = "kill switch") -> None:
        self.trip(Breaker.KILL_SWITCH, why)

    def reset(self, who: str, now_ns: int) -> TradingState:
        """The manual reset of a HALTED latch (soft conditions still active put it in REDUCING)."""
        log.warning("risk: manual reset by %s (was %s: %s)", who, self.state.value, "; ".join(self.reasons))
        self.reasons = []
        self._move(Trigger.RESET, f"manual reset by {who}")
        if self._conditions:
            self._move(Trigger.SOFT, ", ".join(self._conditions.values()))
        return self.state

    def _move(self, trigger: Trigger, why: str) -> None:
        new = next_state(self.state, trigger)
        if new is self.state:
            return
        old, self.state = self.state, new
        self.stats.state_changes[f"{old.value}->{new.value}"] += 1
        log.warning("risk: trading %s -> %s (%s)", old.value.upper(), new.value.upper(), why)
        self._persist(None)
        if self.on_state is not None:
            self.on_state(old, new, why)

    def _persist(self, now_ns: int | None) -> None:
        self._saved.state = self.state
        self._saved.reasons = list(self.reasons)
        if self._file is not None:
            self._file.save(self._saved)
        if now_ns is not None:
            self._last_persist_ns = now_ns

    def flush(self) -> None:
        """Write the state now (clean shutdown)."""
        self._persist(None)

    @property
    def conditions(self) -> dict[str, str]:
        return {c.value: why for c, why in self._conditions.items()}

