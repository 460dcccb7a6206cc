"""SimServer: the local OKX v5 venue on one loopback port (REST `/api/v5/...` and WebSocket `/ws/v5/...`).

    async with SimServer(settings.venue.sim) as sim:
        sim.rest_url, sim.ws_url("public")       # http://127.0.0.1:PORT, ws://127.0.0.1:PORT/ws/v5/public
        sim.faults.skip_seq("BTC-USDT")         # misbehave on command; sim.fault_log says what happened

A feed task advances the exchange every `book_interval_ms` of market time (market time = speed x
wall time) and publishes what changed; a watchdog enforces the 30 s idle rule and lapses
Cancel-All-After timers (on the wall clock); the fault scheduler and the replay (when given files)
run beside them. `stop()` ends every task it started. With `tls` the server makes a CA and a
certificate at start-up and serves https/wss (`sim.ca_path`: the CA to trust).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from aiohttp import web

from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.sim import codes, tls
from hftlab.sim.clock import MarketClock
from hftlab.sim.config import SimConfig
from hftlab.sim.deadman import CancelAllAfter
from hftlab.sim.faults import FaultInjector, FaultRecord
from hftlab.sim.feeds import MarketFeeds
from hftlab.sim.gate import Keyring
from hftlab.sim.hub import Hub, SimStats
from hftlab.sim.instruments import Instrument, default_instruments
from hftlab.sim.market import BARS
from hftlab.sim.private import PrivateFeeds
from hftlab.sim.replay import Replayer, load_source
from hftlab.sim.rest import RestApi
from hftlab.sim.scenario import FaultSpec, Scenario, load_scenario
from hftlab.sim.trading import RateWindow, Trading
from hftlab.sim.ws import WsGateway

log = logging.getLogger("hftlab.sim")

STEP_BUDGET_S = 0.02  # at most this long stepping the market before the sockets get a turn
MAX_LAG_WALL_MS = 1000.0  # further behind than this (in wall time) and market time is slowed down
CAA_PERIOD_S = 0.25  # how often lapsed Cancel-All-After timers are looked for (OKX: "up to a few seconds")


class _Market:
    """Which (channel, instId) the venue serves and what a new subscriber gets first: replayed
    recordings take precedence over the simulated market for the keys they contain."""

    def __init__(self, feeds: MarketFeeds, replayer: Replayer | None):
        self.feeds = feeds
        self.replayer = replayer

    def serves(self, channel: str, inst_id: str) -> bool:
        return (self.replayer is not None and self.replayer.serves(channel, inst_id)) or \
            self.feeds.serves(channel, inst_id)

    def initial(self, channel: str, inst_id: str) -> bytes | None:
        if self.replayer is not None and self.replayer.serves(channel, inst_id):
            return self.replayer.initial(channel, inst_id)
        return self.feeds.initial(channel, inst_id)


class _Venue:
    """The venue's own actions on accounts, each followed by the private pushes it causes."""

    def __init__(self, exchange, private: PrivateFeeds):
        self.exchange = exchange
        self.private = private

    def jump(self, inst_id: str, fraction: float) -> float:
        return self.exchange.jump(inst_id, fraction)

    def liquidate(self, inst_id: str, fraction: float) -> list[dict[str, str]]:
        done = self.exchange.liquidate(inst_id, fraction)
        self.private.flush()
        return done

    def cancel_pending(self, account: str, tag: str) -> list[str]:
        done = self.exchange.cancel_pending(account, tag)
        self.private.flush()
        return done


def listed_instruments(cfg: SimConfig) -> list[Instrument]:
    """The default instruments (those of `instruments` when given), those named in `null_inst_id_code`
    listed without an instIdCode."""
    return [dataclasses.replace(i, inst_id_code=None) if i.inst_id in cfg.null_inst_id_code else i
            for i in default_instruments() if cfg.instruments is None or i.inst_id in cfg.instruments]


def _injector(faults, cfg: SimConfig) -> FaultInjector:
    if isinstance(faults, FaultInjector):
        return faults
    if faults is None:
        faults = load_scenario(cfg.scenario) if cfg.scenario else Scenario()
    if not isinstance(faults, Scenario):
        faults = Scenario(faults=tuple(faults))
    return FaultInjector(faults, seed=cfg.seed)


