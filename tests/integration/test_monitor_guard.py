"""The memory guard tripped for real (a tiny limit against this process's real resident memory): the
collector sheds load (raw frames no longer recorded, events still are), then stops cleanly, logged and
counted; and `hftlab collect` does the same end to end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hftlab.collect.collector import Collector
from hftlab.collect.config import CollectConfig
from hftlab.collect.recorder import read_table
from hftlab.commands.collect import MEMORY_GUARD
from hftlab.monitor.guard import GuardLevel, ResourceGuard
from hftlab.okx.channels import Endpoints
from hftlab.okx.config import ClientConfig
from hftlab.okx.replay import replay
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
TINY = 1  # byte: any real process is over it


async def until(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_the_collector_sheds_raw_recording_then_stops_cleanly(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    async with SimServer(SimConfig(seed=5, book_interval_ms=50)) as sim:
        ep = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
        col = Collector(ep, tmp_path, symbols=["BTC-USDT"], channels=["books", "trades"], timeframes=["1s"],
                        collect=CollectConfig(flush_interval_s=0.5), client=ClientConfig())
        # checks are driven by the test (no timer): each one is a step of the ladder
        guard = ResourceGuard(TINY, interval_s=3600, on_shed_raw=col.shed_raw,
                              on_stop=lambda: col.request_stop(MEMORY_GUARD))
        run = asyncio.create_task(col.run(600))
        await until(lambda: col.stats.frames_recorded > 20, 20, "raw frames recorded")

        assert guard.check() is GuardLevel.SHED_RAW
        recorded, events = col.stats.frames_recorded, col.stats.events
        assert col.stats.raw_shed
        await until(lambda: col.stats.events > events + 20, 20, "events after shedding")
        assert col.stats.frames_recorded == recorded, "no raw frame is recorded once shed"
        assert col.stats.frames_tapped > recorded

        assert guard.check() is GuardLevel.STOP_INTENTS  # the collector has no intents: nothing to stop
        assert not run.done()
        assert guard.check() is GuardLevel.STOPPING
        summary = await asyncio.wait_for(run, 30)

    assert summary["stopped_by"] == MEMORY_GUARD and summary["raw_shed"]
    assert summary["frames_recorded"] == recorded == read_table(tmp_path).num_rows, "raw rows up to the shedding"
    assert summary["recorder"]["event_rows"] >= events + 20, "normalised events recorded after it"
    assert not list(tmp_path.rglob("*.inprogress")), "every Parquet file finished"
    report = replay([tmp_path / "raw"])
    assert not report.failed and report.frames == recorded
    assert guard.stats.level is GuardLevel.STOPPING and guard.stats.checks == 3
    assert dict(guard.stats.actions) == {GuardLevel.SHED_RAW: 1, GuardLevel.STOP_INTENTS: 1, GuardLevel.STOPPING: 1}
    assert guard.stats.rss_bytes > TINY == guard.stats.limit_bytes
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("memory guard")]
    assert len(logged) == 3 and "stopping cleanly" in logged[-1]


def test_hftlab_collect_under_a_tiny_memory_limit_sheds_then_stops_cleanly(tmp_path):
    env = {**os.environ, "HFTLAB__REDIS__DATA_DIR": str(tmp_path / "redis"),
           "HFTLAB__SYSTEM__MAX_MEMORY_USAGE": "0.0001", "HFTLAB__MONITOR__GUARD_INTERVAL_S": "1"}
    proc = subprocess.run([sys.executable, "-m", "hftlab", "collect", "--duration", "60", "--out", str(tmp_path / "rec"),
                           "--json", "-c", "config/test.yaml"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=90)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "stopped by the memory guard" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["stopped_by"] == MEMORY_GUARD and summary["raw_shed"] and summary["elapsed_s"] < 30
    guard = summary["monitor"]["guard"]
    assert guard["level"] == "stopping" and guard["actions"] == {"shed_raw": 1, "stop_intents": 1, "stopping": 1}
    assert "memory guard: resident" in proc.stderr and "stopping cleanly" in proc.stderr
    assert not list((tmp_path / "rec").rglob("*.inprogress"))
