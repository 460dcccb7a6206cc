"""`hftlab bench monitor`: what monitoring costs the hot path, measured in the same run with and without it.

The path is the tick-to-decision path a live runner runs per frame, minus risk and the order request:
`parse_frame` -> `MarketFeed.on_event` (book chain, bars) and, on every closed 1 s bar, the signal
pipeline (`StreamingFeatures` -> a stand-in predictor -> rule, filters, sizing). The frames are a
synthetic market of one instrument: a 50-level book snapshot, then updates every 100 ms of venue time
(seqId chain, checksum 0) and a trade every 300 ms, so a bar closes about every 13 frames. The
stand-in predictor answers at once, so the path measured is cheaper than the real one and the overhead
reported is an upper bound.

Instrumented = what the collector and the live runner add per event and per decision:
`FeedLatency.observe_event` on every event (it times 1 in 16 of them), and on every decision
`TickLatency.observe_stages` plus the tick-to-decision observation. Each round runs a plain and an
instrumented pass back to back on fresh state (in alternating order), timed in this thread's CPU
time; the overhead is the median over rounds of instrumented / plain, so load from other processes
that drifts across rounds cancels out; the per-frame costs are the median pass of each. Also per call: one `Histogram.observe`, one
`observe_event` (as sampled, and when it times the event), and rendering one /metrics scrape of a
collector's records.
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

import numpy as np
import orjson

from hftlab.bench import progress

INST = "BTC-USDT"
LEVELS = 50


def add_arguments(p) -> None:
    p.add_argument("--frames", type=int, default=20_000, help="frames per pass")
    p.add_argument("--repeat", type=int, default=15, help="rounds (a plain and an instrumented pass each)")
    p.add_argument("--observations", type=int, default=1_000_000, help="observe() calls timed")


def synthetic_frames(n: int, start_ms: int = 1_767_225_600_000) -> list[str]:
    """OKX `books` and `trades` pushes of one instrument: a snapshot, then a valid seqId chain."""
    rng = np.random.default_rng(11)
    mid = 50_000.0
    asks = {round(mid + 0.1 * (i + 1), 1): 1.0 for i in range(LEVELS)}
    bids = {round(mid - 0.1 * (i + 1), 1): 1.0 for i in range(LEVELS)}

    def levels(side: dict) -> list[list[str]]:
        return [[f"{px:.1f}", f"{sz:.4f}", "0", "1"] for px, sz in side.items()]

    seq, ts = 1000, start_ms
    frames = [orjson.dumps({"arg": {"channel": "books", "instId": INST}, "action": "snapshot", "data": [
        {"asks": levels(asks), "bids": levels(bids), "ts": str(ts), "checksum": 0, "seqId": seq, "prevSeqId": -1}
    ]}).decode()]
    trade_id = 1
    while len(frames) < n:
        ts += 100
        side = asks if rng.random() < 0.5 else bids
        px = next(iter(side)) if rng.random() < 0.5 else list(side)[int(rng.integers(LEVELS))]
        side[px] = round(float(rng.uniform(0.1, 3.0)), 4)
        change = [[f"{px:.1f}", f"{side[px]:.4f}", "0", "1"]]
        frames.append(orjson.dumps({"arg": {"channel": "books", "instId": INST}, "action": "update", "data": [
            {"asks": change if side is asks else [], "bids": change if side is bids else [], "ts": str(ts),
             "checksum": 0, "seqId": seq + 1, "prevSeqId": seq}]}).decode())
        seq += 1
        if ts % 300 == 0:
            trade_id += 1
            frames.append(orjson.dumps({"arg": {"channel": "trades", "instId": INST}, "data": [
                {"instId": INST, "tradeId": str(trade_id), "px": f"{mid + rng.normal(0, 5):.1f}",
                 "sz": f"{rng.uniform(0.001, 0.5):.4f}", "side": "buy" if rng.random() < 0.5 else "sell",
                 "ts": str(ts), "count": "1"}]}).decode())
    return frames[:n]


class StandIn:
    """A predictor with the interface SignalPipeline needs, answering at once."""

    def __init__(self, spec, seq_len: int = 16):
        self.spec, self.seq_len, self.n_features = spec, seq_len, len(spec.names)
        self._p = np.array([0.2, 0.2, 0.6], dtype=np.float32)

    def predict_proba(self, window):
        return self._p


def _pipeline():
    from hftlab.backtest.config import BacktestConfig
    from hftlab.domain.instruments import InstrumentSpec, InstType
    from hftlab.features import FeatureSpec
    from hftlab.marketdata.feed import MarketFeed
    from hftlab.strategy.config import StrategyConfig
    from hftlab.strategy.signal import SignalPipeline

    spec = FeatureSpec(book_levels=0)
    inst = InstrumentSpec(INST, InstType.SPOT, "BTC", "USDT", Decimal("0.1"), Decimal("0.00001"), Decimal("0.00001"))
    pipe = SignalPipeline(inst, StandIn(spec), BacktestConfig(threshold=0.1), StrategyConfig(), cap_usd=10_000,
                          horizon=3)
    return MarketFeed(["books", "trades"], ["1s"]), pipe


def _pass(frames: list[str], instrumented: bool) -> tuple[float, int]:
    """Seconds for one pass over `frames` on fresh state, and the decisions made."""
    from hftlab.monitor.latency import FeedLatency, TickLatency
    from hftlab.okx.parse import parse_frame

    feed, pipe = _pipeline()
    feed_lat, tick_lat = FeedLatency(), TickLatency()
    on_event, on_bar, top = feed.on_event, pipe.on_bar, feed.top
    clock = time.time_ns
    decisions = 0
    t0 = time.thread_time()
    for raw in frames:
        recv_ns = clock()
        for ev in parse_frame(raw, recv_ns):
            if instrumented:
                feed_lat.observe_event(ev, ev.ts_ms)
            update = on_event(ev)
            for bar in update.bars:
                d = on_bar(bar, top(bar.inst_id), clock())
                decisions += 1
                if instrumented:
                    tick_lat.observe_stages(d.stage_ns)
                    tick_lat.tick_to_order.observe((clock() - recv_ns) * 1e-9)
    return time.thread_time() - t0, decisions


def _per_call_ns(fn, n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


def _scrape_ms(repeat: int) -> float:
    """One /metrics rendering of what a collector process registers, warm, best of `repeat`."""
    from prometheus_client import generate_latest

    from hftlab.cache.manager import CacheStats
    from hftlab.monitor.guard import GuardStats
    from hftlab.monitor.latency import FeedLatency
    from hftlab.monitor.sources import Sources
    from hftlab.okx.book import BookStats
    from hftlab.okx.bookhealth import BookHealthStats
    from hftlab.okx.client import ClientStats
    from hftlab.okx.connection import SocketStats
    from hftlab.okx.execution import ExecutionStats, OpLatency
    from hftlab.okx.overlap import OverlapStats
    from hftlab.okx.queue import QueueStats

    sources = Sources()
    client = ClientStats(SocketStats(), OverlapStats(), BookHealthStats(), ExecutionStats())
    client.events.update({"books": 1, "trades": 1, "tickers": 1})
    feed = FeedLatency()
    for ch in ("books", "trades", "tickers"):
        feed.exchange_to_receive[ch].observe(0.01)
    for rec in (client, QueueStats(100_000), OpLatency(), BookStats(), CacheStats(), GuardStats(), feed):
        sources.record(rec)
    sources.probe("book_valid", lambda: {"BTC-USDT": True, "ETH-USDT": True, "SOL-USDT": True})
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        generate_latest(sources)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def run(args) -> dict[str, float]:
    from hftlab.core.metrics import Histogram
    from hftlab.monitor.latency import FeedLatency
    from hftlab.okx.parse import parse_frame

    frames = synthetic_frames(args.frames)
    progress(f"monitor: {args.repeat} rounds of {len(frames):,} frames, plain and instrumented back to back")
    _pass(frames[: min(len(frames), 2_000)], True)  # warm caches and lazy imports
    plain, instr, ratios, decisions = [], [], [], 0
    for r in range(args.repeat):
        order = (False, True) if r % 2 == 0 else (True, False)  # alternate, so neither always runs first
        times = {}
        for instrumented in order:
            times[instrumented], decisions = _pass(frames, instrumented)
        plain.append(times[False])
        instr.append(times[True])
        ratios.append(times[True] / times[False])
    progress(f"monitor: observe() x {args.observations:,} ...")
    h, lat, timed = Histogram(), FeedLatency(), FeedLatency(sample_rate=1.0)
    ev = parse_frame(frames[1], time.time_ns())[0]
    observe_ns = _per_call_ns(lambda: h.observe(0.0042), args.observations)
    event_ns = _per_call_ns(lambda: lat.observe_event(ev, ev.ts_ms), args.observations)
    timed_ns = _per_call_ns(lambda: timed.observe_event(ev, ev.ts_ms), args.observations)
    call_ns = _per_call_ns(lambda: None, args.observations)  # the lambda call itself, subtracted
    n = len(frames)
    return {
        "frames_count": n,
        "decisions_count": decisions,
        "path_plain_us": round(statistics.median(plain) / n * 1e6, 3),
        "path_instrumented_us": round(statistics.median(instr) / n * 1e6, 3),
        "instrumentation_overhead_pct": round((statistics.median(ratios) - 1) * 100, 2),
        "histogram_observe_ns": round(observe_ns - call_ns, 1),
        "observe_event_ns": round(event_ns - call_ns, 1),
        "observe_event_timed_ns": round(timed_ns - call_ns, 1),
        "scrape_render_ms": round(_scrape_ms(max(3, args.repeat)), 3),
    }
