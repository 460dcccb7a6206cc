"""`hftlab bench sim`: CPU of `hftlab sim` at real speed while clients take books, trades and tickers.

The simulator runs as its own process (as `hftlab sim` does for users); N wire-level clients on
loopback subscribe books, trades and tickers for the default instruments; CPU time (user + system)
of the simulator process is sampled with psutil after a warm-up.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from hftlab.bench import progress

INSTRUMENTS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
CHANNELS = ("books", "trades", "tickers")


def add_arguments(p) -> None:
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    p.add_argument("--warmup", type=float, default=5.0)


async def _client(url: str, counter: list[int]) -> None:
    from hftlab.sim.testing import WireClient

    c = await WireClient.connect(url)
    await c.subscribe(*({"channel": ch, "instId": i} for i in INSTRUMENTS for ch in CHANNELS))
    try:
        while True:
            await c.conn.recv()
            counter[0] += 1
    finally:
        await c.close()


async def _measure(clients: int, seconds: float, warmup: float) -> dict[str, float]:
    import psutil

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hftlab", "sim", "--port", "0", "--speed", "1", "--progress-interval", "3600",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        url = None
        while url is None:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                raise RuntimeError("hftlab sim exited before printing its URLs")
            if "WS public" in line:
                url = line.split()[-1]
        counter = [0]
        tasks = [asyncio.create_task(_client(url, counter)) for _ in range(clients)]
        progress(f"hftlab sim pid {proc.pid}; {clients} clients on {url}; warm-up {warmup:.0f} s, measuring {seconds:.0f} s")
        p = psutil.Process(proc.pid)
        await asyncio.sleep(warmup)
        c0, f0, t0 = p.cpu_times(), counter[0], time.monotonic()
        await asyncio.sleep(seconds)
        c1, f1, t1 = p.cpu_times(), counter[0], time.monotonic()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"hftlab sim exited with {proc.returncode} on SIGINT (expected a clean 0)")
    cpu = (c1.user - c0.user + c1.system - c0.system) / (t1 - t0)
    return {
        "sim_cpu_pct": round(100 * cpu, 2),
        "frames_received_per_s": round((f1 - f0) / (t1 - t0), 1),
        "clients_count": clients,
    }


def run(args) -> dict[str, float]:
    return asyncio.run(_measure(args.clients, args.seconds, args.warmup))
