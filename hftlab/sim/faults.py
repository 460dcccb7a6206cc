"""Fault injection: the simulator misbehaving on command, the way OKX sometimes does.

One FaultInjector per server. Faults are fired by the scenario scheduler (`run`) or directly by a
test (`sim.faults.skip_seq("BTC-USDT")`); the publishing and request paths consult the injector's
hooks (`take_skip`, `on_publish`, `stalled`, `take_ack_fault`, ...), which cost one attribute test
when nothing is armed. Every fault that reaches the wire is appended to `log` (time, kind, detail)
and logged, so a test can line the client's reaction up with the cause.

`garble` replaces the next publication of a channel by its first half: a frame that is not JSON,
which loses what it carried (a books update lost this way breaks the sequence chain).

The order-path faults act on trading requests (place, amend, cancel; single or batch): the request
executes but its answer is lost (`drop_ack`) or is a 50004 timeout (`answer_50004`); it is held
past its expTime so that it is refused with 50037 and does nothing (`delay_past_exptime`); every
WebSocket op is refused while REST works (`reject_ws_ops`). `liquidate` acts on the venue: it
liquidates positions without an order update. `jump` moves the market: an instrument's fair value
jumps and stays (a scripted adverse move for a strategy's breakers).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from hftlab.sim.scenario import FaultSpec, Scenario, Trigger

log = logging.getLogger("hftlab.sim.faults")


@dataclass(frozen=True, slots=True)
class FaultRecord:
    ts: float  # Unix seconds (wall) when the fault took effect
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


class Connections(Protocol):
    """What the injector needs from the server to act on live connections."""

    def drop(self, role: str, mode: str) -> list[str]: ...  # connIds closed
    def notice(self, role: str, close_after_s: float) -> list[str]: ...  # connIds noticed


class Venue(Protocol):
    """What the injector needs from the server to act on accounts."""

    def liquidate(self, inst_id: str, fraction: float) -> list[dict[str, str]]: ...  # what was liquidated
    def jump(self, inst_id: str, fraction: float) -> float: ...  # the new fair price


class AckFault(StrEnum):
    """What becomes of the answer to a trading request that executed."""

    DROP = "drop_ack"            # no answer: the WS reply is never sent, the HTTP request hangs and is dropped
    TIMEOUT = "answer_50004"     # answered 50004, which does not say whether it executed


@dataclass(slots=True)
class _Budget:
    """How long an armed fault lasts: `remaining` takes (inf: any number) until `until` (monotonic)."""

    remaining: float
    until: float

    @classmethod
    def of(cls, count: int | None, duration_s: float | None) -> _Budget:
        """`count` takes, within `duration_s` when given; no count: any number within the duration, or one."""
        until = time.monotonic() + duration_s if duration_s is not None else float("inf")
        remaining = float(count) if count is not None else (float("inf") if duration_s is not None else 1.0)
        return cls(remaining, until)

    def live(self, now: float) -> bool:
        return self.remaining > 0 and self.until > now

    def take(self, now: float) -> bool:
        if not self.live(now):
            return False
        self.remaining -= 1
        return True


def _matches(armed_inst: str | None, inst_id: str) -> bool:
    return armed_inst is None or armed_inst == inst_id


def _aimed(armed: str, target: str) -> bool:
    return armed in ("any", target)


class FaultInjector:
    def __init__(self, scenario: Scenario | Sequence[FaultSpec] = (), seed: int = 7):
        if not isinstance(scenario, Scenario):
            scenario = Scenario(faults=tuple(scenario))
        self.specs = scenario.faults
        self.seed = scenario.seed if scenario.seed is not None else seed
        self.log: list[FaultRecord] = []
        self._conns: Connections | None = None
        self._venue: Venue | None = None
        self._skip: dict[str | None, int] = {}
        self._corrupt: dict[str | None, int] = {}
        self._dup: dict[tuple[str, str | None], int] = {}
        self._reorder: set[tuple[str, str | None]] = set()
        self._garble: dict[tuple[str, str | None], int] = {}
        self._held: dict[tuple[str, str], bytes] = {}
        self._stalls: list[tuple[str | None, str | None, float]] = []
        self._rate: dict[str, _Budget] = {}  # target -> budget
        self._delays: list[tuple[float, _Budget]] = []  # (delay_s, budget)
        self._acks: list[tuple[AckFault, str, float, _Budget]] = []  # (fault, target, hold_s, budget)
        self._late: list[tuple[float, _Budget]] = []  # (margin_s past expTime, budget)
        self._ws_reject: list[_Budget] = []
        self.shaping = False  # True while duplicate/reorder work is pending (fast path for publishers)

    # --- wiring --------------------------------------------------------------------------------
    def bind(self, connections: Connections, venue: Venue | None = None) -> None:
        self._conns = connections
        self._venue = venue

    def record(self, kind: str, **detail: Any) -> FaultRecord:
        rec = FaultRecord(time.time(), kind, detail)
        self.log.append(rec)
        log.warning("fault injected: %s %s", kind, detail)
        return rec

    # --- programmatic API (also what the scheduler calls) ---------------------------------------
    def drop(self, role: str = "any", mode: str = "abort") -> list[str]:
        ids = self._conns.drop(role, mode) if self._conns else []
        self.record("drop", role=role, mode=mode, conn_ids=ids)
        return ids

    def notice(self, role: str = "any", close_after_s: float = 5.0) -> list[str]:
        ids = self._conns.notice(role, close_after_s) if self._conns else []
        self.record("notice", role=role, close_after_s=close_after_s, conn_ids=ids)
        return ids

    def skip_seq(self, inst_id: str | None = None) -> None:
        self._skip[inst_id] = self._skip.get(inst_id, 0) + 1

    def corrupt_checksum(self, inst_id: str | None = None) -> None:
        self._corrupt[inst_id] = self._corrupt.get(inst_id, 0) + 1

    def duplicate(self, channel: str = "books", inst_id: str | None = None, count: int = 1) -> None:
        self._dup[(channel, inst_id)] = self._dup.get((channel, inst_id), 0) + count
        self.shaping = True

    def reorder(self, channel: str = "books", inst_id: str | None = None) -> None:
        self._reorder.add((channel, inst_id))
        self.shaping = True

    def garble(self, channel: str = "books", inst_id: str | None = None, count: int = 1) -> None:
        self._garble[(channel, inst_id)] = self._garble.get((channel, inst_id), 0) + count
        self.shaping = True

    def stall(self, channel: str | None = None, inst_id: str | None = None, duration_s: float = 5.0) -> None:
        until = time.monotonic() + duration_s
        self._stalls.append((channel, inst_id, until))
        self.record("stall", channel=channel, inst_id=inst_id, duration_s=duration_s)

    def rate_limit(self, target: str = "any", count: int = 1, duration_s: float | None = None) -> None:
        self._rate[target] = _Budget.of(None if duration_s is not None else count, duration_s)

    def delay_acks(self, delay_ms: float = 500.0, count: int | None = None, duration_s: float | None = None) -> None:
        self._delays.append((delay_ms / 1000.0, _Budget.of(count, duration_s)))

    def drop_ack(self, target: str = "any", count: int | None = None, duration_s: float | None = None,
                 hold_s: float = 30.0) -> None:
        self._acks.append((AckFault.DROP, target, hold_s, _Budget.of(count, duration_s)))

    def answer_50004(self, target: str = "any", count: int | None = None, duration_s: float | None = None) -> None:
        self._acks.append((AckFault.TIMEOUT, target, 0.0, _Budget.of(count, duration_s)))

    def delay_past_exptime(self, margin_ms: float = 100.0, count: int | None = None,
                           duration_s: float | None = None) -> None:
        self._late.append((margin_ms / 1000.0, _Budget.of(count, duration_s)))

    def reject_ws_ops(self, count: int | None = None, duration_s: float | None = None) -> None:
        self._ws_reject.append(_Budget.of(count, duration_s))

    def liquidate(self, inst_id: str = "BTC-USDT-SWAP", fraction: float = 1.0) -> list[dict[str, str]]:
        done = self._venue.liquidate(inst_id, fraction) if self._venue else []
        self.record("liquidate", inst_id=inst_id, fraction=fraction, liquidated=done)
        return done

    def jump(self, inst_id: str = "BTC-USDT", pct: float = -3.0) -> float | None:
        """The market moves: `inst_id`'s fair value jumps by `pct` percent and stays (a scripted
        adverse move for a strategy's breakers)."""
        px = self._venue.jump(inst_id, pct / 100.0) if self._venue else None
        self.record("jump", inst_id=inst_id, pct=pct, fair_px=px)
        return px

    def armed(self) -> list[str]:
        """The kinds armed and not yet taken (a window counts until it closes): what a caller waits on
        before it calls the faults done."""
        now = time.monotonic()
        out = [kind for kind, armed in (("skip_seq", self._skip), ("corrupt_checksum", self._corrupt),
                                        ("duplicate", self._dup), ("reorder", self._reorder or self._held),
                                        ("garble", self._garble)) if armed]
        out += ["stall"] * any(s[2] > now for s in self._stalls)
        out += ["rate_limit"] * any(b.live(now) for b in self._rate.values())
        out += ["delay_acks"] * any(b.live(now) for _, b in self._delays)
        out += sorted({f.value for f, _t, _h, b in self._acks if b.live(now)})
        out += ["delay_past_exptime"] * any(b.live(now) for _, b in self._late)
        out += ["reject_ws_ops"] * any(b.live(now) for b in self._ws_reject)
        return out

    def fire(self, spec: FaultSpec) -> None:
        getattr(self, spec.kind)(**spec.params)

    # --- hooks for the publishing and request paths ---------------------------------------------
    def _take(self, armed: dict[str | None, int], inst_id: str) -> bool:
        for key in (inst_id, None):
            n = armed.get(key)
            if n:
                if n == 1:
                    del armed[key]
                else:
                    armed[key] = n - 1
                return True
        return False

    def take_skip(self, inst_id: str, seq_id: int) -> bool:
        """True: drop this books publication (its seqId is spent, so the next one does not chain)."""
        if self._skip and self._take(self._skip, inst_id):
            self.record("skip_seq", channel="books", inst_id=inst_id, skipped_seq_id=seq_id)
            return True
        return False

    def take_corrupt(self, inst_id: str, seq_id: int) -> bool:
        if self._corrupt and self._take(self._corrupt, inst_id):
            self.record("corrupt_checksum", channel="books", inst_id=inst_id, seq_id=seq_id)
            return True
        return False

    def on_publish(self, channel: str, inst_id: str, payload: bytes) -> list[bytes]:
        """Frames to send for one publication, after garble/duplicate/reorder faults (call only when shaping)."""
        key = (channel, inst_id)
        for armed in ((channel, inst_id), (channel, None)):
            n = self._garble.get(armed)
            if n:
                if n == 1:
                    del self._garble[armed]
                else:
                    self._garble[armed] = n - 1
                payload = payload[: len(payload) // 2]
                self.record("garble", channel=channel, inst_id=inst_id)
                break
        out = [payload]
        held = self._held.pop(key, None)
        if held is not None:
            out.append(held)
            self.record("reorder", channel=channel, inst_id=inst_id, held_frames=1)
        else:
            for armed in ((channel, inst_id), (channel, None)):
                if armed in self._reorder:
                    self._reorder.discard(armed)
                    self._held[key] = payload
                    out = []
                    break
        if out:
            for armed in ((channel, inst_id), (channel, None)):
                n = self._dup.get(armed)
                if n:
                    self._dup[armed] = n - 1
                    if n == 1:
                        del self._dup[armed]
                    out = out + [out[-1]]
                    self.record("duplicate", channel=channel, inst_id=inst_id)
                    break
        self.shaping = bool(self._dup or self._reorder or self._held or self._garble)
        return out

    def stalled(self, channel: str, inst_id: str) -> bool:
        if not self._stalls:
            return False
        now = time.monotonic()
        self._stalls = [s for s in self._stalls if s[2] > now]
        return any((c is None or c == channel) and _matches(i, inst_id) for c, i, _ in self._stalls)

    def take_rate_limit(self, target: str, what: str) -> bool:
        """True: answer this request (`target` rest|ws, `what` path or op) with 50011."""
        if not self._rate:
            return False
        now = time.monotonic()
        for key in (target, "any"):
            budget = self._rate.get(key)
            if budget is None:
                continue
            taken = budget.take(now)
            if not budget.live(now):
                del self._rate[key]
            if taken:
                self.record("rate_limit", target=target, request=what)
                return True
        return False

    def take_ack_delay(self, what: str) -> float:
        """Extra seconds before this ack goes out (0 when no delay is armed)."""
        if not self._delays:
            return 0.0
        now = time.monotonic()
        self._delays = [d for d in self._delays if d[1].live(now)]
        if not self._delays:
            return 0.0
        delay_s, budget = self._delays[0]
        budget.take(now)
        self.record("delay_acks", request=what, delay_ms=round(delay_s * 1000, 3))
        return delay_s

    def take_ack_fault(self, target: str, what: str) -> tuple[AckFault, float] | None:
        """What becomes of the answer to this executed trading request (`target` rest|ws, `what` the op):
        (fault, seconds to hold a REST request before dropping it), or None: answer normally."""
        if not self._acks:
            return None
        now = time.monotonic()
        self._acks = [a for a in self._acks if a[3].live(now)]
        for fault, armed, hold_s, budget in self._acks:
            if _aimed(armed, target) and budget.take(now):
                self.record(fault.value, target=target, request=what)
                return fault, hold_s
        return None

    def take_late_delivery(self, what: str, exp_time_ms: int | None, now_ms: int) -> float:
        """Seconds to hold a request so that it is processed after its expTime (0: deliver now). Only
        requests that carry an expTime are held."""
        if not self._late or exp_time_ms is None:
            return 0.0
        now = time.monotonic()
        self._late = [d for d in self._late if d[1].live(now)]
        if not self._late:
            return 0.0
        margin_s, budget = self._late[0]
        budget.take(now)
        hold_s = max(0.0, (exp_time_ms - now_ms) / 1000.0) + margin_s
        self.record("delay_past_exptime", request=what, exp_time=exp_time_ms, held_ms=round(hold_s * 1000, 3))
        return hold_s

    def take_ws_reject(self, op: str) -> bool:
        """True: refuse this WebSocket trading op (REST is not affected)."""
        if not self._ws_reject:
            return False
        now = time.monotonic()
        self._ws_reject = [b for b in self._ws_reject if b.live(now)]
        if self._ws_reject and self._ws_reject[0].take(now):
            self.record("reject_ws_ops", request=op)
            return True
        return False

    # --- scheduler ----------------------------------------------------------------------------------
    def firings(self) -> Iterator[tuple[float, FaultSpec]]:
        """(seconds since start, spec) in time order; the same sequence every time for one seed."""
        rng = random.Random(self.seed)

        def first(t: Trigger) -> float:
            if t.at_s:
                return t.at_s[0]
            if t.every_s is not None:
                return t.start_s if t.start_s is not None else t.every_s
            return (t.start_s or 0.0) + rng.expovariate(t.rate_per_min / 60.0)

        def after(t: Trigger, at: float, n_fired: int) -> float | None:
            if t.at_s:
                return t.at_s[n_fired] if n_fired < len(t.at_s) else None
            if t.every_s is not None:
                return at + t.every_s
            return at + rng.expovariate(t.rate_per_min / 60.0)

        heap: list[tuple[float, int, int]] = []
        for i, spec in enumerate(self.specs):
            heapq.heappush(heap, (first(spec.trigger), i, 0))
        while heap:
            at, i, n = heapq.heappop(heap)
            trig = self.specs[i].trigger
            if trig.until_s is not None and at > trig.until_s:
                continue
            yield at, self.specs[i]
            nxt = after(trig, at, n + 1)
            if nxt is not None:
                heapq.heappush(heap, (nxt, i, n + 1))

    def plan(self, horizon_s: float) -> list[tuple[float, str]]:
        """The scenario's firings within the first `horizon_s` seconds (what `run` will do)."""
        return [(round(at, 6), spec.kind) for at, spec in itertools.takewhile(lambda x: x[0] <= horizon_s,
                                                                              self.firings())]

    async def run(self) -> None:
        """Fire the scenario's faults on schedule (seconds since this call) until cancelled."""
        start = time.monotonic()
        for at, spec in self.firings():
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            try:
                self.fire(spec)
            except Exception:  # a fault must never take the server down
                log.exception("fault %s failed", spec.kind)
