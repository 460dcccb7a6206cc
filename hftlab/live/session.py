"""Bringing a live session's world up, in order, and down again: the venue, the model, the
instruments, the cache, market data, the execution venue, the risk engine, the portfolio and the
order manager (recovered and reconciled before the first market event is acted on).

    async with open_session(cfg, progress=print) as session:
        summary = await LiveRunner(session, ...).run()

Order matters: the risk engine's persisted state (HALTED, the high-water mark, the day's open) is
read before the portfolio is built on it; the venue's balances are recorded on a state directory's
first session before any order; the order manager starts (new clOrdId epoch, journal recovery,
Cancel-All-After armed, a full reconciliation) before market data flows into decisions. Teardown
runs in reverse whatever failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hftlab.live.model import AliasFollower, ModelRefused, choose, load
from hftlab.live.runner import Session
from hftlab.live.summary import record_initial_balances

log = logging.getLogger("hftlab.live")


class SessionError(Exception):
    """The session could not start; `problems` lists why (the command exits 2, or 1 for a venue fault)."""

    def __init__(self, problems: list[str], *, usage: bool = True):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.usage = usage


@dataclass
class SessionConfig:
    venue: str  # sim | okx-demo | okx-live
    world: str  # sim | okx
    endpoints: Any | None  # okx.channels.Endpoints; None with venue sim: start the embedded simulator
    sim: Any  # sim.config.SimConfig (the embedded simulator)
    credentials: Any  # core.secrets.Credentials
    client: Any  # okx.config.ClientConfig
    channels: list[str]
    mlflow: Any  # models.config.MlflowConfig
    model_uri: str | None
    symbols: list[str] | None
    timeframe: str
    execution: Any  # execution.config.ExecutionConfig
    risk: Any  # risk.config.RiskConfig
    live: Any  # live.config.LiveConfig
    redis: Any | None  # cache.config.RedisConfig, None: no Redis
    state_dir: Path
    venue_factory: Callable[..., Any] | None = None  # tests inject a paper venue
    extra: dict = field(default_factory=dict)


@contextlib.asynccontextmanager
async def open_session(cfg: SessionConfig, progress: Callable[[str], None] = log.info) -> AsyncIterator[Session]:
    from hftlab.backtest.registry import Registry
    from hftlab.execution.journal import Journal
    from hftlab.execution.manager import OrderManager
    from hftlab.marketdata.feed import MarketFeed
    from hftlab.okx.channels import Endpoints, args_for
    from hftlab.okx.client import AsyncOKXClient
    from hftlab.okx.rest import InstrumentRefused, OkxRest, RestError
    from hftlab.portfolio.equity import Portfolio
    from hftlab.risk.engine import RiskEngine
    from hftlab.risk.state import StateFile

    async with contextlib.AsyncExitStack() as stack:
        # -- the venue's addresses
        endpoints = cfg.endpoints
        if endpoints is None:
            from hftlab.sim.server import SimServer

            sim = await stack.enter_async_context(SimServer(cfg.sim))
            endpoints = Endpoints.from_base_url(sim.rest_url)
            progress(f"embedded simulator at {sim.rest_url}")
        # -- the model (MLflow calls and loading block: a thread)
        registry = await asyncio.to_thread(Registry.from_config, cfg.mlflow)
        try:
            ref, shadow = await asyncio.to_thread(choose, registry, cfg.venue, cfg.model_uri)
            probe = await asyncio.to_thread(registry.provenance, ref) if ref.name and ref.version else None
        except (ModelRefused, LookupError) as e:
            raise SessionError(getattr(e, "problems", [str(e)])) from None
        symbols = cfg.symbols or ([probe.symbol] if probe is not None and probe.symbol else None)
        if not symbols:
            raise SessionError(["the model does not say which instrument it was trained on: name it with "
                                "live.symbols (HFTLAB__LIVE__SYMBOLS='[BTC-USDT]')"])
        timeframe = probe.timeframe if probe is not None and probe.timeframe else cfg.timeframe

        def loader(r, shadow_=False):
            return load(registry, r, venue=cfg.venue, world=cfg.world, symbol=symbols[0], timeframe=timeframe,
                        channels=cfg.channels, shadow=shadow_, explicit=cfg.model_uri is not None)

        try:
            model = await asyncio.to_thread(loader, ref, shadow)
        except ModelRefused as e:
            raise SessionError(e.problems) from None
        progress(f"model {model.label}: {timeframe} bars of {', '.join(symbols)}")
        # -- instruments, as this venue lists them to this account (demo and production codes differ)
        pub = OkxRest(endpoints.rest, cfg.credentials, demo=endpoints.demo)
        stack.push_async_callback(pub.close)
        try:
            specs = {s.inst_id: s for s in await pub.trading_specs(symbols)}
        except InstrumentRefused as e:
            raise SessionError([str(e)]) from None
        except RestError as e:  # e.g. still rate-limited (50011) after the client's own retries
            raise SessionError([f"the venue did not list the instruments ({e}); nothing was traded: start again "
                                "once it answers"], usage=False) from None
        # -- the hot cache
        cache = None
        if cfg.redis is not None:
            from hftlab.cache.manager import RedisCacheManager
            from hftlab.cache.server import RedisServerError, redis_for

            try:
                url = stack.enter_context(redis_for(cfg.redis))
            except RedisServerError as e:
                raise SessionError([f"cannot start the embedded redis-server: {e}"], usage=False) from None
            cache = await stack.enter_async_context(RedisCacheManager.from_config(cfg.redis, url))
        # -- market data (and, through the same client, the private socket the venue adapter uses)
        feed = MarketFeed(cfg.channels, [timeframe], grace_ms=cfg.live.bar_grace_ms)
        # the order manager reconciles open orders (within its rate budget), not the client
        client = AsyncOKXClient(endpoints, cfg.client.model_copy(update={"reconcile_orders": False}),
                                credentials=cfg.credentials, books=feed)
        stack.push_async_callback(client.close)
        # -- risk state first: the portfolio's high-water mark and day's open come from it
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        risk = RiskEngine(cfg.risk, specs, state_file=StateFile(cfg.state_dir / "risk.json"))
        portfolio = Portfolio(specs.values(), Decimal(repr(cfg.live.capital_usd)), "USDT",
                              high_water=risk.high_water, day_open=risk.day_open)
        make = cfg.venue_factory or _okx_venue
        venue = await make(client=client, rest=pub, specs=specs, config=cfg, feed=feed)
        if hasattr(venue, "close"):
            stack.push_async_callback(venue.close)  # before the client's close (LIFO)
        await client.start()
        if hasattr(venue, "start"):
            try:
                await venue.start()  # the private socket logged in and subscribed
            except ConnectionError as e:
                raise SessionError([f"the venue's private socket: {e}"], usage=False) from None
        journal = Journal(cfg.state_dir / "journal.sqlite", cfg.execution.journal_sync)
        stack.callback(journal.close)
        await record_initial_balances(venue, cfg.state_dir)
        manager = OrderManager(venue, journal, portfolio, cfg.execution)
        report = await manager.start()
        stack.push_async_callback(_detach, manager)
        progress(f"order manager up: {report.outcome.value}, {report.venue_open} open at the venue, "
                 f"{len(report.adopted)} adopted, {report.fills_recovered} fill(s) recovered")
        await client.subscribe(args_for(cfg.channels, symbols))
        follower = None
        if cfg.model_uri is None and not shadow:
            follower = AliasFollower(registry, model, loader, cfg.live.follow_alias_s, on_move=lambda m: None)
        yield Session(cfg.venue, cfg.world, model, specs, timeframe, feed, client, venue, manager, cache, follower,
                      risk=risk, rest=pub)


async def _detach(manager) -> None:
    if manager.running:  # the runner did not shut it down (a failure): stop sending, keep the journal
        manager.detach()


async def _okx_venue(*, client, rest, specs, config, feed):
    from hftlab.okx.venue import OkxVenue

    return OkxVenue(client, rest, specs)  # on_sent: the runner sets it (tick-to-order)
