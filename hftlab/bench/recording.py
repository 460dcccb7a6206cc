"""Deterministic OKX frames for the benchmarks: what `hftlab sim` publishes, recorded in process.

The simulator's exchange core and its publisher run here without sockets or a wall clock: the same
seed and duration give the same frames, byte for byte (`books` snapshots first, then every update and
trade as the hub hands them to a subscriber).
"""

from __future__ import annotations

from collections.abc import Iterable

START_MS = 1_785_000_000_000
STEP_MS = 100  # the simulator's default book interval


class _Subscriber:
    """Stands for a WebSocket session on the simulator's hub: it keeps what is published to it."""

    def __init__(self) -> None:
        self.md_keys: set[tuple[str, str]] = set()
        self.frames: list[bytes] = []

    def send(self, payload: bytes, md: bool = False) -> None:
        self.frames.append(payload)


def record(seed: int, seconds: float, channels: Iterable[str] = ("books",),
           inst_ids: Iterable[str] | None = None) -> list[str]:
    """The frames of `channels` for `inst_ids` (default: every instrument the simulator lists) over
    `seconds` of market time, as compact JSON text."""
    from hftlab.sim.exchange import SimExchange
    from hftlab.sim.faults import FaultInjector
    from hftlab.sim.feeds import MarketFeeds
    from hftlab.sim.hub import Hub, SimStats

    exchange = SimExchange(seed=seed, start_ms=START_MS)
    faults = FaultInjector(seed=seed)
    hub = Hub(SimStats(), faults)
    feeds = MarketFeeds(exchange, hub, faults, seed=seed, keepalive_s=1e9)
    sub = _Subscriber()
    insts = list(exchange.instruments) if inst_ids is None else list(inst_ids)
    channels = list(channels)
    for inst in insts:
        for ch in channels:
            hub.add((ch, inst), sub)
            first = feeds.initial(ch, inst) if ch == "books" else None
            if first is not None:
                sub.frames.append(first)
    for k in range(1, int(seconds * 1000 / STEP_MS) + 1):
        t = START_MS + k * STEP_MS
        exchange.advance_to(t)
        feeds.step(t)
    return [f.decode() for f in sub.frames]
