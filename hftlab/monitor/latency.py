"""The tick-to-order path's latency, stage by stage, in seconds (`core.metrics.Histogram`, 10 µs .. 10 s).

The process that runs a stage owns its histograms and observes into them; monitor exports them.
`FeedLatency` is the market-data side (the collector and the live runner, `hftlab_md_*`),
`TickLatency` the decision side (the live runner, `hftlab_tick_*`):

    frame received (reader's recv_ns) ── FeedLatency.exchange_to_receive: venue `ts` -> recv_ns, by channel
       │                                  (includes the offset between the venue's clock and ours)
       ▼ FeedLatency.receive_to_event: parse + queue wait, until the consumer handles the event
    event ─► bar closed ─► features ─► inference ─► decision (rule, filters, sizing): Decision.stage_ns
       ─► risk (intent -> verdict) ─► order request handed to the venue
    TickLatency.tick_to_order: frame received -> order request handed to the venue (the whole path)

The rest of an order's life is execution's (`LatencyStats`: overhead = risk verdict -> request
handed over, place_ack, ack_push, first_fill) and okx's (`OpLatency`: op ack, OKX gateway time).

`FeedLatency.observe_event` is the one call the market-data hot path makes per event. It times a
random `sample_rate` share of events (1 in 16 by default: random, so a fixed rotation of channels and
instruments cannot alias with it): a distribution is as well estimated from a sample, and timing every
event would cost a fifth of a ~7 µs book update (`hftlab bench monitor`). So the histograms' `_count`
counts the events timed; event rates come from the counters (`hftlab_okx_events_total`), which are exact.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

from hftlab.core.metrics import Histogram
from hftlab.okx.queue import channel_of

_random = random.random
_now_ns = time.time_ns


@dataclass(slots=True)
class FeedLatency:
    exchange_to_receive: defaultdict[str, Histogram] = field(default_factory=lambda: defaultdict(Histogram))
    receive_to_event: Histogram = field(default_factory=Histogram)
    sample_rate: float = 0.0625

    def observe_event(self, ev, ts_ms: int) -> None:
        """An event being handled now, stamped `ts_ms` by the venue when it made the push (0: no such
        stamp, e.g. a candle's open time); `ev.recv_ns` is when its frame was received (Unix ns)."""
        if _random() >= self.sample_rate:
            return
        recv_ns = ev.recv_ns
        if ts_ms:
            self.exchange_to_receive[channel_of(ev)].observe((recv_ns - ts_ms * 1_000_000) * 1e-9)
        self.receive_to_event.observe((_now_ns() - recv_ns) * 1e-9)


@dataclass(slots=True)
class TickLatency:
    features: Histogram = field(default_factory=Histogram)
    inference: Histogram = field(default_factory=Histogram)
    decision: Histogram = field(default_factory=Histogram)
    risk: Histogram = field(default_factory=Histogram)
    tick_to_order: Histogram = field(default_factory=Histogram)

    def observe_stages(self, stage_ns: tuple[int, int, int]) -> None:
        """A decision's (features, inference, decision) durations (`strategy.signal.Decision.stage_ns`)."""
        f, i, d = stage_ns
        self.features.observe(f * 1e-9)
        self.inference.observe(i * 1e-9)
        self.decision.observe(d * 1e-9)
