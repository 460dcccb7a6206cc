"""What the execution layer counts and times, for monitoring to pull (`as_dict`, the histograms).

Latencies (seconds, `core.metrics.Histogram`): `place_ack` and `cancel_ack` (request handed to the
venue -> its answer), `ack_push` (a place's answer -> the first push about the order; 0 when the push
came first, counted in `pushes_before_ack`), `first_fill`
(intent handed over -> the order's first fill), `overhead` (the manager's own time from an approved
order to the request handed to the venue: checks, clOrdId, journal write; the budget wait excluded),
`budget_wait` (how long places waited for rate budget, when they did), `journal_write` (one committed
journal write).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hftlab.core.metrics import Histogram, Stats


@dataclass(slots=True)
class ExecutionStats(Stats):
    places: int = 0  # items sent
    amends: int = 0
    cancels: int = 0
    outcomes: Counter = field(default_factory=Counter)  # (op, WriteOutcome) -> items
    local_refusals: Counter = field(default_factory=Counter)  # LocalRefusal -> requests never sent
    venue_rate_limited: int = 0  # venue refusals for rate: the budget should make this 0
    budget_waits: int = 0
    unknown_orders: int = 0  # orders that became UNKNOWN
    resolved: Counter = field(default_factory=Counter)  # how UNKNOWN orders were resolved
    queries: Counter = field(default_factory=Counter)  # Lookup -> queries
    pushes_before_ack: int = 0
    untracked_pushes: int = 0  # facts about orders the manager does not track
    illegal_facts: int = 0  # venue facts the order state machine refused (see OrderStats.illegal)
    stream_drops: int = 0
    reconcile_passes: int = 0
    reconcile_failures: Counter = field(default_factory=Counter)  # reason -> failed passes
    paging_stalls: int = 0
    adopted: int = 0  # orders with our tag found at the venue, unknown to the journal
    adopted_cancelled: int = 0
    fills_recovered: int = 0  # fills first learnt by reconciliation, not from the stream
    position_discrepancies: int = 0
    caa_heartbeats: int = 0
    caa_failures: int = 0
    kill_switch: int = 0
    task_failures: Counter = field(default_factory=Counter)  # task kind -> failures (core.tasks; restarted)
    event_errors: int = 0  # private-stream events that raised while applied (logged, skipped)


@dataclass(slots=True)
class LatencyStats:
    place_ack: Histogram = field(default_factory=Histogram)
    cancel_ack: Histogram = field(default_factory=Histogram)
    ack_push: Histogram = field(default_factory=Histogram)
    first_fill: Histogram = field(default_factory=Histogram)
    overhead: Histogram = field(default_factory=Histogram)
    budget_wait: Histogram = field(default_factory=Histogram)
    journal_write: Histogram = field(default_factory=Histogram)
