"""`hftlab sim` as a user runs it: a subprocess that prints its URLs, answers REST, and exits 0 on SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import sys
import urllib.request
from pathlib import Path

from hftlab.core.config import REPO_ROOT

CMD = [sys.executable, "-m", "hftlab.cli", "sim", "-c", str(REPO_ROOT / "config" / "test.yaml")]


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*CMD, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, cwd=REPO_ROOT)


async def test_runs_answers_and_stops_on_sigint(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("faults:\n  - kind: rate_limit\n    target: ws\n    at_s: [3600]\n")
    proc = await _start("--port", "0", "--speed", "2", "--scenario", str(scenario), "--fault", "drop,every_s=3600",
                        "--progress-interval", "0.2")
    try:
        lines = []
        while not any(line.startswith("hftlab sim: running") for line in lines):
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            assert line, f"sim exited early: {(await proc.stderr.read()).decode()}"
            lines.append(line)
        rest = next(line.split()[-1] for line in lines if " REST " in line)
        assert any("ws://" in line and line.rstrip().endswith("/ws/v5/private") for line in lines)
        assert any("credentials: documented sim defaults" in line for line in lines)
        assert any("2 scheduled fault(s)" in line for line in lines)
        assert "hftlab-sim-secret" not in "".join(lines)
        url = f"{rest}/api/v5/public/time"
        body = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(url, timeout=10)))
        assert body["code"] == "0"
        progress = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert "client(s)" in progress and "frames/s" in progress
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "hftlab sim: stopped" in out.decode()
    assert "Traceback" not in err.decode() and "Task was destroyed" not in err.decode()


async def test_bad_options_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults:\n  - kind: explode\n    every_s: 1\n")
    for args, needle in ((["--scenario", str(bad), "--fault", "drop,every_s=1"], "unknown kind 'explode'"),
                         (["--speed", "-1"], "speed")):
        proc = await _start("--port", "0", *args)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 2, (args, out, err)
        assert needle in err.decode(), err.decode()


async def test_tls_prints_the_ca_and_serves_https(tmp_path):
    proc = await _start("--port", "0", "--tls", "--fault", "liquidate,fraction=0.5,at_s=3600",
                        "--fault", "drop_ack,target=ws,every_s=3600")
    try:
        lines = []
        while not any(line.startswith("hftlab sim: running") for line in lines):
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            assert line, f"sim exited early: {(await proc.stderr.read()).decode()}"
            lines.append(line)
        rest = next(line.split()[-1] for line in lines if " REST " in line)
        ca = next(line.split()[4] for line in lines if line.startswith("hftlab sim: TLS CA "))
        assert rest.startswith("https://") and any("wss://" in line for line in lines)
        assert any("2 scheduled fault(s)" in line for line in lines)
        ctx = ssl.create_default_context(cafile=ca)
        url = f"{rest}/api/v5/public/time"
        body = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(url, timeout=10, context=ctx)))
        assert body["code"] == "0"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert not Path(ca).exists()                                         # the throwaway CA is removed on exit


def test_the_bind_warning_names_plain_ws_beyond_loopback():
    from hftlab.commands.sim import bind_warning

    for quiet in (("127.0.0.1", False), ("::1", False), ("localhost", False), ("127.0.0.2", False),
                  ("0.0.0.0", True)):
        assert bind_warning(*quiet) is None, quiet
    for loud in ("0.0.0.0", "::", "192.168.1.5", "sim.example.org"):
        w = bind_warning(loud, False)
        assert w is not None and loud in w and "ws://" in w and "--tls" in w


async def test_listening_beyond_loopback_over_plain_ws_warns_before_it_starts():
    proc = await _start("--host", "0.0.0.0", "--port", "0", "--progress-interval", "3600")
    try:
        seen = []
        while not any("WARNING" in line for line in seen):  # printed before the server starts
            line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
            assert line, f"sim exited: {seen}"
            seen.append(line)
        assert seen[-1].startswith("hftlab sim: WARNING: listening on 0.0.0.0 over plain http:// and ws://"), seen
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
