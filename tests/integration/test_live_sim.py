"""The live runner against the real simulator on loopback, through the OKX execution venue:
processes killed and restarted, `hftlab kill`, the okx-live guard, the drawdown breaker."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from hftlab.core.secrets import SIM_CREDENTIALS
from hftlab.sim.testing import RestProbe

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]
ORDERS = re.compile(r"orders (\d+) sent")


def _env(mlflow, **over) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HFTLAB")}
    env.update({
        "HFTLAB__MLFLOW__TRACKING_URI": mlflow.tracking_uri, "HFTLAB__MLFLOW__ARTIFACT_LOCATION": mlflow.artifact_location,
        "HFTLAB__MLFLOW__EXPERIMENT": mlflow.experiment, "HFTLAB__STRATEGY__SIZING__MODE": "fixed",
        "HFTLAB__STRATEGY__SIZING__NOTIONAL_USD": "300", "HFTLAB__BACKTEST__THRESHOLD": "0.2",
        "HFTLAB__LIVE__PROGRESS_INTERVAL_S": "1", "HFTLAB__RISK__MAX_ORDERS_PER_S": "50",
        "HFTLAB__SYSTEM__LOG_LEVEL": "INFO",
    })
    env.update({k: str(v) for k, v in over.items()})
    return env


class Sim:
    """`hftlab sim` in a process of its own: the venue outlives every runner."""

    def __init__(self, speed: float = 10.0):
        self.proc = subprocess.Popen([sys.executable, "-m", "hftlab", "sim", "--port", "0", "--speed", str(speed),
                                      "--seed", "5"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self.proc.stdout:
            m = re.search(r"REST (http://\S+)", line)
            if m:
                self.url = m.group(1)
                return
        raise AssertionError("hftlab sim printed no URL")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)


class Runner:
    def __init__(self, env, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "hftlab.live", *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []

    def wait_orders(self, n: int, timeout: float = 120.0) -> None:
        """Until a progress line reports at least `n` orders sent (drive the condition, not a clock)."""
        deadline = time.monotonic() + timeout
        for line in self.proc.stderr:
            self.lines.append(line)
            m = ORDERS.search(line)
            if m and int(m.group(1)) >= n:
                return
            if time.monotonic() > deadline:
                break
        raise AssertionError("the runner never sent enough orders:\n" + "".join(self.lines[-20:]))

    def summary(self, timeout: float = 180.0) -> dict:
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, "".join(self.lines[-10:]) + err[-3000:]
        return json.loads(out.strip().splitlines()[-1])


async def _venue(url: str, path: str, **params):
    async with RestProbe(url, SIM_CREDENTIALS) as p:
        status, doc = await p.get(path, **params)
        assert status == 200 and doc["code"] == "0", doc
        return doc["data"]


def _pending(url: str) -> list[dict]:
    return asyncio.run(_venue(url, "trade/orders-pending", instType="SPOT"))


def test_kill_9_and_restart_duplicates_nothing_and_ends_matching_the_venue(sim_model, tmp_path):
    mlflow, version = sim_model
    sim = Sim()
    try:
        env = _env(mlflow)
        args = ["--sim-url", sim.url, "--model", f"models:/hftlab-signal-sim/{version}", "--state-dir",
                str(tmp_path / "state"), "--json", "--no-redis"]
        first = Runner(env, *args, "--duration", "60")
        first.wait_orders(10)
        first.proc.send_signal(signal.SIGKILL)  # mid-session: orders in flight, a journal mid-write
        first.proc.wait(10)
        second = Runner(env, *args, "--duration", "30")
        s = second.summary()
    finally:
        sim.stop()
    assert s["duplicate_orders"] == 0
    assert s["positions_match_venue"] is True and s["open_orders_match_venue"] is True, s
    assert s["orders_submitted"] > 0 and s["errors"] == 0


def test_hftlab_kill_leaves_no_order_at_the_venue_and_none_after(sim_model, tmp_path):
    mlflow, version = sim_model
    sim = Sim()
    try:
        env = _env(mlflow, HFTLAB__STRATEGY__STYLE="maker")  # post-only quotes rest at the venue
        state = tmp_path / "state"
        runner = Runner(env, "--sim-url", sim.url, "--model", f"models:/hftlab-signal-sim/{version}",
                        "--state-dir", str(state), "--json", "--no-redis", "--duration", "120")
        deadline = time.monotonic() + 90
        while not _pending(sim.url):  # until an order of ours rests
            assert time.monotonic() < deadline, "no order ever rested"
            time.sleep(0.2)
        kill = subprocess.run([sys.executable, "-m", "hftlab", "kill", "--state-dir", str(state)], env=env,
                              capture_output=True, text=True, timeout=60)
        killed_at = time.monotonic()
        assert kill.returncode == 0, kill.stderr
        # the kill answers once the runner's manager has the venue's confirmations: the venue agrees
        # (how fast is measured by the summary and the benchmarks, not asserted here)
        while _pending(sim.url):
            assert time.monotonic() - killed_at < 30.0, "orders still open 30 s after the kill"
            time.sleep(0.05)
        print(f"venue clear {time.monotonic() - killed_at:.3f} s after `hftlab kill` returned")
        history = asyncio.run(_venue(sim.url, "trade/orders-history", instType="SPOT"))
        time.sleep(3.0)
        assert not _pending(sim.url)
        later = asyncio.run(_venue(sim.url, "trade/orders-history", instType="SPOT"))
        assert len(later) == len(history), "a new order went out after the kill"
        runner.proc.send_signal(signal.SIGTERM)
        s = runner.summary()
    finally:
        sim.stop()
    assert s["trading_state"] == "halted" and s["open_orders_match_venue"] is True
    assert json.loads((state / "risk.json").read_text())["state"] == "halted"


POSITION = re.compile(r"BTC-USDT \+0\.0*[1-9]")


def test_hftlab_kill_without_a_runner_cancels_and_flattens_from_the_crashed_runners_journal(long_model, tmp_path):
    """The runner dies (kill -9) holding a position with orders resting; `hftlab kill --flatten`
    finds no runner, latches HALTED, cancels our orders at the venue and sells the position through
    the risk engine; the venue then lists nothing of ours and holds the base balance it started with."""
    mlflow, version = long_model
    sim = Sim()
    try:
        env = _env(mlflow, HFTLAB__STRATEGY__STYLE="maker", HFTLAB__STRATEGY__SIZING__NOTIONAL_USD="900")
        state = tmp_path / "state"
        runner = Runner(env, "--sim-url", sim.url, "--model", f"models:/hftlab-signal-sim/{version}",
                        "--state-dir", str(state), "--json", "--no-redis", "--duration", "120")
        deadline = time.monotonic() + 90
        for line in runner.proc.stderr:  # until a progress line shows a long position
            runner.lines.append(line)
            if POSITION.search(line):
                break
            assert time.monotonic() < deadline, "no position ever opened:\n" + "".join(runner.lines[-20:])
        runner.proc.send_signal(signal.SIGKILL)
        runner.proc.wait(10)
        kill = subprocess.run([sys.executable, "-m", "hftlab", "kill", "--state-dir", str(state), "--sim-url",
                               sim.url, "--flatten"], env=env, capture_output=True, text=True, timeout=120)
        assert kill.returncode == 0, kill.stderr
        doc = json.loads(kill.stdout.strip().splitlines()[-1])
        assert doc["runner"] is None and doc["venue_open_after"] == 0, doc
        assert any(line.startswith("BTC-USDT sell") for line in doc["flattened"]), doc
        assert not _pending(sim.url)
        history = asyncio.run(_venue(sim.url, "trade/orders-history", instType="SPOT"))
        sells = [o for o in history if o["side"] == "sell" and o["ordType"] == "market"]
        assert len(sells) == 1 and sells[0]["state"] == "filled" and sells[0]["tag"] == "hftlab", sells
        balances = asyncio.run(_venue(sim.url, "account/balance"))[0]["details"]
        btc = next(b for b in balances if b["ccy"] == "BTC")
        start = json.loads((state / "initial_balances.json").read_text())
        spec = asyncio.run(_venue(sim.url, "public/instruments", instType="SPOT", instId="BTC-USDT"))[0]
        assert abs(float(btc["cashBal"]) - float(start["BTC"])) < float(spec["minSz"]), (btc, start)
    finally:
        sim.stop()
    assert json.loads((state / "risk.json").read_text())["state"] == "halted"


def test_okx_live_refuses_without_the_flag_and_without_keys():
    env = {k: v for k, v in os.environ.items() if not k.startswith("HFTLAB")}
    no_flag = subprocess.run([sys.executable, "-m", "hftlab.live", "--venue", "okx-live"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert no_flag.returncode == 2 and "--live" in no_flag.stderr
    no_keys = subprocess.run([sys.executable, "-m", "hftlab.live", "--venue", "okx-live", "--live"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert no_keys.returncode == 2
    assert all(k in no_keys.stderr for k in ("HFTLAB_API_KEY", "HFTLAB_API_SECRET", "HFTLAB_API_PASSPHRASE"))


def test_a_drawdown_halts_within_one_mark_cancels_and_stays_halted_after_a_crash(long_model, tmp_path):
    """An always-long model holds a position; the market falls 3% (the simulator's `jump`); the next
    mark update halts trading, the resting order is cancelled, and a session started after the first one
    was abandoned (no clean shutdown: what kill -9 leaves) is HALTED from the start."""
    from hftlab.live.runner import LiveRunner
    from hftlab.live.session import SessionConfig, open_session
    from hftlab.okx.channels import Endpoints
    from hftlab.settings import Settings
    from hftlab.sim.config import SimConfig
    from hftlab.sim.server import SimServer

    mlflow, _ = long_model
    settings = Settings.model_validate({
        "risk": {"max_drawdown_pct": 1.0, "reduce_drawdown_pct": 0.9, "resume_drawdown_pct": 0.5,
                 "max_orders_per_s": 50, "stale_ms": 5000},
        "strategy": {"style": "maker", "sizing": {"mode": "fixed", "notional_usd": 900}},
        "live": {"mark_interval_ms": 100, "progress_interval_s": 1.0, "capital_usd": 1000},
    })
    state = tmp_path / "state"

    async def go():
        sim = SimServer(SimConfig(speed=5.0, seed=9))
        await sim.start()
        try:
            cfg = SessionConfig(
                venue="sim", world="sim", endpoints=Endpoints.from_base_url(sim.rest_url), sim=settings.venue.sim,
                credentials=SIM_CREDENTIALS, client=settings.client, channels=["trades", "books", "tickers"],
                mlflow=mlflow, model_uri=None, symbols=None, timeframe="1s", execution=settings.execution,
                risk=settings.risk, live=settings.live, redis=None, state_dir=state)
            async with open_session(cfg) as s:
                runner = LiveRunner(s, risk_cfg=settings.risk, strategy_cfg=settings.strategy,
                                    rule_cfg=settings.backtest, live_cfg=settings.live, horizon=5, state_dir=state,
                                    duration_s=None)
                task = asyncio.get_running_loop().create_task(runner.run())
                await _until(lambda: s.manager.exposure("BTC-USDT").position > 0, 60, "a long position")
                before = s.feed.top("BTC-USDT").mid
                sim.faults.jump("BTC-USDT", -3.0)  # the scripted adverse move: -3% on 900 of 1,000 = -2.7%
                await _until(lambda: s.feed.top("BTC-USDT").mid < before * 0.98, 10, "the book to show the move")
                runner.mark()  # the first mark that sees the move halts (one may already have run: still HALTED)
                assert runner.risk.state.value == "halted", runner.risk.reasons
                await _until(lambda: not s.manager.open_orders(), 10, "open orders cancelled")
                assert "drawdown" in runner.risk.reasons[0]
                task.cancel()  # abandoned, as kill -9 leaves it: no shutdown, no summary
                s.manager.detach()
            async with open_session(cfg) as s2:
                again = LiveRunner(s2, risk_cfg=settings.risk, strategy_cfg=settings.strategy,
                                   rule_cfg=settings.backtest, live_cfg=settings.live, horizon=5, state_dir=state,
                                   duration_s=3.0)
                summary = await again.run()
            return summary
        finally:
            await sim.stop()

    summary = asyncio.run(go())
    assert summary["trading_state"] == "halted" and summary["orders_submitted"] == 0
    assert summary["risk_denials"].get("halted", 0) > 0


async def _until(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)



def test_a_venue_still_rate_limiting_at_start_up_is_a_clear_refusal_not_a_traceback(sim_model, tmp_path):
    from hftlab.live.session import SessionConfig, SessionError, open_session
    from hftlab.okx.channels import Endpoints
    from hftlab.settings import Settings
    from hftlab.sim.config import SimConfig
    from hftlab.sim.server import SimServer

    mlflow, version = sim_model
    settings = Settings()

    async def go():
        async with SimServer(SimConfig(seed=3)) as sim:
            sim.faults.rate_limit("rest", duration_s=600)  # every REST answer is 50011
            cfg = SessionConfig(
                venue="sim", world="sim", endpoints=Endpoints.from_base_url(sim.rest_url), sim=settings.venue.sim,
                credentials=SIM_CREDENTIALS, client=settings.client, channels=["trades", "books"], mlflow=mlflow,
                model_uri=f"models:/hftlab-signal-sim/{version}", symbols=None, timeframe="1s",
                execution=settings.execution, risk=settings.risk, live=settings.live, redis=None,
                state_dir=tmp_path / "state")
            with pytest.raises(SessionError) as e:
                async with open_session(cfg):
                    pass
            return e.value

    err = asyncio.run(go())
    assert err.usage is False and "did not list the instruments" in str(err) and "50011" in str(err), err
