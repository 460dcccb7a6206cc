"""A component in a process of its own (here `hftlab sim`): ready when it says so, its /metrics read,
killed with SIGKILL and started again, a death nobody asked for told from a kill, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal

from hftlab.soak.processes import Child


def sim(tmp_path) -> Child:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HFTLAB")}
    env.update({"HFTLAB__MONITOR__PROMETHEUS_PORT": "0", "HFTLAB__SYSTEM__DATA_DIR": str(tmp_path / "var"),
                "HFTLAB__VENUE__SIM__INSTRUMENTS": "[BTC-USDT]"})
    return Child("sim", ["sim", "--port", "0"], env, tmp_path / "logs", ready=lambda line: "running" in line)


async def test_start_kill_crash_and_stop(tmp_path):
    child = sim(tmp_path)
    try:
        await child.start()
        await child.wait_ready(60)
        m = await child.scrape()
        assert m is not None and m.total("hftlab_sim_connections_total") == 0
        child.kill9()
        await child.reap()
        assert not child.alive and not child.crashed  # killed by us: not a crash
        await child.start()
        await child.wait_ready(60)
        os.kill(child.pid, signal.SIGKILL)  # a death nobody asked for
        await child.reap()
        assert child.crashed
        await child.start()
        await child.wait_ready(60)
        assert await child.stop(30) is None  # `hftlab sim` prints no JSON summary
        assert not child.crashed and child.incarnation == 3
        assert "hftlab sim: REST http://127.0.0.1:" in (tmp_path / "logs" / "sim.3.log").read_text()
    finally:
        await child.close()
