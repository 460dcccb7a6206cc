"""The trading state (ACTIVE / REDUCING / HALTED), the breakers that drive it, and its persistence.

- ACTIVE: every check applies; REDUCING: only exposure-reducing orders; HALTED: cancels only.
- **Hard breakers latch HALTED** until a person resets it (`RiskEngine.reset`): the drawdown of
  mark-to-market equity against the persisted high-water mark, the day's loss, reconciliation drift
  that persists, and the kill switch. HALTED is written to the state file before anything acts on
  it, so it survives a crash and a restart.
- **Soft conditions hold REDUCING** while any is active and release it only after every one has
  stayed clear for `recover_s` (hysteresis in time): stale market data, the private stream down,
  rate-budget headroom low, and drawdown between `reduce_drawdown_pct` and `resume_drawdown_pct`
  (hysteresis in level: entered at the first, left below the second).

State changes go through one explicit transition table; a missing pair raises (never assigned).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"  # only exposure-reducing orders
    HALTED = "halted"  # cancels only; left only by a manual reset


class Trigger(StrEnum):
    SOFT = "soft"  # a soft condition became active
    CLEAR = "clear"  # every soft condition has been clear for recover_s
    HARD = "hard"  # a hard breaker tripped (latches)
    RESET = "reset"  # a person reset the latch


class Condition(StrEnum):
    """Soft conditions (REDUCING while any holds)."""

    STALE_DATA = "stale_data"
    PRIVATE_DOWN = "private_down"
    BUDGET_LOW = "budget_low"
    DRAWDOWN_SOFT = "drawdown_soft"


class Breaker(StrEnum):
    """Hard breakers (latch HALTED)."""

    DRAWDOWN = "drawdown"
    DAILY_LOSS = "daily_loss"
    RECONCILIATION_DRIFT = "reconciliation_drift"
    KILL_SWITCH = "kill_switch"


_A, _R, _H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
TRANSITIONS: dict[tuple[TradingState, Trigger], TradingState] = {
    (_A, Trigger.SOFT): _R, (_A, Trigger.CLEAR): _A, (_A, Trigger.HARD): _H, (_A, Trigger.RESET): _A,
    (_R, Trigger.SOFT): _R, (_R, Trigger.CLEAR): _A, (_R, Trigger.HARD): _H, (_R, Trigger.RESET): _R,
    (_H, Trigger.SOFT): _H, (_H, Trigger.CLEAR): _H, (_H, Trigger.HARD): _H, (_H, Trigger.RESET): _A,
}


class IllegalStateChange(Exception):
    pass


def next_state(state: TradingState, trigger: Trigger) -> TradingState:
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalStateChange(f"{trigger.value} is not defined in state {state.value}") from None


@dataclass
class Persisted:
    """What must survive a restart: the latch and its reasons, the high-water mark, the day's open."""

    state: TradingState = TradingState.ACTIVE
    reasons: list[str] = field(default_factory=list)
    high_water: Decimal | None = None
    day_open: tuple[int, Decimal] | None = None  # (UTC day number, equity at its open)

    def to_json(self) -> str:
        return json.dumps({
            "state": self.state.value, "reasons": self.reasons,
            "high_water": None if self.high_water is None else str(self.high_water),
            "day_open": None if self.day_open is None else [self.day_open[0], str(self.day_open[1])],
        }, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Persisted:
        d = json.loads(text)
        day = d.get("day_open")
        hw = d.get("high_water")
        return cls(TradingState(d["state"]), list(d.get("reasons", [])), None if hw is None else Decimal(hw),
                   None if day is None else (int(day[0]), Decimal(day[1])))


class StateFile:
    """The persisted risk state as one small JSON file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> Persisted:
        """The saved state, or a fresh one when there is no file. A file that cannot be read is not
        a fresh start: it raises, so the runner refuses to trade on an unknown latch (fail closed)."""
        if not self.path.exists():
            return Persisted()
        try:
            return Persisted.from_json(self.path.read_text())
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"risk state file {self.path} cannot be read ({e}); fix or remove it "
                               "deliberately (removing it forgets a HALTED latch and the high-water mark)") from None

    def save(self, p: Persisted) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(p.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
