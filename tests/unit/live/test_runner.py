"""The runner's wiring without a network: every risk rule trips on the runner's own path, and the order
it stops never reaches the venue (the paper venue's log of what it was sent stays empty)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal

import pytest

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.market import TopOfBook
from hftlab.domain.orders import OrderIntent, OrdType, Side
from hftlab.execution.clock import SystemClock
from hftlab.execution.config import ExecutionConfig
from hftlab.execution.journal import Journal
from hftlab.execution.manager import OrderManager
from hftlab.execution.paper import PaperVenue
from hftlab.live.config import LiveConfig
from hftlab.live.model import LiveModel
from hftlab.live.runner import LiveRunner, Session
from hftlab.portfolio.equity import Portfolio
from hftlab.risk.checks import DenyReason
from hftlab.risk.config import RiskConfig
from hftlab.risk.engine import Account
from hftlab.risk.state import Condition
from hftlab.strategy.config import StrategyConfig

D = Decimal
SPOT = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.0001"), D("0.0001"))
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("0.01"), D("0.01"), D("0.01"))
SPECS = {s.inst_id: s for s in (SPOT, SWAP)}


class Feed:
    top_channel = "books"

    def __init__(self):
        self.tops: dict[str, TopOfBook] = {}

    def top(self, inst):
        return self.tops.get(inst)

    def book(self, channel, inst):
        return None

    def set(self, inst, mid, age_s=0.0, valid=True):
        self.tops[inst] = TopOfBook(inst, str(mid - 0.5), "5", str(mid + 0.5), "5", 0, 1, valid,
                                    time.time_ns() - int(age_s * 1e9))


class Predictor:
    from hftlab.features import FeatureSpec

    spec = FeatureSpec(flow_window=0, book_levels=0)
    seq_len, n_features = 4, len(spec.names)


async def _runner(tmp_path, risk: RiskConfig, *, specs=SPECS):
    venue = PaperVenue(specs.values(), SystemClock(), balances={"USDT": D(1_000_000), "BTC": D(100)})
    for inst in specs:
        venue.set_book(inst, D(49_999.5), D(50_000.5))
    journal = Journal(tmp_path / "journal.sqlite")
    manager = OrderManager(venue, journal, Portfolio(specs.values(), D(10_000), "USDT"),
                           ExecutionConfig(tag="t", caa_timeout_s=30))
    await manager.start(timers=False)
    feed = Feed()
    for inst in specs:
        feed.set(inst, 50_000.0)
    model = LiveModel("m", "m", "1", False, None, Predictor())
    session = Session("sim", "sim", model, dict(specs), "1s", feed, None, venue, manager)
    runner = LiveRunner(session, risk_cfg=risk, strategy_cfg=StrategyConfig(), rule_cfg=_Rule(), live_cfg=LiveConfig(),
                        horizon=5, state_dir=tmp_path / "state", duration_s=None)
    runner.mark()  # equity known (no positions: every mark present)
    return runner, venue, feed


class _Rule:
    threshold, exit_threshold, allow_short = 0.2, None, False


RISK = RiskConfig(max_order_usd=1000, max_position_usd=2000, max_gross_usd=3000, max_net_usd=2500, max_open_orders=3,
                  max_orders_per_s=100, collar_bps=20, stale_ms=1000, stop_loss_pct=1.0)


def buy(inst="BTC-USDT", sz="0.01", px="50000", ord_type=OrdType.LIMIT, slot=None):
    return OrderIntent(inst, Side.BUY, D(sz), ord_type, None if px is None else D(px), slot or f"{inst}:{sz}:{px}")


def _sent(venue) -> int:
    return len(venue.log.sent_items("place"))


def _case(reason: DenyReason):
    """(setup(runner, feed), intent) that trips `reason` on the runner's path."""
    def halted(r, f):
        r.risk.kill("test")

    def reducing(r, f):
        r.risk.set_condition(Condition.PRIVATE_DOWN, True, time.time_ns(), "test")

    def account(**kw):
        def setup(r, f):
            r._account = lambda: Account(**{"equity_known": True, "reconciled": True, "reconciling": False, **kw})
        return setup

    def no_mark(r, f):
        f.tops.pop("BTC-USDT")

    def stale(r, f):
        f.set("BTC-USDT", 50_000.0, age_s=5)

    def unknown_equity(r, f):
        r._equity_known = False

    def not_tradable(r, f):
        r.risk.specs["BTC-USDT"] = replace(SPOT, state="suspend")

    def exposure(inst, qty, avg=D(50_000)):
        def setup(r, f):
            real = r.exposure
            r.exposure = lambda i: (replace(real(i), position=D(qty), avg_px=avg) if i == inst else real(i))
        return setup

    def band(r, f):
        r._bands["BTC-USDT"] = (50_005.0, 49_995.0)  # the venue's price limits, as the runner polls them

    def rate(r, f):
        r.risk._throttle.try_acquire = lambda n=1.0: False

    def nothing(r, f):
        pass

    async def open_orders(r, f):
        for k in range(3):
            await r._submit(buy(sz="0.001", px="49990", slot=f"resting{k}"))
        assert r.counters.submitted == 3

    return {
        DenyReason.HALTED: (halted, buy()),
        DenyReason.REDUCING_ONLY: (reducing, buy()),
        DenyReason.RECONCILING: (account(reconciling=True), buy()),
        DenyReason.UNRECONCILED: (account(reconciled=False), buy()),
        DenyReason.EQUITY_UNKNOWN: (unknown_equity, buy()),
        DenyReason.NO_MARK: (no_mark, buy()),
        DenyReason.STALE_DATA: (stale, buy()),
        DenyReason.UNKNOWN_INSTRUMENT: (nothing, buy(inst="ETH-USDT")),
        DenyReason.NOT_TRADABLE: (not_tradable, buy()),
        DenyReason.BAD_SIZE: (nothing, buy(sz="0.00015")),
        DenyReason.BAD_PRICE: (nothing, buy(px="50000.05")),
        DenyReason.ORDER_NOTIONAL: (nothing, buy(sz="0.03")),
        DenyReason.POSITION_LIMIT: (exposure("BTC-USDT", "0.035"), buy()),
        DenyReason.GROSS_EXPOSURE: (exposure("BTC-USDT-SWAP", "-5.5"), buy(sz="0.015")),
        DenyReason.NET_EXPOSURE: (exposure("BTC-USDT-SWAP", "3.6"), buy(sz="0.015")),
        DenyReason.OPEN_ORDERS: (open_orders, buy()),
        DenyReason.ORDER_RATE: (rate, buy()),
        DenyReason.PRICE_COLLAR: (nothing, buy(px="50200")),
        DenyReason.PRICE_BAND: (band, buy(px="50010")),
        DenyReason.STOP_LOSS: (exposure("BTC-USDT", "0.01", D(51_000)), buy()),
    }[reason]


TRIPPABLE = list(DenyReason)


@pytest.mark.parametrize("reason", TRIPPABLE, ids=lambda r: r.value)
def test_every_rule_stops_the_order_before_the_venue(tmp_path, reason):
    async def go():
        runner, venue, feed = await _runner(tmp_path, RISK)
        setup, intent = _case(reason)
        out = setup(runner, feed)
        if asyncio.iscoroutine(out):
            await out
        before = _sent(venue)
        await runner._submit(intent)
        assert runner.risk.stats.denials[reason] == 1, dict(runner.risk.stats.denials)
        assert _sent(venue) == before  # nothing reached the venue
        await runner.s.manager.shutdown()
    asyncio.run(go())


def test_an_approved_order_does_reach_the_venue(tmp_path):
    async def go():
        runner, venue, _ = await _runner(tmp_path, RISK)
        await runner._submit(buy())
        assert _sent(venue) == 1 and runner.counters.submitted == 1
        await runner.s.manager.shutdown()
    asyncio.run(go())
