"""`hftlab status` against a running session: a real `hftlab collect` (books, trades, bars, its status
hash) and what the live runner writes beside it (positions, an open order, equity and the trading state,
through cache/schema.py), shown in a tmux pane and read back with `capture-pane`; `--once` for scripts."""

from __future__ import annotations

import asyncio
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from hftlab.cache import schema
from hftlab.cache.manager import RedisCacheManager
from hftlab.cache.server import embedded_url
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.orders import Order, OrderIntent, OrderStats, OrdType, Side
from hftlab.portfolio.equity import EquitySnapshot
from hftlab.portfolio.positions import Position

pytestmark = pytest.mark.timeout(150)

REPO = Path(__file__).resolve().parents[2]
BTC = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", Decimal("0.1"), Decimal("0.00001"), Decimal("0.00001"))
D = Decimal
N = r"[\d,]+(?:\.\d+)?"  # a number as the dashboard writes it (64,000 / 63,998.3 / 0.25)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A running collector with the live runner's keys written beside its data; yields its environment."""
    tmp = tmp_path_factory.mktemp("status")
    env = {**os.environ, "HFTLAB__REDIS__DATA_DIR": str(tmp / "redis"), "HFTLAB__SYSTEM__LOG_LEVEL": "INFO",
           "HFTLAB__MONITOR__INTERVAL_S": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "hftlab", "collect", "--duration", "120", "--out", str(tmp / "rec"),
                             "--progress-interval", "1", "-c", "config/test.yaml"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        err = ""
        deadline = time.monotonic() + 60
        while "books valid 3/3" not in err:
            assert time.monotonic() < deadline and proc.poll() is None, err[-3000:]
            if select.select([proc.stderr], [], [], 0.5)[0]:
                err += os.read(proc.stderr.fileno(), 1 << 16).decode()
        url = embedded_url(tmp / "redis")
        assert url is not None
        asyncio.run(_write_live_keys(url))
        yield env
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def _write_live_keys(url: str) -> None:
    """What the live runner publishes: positions, open orders, equity with the trading state; then wait
    until the collector's status hash reports book latencies (events are timed 1 in 16)."""
    pos = Position(BTC)
    pos.apply_fill(Side.BUY, D("64000"), D("0.25"), D("-8"), "USDT")
    intent = OrderIntent("BTC-USDT", Side.SELL, D("0.1"), OrdType.LIMIT, D("65000.5"), "BTC-USDT:maker:ask")
    order = Order.recovered(intent, "1770000000001", "test", ord_id="777", stats=OrderStats())
    snap = EquitySnapshot(int(time.time() * 1000), D("10123.45"), D("111.11"), D("20.34"), D("-8"), D("0"),
                          D("10200"), D("76.55"), D("0.75"), D("123.45"))
    async with RedisCacheManager(url) as cache:
        cache.set_positions(schema.positions_fields([pos], {"BTC-USDT": D("64081.36")}))
        cache.set_open_orders(schema.open_orders_fields([order]))
        cache.set_equity(schema.equity_fields(snap, "active"))
        assert await cache.flush(5.0)
        deadline = time.monotonic() + 60
        while "md_exchange_to_receive{channel=books}" not in (await cache.get_monitor("collect")).get("latency", ""):
            assert time.monotonic() < deadline, "the collector published no book latency"
            await asyncio.sleep(0.2)


def _status(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hftlab", "status", "-c", "config/test.yaml", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


def test_status_once_prints_one_frame_of_the_running_session(session):
    proc = _status(session, "--once", "--width", "200")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for inst in ("BTC-USDT", "ETH-USDT", "SOL-USDT"):
        assert re.search(rf"{inst}\s+{N}\s+{N}\s+{N}\s+{N}\s+{N}\s+yes", out), out  # sizes, prices, spread, valid
    assert "collect: pid" in out and "guard normal" in out and "md_exchange_to_receive{channel=books}" in out
    assert "state active" in out and "equity 10,123.45" in out and "day PnL 123.45" in out
    assert re.search(r"BTC-USDT\s+0\.25\s+64,000\s+64,081\.36\s+20\.34", out), out  # qty avgPx mark unrealised
    assert "1770000000001" in out and "unknown" in out  # the open order and its state


def test_status_refreshes_in_tmux_and_shows_books_positions_and_pnl(session):
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.fail("tmux is not installed (`make test` installs it)")
    sock = f"hftlab-test-{os.getpid()}"  # a private tmux server: nobody else's sessions are touched
    cmd = " ".join([f"{k}={v}" for k, v in session.items() if k.startswith(("HFTLAB_", "PYTHONPATH"))]
                   + [sys.executable, "-m", "hftlab", "status", "-c", "config/test.yaml", "--refresh", "0.5"])
    subprocess.run([tmux, "-L", sock, "new-session", "-d", "-s", "status", "-x", "220", "-y", "70",
                    "-c", str(REPO)], check=True)
    try:
        subprocess.run([tmux, "-L", sock, "send-keys", "-t", "status", f"env {cmd}", "Enter"], check=True)

        def pane() -> str:
            return subprocess.run([tmux, "-L", sock, "capture-pane", "-p", "-t", "status"], check=True,
                                  capture_output=True, text=True).stdout

        deadline = time.monotonic() + 45
        while not ("state active" in (screen := pane()) and "SOL-USDT" in screen):
            assert time.monotonic() < deadline, screen
            time.sleep(0.5)
        first_clock = re.search(r"hftlab status\s+(\d\d:\d\d:\d\d)", screen).group(1)
        assert re.search(rf"BTC-USDT\s+{N}\s+{N}\s+{N}\s+{N}\s+{N}\s+yes", screen), screen  # a book row
        assert re.search(r"BTC-USDT\s+0\.25\s+64,000", screen), screen  # the position
        assert "equity 10,123.45" in screen and "realised 111.11" in screen and "unrealised 20.34" in screen
        while re.search(r"hftlab status\s+(\d\d:\d\d:\d\d)", screen := pane()).group(1) == first_clock:
            assert time.monotonic() < deadline, "the dashboard did not refresh"
            time.sleep(0.5)
        subprocess.run([tmux, "-L", sock, "send-keys", "-t", "status", "C-c"], check=True)
        while "interrupted" not in (screen := pane()):
            assert time.monotonic() < deadline, f"Ctrl-C did not end hftlab status:\n{screen}"
            time.sleep(0.2)
    finally:
        subprocess.run([tmux, "-L", sock, "kill-server"], capture_output=True)
