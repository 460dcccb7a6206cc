"""The live runner end to end on the simulator's market data with the in-memory paper venue for
execution: signals, risk, orders, fills, positions, the kill switch and the HALTED latch across a
restart. (The same runner over the OKX adapter against the real simulator: test_live_sim.py.)"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hftlab.execution.clock import SystemClock
from hftlab.execution.paper import PaperVenue
from hftlab.live.runner import LiveRunner
from hftlab.live.session import SessionConfig, open_session
from hftlab.settings import Settings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _settings(**over) -> Settings:
    base = {"venue": {"sim": {"seed": 3, "speed": 20.0, "signal_strength": 0.0}},
            "risk": {"max_order_usd": 2000, "max_position_usd": 5000, "max_gross_usd": 10000, "max_net_usd": 8000,
                     "max_orders_per_s": 50, "max_open_orders": 20, "stale_ms": 5000},
            "strategy": {"style": "taker", "sizing": {"mode": "fixed", "notional_usd": 300}},
            "backtest": {"threshold": 0.2},
            "live": {"progress_interval_s": 1.0, "mark_interval_ms": 100},
            "execution": {"caa_timeout_s": 30, "caa_heartbeat_s": 5}}
    for k, v in over.items():
        base.setdefault(k, {}).update(v)
    return Settings.model_validate(base)


async def _paper(*, client, rest, specs, config, feed):
    """A paper venue whose touch follows the simulator's book (a bridge task)."""
    venue = PaperVenue(specs.values(), SystemClock(), balances={"USDT": Decimal(100_000), "BTC": Decimal(1)})

    async def bridge():
        while True:
            await asyncio.sleep(0.05)
            for inst in specs:
                top = feed.top(inst)
                if top is not None and top.valid:
                    venue.set_book(inst, Decimal(top.bid_px), Decimal(top.ask_px))

    task = asyncio.get_running_loop().create_task(bridge(), name="paper-bridge")
    config.extra["bridge"] = task
    return venue


def _config(settings, mlflow, state_dir) -> SessionConfig:
    return SessionConfig(
        venue="sim", world="sim", endpoints=None, sim=settings.venue.sim, credentials=None, client=settings.client,
        channels=["trades", "books", "tickers"], mlflow=mlflow, model_uri=None, symbols=None,
        timeframe="1s", execution=settings.execution, risk=settings.risk, live=settings.live, redis=None,
        state_dir=state_dir, venue_factory=_paper)


async def _session(settings, mlflow, state_dir, duration, during=None):
    cfg = _config(settings, mlflow, state_dir)
    lines: list[str] = []
    async with open_session(cfg, progress=lines.append) as s:
        runner = LiveRunner(s, risk_cfg=settings.risk, strategy_cfg=settings.strategy, rule_cfg=settings.backtest,
                            live_cfg=settings.live, horizon=5, state_dir=state_dir, duration_s=duration,
                            progress=lines.append)
        if during is not None:
            asyncio.get_running_loop().create_task(during(runner))
        summary = await runner.run()
        cfg.extra["bridge"].cancel()
    return summary, lines


def test_a_session_trades_through_risk_and_ends_matching_the_venue(sim_model, tmp_path):
    mlflow, version = sim_model
    summary, lines = asyncio.run(_session(_settings(), mlflow, tmp_path / "state", 20.0))
    assert summary["model"]["version"] == version and summary["model"]["shadow"] is True  # no champion yet
    assert summary["orders_submitted"] > 0 and summary["fills"] > 0, (summary, lines[-5:])
    assert summary["duplicate_orders"] == 0
    assert summary["open_orders_match_venue"] is True and summary["positions_match_venue"] is True, summary
    assert summary["trading_state"] == "active" and summary["errors"] == 0
    assert summary["tick_to_order_us"]["count"] == 0  # the paper venue stamps no send times
    assert any("ACTIVE" in line and "orders" in line for line in lines)  # progress lines


def test_the_kill_switch_halts_cancels_and_the_halt_survives_a_restart(sim_model, tmp_path):
    from hftlab.live.control import read_runner, request

    mlflow, _ = sim_model
    state = tmp_path / "state"
    seen = {}

    async def kill_after_orders(runner):
        while runner.counters.submitted < 5:  # drive the condition: kill once it has traded
            await asyncio.sleep(0.05)
        info = read_runner(state)
        seen["first"] = await request(info, "POST", "/kill", {"flatten": True})
        seen["second"] = await request(info, "POST", "/kill", {"flatten": False})  # idempotent
        seen["submitted_at_kill"] = runner.counters.submitted
        await asyncio.sleep(2.0)
        seen["submitted_after"] = runner.counters.submitted
        runner.request_stop("test done")

    summary, _ = asyncio.run(_session(_settings(), mlflow, state, 60.0, kill_after_orders))
    assert seen["first"]["state"] == "halted" and seen["first"]["open_orders"] == 0
    assert seen["second"]["state"] == "halted" and seen["second"]["cancels"] == 0
    # the flatten is the only order after the kill (if there was a position); nothing follows it
    assert seen["submitted_after"] <= seen["submitted_at_kill"] + 1
    assert summary["trading_state"] == "halted" and summary["kills"] == 2
    assert summary["positions_match_venue"] is True and summary["open_orders_match_venue"] is True
    assert summary["risk_denials"].get("halted", 0) > 0  # the strategy kept asking, risk kept refusing
    again, lines = asyncio.run(_session(_settings(), mlflow, state, 3.0))
    assert again["trading_state"] == "halted" and again["orders_submitted"] == 0
    assert any("HALTED from the last session" in line for line in lines)
