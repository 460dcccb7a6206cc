"""`hftlab bench tick-to-order`: from a market-data frame to the order frame it causes, on one thread.

The live path of `hftlab live` (live/runner.py), with its real components, over a deterministic
simulator recording (`--seed`, `--sim-seconds` of `books` and `trades` for `--inst`):

  frame received (recv_ns stamped, as the socket reader does)
  -> `parse_frame` -> `MarketFeed.on_event` (book, top of book, bars)          stage `feed`
  -> for the bar of the traded timeframe (`strategy.timeframe`) it closed:
     book features (`SignalPipeline.on_book`) + `StreamingFeatures`            stage `features`
     the model (`Predictor`, the served backend)                               stage `inference`
     rule + filters + sizing                                                   stage `signal`
     `strategy.quoting.plan_orders`                                            stage `plan`
     `RiskEngine.check` -> ApprovedOrder                                       stage `risk`
     the order frame: a `PlaceRequest` through the OKX adapter, `OkxVenue.place` (its request
     serialisation, okx/records.py, the WS `order` op with `instIdCode` and `expTime`, sent by
     `OrderChannel.send_op` -> `Connection.send`), to the adapter's send stamp (`on_sent`, once
     the frame is written to the socket)                                        stage `frame`

`e2e` runs from the receive stamp to the send stamp, as the runner measures tick-to-order. The order
manager (journal, slots, budgets) is not on this path; `hftlab bench orders` times its share. The model is the champion's shape (the default
`ModelConfig` network over the default `FeatureSpec`, random weights, seeded, normalised by the
recording's own feature statistics, the head's bias zeroed and its weights scaled up so that the
edge follows the inputs); the strategy, risk and rule settings are the defaults, except
that `--threshold` (default 0) lets the random model's edge change the target often enough to time
many orders. The stand-in venue fills every IOC at once (the next bar starts flat of working orders).

The private socket is a stand-in that takes the frame and answers it (accepted) on the next turn
of the event loop.

Labels: `<stage>_p50_us`, `_p99_us`, `_p999_us` (stages up to `signal` over every bar with a
prediction, `plan` over every such bar, `risk` and `frame` over every order), `e2e_*` over every order,
`decision_*` (frame to signal, every bar with a prediction), the counts, and the cyclic garbage
collector's collections during the run and its longest pause (it runs in the live process too).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from decimal import Decimal

import numpy as np
import orjson

from hftlab.bench import progress

STAGES = ("feed", "features", "inference", "signal", "plan", "risk", "frame")
EDGE_GAIN = 20.0  # the random head's weights scaled up, so that the edge changes sign with the inputs


def add_arguments(p) -> None:
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sim-seconds", type=float, default=1800.0, help="market seconds recorded (one bar a second)")
    p.add_argument("--inst", default="BTC-USDT-SWAP", help="the instrument traded (one the simulator lists)")
    p.add_argument("--threshold", type=float, default=0.0, help="the signal rule's entry threshold")


def _quantiles(ns: list[int]) -> tuple[float, float, float]:
    if not ns:
        return (0.0, 0.0, 0.0)
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return tuple(round(float(np.percentile(a, q)), 1) for q in (50, 99, 99.9))


def _model(frames: list[str], timeframe: str):
    """The champion-shaped SignalNet, normalised by the feature statistics of the recording's bars."""
    import torch

    from hftlab.features.spec import FeatureSpec
    from hftlab.features.streaming import StreamingFeatures
    from hftlab.marketdata.feed import MarketFeed
    from hftlab.models.config import ModelConfig
    from hftlab.models.lstm import AttentionLSTM, NetConfig, SignalNet
    from hftlab.models.predictor import Predictor
    from hftlab.okx.parse import parse_frame

    spec = FeatureSpec()
    feats = StreamingFeatures(spec)
    feed = MarketFeed(["books", "trades"], [timeframe])
    rows = []
    for raw in frames:
        for ev in parse_frame(raw, 0):
            for bar in feed.on_event(ev).bars:
                if spec.uses_book:
                    book = feed.book("books", bar.inst_id)
                    if book is not None:
                        feats.update_book(book.bids(spec.book_levels), book.asks(spec.book_levels))
                rows.append(feats.update_bar(bar))
    x = np.asarray(rows, dtype=np.float64)
    center = np.nanmedian(x, axis=0)
    scale = np.nanstd(x, axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    m = ModelConfig()
    torch.manual_seed(0)
    net = AttentionLSTM(NetConfig(len(feats.names), m.hidden_size, m.num_layers, m.dropout, m.seq_len))
    with torch.no_grad():  # random weights: the logits' biases would fix the edge's sign; let inputs move it
        net.fc2.bias.zero_()
        net.fc2.weight.mul_(EDGE_GAIN)
    signal = SignalNet(net, np.nan_to_num(center), scale, 5.0).eval()
    return Predictor(signal, spec), len(rows)


class _Socket:
    """The private socket's stand-in: it keeps each frame handed to it, and the venue answers it
    (accepted) on the next turn of the loop."""

    def __init__(self) -> None:
        self.channel = None
        self.last: dict = {}
        self.frames = 0

    async def send(self, text: str) -> None:
        self.frames += 1
        from hftlab.okx.events import OpResponse

        self.last = req = orjson.loads(text)
        items = [{"clOrdId": a.get("clOrdId", ""), "ordId": str(self.frames), "sCode": "0", "sMsg": ""}
                 for a in req["args"]]
        asyncio.get_running_loop().call_soon(
            self.channel.on_answer, OpResponse(req["id"], req["op"], "0", "", items, time.time_ns()))


class _PrivateClient:
    """What OkxVenue needs of AsyncOKXClient: the order channel (on the stand-in socket) and REST."""

    def __init__(self, orders, rest):
        self.orders, self.rest = orders, rest

    async def subscribe(self, args) -> None:
        pass


class _Book:
    """Risk's view of exposure: the position the stand-in venue's fills made; no working orders."""

    def __init__(self, inst_id: str):
        from hftlab.risk.checks import Exposure

        self.inst_id = inst_id
        self.position = Decimal(0)
        self._exposure = Exposure

    def exposure(self, inst_id: str):
        return self._exposure(self.position if inst_id == self.inst_id else Decimal(0))

    def open_order_count(self) -> int:
        return 0

    def exposed_instruments(self):
        return (self.inst_id,)


async def _drive(frames: list[str], inst_id: str, predictor, threshold: float) -> dict[str, list[int]]:
    from hftlab.backtest.config import BacktestConfig
    from hftlab.domain.orders import ApprovedOrder, Side
    from hftlab.domain.venue import PlaceRequest, WriteOutcome
    from hftlab.execution.config import ExecutionConfig
    from hftlab.marketdata.feed import MarketFeed
    from hftlab.models.config import ModelConfig
    from hftlab.okx.channels import PRIVATE
    from hftlab.okx.config import ClientConfig
    from hftlab.okx.connection import Connection, SocketStats
    from hftlab.okx.execution import OrderChannel
    from hftlab.okx.parse import parse_frame
    from hftlab.okx.rest import OkxRest
    from hftlab.okx.venue import OkxVenue
    from hftlab.risk.checks import Market
    from hftlab.risk.config import RiskConfig
    from hftlab.risk.engine import Account, RiskEngine
    from hftlab.sim.instruments import default_instruments
    from hftlab.strategy.config import StrategyConfig
    from hftlab.strategy.quoting import plan_orders
    from hftlab.strategy.signal import SignalPipeline

    spec = next(i.spec() for i in default_instruments() if i.inst_id == inst_id)
    strategy, risk_cfg = StrategyConfig(), RiskConfig()
    rule = BacktestConfig(threshold=threshold, allow_short=spec.is_swap)
    tf = strategy.timeframe
    feed = MarketFeed(["books", "trades"], [tf])
    pipe = SignalPipeline(spec, predictor, rule, strategy, cap_usd=risk_cfg.max_position_usd,
                          horizon=ModelConfig().horizon)
    market_s = [0.0]  # exchange time of the frame in hand: the throttle's clock (bars close once a second)
    risk = RiskEngine(risk_cfg, {inst_id: spec}, clock=lambda: market_s[0])
    account = Account(equity_known=True, reconciled=True, reconciling=False)
    book = _Book(inst_id)
    sock = _Socket()
    conn = Connection(PRIVATE, "ws://stand-in/private", sock, ClientConfig(), stats=SocketStats(),
                      on_frame=lambda *a: None, on_refused=lambda *a: None)
    conn.ready = True
    rest = OkxRest("http://127.0.0.1:1")
    channel = OrderChannel(rest, on_push=lambda ev: None, spawn=lambda coro, name: asyncio.ensure_future(coro),
                           reconcile_orders=False)
    channel.attach(conn)
    sock.channel = channel
    sent_perf = [0]
    venue = OkxVenue(_PrivateClient(channel, rest), rest, {inst_id: spec},
                     on_sent=lambda cl_ord_ids, wall_ns: sent_perf.__setitem__(0, time.perf_counter_ns()))
    exe = ExecutionConfig()
    ids = itertools.count(1)
    times: dict[str, list[int]] = {k: [] for k in (*STAGES, "e2e", "decision", "denied")}
    perf, wall = time.perf_counter_ns, time.time_ns
    for raw in frames:
        recv_ns, t0 = wall(), perf()
        closed = []
        for ev in parse_frame(raw, recv_ns):
            update = feed.on_event(ev)
            closed += [b for b in update.bars if b.timeframe == tf and b.inst_id == inst_id]
        if not closed:
            continue
        market_s[0] = closed[-1].ts_ms / 1000 + 1.0
        t1 = perf()
        for bar in closed:
            ta = perf()
            ob = feed.book("books", inst_id)
            if ob is not None and pipe.features.spec.uses_book:
                n = pipe.features.spec.book_levels
                pipe.on_book(ob.bids(n), ob.asks(n))
            tb = perf()
            top = feed.top(inst_id)
            d = pipe.on_bar(bar, top, wall())
            t2 = perf()
            plan = plan_orders(spec, d.target, book.position, [], top, strategy, recv_ns)
            t3 = perf()
            if d.proba[0] == d.proba[0]:  # the window was complete: the model ran
                times["feed"].append(t1 - t0)
                times["features"].append(tb - ta + d.stage_ns[0])
                times["inference"].append(d.stage_ns[1])
                times["signal"].append(d.stage_ns[2])
                times["decision"].append(t2 - t0)
                times["plan"].append(t3 - t2)
            for intent in plan.new:
                mid = top.mid if top is not None else None
                markets = {inst_id: Market(top, mid, top.recv_ns if top is not None else 0)}
                t4 = perf()
                verdict = risk.check(intent, markets, book, account, wall())
                t5 = perf()
                if not isinstance(verdict, ApprovedOrder):
                    times["denied"].append(t5 - t4)
                    continue
                o = verdict.intent
                req = PlaceRequest(str(next(ids)), exe.tag, o.inst_id, o.side, o.ord_type, o.sz, o.px,
                                   wall() // 1_000_000 + exe.order_deadline_ms, o.reduce_only)
                result = (await venue.place([req]))[0]
                t6 = sent_perf[0]
                risk.release(verdict)
                if result.outcome is not WriteOutcome.ACCEPTED:
                    raise RuntimeError(f"the stand-in venue did not accept an order: {result}")
                times["risk"].append(t5 - t4)
                times["frame"].append(t6 - t5)
                times["e2e"].append(t6 - t0)
                book.position += intent.sz if intent.side is Side.BUY else -intent.sz  # filled at once
    await rest.close()
    if sock.frames != len(times["e2e"]):
        raise RuntimeError(f"{sock.frames} order frames sent, {len(times['e2e'])} timed")
    return times


def run(args) -> dict[str, float]:
    from hftlab.bench.recording import record
    from hftlab.strategy.config import StrategyConfig

    tf = StrategyConfig().timeframe
    progress(f"recording {args.sim_seconds:,.0f} s of the simulator's books and trades for {args.inst} "
             f"(seed {args.seed}) ...")
    frames = record(args.seed, args.sim_seconds, ("books", "trades"), [args.inst])
    progress(f"{len(frames):,} frames; building the champion-shaped model ...")
    predictor, bars = _model(frames, tf)
    progress(f"{bars:,} {tf} bars; driving the live path ...")
    pauses: list[int] = []
    started = [0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            pauses.append(time.perf_counter_ns() - started[0])

    gc.collect()
    gc.callbacks.append(on_gc)
    try:
        times = asyncio.run(_drive(frames, args.inst, predictor, args.threshold))
    finally:
        gc.callbacks.remove(on_gc)
    out: dict[str, float] = {}
    for k in (*STAGES, "decision", "e2e"):
        out[f"{k}_p50_us"], out[f"{k}_p99_us"], out[f"{k}_p999_us"] = _quantiles(times[k])
    out["frames_count"] = len(frames)
    out["bars_count"] = bars
    out["decisions_count"] = len(times["decision"])
    out["orders_count"] = len(times["e2e"])
    out["risk_denials_count"] = len(times["denied"])
    out["gc_collections_count"] = len(pauses)  # the cyclic collector ran this often during the drive ...
    out["gc_pause_max_us"] = round(max(pauses, default=0) / 1e3, 1)  # ... pausing the loop at most this long
    if not times["e2e"]:
        raise RuntimeError("no order was sent: nothing to time (lower --threshold or record longer)")
    return out
