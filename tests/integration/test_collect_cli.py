"""`hftlab collect` as a user runs it: a subprocess with the embedded simulator and redis-server."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hftlab.collect.recorder import read_table

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]


def hftlab(*args: str, tmp_path: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "HFTLAB__REDIS__DATA_DIR": str(tmp_path / "redis"), "HFTLAB__SYSTEM__LOG_LEVEL": "INFO"}
    return subprocess.Popen([sys.executable, "-m", "hftlab", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def redis_pid(stderr: str) -> int:
    line = next(ln for ln in stderr.splitlines() if "embedded redis-server up" in ln)
    return int(line.split("(pid ")[1].split(",")[0])


def test_collect_10s_records_parquet_that_replay_accepts(tmp_path):
    out = tmp_path / "rec"
    proc = hftlab("collect", "--duration", "10", "--out", str(out), "--json", "--progress-interval", "3",
                  "-c", "config/test.yaml", tmp_path=tmp_path)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["stopped_by"] == "duration" and summary["elapsed_s"] >= 10
    assert summary["books_valid"] == summary["books_total"] == 3
    assert {"books", "trades", "tickers"} <= set(summary["events"])
    assert summary["redis"]["connected"] and summary["redis"]["written"] > 0
    assert stderr.count("books valid 3/3") >= 2, "progress lines every few seconds"
    raw = read_table(out)
    assert raw.num_rows == summary["frames_recorded"] == summary["recorder"]["raw_rows"]
    assert gone(redis_pid(stderr)), "the embedded redis-server is stopped with the command"
    replay = subprocess.run([sys.executable, "-m", "hftlab", "replay", str(out / "raw"), "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stdout[-2000:] + replay.stderr[-2000:]
    report = json.loads(replay.stdout)
    assert report["ok"] and report["frames"] == raw.num_rows
    assert report["totals"]["snapshots"] == 3 and report["totals"]["breaks"] == 0
    assert report["totals"]["trades"] == summary["events"]["trades"]


def test_sigterm_flushes_every_received_frame_and_leaves_no_process(tmp_path):
    out = tmp_path / "rec"
    proc = hftlab("collect", "--duration", "60", "--out", str(out), "--json", "--progress-interval", "0.5",
                  "-c", "config/test.yaml", tmp_path=tmp_path)
    stderr = ""
    deadline = time.monotonic() + 30
    # wait until data flows (a progress line reporting valid books), then stop it like a service manager
    while "books valid 3/3" not in stderr:
        assert time.monotonic() < deadline and proc.poll() is None, stderr[-2000:]
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            stderr += proc.stderr.readline()
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    stdout, rest = proc.communicate(timeout=30)
    stderr += rest
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["stopped_by"] == "signal" and summary["elapsed_s"] < 30
    raw = read_table(out)
    assert raw.num_rows == summary["frames_recorded"] > 0, "every frame received before the stop is on disk"
    assert not list(out.rglob(".*.inprogress")), "every file was finished"
    assert read_table(out, "book").num_rows == summary["events"]["books"]
    assert gone(redis_pid(stderr))
