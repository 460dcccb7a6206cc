"""The soak: simulated hours of a faulty venue while the collector records and the live runner trades.

    figures = await Soak(SoakConfig(sim_hours=1, speed=30, workdir=Path("var/soak"))).run()

What runs, and where:

- in this process: the simulator (only the soak's instruments, at `speed`), with the oracle of its
  books (`oracle.BookOracle`) and the probe (`probe.Probe`: a consumer whose every book is checked);
  the embedded redis-server is this process's child;
- `hftlab collect` and the live runner (`hftlab live --sim-url`, trading the momentum model of
  `soak.model` from a store of its own) in processes of their own (`processes.Child`), both writing to
  that Redis.

Once all are working, the fault plan (`plan.fault_plan`: one fault per simulated minute, every kind in
turn) runs on market time. A fault aimed at a process waits, in a task of its own, until that process
works: a kill, the private socket's reset, and the order-path faults (50011, lost acks, 50004), which
are armed on the venue for a trading runner and hold it (no kill) until its requests have taken them.
A socket reset waits for a socket to reset. So every fault meets what it is meant to hit, whatever
the timing, and the rest of the plan keeps its times. A process that exits by itself is a crash: it is
counted (a finding) and started again, as a supervisor would. Meanwhile, every
`sample_s`: the collector's top of book in Redis is checked against the oracle at its seqId (an
invalid book served to Redis readers), each process's memory is sampled against simulated time and
each child's /metrics is scraped (the last scrape of an incarnation stands for it once it is killed).
After the plan, the runner and the collector are stopped cleanly (SIGTERM) and the venue's orders and
fills are audited against the runner's journal (`audit.audit`).

The figures (`Soak.figures`, what `hftlab soak --json` prints) are measured, never asserted here:
the caller (tests/stress, the acceptance run) holds them to the invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from redis.exceptions import RedisError

from hftlab.cache.config import RedisConfig
from hftlab.cache.manager import RedisCacheManager
from hftlab.cache.server import EmbeddedRedis
from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.execution.journal import Journal
from hftlab.monitor.looplag import LoopLag
from hftlab.okx.channels import Endpoints
from hftlab.okx.config import UNCHECKED_CLOCK, ClientConfig
from hftlab.sim.config import SimConfig
from hftlab.sim.faults import FaultRecord
from hftlab.sim.server import SimServer
from hftlab.soak.audit import VenueOrder, audit
from hftlab.soak.figures import slope, spread
from hftlab.soak.model import SYMBOL as MODEL_SYMBOL
from hftlab.soak.oracle import BookOracle, Verdict
from hftlab.soak.plan import FaultKind, PlannedFault, fault_plan, kinds_for
from hftlab.soak.probe import Probe, ProbeFigures
from hftlab.soak.processes import Child
from hftlab.soak.scrape import Metrics

log = logging.getLogger(__name__)

# The client's timings, compressed as the market is: a stalled book is noticed within a second, a lost
# socket is back within a couple (OKX's defaults are made for a market that runs at 1x).
CLIENT_TIMINGS = {"stale_after_s": 1.0, "snapshot_timeout_s": 1.0, "resync_timeout_s": 5.0,
                  "backoff_initial_s": 0.1, "backoff_max_s": 2.0, "stable_after_s": 2.0, "rollover_grace_s": 0.5,
                  "ack_timeout_s": 3.0}
# The runner trades small and is allotted a capital its fees cannot dent within hours: the soak tests
# survival, not the strategy, and a drawdown halt would end the trading it needs.
RUNNER_SETTINGS = {"STRATEGY__SIZING__MODE": "fixed", "STRATEGY__SIZING__NOTIONAL_USD": "100",
                   "BACKTEST__THRESHOLD": "0.2", "LIVE__PROGRESS_INTERVAL_S": "1", "LIVE__CAPITAL_USD": "1000000",
                   "RISK__MAX_DAILY_LOSS_USD": "100000", "RISK__MAX_ORDERS_PER_S": "50",
                   "RISK__RECOVER_S": "1"}  # a cleared breaker: trading again within a second, as time is compressed
MANAGER_UP = re.compile(r"order manager up: (\w+), (\d+) open at the venue, (\d+) adopted, (\d+) fill")
ORDERS_SENT = re.compile(r"orders (\d+) sent")
BOOKS_VALID = re.compile(r"books valid (\d+)/(\d+)")


@dataclass(frozen=True)
class FaultParams:
    """How big each fault is (wall seconds where a duration)."""

    stall_s: float = 2.0  # longer than the client's stale_after_s: the book must be resynced
    notice_close_s: float = 5.0  # the successor must be up before the old socket goes (OKX: seconds to minutes)
    duplicates: int = 3
    rate_limited: int = 5
    lost_acks: int = 2
    lost_ack_hold_s: float = 2.0
    redis_down_s: float = 1.0


@dataclass(frozen=True)
class SoakConfig:
    workdir: Path
    sim_hours: float = 1.0
    speed: float = 30.0
    fault_every_s: float = 60.0  # simulated seconds
    seed: int = 7
    symbols: tuple[str, ...] = ("BTC-USDT", "ETH-USDT")
    collector: bool = True
    runner: bool = True
    faults: FaultParams = field(default_factory=FaultParams)
    sample_s: float = 0.5  # wall seconds between Redis checks and memory samples
    progress_s: float = 10.0
    ready_timeout_s: float = 300.0
    config_files: tuple[str, ...] = ()  # --config files the children load too
    sim: SimConfig = field(default_factory=SimConfig)
    client: ClientConfig = field(default_factory=ClientConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)


@dataclass
class _Memory:
    """RSS samples of one process incarnation: (simulated hours since the soak began, bytes)."""

    points: list[tuple[float, int]] = field(default_factory=list)


def growth_per_sim_hour(points: list[tuple[float, int]], warmup: float = 0.2, min_points: int = 5,
                        min_span_h: float = 0.2) -> float | None:
    """Bytes per simulated hour of one incarnation, past its first `warmup` share of samples; None for
    an incarnation too short to tell growth from start-up (less than `min_span_h` simulated hours)."""
    kept = points[int(len(points) * warmup):]
    if len(kept) < min_points or kept[-1][0] - kept[0][0] < min_span_h:
        return None
    return slope(kept)


class Soak:
    def __init__(self, cfg: SoakConfig, progress: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.progress = progress or (lambda line: None)
        self.workdir = Path(cfg.workdir)
        self.oracle = BookOracle()
        self.plan: list[PlannedFault] = []
        self.fired: list[tuple[PlannedFault, float]] = []  # (fault, simulated s when fired)
        self.not_fired: list[tuple[PlannedFault, str]] = []
        self.own_faults: list[FaultKind] = []  # faults this process did itself (kills, Redis)
        self.loop_lag = LoopLag(0.05)
        self.redis_checks: Counter = Counter()
        self.redis_resumed_s: list[float] = []
        self.redis_not_resumed = 0
        self.restarts: dict[str, list[dict]] = defaultdict(list)
        self.reconciliations: list[dict] = []
        self.memory: dict[tuple[str, int], _Memory] = defaultdict(_Memory)
        self.scrapes: dict[tuple[str, int], Metrics] = {}
        self.summaries: dict[str, dict | None] = {}
        self.audit: dict | None = None
        self.errors: list[str] = []
        self.left_armed: list[str] = []
        self.valid_at_end = False
        self.probe_seen: ProbeFigures | None = None  # what the probe saw up to the end of the plan
        self.sim: SimServer | None = None
        self.redis: EmbeddedRedis | None = None
        self.probe: Probe | None = None
        self.collector: Child | None = None
        self.runner: Child | None = None
        self._reader: RedisCacheManager | None = None
        self._t0_ms = 0
        self._wall0 = 0.0
        self.deferred: Counter = Counter()  # faults that waited for their process to work
        self.crashes: dict[str, list[dict]] = defaultdict(list)
        self._reviving: set[str] = set()
        self._tasks: list[asyncio.Task] = []
        self._pending: set[asyncio.Task] = set()  # faults waiting for a process (kills, socket resets)
        self._closing = asyncio.Event()
        self._locks: dict[str, asyncio.Lock] = {}

    # ----- time ---------------------------------------------------------------------------------
    @property
    def sim_elapsed_s(self) -> float:
        return (self.sim.exchange.now_ms - self._t0_ms) / 1000 if self.sim is not None and self._t0_ms else 0.0

    async def _until_sim(self, at_s: float) -> None:
        """Until market time reaches `at_s` simulated seconds since the soak began."""
        while (left := at_s - self.sim_elapsed_s) > 0:
            await asyncio.sleep(min(0.05, left / self.cfg.speed))

    # ----- the run --------------------------------------------------------------------------------
    async def run(self) -> dict:
        cfg = self.cfg
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        try:
            await self._bring_up()
            # this process's lag from here on: building the market and starting the children is not the soak
            self._tasks.append(asyncio.get_running_loop().create_task(self.loop_lag.run(), name="soak-loop-lag"))
            self._t0_ms = self.sim.exchange.now_ms
            self._wall0 = time.monotonic()
            duration = cfg.sim_hours * 3600
            self.plan = fault_plan(duration, cfg.fault_every_s, cfg.symbols, kinds_for(cfg.runner, cfg.collector),
                                   cfg.seed)
            self.progress(f"all up; {len(self.plan)} faults over {cfg.sim_hours:g} simulated hour(s) at {cfg.speed:g}x")
            loop = asyncio.get_running_loop()
            self._tasks += [loop.create_task(self._sampler(), name="soak-sampler"),
                            loop.create_task(self._progress_loop(), name="soak-progress")]
            for f in self.plan:
                await self._until_sim(f.at_s)
                await self._fire(f)
            await self._until_sim(duration)
            await self._settle()
            await self._bring_down()
        finally:
            await self._teardown()
        return self.figures()

    async def _bring_up(self) -> None:
        cfg = self.cfg
        listed = list(dict.fromkeys([*cfg.symbols, *([MODEL_SYMBOL] if cfg.runner else [])]))
        sim_cfg = cfg.sim.model_copy(update={"speed": cfg.speed, "seed": cfg.seed, "instruments": listed,
                                             "keepalive_s": 0.5, "port": 0})
        self.sim = SimServer(sim_cfg)
        for inst in listed:
            bids, asks, seq = self.sim.feeds.published_book(inst, 1 << 30)
            self.oracle.start(inst, seq, bids, asks)
        self.sim.feeds.on_books = self.oracle.on_books
        await self.sim.start()
        endpoints = Endpoints.from_base_url(self.sim.rest_url)
        self.progress(f"simulator at {self.sim.rest_url}: {', '.join(cfg.symbols)} at {cfg.speed:g}x")
        self.redis = EmbeddedRedis(self.workdir / "redis", maxmemory=cfg.redis.maxmemory,
                                   maxmemory_policy=cfg.redis.maxmemory_policy, appendonly=True)
        await asyncio.to_thread(self.redis.start)
        self._reader = RedisCacheManager.from_config(cfg.redis, self.redis.url)  # reads only: never started
        client = cfg.client.model_copy(update={**CLIENT_TIMINGS, **UNCHECKED_CLOCK})  # the market runs at `speed`
        self.probe = Probe(endpoints, client, list(cfg.symbols), self.oracle, clock=lambda: self.sim_elapsed_s)
        await self.probe.start()
        env = self._env()
        if cfg.collector:
            self.collector = Child("collector", ["collect", "--duration", "1e9", "--out",
                                                 str(self.workdir / "recordings"), "--json",
                                                 "--progress-interval", "1", *self._config_args()],
                                   env, self.workdir / "logs", ready=_collector_ready)
            await self.collector.start()
        if cfg.runner:
            model_uri, mlflow_env = await self._model()
            self.runner = Child("runner", ["live", "--sim-url", self.sim.rest_url, "--model", model_uri,
                                           "--state-dir", str(self.workdir / "state"), "--json", *self._config_args()],
                                {**env, **mlflow_env}, self.workdir / "logs", ready=_runner_ready(self))
            await self.runner.start()
        for child in self._children():
            self.progress(f"waiting for the {child.name} (pid {child.pid}) to work ...")
            await child.wait_ready(cfg.ready_timeout_s)

    def _children(self) -> list[Child]:
        return [c for c in (self.collector, self.runner) if c is not None]

    def _config_args(self) -> list[str]:
        return [a for f in self.cfg.config_files for a in ("--config", f)]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HFTLAB")}
        env.update({
            "HFTLAB__SYSTEM__DATA_DIR": str(self.workdir / "var"), "HFTLAB__SYSTEM__LOG_LEVEL": "WARNING",
            "HFTLAB__VENUE__NAME": "sim", "HFTLAB__VENUE__REST_URL": self.sim.rest_url,
            **{f"HFTLAB__VENUE__WS_{r.upper()}_URL": self.sim.ws_url(r) for r in ("public", "business", "private")},
            "HFTLAB__TRADING__SYMBOLS": "[" + ",".join(self.cfg.symbols) + "]",
            "HFTLAB__REDIS__URL": f"redis://{self.redis.host}:{self.redis.port}/0",
            "HFTLAB_REDIS_PASSWORD": self.redis.password, "HFTLAB__MONITOR__PROMETHEUS_PORT": "0",
            "HFTLAB__COLLECT__FLUSH_INTERVAL_S": "1",
            **{f"HFTLAB__CLIENT__{k.upper()}": str(v) for k, v in CLIENT_TIMINGS.items()},
        })
        return env

    async def _model(self) -> tuple[str, dict[str, str]]:
        """The momentum model, registered in a store of the soak's own by a process of its own (torch
        and MLflow stay out of this one: its memory is measured, and it forks the children)."""
        self.progress("registering the momentum model the runner trades ...")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hftlab.soak.model", str(self.workdir / "mlflow"), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={k: v for k, v in os.environ.items() if not k.startswith("HFTLAB")})
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"the model could not be registered:\n{err.decode(errors='replace')[-3000:]}")
        m = json.loads(out.decode().strip().splitlines()[-1])
        env = {"HFTLAB__MLFLOW__TRACKING_URI": m["tracking_uri"],
               "HFTLAB__MLFLOW__ARTIFACT_LOCATION": m["artifact_location"],
               "HFTLAB__MLFLOW__EXPERIMENT": m["experiment"],
               **{f"HFTLAB__{k}": v for k, v in RUNNER_SETTINGS.items()}}
        return f"models:/{m['model_name']}/{m['version']}", env

    # ----- faults ---------------------------------------------------------------------------------
    async def _fire(self, f: PlannedFault) -> None:
        """Inject `f` now, or, for a fault aimed at a process, once that process is at work: a task of its
        own waits for it, so that the rest of the plan keeps its times."""
        p = self.cfg.faults
        fi = self.sim.faults
        k = f.kind
        match k:
            case FaultKind.DROP:
                await self._sockets("public")
                fi.drop("public", "abort")
            case FaultKind.NOTICE:
                await self._sockets("public")
                fi.notice("public", close_after_s=p.notice_close_s)
            case FaultKind.GAP:
                fi.skip_seq(f.inst_id)
            case FaultKind.STALL:
                fi.stall(None, f.inst_id, p.stall_s)
            case FaultKind.DUPLICATE:
                fi.duplicate("books", f.inst_id, count=p.duplicates)
            case FaultKind.REORDER:
                fi.reorder("books", f.inst_id)
            case FaultKind.CORRUPT_CHECKSUM:
                fi.corrupt_checksum(f.inst_id)
            case FaultKind.GARBLE:
                fi.garble(f.channel or "books", f.inst_id)
            case FaultKind.REDIS_KILL:
                await self._redis_outage()
            case _:  # the order path, the private socket, the processes
                child = self.collector if k is FaultKind.KILL_COLLECTOR else self.runner
                if not child.ready.is_set():
                    self.deferred[k.value] += 1
                self._spawn(self._at_work(child, f), f"soak-{k.value}")
                return
        self.fired.append((f, round(self.sim_elapsed_s, 1)))

    async def _at_work(self, child: Child, f: PlannedFault) -> None:
        """`f` once `child` works, holding it (no kill meanwhile) until the fault is spent: an order-path
        fault armed on the venue is taken by the runner's next requests, a trading runner's, never a
        starting one's."""
        p = self.cfg.faults
        fi = self.sim.faults
        async with self._at_work_lock(child) as working:
            if not working:
                self.not_fired.append((f, f"the {child.name} never worked again"))
                return
            match f.kind:
                case FaultKind.RATE_LIMIT:
                    fi.rate_limit("any", count=p.rate_limited)
                    await self._taken("rate_limit")
                case FaultKind.LOST_ACK:
                    fi.drop_ack("any", count=p.lost_acks, hold_s=p.lost_ack_hold_s)
                    await self._taken("drop_ack")
                case FaultKind.ACK_50004:
                    fi.answer_50004("any", count=p.lost_acks)
                    await self._taken("answer_50004")
                case FaultKind.PRIVATE_LOSS:
                    await self._sockets("private")
                    fi.drop("private", "abort")
                case _:
                    await self._kill(child)
            self.fired.append((f, round(self.sim_elapsed_s, 1)))

    async def _taken(self, kind: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while kind in self.sim.faults.armed() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def _sockets(self, role: str, timeout_s: float = 30.0) -> None:
        """Until the venue has a socket of `role` open (a reset must find one: the last one may still be
        reconnecting)."""
        deadline = time.monotonic() + timeout_s
        while not self.sim.stats.by_role.get(role) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def _ready(self, child: Child) -> bool:
        """Until `child` works (bounded by `ready_timeout_s`): whether it does."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.ready.wait(), self.cfg.ready_timeout_s)
        return child.ready.is_set()

    def _lock(self, child: Child) -> asyncio.Lock:
        """One process fault at a time per process (a kill waits for the previous one's restart)."""
        return self._locks.setdefault(child.name, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def _at_work_lock(self, child: Child):
        """The process's lock, taken once it works (waiting for that outside the lock, which its restart
        after a crash needs); yields whether it works (False: not within `ready_timeout_s`)."""
        deadline = time.monotonic() + self.cfg.ready_timeout_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.ready.wait(), max(0.0, deadline - time.monotonic()))
            async with self._lock(child):
                if child.ready.is_set() and child.alive:
                    yield True
                    return
                if time.monotonic() >= deadline:
                    yield False
                    return
            await asyncio.sleep(0.05)

    async def _kill(self, child: Child) -> None:
        """kill -9 at this point of its work, start it again, and wait until it works."""
        await self._scrape(child)
        killed = time.monotonic()
        child.kill9()
        await child.reap()
        self.own_faults.append(FaultKind.KILL_COLLECTOR if child is self.collector else FaultKind.KILL_RUNNER)
        await self._restart(child, "kill -9", killed)

    async def _restart(self, child: Child, after: str, down_since: float) -> None:
        """Start `child` again and wait until it works; its downtime is recorded (a failure to come
        back is an error of the run)."""
        await child.start()
        try:
            await child.wait_ready(self.cfg.ready_timeout_s)
        except RuntimeError as e:
            self.errors.append(str(e))
            return
        self.restarts[child.name].append({"incarnation": child.incarnation, "after": after,
                                          "down_s": round(time.monotonic() - down_since, 3)})

    async def _redis_outage(self) -> None:
        """kill -9 of redis-server, `redis_down_s` of outage, the same server back on its port; then
        until the collector's writes are seen again (its top of book moves)."""
        before = await self._book_marks()
        await asyncio.to_thread(self.redis.kill)  # it waits for the process: not on the loop
        self.own_faults.append(FaultKind.REDIS_KILL)
        await asyncio.sleep(self.cfg.faults.redis_down_s)  # the outage itself
        await asyncio.to_thread(self.redis.start)
        restarted = time.monotonic()
        if self.collector is None:
            return
        deadline = restarted + 60.0
        while time.monotonic() < deadline:
            now = await self._book_marks()
            if now and any(now.get(i) != before.get(i) for i in now):
                self.redis_resumed_s.append(time.monotonic() - restarted)
                return
            await asyncio.sleep(0.05)
        self.redis_not_resumed += 1

    async def _book_marks(self) -> dict[str, str]:
        out = {}
        for inst in self.cfg.symbols:
            with contextlib.suppress(OSError, TimeoutError, RedisError):
                top = await self._reader.get_top_of_book(inst)
                out[inst] = top.get("seqId", "")
        return out

    # ----- watching -------------------------------------------------------------------------------
    async def _sampler(self) -> None:
        me = psutil.Process()
        last_scrape = 0.0
        while not await self._closing_within(self.cfg.sample_s):
            await self._check_redis_books()
            hours = self.sim_elapsed_s / 3600
            self.memory[("soak", 1)].points.append((hours, me.memory_info().rss))
            for child in self._children():
                if child.pid is not None and child.ready.is_set():
                    with contextlib.suppress(psutil.Error):
                        rss = psutil.Process(child.pid).memory_info().rss
                        self.memory[(child.name, child.incarnation)].points.append((hours, rss))
            for child in self._children():
                if child.crashed and child.name not in self._reviving:
                    self._spawn(self._revive(child), f"soak-revive-{child.name}")
            if time.monotonic() - last_scrape > 2.0:
                last_scrape = time.monotonic()
                for child in self._children():
                    await self._scrape(child)

    async def _revive(self, child: Child) -> None:
        """A process that exited on its own (a crash: a finding) is started again, as a supervisor would."""
        self._reviving.add(child.name)
        try:
            async with self._lock(child):
                if not child.crashed:  # restarted meanwhile by whoever held the lock
                    return
                await child.reap()
                self.crashes[child.name].append({"incarnation": child.incarnation, "exit_code": child.proc.returncode,
                                                 "at_sim_s": round(self.sim_elapsed_s, 1),
                                                 "last_lines": list(child.tail)[-6:]})
                self.progress(f"the {child.name} exited by itself (code {child.proc.returncode}): starting it again")
                await self._restart(child, "crash", time.monotonic())
        finally:
            self._reviving.discard(child.name)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _scrape(self, child: Child) -> None:
        m = await child.scrape()
        if m is not None:
            self.scrapes[(child.name, child.incarnation)] = m

    async def _check_redis_books(self) -> None:
        """The collector's top of book as Redis readers see it, against the venue at its seqId."""
        for inst in self.cfg.symbols:
            try:
                top = await self._reader.get_top_of_book(inst)
            except (OSError, TimeoutError, RedisError):  # Redis is down (a fault): nothing is served meanwhile
                self.redis_checks["unreachable"] += 1
                continue
            if not top:
                continue
            if top.get("valid") != "1":
                self.redis_checks["invalid_flagged"] += 1
                continue
            verdict = self.oracle.verify_top(inst, int(top["seqId"]), (top["bidPx"], top["bidSz"]),
                                             (top["askPx"], top["askSz"]))
            self.redis_checks[verdict.value] += 1
            if verdict is Verdict.MISMATCH:
                log.error("soak: Redis serves %s as valid at seqId %s unlike the venue's book", inst, top["seqId"])

    async def _progress_loop(self) -> None:
        while not await self._closing_within(self.cfg.progress_s):
            self.progress(self.progress_line())

    async def _closing_within(self, seconds: float) -> bool:
        """Whether the soak is closing, after waiting `seconds` for it. The loops end on this, not on a
        cancel, which a Redis read in flight may swallow (redis-py turns it into a connection error)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self._closing.is_set()

    def progress_line(self) -> str:
        s = self.sim_elapsed_s
        wall = time.monotonic() - self._wall0
        pf = self.probe.figures
        rec = spread(x * 1e3 for x in pf.recover_s)
        procs = " | ".join(f"{c.name} {'up' if c.ready.is_set() else 'STARTING'} (start {c.incarnation})"
                           for c in self._children())
        last = self.fired[-1][0] if self.fired else None
        return (f"[{wall:7.1f}s] simulated {_hms(s)} of {_hms(self.cfg.sim_hours * 3600)} (x{s / max(wall, 1e-9):.1f}) | "
                f"faults {len(self.fired)}/{len(self.plan)}"
                + (f" (last {last.kind.value}{' ' + last.inst_id if last.inst_id else ''})" if last else "")
                + f" | probe: invalid served {pf.invalid_served}, recovered {pf.recoveries} (p50 {rec['p50']} ms), "
                  f"trades lost unexplained {pf.trades_lost.get('unexplained', 0)} | "
                  f"redis books: {self.redis_checks['match']} ok, {self.redis_checks['mismatch']} invalid | {procs}")

    # ----- the end --------------------------------------------------------------------------------
    async def _settle(self) -> None:
        """After the plan: every fault fired and taken, every process working, the probe's books valid
        (each a bounded wait; what is left undone shows in the figures)."""
        if self._pending:
            self.progress(f"waiting for {', '.join(sorted(t.get_name() for t in self._pending))} ...")
            _done, late = await asyncio.wait(set(self._pending), timeout=2 * self.cfg.ready_timeout_s)
            for t in late:  # nothing may act on a process while it is being stopped
                t.cancel()
                self.errors.append(f"{t.get_name()} had not finished when the soak ended")
        for child in self._children():
            if not child.ready.is_set():
                self.progress(f"waiting for the {child.name} to work again ...")
                await self._ready(child)
        deadline = time.monotonic() + 120.0
        if self.sim.faults.armed() or not self.probe.all_valid():
            self.progress(f"waiting for the faults still armed ({', '.join(self.sim.faults.armed()) or 'none'}) "
                          "to be taken and the probe's books to be valid ...")
        while (self.sim.faults.armed() or not self.probe.all_valid()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.left_armed = self.sim.faults.armed()
        self.valid_at_end = self.probe.all_valid()
        # The probe's watch ends here: stopping the children loads the machine and closing the probe drops its
        # sockets, and a book invalidated then has no time left to recover; that is not a fault of the soak's.
        self.probe_seen = copy.deepcopy(self.probe.figures)

    async def _bring_down(self) -> None:
        for child in (self.runner, self.collector):
            if child is not None:
                await self._scrape(child)
                self.progress(f"stopping the {child.name} (SIGTERM) ...")
                self.summaries[child.name] = await child.stop()
        if self.runner is not None:
            self.audit = self._audit().as_dict()

    def _audit(self):
        ex = self.sim.exchange
        account = SIM_CREDENTIALS.api_key.get_secret_value()
        tag = "hftlab"  # the runner's execution.tag (default)
        venue = [VenueOrder(o.cl_ord_id, str(o.ord_id), o.state.value) for o in ex.orders.values()
                 if o.account == account and o.tag == tag]
        fills = [(f["instId"], f["tradeId"]) for f in ex.fills(account) if f.get("tag") == tag]
        journal = Journal(self.workdir / "state" / "journal.sqlite")
        try:
            return audit(venue, fills, journal.order_states(), [(f.inst_id, f.trade_id) for f in journal.fills()])
        finally:
            journal.close()

    async def _teardown(self) -> None:
        self._closing.set()
        tasks = [*self._tasks, *self._pending]
        for t in tasks:
            t.cancel()
        if tasks:
            _done, stuck = await asyncio.wait(tasks, timeout=10.0)
            if stuck:
                log.error("soak: tasks still running at teardown: %s", ", ".join(t.get_name() for t in stuck))
        for child in self._children():
            await child.close()
        if self.probe is not None:
            await self.probe.close()
        if self._reader is not None:
            await self._reader.close()
        if self.redis is not None:
            await asyncio.to_thread(self.redis.stop)
        if self.sim is not None:
            await self.sim.stop()

    # ----- figures --------------------------------------------------------------------------------
    def figures(self) -> dict:
        cfg = self.cfg
        wall = time.monotonic() - self._wall0 if self._wall0 else 0.0
        sim_s = self.sim_elapsed_s
        return {
            "config": {"sim_hours": cfg.sim_hours, "speed": cfg.speed, "fault_every_sim_s": cfg.fault_every_s,
                       "seed": cfg.seed, "symbols": list(cfg.symbols), "collector": cfg.collector,
                       "runner": cfg.runner},
            "simulated_s": round(sim_s, 1), "wall_s": round(wall, 1),
            "achieved_speed_x": round(sim_s / wall, 2) if wall else None,
            "faults": self._fault_figures(),
            "books": self._book_figures(),
            "frames_lost": self._frame_figures(),
            "orders": self.audit,
            "processes": self._process_figures(),
            "redis": self._redis_figures(),
            "memory": self._memory_figures(),
            "event_loop_lag_ms": self._lag_figures(),
            "errors": self.errors,
        }

    def _fault_figures(self) -> dict:
        planned = Counter(f.kind.value for f in self.plan)
        fired = Counter(f.kind.value for f, _ in self.fired)
        took = Counter(k.value for k in (*(sim_kind(r) for r in self.sim.fault_log if _hit(r)), *self.own_faults)
                       if k)
        out = {k.value: {"planned": planned[k.value], "fired": fired[k.value], "took_effect": took[k.value]}
               for k in FaultKind if planned[k.value] or took[k.value]}
        return {"by_kind": out, "planned": len(self.plan), "fired": len(self.fired),
                "waited_for_their_process": dict(self.deferred), "left_armed": self.left_armed,
                "not_fired": [{"kind": f.kind.value, "at_s": f.at_s, "why": why} for f, why in self.not_fired]}

    @property
    def _probe_figures(self) -> ProbeFigures:
        """What the probe saw up to the end of the plan (all it saw, where the run never got there)."""
        return self.probe_seen or self.probe.figures

    def _book_figures(self) -> dict:
        pf = self._probe_figures.as_dict()
        return {"invalid_served": pf["invalid_served"] + self.redis_checks["mismatch"],
                "valid_at_end": self.valid_at_end,
                "probe": {k: pf[k] for k in ("books_verified", "invalid_served", "unverifiable", "invalidations",
                                             "recoveries", "recover_ms")},
                "redis": {"checked": self.redis_checks["match"] + self.redis_checks["mismatch"],
                          "invalid_served": self.redis_checks["mismatch"],
                          "unverifiable": self.redis_checks["unknown"],
                          "flagged_invalid": self.redis_checks["invalid_flagged"],
                          "unreachable": self.redis_checks["unreachable"]},
                "collector": self._summed("collector", ("hftlab_book_breaks_total", "hftlab_book_resyncs_total",
                                                        "hftlab_book_checksum_mismatches_total",
                                                        "hftlab_okx_book_stale_resyncs_total",
                                                        "hftlab_okx_books_invalidated_on_loss_total"))}

    def _frame_figures(self) -> dict:
        pf = self._probe_figures
        lost = dict(pf.trades_lost)
        return {"unexplained": lost.pop("unexplained", 0), "by_documented_policy": lost, "gaps": pf.gaps,
                "trade_duplicates_delivered": pf.trade_duplicates, "trades_received": pf.trades,
                "collector_queue_dropped": self._summed("collector", ("hftlab_okx_queue_dropped_total",)).get(
                    "hftlab_okx_queue_dropped_total", 0)}

    def _summed(self, name: str, series: tuple[str, ...]) -> dict[str, float]:
        out: dict[str, float] = {}
        for (who, _n), m in self.scrapes.items():
            if who == name:
                for s in series:
                    out[s] = out.get(s, 0.0) + m.total(s)
        return {k: int(v) for k, v in out.items()}

    def _process_figures(self) -> dict:
        out = {}
        for child in self._children():
            s = self.summaries.get(child.name)
            kind = FaultKind.KILL_RUNNER if child is self.runner else FaultKind.KILL_COLLECTOR
            fig = {"kills": sum(1 for k in self.own_faults if k is kind),
                   "crashes": self.crashes.get(child.name, []), "restarts": self.restarts.get(child.name, []),
                   "down_s": spread(r["down_s"] for r in self.restarts.get(child.name, [])),
                   "stopped_cleanly": s is not None}
            if child is self.runner:
                fig["reconciliations"] = self.reconciliations
                fig.update(self._summed("runner", ("hftlab_execution_unknown_orders_total",
                                                   "hftlab_execution_unknown_resolved_total",
                                                   "hftlab_execution_venue_rate_limited_total",
                                                   "hftlab_execution_stream_drops_total",
                                                   "hftlab_execution_adopted_orders_total",
                                                   "hftlab_execution_fills_recovered_total")))
                if s is not None:
                    fig["last_session"] = {k: s.get(k) for k in ("orders_submitted", "fills", "duplicate_orders",
                                                                 "open_orders_match_venue", "positions_match_venue",
                                                                 "trading_state", "errors")}
            out[child.name] = fig
        return out

    def _redis_figures(self) -> dict:
        per = {name: self._summed(name, ("hftlab_redis_events_dropped_total", "hftlab_redis_outages_total",
                                         "hftlab_redis_events_written_total")) for name in ("collector", "runner")}
        return {"kills": sum(1 for k in self.own_faults if k is FaultKind.REDIS_KILL),
                "resumed": len(self.redis_resumed_s), "not_resumed": self.redis_not_resumed,
                "resume_ms": spread(s * 1e3 for s in self.redis_resumed_s),
                "events_dropped": sum(p.get("hftlab_redis_events_dropped_total", 0) for p in per.values()),
                "by_process": per}

    def _memory_figures(self) -> dict:
        out: dict[str, dict] = {}
        for (name, n), mem in sorted(self.memory.items()):
            g = growth_per_sim_hour(mem.points)
            entry = out.setdefault(name, {"incarnations": 0, "rss_mb_last": None, "growth_mb_per_sim_hour": None})
            entry["incarnations"] += 1
            if mem.points:
                entry["rss_mb_last"] = round(mem.points[-1][1] / 2**20, 1)
            if g is not None:
                span = mem.points[-1][0] - mem.points[0][0]
                # the longest-lived incarnation speaks for the process
                if span >= entry.get("_span", 0.0):
                    entry["_span"] = span
                    entry["growth_mb_per_sim_hour"] = round(g / 2**20, 2)
                    entry["over_sim_hours"] = round(span, 3)
        for entry in out.values():
            entry.pop("_span", None)
        return out

    def _lag_figures(self) -> dict:
        """Per process: the worst lag (a child's since it started, start-up included: the model's load,
        the journal's recovery) and the bucket that holds its 99th percentile, worst incarnation first."""
        out = {"soak": {"max_ms": round(self.loop_lag.stats.max_s * 1e3, 1),
                        "p99_ms_at_most": _ms(self.loop_lag.stats.lag.quantile(0.99)
                                              if self.loop_lag.stats.lag.count else None)}}
        for child in self._children():
            mine = [m for (who, _n), m in self.scrapes.items() if who == child.name]
            p99 = [q for m in mine if (q := m.bucket_quantile("hftlab_event_loop_lag_seconds", 0.99)) is not None]
            out[child.name] = {"max_ms": round(max(m.total("hftlab_event_loop_lag_max_seconds") for m in mine) * 1e3, 1)
                               if mine else None, "p99_ms_at_most": _ms(max(p99)) if p99 else None}
        return out


def sim_kind(rec: FaultRecord) -> FaultKind | None:
    """The soak's kind of a fault the simulator logged."""
    if rec.kind == "drop":
        return FaultKind.PRIVATE_LOSS if rec.detail.get("role") == "private" else FaultKind.DROP
    return _SIM_KINDS.get(rec.kind)


_SIM_KINDS = {"notice": FaultKind.NOTICE, "skip_seq": FaultKind.GAP, "stall": FaultKind.STALL,
              "duplicate": FaultKind.DUPLICATE, "reorder": FaultKind.REORDER,
              "corrupt_checksum": FaultKind.CORRUPT_CHECKSUM, "garble": FaultKind.GARBLE,
              "rate_limit": FaultKind.RATE_LIMIT, "drop_ack": FaultKind.LOST_ACK, "answer_50004": FaultKind.ACK_50004}


def _hit(rec: FaultRecord) -> bool:
    """False for a socket fault that found no socket to act on."""
    return rec.kind not in ("drop", "notice") or bool(rec.detail.get("conn_ids"))


def _collector_ready(line: str) -> bool:
    m = BOOKS_VALID.search(line)
    return m is not None and m.group(1) == m.group(2) != "0"


def _runner_ready(soak: Soak) -> Callable[[str], bool]:
    """Trading: a progress line with an order sent; on the way, the order manager's reconciliation."""

    def ready(line: str) -> bool:
        m = MANAGER_UP.search(line)
        if m:
            soak.reconciliations.append({"incarnation": soak.runner.incarnation, "outcome": m.group(1),
                                         "venue_open": int(m.group(2)), "adopted": int(m.group(3)),
                                         "fills_recovered": int(m.group(4))})
        m = ORDERS_SENT.search(line)
        return m is not None and int(m.group(1)) > 0

    return ready


def _ms(s: float | None) -> float | None:
    return None if s is None else round(s * 1e3, 3)


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"

