"""`hftlab status`'s snapshot (read from a real redis-server, written as the collector and the live
runner write it) and its rendering."""

from __future__ import annotations

import time
from decimal import Decimal

import orjson
from rich.console import Console

from hftlab.cache import schema
from hftlab.cache.manager import RedisCacheManager
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.market import Bar, TopOfBook
from hftlab.domain.orders import Side
from hftlab.monitor.dashboard import StatusSnapshot, read_snapshot, render
from hftlab.okx.events import Trade
from hftlab.portfolio.equity import EquitySnapshot
from hftlab.portfolio.positions import Position

D = Decimal
BTC = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.00001"), D("0.00001"))


def text(snap: StatusSnapshot) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(render(snap))
    return console.export_text()


async def test_a_snapshot_reads_every_key_the_collector_and_live_runner_write(redis_url):
    now = int(time.time() * 1000)
    pos = Position(BTC)
    pos.apply_fill(Side.BUY, D("64000"), D("0.5"), D("-1"), "USDT")
    async with RedisCacheManager(redis_url) as cache:
        cache.set_top_of_book("BTC-USDT", schema.top_of_book_fields(
            TopOfBook("BTC-USDT", "63999.9", "1.5", "64000.1", "2", now, 42, True, now * 10**6)))
        cache.add_trade("BTC-USDT", schema.trade_fields(Trade("trades", "BTC-USDT", "7", "64000", "0.1", "buy", now, 0)))
        cache.add_bar("1s", "BTC-USDT", schema.bar_fields(Bar("BTC-USDT", "1s", now - 1000, 63990.0, 64010.0, 63980.0,
                                                               64000.0, 3.5, 12, 64000.0, 2.0, 1.5)))
        cache.set_positions(schema.positions_fields([pos], {"BTC-USDT": D("64100")}))
        cache.set_equity(schema.equity_fields(EquitySnapshot(now, D("10050"), D("0"), D("50"), D("-1"), D("0"),
                                                             D("10100"), D("50"), D("0.495"), D("-12.5")), "halted"))
        cache.set_monitor("live", schema.monitor_fields("live", 123, now - 65_000, now, "http://127.0.0.1:9/metrics",
                                                        200 * 2**20, 1000 * 2**20, "normal",
                                                        {"tick_to_order": {"n": 9, "mean_ms": 0.8, "p50_ms": 1.0,
                                                                           "p99_ms": 2.5}}))
        assert await cache.flush()
        snap = await read_snapshot(cache, ["BTC-USDT", "ETH-USDT"], "1s")
    assert snap.error == "" and set(snap.books) == set(snap.trades) == set(snap.bars) == {"BTC-USDT"}
    assert snap.positions["BTC-USDT"]["qty"] == "0.5" and snap.equity["state"] == "halted"
    assert set(snap.processes) == {"live"}
    out = text(snap)
    assert "BTC-USDT" in out and "63,999.9" in out and "64,000.1" in out and "yes" in out
    assert "state halted" in out and "equity 10,050.00" in out and "day PnL -12.50" in out
    assert "live: pid 123 up 0h01m05s, memory 200/1000 MiB, guard normal" in out
    assert "tick_to_order" in out and "0.800" in out
    assert "(none)" in out, "no open orders"


async def test_an_unreachable_redis_is_reported_not_raised():
    cache = RedisCacheManager("redis://127.0.0.1:1/0", timeout_s=0.2)
    try:
        snap = await read_snapshot(cache, ["BTC-USDT"], "1s")
    finally:
        await cache.close()
    assert snap.error and "redis UNREACHABLE" in text(snap)


def test_an_invalid_book_a_stale_process_and_no_equity_are_flagged():
    now = 1_767_225_600_000
    snap = StatusSnapshot(now, "1s", books={"BTC-USDT": {"bidPx": "1", "bidSz": "1", "askPx": "2", "askSz": "1",
                                                         "ts": str(now - 2500), "seqId": "1", "valid": "0"}},
                          processes={"collect": {"pid": "1", "started": str(now - 1000), "ts": str(now - 60_000),
                                                 "guard": "shed_raw", "rssBytes": "0", "limitBytes": "0",
                                                 "latency": orjson.dumps({}).decode()}})
    out = text(snap)
    assert "NO" in out and "2.5s" in out
    assert "guard shed_raw" in out and "last report 60.0s ago" in out
    assert "no equity published" in out