class SimServer:
    def __init__(self, cfg: SimConfig | None = None, *, exchange=None,
                 credentials: Credentials | Iterable[Credentials] = SIM_CREDENTIALS,
                 faults: FaultInjector | Scenario | Sequence[FaultSpec] | None = None,
                 replay: Sequence[Path | str] = (), idle_timeout_s: float | None = None,
                 keepalive_s: float | None = None, ws_compress: bool | None = None, start_ms: int | None = None):
        # keyword arguments override the config (tests shorten the 30 s idle rule, for instance)
        self.cfg = cfg = cfg or SimConfig()
        idle_timeout_s = cfg.idle_timeout_s if idle_timeout_s is None else idle_timeout_s
        keepalive_s = cfg.keepalive_s if keepalive_s is None else keepalive_s
        ws_compress = cfg.ws_compress if ws_compress is None else ws_compress
        start_ms = cfg.start_ms if start_ms is None else start_ms
        if exchange is None:
            from hftlab.sim.exchange import SimExchange

            interval = cfg.book_interval_ms
            start = start_ms if start_ms is not None else int(time.time() * 1000) // interval * interval
            exchange = SimExchange(listed_instruments(cfg), seed=cfg.seed, signal_strength=cfg.signal_strength,
                                   temporal_strength=cfg.temporal_strength,
                                   maker_fee=cfg.maker_fee, taker_fee=cfg.taker_fee, start_ms=start,
                                   amend_latency_ms=cfg.amend_latency_ms)
        self.exchange = exchange
        self.faults = _injector(faults, cfg)
        self.keyring = Keyring(credentials)
        self.stats = SimStats()
        self.hub = Hub(self.stats, self.faults)
        sources = [load_source(p) for p in replay]
        self.replayer = Replayer(sources, self.hub, cfg.speed) if sources else None
        self.feeds = MarketFeeds(exchange, self.hub, self.faults, seed=cfg.seed, legacy_checksum=cfg.legacy_checksum,
                                 keepalive_s=keepalive_s, candle_channels=[f"candle{bar}" for bar in BARS],
                                 external_keys=self.replayer.keys if self.replayer else ())
        self.private = PrivateFeeds(exchange, self.keyring.accounts, vip_level=cfg.vip_level)
        self.ops = Trading(exchange, on_change=self.private.flush,
                           account_limits=RateWindow(limit=cfg.sub_account_rate_limit))
        self.venue = _Venue(exchange, self.private)
        self.deadman = CancelAllAfter()
        self.ws = WsGateway(hub=self.hub, privates=self.private, ops=self.ops, keyring=self.keyring,
                            faults=self.faults, stats=self.stats, market=_Market(self.feeds, self.replayer),
                            ack_latency_s=cfg.ack_latency_ms / 1000.0, md_latency_s=cfg.md_latency_ms / 1000.0,
                            idle_timeout_s=idle_timeout_s, compress=ws_compress)
        self.rest = RestApi(exchange=exchange, ops=self.ops, keyring=self.keyring, faults=self.faults,
                            stats=self.stats, published_book=self.feeds.published_book,
                            replay=self.replayer, ack_latency_s=cfg.ack_latency_ms / 1000.0, deadman=self.deadman)
        self.faults.bind(self.ws, self.venue)
        self.clock: MarketClock | None = None
        self.port: int | None = None
        self.tls_files: tls.TlsFiles | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: Supervisor | None = None

    # --- addresses ---------------------------------------------------------------------------------
    @property
    def rest_url(self) -> str:
        self._require_started()
        return f"{'https' if self.tls_files else 'http'}://{self.cfg.host}:{self.port}"

    def ws_url(self, role: str) -> str:
        self._require_started()
        if role not in codes.ROLES:
            raise ValueError(f"role must be one of {codes.ROLES}, got {role!r}")
        return f"{'wss' if self.tls_files else 'ws'}://{self.cfg.host}:{self.port}/ws/v5/{role}"

    @property
    def ca_path(self) -> Path | None:
        """The CA certificate (PEM) clients trust to reach a TLS server; None without TLS."""
        return self.tls_files.ca if self.tls_files else None

    def client_ssl(self) -> ssl.SSLContext | None:
        """A client SSL context trusting this server (None without TLS)."""
        return tls.client_context(self.tls_files) if self.tls_files else None

    @property
    def fault_log(self) -> list[FaultRecord]:
        return self.faults.log

    def _require_started(self) -> None:
        if self.port is None:
            raise RuntimeError("SimServer is not started: await start() or use `async with`")

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("SimServer already started")
        app = web.Application(client_max_size=1 << 20)
        app.router.add_routes(self.rest.routes())
        app.router.add_get("/ws/v5/{role}", self.ws.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        ssl_context = None
        if self.cfg.tls:
            self.tls_files = tls.make_certificates(Path(tempfile.mkdtemp(prefix="hftlab-sim-tls-")), self.cfg.host)
            ssl_context = tls.server_context(self.tls_files)
        site = web.TCPSite(self._runner, self.cfg.host, self.cfg.port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as e:
            await self._runner.cleanup()
            self._runner = None
            self._remove_tls()
            raise OSError(e.errno, f"cannot listen on {self.cfg.host}:{self.cfg.port}: {e.strerror} "
                                   "(use port 0 for a free port)") from None
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked for
        self.clock = MarketClock(self.exchange.now_ms, self.cfg.speed)
        # supervised (core.tasks): the market and the watchdog restart if they fail; the fault
        # scheduler and a replay are one pass each, logged and counted if they fail
        tasks = self._tasks = Supervisor("sim", self.stats.task_failures)
        tasks.spawn(self._feed_loop, "feed", OnFailure.RESTART, name="sim-feed")
        tasks.spawn(self._watchdog, "watchdog", OnFailure.RESTART, name="sim-watchdog")
        tasks.spawn(self.faults.run(), "faults", name="sim-faults")
        if self.replayer is not None:
            tasks.spawn(self.replayer.run(), "replay", name="sim-replay")
        log.info("sim listening on %s (speed %gx, %d instruments%s)", self.rest_url, self.cfg.speed,
                 len(self.exchange.instruments), f", replaying {len(self.replayer.sources)} file(s)"
                 if self.replayer else "")

    async def stop(self) -> None:
        if self._tasks is not None:
            await self._tasks.close()
            self._tasks = None
        await self.ws.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._remove_tls()

    def _remove_tls(self) -> None:
        if self.tls_files is not None:
            shutil.rmtree(self.tls_files.ca.parent, ignore_errors=True)

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # --- background tasks ---------------------------------------------------------------------------
    async def _feed_loop(self) -> None:
        interval = self.cfg.book_interval_ms
        clock = self.clock
        next_t = self.exchange.now_ms + interval
        warned = 0.0
        while True:
            started = time.monotonic()
            now_t = clock.now_ms()
            while next_t <= now_t and time.monotonic() - started < STEP_BUDGET_S:
                try:
                    self.exchange.advance_to(next_t)
                    self.feeds.step(next_t)
                    self.private.flush()
                except Exception:  # a bug in one step must not end the market
                    log.exception("sim step at %d failed", next_t)
                next_t += interval
                self.stats.steps += 1
            behind_ms = clock.now_ms() - next_t
            self.stats.lag_ms = max(0.0, float(behind_ms))
            if behind_ms / self.cfg.speed > MAX_LAG_WALL_MS:
                clock.rebase(next_t)  # cannot keep up: slow market time down rather than pile up a backlog
                self.stats.slowdowns += 1
                if time.monotonic() - warned > 10.0:
                    warned = time.monotonic()
                    log.warning("sim cannot keep up with speed %gx: market time slowed down (%d times so far)",
                                self.cfg.speed, self.stats.slowdowns)
            await asyncio.sleep(clock.wall_delay_s(next_t))  # 0 when behind: still lets sockets run

    async def _watchdog(self) -> None:
        period = min(CAA_PERIOD_S, self.ws.idle_timeout_s / 10.0)
        while True:
            await asyncio.sleep(period)
            try:
                self.ws.watchdog_tick(time.monotonic())
                self.lapse_cancel_all_after(time.time())
            except Exception:
                log.exception("sim watchdog failed")

    def lapse_cancel_all_after(self, now: float) -> None:
        """Cancel the pending orders of every Cancel-All-After timer that lapsed by `now` (wall s)."""
        for account, tag in self.deadman.due(now):
            cancelled = self.venue.cancel_pending(account, tag)
            log.info("cancel-all-after lapsed for %s%s: %d order(s) cancelled", account,
                     f" tag {tag}" if tag else "", len(cancelled))
