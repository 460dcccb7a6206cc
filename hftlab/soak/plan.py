"""What the soak does to the system, and when: one fault per simulated minute, every kind in turn.

The plan is a pure function of the seed: `fault_plan` splits the simulated time into `every_s`
slots and puts one fault at a random point of each; the kinds come in rounds, each round every
kind once in a shuffled order, so an hour at one fault a minute injects each of the 15 kinds four
times. Faults aimed at one instrument (a lost update, a stall, ...) name it; a garbled frame is a
books or a trades frame.

Times are simulated (market) seconds since the soak began: when the simulator cannot keep up
with its speed it slows market time down, and the faults follow market time, not the wall clock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    DROP = "drop"                          # the public sockets reset (TCP abort)
    NOTICE = "notice"                      # event notice 64008, then the close
    GAP = "gap"                            # a books update lost: the next one does not chain
    STALL = "stall"                        # an instrument's market data silent for a while
    DUPLICATE = "duplicate"                # books updates sent twice
    REORDER = "reorder"                    # two books updates swapped
    CORRUPT_CHECKSUM = "corrupt_checksum"  # a books update with a wrong checksum
    GARBLE = "garble"                      # a frame cut in half (not JSON)
    REDIS_KILL = "redis_kill"              # kill -9 of redis-server, restarted on its port
    RATE_LIMIT = "rate_limit"              # requests answered 50011
    LOST_ACK = "lost_ack"                  # order requests executed, their answers never sent
    ACK_50004 = "ack_50004"                # order requests executed, answered 50004 (outcome unknown)
    PRIVATE_LOSS = "private_loss"          # the private (trading) socket reset
    KILL_COLLECTOR = "kill_collector"      # kill -9 of `hftlab collect`, restarted
    KILL_RUNNER = "kill_runner"            # kill -9 of the live runner, restarted: it must reconcile


# kinds that act on a component the soak may run without
NEEDS_RUNNER = frozenset({FaultKind.RATE_LIMIT, FaultKind.LOST_ACK, FaultKind.ACK_50004, FaultKind.PRIVATE_LOSS,
                          FaultKind.KILL_RUNNER})
NEEDS_COLLECTOR = frozenset({FaultKind.KILL_COLLECTOR})
PER_INSTRUMENT = frozenset({FaultKind.GAP, FaultKind.STALL, FaultKind.DUPLICATE, FaultKind.REORDER,
                            FaultKind.CORRUPT_CHECKSUM, FaultKind.GARBLE})


@dataclass(frozen=True, slots=True)
class PlannedFault:
    at_s: float  # simulated seconds since the soak began
    kind: FaultKind
    inst_id: str | None = None
    channel: str | None = None


def kinds_for(runner: bool, collector: bool) -> tuple[FaultKind, ...]:
    """Every kind the soak can inject with these components running."""
    return tuple(k for k in FaultKind if (runner or k not in NEEDS_RUNNER) and (collector or k not in NEEDS_COLLECTOR))


def fault_plan(duration_s: float, every_s: float, symbols: Sequence[str], kinds: Sequence[FaultKind],
               seed: int) -> list[PlannedFault]:
    """One fault in each `every_s` slot of `duration_s` simulated seconds, in time order."""
    if every_s <= 0 or duration_s <= 0:
        raise ValueError("duration_s and every_s must be positive")
    if not kinds or not symbols:
        raise ValueError("a plan needs at least one kind and one instrument")
    rng = random.Random(seed)
    out: list[PlannedFault] = []
    order: list[FaultKind] = []
    for slot in range(int(duration_s / every_s + 1e-9)):  # 89 * 46.285 / 46.285 is 88.99999...
        if not order:
            order = list(kinds)
            rng.shuffle(order)
        kind = order.pop()
        at = (slot + rng.uniform(0.05, 0.95)) * every_s
        inst = rng.choice(list(symbols)) if kind in PER_INSTRUMENT else None
        channel = rng.choice(("books", "trades")) if kind is FaultKind.GARBLE else None
        out.append(PlannedFault(round(at, 3), kind, inst, channel))
    return out
